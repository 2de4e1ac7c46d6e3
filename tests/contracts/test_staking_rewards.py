"""Nominations (assignees) and header rewards by time: nominated stake counts for the
validator's quorum weight once activated and shares its rewards and slashes pro rata."""

import ape
import pytest

from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.encoding.area_header import AreaHeader, hash_area_header, sign_digest
from tests.fixtures.suite import activate_validators, at, stake_validators

SEC = 10**18
STAKE = 100_000 * SEC
AREA = 1
P = 10**36  # the accumulator's precision


@pytest.fixture(scope="session")
def anchor(project, deployment):
    return project.AnchorHub.at(deployment.address_of("AnchorHub"))


@pytest.fixture(scope="session")
def rate(staking):
    return staking.REWARD_RATE()


def approve_and(token, staking, who, amount):
    token.approve(staking, amount, sender=who)


@pytest.fixture
def relayer(accounts):
    return accounts[9]


@pytest.fixture
def pools(accounts, staking, token):
    """Validators A and B (100k each) in area 1; nominator N backs A with 100k; all active."""
    a, b, n = accounts[1], accounts[2], accounts[3]
    stake_validators(staking, token, [(a, AREA, STAKE), (b, AREA, STAKE)])
    approve_and(token, staking, n, STAKE)
    tx = staking.nominate(a, STAKE, sender=n)
    assert tx.events.filter(staking.Nominated) == [
        staking.Nominated(nominator=n, validator=a, amount=STAKE)
    ]
    activate_validators(staking, [a])
    return a, b, n


def anchor_next(anchor, chain_id, signers, relayer):
    height = anchor.latest_height(AREA) + 1
    header = AreaHeader(
        AREA, height, bytes(anchor.anchored_hash(AREA, height - 1)), tx_root=bytes([height]) * 32
    )
    digest = hash_area_header(header, chain_id, anchor.address)
    ordered = sorted(signers, key=lambda i: int(get_dev_account(i).address, 16))
    sigs = [sign_digest(get_dev_account(i).key, digest) for i in ordered]
    anchor.anchor(header.as_tuple(), sigs, sender=relayer)


def test_nominate__counts_in_quorum_weight_once_activated(
    relayer, anchor, staking, token, pools, chain
):
    a, b, n = pools
    assert staking.pool_stake(a) == 2 * STAKE and staking.area_stake(AREA) == 3 * STAKE
    assert staking.validator_stake(a) == STAKE and staking.nomination_of(n, a) == STAKE
    with ape.reverts("anchor: not enough stake signed"):  # 200k of 300k: exactly 2/3
        anchor_next(anchor, chain.chain_id, [1], relayer)
    approve_and(token, staking, n, 1)
    staking.nominate(a, 1, sender=n)
    assert staking.pending_of(a) == 1 and staking.pool_stake(a) == 2 * STAKE
    with ape.reverts("anchor: not enough stake signed"):  # the wei is pending
        anchor_next(anchor, chain.chain_id, [1], relayer)
    activate_validators(staking, [a])
    anchor_next(anchor, chain.chain_id, [1], relayer)  # 200k + 1 wei of 300k + 1 wei
    assert anchor.latest_height(AREA) == 1 and staking.pending_of(a) == 0


def test_rewards__by_time_split_pro_rata_within_pools(
    relayer, anchor, staking, token, pools, chain, rate
):
    a, b, n = pools
    t0 = staking.rewarded_time(AREA)  # the last activation
    pool = staking.reward_pool()
    for _ in range(2):
        anchor_next(anchor, chain.chain_id, [1, 2], relayer)
    at(t0 + 100)
    tx = staking.distribute_rewards(AREA, sender=n)
    amount = 100 * rate * 3 * STAKE // SEC
    per_unit = amount * P // (3 * STAKE)
    distributed = per_unit * 3 * STAKE // P
    assert tx.events.filter(staking.RewardsDistributed) == [
        staking.RewardsDistributed(area_id=AREA, headers=2, seconds=100, amount=distributed)
    ]
    assert staking.reward_pool() == pool - distributed
    # A's pool holds 2/3 of the weight; within it A and N hold half each (the contract's
    # integer arithmetic, exactly: the nominators' part is the pool's rest).
    pool_a = 2 * STAKE * per_unit // P
    own_a = pool_a * STAKE // (2 * STAKE)
    assert staking.claimable(a) == own_a
    assert staking.nomination_claimable(n, a) == pool_a - own_a
    assert staking.claimable(b) == STAKE * per_unit // P
    at(t0 + 5_000)
    staking.distribute_rewards(AREA, sender=n)  # nothing new anchored: nothing changes
    assert staking.claimable(b) == STAKE * per_unit // P
    before = token.balanceOf(n)
    staking.claim_nomination(a, sender=n)
    assert token.balanceOf(n) - before == pool_a - own_a
    with ape.reverts("staking: nothing to claim"):
        staking.claim_nomination(a, sender=n)


def test_rewards__late_staker_earns_nothing_before_it_counts(
    relayer, anchor, staking, token, pools, chain, accounts, rate
):
    t0 = staking.rewarded_time(AREA)  # the last activation
    anchor_next(anchor, chain.chain_id, [1, 2], relayer)
    late = accounts[4]
    stake_validators(staking, token, [(late, AREA, STAKE)], activate=False)
    assert staking.claimable(late) == 0 and staking.claimable(accounts[2]) == 0
    anchor_next(anchor, chain.chain_id, [1, 2], relayer)
    at(t0 + 40)
    staking.distribute_rewards(AREA, sender=late)
    assert staking.claimable(late) == 0  # pending stake earns nothing
    # B's third of the 300k active weight, for the 40 s since the last activation.
    per_unit = (40 * rate * 3 * STAKE // SEC) * P // (3 * STAKE)
    assert staking.claimable(accounts[2]) == STAKE * per_unit // P
    activate_validators(staking, [late])
    t1 = staking.rewarded_time(AREA)
    anchor_next(anchor, chain.chain_id, [1, 2, 4], relayer)
    at(t1 + 50)
    staking.distribute_rewards(AREA, sender=late)
    per_unit = (50 * rate * 4 * STAKE // SEC) * P // (4 * STAKE)
    assert staking.claimable(late) == STAKE * per_unit // P


def test_slash__nominations_lose_the_same_fraction_burned(
    anchor, staking, token, pools, chain, accounts
):
    a, b, n = pools
    judge = accounts[6]
    approve_and(token, staking, judge, 1_000 * SEC)
    staking.stake_judge(1_000 * SEC, sender=judge)
    key = get_dev_account(1).key
    h1, h2 = AreaHeader(AREA, 9, tx_root=b"\x01" * 32), AreaHeader(AREA, 9, tx_root=b"\x02" * 32)
    s1, s2 = (
        sign_digest(key, hash_area_header(h, chain.chain_id, anchor.address)) for h in (h1, h2)
    )
    held = token.balanceOf(staking)
    tx = anchor.report_equivocation(h1.as_tuple(), s1, h2.as_tuple(), s2, sender=judge)
    slashed = tx.events.filter(staking.Slashed)[0]
    assert slashed.amount == STAKE  # half of A's 100k and half of N's 100k
    assert staking.nomination_of(n, a) == STAKE // 2
    assert staking.pool_stake(a) == 0 and not staking.is_validator(AREA, a)
    assert staking.area_stake(AREA) == STAKE  # only B is left
    # Only A's own 50k pays: 10 % burned, 20 % bounty, 70 % to B; N's 50k is burned whole.
    assert staking.claimable(b) == 50_000 * SEC * 70 // 100
    assert staking.claimable(judge) == 50_000 * SEC * 20 // 100
    assert slashed.burned == 50_000 * SEC + 5_000 * SEC
    assert token.balanceOf(staking) == held - slashed.burned
    # N leaves with what is left.
    staking.unnominate(a, STAKE // 2, sender=n)
    with ape.reverts("staking: still unbonding"):
        staking.withdraw_nomination(sender=n)
    at(staking.nom_release(n))
    before = token.balanceOf(n)
    staking.withdraw_nomination(sender=n)
    assert token.balanceOf(n) == before + STAKE // 2
    with ape.reverts("staking: amount exceeds nomination"):
        staking.unnominate(a, 1, sender=n)


def test_unnominate__lowers_pool_weight(staking, pools):
    a, _, n = pools
    tx = staking.unnominate(a, STAKE // 4, sender=n)
    assert tx.events.filter(staking.NominationUnbonded)[0].amount == STAKE // 4
    assert staking.pool_stake(a) == 2 * STAKE - STAKE // 4
    assert staking.area_stake(AREA) == 3 * STAKE - STAKE // 4
    assert staking.nom_unbonding(n) == STAKE // 4


def test_record_fault__first_withholds_the_pools_rewards(
    relayer, anchor, staking, token, pools, chain, deployer, rate
):
    a, b, n = pools
    t0 = staking.rewarded_time(AREA)
    anchor_next(anchor, chain.chain_id, [1, 2], relayer)
    at(t0 + 60)
    staking.distribute_rewards(AREA, sender=deployer)
    per_unit = (60 * rate * 3 * STAKE // SEC) * P // (3 * STAKE)
    pending = staking.claimable(a) + staking.nomination_claimable(n, a)
    assert pending == 2 * STAKE * per_unit // P
    supply = token.totalSupply()
    tx = staking.record_fault(a, b"\x07" * 32, sender=deployer)
    withheld = tx.events.filter(staking.RewardsWithheld)[0].amount
    assert withheld == pending
    assert staking.claimable(a) == 0 and staking.nomination_claimable(n, a) == 0
    assert token.totalSupply() == supply - withheld
    assert staking.claimable(b) == STAKE * per_unit // P  # the honest pool keeps its reward


def test_nominate__inactive_validator_or_disabled_nominator__refused(
    staking, token, trust, pools, accounts, deployer
):
    a, _, _ = pools
    nobody = accounts[7]
    approve_and(token, staking, accounts[5], STAKE)
    with ape.reverts("staking: not an active validator"):
        staking.nominate(nobody, STAKE, sender=accounts[5])
    trust.grantRole(trust.WRITER_ROLE(), deployer, sender=deployer)
    trust.penalize(accounts[5], 100, 3, sender=deployer)
    with ape.reverts("staking: account is disabled"):
        staking.nominate(a, STAKE, sender=accounts[5])
    with ape.reverts("staking: nothing to stake"):
        staking.nominate(a, 0, sender=accounts[5])


def test_fund_rewards__pool_grows(staking, token, deployer):
    before = staking.reward_pool()
    approve_and(token, staking, deployer, 5 * SEC)
    tx = staking.fund_rewards(5 * SEC, sender=deployer)
    assert tx.events.filter(staking.RewardsFunded) == [
        staking.RewardsFunded(funder=deployer, amount=5 * SEC)
    ]
    assert staking.reward_pool() == before + 5 * SEC
