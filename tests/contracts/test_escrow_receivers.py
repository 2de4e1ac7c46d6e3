"""Payouts to receivers that refuse, burn gas, or re-enter: the order still settles, the
money is credited for `withdraw`, and no re-entry gets through."""

import ape
import pytest

from tests.fixtures.suite import ETH, NO_REASON, PRICE, new_listing, new_order


@pytest.fixture(autouse=True)
def _arbiter(governance_arbiter):
    return governance_arbiter


ACCEPT, REVERT, BURN_GAS, REENTER = 0, 1, 2, 3
TRACKING = b"\x02" * 32


@pytest.fixture
def hostile_seller(project, escrow, deployer):
    return project.HostileReceiver.deploy(escrow, sender=deployer)


@pytest.fixture
def hostile_order(escrow, hostile_seller, buyer):
    tx = hostile_seller.create_listing(PRICE, sender=buyer)
    listing_id = tx.events.filter(escrow.ListingCreated)[0].listing_id
    order_id = new_order(escrow, listing_id, buyer)
    hostile_seller.ship(order_id, sender=buyer)
    return order_id


@pytest.mark.parametrize("mode", [REVERT, BURN_GAS, REENTER])
def test_confirm__refusing_seller__payout_credited(
    escrow, hostile_seller, hostile_order, buyer, mode
):
    hostile_seller.set_mode(mode, hostile_order, sender=buyer)
    before = escrow.balance
    tx = escrow.confirm(hostile_order, sender=buyer)
    assert escrow.order_status(hostile_order) == 3
    assert escrow.owed(hostile_seller, ETH) == PRICE
    assert escrow.balance == before  # nothing left the escrow
    assert hostile_seller.received() == 0 and not hostile_seller.reentered()
    assert tx.events.filter(escrow.PaymentCredited) == [
        escrow.PaymentCredited(account=hostile_seller, token=ETH, amount=PRICE)
    ]


def test_confirm__gas_burning_seller__costs_the_buyer_at_most_the_stipend(
    escrow, hostile_seller, hostile_order, buyer
):
    from ape import chain

    snapshot = chain.snapshot()
    hostile_seller.set_mode(REVERT, hostile_order, sender=buyer)
    refusing = escrow.confirm(hostile_order, sender=buyer).gas_used
    chain.restore(snapshot)
    hostile_seller.set_mode(BURN_GAS, hostile_order, sender=buyer)
    burning = escrow.confirm(hostile_order, sender=buyer).gas_used
    assert escrow.owed(hostile_seller, ETH) == PRICE
    assert 0 < burning - refusing <= 30_000  # payouts.PUSH_GAS


def test_confirm__accepting_contract_seller__paid_directly(
    escrow, hostile_seller, hostile_order, buyer
):
    escrow.confirm(hostile_order, sender=buyer)
    assert hostile_seller.received() == PRICE
    assert escrow.owed(hostile_seller, ETH) == 0


def test_withdraw__reentrant_receiver__cannot_withdraw_twice(
    escrow, hostile_seller, hostile_order, buyer
):
    hostile_seller.set_mode(REVERT, hostile_order, sender=buyer)
    escrow.confirm(hostile_order, sender=buyer)
    # Now it re-enters on receipt of the withdrawal: the lock makes the whole withdraw revert.
    hostile_seller.set_mode(REENTER, hostile_order, sender=buyer)
    # The lock reverts without data, which bubbles up unchanged (Ape: "Transaction
    # failed."): not "escrow: nothing owed", which a second payout would hit instead.
    with ape.reverts(NO_REASON):
        hostile_seller.withdraw(sender=buyer)
    assert not hostile_seller.reentered()
    assert escrow.owed(hostile_seller, ETH) == PRICE
    # Accepting again, it withdraws exactly once.
    hostile_seller.set_mode(ACCEPT, 0, sender=buyer)
    hostile_seller.withdraw(sender=buyer)
    assert hostile_seller.received() == PRICE
    assert escrow.owed(hostile_seller, ETH) == 0
    with ape.reverts("escrow: nothing owed"):
        hostile_seller.withdraw(sender=buyer)


@pytest.mark.parametrize("mode", [REVERT, BURN_GAS, REENTER])
def test_cancel__refusing_buyer__refund_credited(project, escrow, deployer, seller, mode):
    hostile_buyer = project.HostileReceiver.deploy(escrow, sender=deployer)
    listing_id = new_listing(escrow, seller)
    tx = hostile_buyer.buy(listing_id, value=PRICE, sender=deployer)
    order_id = tx.events.filter(escrow.OrderPaid)[0].order_id
    hostile_buyer.set_mode(mode, order_id, sender=deployer)
    escrow.cancel(order_id, sender=seller)
    assert escrow.order_status(order_id) == 4
    assert escrow.owed(hostile_buyer, ETH) == PRICE
    assert escrow.balance == PRICE


@pytest.mark.parametrize("ruling", [0, 1])
def test_rule__refusing_buyer__refund_credited(project, escrow, deployer, seller, ruling):
    hostile_buyer = project.HostileReceiver.deploy(escrow, sender=deployer)
    listing_id = new_listing(escrow, seller)
    tx = hostile_buyer.buy(listing_id, value=PRICE, sender=deployer)
    order_id = tx.events.filter(escrow.OrderPaid)[0].order_id
    escrow.ship(order_id, TRACKING, sender=seller)
    deposit = escrow.dispute_deposit(order_id)
    hostile_buyer.dispute(order_id, value=deposit, sender=deployer)
    hostile_buyer.set_mode(REVERT, order_id, sender=deployer)
    seller_before = seller.balance
    escrow.rule(order_id, ruling, sender=deployer)
    refund = PRICE if ruling == 1 else PRICE // 2
    fee = deposit // 2
    assert escrow.owed(hostile_buyer, ETH) == refund + deposit - fee
    assert seller.balance == seller_before + PRICE - refund
    # Everything still held is owed to someone: the buyer's credit and the arbiter's fee.
    assert escrow.balance == escrow.owed(hostile_buyer, ETH) + escrow.owed(deployer, ETH)
