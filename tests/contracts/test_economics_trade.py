"""Round-2 economics of a trade (DESIGN §3.3 "Gains cannot be farmed", §3.5 "Self-dealing never
pays"), attacked by one person running several accounts:

* a closed seller/sharer/buyer loop, with or without shipping, reusing one share, ends with
  exactly its tokens and its ETH minus the gas it paid, and its trust indexes stop growing
  after the first trade of each pair;
* trades below a token's floor never raise trust (a NEW account stays NEW);
* a pair raises trust once per relation period;
* an honest sharer still earns its commission, in ETH and in SEC;
* nothing blocks the seller's payment: a reverting or greedy ShareRewards, a refusing sharer,
  a reverting TrustIndex.
"""

import ape
import pytest
from ape import chain

from tests.fixtures.suite import DAY, ETH, PRICE, at, new_listing, new_order

SEC = 10**18
ETH_FLOOR, SEC_FLOOR = 10**16, 100 * SEC
PERIOD = 90 * DAY
HOURS_72 = 72 * 3600
REWARD_BPS, BPS = 200, 10_000
TRACKING = b"\x02" * 32
ROUNDS = 4


@pytest.fixture(autouse=True)
def _arbiter(governance_arbiter):
    return governance_arbiter


@pytest.fixture
def ring(accounts):
    """One person's accounts: a seller, a sharer and a buyer."""
    return accounts[4], accounts[6], accounts[7]


def fees(txs) -> int:
    return sum(tx.gas_used * tx.gas_price for tx in txs)


def holdings(escrow, shares, token, accounts) -> tuple[int, int]:
    """Everything `accounts` hold or are owed: (ETH, SEC)."""
    eth = sum(a.balance + escrow.owed(a, ETH) for a in accounts)
    sec = sum(token.balanceOf(a) + escrow.owed(a, token) + shares.claimable(a) for a in accounts)
    return eth, sec


def run_loop(escrow, shares, token, ring, price, sec, ship, rounds, record=None):
    """The sharer buys once and shares; then the buyer buys through that share `rounds`
    times (shipped or confirmed at once). Returns every transaction the ring sent."""
    seller, sharer, buyer = ring
    txs = []

    def send(tx):
        txs.append(tx)
        return tx

    tok = token.address if sec else ETH
    value = 0 if sec else price
    lid = send(escrow.create_listing(price, tok, 0, 0, b"\x01" * 32, sender=seller))
    lid = lid.events.filter(escrow.ListingCreated)[0].listing_id
    if sec:
        for who in (sharer, buyer):
            send(token.approve(escrow, price * (rounds + 1), sender=who))
    first = send(escrow.buy(lid, 0, value=value, sender=sharer))
    first = first.events.filter(escrow.OrderPaid)[0].order_id
    send(escrow.confirm(first, sender=sharer))
    sid = send(shares.share(first, sender=sharer)).events.filter(shares.Shared)[0].share_id
    for i in range(rounds):
        oid = send(escrow.buy(lid, sid, value=value, sender=buyer))
        oid = oid.events.filter(escrow.OrderPaid)[0].order_id
        if ship:
            send(escrow.ship(oid, TRACKING, sender=seller))
        send(escrow.confirm(oid, sender=buyer))
        if record is not None:
            record(i)
    return txs


@pytest.mark.parametrize("sec", [False, True], ids=["eth", "sec"])
@pytest.mark.parametrize("ship", [False, True], ids=["confirm-before-ship", "shipped"])
def test_closed_loop__seller_sharer_buyer__loses_exactly_its_gas_and_farms_no_trust(
    escrow, shares, token, trust, ring, sec, ship
):
    price = 1_000 * SEC if sec else PRICE
    seller, sharer, buyer = ring
    eth_before, sec_before = holdings(escrow, shares, token, ring)
    pool_before = shares.pool()
    trust_after_first: list[tuple[int, int, int]] = []

    def record(i):
        if i == 0:
            trust_after_first.append(tuple(trust.trust_of(a) for a in ring))

    txs = run_loop(escrow, shares, token, ring, price, sec, ship, ROUNDS, record)
    eth_after, sec_after = holdings(escrow, shares, token, ring)
    spent = fees(txs)
    assert spent > 0
    assert sec_after == sec_before  # the commission only moved between the ring's accounts
    assert eth_after == eth_before - spent  # strictly less: exactly the gas
    assert shares.pool() == pool_before
    # Trust: 1 per pair, the first time; nothing for the loop's repeats.
    assert trust_after_first == [(2, 1, 1)]
    assert tuple(trust.trust_of(a) for a in ring) == (2, 1, 1)
    assert trust.relation(seller, buyer)[0] == ROUNDS
    assert trust.relation(seller, sharer)[0] == 1
    # The seller's completed trades, all kept in Escrow's part of its relations.
    assert (
        escrow.relation_of(seller, buyer)[0] + escrow.relation_of(sharer, seller)[0] == ROUNDS + 1
    )


def test_closed_loop__with_pool_bonus__gains_at_most_the_cap_per_period(
    project, escrow, token, trust, deployer, ring
):
    """With a bonus b per sharer per period (governance's choice; 0 by default) the loop's
    gain is bounded: b - gas per sharer account per period, whatever the rounds."""
    cap = 5 * SEC
    bonus = project.ShareRewards.deploy(
        escrow, token, trust, REWARD_BPS, 11_000, cap, 30 * DAY, ETH, sender=deployer
    )
    token.approve(bonus, 1_000 * SEC, sender=deployer)
    bonus.fund(1_000 * SEC, sender=deployer)
    escrow.set_share_rewards(bonus, sender=deployer)
    eth_before, _ = holdings(escrow, bonus, token, ring)
    sec_before = sum(token.balanceOf(a) for a in ring)
    txs = run_loop(escrow, bonus, token, ring, PRICE, False, True, ROUNDS)
    eth_after, _ = holdings(escrow, bonus, token, ring)
    assert eth_after == eth_before - fees(txs)
    assert sum(token.balanceOf(a) + bonus.claimable(a) for a in ring) == sec_before + cap
    assert bonus.pool() == 1_000 * SEC - cap


def test_tiny_trades__below_floor_between_many_accounts__never_raise_trust(
    escrow, token, trust, accounts
):
    """A NEW account becomes ACTIVE (trust 1) only with a trade of at least the floor."""
    ring = [accounts[i] for i in (4, 6, 7, 8)]
    for a in ring:
        token.approve(escrow, 10**30, sender=a)
    trades = 0
    for s in ring:
        for b in ring:
            if s == b:
                continue
            for price, tok in ((1, ETH), (ETH_FLOOR - 1, ETH), (1, token.address)):
                lid = new_listing(escrow, s, price, tok)
                oid = new_order(escrow, lid, b, value=price if tok == ETH else 0)
                escrow.ship(oid, TRACKING, sender=s)
                escrow.confirm(oid, sender=b)
            trades += 3
    for a in ring:
        assert (trust.trust_of(a), trust.status_of(a)) == (0, 0)  # NEW, 0
        # 3 counterparties, both sides, 3 trades each way
        assert sum(trust.relation(a, b)[0] for b in ring if b != a) == 2 * 3 * 3
    assert trust.relation(ring[0], ring[1])[0] == 6
    lid = new_listing(escrow, ring[0], SEC_FLOOR - 1, token.address)
    escrow.confirm(new_order(escrow, lid, ring[1], value=0), sender=ring[1])
    assert trust.status_of(ring[0]) == 0
    # Exactly the floor: both become ACTIVE with 1.
    lid = new_listing(escrow, ring[0], ETH_FLOOR)
    tx = escrow.confirm(new_order(escrow, lid, ring[1], value=ETH_FLOOR), sender=ring[1])
    assert tx.events.filter(trust.TrustChanged) == [
        trust.TrustChanged(account=ring[0], old=0, new=1, reason=0),
        trust.TrustChanged(account=ring[1], old=0, new=1, reason=0),
    ]
    assert [trust.status_of(a) for a in ring] == [1, 1, 0, 0]


@pytest.mark.parametrize("offset,gains", [(-1, False), (0, True), (1, True)])
def test_same_pair__at_relation_period_offset__raises_trust_once(
    escrow, trust, ring, offset, gains
):
    seller, _, buyer = ring
    lid = new_listing(escrow, seller)
    escrow.confirm(new_order(escrow, lid, buyer), sender=buyer)
    last_gain = chain.blocks.head.timestamp
    assert trust.relation_info(seller, buyer)[2] == last_gain
    # Repeats within the period: counted, no gain.
    for _ in range(3):
        escrow.confirm(new_order(escrow, lid, buyer), sender=buyer)
    assert (trust.trust_of(seller), trust.trust_of(buyer)) == (1, 1)
    at(last_gain + PERIOD + offset - 10)
    oid = new_order(escrow, lid, buyer)
    escrow.ship(oid, TRACKING, sender=seller)
    at(last_gain + PERIOD + offset)
    escrow.confirm(oid, sender=buyer)
    expected = 2 if gains else 1
    assert (trust.trust_of(seller), trust.trust_of(buyer)) == (expected, expected)
    assert trust.relation(seller, buyer) == (5, last_gain + PERIOD + offset)


@pytest.mark.parametrize("sec", [False, True], ids=["eth", "sec"])
def test_honest_sharer__friend_buys_within_72h__earns_exact_commission(
    escrow, shares, token, seller, buyer, buyer2, stranger, sec
):
    price = 500 * SEC if sec else PRICE
    tok = token.address if sec else ETH
    value = 0 if sec else price

    def balance(a):
        return token.balanceOf(a) if sec else a.balance

    lid = new_listing(escrow, seller, price, tok)
    for who in (buyer, buyer2, stranger):
        token.approve(escrow, price, sender=who)
    first = new_order(escrow, lid, buyer, value=value)
    escrow.ship(first, TRACKING, sender=seller)
    escrow.confirm(first, sender=buyer)
    sid = shares.share(first, sender=buyer).events.filter(shares.Shared)[0].share_id
    created = shares.share_info(sid)[2]
    snapshot = chain.snapshot()
    at(created + HOURS_72)
    with ape.reverts("share: share expired"):
        escrow.buy(lid, sid, value=value, sender=stranger)
    chain.restore(snapshot)
    at(created + HOURS_72 - 1)
    oid = new_order(escrow, lid, buyer2, value=value, share_id=sid)
    escrow.ship(oid, TRACKING, sender=seller)
    seller_before, sharer_before = balance(seller), balance(buyer)
    escrow.confirm(oid, sender=buyer2)
    commission = price * REWARD_BPS // BPS
    assert balance(buyer) == sharer_before + commission
    assert balance(seller) == seller_before + price - commission


def test_unshipped_cancelled_or_ruled_for_buyer__ring_earns_no_commission(
    escrow, shares, ring, deployer
):
    seller, sharer, buyer = ring
    lid = new_listing(escrow, seller)
    first = new_order(escrow, lid, sharer)
    escrow.confirm(first, sender=sharer)
    sid = shares.share(first, sender=sharer).events.filter(shares.Shared)[0].share_id
    sharer_before = sharer.balance
    unshipped = new_order(escrow, lid, buyer, share_id=sid)
    seller_before = seller.balance
    escrow.confirm(unshipped, sender=buyer)
    assert seller.balance == seller_before + PRICE
    cancelled = new_order(escrow, lid, buyer, share_id=sid)
    escrow.cancel(cancelled, sender=seller)
    ruled = new_order(escrow, lid, buyer, share_id=sid)
    escrow.ship(ruled, TRACKING, sender=seller)
    escrow.dispute(ruled, b"", value=escrow.dispute_deposit(ruled), sender=buyer)
    escrow.rule(ruled, 1, sender=deployer)
    assert sharer.balance == sharer_before and escrow.owed(sharer, ETH) == 0
    assert [shares.rewarded(o) for o in (unshipped, cancelled, ruled)] == [False] * 3


@pytest.fixture
def rigged(project, escrow, deployer):
    mock = project.RiggedShareRewards.deploy(sender=deployer)
    escrow.set_share_rewards(mock, sender=deployer)
    return mock


@pytest.fixture
def rigged_order(escrow, rigged, seller, buyer):
    """A shipped order bought through share 1 of the rigged ShareRewards."""
    lid = new_listing(escrow, seller)
    oid = new_order(escrow, lid, buyer, share_id=1)
    escrow.ship(oid, TRACKING, sender=seller)
    return oid


def test_share_rewards__reverts__seller_paid_in_full(
    escrow, rigged, rigged_order, seller, buyer, attacker
):
    rigged.set_answer(1, attacker, PRICE, sender=attacker)
    seller_before = seller.balance
    tx = escrow.confirm(rigged_order, sender=buyer)
    assert seller.balance == seller_before + PRICE
    assert tx.events.filter(escrow.ShareNotifyFailed) == [
        escrow.ShareNotifyFailed(order_id=rigged_order)
    ]


def test_share_rewards__greedy_answer__commission_capped_at_max(
    escrow, rigged, rigged_order, seller, buyer, attacker
):
    rigged.set_answer(0, attacker, PRICE, sender=attacker)
    seller_before, attacker_before = seller.balance, attacker.balance
    escrow.confirm(rigged_order, sender=buyer)
    cap = PRICE * escrow.MAX_COMMISSION_BPS() // BPS
    assert escrow.MAX_COMMISSION_BPS() == 1_000
    assert attacker.balance == attacker_before + cap
    assert seller.balance == seller_before + PRICE - cap


def test_share_rewards__refusing_sharer__commission_credited_seller_paid(
    project, escrow, rigged, rigged_order, seller, buyer, deployer
):
    refusing = project.HostileReceiver.deploy(escrow, sender=deployer)
    refusing.set_mode(1, 0, sender=deployer)  # reverts on receive
    commission = PRICE * REWARD_BPS // BPS
    rigged.set_answer(0, refusing, commission, sender=deployer)
    seller_before = seller.balance
    tx = escrow.confirm(rigged_order, sender=buyer)
    assert seller.balance == seller_before + PRICE - commission
    assert escrow.owed(refusing, ETH) == commission
    assert tx.events.filter(escrow.PaymentCredited) == [
        escrow.PaymentCredited(account=refusing, token=ETH, amount=commission)
    ]


def test_trust_index__reverts__seller_paid(project, token, deployer, seller, buyer):
    broken = project.RiggedShareRewards.deploy(sender=deployer)
    fresh = project.Escrow.deploy(
        broken,
        token,
        deployer,
        3 * DAY,
        200,
        10_000,
        5_000,
        30 * DAY,
        [1, 2, 20, 10],
        10**15,
        10 * 10**18,
        ETH,
        sender=deployer,
    )
    lid = new_listing(fresh, seller)
    oid = new_order(fresh, lid, buyer)
    fresh.ship(oid, TRACKING, sender=seller)
    seller_before = seller.balance
    tx = fresh.confirm(oid, sender=buyer)
    assert seller.balance == seller_before + PRICE
    assert fresh.order_status(oid) == 3
    assert tx.events.filter(fresh.TrustUpdateFailed) == [fresh.TrustUpdateFailed(order_id=oid)]
