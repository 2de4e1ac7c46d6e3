"""AnchorHub and validator staking: EIP-712 header digests equal to Python's, quorum by stake,
height and parent linkage, and double-sign proofs following consensus-specs' proposer-slashing
tests (translated to area headers)."""

import ape
import pytest
from ape import chain
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.encoding.area_header import SECP256K1_N, AreaHeader, hash_area_header, sign_digest
from tests.fixtures.suite import at, stake_validators

SEC = 10**18
MIN_VALIDATOR = 100_000 * SEC
AREA = 1
VALIDATOR_IDS = (1, 2, 3, 4)


@pytest.fixture(scope="session")
def anchor(project, deployment):
    return project.AnchorHub.at(deployment.address_of("AnchorHub"))


def stake(staking, token, account, amount, area=AREA):
    """Stakes and activates one validator (after the activation delay)."""
    stake_validators(staking, token, [(account, area, amount)])


@pytest.fixture
def validators(accounts, staking, token):
    """Four active validators of area 1 with equal stakes; their keys."""
    stake_validators(staking, token, [(accounts[i], AREA, MIN_VALIDATOR) for i in VALIDATOR_IDS])
    return {accounts[i].address: get_dev_account(i).key for i in VALIDATOR_IDS}


@pytest.fixture
def judge(accounts, staking, token):
    j = accounts[6]
    token.approve(staking, 1_000 * SEC, sender=j)
    staking.stake_judge(1_000 * SEC, sender=j)
    return j


def digest_of(anchor, header):
    return hash_area_header(header, chain.chain_id, anchor.address)


def sign(anchor, header, keys, *, chain_id=None, hub=None):
    """Signatures by `keys` (address -> key), in ascending order of signer address."""
    digest = hash_area_header(header, chain_id or chain.chain_id, hub or anchor.address)
    return [sign_digest(keys[a], digest) for a in sorted(keys, key=lambda a: int(a, 16))]


def next_header(anchor, area=AREA, **fields):
    height = anchor.latest_height(area) + 1
    parent = anchor.anchored_hash(area, height - 1)
    return AreaHeader(
        area_id=area,
        height=height,
        parent_hash=bytes(parent),
        timestamp=1_700_000_000 + height,
        **fields,
    )


def subset(keys, n):
    return dict(sorted(keys.items(), key=lambda kv: int(kv[0], 16))[:n])


# ---------------------------------------------------------------------------- hashing


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    area=st.integers(0, 2**256 - 1),
    height=st.integers(0, 2**256 - 1),
    roots=st.lists(st.binary(min_size=32, max_size=32), min_size=4, max_size=4),
    timestamp=st.integers(0, 2**256 - 1),
)
def test_hash_header__python_equals_contract(anchor, area, height, roots, timestamp):
    header = AreaHeader(area, height, *roots, timestamp)
    assert bytes(anchor.hash_header(header.as_tuple())) == digest_of(anchor, header)


# ---------------------------------------------------------------------------- anchoring


def test_anchor__three_of_four_equal_stakes__anchored_and_logged(anchor, validators, stranger):
    header = next_header(
        anchor, tx_root=b"\x11" * 32, credit_root=b"\x22" * 32, egress_root=b"\x33" * 32
    )
    assert header.height == 1 and header.parent_hash == b"\x00" * 32
    tx = anchor.anchor(
        header.as_tuple(), sign(anchor, header, subset(validators, 3)), sender=stranger
    )
    digest = digest_of(anchor, header)
    assert tx.events == [
        anchor.HeaderAnchored(
            area_id=AREA,
            height=1,
            header_hash=digest,
            parent_hash=header.parent_hash,
            tx_root=b"\x11" * 32,
            credit_root=b"\x22" * 32,
            egress_root=b"\x33" * 32,
            timestamp=header.timestamp,
            submitter=stranger,
        )
    ]
    assert anchor.latest_height(AREA) == 1 and bytes(anchor.anchored_hash(AREA, 1)) == digest
    second = next_header(anchor)
    assert second.parent_hash == digest
    anchor.anchor(second.as_tuple(), sign(anchor, second, validators), sender=stranger)
    assert anchor.latest_height(AREA) == 2


def test_anchor__exactly_two_thirds__refused(anchor, accounts, staking, token, stranger):
    for i in (1, 2, 3):
        stake(staking, token, accounts[i], MIN_VALIDATOR)
    keys = {accounts[i].address: get_dev_account(i).key for i in (1, 2, 3)}
    header = next_header(anchor)
    with ape.reverts("anchor: not enough stake signed"):
        anchor.anchor(header.as_tuple(), sign(anchor, header, subset(keys, 2)), sender=stranger)
    anchor.anchor(header.as_tuple(), sign(anchor, header, keys), sender=stranger)


def test_anchor__by_stake_not_head_count(anchor, accounts, staking, token, stranger):
    """Stakes 100k, 100k, 100k, 300k: three small signers hold half and are refused; the big
    one plus one small is exactly 2/3 and refused; the big one plus two is enough."""
    amounts = {1: MIN_VALIDATOR, 2: MIN_VALIDATOR, 3: MIN_VALIDATOR, 4: 3 * MIN_VALIDATOR}
    for i, amount in amounts.items():
        stake(staking, token, accounts[i], amount)
    key = {i: (accounts[i].address, get_dev_account(i).key) for i in amounts}
    header = next_header(anchor)

    def of(*ids):
        return dict(key[i] for i in ids)

    with ape.reverts("anchor: not enough stake signed"):
        anchor.anchor(header.as_tuple(), sign(anchor, header, of(1, 2, 3)), sender=stranger)
    with ape.reverts("anchor: not enough stake signed"):
        anchor.anchor(header.as_tuple(), sign(anchor, header, of(1, 4)), sender=stranger)
    anchor.anchor(header.as_tuple(), sign(anchor, header, of(1, 2, 4)), sender=stranger)


def test_anchor__duplicate_or_unordered_signers__refused(anchor, validators, stranger):
    header = next_header(anchor)
    sigs = sign(anchor, header, subset(validators, 2))
    with ape.reverts("anchor: signers not in ascending order"):
        anchor.anchor(header.as_tuple(), [sigs[0], sigs[0], sigs[1]], sender=stranger)
    with ape.reverts("anchor: signers not in ascending order"):
        anchor.anchor(header.as_tuple(), [sigs[1], sigs[0]], sender=stranger)


def test_anchor__height_gap_or_wrong_parent__refused(anchor, validators, stranger):
    first = next_header(anchor)
    gap = AreaHeader(AREA, 2, b"\x00" * 32)
    with ape.reverts("anchor: height is not the next one"):
        anchor.anchor(gap.as_tuple(), sign(anchor, gap, validators), sender=stranger)
    orphan = AreaHeader(AREA, 1, b"\x01" * 32)
    with ape.reverts("anchor: wrong parent hash"):
        anchor.anchor(orphan.as_tuple(), sign(anchor, orphan, validators), sender=stranger)
    anchor.anchor(first.as_tuple(), sign(anchor, first, validators), sender=stranger)
    again = AreaHeader(AREA, 1, b"\x00" * 32, tx_root=b"\x09" * 32)
    with ape.reverts("anchor: height is not the next one"):
        anchor.anchor(again.as_tuple(), sign(anchor, again, validators), sender=stranger)
    wrong_parent = AreaHeader(AREA, 2, b"\x07" * 32)
    with ape.reverts("anchor: wrong parent hash"):
        anchor.anchor(
            wrong_parent.as_tuple(), sign(anchor, wrong_parent, validators), sender=stranger
        )
    # a later height whose parent slot is empty, with the zero parent, and height 0
    for bad in (AreaHeader(AREA, 3, b"\x00" * 32), AreaHeader(AREA, 0, b"\x00" * 32)):
        with ape.reverts("anchor: height is not the next one"):
            anchor.anchor(bad.as_tuple(), sign(anchor, bad, validators), sender=stranger)
    assert anchor.latest_height(AREA) == 1


def test_latest_height__found_by_search_at_every_height(anchor, validators, stranger):
    """The latest height is searched, not stored: check it after each of 19 headers, and
    from every known height, around the powers of two where the search turns."""
    assert anchor.latest_height(AREA) == 0 and anchor.latest_height_from(AREA, 0) == 0
    for height in range(1, 20):
        header = next_header(anchor)
        assert header.height == height
        anchor.anchor(header.as_tuple(), sign(anchor, header, validators), sender=stranger)
        assert anchor.latest_height(AREA) == height
        assert all(anchor.latest_height_from(AREA, k) == height for k in range(height + 1))
    with ape.reverts("anchor: known height is not anchored"):
        anchor.latest_height_from(AREA, 20)
    assert anchor.latest_height(AREA + 1) == 0


def test_anchor__outsider_or_other_area_validator__refused(
    anchor, validators, accounts, staking, token, stranger
):
    stake(staking, token, accounts[5], MIN_VALIDATOR, area=2)
    header = next_header(anchor)
    keys = dict(subset(validators, 3))
    keys[accounts[5].address] = get_dev_account(5).key
    with ape.reverts("anchor: signer is not a validator of the area"):
        anchor.anchor(header.as_tuple(), sign(anchor, header, keys), sender=stranger)
    keys = dict(subset(validators, 3))
    keys[accounts[7].address] = get_dev_account(7).key
    with ape.reverts("anchor: signer is not a validator of the area"):
        anchor.anchor(header.as_tuple(), sign(anchor, header, keys), sender=stranger)


def test_anchor__signature_for_other_chain_or_hub__refused(anchor, validators, stranger):
    header = next_header(anchor)
    # Signed for another domain, a signature recovers to some unrelated address.
    one = subset(validators, 1)
    with ape.reverts("anchor: signer is not a validator of the area"):
        anchor.anchor(header.as_tuple(), sign(anchor, header, one, chain_id=1), sender=stranger)
    with ape.reverts("anchor: signer is not a validator of the area"):
        other_hub = "0x" + "ab" * 20
        anchor.anchor(header.as_tuple(), sign(anchor, header, one, hub=other_hub), sender=stranger)


def malleate(sig: bytes) -> bytes:
    """The same signature with s -> n - s and v flipped: valid to ecrecover, high s."""
    s = int.from_bytes(sig[32:64], "big")
    return sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])


def test_anchor__bad_signatures__refused(anchor, validators, stranger):
    header = next_header(anchor)
    sigs = sign(anchor, header, validators)
    with ape.reverts("anchor: bad signature v"):
        anchor.anchor(header.as_tuple(), [sigs[0][:64] + b"\x1d"] + sigs[1:], sender=stranger)
    with ape.reverts("ecdsa: invalid signature `s` value"):
        anchor.anchor(header.as_tuple(), [malleate(sigs[0])] + sigs[1:], sender=stranger)
    with ape.reverts("ecdsa: invalid signature"):
        anchor.anchor(header.as_tuple(), [b"\x00" * 64 + b"\x1b"] + sigs[1:], sender=stranger)
    with ape.reverts("anchor: signature is not 65 bytes"):
        anchor.anchor(header.as_tuple(), [sigs[0][:64]] + sigs[1:], sender=stranger)


# ---------------------------------------------------------------------------- equivocation


def double_sign(anchor, key, height=5, area=AREA):
    a = AreaHeader(area, height, b"\x00" * 32, tx_root=b"\xaa" * 32)
    b = AreaHeader(area, height, b"\x00" * 32, tx_root=b"\xbb" * 32)
    return a, sign_digest(key, digest_of(anchor, a)), b, sign_digest(key, digest_of(anchor, b))


def test_report_equivocation__valid__slashed_burned_bounty_redistributed(
    anchor, staking, token, validators, judge, accounts
):
    culprit = accounts[1]
    a, sa, b, sb = double_sign(anchor, validators[culprit.address])
    supply = token.totalSupply()
    held = token.balanceOf(staking)
    tx = anchor.report_equivocation(a.as_tuple(), sa, b.as_tuple(), sb, sender=judge)
    slashed = MIN_VALIDATOR // 2
    bounty = slashed // 5
    rest = slashed - slashed // 10 - bounty
    others_stake = 3 * MIN_VALIDATOR
    dust = rest - (rest * 10**36 // others_stake) * others_stake // 10**36  # burned too
    burned = slashed // 10 + dust
    offence = tx.events.filter(anchor.EquivocationProven)[0].offence_id
    assert tx.events.filter(anchor.EquivocationProven) == [
        anchor.EquivocationProven(
            area_id=AREA, height=5, validator=culprit, reporter=judge, offence_id=offence
        )
    ]
    assert tx.events.filter(staking.Slashed) == [
        staking.Slashed(
            validator=culprit,
            amount=slashed,
            burned=burned,
            bounty=bounty,
            reporter=judge,
            offence_id=offence,
        )
    ]
    assert token.totalSupply() == supply - burned
    assert staking.claimable(judge) == bounty
    others = [accounts[i] for i in (2, 3, 4)]
    # Each equal pool gets stake * accumulator // 1e36 (the accumulator was 0 before):
    # the per-validator rounding stays in Staking, unpaid.
    share = MIN_VALIDATOR * (rest * 10**36 // others_stake) // 10**36
    assert [staking.claimable(v) for v in others] == [share] * 3
    kept = rest - dust - 3 * share
    assert not staking.is_validator(AREA, culprit) and culprit.address not in staking.validators_of(
        AREA
    )
    assert staking.unbonding_of(culprit) == MIN_VALIDATOR - slashed  # the rest unbonds
    # Conservation: what Staking holds is stakes + unbonding + claims (+ at most 1 wei each).
    owed = sum(
        staking.validator_stake(v) + staking.unbonding_of(v) + staking.claimable(v)
        for v in [culprit, *others]
    )
    owed += staking.judge_stake(judge) + staking.claimable(judge) + staking.reward_pool()
    assert token.balanceOf(staking) - owed == kept
    assert token.balanceOf(staking) == held - burned
    # Claims pay out.
    before = token.balanceOf(accounts[2])
    staking.claim(sender=accounts[2])
    assert token.balanceOf(accounts[2]) == before + share


def test_report_equivocation__reused_evidence_either_order__refused(
    anchor, validators, judge, accounts
):
    a, sa, b, sb = double_sign(anchor, validators[accounts[1].address])
    anchor.report_equivocation(a.as_tuple(), sa, b.as_tuple(), sb, sender=judge)
    with ape.reverts("staking: offence already slashed"):
        anchor.report_equivocation(a.as_tuple(), sa, b.as_tuple(), sb, sender=judge)
    with ape.reverts("staking: offence already slashed"):
        anchor.report_equivocation(b.as_tuple(), sb, a.as_tuple(), sa, sender=judge)


def test_report_equivocation__identical_headers__refused(anchor, validators, judge, accounts):
    key = validators[accounts[1].address]
    a, sa, _, _ = double_sign(anchor, key)
    with ape.reverts("anchor: headers are identical"):
        anchor.report_equivocation(a.as_tuple(), sa, a.as_tuple(), sa, sender=judge)
    # The same header with its second signature (s and n - s) is still one header.
    with ape.reverts("anchor: headers are identical"):
        anchor.report_equivocation(a.as_tuple(), sa, a.as_tuple(), malleate(sa), sender=judge)


def test_report_equivocation__different_heights_or_areas__refused(
    anchor, validators, judge, accounts
):
    key = validators[accounts[1].address]
    a = AreaHeader(AREA, 5, tx_root=b"\xaa" * 32)
    b = AreaHeader(AREA, 6, tx_root=b"\xbb" * 32)
    c = AreaHeader(2, 5, tx_root=b"\xbb" * 32)
    sa, sb, sc = (sign_digest(key, digest_of(anchor, h)) for h in (a, b, c))
    with ape.reverts("anchor: not the same area and height"):
        anchor.report_equivocation(a.as_tuple(), sa, b.as_tuple(), sb, sender=judge)
    with ape.reverts("anchor: not the same area and height"):
        anchor.report_equivocation(a.as_tuple(), sa, c.as_tuple(), sc, sender=judge)


def test_report_equivocation__different_signers__refused(anchor, validators, judge, accounts):
    a, sa, b, _ = double_sign(anchor, validators[accounts[1].address])
    sb = sign_digest(validators[accounts[2].address], digest_of(anchor, b))
    with ape.reverts("anchor: signers differ"):
        anchor.report_equivocation(a.as_tuple(), sa, b.as_tuple(), sb, sender=judge)


def test_report_equivocation__not_a_validator_of_that_area__refused(
    anchor, staking, token, validators, judge, accounts
):
    outsider = get_dev_account(7).key
    a, sa, b, sb = double_sign(anchor, outsider)
    with ape.reverts("anchor: signer is not a validator of the area"):
        anchor.report_equivocation(a.as_tuple(), sa, b.as_tuple(), sb, sender=judge)
    stake(staking, token, accounts[5], MIN_VALIDATOR, area=2)
    a, sa, b, sb = double_sign(anchor, get_dev_account(5).key, area=AREA)
    with ape.reverts("anchor: signer is not a validator of the area"):
        anchor.report_equivocation(a.as_tuple(), sa, b.as_tuple(), sb, sender=judge)


def test_report_equivocation__bad_signature__refused(anchor, validators, judge, accounts):
    a, sa, b, _ = double_sign(anchor, validators[accounts[1].address])
    with ape.reverts("ecdsa: invalid signature"):
        anchor.report_equivocation(
            a.as_tuple(), sa, b.as_tuple(), b"\x00" * 64 + b"\x1b", sender=judge
        )


def test_report_equivocation__signatures_for_other_chain_or_hub__refused(
    anchor, validators, judge, accounts
):
    key = validators[accounts[1].address]
    a, sa, b, _ = double_sign(anchor, key)
    other_chain = sign_digest(key, hash_area_header(b, 1, anchor.address))
    with ape.reverts("anchor: signers differ"):
        anchor.report_equivocation(a.as_tuple(), sa, b.as_tuple(), other_chain, sender=judge)
    other_hub = sign_digest(key, hash_area_header(b, chain.chain_id, "0x" + "ab" * 20))
    with ape.reverts("anchor: signers differ"):
        anchor.report_equivocation(a.as_tuple(), sa, b.as_tuple(), other_hub, sender=judge)


def test_report_equivocation__not_a_judge__refused(anchor, validators, stranger, accounts):
    a, sa, b, sb = double_sign(anchor, validators[accounts[1].address])
    with ape.reverts("anchor: caller is not a judge"):
        anchor.report_equivocation(a.as_tuple(), sa, b.as_tuple(), sb, sender=stranger)


def test_unbonded_validator__slashable_until_withdrawn(
    anchor, staking, token, validators, judge, accounts
):
    culprit = accounts[1]
    staking.unbond(MIN_VALIDATOR, sender=culprit)
    assert not staking.is_validator(AREA, culprit) and staking.is_slashable(AREA, culprit)
    with ape.reverts("staking: still unbonding"):
        staking.withdraw(sender=culprit)
    a, sa, b, sb = double_sign(anchor, validators[culprit.address], height=7)
    anchor.report_equivocation(a.as_tuple(), sa, b.as_tuple(), sb, sender=judge)
    assert staking.unbonding_of(culprit) == MIN_VALIDATOR // 2

    # Another one unbonds, waits out the period, withdraws: no longer slashable.
    other = accounts[2]
    staking.unbond(MIN_VALIDATOR, sender=other)
    at(staking.unbonding_release(other))
    before = token.balanceOf(other)
    staking.withdraw(sender=other)
    assert token.balanceOf(other) == before + MIN_VALIDATOR
    a, sa, b, sb = double_sign(anchor, validators[other.address], height=8)
    with ape.reverts("anchor: signer is not a validator of the area"):
        anchor.report_equivocation(a.as_tuple(), sa, b.as_tuple(), sb, sender=judge)


def test_stake_validator__rules(staking, token, accounts, validators, deployer, trust):
    v = accounts[1]
    with ape.reverts("staking: validator of another area"):
        stake(staking, token, v, MIN_VALIDATOR, area=2)
    newcomer = accounts[7]
    token.approve(staking, MIN_VALIDATOR, sender=newcomer)
    with ape.reverts("staking: below minimum stake"):
        staking.stake_validator(AREA, MIN_VALIDATOR - 1, sender=newcomer)
    with ape.reverts("staking: bad area id"):
        staking.stake_validator(0, MIN_VALIDATOR, sender=newcomer)
    with ape.reverts("staking: below minimum stake"):
        staking.unbond(1, sender=v)
    trust.grantRole(trust.WRITER_ROLE(), deployer, sender=deployer)
    trust.penalize(newcomer, 100, 3, sender=deployer)
    with ape.reverts("staking: account is disabled"):
        staking.stake_validator(AREA, MIN_VALIDATOR, sender=newcomer)
    assert staking.validators_of(AREA) == list(validators)
    assert staking.stake_of(v) == MIN_VALIDATOR and staking.area_stake(AREA) == 4 * MIN_VALIDATOR
    assert staking.unbonding_period() == 21 * 86_400
    with ape.reverts("staking: caller is not the slasher"):
        staking.slash(v, 5000, deployer, b"\x01" * 32, sender=deployer)


def test_weights_mirror__only_staking_writes(anchor, attacker):
    with ape.reverts("anchor: caller is not staking"):
        anchor.set_weight(attacker, AREA, 10**30, 10**30, sender=attacker)


def test_weights_mirror__unbonded_or_ejected_validator_no_longer_counts(
    anchor, staking, validators, judge, accounts, stranger
):
    by = {a.address: a for a in accounts}
    ordered = sorted(validators, key=lambda a: int(a, 16))
    staking.unbond(MIN_VALIDATOR, sender=by[ordered[0]])
    header = next_header(anchor)
    with ape.reverts("anchor: signer is not a validator of the area"):
        anchor.anchor(
            header.as_tuple(), sign(anchor, header, subset(validators, 3)), sender=stranger
        )
    # The total shrank with it: the other three alone now hold all the stake.
    rest = {a: validators[a] for a in ordered[1:]}
    anchor.anchor(header.as_tuple(), sign(anchor, header, rest), sender=stranger)
    # Eject one of them by proving a double-sign: the last two suffice, one alone does not.
    a, sa, b, sb = double_sign(anchor, validators[ordered[1]], height=9)
    anchor.report_equivocation(a.as_tuple(), sa, b.as_tuple(), sb, sender=judge)
    second = next_header(anchor)
    with ape.reverts("anchor: signer is not a validator of the area"):
        anchor.anchor(second.as_tuple(), sign(anchor, second, rest), sender=stranger)
    last_two = {a: validators[a] for a in ordered[2:]}
    with ape.reverts("anchor: not enough stake signed"):
        anchor.anchor(second.as_tuple(), sign(anchor, second, subset(last_two, 1)), sender=stranger)
    anchor.anchor(second.as_tuple(), sign(anchor, second, last_two), sender=stranger)


def test_record_fault__first_withholds_rewards_then_slashes(
    anchor, staking, token, validators, judge, accounts, deployer
):
    by = {a.address: a for a in accounts}
    ordered = sorted(validators, key=lambda a: int(a, 16))
    culprit, faulty = by[ordered[0]], by[ordered[1]]
    # Give the faulty validator pending rewards: a redistributed slash of another one.
    a, sa, b, sb = double_sign(anchor, validators[culprit.address], height=11)
    anchor.report_equivocation(a.as_tuple(), sa, b.as_tuple(), sb, sender=judge)
    slashed = MIN_VALIDATOR // 2
    rest = slashed - slashed // 10 - slashed // 5
    pending = MIN_VALIDATOR * (rest * 10**36 // (3 * MIN_VALIDATOR)) // 10**36
    assert staking.claimable(faulty) == pending
    supply = token.totalSupply()
    with ape.reverts("staking: caller cannot record faults"):
        staking.record_fault(faulty, b"\x01" * 32, sender=judge)
    tx = staking.record_fault(faulty, b"\x01" * 32, sender=deployer)
    assert tx.events.filter(staking.RewardsWithheld) == [
        staking.RewardsWithheld(validator=faulty, amount=pending)
    ]
    assert staking.claimable(faulty) == 0 and token.totalSupply() == supply - pending
    assert staking.is_validator(AREA, faulty)  # a first fault does not eject
    with ape.reverts("staking: fault already recorded"):
        staking.record_fault(faulty, b"\x01" * 32, sender=deployer)
    tx = staking.record_fault(faulty, b"\x02" * 32, sender=deployer)
    slashed = MIN_VALIDATOR // 10
    event = tx.events.filter(staking.Slashed)[0]
    assert (event.amount, event.bounty, event.reporter) == (slashed, 0, "0x" + "00" * 20)
    # Burn share + the bounty share (no reporter) + what the accumulator cannot carry
    # of the rest, redistributed over the last two equal pools.
    rest = slashed - slashed // 10 - slashed // 5
    dust = rest - (rest * 10**36 // (2 * MIN_VALIDATOR)) * (2 * MIN_VALIDATOR) // 10**36
    assert event.burned == slashed // 10 + slashed // 5 + dust
    assert staking.faults_of(faulty) == 2 and not staking.is_validator(AREA, faulty)
    with ape.reverts("staking: not a validator"):
        staking.record_fault(accounts[7], b"\x03" * 32, sender=deployer)


def test_stake_validator__before_anchor_hub_is_bound__refused(project, token, trust, deployer):
    fresh = project.Staking.deploy(
        token, trust, 1, 1, 1, 1000, 2000, 1000, 1, 0, 0, sender=deployer
    )
    token.approve(fresh, 10, sender=deployer)
    with ape.reverts("staking: anchor hub not set"):
        fresh.stake_validator(AREA, 10, sender=deployer)


def test_staking_deploy__zero_activation_delay__refused(project, token, trust, deployer):
    with ape.reverts("staking: activation delay is zero"):
        project.Staking.deploy(token, trust, 1, 1, 1, 1000, 2000, 1000, 0, 0, 0, sender=deployer)
