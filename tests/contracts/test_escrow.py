"""Escrow: each public function, its success case beside its failure cases, exact revert
strings and whole event lists; the half-open deadline boundaries at -1/0/+1 s."""

import ape
import pytest
from ape import chain

from tests.fixtures.suite import (
    DAY,
    ETH,
    NO_REASON,
    PRICE,
    WEEK,
    at,
    deadline_of,
    new_listing,
    new_order,
    race,
    ship_by_of,
)


@pytest.fixture(autouse=True)
def _arbiter(governance_arbiter):
    return governance_arbiter


TRACKING = b"\x02" * 32
EVIDENCE = b"\x03" * 32
DEPOSIT = PRICE * 200 // 10_000


def test_create_listing__defaults__one_listing_with_resolved_terms(escrow, seller):
    tx = escrow.create_listing(PRICE, ETH, 0, 0, b"\x01" * 32, sender=seller)
    assert tx.events == [
        escrow.ListingCreated(
            listing_id=1,
            seller=seller,
            token=ETH,
            price=PRICE,
            auto_complete=WEEK,
            ship_window=3 * DAY,
            metadata=b"\x01" * 32,
        )
    ]
    listing = escrow.get_listing(1)
    assert (listing.seller, listing.price, listing.token) == (seller.address, PRICE, ETH)
    assert (listing.auto_complete, listing.ship_window, listing.closed) == (WEEK, 3 * DAY, False)
    assert escrow.listing_count() == 1


def test_create_listing__sec_token_and_custom_windows__stored(escrow, seller, token):
    listing_id = new_listing(escrow, seller, 5 * PRICE, token.address, 2 * DAY, DAY)
    listing = escrow.get_listing(listing_id)
    assert (listing.token, listing.auto_complete, listing.ship_window) == (
        token.address,
        2 * DAY,
        DAY,
    )


@pytest.mark.parametrize(
    "price,auto_complete,ship_window,reason",
    [
        (0, 0, 0, "escrow: price out of range"),
        (2**88, 0, 0, "escrow: price out of range"),
        (PRICE, 3599, 0, "escrow: auto-complete out of range"),
        (PRICE, 90 * DAY + 1, 0, "escrow: auto-complete out of range"),
        (PRICE, 0, 3599, "escrow: ship window out of range"),
        (PRICE, 0, 60 * DAY + 1, "escrow: ship window out of range"),
    ],
)
def test_create_listing__bad_terms__reverts(
    escrow, seller, price, auto_complete, ship_window, reason
):
    with ape.reverts(reason):
        escrow.create_listing(price, ETH, auto_complete, ship_window, b"", sender=seller)


def test_create_listing__token_not_allowed__reverts(escrow, seller, stranger):
    with ape.reverts("escrow: token not allowed"):
        escrow.create_listing(PRICE, stranger.address, 0, 0, b"", sender=seller)


def test_close_listing__by_seller__refuses_new_buys(escrow, listing, seller, buyer):
    tx = escrow.close_listing(listing, sender=seller)
    assert tx.events == [escrow.ListingClosed(listing_id=listing, seller=seller)]
    assert escrow.get_listing(listing).closed
    with ape.reverts("escrow: listing closed"):
        escrow.buy(listing, 0, value=PRICE, sender=buyer)
    with ape.reverts("escrow: listing closed"):
        escrow.close_listing(listing, sender=seller)


def test_close_listing__open_order__still_completes(escrow, shipped, listing, seller, buyer):
    escrow.close_listing(listing, sender=seller)
    escrow.confirm(shipped, sender=buyer)
    assert escrow.order_status(shipped) == 3


def test_close_listing__not_seller_or_unknown__reverts(escrow, listing, stranger, seller):
    with ape.reverts("escrow: caller is not the seller"):
        escrow.close_listing(listing, sender=stranger)
    with ape.reverts("escrow: unknown listing"):
        escrow.close_listing(99, sender=seller)


def test_buy__exact_eth__order_paid(escrow, listing, buyer, seller):
    before = escrow.balance
    tx = escrow.buy(listing, 0, value=PRICE, sender=buyer)
    ship_by = chain.blocks.head.timestamp + 3 * DAY
    assert tx.events == [
        escrow.OrderPaid(
            order_id=1, listing_id=listing, buyer=buyer, price=PRICE, share_id=0, ship_by=ship_by
        )
    ]
    order = escrow.get_order(1)
    assert (order.buyer, order.seller, order.listing_id, order.status) == (
        buyer.address,
        seller.address,
        listing,
        1,
    )
    assert order.ship_by == ship_by and order.deadline == 0
    assert escrow.balance == before + PRICE
    assert escrow.order_status(1) == 1


@pytest.mark.parametrize("value", [PRICE - 1, PRICE + 1, 0])
def test_buy__wrong_amount__reverts(escrow, listing, buyer, value):
    with ape.reverts("escrow: wrong payment amount"):
        escrow.buy(listing, 0, value=value, sender=buyer)


def test_buy__own_listing_or_unknown__reverts(escrow, listing, seller, buyer):
    with ape.reverts("escrow: seller cannot buy own listing"):
        escrow.buy(listing, 0, value=PRICE, sender=seller)
    with ape.reverts("escrow: unknown listing"):
        escrow.buy(42, 0, value=PRICE, sender=buyer)


def test_buy__share_without_share_rewards__reverts(escrow, listing, buyer, deployer):
    with ape.reverts("share: unknown share"):
        escrow.buy(listing, 7, value=PRICE, sender=buyer)
    escrow.set_share_rewards(ETH, sender=deployer)
    with ape.reverts("escrow: shares are not enabled"):
        escrow.buy(listing, 7, value=PRICE, sender=buyer)


def test_buy__eth_to_token_listing__reverts(escrow, seller, buyer, token):
    listing_id = new_listing(escrow, seller, PRICE, token.address)
    token.approve(escrow, PRICE, sender=buyer)
    with ape.reverts("escrow: ETH sent to a token listing"):
        escrow.buy(listing_id, 0, value=1, sender=buyer)


def test_buy__sec_listing__pulls_exact_amount(escrow, seller, buyer, token):
    listing_id = new_listing(escrow, seller, 158 * PRICE, token.address)
    token.approve(escrow, 158 * PRICE, sender=buyer)
    before = token.balanceOf(buyer)
    order_id = new_order(escrow, listing_id, buyer, value=0)
    assert token.balanceOf(buyer) == before - 158 * PRICE
    assert token.balanceOf(escrow) == 158 * PRICE
    escrow.ship(order_id, TRACKING, sender=seller)
    seller_before = token.balanceOf(seller)
    escrow.confirm(order_id, sender=buyer)
    assert token.balanceOf(seller) == seller_before + 158 * PRICE
    assert token.balanceOf(escrow) == 0


def test_buy__sec_listing_without_allowance__reverts(escrow, seller, buyer, token):
    listing_id = new_listing(escrow, seller, PRICE, token.address)
    with ape.reverts("escrow: token transfer failed"):
        escrow.buy(listing_id, 0, sender=buyer)


def test_ship__by_seller__starts_auto_complete_clock(escrow, paid, seller):
    tx = escrow.ship(paid, TRACKING, sender=seller)
    deadline = chain.blocks.head.timestamp + WEEK
    assert tx.events == [escrow.OrderShipped(order_id=paid, tracking=TRACKING, deadline=deadline)]
    order = escrow.get_order(paid)
    assert (order.status, order.deadline, order.ship_by) == (2, deadline, 0)


def test_ship__not_seller_or_not_paid__reverts(escrow, paid, seller, buyer):
    with ape.reverts("escrow: caller is not the seller"):
        escrow.ship(paid, TRACKING, sender=buyer)
    escrow.ship(paid, TRACKING, sender=seller)
    with ape.reverts("escrow: order is not paid"):
        escrow.ship(paid, TRACKING, sender=seller)
    with ape.reverts("escrow: order is not paid"):
        escrow.ship(99, TRACKING, sender=seller)


@pytest.mark.parametrize("offset,ship_wins", [(-1, True), (0, False), (1, False)])
def test_ship_vs_buyer_cancel__at_ship_by_offset__exactly_one_wins(
    escrow, paid, seller, buyer, offset, ship_wins
):
    """Half-open: ship needs now < ship_by, the buyer's cancel now >= ship_by."""
    when = ship_by_of(escrow, paid) + offset
    ship = lambda: escrow.ship(paid, TRACKING, sender=seller)  # noqa: E731
    cancel = lambda: escrow.cancel(paid, sender=buyer)  # noqa: E731
    if ship_wins:
        race(when, cancel, "escrow: ship window still open", ship)
        assert escrow.order_status(paid) == 2
    else:
        race(when, ship, "escrow: ship window has passed", cancel)
        assert escrow.order_status(paid) == 4


def test_confirm__by_buyer__seller_paid_and_trade_recorded(escrow, trust, shipped, seller, buyer):
    seller_before = seller.balance
    tx = escrow.confirm(shipped, sender=buyer)
    assert seller.balance == seller_before + PRICE
    assert escrow.order_status(shipped) == 3
    assert tx.events == [
        escrow.OrderCompleted(order_id=shipped, seller=seller, buyer=buyer, price=PRICE),
        trust.TrustChanged(account=seller, old=0, new=1, reason=0),
        trust.TrustChanged(account=buyer, old=0, new=1, reason=0),
    ]
    count, last = trust.relation(seller, buyer)
    assert (count, last) == (1, chain.blocks.head.timestamp)
    assert trust.relation(buyer, seller) == (count, last)


def test_confirm__before_shipping__accepted(escrow, paid, seller, buyer):
    escrow.confirm(paid, sender=buyer)
    assert escrow.order_status(paid) == 3


def test_confirm__not_buyer_or_twice__reverts(escrow, shipped, seller, buyer):
    with ape.reverts("escrow: caller is not the buyer"):
        escrow.confirm(shipped, sender=seller)
    escrow.confirm(shipped, sender=buyer)
    with ape.reverts("escrow: order is not open"):
        escrow.confirm(shipped, sender=buyer)


@pytest.mark.parametrize("offset,finalize_wins", [(-1, False), (0, True), (1, True)])
def test_finalize_vs_dispute__at_deadline_offset__exactly_one_wins(
    escrow, shipped, buyer, stranger, offset, finalize_wins
):
    """Half-open: dispute needs now < deadline, finalize now >= deadline."""
    when = deadline_of(escrow, shipped) + offset
    finalize = lambda: escrow.finalize(shipped, sender=stranger)  # noqa: E731
    dispute = lambda: escrow.dispute(shipped, EVIDENCE, value=DEPOSIT, sender=buyer)  # noqa: E731
    if finalize_wins:
        race(when, dispute, "escrow: dispute window has passed", finalize)
        assert escrow.order_status(shipped) == 3
    else:
        race(when, finalize, "escrow: auto-complete time not reached", dispute)
        assert escrow.order_status(shipped) == 5


def test_finalize__unshipped__reverts(escrow, paid, stranger):
    with ape.reverts("escrow: order is not shipped"):
        escrow.finalize(paid, sender=stranger)


def test_cancel__seller_before_shipping__refund_and_failure(escrow, trust, paid, seller, buyer):
    buyer_before = buyer.balance
    tx = escrow.cancel(paid, sender=seller)
    assert buyer.balance == buyer_before + PRICE
    assert escrow.order_status(paid) == 4
    assert tx.events == [
        escrow.OrderCancelled(order_id=paid, by=seller, missed_ship_window=False, refund=PRICE),
        trust.FailureRecorded(account=seller, failures=1, reason=1),
    ]
    # A NEW seller's failure is counted but never lowers (or disables) the account.
    assert (trust.trust_of(seller), trust.status_of(seller), trust.failures_of(seller)) == (0, 0, 1)


def test_cancel__missed_ship_window_by_anyone__refund_to_buyer_and_penalty(
    escrow, trust, listing, seller, buyer, buyer2, stranger
):
    # Make the seller ACTIVE with trust 3 first (three counterparties: a pair raises the
    # index once per relation period).
    for who in (buyer, buyer2, stranger):
        order_id = new_order(escrow, listing, who)
        escrow.confirm(order_id, sender=who)
    assert trust.trust_of(seller) == 3
    order_id = new_order(escrow, listing, buyer)
    at(ship_by_of(escrow, order_id))
    buyer_before = buyer.balance
    tx = escrow.cancel(order_id, sender=stranger)
    assert buyer.balance == buyer_before + PRICE
    assert tx.events == [
        escrow.OrderCancelled(
            order_id=order_id, by=stranger, missed_ship_window=True, refund=PRICE
        ),
        trust.FailureRecorded(account=seller, failures=1, reason=2),
        trust.TrustChanged(account=seller, old=3, new=1, reason=2),
    ]


def test_cancel__stranger_in_window_or_shipped__reverts(escrow, paid, seller, stranger):
    with ape.reverts("escrow: ship window still open"):
        escrow.cancel(paid, sender=stranger)
    escrow.ship(paid, TRACKING, sender=seller)
    with ape.reverts("escrow: order is not cancellable"):
        escrow.cancel(paid, sender=seller)


def test_dispute__with_deposit__disputed(escrow, shipped, buyer):
    assert escrow.dispute_deposit(shipped) == DEPOSIT
    tx = escrow.dispute(shipped, EVIDENCE, value=DEPOSIT, sender=buyer)
    timeout_at = chain.blocks.head.timestamp + 30 * DAY
    assert tx.events == [
        escrow.OrderDisputed(
            order_id=shipped, buyer=buyer, evidence=EVIDENCE, deposit=DEPOSIT, timeout_at=timeout_at
        )
    ]
    assert escrow.order_status(shipped) == 5
    assert escrow.dispute_deposit(shipped) == 0
    assert escrow.get_order(shipped).dispute_deposit == DEPOSIT


def test_dispute__wrong_caller_deposit_or_state__reverts(escrow, paid, seller, buyer):
    with ape.reverts("escrow: order is not shipped"):
        escrow.dispute(paid, EVIDENCE, value=DEPOSIT, sender=buyer)
    escrow.ship(paid, TRACKING, sender=seller)
    with ape.reverts("escrow: caller is not the buyer"):
        escrow.dispute(paid, EVIDENCE, value=DEPOSIT, sender=seller)
    with ape.reverts("escrow: wrong deposit amount"):
        escrow.dispute(paid, EVIDENCE, value=DEPOSIT - 1, sender=buyer)
    escrow.dispute(paid, EVIDENCE, value=DEPOSIT, sender=buyer)
    with ape.reverts("escrow: order is not shipped"):
        escrow.dispute(paid, EVIDENCE, value=DEPOSIT, sender=buyer)
    with ape.reverts("escrow: order is not open"):
        escrow.confirm(paid, sender=buyer)


@pytest.fixture
def disputed(escrow, shipped, buyer):
    escrow.dispute(shipped, EVIDENCE, value=DEPOSIT, sender=buyer)
    return shipped


def test_rule__buyer_right__refund_and_seller_penalized(
    escrow, trust, disputed, deployer, seller, buyer
):
    buyer_before, seller_before, arbiter_before = buyer.balance, seller.balance, deployer.balance
    fee = DEPOSIT // 2
    tx = escrow.rule(disputed, 1, sender=deployer)
    assert buyer.balance == buyer_before + PRICE + DEPOSIT - fee
    assert seller.balance == seller_before
    # The arbiter's fee is pushed like every payout (credited only when refused).
    assert deployer.balance == arbiter_before + fee - tx.total_fees_paid
    assert escrow.owed(deployer, ETH) == 0
    assert escrow.order_status(disputed) == 6
    assert tx.events == [
        escrow.OrderRuled(
            order_id=disputed, ruling=1, to_buyer=PRICE + DEPOSIT - fee, to_seller=0, judge_fee=fee
        ),
        trust.AccountDisabled(account=seller),
        escrow.DisabledSynced(account=seller),
    ]
    # A NEW seller judged for fake goods is at 0: disabled forever, refused a new listing.
    assert trust.is_disabled(seller) and escrow.disabled(seller)
    with ape.reverts("escrow: seller is disabled"):
        escrow.create_listing(PRICE, ETH, 0, 0, b"", sender=seller)


def test_rule__seller_right__seller_paid_with_deposit_and_buyer_penalized(
    escrow, trust, disputed, deployer, seller, buyer
):
    seller_before = seller.balance
    fee = DEPOSIT // 2
    tx = escrow.rule(disputed, 2, sender=deployer)
    assert seller.balance == seller_before + PRICE + DEPOSIT - fee
    assert trust.is_disabled(buyer)  # a NEW buyer with a malicious complaint reaches 0
    assert trust.trust_of(seller) == 1  # the trade counts for the seller
    ruled = tx.events.filter(escrow.OrderRuled)
    assert ruled == [
        escrow.OrderRuled(
            order_id=disputed, ruling=2, to_buyer=0, to_seller=PRICE + DEPOSIT - fee, judge_fee=fee
        )
    ]


def test_rule__no_ruling__split_and_nobody_penalized(
    escrow, trust, disputed, deployer, seller, buyer
):
    buyer_before, seller_before = buyer.balance, seller.balance
    fee = DEPOSIT // 2
    escrow.rule(disputed, 0, sender=deployer)
    assert buyer.balance == buyer_before + PRICE // 2 + DEPOSIT - fee
    assert seller.balance == seller_before + PRICE - PRICE // 2
    assert trust.status_of(seller) == 0 and trust.status_of(buyer) == 0


def test_rule__twice_wrong_caller_or_bad_ruling__reverts(escrow, disputed, deployer, stranger):
    with ape.reverts("escrow: caller is not the arbiter"):
        escrow.rule(disputed, 1, sender=stranger)
    with ape.reverts("escrow: invalid ruling"):
        escrow.rule(disputed, 3, sender=deployer)
    escrow.rule(disputed, 1, sender=deployer)
    with ape.reverts("escrow: order is not disputed"):
        escrow.rule(disputed, 1, sender=deployer)
    with ape.reverts("escrow: order is not shipped"):
        escrow.finalize(disputed, sender=stranger)


@pytest.mark.parametrize("offset,ok", [(-1, False), (0, True), (1, True)])
def test_finalize__dispute_timeout__ruling_zero_and_full_deposit_back(
    escrow, disputed, buyer, seller, stranger, deployer, offset, ok
):
    """A dispute nobody rules on never holds funds forever."""
    timeout_at = escrow.get_order(disputed).deadline
    at(timeout_at + offset)
    if not ok:
        with ape.reverts("escrow: dispute still open"):
            escrow.finalize(disputed, sender=stranger)
        return
    buyer_before = buyer.balance
    tx = escrow.finalize(disputed, sender=stranger)
    assert buyer.balance == buyer_before + PRICE // 2 + DEPOSIT
    assert tx.events.filter(escrow.OrderRuled) == [
        escrow.OrderRuled(
            order_id=disputed,
            ruling=0,
            to_buyer=PRICE // 2 + DEPOSIT,
            to_seller=PRICE - PRICE // 2,
            judge_fee=0,
        )
    ]
    assert escrow.owed(deployer, ETH) == 0
    with ape.reverts("escrow: caller is not the arbiter"):
        escrow.rule(disputed, 1, sender=stranger)
    with ape.reverts("escrow: order is not disputed"):
        escrow.rule(disputed, 1, sender=deployer)


def test_withdraw__owed__paid_once(project, escrow, deployer, seller, listing):
    # A buyer contract that refuses the refund is credited; it withdraws once.
    refuser = project.HostileReceiver.deploy(escrow, sender=deployer)
    tx = refuser.buy(listing, value=PRICE, sender=deployer)
    order_id = tx.events.filter(escrow.OrderPaid)[0].order_id
    refuser.set_mode(1, 0, sender=deployer)
    escrow.cancel(order_id, sender=seller)
    assert escrow.owed(refuser, ETH) == PRICE
    refuser.set_mode(0, 0, sender=deployer)
    before = refuser.balance
    tx = refuser.withdraw(sender=deployer)
    assert tx.events.filter(escrow.Withdrawn) == [
        escrow.Withdrawn(account=refuser, token=ETH, amount=PRICE)
    ]
    assert refuser.balance == before + PRICE
    with ape.reverts("escrow: nothing owed"):
        refuser.withdraw(sender=deployer)


def test_disabled_buyer__refused_everywhere(escrow, disputed, deployer, buyer, seller, listing):
    escrow.rule(disputed, 2, sender=deployer)
    with ape.reverts("escrow: buyer is disabled"):
        escrow.buy(listing, 0, value=PRICE, sender=buyer)
    with ape.reverts("escrow: seller is disabled"):
        escrow.create_listing(PRICE, ETH, 0, 0, b"", sender=buyer)


def test_disabled_seller__old_listing_refused_to_buyers(
    escrow, deployer, seller, buyer, buyer2, listing
):
    order_id = new_order(escrow, listing, buyer)
    escrow.ship(order_id, TRACKING, sender=seller)
    escrow.dispute(order_id, EVIDENCE, value=DEPOSIT, sender=buyer)
    escrow.rule(order_id, 1, sender=deployer)
    with ape.reverts("escrow: seller is disabled"):
        escrow.buy(listing, 0, value=PRICE, sender=buyer2)


def test_sync_disabled__mirrors_other_writer(escrow, trust, deployer, stranger, seller):
    with ape.reverts("escrow: account is not disabled"):
        escrow.sync_disabled(seller, sender=stranger)
    trust.grantRole(trust.WRITER_ROLE(), deployer, sender=deployer)
    trust.penalize(seller, 50, 3, sender=deployer)
    assert trust.is_disabled(seller) and not escrow.disabled(seller)
    tx = escrow.sync_disabled(seller, sender=stranger)
    assert tx.events == [escrow.DisabledSynced(account=seller)]
    with ape.reverts("escrow: seller is disabled"):
        escrow.create_listing(PRICE, ETH, 0, 0, b"", sender=seller)
    with ape.reverts("escrow: already synced"):
        escrow.sync_disabled(seller, sender=stranger)


def test_governance__owner_only(escrow, deployer, stranger, token):
    with ape.reverts("ownable: caller is not the owner"):
        escrow.set_arbiter(stranger, sender=stranger)
    with ape.reverts("ownable: caller is not the owner"):
        escrow.set_token_allowed(token, False, sender=stranger)
    with ape.reverts("ownable: caller is not the owner"):
        escrow.set_share_rewards(stranger, sender=stranger)
    with ape.reverts("escrow: token is not a contract"):
        escrow.set_token_allowed(stranger, True, sender=deployer)
    tx = escrow.set_arbiter(stranger, sender=deployer)
    assert tx.events == [escrow.ArbiterChanged(old=deployer, new=stranger)]


def test_direct_eth_transfer__refused(escrow, stranger):
    balance = escrow.balance
    with ape.reverts(NO_REASON):  # no fallback: reverts without data
        stranger.transfer(escrow, 1)
    assert escrow.balance == balance


def test_dispute_deposit__view_at_the_deadline__agrees_with_dispute(escrow, shipped, buyer):
    """The view at a second is what `dispute` at that second needs: the deposit one second
    before the deadline, 0 (not disputable) at it."""
    deadline = deadline_of(escrow, shipped)
    for when, deposit in ((deadline - 1, DEPOSIT), (deadline, 0)):
        snapshot = chain.snapshot()
        chain.mine(timestamp=when)  # views run at the head block's time
        assert escrow.dispute_deposit(shipped) == deposit
        chain.restore(snapshot)
        snapshot = chain.snapshot()
        at(when)
        if deposit:
            escrow.dispute(shipped, EVIDENCE, value=deposit, sender=buyer)
            assert escrow.order_status(shipped) == 5
        else:
            with ape.reverts("escrow: dispute window has passed"):
                escrow.dispute(shipped, EVIDENCE, value=DEPOSIT, sender=buyer)
        chain.restore(snapshot)


def test_rule__no_ruling_on_an_odd_price__the_odd_wei_to_the_seller(
    escrow, deployer, seller, buyer
):
    price = PRICE + 1  # the deposit is still 2 % of PRICE (rounded down)
    order_id = new_order(escrow, new_listing(escrow, seller, price=price), buyer, value=price)
    escrow.ship(order_id, TRACKING, sender=seller)
    escrow.dispute(order_id, EVIDENCE, value=DEPOSIT, sender=buyer)
    buyer_before, seller_before = buyer.balance, seller.balance
    tx = escrow.rule(order_id, 0, sender=deployer)
    fee = DEPOSIT // 2
    assert tx.events.filter(escrow.OrderRuled) == [
        escrow.OrderRuled(
            order_id=order_id,
            ruling=0,
            to_buyer=PRICE // 2 + DEPOSIT - fee,
            to_seller=PRICE // 2 + 1,
            judge_fee=fee,
        )
    ]
    assert buyer.balance == buyer_before + PRICE // 2 + DEPOSIT - fee
    assert seller.balance == seller_before + PRICE // 2 + 1
