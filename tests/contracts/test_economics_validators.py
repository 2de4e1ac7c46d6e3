"""Round 2 validator economics, each property proved with an attacker who controls several
accounts: added stake counts only after the activation delay; nobody profits from a slash
they caused; header rewards accrue by time, not by the number of headers."""

import ape
import pytest
from ape import chain

from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.encoding.area_header import AreaHeader, hash_area_header, sign_digest
from tests.fixtures.suite import DAY, activate_validators, at, stake_validators

SEC = 10**18
STAKE = 100_000 * SEC
JUDGE_STAKE = 1_000 * SEC
AREA = 1
P = 10**36  # the reward accumulator's precision
HONEST, LATE, NOM2, OFFENDER, NOM1, VICTIM, CO_VALIDATOR, JUDGE, RELAYER = range(1, 10)


@pytest.fixture(scope="session")
def anchor(project, deployment):
    return project.AnchorHub.at(deployment.address_of("AnchorHub"))


@pytest.fixture(scope="session")
def rate(staking):
    return staking.REWARD_RATE()


@pytest.fixture(scope="session")
def interval(staking):
    return staking.MAX_HEADER_INTERVAL()


@pytest.fixture(scope="session")
def acct(accounts):
    return lambda i: accounts[i]


def stake(staking, token, who, amount, area=AREA):
    token.approve(staking, amount, sender=who)
    return staking.stake_validator(area, amount, sender=who)


def nominate(staking, token, who, validator, amount):
    token.approve(staking, amount, sender=who)
    return staking.nominate(validator, amount, sender=who)


def make_judge(staking, token, who):
    token.approve(staking, JUDGE_STAKE, sender=who)
    staking.stake_judge(JUDGE_STAKE, sender=who)


def next_header(anchor, area, tx_root=b"\x01" * 32):
    height = anchor.latest_height(area) + 1
    parent = bytes(anchor.anchored_hash(area, height - 1))
    return AreaHeader(area, height, parent, tx_root=tx_root, timestamp=height)


def signed(anchor, header, ids):
    digest = hash_area_header(header, chain.chain_id, anchor.address)
    ordered = sorted(ids, key=lambda i: int(get_dev_account(i).address, 16))
    return [sign_digest(get_dev_account(i).key, digest) for i in ordered]


def anchor_next(anchor, area, ids, relayer, tx_root=b"\x01" * 32):
    header = next_header(anchor, area, tx_root)
    return anchor.anchor(header.as_tuple(), signed(anchor, header, ids), sender=relayer)


def double_sign(anchor, i, height, area=AREA):
    a = AreaHeader(area, height, tx_root=b"\xaa" * 32)
    b = AreaHeader(area, height, tx_root=b"\xbb" * 32)
    key = get_dev_account(i).key
    sa, sb = (sign_digest(key, hash_area_header(h, chain.chain_id, anchor.address)) for h in (a, b))
    return a.as_tuple(), sa, b.as_tuple(), sb


def wealth(staking, token, who, validators):
    """Everything `who` owns in SEC: wallet, validator and judge stake, unbonding,
    claimable credit, and its nominations of `validators` with their rewards."""
    total = (
        token.balanceOf(who)
        + staking.validator_stake(who)
        + staking.unbonding_of(who)
        + staking.claimable(who)
        + staking.judge_stake(who)
        + staking.nom_unbonding(who)
    )
    for v in validators:
        total += staking.nomination_of(who, v) + staking.nomination_claimable(who, v)
    return total


def reward(seconds, rate, total):
    """What `_distribute` spreads over `total` active stake for `seconds`, per unit."""
    return (seconds * rate * total // SEC) * P // total


# ---------------------------------------------------------------------------- activation


def test_fresh_majority__cannot_anchor_in_its_block_or_day__counts_after_activation(
    anchor, staking, token, acct
):
    """The attacker bonds 3 x 100k next to one honest 100k (75 % once counted) and tries a
    forged header at once and just before the delay ends: refused both times."""
    stake_validators(staking, token, [(acct(HONEST), AREA, STAKE)])
    attackers = [OFFENDER, NOM1, CO_VALIDATOR]
    for i in attackers:
        tx = stake(staking, token, acct(i), STAKE)
        ready = tx.timestamp + DAY
        assert tx.events.filter(staking.StakePending) == [
            staking.StakePending(validator=acct(i), amount=STAKE, pending=STAKE, activates_at=ready)
        ]
        assert staking.activates_at(acct(i)) == ready and staking.activation_delay() == DAY
    relayer = acct(RELAYER)
    with ape.reverts("anchor: signer is not a validator of the area"):
        anchor_next(anchor, AREA, attackers, relayer, tx_root=b"\x66" * 32)
    first = acct(OFFENDER)
    assert not staking.is_validator(AREA, first) and staking.is_slashable(AREA, first)
    assert staking.pending_of(first) == STAKE and staking.pool_stake(first) == 0
    assert staking.area_stake(AREA) == STAKE and staking.validators_of(AREA) == [acct(HONEST)]
    ready = staking.activates_at(first)
    at(ready - 2)  # a day later, still inside the delay
    with ape.reverts("anchor: signer is not a validator of the area"):
        anchor_next(anchor, AREA, attackers, relayer, tx_root=b"\x66" * 32)
    at(ready - 1)
    with ape.reverts("staking: activation delay not over"):
        staking.activate(first, sender=relayer)
    at(ready)
    tx = staking.activate(first, sender=relayer)
    assert tx.events.filter(staking.Activated) == [
        staking.Activated(validator=first, area_id=AREA, amount=STAKE, weight=STAKE, height=0)
    ]
    assert staking.is_validator(AREA, first) and staking.pending_of(first) == 0
    with ape.reverts("staking: nothing pending"):
        staking.activate(first, sender=relayer)
    activate_validators(staking, [acct(NOM1), acct(CO_VALIDATOR)])
    anchor_next(anchor, AREA, attackers, relayer)  # 300k of 400k, a day later
    assert anchor.latest_height(AREA) == 1


def test_nominate__to_attackers_validator__does_not_count_before_delay(
    anchor, staking, token, acct
):
    """Two honest 100k validators and the attacker's 100k; the attacker's other accounts
    nominate 500k to it (600k of 800k once counted): it cannot anchor alone until the
    nominations are activated, and each addition restarts the clock."""
    a = acct(OFFENDER)
    stake_validators(staking, token, [(acct(i), AREA, STAKE) for i in (HONEST, LATE, OFFENDER)])
    nominate(staking, token, acct(NOM1), a, 300_000 * SEC)
    relayer = acct(RELAYER)
    with ape.reverts("anchor: not enough stake signed"):
        anchor_next(anchor, AREA, [OFFENDER], relayer)
    first_ready = staking.activates_at(a)
    at(first_ready - 100)
    tx = nominate(staking, token, acct(NOM2), a, 200_000 * SEC)
    assert staking.activates_at(a) == tx.timestamp + DAY > first_ready  # clock restarted
    assert staking.pool_stake(a) == STAKE and staking.pending_of(a) == 500_000 * SEC
    assert staking.area_stake(AREA) == 3 * STAKE
    at(first_ready)
    with ape.reverts("staking: activation delay not over"):
        staking.activate(a, sender=relayer)
    with ape.reverts("anchor: not enough stake signed"):
        anchor_next(anchor, AREA, [OFFENDER], relayer)
    at(staking.activates_at(a))
    staking.activate(a, sender=relayer)
    assert staking.pool_stake(a) == 600_000 * SEC and staking.area_stake(AREA) == 800_000 * SEC
    anchor_next(anchor, AREA, [OFFENDER], relayer)
    assert anchor.latest_height(AREA) == 1


def test_nominate__pending_validator__refused_so_dust_nominations_cannot_hold_it_pending(
    staking, token, acct
):
    """The griefer nominates 1 wei a day to a new validator to restart its clock for ever:
    a validator takes nominations only once its own stake is active, so its own activation
    runs on its own clock; once active it takes them."""
    v, griefer = acct(OFFENDER), acct(NOM1)
    tx = stake(staking, token, v, STAKE)
    ready = tx.timestamp + DAY
    token.approve(staking, 1, sender=griefer)
    for when in (ready - DAY // 2, ready - 1):
        at(when)
        with ape.reverts("staking: not an active validator"):
            staking.nominate(v, 1, sender=griefer)
    assert staking.activates_at(v) == ready and staking.pending_of(v) == STAKE
    at(ready)
    staking.activate(v, sender=griefer)
    assert staking.is_validator(AREA, v) and staking.pool_stake(v) == STAKE
    tx = staking.nominate(v, 1, sender=griefer)
    assert staking.pending_of(v) == 1 and staking.activates_at(v) == tx.timestamp + DAY
    assert staking.is_validator(AREA, v) and staking.pool_stake(v) == STAKE  # still counts


def test_unbond_and_unnominate__take_pending_first__active_weight_never_grows(staking, token, acct):
    v, n = acct(OFFENDER), acct(NOM1)
    stake_validators(staking, token, [(v, AREA, STAKE)])
    stake(staking, token, v, 50_000 * SEC)
    assert staking.validator_stake(v) == 150_000 * SEC and staking.own_stake(v) == STAKE
    assert staking.stake_of(v) == 150_000 * SEC
    staking.unbond(50_000 * SEC, sender=v)
    assert staking.pending_of(v) == 0 and staking.pool_stake(v) == STAKE
    assert staking.unbonding_of(v) == 50_000 * SEC
    nominate(staking, token, n, v, 30_000 * SEC)
    staking.unnominate(v, 10_000 * SEC, sender=n)
    assert staking.pending_of(v) == 20_000 * SEC and staking.pool_stake(v) == STAKE
    assert staking.nomination_of(n, v) == 20_000 * SEC
    activate_validators(staking, [v])
    assert staking.pool_stake(v) == 120_000 * SEC and staking.area_stake(AREA) == 120_000 * SEC


def test_rewards__pending_nomination_earns_nothing(anchor, staking, token, acct, rate, interval):
    v, n1, n2 = acct(OFFENDER), acct(NOM1), acct(NOM2)
    stake(staking, token, v, STAKE)
    activate_validators(staking, [v])
    nominate(staking, token, n1, v, STAKE)
    activate_validators(staking, [v])
    t0 = staking.rewarded_time(AREA)
    nominate(staking, token, n2, v, STAKE)  # pending
    anchor_next(anchor, AREA, [OFFENDER], acct(RELAYER))
    at(t0 + 100)
    staking.distribute_rewards(AREA, sender=n2)
    pool = 2 * STAKE * reward(100, rate, 2 * STAKE) // P
    own = pool * STAKE // (2 * STAKE)
    assert staking.claimable(v) == own
    assert staking.nomination_claimable(n1, v) == pool - own
    assert staking.nomination_claimable(n2, v) == 0
    # Once activated it earns like the others, from then on only.
    activate_validators(staking, [v])
    t1 = staking.rewarded_time(AREA)
    # Settled at activation, which first pays the interval after the header at the old
    # weight (the pending nomination still apart).
    forced = 2 * STAKE * reward(interval, rate, 2 * STAKE) // P
    assert staking.nomination_claimable(n1, v) == pool - own + forced - forced // 2
    anchor_next(anchor, AREA, [OFFENDER], acct(RELAYER))
    at(t1 + 60)
    staking.distribute_rewards(AREA, sender=n2)
    pool2 = 3 * STAKE * reward(60, rate, 3 * STAKE) // P
    nominators = pool2 - pool2 * STAKE // (3 * STAKE)
    per_share = nominators * P // (2 * STAKE)
    assert staking.nomination_claimable(n2, v) == STAKE * per_share // P
    before = token.balanceOf(n2)
    staking.claim_nomination(v, sender=n2)
    assert token.balanceOf(n2) == before + STAKE * per_share // P


# ---------------------------------------------------------------------------- slashing


def test_slash__self_reported_double_sign__offender_and_its_accounts_end_with_less(
    anchor, staking, token, acct, rate, interval
):
    """The offender stakes 100k, its own accounts NOM1 and NOM2 nominate it 200k each, it
    runs a co-validator (100k) and the reporting judge. It double-signs at height 3 and
    reports itself. Its nominations are burned, only its own 50k pays the 10k bounty and
    35k redistribution (half to the honest validator), and a validator activated after
    height 3 gets nothing; every account exits and the sum is exactly 222,500 SEC lower."""
    offender, co, judge, honest, late = (
        acct(i) for i in (OFFENDER, CO_VALIDATOR, JUDGE, HONEST, LATE)
    )
    noms = [acct(NOM1), acct(NOM2)]
    mine = [offender, co, judge, *noms]
    start = sum(token.balanceOf(x) for x in mine)
    stake_validators(staking, token, [(x, AREA, STAKE) for x in (honest, offender, co)])
    for n in noms:
        nominate(staking, token, n, offender, 200_000 * SEC)
    activate_validators(staking, [offender])
    make_judge(staking, token, judge)
    for _ in range(3):
        anchor_next(anchor, AREA, [HONEST, OFFENDER, CO_VALIDATOR], acct(RELAYER))
    t_a = staking.rewarded_time(AREA)  # the last of the three activations
    stake_validators(staking, token, [(late, AREA, STAKE)])  # activated at height 3
    # Late's activation paid the three headers' time over 700k: the offender's pool
    # (100k own + 400k nominated) and the co-validator's 100k earned their parts of it.
    seconds = min(staking.rewarded_time(AREA) - t_a, 3 * interval)
    per_unit = reward(seconds, rate, 7 * STAKE)
    pool = 5 * STAKE * per_unit // P
    own_reward = pool * STAKE // (5 * STAKE)
    per_share = (pool - own_reward) * P // (4 * STAKE)
    earned = own_reward + 2 * (2 * STAKE * per_share // P) + STAKE * per_unit // P
    assert staking.activated_height(late) == 3 and staking.activated_height(honest) == 0

    before = sum(wealth(staking, token, x, [offender]) for x in mine)
    honest_before, late_before = staking.claimable(honest), staking.claimable(late)
    supply = token.totalSupply()
    # The slash first pays the one second since the last distribution (equal weights per
    # 100k, so exactly rate * 100k per second each): 8 x 100k active, 6 of them the
    # attacker's (its pool of 500k and the co-validator).
    second = rate * STAKE // SEC
    at(staking.rewarded_time(AREA) + 1)
    tx = anchor.report_equivocation(*double_sign(anchor, OFFENDER, 3), sender=judge)
    own, noms_part = 50_000 * SEC, 200_000 * SEC
    bounty, rest = own * 20 // 100, own * 70 // 100
    offence = tx.events.filter(anchor.EquivocationProven)[0].offence_id
    assert tx.events.filter(staking.Slashed) == [
        staking.Slashed(
            validator=offender,
            amount=own + noms_part,
            burned=noms_part + own // 10,
            bounty=bounty,
            reporter=judge,
            offence_id=offence,
        )
    ]
    assert tx.events.filter(staking.Redistributed) == [
        staking.Redistributed(
            area_id=AREA, offence_id=offence, amount=rest, eligible_stake=2 * STAKE
        )
    ]
    assert token.totalSupply() == supply - noms_part - own // 10
    assert staking.claimable(honest) == honest_before + second + rest // 2
    assert staking.claimable(late) == late_before + second  # none of the slash: activated at 3
    after = sum(wealth(staking, token, x, [offender]) for x in mine)
    assert after == before - own - noms_part + bounty + rest // 2 + 6 * second
    assert before - after == 222_500 * SEC - 6 * second

    # Everything exits: the totals are what the accounting above says, to the wei.
    for x in (offender, co, judge):
        staking.claim(sender=x)
    staking.withdraw_judge(JUDGE_STAKE, sender=judge)
    staking.unbond(STAKE, sender=co)
    for n in noms:
        staking.claim_nomination(offender, sender=n)
        staking.unnominate(offender, 100_000 * SEC, sender=n)
    at(chain.pending_timestamp + staking.unbonding_period())
    for x in (offender, co):
        staking.withdraw(sender=x)
    for n in noms:
        staking.withdraw_nomination(sender=n)
    with ape.reverts("staking: nothing to withdraw"):
        staking.withdraw(sender=offender)
    with ape.reverts("staking: nothing to withdraw"):
        staking.withdraw_nomination(sender=noms[0])
    final = sum(token.balanceOf(x) for x in mine)
    assert final == after and final < start
    # What they earned honestly before (three headers' time) is far below the loss.
    assert final == start - 222_500 * SEC + earned + 6 * second and earned < 100 * SEC


def test_slash__honest_nominations__never_pay_the_offender(anchor, staking, token, acct):
    """Honest nominators back the offender 400k; the offender also runs a 300k co-validator
    and the judge. With bounty and redistribution taken from all slashed stake this was a
    131,250 SEC profit; now only its own 50k pays: it loses 13,750 SEC and the nominators'
    200k is burned."""
    offender, co, judge, honest = (acct(i) for i in (OFFENDER, CO_VALIDATOR, JUDGE, HONEST))
    victims = [acct(VICTIM), acct(NOM1)]
    stake_validators(
        staking,
        token,
        [(honest, AREA, STAKE), (offender, AREA, STAKE), (co, AREA, 3 * STAKE)],
    )
    for v in victims:
        nominate(staking, token, v, offender, 2 * STAKE)
    activate_validators(staking, [offender])
    make_judge(staking, token, judge)
    mine = [offender, co, judge]
    before = sum(wealth(staking, token, x, [offender]) for x in mine)
    victims_before = sum(wealth(staking, token, x, [offender]) for x in victims)
    honest_before = staking.claimable(honest)
    anchor.report_equivocation(*double_sign(anchor, OFFENDER, 7), sender=judge)
    after = sum(wealth(staking, token, x, [offender]) for x in mine)
    assert before - after == 13_750 * SEC  # -50k own, +10k bounty, +26.25k to the co-validator
    assert victims_before - sum(wealth(staking, token, x, [offender]) for x in victims) == 2 * STAKE
    assert staking.claimable(honest) == honest_before + 8_750 * SEC


def test_slash__pending_first_refused_restake_and_second_offence_at_another_height(
    anchor, staking, token, acct, rate
):
    offender, co, judge, honest = (acct(i) for i in (OFFENDER, CO_VALIDATOR, JUDGE, HONEST))
    stake_validators(staking, token, [(x, AREA, STAKE) for x in (honest, offender, co)])
    make_judge(staking, token, judge)
    for _ in range(2):
        anchor_next(anchor, AREA, [HONEST, OFFENDER, CO_VALIDATOR], acct(RELAYER))
    stake(staking, token, offender, 40_000 * SEC)  # pending, slashable, slashed first
    staking.distribute_rewards(AREA, sender=judge)  # the headers' rewards, paid apart
    h0, c0 = staking.claimable(honest), staking.claimable(co)
    second = rate * STAKE // SEC  # each slash first pays the second since (equal weights)
    at(staking.rewarded_time(AREA) + 1)
    tx = anchor.report_equivocation(*double_sign(anchor, OFFENDER, 2), sender=judge)
    first = tx.events.filter(staking.Slashed)[0]
    assert (first.amount, first.bounty, first.burned) == (70_000 * SEC, 14_000 * SEC, 7_000 * SEC)
    assert staking.pending_of(offender) == 0 and staking.unbonding_of(offender) == 70_000 * SEC
    assert (staking.claimable(honest) - h0, staking.claimable(co) - c0) == (
        24_500 * SEC + second,
    ) * 2
    with ape.reverts("staking: nothing pending"):
        staking.activate(offender, sender=offender)
    token.approve(staking, STAKE, sender=offender)
    with ape.reverts("staking: validator was ejected"):
        staking.stake_validator(AREA, STAKE, sender=offender)
    token.approve(staking, STAKE, sender=acct(NOM1))
    with ape.reverts("staking: not an active validator"):
        staking.nominate(offender, STAKE, sender=acct(NOM1))
    evidence = double_sign(anchor, OFFENDER, 2)
    with ape.reverts("staking: offence already slashed"):
        anchor.report_equivocation(*evidence, sender=judge)
    # Another height is another offence: it still unbonds, so it is slashed again.
    now = chain.blocks.head.timestamp + 1
    paid = now - staking.rewarded_time(AREA)  # seconds since the first slash
    at(now)
    tx = anchor.report_equivocation(*double_sign(anchor, OFFENDER, 1), sender=judge)
    again = tx.events.filter(staking.Slashed)[0]
    assert (again.amount, again.bounty, again.burned) == (35_000 * SEC, 7_000 * SEC, 3_500 * SEC)
    assert staking.unbonding_of(offender) == 35_000 * SEC
    assert (staking.claimable(honest) - h0, staking.claimable(co) - c0) == (
        36_750 * SEC + (1 + paid) * second,
    ) * 2
    assert staking.claimable(judge) == 21_000 * SEC


def test_record_fault__withheld_rewards_exact(anchor, staking, token, acct, deployer, rate):
    v1, v2 = acct(HONEST), acct(OFFENDER)
    stake_validators(staking, token, [(v1, AREA, STAKE), (v2, AREA, STAKE)])
    t0 = staking.rewarded_time(AREA)
    anchor_next(anchor, AREA, [HONEST, OFFENDER], acct(RELAYER))
    at(t0 + 300)
    staking.distribute_rewards(AREA, sender=v1)
    each = STAKE * reward(300, rate, 2 * STAKE) // P
    supply = token.totalSupply()
    tx = staking.record_fault(v1, b"\x01" * 32, sender=deployer)
    assert tx.events.filter(staking.RewardsWithheld) == [
        staking.RewardsWithheld(validator=v1, amount=each)
    ]
    assert token.totalSupply() == supply - each
    assert staking.claimable(v1) == 0 and staking.claimable(v2) == each
    with ape.reverts("staking: fault already recorded"):
        staking.record_fault(v1, b"\x01" * 32, sender=deployer)


# ---------------------------------------------------------------------------- rewards


def test_rewards__anchoring_every_block_or_once_per_interval__same_per_second(
    anchor, staking, token, acct, rate, interval
):
    """Two identical 100k validators, alone in areas 1 and 2: area 1 anchors 6 headers in
    consecutive blocks, area 2 one header per MAX_HEADER_INTERVAL; over 2 intervals both
    earn exactly rate * stake * seconds."""
    fast, slow = acct(OFFENDER), acct(HONEST)
    stake_validators(staking, token, [(fast, 1, STAKE), (slow, 2, STAKE)])
    t1, t2 = staking.rewarded_time(1), staking.rewarded_time(2)
    for _ in range(6):
        anchor_next(anchor, 1, [OFFENDER], acct(RELAYER))
    at(t2 + interval)
    anchor_next(anchor, 2, [HONEST], acct(RELAYER))
    at(t1 + 2 * interval)
    staking.distribute_rewards(1, sender=fast)
    at(t2 + 2 * interval)
    anchor_next(anchor, 2, [HONEST], acct(RELAYER))
    staking.distribute_rewards(2, sender=slow)  # 2 headers: at most 2 intervals, any later
    expected = 2 * interval * rate * STAKE // SEC
    assert staking.claimable(fast) == staking.claimable(slow) == expected


def test_rewards__lone_validator_of_its_own_area__earns_like_any_other(
    anchor, staking, token, acct, rate
):
    """The attacker alone in an empty area 7 anchors every block; it earns exactly rate *
    stake * seconds, like each of three validators sharing area 1 (the old per-header
    reward paid 10 SEC a header)."""
    lone = acct(OFFENDER)
    shared = [acct(i) for i in (HONEST, LATE, CO_VALIDATOR)]
    stake_validators(staking, token, [(lone, 7, STAKE)] + [(x, AREA, STAKE) for x in shared])
    t7, t1 = staking.rewarded_time(7), staking.rewarded_time(AREA)
    for _ in range(10):
        anchor_next(anchor, 7, [OFFENDER], acct(RELAYER))
    anchor_next(anchor, AREA, [HONEST, LATE, CO_VALIDATOR], acct(RELAYER))
    at(t7 + 40)
    tx = staking.distribute_rewards(7, sender=lone)
    assert tx.events.filter(staking.RewardsDistributed)[0].headers == 10
    at(t1 + 40)
    staking.distribute_rewards(AREA, sender=lone)
    assert staking.claimable(lone) == 40 * rate * STAKE // SEC
    assert [staking.claimable(x) for x in shared] == [40 * rate * STAKE // SEC] * 3


def test_rewards__area_stops_anchoring__stops_earning(anchor, staking, token, acct, rate, interval):
    v = acct(OFFENDER)
    stake_validators(staking, token, [(v, AREA, STAKE)])
    t0 = staking.rewarded_time(AREA)
    anchor_next(anchor, AREA, [OFFENDER], acct(RELAYER))
    at(t0 + 100)
    staking.distribute_rewards(AREA, sender=v)
    earned = 100 * rate * STAKE // SEC
    assert staking.claimable(v) == earned
    at(t0 + 100 + 10 * interval)
    tx = staking.distribute_rewards(AREA, sender=v)  # no header since: nothing
    assert tx.events.filter(staking.RewardsDistributed) == []
    assert staking.claimable(v) == earned
    # One late header covers at most one interval of the silent time.
    anchor_next(anchor, AREA, [OFFENDER], acct(RELAYER))
    staking.distribute_rewards(AREA, sender=v)
    assert staking.claimable(v) == earned + interval * rate * STAKE // SEC


def test_rewards__forced_distribution_before_each_header__wipes_nothing(
    anchor, staking, token, acct, rate, interval
):
    """A 1-wei nominator forces a distribution (`unnominate`) just before every header of
    an area that anchors once per interval: the area is still paid for every second, and
    silence after the last header is paid for at most one interval, forced or not."""
    v, griefer = acct(OFFENDER), acct(NOM1)
    stake_validators(staking, token, [(v, AREA, STAKE)])
    nominate(staking, token, griefer, v, 1)
    t0 = staking.rewarded_time(AREA)
    per_second = rate * STAKE // SEC
    anchor_next(anchor, AREA, [OFFENDER], acct(RELAYER))
    at(t0 + 10)
    staking.distribute_rewards(AREA, sender=v)  # sees the header at t0 + 10
    assert staking.claimable(v) == 10 * per_second
    at(t0 + 10 + interval - 5)
    tx = staking.unnominate(v, 1, sender=griefer)  # forced, no new header
    assert tx.events.filter(staking.RewardsDistributed)[0].seconds == interval - 5
    assert staking.claimable(v) == (10 + interval - 5) * per_second
    anchor_next(anchor, AREA, [OFFENDER], acct(RELAYER))
    seen = t0 + 10 + interval + 5
    at(seen)
    staking.distribute_rewards(AREA, sender=v)  # the new header pays the 10 s since
    assert staking.claimable(v) == (10 + interval + 5) * per_second == (seen - t0) * per_second
    # Silent for three intervals: a forced distribution pays the interval after the last
    # header seen, and a late header one more interval at most.
    at(seen + 3 * interval)
    token.approve(staking, 1, sender=griefer)
    staking.nominate(v, 1, sender=griefer)
    tx = staking.unnominate(v, 1, sender=griefer)
    assert tx.events.filter(staking.RewardsDistributed)[0].seconds == interval
    anchor_next(anchor, AREA, [OFFENDER], acct(RELAYER))
    at(seen + 5 * interval)
    staking.distribute_rewards(AREA, sender=v)
    paid = (seen - t0) + interval + interval
    assert staking.claimable(v) == paid * per_second


def test_rewards__empty_or_small_pool__never_blocks_staking(project, token, trust, deployer, acct):
    """A fresh Staking with an unfunded pool: staking, anchoring, distributing, nominating,
    unbonding and withdrawing all work; then a 1 SEC pool pays exactly 1 SEC."""
    fresh = project.Staking.deploy(
        token,
        trust,
        JUDGE_STAKE,
        STAKE,
        100,
        1_000,
        2_000,
        1_000,
        10,
        10**18,
        3_600,
        sender=deployer,
    )
    hub = project.AnchorHub.deploy(fresh, 5_000, sender=deployer)
    fresh.set_slasher(hub, sender=deployer)
    v, n = acct(OFFENDER), acct(NOM1)
    stake_validators(fresh, token, [(v, AREA, STAKE)])
    anchor_next(hub, AREA, [OFFENDER], acct(RELAYER))
    tx = fresh.distribute_rewards(AREA, sender=v)
    assert tx.events.filter(fresh.RewardsDistributed) == [] and fresh.reward_pool() == 0
    nominate(fresh, token, n, v, STAKE)
    activate_validators(fresh, [v])
    fresh.unnominate(v, STAKE, sender=n)
    token.approve(fresh, SEC, sender=deployer)
    fresh.fund_rewards(SEC, sender=deployer)
    anchor_next(hub, AREA, [OFFENDER], acct(RELAYER))
    fresh.distribute_rewards(AREA, sender=v)  # asks for far more: capped by the pool
    assert fresh.reward_pool() == 0 and fresh.claimable(v) == SEC
    fresh.unbond(STAKE, sender=v)
    at(fresh.unbonding_release(v))
    before = token.balanceOf(v)
    fresh.withdraw(sender=v)
    fresh.claim(sender=v)
    assert token.balanceOf(v) == before + STAKE + SEC
    fresh.withdraw_nomination(sender=n)
    with ape.reverts("staking: nothing to withdraw"):
        fresh.withdraw(sender=v)


def test_slash__ejected_validator__withdraws_once_and_never_returns(anchor, staking, token, acct):
    offender, judge, honest = acct(OFFENDER), acct(JUDGE), acct(HONEST)
    stake_validators(staking, token, [(x, AREA, STAKE) for x in (honest, offender)])
    make_judge(staking, token, judge)
    anchor.report_equivocation(*double_sign(anchor, OFFENDER, 1), sender=judge)
    assert staking.unbonding_of(offender) == STAKE // 2 and staking.ejected(offender)
    release = staking.unbonding_release(offender)
    at(release - 1)
    with ape.reverts("staking: still unbonding"):
        staking.withdraw(sender=offender)
    at(release)
    before = token.balanceOf(offender)
    staking.withdraw(sender=offender)
    assert token.balanceOf(offender) == before + STAKE // 2
    with ape.reverts("staking: nothing to withdraw"):
        staking.withdraw(sender=offender)
    # Gone, but not forgiven: it cannot come back in its area or another, nor be nominated,
    # and (nothing left to slash) a further double-sign is no longer evidence.
    token.approve(staking, STAKE, sender=offender)
    for area in (AREA, AREA + 1):
        with ape.reverts("staking: validator was ejected"):
            staking.stake_validator(area, STAKE, sender=offender)
    token.approve(staking, STAKE, sender=acct(NOM1))
    with ape.reverts("staking: not an active validator"):
        staking.nominate(offender, STAKE, sender=acct(NOM1))
    with ape.reverts("anchor: signer is not a validator of the area"):
        anchor.report_equivocation(*double_sign(anchor, OFFENDER, 2), sender=judge)
    assert token.balanceOf(offender) == before + STAKE // 2
