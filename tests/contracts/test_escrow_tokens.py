"""ERC-20s that return nothing, return false, or take a fee on transfer."""

import ape
import pytest

from tests.fixtures.suite import PRICE, new_listing, new_order


@pytest.fixture(autouse=True)
def _arbiter(governance_arbiter):
    return governance_arbiter


TRACKING = b"\x02" * 32


@pytest.fixture
def allow(escrow, deployer):
    def _allow(tok):
        escrow.set_token_allowed(tok, True, sender=deployer)
        return tok

    return _allow


def test_no_return_token__handled_like_a_good_one(project, escrow, deployer, seller, buyer, allow):
    tok = allow(project.NoReturnToken.deploy(sender=deployer))
    tok.mint(buyer, PRICE, sender=deployer)
    listing_id = new_listing(escrow, seller, PRICE, tok.address)
    tok.approve(escrow, PRICE, sender=buyer)
    order_id = new_order(escrow, listing_id, buyer, value=0)
    assert tok.balanceOf(escrow) == PRICE
    escrow.ship(order_id, TRACKING, sender=seller)
    escrow.confirm(order_id, sender=buyer)
    assert tok.balanceOf(seller) == PRICE and tok.balanceOf(escrow) == 0


def test_false_token__pull_refused_payout_credited(project, escrow, deployer, seller, buyer, allow):
    tok = allow(project.FalseToken.deploy(sender=deployer))
    tok.mint(buyer, PRICE, sender=deployer)
    listing_id = new_listing(escrow, seller, PRICE, tok.address)
    tok.approve(escrow, PRICE, sender=buyer)
    tok.set_failing(True, sender=deployer)
    with ape.reverts("escrow: token transfer failed"):
        escrow.buy(listing_id, 0, sender=buyer)
    tok.set_failing(False, sender=deployer)
    order_id = new_order(escrow, listing_id, buyer, value=0)
    escrow.ship(order_id, TRACKING, sender=seller)
    # The token refuses the payout: the order still completes, the seller is credited.
    tok.set_failing(True, sender=deployer)
    escrow.confirm(order_id, sender=buyer)
    assert escrow.order_status(order_id) == 3
    assert escrow.owed(seller, tok) == PRICE
    with ape.reverts("escrow: token transfer failed"):
        escrow.withdraw(tok, sender=seller)
    assert escrow.owed(seller, tok) == PRICE  # a failed withdraw changes nothing
    tok.set_failing(False, sender=deployer)
    escrow.withdraw(tok, sender=seller)
    assert tok.balanceOf(seller) == PRICE and escrow.owed(seller, tok) == 0


def test_fee_on_transfer_token__refused_at_buy(project, escrow, deployer, seller, buyer, allow):
    tok = allow(project.FeeToken.deploy(sender=deployer))
    tok.mint(buyer, PRICE, sender=deployer)
    listing_id = new_listing(escrow, seller, PRICE, tok.address)
    tok.approve(escrow, PRICE, sender=buyer)
    with ape.reverts("escrow: token fee not supported"):
        escrow.buy(listing_id, 0, sender=buyer)
    assert tok.balanceOf(buyer) == PRICE


def test_token_listing_dispute__deposit_pulled_in_token(escrow, token, seller, buyer, deployer):
    listing_id = new_listing(escrow, seller, 1_000 * PRICE, token.address)
    token.approve(escrow, 1_020 * PRICE, sender=buyer)
    order_id = new_order(escrow, listing_id, buyer, value=0)
    escrow.ship(order_id, TRACKING, sender=seller)
    deposit = escrow.dispute_deposit(order_id)
    assert deposit == 20 * PRICE  # 2 %, above the 10 SEC floor
    with ape.reverts("escrow: ETH sent to a token listing"):
        escrow.dispute(order_id, b"", value=1, sender=buyer)
    escrow.dispute(order_id, b"", sender=buyer)
    assert token.balanceOf(escrow) == 1_020 * PRICE
    arbiter_before = token.balanceOf(deployer)
    escrow.rule(order_id, 2, sender=deployer)
    # The arbiter's fee is pushed like every payout (credited only when refused).
    assert token.balanceOf(deployer) == arbiter_before + 10 * PRICE
    assert escrow.owed(deployer, token) == 0 and token.balanceOf(escrow) == 0


# ------------------------------------------------------------------ dispute deposits
# `dispute` is the other entry point that pulls tokens: each odd token there too.

DEPOSIT = PRICE * 200 // 10_000  # 2 % of the price; odd tokens have no floor


def shipped_order(escrow, tok, deployer, seller, buyer):
    """A shipped order of a PRICE listing in `tok`; the buyer holds and approved the deposit."""
    tok.mint(buyer, PRICE + DEPOSIT, sender=deployer)
    listing_id = new_listing(escrow, seller, PRICE, tok.address)
    tok.approve(escrow, PRICE + DEPOSIT, sender=buyer)
    order_id = new_order(escrow, listing_id, buyer, value=0)
    escrow.ship(order_id, TRACKING, sender=seller)
    return order_id


def test_dispute__no_return_token__deposit_pulled_and_ruling_paid(
    project, escrow, deployer, seller, buyer, allow
):
    tok = allow(project.NoReturnToken.deploy(sender=deployer))
    order_id = shipped_order(escrow, tok, deployer, seller, buyer)
    assert escrow.dispute_deposit(order_id) == DEPOSIT
    escrow.dispute(order_id, b"", sender=buyer)
    assert tok.balanceOf(escrow) == PRICE + DEPOSIT and tok.balanceOf(buyer) == 0
    assert escrow.get_order(order_id).dispute_deposit == DEPOSIT
    escrow.rule(order_id, 2, sender=deployer)  # for the seller: the deposit is forfeited
    assert tok.balanceOf(deployer) == DEPOSIT // 2  # the arbiter's fee
    assert tok.balanceOf(seller) == PRICE + DEPOSIT - DEPOSIT // 2
    assert tok.balanceOf(escrow) == 0


def test_dispute__false_token__refused_then_passes_once_it_pays(
    project, escrow, deployer, seller, buyer, allow
):
    tok = allow(project.FalseToken.deploy(sender=deployer))
    order_id = shipped_order(escrow, tok, deployer, seller, buyer)
    tok.set_failing(True, sender=deployer)
    with ape.reverts("escrow: token transfer failed"):
        escrow.dispute(order_id, b"", sender=buyer)
    assert escrow.order_status(order_id) == 2 and tok.balanceOf(buyer) == DEPOSIT
    tok.set_failing(False, sender=deployer)
    escrow.dispute(order_id, b"", sender=buyer)
    assert escrow.order_status(order_id) == 5 and tok.balanceOf(escrow) == PRICE + DEPOSIT


def test_dispute__token_that_starts_taking_a_fee__refused(
    project, escrow, deployer, seller, buyer, allow
):
    tok = allow(project.FeeToken.deploy(sender=deployer))
    tok.set_fee(0, sender=deployer)
    order_id = shipped_order(escrow, tok, deployer, seller, buyer)
    tok.set_fee(100, sender=deployer)
    with ape.reverts("escrow: token fee not supported"):
        escrow.dispute(order_id, b"", sender=buyer)
    assert escrow.order_status(order_id) == 2 and tok.balanceOf(buyer) == DEPOSIT
    assert tok.balanceOf(escrow) == PRICE


def test_reverting_token__pulls_refused_payout_credited_then_withdrawn(
    project, escrow, deployer, seller, buyer, allow
):
    """A token that reverts (a paused or blocklisting token): the pulls fail with the
    escrow's reason, the payout is credited, and withdrawn once the token moves again."""
    tok = allow(project.FalseToken.deploy(sender=deployer))
    tok.mint(buyer, PRICE + DEPOSIT, sender=deployer)
    listing_id = new_listing(escrow, seller, PRICE, tok.address)
    tok.approve(escrow, PRICE + DEPOSIT, sender=buyer)
    tok.set_reverting(True, sender=deployer)
    with ape.reverts("escrow: token transfer failed"):
        escrow.buy(listing_id, 0, sender=buyer)
    tok.set_reverting(False, sender=deployer)
    order_id = new_order(escrow, listing_id, buyer, value=0)
    escrow.ship(order_id, TRACKING, sender=seller)
    tok.set_reverting(True, sender=deployer)
    with ape.reverts("escrow: token transfer failed"):
        escrow.dispute(order_id, b"", sender=buyer)
    escrow.confirm(order_id, sender=buyer)
    assert escrow.order_status(order_id) == 3 and escrow.owed(seller, tok) == PRICE
    with ape.reverts("escrow: token transfer failed"):
        escrow.withdraw(tok, sender=seller)
    tok.set_reverting(False, sender=deployer)
    escrow.withdraw(tok, sender=seller)
    assert tok.balanceOf(seller) == PRICE and escrow.owed(seller, tok) == 0
    with ape.reverts("escrow: nothing owed"):
        escrow.withdraw(tok, sender=seller)
