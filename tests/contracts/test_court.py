"""Court and judge staking: panels of three staked judges drawn after the dispute that never
include a party, votes before the deadline, execute once, fees to the majority, penalties
for judges who do not vote."""

import ape
import pytest
from ape import chain

from sec_offchain.contracts.deploy import SuiteParams, deploy_suite
from sec_offchain.crypto.keys import get_dev_account
from tests.fixtures.court import (
    MIN_JUDGE,
    PENALTY,
    by_address,
    dispute_order,
    draw,
    mine_to_draw,
    stake_judges,
)
from tests.fixtures.suite import ETH, PRICE, at, new_listing, race

VOTE_PERIOD = 3 * 86_400


@pytest.fixture
def judges(accounts, staking, token):
    """Seven staked judges; the order's seller and buyer are judges too (they must never sit)."""
    chosen = [accounts[i] for i in (1, 2, 3, 4, 6, 7, 8)]
    stake_judges(staking, token, chosen)
    return chosen


@pytest.fixture
def case(escrow, court, judges, listing, seller, buyer, stranger):
    """A disputed order with its panel drawn; returns (case id, order id)."""
    order_id = dispute_order(escrow, listing, seller, buyer)
    draw(court, order_id, stranger)
    return court.case_of(order_id), order_id


def panel_accounts(court, case_id, accounts):
    return by_address(accounts, court.panel_of(case_id))


def test_stake_judge__minimum_and_disabled(staking, token, trust, deployer, stranger):
    token.approve(staking, 2 * MIN_JUDGE, sender=stranger)
    with ape.reverts("staking: below minimum stake"):
        staking.stake_judge(MIN_JUDGE - 1, sender=stranger)
    tx = staking.stake_judge(MIN_JUDGE, sender=stranger)
    assert tx.events.filter(staking.Staked) == [
        staking.Staked(account=stranger, role=2, amount=MIN_JUDGE, total=MIN_JUDGE)
    ]
    assert tx.events.filter(staking.JudgeJoined) == [
        staking.JudgeJoined(judge=stranger, seat=0, since_block=tx.block_number)
    ]
    assert staking.is_judge(stranger) and staking.stake_of(stranger) == MIN_JUDGE
    assert staking.judges() == [stranger.address] and staking.judge_at(0) == stranger.address
    trust.grantRole(trust.WRITER_ROLE(), deployer, sender=deployer)
    trust.penalize(stranger, 100, 3, sender=deployer)
    assert not staking.is_judge(stranger)
    with ape.reverts("staking: account is disabled"):
        staking.stake_judge(MIN_JUDGE, sender=stranger)


def test_dispute__opens_case_and_commits_to_draw_block__no_panel_yet(
    escrow, court, judges, listing, seller, buyer
):
    order_id = dispute_order(escrow, listing, seller, buyer)
    opened = chain.blocks.head.number
    assert court.case_of(order_id) == order_id
    assert court.draw_block(order_id) == opened + court.DRAW_DELAY() == opened + 5
    assert court.panel_of(order_id) == [] and court.vote_deadline(order_id) == 0
    info = court.case_info(order_id)
    assert (info.opened_block, info.judge_seats, info.drawn) == (opened, 7, False)
    assert sorted(info.party_seats) == [0, 1]  # the seller and the buyer hold seats 0 and 1


def test_draw__panel_of_three_never_a_party(
    escrow, court, judges, listing, seller, buyer, stranger
):
    seen = set()
    for _ in range(6):
        order_id = dispute_order(escrow, listing, seller, buyer)
        tx = draw(court, order_id, stranger)
        panel = court.panel_of(order_id)
        assert len(panel) == 3 and len(set(panel)) == 3
        assert seller.address not in panel and buyer.address not in panel
        assert set(panel) <= {j.address for j in judges}
        deadline = chain.blocks.head.timestamp + VOTE_PERIOD
        assert court.vote_deadline(order_id) == deadline
        assert tx.events.filter(court.PanelDrawn) == [
            court.PanelDrawn(case_id=order_id, panel=panel, vote_deadline=deadline)
        ]
        seen |= set(panel)
    assert len(seen) > 3  # the draw varies between cases


def test_vote__panel_only_once_valid_ruling(court, case, accounts, seller):
    case_id, _ = case
    judge = panel_accounts(court, case_id, accounts)[0]
    with ape.reverts("court: caller is not on the panel"):
        court.vote(case_id, 1, sender=seller)
    with ape.reverts("court: invalid ruling"):
        court.vote(case_id, 0, sender=judge)
    with ape.reverts("court: invalid ruling"):
        court.vote(case_id, 3, sender=judge)
    tx = court.vote(case_id, 1, sender=judge)
    assert tx.events == [court.Voted(case_id=case_id, judge=judge, ruling=1)]
    assert court.votes(case_id, judge) == 1
    with ape.reverts("court: already voted"):
        court.vote(case_id, 2, sender=judge)


@pytest.mark.parametrize("offset,ok", [(-1, True), (0, False), (1, False)])
def test_vote__deadline_boundary(court, case, accounts, offset, ok):
    case_id, _ = case
    judge = panel_accounts(court, case_id, accounts)[0]
    at(court.vote_deadline(case_id) + offset)
    if ok:
        court.vote(case_id, 1, sender=judge)
    else:
        with ape.reverts("court: voting has ended"):
            court.vote(case_id, 1, sender=judge)


def test_execute__fake_goods_majority__buyer_refunded_seller_penalized_fee_pushed_to_majority(
    court, escrow, trust, staking, case, accounts, seller, buyer
):
    case_id, order_id = case
    j1, j2, j3 = panel_accounts(court, case_id, accounts)
    deposit = escrow.get_order(order_id).dispute_deposit
    assert deposit == PRICE * 200 // 10_000
    court.vote(case_id, 1, sender=j1)
    with ape.reverts("court: no majority yet"):
        court.execute(case_id, sender=seller)
    court.vote(case_id, 1, sender=j2)
    buyer_before, j1_before, j2_before = buyer.balance, j1.balance, j2.balance
    tx = court.execute(case_id, sender=seller)  # anyone; before the deadline once a majority exists
    assert tx.events.filter(court.CaseExecuted) == [
        court.CaseExecuted(
            case_id=case_id, order_id=order_id, ruling=1, majority=[j1, j2], absent=[]
        )
    ]
    assert escrow.order_status(order_id) == 6
    fee = deposit // 2
    assert buyer.balance == buyer_before + PRICE + deposit - fee
    assert j1.balance == j1_before + fee - fee // 2 and j2.balance == j2_before + fee // 2
    assert escrow.owed(j1, ETH) == escrow.owed(j2, ETH) == escrow.owed(j3, ETH) == 0
    assert trust.is_disabled(seller)  # a NEW seller judged for fake goods
    assert staking.judge_stake(j3) == MIN_JUDGE  # not penalized: the deadline had not passed
    assert all(staking.open_cases(j) == 0 for j in (j1, j2, j3))
    with ape.reverts("court: case already executed"):
        court.execute(case_id, sender=seller)
    with ape.reverts("court: case already executed"):
        court.vote(case_id, 1, sender=j3)


def test_execute__malicious_complaint__seller_paid_buyer_penalized(
    court, escrow, trust, case, accounts, seller, buyer
):
    case_id, order_id = case
    j1, j2, _ = panel_accounts(court, case_id, accounts)
    court.vote(case_id, 2, sender=j1)
    court.vote(case_id, 2, sender=j2)
    seller_before = seller.balance
    deposit = escrow.get_order(order_id).dispute_deposit
    court.execute(case_id, sender=buyer)
    assert seller.balance == seller_before + PRICE + deposit - deposit // 2
    assert trust.is_disabled(buyer) and trust.trust_of(seller) == 1


def test_execute__no_majority_at_deadline__ruling_zero_and_absent_judges_penalized(
    court, escrow, staking, token, case, accounts, seller, buyer
):
    case_id, order_id = case
    j1, j2, j3 = panel_accounts(court, case_id, accounts)
    court.vote(case_id, 1, sender=j1)
    deposit = escrow.get_order(order_id).dispute_deposit
    supply = token.totalSupply()
    buyer_before = buyer.balance
    race(
        court.vote_deadline(case_id),
        lambda: court.vote(case_id, 2, sender=j2),
        "court: voting has ended",
        lambda: court.execute(case_id, sender=seller),
    )
    assert escrow.order_status(order_id) == 6
    # Ruling 0 with no majority: price split, the whole deposit (fee included) back to the buyer.
    assert buyer.balance == buyer_before + PRICE // 2 + deposit
    assert staking.judge_stake(j1) == MIN_JUDGE
    assert staking.judge_stake(j2) == staking.judge_stake(j3) == MIN_JUDGE - PENALTY
    assert token.totalSupply() == supply - 2 * PENALTY  # no majority voters: burned


def test_execute__majority_after_deadline__absent_judge_penalty_to_majority_exact(
    court, staking, case, accounts, seller
):
    case_id, _ = case
    j1, j2, j3 = panel_accounts(court, case_id, accounts)
    court.vote(case_id, 2, sender=j1)
    court.vote(case_id, 2, sender=j2)
    at(court.vote_deadline(case_id))
    tx = court.execute(case_id, sender=seller)
    assert tx.events.filter(staking.JudgePenalized) == [
        staking.JudgePenalized(judge=j3, amount=PENALTY, burned=0)
    ]
    assert staking.judge_stake(j3) == MIN_JUDGE - PENALTY
    assert staking.claimable(j1) == staking.claimable(j2) == PENALTY // 2
    staking.claim(sender=j1)
    with ape.reverts("staking: nothing to claim"):
        staking.claim(sender=j1)
    # Below the minimum now: out of the judge set, seat kept until it withdraws the rest.
    assert not staking.is_judge(j3) and j3.address not in staking.judges()


@pytest.mark.parametrize("late", [0, 1])
def test_draw__less_than_a_vote_period_before_the_timeout__absence_not_fined(
    court, escrow, staking, judges, listing, seller, buyer, stranger, accounts, late
):
    """Drawn exactly VOTE_PERIOD before Escrow's dispute timeout, the judges had a full
    period and an absent one is fined; drawn one second later they had not, and nobody is."""
    order_id = dispute_order(escrow, listing, seller, buyer)
    mine_to_draw(court, order_id)
    timeout_at = court.case_info(order_id).opened_at + escrow.DISPUTE_TIMEOUT()
    at(timeout_at - VOTE_PERIOD + late)
    court.draw(order_id, sender=stranger)
    assert court.vote_deadline(order_id) == timeout_at
    j1, j2, j3 = panel_accounts(court, order_id, accounts)
    court.vote(order_id, 2, sender=j1)
    court.vote(order_id, 2, sender=j2)
    at(timeout_at)
    tx = court.execute(order_id, sender=seller)
    fined = [] if late else [j3.address]
    assert tx.events.filter(court.CaseExecuted)[0].absent == fined
    assert staking.judge_stake(j3) == MIN_JUDGE - (0 if late else PENALTY)
    assert staking.claimable(j1) == staking.claimable(j2) == (0 if late else PENALTY // 2)


def test_withdraw_judge__while_on_open_case__refused_then_allowed(
    court, staking, token, case, accounts, seller
):
    case_id, _ = case
    j1, j2, _ = panel_accounts(court, case_id, accounts)
    with ape.reverts("staking: judge is on an open case"):
        staking.withdraw_judge(MIN_JUDGE, sender=j1)
    court.vote(case_id, 1, sender=j1)
    court.vote(case_id, 1, sender=j2)
    court.execute(case_id, sender=seller)
    before = token.balanceOf(j1)
    with ape.reverts("staking: below minimum stake"):
        staking.withdraw_judge(1, sender=j1)
    seat = staking.slot_of(j1) - 1
    tx = staking.withdraw_judge(MIN_JUDGE, sender=j1)
    assert tx.events.filter(staking.JudgeLeft) == [
        staking.JudgeLeft(judge=j1, seat=seat, seat_freed=True)
    ]
    assert token.balanceOf(j1) == before + MIN_JUDGE
    assert j1.address not in staking.judges() and not staking.is_judge(j1)
    assert staking.judge_at(seat) == "0x" + "00" * 20


def test_too_few_judges__no_panel_and_ruling_zero_at_deadline(
    court, escrow, staking, token, listing, seller, buyer, stranger, accounts
):
    # Only two eligible judges (the parties do not count).
    stake_judges(staking, token, [stranger, accounts[6]])
    order_id = dispute_order(escrow, listing, seller, buyer)
    tx = draw(court, order_id, stranger)
    deadline = chain.blocks.head.timestamp + VOTE_PERIOD
    assert tx.events.filter(court.PanelDrawn) == [
        court.PanelDrawn(case_id=order_id, panel=[], vote_deadline=deadline)
    ]
    assert court.panel_of(order_id) == []
    with ape.reverts("court: no majority yet"):
        court.execute(order_id, sender=stranger)
    deposit = escrow.get_order(order_id).dispute_deposit
    buyer_before = buyer.balance
    at(deadline)
    court.execute(order_id, sender=stranger)
    assert buyer.balance == buyer_before + PRICE // 2 + deposit  # the whole deposit back


def test_escrow_timeout_first__execute_still_releases_panel(
    court, escrow, staking, case, accounts, stranger
):
    case_id, order_id = case
    panel = panel_accounts(court, case_id, accounts)
    assert all(staking.open_cases(j) == 1 for j in panel)
    at(escrow.get_order(order_id).deadline)  # Escrow's own 30-day dispute timeout
    escrow.finalize(order_id, sender=stranger)
    assert escrow.order_status(order_id) == 6
    tx = court.execute(case_id, sender=stranger)
    assert tx.events.filter(court.RulingNotApplied) == [court.RulingNotApplied(case_id=case_id)]
    assert all(staking.open_cases(j) == 0 for j in panel)


def test_court_entry_points__only_escrow_and_court(court, staking, escrow, attacker, stranger):
    with ape.reverts("court: caller is not the escrow"):
        court.open_case(1, attacker, stranger, sender=attacker)
    with ape.reverts("staking: caller is not the court"):
        staking.draw_panel(b"\x01" * 32, 1, 10**6, 0, sender=attacker)
    with ape.reverts("staking: caller is not the court"):
        staking.release_panel(1, sender=attacker)
    with ape.reverts("staking: caller is not the court"):
        staking.penalize_judge(stranger, 1, [], sender=attacker)
    with ape.reverts("escrow: caller is not the arbiter"):
        escrow.rule_with_fee_split(1, 1, [attacker], sender=attacker)
    with ape.reverts("court: unknown case"):
        court.execute(99, sender=attacker)
    with ape.reverts("court: unknown case"):
        court.draw(99, sender=attacker)


def test_execute__odd_no_vote_penalty__odd_wei_to_the_first_majority_judge(
    project, accounts, seller, buyer, stranger
):
    """Governance may deploy an odd penalty: the absent judge's penalty splits like the
    fee, equal shares and the odd wei to the first judge of the majority, nothing lost."""
    suite = deploy_suite(
        chain.provider.web3, get_dev_account(0), SuiteParams(no_vote_penalty=PENALTY + 1)
    )
    escrow, court, staking, token = (
        getattr(project, name).at(suite.address_of(name))
        for name in ("Escrow", "Court", "Staking", "SECToken")
    )
    stake_judges(staking, token, [accounts[i] for i in (5, 6, 7)])
    order_id = dispute_order(escrow, new_listing(escrow, seller), seller, buyer)
    draw(court, order_id, stranger)
    j1, j2, j3 = by_address(accounts, court.panel_of(order_id))
    court.vote(order_id, 2, sender=j1)
    court.vote(order_id, 2, sender=j2)
    at(court.vote_deadline(order_id))
    court.execute(order_id, sender=stranger)
    share = (PENALTY + 1) // 2
    assert (staking.claimable(j1), staking.claimable(j2)) == (PENALTY + 1 - share, share)
    assert staking.judge_stake(j3) == MIN_JUDGE - PENALTY - 1
