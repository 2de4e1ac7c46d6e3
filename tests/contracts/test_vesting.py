"""Vesting: team 25 % a year, foundation 20 % then three yearly thirds, angel 50/50 after 90
days; boundaries at -1/0 s."""

import ape
import pytest
from ape import chain

from tests.fixtures.suite import at

SEC = 10**18
GENESIS = 1_500_000_000 * SEC
YEAR = 365 * 86_400
TEAM, FOUNDATION, ANGEL = GENESIS // 10, GENESIS // 10, GENESIS * 7 // 100


@pytest.fixture
def fresh_vesting(project, token, deployer, seller, buyer, stranger):
    """A Vesting with three distinct beneficiaries (team seller, foundation buyer, angel "
    "stranger)."""
    # An hour ahead: the chain's clock follows the wall clock, and three transactions on a
    # busy machine can take longer than a few seconds (then `start - 1` would be past).
    start = chain.pending_timestamp + 3_600
    v = project.Vesting.deploy(seller, buyer, stranger, start, sender=deployer)
    t = project.SECToken.deploy(deployer, deployer, deployer, v, GENESIS * 2, sender=deployer)
    v.set_token(t, sender=deployer)
    return v, t, start


def test_vested__schedules_at_boundaries(fresh_vesting, seller, buyer, stranger):
    v, _, start = fresh_vesting
    points = [
        (start - 1, 0, 0, 0),
        (start, TEAM // 4, FOUNDATION // 5, ANGEL // 2),
        (start + 90 * 86_400 - 1, TEAM // 4, FOUNDATION // 5, ANGEL // 2),
        (start + 90 * 86_400, TEAM // 4, FOUNDATION // 5, ANGEL),
        (start + YEAR - 1, TEAM // 4, FOUNDATION // 5, ANGEL),
        (start + YEAR, TEAM // 2, FOUNDATION // 5 + FOUNDATION * 4 // 15, ANGEL),
        (start + 3 * YEAR - 1, TEAM * 3 // 4, FOUNDATION // 5 + FOUNDATION * 8 // 15, ANGEL),
        (start + 3 * YEAR, TEAM, FOUNDATION, ANGEL),
        (start + 10 * YEAR, TEAM, FOUNDATION, ANGEL),
    ]
    for when, team, foundation, angel in points:
        at(when)
        chain.mine()
        assert (v.vested(seller), v.vested(buyer), v.vested(stranger)) == (
            team,
            foundation,
            angel,
        ), when


def test_release__pays_beneficiary_once(fresh_vesting, seller, stranger):
    v, t, start = fresh_vesting
    at(start + YEAR)
    tx = v.release(seller, sender=stranger)  # anyone may trigger it
    assert t.balanceOf(seller) == TEAM // 2
    assert tx.events.filter(v.Released) == [v.Released(beneficiary=seller, amount=TEAM // 2)]
    with ape.reverts("vesting: nothing to release"):
        v.release(seller, sender=stranger)


def test_set_token__twice_other_or_unfunded__reverts(
    project, fresh_vesting, deployer, stranger, seller
):
    v, t, _ = fresh_vesting
    with ape.reverts("vesting: caller is not the deployer"):
        v.set_token(t, sender=stranger)
    with ape.reverts("vesting: token already set"):
        v.set_token(t, sender=deployer)
    v2 = project.Vesting.deploy(seller, seller, seller, 0, sender=deployer)
    with ape.reverts("vesting: token not funded"):
        v2.set_token(t, sender=deployer)
    with ape.reverts("vesting: token not set"):
        v2.release(seller, sender=deployer)


def test_suite_vesting__one_beneficiary_with_three_schedules(vesting, deployer):
    assert vesting.total_of(deployer) == TEAM + FOUNDATION + ANGEL
