"""`execute_with_votes` on a case not drawn yet draws the panel itself, in the same
transaction, exactly as `draw` would; judges learn the panel from `preview_panel`.

The attacker controls several judge accounts (`friends`) and the caller; it tries to rule
with one signature, to rule with judges who are not on the panel, to stretch or dodge the
vote deadline and to use an expired draw hash."""

import ape
import pytest
from ape import chain

from tests.fixtures.court import (
    by_address,
    dispute_order,
    expected_panel,
    mine_to_draw,
    signed_vote,
    stake_judges,
)
from tests.fixtures.suite import at

VOTE_PERIOD = 3 * 86_400
DISPUTE_TIMEOUT = 30 * 86_400
STATUS_DISPUTED = 5
STATUS_REFUNDED = 6


@pytest.fixture
def honest(accounts):
    return [accounts[i] for i in (3, 7, 8, 9)]


@pytest.fixture
def friends(accounts):
    """The attacker's own judge accounts."""
    return [accounts[i] for i in (4, 5, 6)]


@pytest.fixture
def case(escrow, court, staking, token, listing, seller, buyer, honest, friends):
    """A disputed order with seven judges staked, mined to draw_block + 1, not drawn."""
    stake_judges(staking, token, honest + friends)
    order_id = dispute_order(escrow, listing, seller, buyer)
    mine_to_draw(court, order_id)
    chain.mine(1)  # block draw_block + 1 is mined: calls see the hash too
    return order_id


def judges_of(accounts, court, case_id):
    return by_address(accounts, court.preview_panel(case_id))


def assert_undrawn(court, escrow, case_id):
    info = court.case_info(case_id)
    assert not info.drawn and not info.executed and info.panel_seats == []
    assert court.vote_deadline(case_id) == 0
    assert escrow.order_status(case_id) == STATUS_DISPUTED


def test_execute_with_votes__undrawn_case__same_panel_as_draw_first(
    court, staking, escrow, trust, case, accounts, attacker
):
    preview = court.preview_panel(case)
    assert len(preview) == 3 and preview == expected_panel(court, staking, trust, case)
    snapshot = chain.snapshot()
    court.draw(case, sender=attacker)
    drawn_first = court.case_info(case).panel_seats
    assert court.panel_of(case) == preview and court.preview_panel(case) == preview
    chain.restore(snapshot)

    j1, j2, j3 = by_address(accounts, preview)
    votes = [signed_vote(j, case, 1, court) for j in (j1, j2)]
    tx = court.execute_with_votes(case, votes, sender=attacker)
    assert court.case_info(case).panel_seats == drawn_first
    assert tx.events.filter(court.PanelDrawn) == [
        court.PanelDrawn(case_id=case, panel=preview, vote_deadline=tx.timestamp + VOTE_PERIOD)
    ]
    assert tx.events.filter(court.CaseExecuted) == [
        court.CaseExecuted(case_id=case, order_id=case, ruling=1, majority=[j1, j2], absent=[])
    ]
    # Never locked, so never released: no seat write in Staking for the panel.
    assert tx.events.filter(staking.PanelLocked) == []
    assert tx.events.filter(staking.PanelReleased) == []
    assert all(staking.open_cases(j) == 0 for j in (j1, j2, j3))
    assert escrow.order_status(case) == STATUS_REFUNDED
    with ape.reverts("court: case already executed"):
        court.execute_with_votes(case, votes, sender=attacker)


def test_execute_with_votes__undrawn_case_one_signature__never_rules(
    court, escrow, case, accounts, attacker
):
    j1, _, _ = judges_of(accounts, court, case)
    for ruling in (1, 2):
        with ape.reverts("court: no majority yet"):
            court.execute_with_votes(case, [signed_vote(j1, case, ruling, court)], sender=attacker)
    # The same signature twice is still one judge.
    vote = signed_vote(j1, case, 1, court)
    with ape.reverts("court: no majority yet"):
        court.execute_with_votes(case, [vote, vote], sender=attacker)
    assert_undrawn(court, escrow, case)


def test_execute_with_votes__undrawn_case_judge_not_on_previewed_panel__refused(
    court, escrow, case, honest, friends, accounts, attacker
):
    panel = judges_of(accounts, court, case)
    outsiders = [j for j in honest + friends if j not in panel]
    assert len(outsiders) == 4
    for outsider in outsiders:
        votes = [signed_vote(panel[0], case, 1, court), signed_vote(outsider, case, 1, court)]
        with ape.reverts("court: signer is not on the panel"):
            court.execute_with_votes(case, votes, sender=attacker)
    # Two outsiders alone neither.
    votes = [signed_vote(j, case, 1, court) for j in outsiders[:2]]
    with ape.reverts("court: signer is not on the panel"):
        court.execute_with_votes(case, votes, sender=attacker)
    assert_undrawn(court, escrow, case)


def test_execute_with_votes__undrawn_case_late__deadline_runs_from_the_draw(
    court, escrow, case, accounts, attacker
):
    opened_at = court.case_info(case).opened_at
    # Later than a deadline counted from the dispute would allow, before the timeout.
    when = opened_at + 2 * VOTE_PERIOD
    j1, j2, _ = judges_of(accounts, court, case)
    votes = [signed_vote(j, case, 2, court) for j in (j1, j2)]
    at(when)
    tx = court.execute_with_votes(case, votes, sender=attacker)
    assert tx.events.filter(court.PanelDrawn)[0].vote_deadline == when + VOTE_PERIOD
    assert court.vote_deadline(case) == when + VOTE_PERIOD
    assert tx.events.filter(court.CaseExecuted)[0].ruling == 2


def test_execute_with_votes__undrawn_case_after_dispute_timeout__refused(
    court, escrow, case, accounts, attacker
):
    j1, j2, _ = judges_of(accounts, court, case)
    votes = [signed_vote(j, case, 1, court) for j in (j1, j2)]
    timeout_at = court.case_info(case).opened_at + DISPUTE_TIMEOUT
    at(timeout_at)
    chain.mine(1)
    with ape.reverts("court: voting has ended"):
        court.execute_with_votes(case, votes, sender=attacker)
    assert court.preview_panel(case) == []
    assert_undrawn(court, escrow, case)


def test_preview_panel__before_draw_block_passed__too_early(
    escrow, court, staking, token, listing, seller, buyer, honest, attacker
):
    stake_judges(staking, token, honest)
    order_id = dispute_order(escrow, listing, seller, buyer)
    with ape.reverts("court: too early to draw"):
        court.preview_panel(order_id)
    votes = [signed_vote(j, order_id, 1, court) for j in honest[:2]]
    with ape.reverts("court: too early to draw"):
        court.execute_with_votes(order_id, votes, sender=attacker)


def test_execute_with_votes__undrawn_case_hash_expired__rearms_nothing_executed(
    court, escrow, staking, trust, case, accounts, attacker
):
    old_panel = judges_of(accounts, court, case)
    votes = [signed_vote(j, case, 1, court) for j in old_panel[:2]]
    draw_at = court.draw_block(case)
    chain.mine(draw_at + 257 - chain.blocks.head.number)  # next tx in draw_at + 258
    with ape.reverts("court: draw hash expired"):
        court.preview_panel(case)
    tx = court.execute_with_votes(case, votes, sender=attacker)
    assert tx.block_number == draw_at + 258
    assert tx.events == [court.DrawRearmed(case_id=case, draw_block=tx.block_number + 5)]
    assert court.draw_block(case) == tx.block_number + 5
    assert_undrawn(court, escrow, case)
    # Re-armed: the new hash decides; the combined path works again from its next block.
    mine_to_draw(court, case)
    chain.mine(1)
    panel = judges_of(accounts, court, case)
    assert [j.address for j in panel] == expected_panel(court, staking, trust, case)
    votes = [signed_vote(j, case, 1, court) for j in panel[:2]]
    tx = court.execute_with_votes(case, votes, sender=attacker)
    assert tx.events.filter(court.CaseExecuted)[0].majority == [j.address for j in panel[:2]]
    assert escrow.order_status(case) == STATUS_REFUNDED


def test_execute__undrawn_case_without_votes__not_drawn(court, escrow, case, attacker):
    with ape.reverts("court: panel not drawn yet"):
        court.execute(case, sender=attacker)
    with ape.reverts("court: panel not drawn yet"):
        court.execute_with_votes(case, [], sender=attacker)
    assert_undrawn(court, escrow, case)
