"""ShareRewards: a completed buyer shares; a friend's purchase through the share within 72 h
earns the sharer SEC when it completes; nothing when it is cancelled or ruled for the buyer."""

import ape
import pytest
from ape import chain

from tests.fixtures.suite import ETH, PRICE, at, new_listing, new_order, race

HOURS_72 = 72 * 3600
REWARD_ETH = PRICE * 11_000 * 200 // 10_000  # 1 ETH at 11,000 SEC/ETH, 2 %
TRACKING = b"\x02" * 32


@pytest.fixture(autouse=True)
def _arbiter(governance_arbiter):
    return governance_arbiter


@pytest.fixture
def completed(escrow, listing, buyer):
    order_id = new_order(escrow, listing, buyer)
    escrow.confirm(order_id, sender=buyer)
    return order_id


@pytest.fixture
def share_id(shares, completed, buyer):
    tx = shares.share(completed, sender=buyer)
    return tx.events.filter(shares.Shared)[0].share_id


def test_share__buyer_of_completed_order__shared(shares, completed, buyer, listing):
    tx = shares.share(completed, sender=buyer)
    now = chain.blocks.head.timestamp
    assert tx.events == [
        shares.Shared(
            share_id=1,
            order_id=completed,
            sharer=buyer,
            listing_id=listing,
            expires_at=now + HOURS_72,
        )
    ]
    assert shares.share_info(1) == (buyer.address, listing, now)


def test_share__not_buyer_not_completed_or_twice__reverts(
    shares, escrow, listing, buyer, buyer2, seller
):
    open_order = new_order(escrow, listing, buyer2)
    with ape.reverts("share: order is not completed"):
        shares.share(open_order, sender=buyer2)
    escrow.confirm(open_order, sender=buyer2)
    with ape.reverts("share: caller is not the buyer"):
        shares.share(open_order, sender=seller)
    shares.share(open_order, sender=buyer2)
    with ape.reverts("share: order already shared"):
        shares.share(open_order, sender=buyer2)


@pytest.mark.parametrize("offset,ok", [(-1, True), (0, False), (1, False)])
def test_buy_through_share__72h_boundary(shares, escrow, listing, share_id, buyer2, offset, ok):
    expires = shares.share_info(share_id)[2] + HOURS_72
    buy = lambda: escrow.buy(listing, share_id, value=PRICE, sender=buyer2)  # noqa: E731
    if ok:
        at(expires + offset)
        order_id = buy().events.filter(escrow.OrderPaid)[0].order_id
        assert escrow.get_order(order_id).share_id == share_id
    else:
        at(expires + offset)
        with ape.reverts("share: share expired"):
            buy()


def test_buy_through_share__self_seller_or_other_listing__refused(
    shares, escrow, listing, share_id, buyer, seller, stranger
):
    with ape.reverts("share: sharer cannot buy through own share"):
        escrow.buy(listing, share_id, value=PRICE, sender=buyer)
    with ape.reverts("escrow: seller cannot buy own listing"):
        escrow.buy(listing, share_id, value=PRICE, sender=seller)
    other = new_listing(escrow, stranger)
    with ape.reverts("share: share is for another listing"):
        escrow.buy(other, share_id, value=PRICE, sender=seller)
    with ape.reverts("share: seller cannot refer"):
        shares.validate_share(share_id, listing, stranger, buyer)


def test_reward__completed_purchase__credited_and_claimed_once(
    shares, escrow, token, listing, share_id, buyer, buyer2
):
    order_id = new_order(escrow, listing, buyer2, share_id=share_id)
    pool = shares.pool()
    tx = escrow.confirm(order_id, sender=buyer2)
    assert tx.events.filter(shares.ShareRewarded) == [
        shares.ShareRewarded(
            share_id=share_id, order_id=order_id, sharer=buyer, reward=REWARD_ETH, paid=REWARD_ETH
        )
    ]
    assert shares.claimable(buyer) == REWARD_ETH and shares.pool() == pool - REWARD_ETH
    before = token.balanceOf(buyer)
    tx = shares.claim(sender=buyer)
    assert tx.events.filter(shares.RewardClaimed) == [
        shares.RewardClaimed(account=buyer, amount=REWARD_ETH)
    ]
    assert token.balanceOf(buyer) == before + REWARD_ETH
    with ape.reverts("share: nothing to claim"):
        shares.claim(sender=buyer)


def test_reward__sec_priced_listing__reward_bps_of_price(
    shares, escrow, token, seller, buyer, buyer2
):
    listing_id = new_listing(escrow, seller, 500 * PRICE, token.address)
    for who in (buyer, buyer2):
        token.approve(escrow, 500 * PRICE, sender=who)
    first = new_order(escrow, listing_id, buyer, value=0)
    escrow.confirm(first, sender=buyer)
    sid = shares.share(first, sender=buyer).events.filter(shares.Shared)[0].share_id
    second = new_order(escrow, listing_id, buyer2, value=0, share_id=sid)
    escrow.confirm(second, sender=buyer2)
    assert shares.claimable(buyer) == 10 * PRICE  # 2 % of 500 SEC


def test_reward__cancelled_or_ruled_for_buyer__nothing(
    shares, escrow, listing, share_id, buyer, buyer2, seller, deployer
):
    cancelled = new_order(escrow, listing, buyer2, share_id=share_id)
    escrow.cancel(cancelled, sender=seller)
    disputed = new_order(escrow, listing, buyer2, share_id=share_id)
    escrow.ship(disputed, TRACKING, sender=seller)
    escrow.dispute(disputed, b"", value=escrow.dispute_deposit(disputed), sender=buyer2)
    escrow.rule(disputed, 1, sender=deployer)
    assert shares.claimable(buyer) == 0
    assert not shares.rewarded(cancelled) and not shares.rewarded(disputed)


def test_reward__ruled_for_seller__completes_and_rewards(
    shares, escrow, listing, share_id, buyer, buyer2, seller, deployer
):
    order_id = new_order(escrow, listing, buyer2, share_id=share_id)
    escrow.ship(order_id, TRACKING, sender=seller)
    escrow.dispute(order_id, b"", value=escrow.dispute_deposit(order_id), sender=buyer2)
    escrow.rule(order_id, 2, sender=deployer)
    assert shares.claimable(buyer) == REWARD_ETH


def test_reward__empty_pool__completion_not_blocked(
    project, escrow, token, trust, deployer, seller, buyer, buyer2, listing
):
    empty = project.ShareRewards.deploy(escrow, token, trust, 200, 11_000, sender=deployer)
    escrow.set_share_rewards(empty, sender=deployer)
    first = new_order(escrow, listing, buyer)
    escrow.confirm(first, sender=buyer)
    sid = empty.share(first, sender=buyer).events.filter(empty.Shared)[0].share_id
    order_id = new_order(escrow, listing, buyer2, share_id=sid)
    seller_before = seller.balance
    tx = escrow.confirm(order_id, sender=buyer2)
    assert seller.balance == seller_before + PRICE
    assert tx.events.filter(empty.ShareRewarded) == [
        empty.ShareRewarded(
            share_id=sid, order_id=order_id, sharer=buyer, reward=REWARD_ETH, paid=0
        )
    ]
    with ape.reverts("share: nothing to claim"):
        empty.claim(sender=buyer)


def test_on_purchase_completed__not_escrow__reverts(shares, share_id, attacker):
    with ape.reverts("share: caller is not the escrow"):
        shares.on_purchase_completed(share_id, 1, PRICE, ETH, sender=attacker)


def test_share__disabled_sharer__refused(shares, trust, escrow, completed, buyer, deployer):
    trust.grantRole(trust.WRITER_ROLE(), deployer, sender=deployer)
    trust.penalize(buyer, 100, 4, sender=deployer)
    with ape.reverts("share: sharer is disabled"):
        shares.share(completed, sender=buyer)


def test_fund__pool_grows_and_rewards_never_exceed_funding(shares, token, deployer):
    funded = shares.total_funded()
    token.approve(shares, 5 * PRICE, sender=deployer)
    shares.fund(5 * PRICE, sender=deployer)
    assert shares.total_funded() == funded + 5 * PRICE
    assert shares.total_rewarded() <= shares.total_funded()
    with ape.reverts("share: nothing to fund"):
        shares.fund(0, sender=deployer)


def test_buy_through_share__at_expiry__plain_buy_still_passes(
    escrow, listing, share_id, shares, buyer2
):
    """Only the share expires: at the same instant the same purchase without it goes through."""
    expires = shares.share_info(share_id)[2] + HOURS_72
    race(
        expires,
        lambda: escrow.buy(listing, share_id, value=PRICE, sender=buyer2),
        "share: share expired",
        lambda: escrow.buy(listing, 0, value=PRICE, sender=buyer2),
    )
