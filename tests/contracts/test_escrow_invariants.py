"""A Hypothesis state machine over listings, orders, shares, disputes, rulings and time,
checked against a Python model of Escrow, ShareRewards and TrustIndex after every step:

* funds are conserved per token: open orders' escrow plus everything owed equals what the
  contract holds;
* every trust index is in 0..100 and equals the model's (valued trades only, once per pair
  per relation period); disabled accounts are refused;
* a shipped shared purchase pays its sharer a commission out of the seller's proceeds (pushed,
  so nothing stays owed); no pool bonus by default, so the pool ledger never moves;
* every predicted success succeeds and every predicted failure reverts with the reason
  the model predicts (the first rule of the contract it breaks);
* no state without an exit: at the end, time runs out and every open order is driven out
  through its timeout exit by a stranger, after which the escrow holds nothing.

SEC_FUZZ_EXAMPLES sets the number of examples (CI default below; `make fuzz` runs many more).

Time comes from the chain, never from the wall clock: each example starts a day after the
latest block, and every transaction runs at exactly the model's clock, which only moves
forward and always lies after the latest block (see `now`).
"""

import os
from dataclasses import dataclass

import ape
from ape import chain
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.fixtures.suite import DAY, ETH

EXAMPLES = int(os.environ.get("SEC_FUZZ_EXAMPLES", "12"))
STEPS = int(os.environ.get("SEC_FUZZ_STEPS", "30"))

DEFAULT_SHIP, DEFAULT_COMPLETE, TIMEOUT = 3 * DAY, 7 * DAY, 30 * DAY
PENALTY = {1: 1, 2: 2, 3: 20, 4: 10}
PAID, SHIPPED, COMPLETED, CANCELLED, DISPUTED, RULED = 1, 2, 3, 4, 5, 6
OPEN = (PAID, SHIPPED, DISPUTED)
RELATION_PERIOD = 90 * DAY
ETH_FLOOR, SEC_FLOOR = 10**16, 100 * 10**18
# Escrow takes at least this dispute deposit (SuiteParams.dispute_floor_eth / _sec).
DISPUTE_FLOOR_ETH, DISPUTE_FLOOR_SEC = 10**15, 10 * 10**18


@dataclass
class MListing:
    seller: str
    price: int
    token: str
    auto_complete: int
    ship_window: int
    closed: bool = False


@dataclass
class MOrder:
    listing: int
    buyer: str
    status: int
    time: int  # ship_by while paid, deadline while shipped, timeout while disputed
    deposit: int = 0
    share: int = 0


@dataclass
class MShare:
    sharer: str
    listing: int
    created: int


class TrustModel:
    def __init__(self) -> None:
        self.trust: dict[str, int] = {}
        self.status: dict[str, int] = {}
        self.last_gain: dict[frozenset[str], int] = {}

    def get(self, a: str) -> tuple[int, int]:
        return self.trust.get(a, 0), self.status.get(a, 0)

    def disabled(self, a: str) -> bool:
        return self.status.get(a, 0) == 2

    def trade(self, seller: str, buyer: str, valued: bool, now: int) -> None:
        pair = frozenset((seller, buyer))
        last = self.last_gain.get(pair)
        if not valued or (last is not None and now < last + RELATION_PERIOD):
            return
        self.last_gain[pair] = now
        for a in (seller, buyer):
            t, s = self.get(a)
            if s == 0:
                self.trust[a], self.status[a] = 1, 1
            elif s == 1:
                self.trust[a] = min(100, t + 1)

    def penalize(self, a: str, reason: int) -> None:
        t, s = self.get(a)
        amount = PENALTY[reason]
        if reason <= 2:
            if s == 1:
                self.trust[a] = max(1, t - amount) if t > amount + 1 else 1
        elif s != 2:
            self.trust[a] = max(0, t - amount)
            if self.trust[a] == 0:
                self.status[a] = 2


class EscrowMachine(RuleBasedStateMachine):
    def __init__(self, escrow, trust, token, shares, accounts) -> None:
        super().__init__()
        self.escrow, self.trust_c, self.token, self.shares = escrow, trust, token, shares
        self.pool = shares.pool()
        # With no bonus set nothing is ever credited: funding and rewards stay where they are.
        self.funded, self.rewarded_total = shares.total_funded(), shares.total_rewarded()
        self.claimable: dict[str, int] = {}
        self.share_list: dict[int, MShare] = {}
        self.shared_orders: set[int] = set()
        self.rewarded: set[int] = set()
        self.arbiter = accounts[0]
        self.people = list(accounts[1:7])
        self.stranger = accounts[7]
        self.snapshot = chain.snapshot()
        # A day ahead of the chain: py-evm stamps a new pending block with the later of
        # the wall clock and its parent + 1, so the model stays ahead of the wall clock
        # however slow the machine is, and each transaction runs at exactly `self.t`.
        self.t = chain.blocks.head.timestamp + DAY
        self.last = self.t  # when the last transaction ran
        self.listings: dict[int, MListing] = {}
        self.orders: dict[int, MOrder] = {}
        self.owed: dict[tuple[str, str], int] = {}
        self.model = TrustModel()

    # ------------------------------------------------------------------ helpers

    def send(self, reason: str | None, fn, *args, **kw):
        """Runs a transaction at the model's clock: it must succeed when `reason` is None
        and otherwise revert with exactly `reason`."""
        t = self.now()
        chain.pending_timestamp = t
        assert chain.pending_timestamp == t, "the chain did not take the model's time"
        self.last, self.t = t, t + 1
        if reason is None:
            return fn(*args, **kw)
        with ape.reverts(reason):
            fn(*args, **kw)
        return None

    def now(self) -> int:
        """The timestamp the next transaction runs at. Setting a pending timestamp that
        is not already the pending block's mines an empty block one second before it,
        so it must then be at least two seconds after the latest block: the clock moves
        forward (never back) when the chain is ahead. Rules read it before predicting."""
        if chain.pending_timestamp != self.t:
            self.t = max(self.t, chain.blocks.head.timestamp + 2)
        return self.t

    def check(self, oid: int | None = None, *addresses: str) -> None:
        """Compares the touched order and accounts with the model (eth_call costs ~10 ms on
        py-evm, so each step checks what it touched; teardown checks everything)."""
        if oid is not None:
            assert self.escrow.order_status(oid) == self.orders[oid].status, oid
        for a in addresses:
            t, s = self.model.get(a)
            assert (self.trust_c.trust_of(a), self.trust_c.status_of(a)) == (t, s), a
            assert self.escrow.disabled(a) == (s == 2)

    def credit(self, who: str, token: str, amount: int) -> None:
        if amount:
            self.owed[(who, token)] = self.owed.get((who, token), 0) + amount

    def record(self, li: MListing, o: MOrder) -> None:
        floor = ETH_FLOOR if li.token == ETH else SEC_FLOOR
        self.model.trade(li.seller, o.buyer, li.price >= floor, self.now() - 1)

    def settle(self, oid: int, ruling: int | None, by_arbiter: bool) -> None:
        o = self.orders[oid]
        li = self.listings[o.listing]
        if ruling is None:  # completion
            shipped = o.status != PAID
            o.status = COMPLETED
            self.record(li, o)
            if shipped:
                self.reward(oid, o)
            return
        o.status = RULED
        # The arbiter's fee (half the deposit) is pushed with the ruling (an EOA accepts it):
        # nothing is credited to `owed`.
        if ruling == 1:
            self.model.penalize(li.seller, 3)
        elif ruling == 2:
            self.model.penalize(o.buyer, 4)
            self.record(li, o)
            self.reward(oid, o)

    def reward(self, oid: int, o: MOrder) -> None:
        """The commission is pushed to the sharer (an EOA here) out of the seller's proceeds;
        with no bonus (the default) nothing is credited in ShareRewards."""
        if not o.share:
            return
        self.rewarded.add(oid)

    # ------------------------------------------------------------------ rules

    @rule(
        who=st.integers(0, 5),
        price=st.sampled_from([3, 10**15 + 1, 10**18]),
        sec=st.booleans(),
        auto_complete=st.sampled_from([0, 3600, 2 * DAY]),
        ship_window=st.sampled_from([0, 3600, DAY]),
    )
    def create_listing(self, who, price, sec, auto_complete, ship_window):
        seller = self.people[who]
        token = self.token.address if sec else ETH
        reason = "escrow: seller is disabled" if self.model.disabled(seller.address) else None
        tx = self.send(
            reason,
            self.escrow.create_listing,
            price,
            token,
            auto_complete,
            ship_window,
            b"",
            sender=seller,
        )
        if reason is None:
            lid = tx.events.filter(self.escrow.ListingCreated)[0].listing_id
            self.listings[lid] = MListing(
                seller.address,
                price,
                token,
                auto_complete or DEFAULT_COMPLETE,
                ship_window or DEFAULT_SHIP,
            )

    @precondition(lambda self: self.listings)
    @rule(pick=st.integers(0, 10**6))
    def close_listing(self, pick):
        lid = sorted(self.listings)[pick % len(self.listings)]
        li = self.listings[lid]
        seller = next(p for p in self.people if p.address == li.seller)
        reason = "escrow: listing closed" if li.closed else None
        self.send(reason, self.escrow.close_listing, lid, sender=seller)
        li.closed = True

    @precondition(lambda self: self.listings)
    @rule(pick=st.integers(0, 10**6), who=st.integers(0, 5))
    def buy(self, pick, who):
        lid = sorted(self.listings)[pick % len(self.listings)]
        li = self.listings[lid]
        buyer = self.people[who]
        reason = None
        if li.closed:
            reason = "escrow: listing closed"
        elif buyer.address == li.seller:
            reason = "escrow: seller cannot buy own listing"
        elif self.model.disabled(buyer.address):
            reason = "escrow: buyer is disabled"
        elif self.model.disabled(li.seller):
            reason = "escrow: seller is disabled"
        value = li.price if li.token == ETH else 0
        tx = self.send(reason, self.escrow.buy, lid, 0, value=value, sender=buyer)
        if tx is not None:
            oid = tx.events.filter(self.escrow.OrderPaid)[0].order_id
            self.orders[oid] = MOrder(lid, buyer.address, PAID, self.last + li.ship_window)
            self.check(oid)

    def _pick_order(self, pick):
        oid = sorted(self.orders)[pick % len(self.orders)]
        o = self.orders[oid]
        return oid, o, self.listings[o.listing]

    def _account(self, address):
        return next(p for p in self.people if p.address == address)

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 10**6))
    def ship(self, pick):
        oid, o, li = self._pick_order(pick)
        now = self.now()
        reason = None
        if o.status != PAID:
            reason = "escrow: order is not paid"
        elif now >= o.time:
            reason = "escrow: ship window has passed"
        self.send(reason, self.escrow.ship, oid, b"\x01" * 32, sender=self._account(li.seller))
        if reason is None:
            o.status, o.time = SHIPPED, now + li.auto_complete
        self.check(oid)

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 10**6))
    def confirm(self, pick):
        oid, o, _ = self._pick_order(pick)
        reason = None if o.status in (PAID, SHIPPED) else "escrow: order is not open"
        self.send(reason, self.escrow.confirm, oid, sender=self._account(o.buyer))
        if reason is None:
            self.settle(oid, None, False)
        self.check(oid, o.buyer, self.listings[o.listing].seller)

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 10**6))
    def finalize(self, pick):
        oid, o, _ = self._pick_order(pick)
        now = self.now()
        reason = None
        if o.status == DISPUTED:
            reason = "escrow: dispute still open" if now < o.time else None
        elif o.status != SHIPPED:
            reason = "escrow: order is not shipped"
        elif now < o.time:
            reason = "escrow: auto-complete time not reached"
        self.send(reason, self.escrow.finalize, oid, sender=self.stranger)
        if reason is None:
            self.settle(oid, None if o.status == SHIPPED else 0, False)
        self.check(oid, o.buyer, self.listings[o.listing].seller)

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 10**6), by_seller=st.booleans())
    def cancel(self, pick, by_seller):
        oid, o, li = self._pick_order(pick)
        now = self.now()
        missed = now >= o.time
        reason = None
        if o.status != PAID:
            reason = "escrow: order is not cancellable"
        elif not (by_seller or missed):
            reason = "escrow: ship window still open"
        caller = self._account(li.seller) if by_seller else self.stranger
        self.send(reason, self.escrow.cancel, oid, sender=caller)
        if reason is None:
            o.status = CANCELLED
            self.model.penalize(li.seller, 2 if missed else 1)
        self.check(oid, li.seller)

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 10**6))
    def dispute(self, pick):
        oid, o, li = self._pick_order(pick)
        now = self.now()
        reason = None
        if o.status != SHIPPED:
            reason = "escrow: order is not shipped"
        elif now >= o.time:
            reason = "escrow: dispute window has passed"
        floor = DISPUTE_FLOOR_ETH if li.token == ETH else DISPUTE_FLOOR_SEC
        deposit = max(li.price * 200 // 10_000, floor)
        value = deposit if li.token == ETH else 0
        self.send(reason, self.escrow.dispute, oid, b"", value=value, sender=self._account(o.buyer))
        if reason is None:
            o.status, o.time, o.deposit = DISPUTED, now + TIMEOUT, deposit
        self.check(oid)

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 10**6), ruling=st.sampled_from([0, 1, 2]))
    def rule_dispute(self, pick, ruling):
        oid, o, _ = self._pick_order(pick)
        reason = None if o.status == DISPUTED else "escrow: order is not disputed"
        self.send(reason, self.escrow.rule, oid, ruling, sender=self.arbiter)
        if reason is None:
            self.settle(oid, ruling, True)
        self.check(oid, o.buyer, self.listings[o.listing].seller)

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 10**6))
    def share(self, pick):
        oid, o, _ = self._pick_order(pick)
        reason = None
        if o.status != COMPLETED:
            reason = "share: order is not completed"
        elif oid in self.shared_orders:
            reason = "share: order already shared"
        elif self.model.disabled(o.buyer):
            reason = "share: sharer is disabled"
        tx = self.send(reason, self.shares.share, oid, sender=self._account(o.buyer))
        if reason is None:
            sid = tx.events.filter(self.shares.Shared)[0].share_id
            self.share_list[sid] = MShare(o.buyer, o.listing, self.last)
            self.shared_orders.add(oid)

    @precondition(lambda self: self.share_list)
    @rule(pick=st.integers(0, 10**6), who=st.integers(0, 5))
    def buy_through_share(self, pick, who):
        sid = sorted(self.share_list)[pick % len(self.share_list)]
        sh = self.share_list[sid]
        li = self.listings[sh.listing]
        buyer = self.people[who]
        reason = None
        if li.closed:
            reason = "escrow: listing closed"
        elif buyer.address == li.seller:
            reason = "escrow: seller cannot buy own listing"
        elif self.model.disabled(buyer.address):
            reason = "escrow: buyer is disabled"
        elif self.model.disabled(li.seller):
            reason = "escrow: seller is disabled"
        elif self.now() >= sh.created + 72 * 3600:
            reason = "share: share expired"
        elif buyer.address == sh.sharer:
            reason = "share: sharer cannot buy through own share"
        value = li.price if li.token == ETH else 0
        tx = self.send(reason, self.escrow.buy, sh.listing, sid, value=value, sender=buyer)
        if reason is None:
            oid = tx.events.filter(self.escrow.OrderPaid)[0].order_id
            self.orders[oid] = MOrder(
                sh.listing, buyer.address, PAID, self.last + li.ship_window, share=sid
            )
            self.check(oid)

    @rule(who=st.integers(0, 5))
    def claim_reward(self, who):
        p = self.people[who]
        owed = self.claimable.get(p.address, 0)
        self.send(None if owed else "share: nothing to claim", self.shares.claim, sender=p)
        self.claimable[p.address] = 0

    @invariant()
    def rewards_within_funding(self):
        assert self.shares.pool() == self.pool
        assert self.shares.total_rewarded() == self.rewarded_total
        assert self.shares.total_funded() == self.funded
        for who, amount in self.claimable.items():
            if amount:
                assert self.shares.claimable(who) == amount

    @rule(seconds=st.sampled_from([1, 3600, DAY, 3 * DAY, 7 * DAY, 30 * DAY]))
    def advance_time(self, seconds):
        self.t += seconds

    @rule(sec=st.booleans())
    def withdraw(self, sec):
        token = self.token.address if sec else ETH
        owed = self.owed.get((self.arbiter.address, token), 0)
        self.send(
            None if owed else "escrow: nothing owed",
            self.escrow.withdraw,
            token,
            sender=self.arbiter,
        )
        self.owed[(self.arbiter.address, token)] = 0

    # ------------------------------------------------------------------ invariants

    def held(self, token: str) -> int:
        return self.escrow.balance if token == ETH else self.token.balanceOf(self.escrow)

    @invariant()
    def funds_conserved_per_token(self):
        for token in (ETH, self.token.address):
            open_escrow = sum(
                self.listings[o.listing].price + o.deposit
                for o in self.orders.values()
                if o.status in OPEN and self.listings[o.listing].token == token
            )
            owed = sum(v for (who, tok), v in self.owed.items() if tok == token)
            assert self.escrow.owed(self.arbiter, token) == self.owed.get(
                (self.arbiter.address, token), 0
            )
            assert self.held(token) == open_escrow + owed

    def teardown(self):
        try:
            for oid in self.orders:
                self.check(oid)
                assert self.shares.rewarded(oid) == (oid in self.rewarded), oid
            self.check(None, *(p.address for p in self.people))
            # No state without an exit: after every timeout, a stranger ends every open order.
            self.t += 100 * DAY
            for oid, o in sorted(self.orders.items()):
                if o.status == PAID:
                    self.send(None, self.escrow.cancel, oid, sender=self.stranger)
                elif o.status in (SHIPPED, DISPUTED):
                    self.send(None, self.escrow.finalize, oid, sender=self.stranger)
                assert self.escrow.order_status(oid) not in OPEN
            for token in (ETH, self.token.address):
                if self.escrow.owed(self.arbiter, token):
                    self.send(None, self.escrow.withdraw, token, sender=self.arbiter)
                assert self.held(token) == 0
        finally:
            chain.restore(self.snapshot)


def test_escrow_state_machine(escrow, trust, token, shares, accounts, deployer, governance_arbiter):
    people = list(accounts[1:8])
    for p in people:
        token.approve(escrow, 2**255, sender=p)
    run_state_machine_as_test(
        lambda: EscrowMachine(escrow, trust, token, shares, accounts),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
            derandomize=os.environ.get("SEC_FUZZ_RANDOM") is None,
        ),
    )
