"""ShareRewards: a completed buyer shares; a friend's purchase through the share within 72 h
pays the sharer a commission (REWARD_BPS of the price, in the order's token) out of the
seller's proceeds when it completes after shipping; nothing when it is cancelled, ruled for
the buyer or confirmed before shipping. The pool adds a bonus capped per sharer per period
(none by default)."""

import ape
import pytest
from ape import chain

from tests.fixtures.suite import DAY, ETH, PRICE, at, new_listing, new_order, race

HOURS_72 = 72 * 3600
SEC = 10**18
COMMISSION = PRICE * 200 // 10_000  # 2 % of 1 ETH, in ETH
POOL = 10_000_000 * SEC  # SuiteParams.share_pool
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


def test_deploy__params__exposed(shares, escrow, token, trust):
    assert (shares.ESCROW(), shares.SEC_TOKEN(), shares.TRUST_INDEX()) == (
        escrow.address,
        token.address,
        trust.address,
    )
    assert (shares.REWARD_BPS(), shares.ETH_TO_SEC_RATE()) == (200, 11_000)
    assert (shares.BONUS_CAP(), shares.BONUS_PERIOD()) == (0, 30 * DAY)


@pytest.mark.parametrize(
    "bps,cap,period,reason",
    [
        (1_001, 0, 1, "share: bad reward"),
        (200, 0, 0, "share: bad bonus period"),
        (200, 2**192, 1, "share: bad bonus cap"),
    ],
)
def test_deploy__bad_params__reverts(
    project, escrow, token, trust, deployer, bps, cap, period, reason
):
    with ape.reverts(reason):
        project.ShareRewards.deploy(
            escrow, token, trust, bps, 11_000, cap, period, ETH, sender=deployer
        )


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


def test_commission__shipped_purchase_confirmed__paid_out_of_seller_proceeds(
    shares, escrow, listing, share_id, buyer, buyer2, seller
):
    order_id = new_order(escrow, listing, buyer2, share_id=share_id)
    escrow.ship(order_id, TRACKING, sender=seller)
    seller_before, sharer_before = seller.balance, buyer.balance
    tx = escrow.confirm(order_id, sender=buyer2)
    assert buyer.balance == sharer_before + COMMISSION
    assert seller.balance == seller_before + PRICE - COMMISSION
    assert tx.events.filter(shares.ShareRewarded) == [
        shares.ShareRewarded(
            share_id=share_id,
            order_id=order_id,
            sharer=buyer,
            token=ETH,
            commission=COMMISSION,
            bonus=0,
        )
    ]
    assert shares.rewarded(order_id)
    assert (shares.pool(), shares.claimable(buyer), shares.total_rewarded()) == (POOL, 0, 0)
    assert escrow.owed(buyer, ETH) == 0 and escrow.balance == 0
    with ape.reverts("share: nothing to claim"):
        shares.claim(sender=buyer)


def test_commission__sec_priced_listing__reward_bps_of_price_in_sec(
    shares, escrow, token, seller, buyer, buyer2
):
    price = 500 * SEC
    listing_id = new_listing(escrow, seller, price, token.address)
    for who in (buyer, buyer2):
        token.approve(escrow, price, sender=who)
    first = new_order(escrow, listing_id, buyer, value=0)
    escrow.confirm(first, sender=buyer)
    sid = shares.share(first, sender=buyer).events.filter(shares.Shared)[0].share_id
    second = new_order(escrow, listing_id, buyer2, value=0, share_id=sid)
    escrow.ship(second, TRACKING, sender=seller)
    seller_before, sharer_before = token.balanceOf(seller), token.balanceOf(buyer)
    escrow.confirm(second, sender=buyer2)
    assert token.balanceOf(buyer) == sharer_before + 10 * SEC  # 2 % of 500 SEC
    assert token.balanceOf(seller) == seller_before + 490 * SEC
    assert token.balanceOf(escrow) == 0 and shares.pool() == POOL


def test_commission__confirmed_before_shipping__nothing(
    shares, escrow, listing, share_id, buyer, buyer2, seller
):
    order_id = new_order(escrow, listing, buyer2, share_id=share_id)
    seller_before, sharer_before = seller.balance, buyer.balance
    tx = escrow.confirm(order_id, sender=buyer2)
    assert seller.balance == seller_before + PRICE and buyer.balance == sharer_before
    assert tx.events.filter(shares.ShareRewarded) == []
    assert not shares.rewarded(order_id)


def test_commission__cancelled_or_ruled_for_buyer__nothing(
    shares, escrow, listing, share_id, buyer, buyer2, seller, deployer
):
    sharer_before = buyer.balance
    cancelled = new_order(escrow, listing, buyer2, share_id=share_id)
    escrow.cancel(cancelled, sender=seller)
    disputed = new_order(escrow, listing, buyer2, share_id=share_id)
    escrow.ship(disputed, TRACKING, sender=seller)
    escrow.dispute(disputed, b"", value=escrow.dispute_deposit(disputed), sender=buyer2)
    escrow.rule(disputed, 1, sender=deployer)
    assert buyer.balance == sharer_before and escrow.owed(buyer, ETH) == 0
    assert shares.claimable(buyer) == 0
    assert not shares.rewarded(cancelled) and not shares.rewarded(disputed)


def test_commission__ruled_for_seller__paid_out_of_seller_proceeds(
    shares, escrow, listing, share_id, buyer, buyer2, seller, deployer
):
    order_id = new_order(escrow, listing, buyer2, share_id=share_id)
    escrow.ship(order_id, TRACKING, sender=seller)
    deposit = escrow.dispute_deposit(order_id)
    escrow.dispute(order_id, b"", value=deposit, sender=buyer2)
    seller_before, sharer_before = seller.balance, buyer.balance
    escrow.rule(order_id, 2, sender=deployer)
    fee = deposit // 2
    assert buyer.balance == sharer_before + COMMISSION
    assert seller.balance == seller_before + PRICE + deposit - fee - COMMISSION
    assert shares.rewarded(order_id)


def test_bonus__capped_per_sharer_per_period_and_by_pool(
    project, escrow, token, trust, deployer, seller, buyer, buyer2, stranger, listing
):
    period = 30 * DAY
    cap = 30 * SEC
    bonus = project.ShareRewards.deploy(
        escrow, token, trust, 200, 11_000, cap, period, ETH, sender=deployer
    )
    token.approve(bonus, 50 * SEC, sender=deployer)
    bonus.fund(50 * SEC, sender=deployer)
    escrow.set_share_rewards(bonus, sender=deployer)
    first = new_order(escrow, listing, buyer)
    escrow.confirm(first, sender=buyer)
    boundary = (chain.blocks.head.timestamp // period + 1) * period
    at(boundary - 3600)
    sid = bonus.share(first, sender=buyer).events.filter(bonus.Shared)[0].share_id

    def shared_purchase(who):
        order_id = new_order(escrow, listing, who, share_id=sid)
        escrow.ship(order_id, TRACKING, sender=seller)
        return order_id

    def bonus_of(tx):
        return tx.events.filter(bonus.ShareRewarded)[0].bonus

    # 2 % of 1 ETH is worth 220 SEC: the cap (30) binds, then nothing more this period.
    assert bonus_of(escrow.confirm(shared_purchase(buyer2), sender=buyer2)) == cap
    assert bonus.bonus_left(buyer) == 0
    assert bonus_of(escrow.confirm(shared_purchase(stranger), sender=stranger)) == 0
    # Next period: the cap resets, the pool (20 left) binds.
    late = shared_purchase(buyer2)
    at(boundary)
    assert bonus_of(escrow.confirm(late, sender=buyer2)) == 20 * SEC
    assert bonus.bonus_left(buyer) == 10 * SEC
    assert (bonus.pool(), bonus.claimable(buyer)) == (0, 50 * SEC)
    assert bonus.total_rewarded() == bonus.total_funded() == 50 * SEC
    # An empty pool never blocks a completion: commission paid, bonus 0.
    order_id = shared_purchase(stranger)
    seller_before = seller.balance
    assert bonus_of(escrow.confirm(order_id, sender=stranger)) == 0
    assert seller.balance == seller_before + PRICE - COMMISSION
    before = token.balanceOf(buyer)
    tx = bonus.claim(sender=buyer)
    assert tx.events.filter(bonus.RewardClaimed) == [
        bonus.RewardClaimed(account=buyer, amount=50 * SEC)
    ]
    assert token.balanceOf(buyer) == before + 50 * SEC
    with ape.reverts("share: nothing to claim"):
        bonus.claim(sender=buyer)


def test_on_purchase_completed__same_order_twice__second_reverts(
    project, token, trust, deployer, stranger
):
    # The escrow is an account here, so it can call twice: once per order, whatever calls.
    rewards = project.ShareRewards.deploy(
        stranger, token, trust, 200, 11_000, 0, 30 * DAY, ETH, sender=deployer
    )
    tx = rewards.on_purchase_completed(0, 7, PRICE, ETH, sender=stranger)
    assert [e.commission for e in tx.events.filter(rewards.ShareRewarded)] == [COMMISSION]
    assert rewards.rewarded(7)
    with ape.reverts("share: already rewarded"):
        rewards.on_purchase_completed(0, 7, PRICE, ETH, sender=stranger)
    rewards.on_purchase_completed(0, 8, PRICE, ETH, sender=stranger)  # another order: fine


def test_on_purchase_completed__not_escrow__reverts(shares, share_id, attacker):
    with ape.reverts("share: caller is not the escrow"):
        shares.on_purchase_completed(share_id, 1, PRICE, ETH, sender=attacker)


def test_share__disabled_sharer__refused(shares, trust, escrow, completed, buyer, deployer):
    trust.grantRole(trust.WRITER_ROLE(), deployer, sender=deployer)
    trust.penalize(buyer, 100, 4, sender=deployer)
    with ape.reverts("share: sharer is disabled"):
        shares.share(completed, sender=buyer)


def test_fund__pool_grows_by_exactly_the_amount(shares, token, deployer):
    assert (shares.pool(), shares.total_funded(), shares.total_rewarded()) == (POOL, POOL, 0)
    token.approve(shares, 5 * PRICE, sender=deployer)
    before = token.balanceOf(shares)
    tx = shares.fund(5 * PRICE, sender=deployer)
    assert tx.events.filter(shares.PoolFunded) == [
        shares.PoolFunded(funder=deployer, amount=5 * PRICE)
    ]
    assert shares.pool() == POOL + 5 * PRICE
    assert shares.total_funded() == POOL + 5 * PRICE
    assert token.balanceOf(shares) == before + 5 * PRICE == shares.pool()
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
