"""Signed listings (Escrow.buy_signed): a seller posts a product with no transaction by
signing an EIP-712 Listing; the first purchase registers it. Cancel, expiry and quantity
are enforced on chain; the signature binds every term, the chain and the Escrow; the order
then behaves exactly like one of an on-chain listing."""

import ape
import pytest
from ape import chain

from sec_offchain.contracts.client import hash_listing
from tests.fixtures.signed import as_tuple, high_s, key_of, make_listing, sign_listing
from tests.fixtures.suite import ETH, PRICE, at

TRACKING = b"\x02" * 32
SEC = 10**18
DAY = 86_400
DEPOSIT = PRICE * 200 // 10_000


@pytest.fixture(autouse=True)
def _arbiter(governance_arbiter):
    return governance_arbiter


@pytest.fixture
def posted(escrow, seller):
    """A signed 3-unit ETH listing and its signature (nothing on chain yet)."""
    listing = make_listing(seller)
    return listing, sign_listing(key_of(seller), listing, escrow)


def buy(escrow, listing, signature, buyer, share_id=0, value=PRICE):
    tx = escrow.buy_signed(as_tuple(listing), signature, share_id, value=value, sender=buyer)
    return tx, tx.events.filter(escrow.OrderPaid)[0].order_id


@pytest.fixture(scope="module")
def other_escrow(project, deployment, token, deployer):
    """A second Escrow on the same chain (same terms), for cross-contract replay."""
    return project.Escrow.deploy(
        deployment.address_of("TrustIndex"),
        token,
        deployer,
        3 * DAY,
        200,
        10_000,
        5_000,
        30 * DAY,
        [1, 2, 20, 10],
        10**15,
        10 * SEC,
        deployment.address_of("Forwarder"),
        sender=deployer,
    )


def test_listing_digest__matches_eip712_of_the_domain(escrow, seller):
    listing = make_listing(seller)
    assert escrow.listing_digest(as_tuple(listing)) == hash_listing(
        listing, chain.chain_id, str(escrow.address)
    )
    domain = escrow.eip712Domain()
    assert (domain[1], domain[2], domain[3], domain[4]) == (
        "SEC Escrow",
        "1",
        chain.chain_id,
        escrow.address,
    )


def test_buy_signed__first_purchase__registers_listing_and_logs_every_field(
    escrow, posted, seller, buyer
):
    listing, signature = posted
    digest = escrow.listing_digest(as_tuple(listing))
    listing_id = escrow.listing_count() + 1
    tx, order_id = buy(escrow, listing, signature, buyer)
    assert tx.events.filter(escrow.SignedListingRegistered) == [
        escrow.SignedListingRegistered(
            digest=digest,
            listing_id=listing_id,
            seller=seller,
            price=PRICE,
            token=ETH,
            auto_complete=7 * DAY,
            ship_window=3 * DAY,
            metadata=listing["metadata"],
            quantity=3,
            expiry=listing["expiry"],
            salt=7,
        )
    ]
    now = chain.blocks.head.timestamp
    assert tx.events.filter(escrow.OrderPaid) == [
        escrow.OrderPaid(
            order_id=order_id,
            listing_id=listing_id,
            buyer=buyer,
            price=PRICE,
            share_id=0,
            ship_by=now + 3 * DAY,
        )
    ]
    assert escrow.sold_count(digest) == 1
    assert escrow.signed_listing(digest) == (listing_id, 1, False)
    order = escrow.get_order(order_id)
    assert (order.buyer, order.seller, order.listing_id, order.price, order.status) == (
        buyer,
        seller,
        listing_id,
        PRICE,
        1,
    )
    assert escrow.get_listing(listing_id) == (seller, PRICE, ETH, 7 * DAY, 3 * DAY, False)


def test_buy_signed__later_purchase__same_listing_no_signature_needed(
    escrow, posted, buyer, buyer2
):
    listing, signature = posted
    _, first = buy(escrow, listing, signature, buyer)
    tx, second = buy(escrow, listing, b"", buyer2)
    assert tx.events.filter(escrow.SignedListingRegistered) == []
    assert escrow.get_order(second).listing_id == escrow.get_order(first).listing_id
    assert escrow.sold_count(escrow.listing_digest(as_tuple(listing))) == 2


def test_signed_order__ship_confirm__seller_paid_and_trade_recorded(
    escrow, trust, posted, seller, buyer
):
    listing, signature = posted
    _, order_id = buy(escrow, listing, signature, buyer)
    escrow.ship(order_id, TRACKING, sender=seller)
    before = seller.balance
    tx = escrow.confirm(order_id, sender=buyer)
    assert seller.balance == before + PRICE
    assert tx.events.filter(escrow.OrderCompleted) == [
        escrow.OrderCompleted(order_id=order_id, seller=seller, buyer=buyer, price=PRICE)
    ]
    assert trust.relation(seller, buyer)[0] == 1
    assert (trust.trust_of(seller), trust.trust_of(buyer)) == (1, 1)


def test_signed_order__dispute_and_ruling__like_an_onchain_order(
    escrow, trust, posted, seller, buyer, deployer
):
    listing, signature = posted
    _, order_id = buy(escrow, listing, signature, buyer)
    escrow.ship(order_id, TRACKING, sender=seller)
    assert escrow.dispute_deposit(order_id) == DEPOSIT
    escrow.dispute(order_id, b"\x03" * 32, value=DEPOSIT, sender=buyer)
    tx = escrow.rule(order_id, 1, sender=deployer)
    fee = DEPOSIT * 5_000 // 10_000
    assert tx.events.filter(escrow.OrderRuled) == [
        escrow.OrderRuled(
            order_id=order_id, ruling=1, to_buyer=PRICE + DEPOSIT - fee, to_seller=0, judge_fee=fee
        )
    ]
    assert escrow.order_status(order_id) == 6


def test_signed_order__ship_window_missed__anyone_cancels_with_refund(
    escrow, posted, buyer, stranger
):
    listing, signature = posted
    _, order_id = buy(escrow, listing, signature, buyer)
    at(escrow.get_order(order_id).ship_by)
    before = buyer.balance
    tx = escrow.cancel(order_id, sender=stranger)
    assert tx.events.filter(escrow.OrderCancelled) == [
        escrow.OrderCancelled(order_id=order_id, by=stranger, missed_ship_window=True, refund=PRICE)
    ]
    assert buyer.balance == before + PRICE


def test_signed_listing__share__friend_buys_through_it_and_sharer_earns_commission(
    escrow, shares, posted, seller, buyer, buyer2
):
    listing, signature = posted
    _, first = buy(escrow, listing, signature, buyer)
    escrow.confirm(first, sender=buyer)
    share_id = shares.share(first, sender=buyer).events.filter(shares.Shared)[0].share_id
    _, second = buy(escrow, listing, b"", buyer2, share_id=share_id)
    assert escrow.get_order(second).share_id == share_id
    escrow.ship(second, TRACKING, sender=seller)
    seller_before, sharer_before = seller.balance, buyer.balance
    escrow.confirm(second, sender=buyer2)
    commission = PRICE * 200 // 10_000
    assert (seller.balance - seller_before, buyer.balance - sharer_before) == (
        PRICE - commission,
        commission,
    )


def test_share_of_another_listing__refused(escrow, shares, posted, seller, buyer, buyer2):
    listing, signature = posted
    _, first = buy(escrow, listing, signature, buyer)
    escrow.confirm(first, sender=buyer)
    share_id = shares.share(first, sender=buyer).events.filter(shares.Shared)[0].share_id
    other = make_listing(seller, salt=8)
    with ape.reverts("share: share is for another listing"):
        buy(escrow, other, sign_listing(key_of(seller), other, escrow), buyer2, share_id=share_id)


def test_replay__another_chain__refused(escrow, seller, buyer):
    listing = make_listing(seller)
    foreign = sign_listing(key_of(seller), listing, escrow, chain_id=chain.chain_id + 1)
    with ape.reverts("escrow: signer is not the seller"):
        buy(escrow, listing, foreign, buyer)


def test_replay__another_escrow__refused(escrow, other_escrow, seller, buyer):
    listing = make_listing(seller)
    for_other = sign_listing(key_of(seller), listing, other_escrow)
    assert other_escrow.listing_digest(as_tuple(listing)) != escrow.listing_digest(
        as_tuple(listing)
    )
    with ape.reverts("escrow: signer is not the seller"):
        buy(escrow, listing, for_other, buyer)
    buy(other_escrow, listing, for_other, buyer)  # where it was signed for, it works


@pytest.mark.parametrize(
    "field,value",
    [("price", PRICE - 1), ("token", "token"), ("ship_window", 4 * DAY), ("seller", "buyer")],
)
def test_tampered_after_signing__refused(escrow, token, posted, buyer, buyer2, field, value):
    listing, signature = posted
    forged = dict(listing)
    forged[field] = {"token": token.address, "buyer": buyer2.address}.get(value, value)
    with ape.reverts("escrow: signer is not the seller"):
        buy(escrow, forged, signature, buyer, value=0 if field == "token" else forged["price"])


def test_cancel__before_first_purchase__refused_for_good(escrow, posted, seller, buyer):
    listing, signature = posted
    digest = escrow.listing_digest(as_tuple(listing))
    tx = escrow.cancel_signed_listing(as_tuple(listing), sender=seller)
    assert tx.events == [escrow.SignedListingCancelled(digest=digest, seller=seller)]
    assert escrow.signed_listing(digest) == (0, 0, True)
    with ape.reverts("escrow: listing cancelled"):
        buy(escrow, listing, signature, buyer)
    with ape.reverts("escrow: listing cancelled"):
        escrow.cancel_signed_listing(as_tuple(listing), sender=seller)


def test_cancel__after_a_purchase__open_order_completes_new_ones_refused(
    escrow, posted, seller, buyer, buyer2
):
    listing, signature = posted
    _, order_id = buy(escrow, listing, signature, buyer)
    escrow.cancel_signed_listing(as_tuple(listing), sender=seller)
    with ape.reverts("escrow: listing cancelled"):
        buy(escrow, listing, signature, buyer2)
    escrow.ship(order_id, TRACKING, sender=seller)
    escrow.confirm(order_id, sender=buyer)
    assert escrow.order_status(order_id) == 3


def test_cancel__not_the_seller__reverts(escrow, posted, stranger):
    listing, _ = posted
    with ape.reverts("escrow: caller is not the seller"):
        escrow.cancel_signed_listing(as_tuple(listing), sender=stranger)


def test_expiry__last_second_buys_expiry_second_refused(escrow, posted, buyer):
    listing, signature = posted
    at(listing["expiry"] - 1)
    buy(escrow, listing, signature, buyer)
    at(listing["expiry"])
    with ape.reverts("escrow: listing expired"):
        buy(escrow, listing, b"", buyer)


def test_quantity__beyond__sold_out(escrow, seller, buyer, buyer2):
    listing = make_listing(seller, quantity=2)
    signature = sign_listing(key_of(seller), listing, escrow)
    buy(escrow, listing, signature, buyer)
    buy(escrow, listing, signature, buyer2)
    with ape.reverts("escrow: listing sold out"):
        buy(escrow, listing, signature, buyer)
    assert escrow.sold_count(escrow.listing_digest(as_tuple(listing))) == 2


def test_quantity_zero__unlimited__orders_not_counted(escrow, seller, buyer):
    listing = make_listing(seller, quantity=0)
    signature = sign_listing(key_of(seller), listing, escrow)
    orders = [buy(escrow, listing, signature, buyer)[1] for _ in range(4)]
    digest = escrow.listing_digest(as_tuple(listing))
    listing_id = escrow.get_order(orders[0]).listing_id
    # Nothing to count against: a purchase writes only its order.
    assert escrow.sold_count(digest) == 0
    assert escrow.signed_listing(digest) == (listing_id, 0, False)
    assert [escrow.get_order(o).listing_id for o in orders] == [listing_id] * 4
    escrow.cancel_signed_listing(as_tuple(listing), sender=seller)
    assert escrow.signed_listing(digest) == (listing_id, 0, True)
    with ape.reverts("escrow: listing cancelled"):
        buy(escrow, listing, b"", buyer)


def test_signature__high_s_form__refused(escrow, posted, buyer):
    listing, signature = posted
    with ape.reverts("escrow: signature s is not low"):
        buy(escrow, listing, high_s(signature), buyer)


@pytest.mark.parametrize(
    "mangle,reason",
    [
        (lambda sig: b"", "escrow: malformed signature"),
        (lambda sig: sig[:64], "escrow: malformed signature"),
        (lambda sig: sig[:64] + bytes([29]), "escrow: malformed signature"),
        (lambda sig: bytes(32) + sig[32:], "escrow: invalid signature"),
    ],
    ids=["empty", "64 bytes", "v 29", "r 0"],
)
def test_signature__malformed__refused(escrow, posted, buyer, mangle, reason):
    listing, signature = posted
    with ape.reverts(reason):
        buy(escrow, listing, mangle(signature), buyer)


def test_signature__by_another_key__refused(escrow, seller, buyer, stranger):
    listing = make_listing(seller)
    with ape.reverts("escrow: signer is not the seller"):
        buy(escrow, listing, sign_listing(key_of(stranger), listing, escrow), buyer)


def test_disabled_seller__signed_listing_refused(
    escrow, trust, posted, deployer, seller, buyer, buyer2, stranger
):
    listing, signature = posted
    buy(escrow, listing, signature, buyer)  # registered while the seller was fine
    trust.grantRole(trust.WRITER_ROLE(), deployer, sender=deployer)
    trust.penalize(seller, 100, 3, sender=deployer)
    escrow.sync_disabled(seller, sender=stranger)
    with ape.reverts("escrow: seller is disabled"):
        buy(escrow, listing, b"", buyer2)
    fresh = make_listing(seller, salt=99)
    with ape.reverts("escrow: seller is disabled"):
        buy(escrow, fresh, sign_listing(key_of(seller), fresh, escrow), buyer2)


def test_onchain_paths__refuse_a_registered_signed_listing(escrow, posted, seller, buyer):
    listing, signature = posted
    _, order_id = buy(escrow, listing, signature, buyer)
    listing_id = escrow.get_order(order_id).listing_id
    with ape.reverts("escrow: signed listing, use buy_signed"):
        escrow.buy(listing_id, 0, value=PRICE, sender=buyer)
    with ape.reverts("escrow: signed listing, use cancel_signed_listing"):
        escrow.close_listing(listing_id, sender=seller)


@pytest.mark.parametrize(
    "terms,reason",
    [
        ({"price": 0}, "escrow: price out of range"),
        ({"ship_window": 60}, "escrow: ship window out of range"),
        ({"auto_complete": 91 * DAY}, "escrow: auto-complete out of range"),
        ({"token": "stranger"}, "escrow: token not allowed"),
    ],
)
def test_bad_terms__refused_at_first_purchase(escrow, seller, buyer, stranger, terms, reason):
    if terms.get("token") == "stranger":
        terms = {"token": stranger.address}
    listing = make_listing(seller, **terms)
    value = listing["price"] if listing["token"] == ETH else 0
    with ape.reverts(reason):
        buy(escrow, listing, sign_listing(key_of(seller), listing, escrow), buyer, value=value)


def test_own_listing_and_wrong_amount__refused(escrow, posted, seller, buyer):
    listing, signature = posted
    with ape.reverts("escrow: seller cannot buy own listing"):
        buy(escrow, listing, signature, seller)
    with ape.reverts("escrow: wrong payment amount"):
        buy(escrow, listing, signature, buyer, value=PRICE - 1)


def test_sec_listing__pulls_exact_price(escrow, token, seller, buyer):
    listing = make_listing(seller, token=token.address, price=150 * SEC)
    token.approve(escrow, 150 * SEC, sender=buyer)
    before = token.balanceOf(escrow)
    buy(escrow, listing, sign_listing(key_of(seller), listing, escrow), buyer, value=0)
    assert token.balanceOf(escrow) == before + 150 * SEC


def test_appended_address__direct_call__does_not_change_sender(
    escrow, posted, seller, buyer, stranger
):
    """Anyone can append 20 bytes to a call; only the trusted forwarder's count."""
    listing, signature = posted
    _, order_id = buy(escrow, listing, signature, buyer)
    data = bytes(escrow.ship.encode_input(order_id, TRACKING)) + bytes.fromhex(seller.address[2:])
    with ape.reverts("escrow: caller is not the seller"):
        stranger.transfer(escrow.address, 0, data=data)
