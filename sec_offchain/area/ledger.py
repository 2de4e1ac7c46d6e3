"""An area's SEC ledger and its cross-area (BGC) purchases.

SEC enters an area through `BorderGateway.deposit_to_area` (a `DepositedToArea` event the
area's block includes as a deposit), leaves it as an egress message (proven on-chain by the
BGC relayer against the anchored header), and arrives in the destination area as ingress (a
`MessageDelivered` event the destination's block includes). On top of that, the whitepaper's
cross-area purchase: buyer B in area 1 pays seller A's listing in area 2 —

1. B signs `PAY(dst_area, recipient=A, amount, listing)` to area 1: B's area-1 balance is
   debited and the block's egress carries Message(1, 2, nonce, B, A, amount, payload)
   with the listing id inline in the payload (`purchase_payload`);
2. the relayer delivers it; area 2's block includes it as ingress: a payment held for A,
   *paid*;
3. A signs `SHIP(ref)`: *shipped*; B signs `CONFIRM(ref)`: *completed*, the amount goes to
   A's area-2 balance and the listing's product credit rises by 1.

A `PAY` to area 0 (no listing) is a withdrawal: the egress message to the main chain is
paid out in SEC to its recipient by `BorderGateway.withdraw_from_area`.

A `MOVE` carries an account's balance to the area the published directory of an epoch puts
it in (areas that follow trade relations, `sec_offchain.areas`): anyone may submit it (it is
unsigned; the account's directory entry and its Merkle proof make it valid, checked against
the epoch's root on AreaDirectory), the area debits the account's whole balance once per
(account, epoch) and emits it as egress messages (payload tag 0x02 + epoch), and the
destination credits each delivered message once (its (src area, nonce), as every ingress).

Every node applies the same blocks in the same order to the same state, so the state is a
function of the chain. Area transactions are signed by their sender over
keccak256("SEC area tx" ‖ record domain separator ‖ RLP(fields)) and carry a per-sender
nonce, so a transaction applies once and on one deployment only.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Protocol

import rlp

from sec_offchain.area.merkle import ZERO32, MerkleError, keccak, verify
from sec_offchain.area.records import RecordError, product_id_of, recover_address
from sec_offchain.encoding.area_header import sign_digest
from sec_offchain.exceptions import SecError

PAY, SHIP, CONFIRM, MOVE = 1, 2, 3, 4
KIND_NAMES = {PAY: "pay", SHIP: "ship", CONFIRM: "confirm", MOVE: "move"}
# AreaDirectory's leaf: (address account, uint256 area_id)
DIRECTORY_LEAF = ("address", "uint256")
MAX_MOVE_PROOF = 32  # AreaDirectory.MAX_PROOF
PAID, SHIPPED, COMPLETED = "paid", "shipped", "completed"


class LedgerError(SecError):
    """An area transaction, deposit or ingress entry does not apply."""


PURCHASE_TAG = 0x01
MOVE_TAG = 0x02


def purchase_payload(listing_id: int) -> bytes:
    """A purchase message's 32-byte payload, carried inline: tag 0x01, then the listing id
    (31 bytes). A zero payload is a plain transfer to the recipient's area balance."""
    if not 0 < listing_id < 2**248:
        raise LedgerError("listing id out of range")
    return bytes([PURCHASE_TAG]) + listing_id.to_bytes(31, "big")


def listing_of_payload(payload: bytes) -> int | None:
    if payload[:1] == bytes([PURCHASE_TAG]):
        return int.from_bytes(payload[1:], "big")
    return None


def move_payload(epoch: int) -> bytes:
    """A move message's payload: tag 0x02, then the directory epoch that moved the account."""
    if not 0 < epoch < 2**248:
        raise LedgerError("epoch out of range")
    return bytes([MOVE_TAG]) + epoch.to_bytes(31, "big")


def epoch_of_payload(payload: bytes) -> int | None:
    if payload[:1] == bytes([MOVE_TAG]):
        return int.from_bytes(payload[1:], "big")
    return None


def move_tx(
    account: bytes, src_area: int, dst_area: int, epoch: int, proof: tuple[bytes, ...]
) -> AreaTx:
    """The MOVE of `account`'s balance in `src_area` to `dst_area`, where the directory of
    `epoch` puts it (`proof`: the entry's Merkle proof against that epoch's root)."""
    return AreaTx(MOVE, account, src_area, epoch, dst_area=dst_area, recipient=account, proof=proof)


@dataclass(frozen=True)
class AreaTx:
    kind: int
    sender: bytes
    area_id: int
    nonce: int  # the sender's n-th transaction in this area, from 1
    dst_area: int = 0
    recipient: bytes = b"\0" * 20
    amount: int = 0
    listing_id: int = 0
    ref_src: int = 0  # SHIP/CONFIRM: the payment, by its message's (src area, nonce)
    ref_nonce: int = 0
    signature: bytes = b""
    # MOVE only (not part of the digest: a witness, checked against the epoch's root): the
    # account's directory entry proof. A MOVE's `nonce` is the epoch, and it has no signature.
    proof: tuple[bytes, ...] = ()

    def fields(self) -> list:
        return [
            self.kind,
            self.sender,
            self.area_id,
            self.nonce,
            self.dst_area,
            self.recipient,
            self.amount,
            self.listing_id,
            self.ref_src,
            self.ref_nonce,
        ]

    def digest(self, separator: bytes) -> bytes:
        return keccak(b"SEC area tx" + separator + rlp.encode(self.fields()))

    def signed(self, key: bytes, separator: bytes) -> AreaTx:
        return AreaTx(*self.fields(), signature=sign_digest(key, self.digest(separator)))

    @property
    def pool_sender(self) -> bytes:
        """The pool's sender column: a MOVE's `nonce` is an epoch, not the sender's nonce, so
        its rows are kept apart from the sender's own transactions."""
        return b"move" + self.sender if self.kind == MOVE else self.sender

    def encode(self) -> bytes:
        if self.kind == MOVE:
            return rlp.encode([*self.fields(), self.signature, list(self.proof)])
        return rlp.encode([*self.fields(), self.signature])

    @classmethod
    def decode(cls, data: bytes) -> AreaTx:
        try:
            items = rlp.decode(data)
            proof: tuple[bytes, ...] = ()
            witnessed = len(items) == 12 and isinstance(items[11], list)
            if witnessed:  # a MOVE and its proof
                proof = tuple(items.pop())
                if any(isinstance(p, list) or len(p) != 32 for p in proof):
                    raise ValueError("a proof is a list of 32-byte hashes")
                if len(proof) > MAX_MOVE_PROOF:
                    raise ValueError("proof too long")
            if len(items) != 11 or any(isinstance(x, list) for x in items):
                raise ValueError("11 strings expected")
            ints = [int.from_bytes(x, "big") for x in items]
            tx = cls(
                ints[0],
                items[1],
                ints[2],
                ints[3],
                ints[4],
                items[5],
                ints[6],
                ints[7],
                ints[8],
                ints[9],
                items[10],
                proof,
            )
            if (tx.kind == MOVE) != witnessed:
                raise ValueError("a MOVE, and only a MOVE, carries a proof")
            if len(tx.sender) != 20 or len(tx.recipient) != 20:
                raise ValueError("field of the wrong length")
            if len(tx.signature) != (0 if tx.kind == MOVE else 65):
                raise ValueError("signature of the wrong length")
        except Exception as exc:  # noqa: BLE001
            raise LedgerError(f"not an RLP area transaction: {exc}") from exc
        return tx

    def check_signature(self, separator: bytes) -> None:
        if self.kind == MOVE:  # unsigned: its proof makes it valid (Ledger.apply_move)
            if self.signature:
                raise LedgerError("a move is not signed")
            return
        try:
            signer = recover_address(self.digest(separator), self.signature)
        except RecordError as exc:
            raise LedgerError(str(exc)) from exc
        if signer != self.sender:
            raise LedgerError("area transaction is not signed by its sender")


@dataclass(frozen=True)
class Deposit:
    tx_hash: bytes
    log_index: int
    account: bytes
    amount: int


@dataclass(frozen=True)
class Ingress:
    """A message delivered to this area (a `MessageDelivered` event), as a block lists it."""

    src_area: int
    nonce: int
    sender: bytes
    recipient: bytes
    amount: int
    payload_hash: bytes


class ChainEvents(Protocol):
    """What an area node reads from the main chain (BorderGateway events)."""

    def deposit(self, tx_hash: bytes, log_index: int) -> tuple[int, bytes, int] | None: ...

    def delivered(self, src: int, dst: int, nonce: int) -> tuple[bytes, bytes, int, bytes] | None:
        """(sender, recipient, amount, payload_hash) of a delivered message, or None."""

    def deposits_for(self, area_id: int) -> list[Deposit]: ...

    def ingress_for(self, area_id: int) -> list[Ingress]: ...

    def directory_root(self, epoch: int) -> bytes | None:
        """AreaDirectory's root of `epoch` (None while it is not published)."""


class NoChain:
    """No main chain to read: no deposits, no ingress (unit tests, records-only areas)."""

    def deposit(self, tx_hash, log_index):
        return None

    def delivered(self, src, dst, nonce):
        return None

    def deposits_for(self, area_id):
        return []

    def ingress_for(self, area_id):
        return []

    def directory_root(self, epoch):
        return None


# The largest amount one egress message carries: BorderGateway's outflow floor (deployment
# parameter `bgc_outflow_floor`). Messages of one channel are delivered in nonce order, and
# a window lets out at least the floor, so a message at most this size never waits behind
# the outflow limit for longer than one window — a larger one could block its channel (and
# every withdrawal behind it) until the area held five times its amount.
MAX_EGRESS = 1_000 * 10**18


@dataclass
class Ledger:
    area_id: int
    max_egress: int = MAX_EGRESS
    balances: dict[bytes, int] = field(default_factory=dict)
    tx_nonces: dict[bytes, int] = field(default_factory=dict)
    egress_nonces: dict[int, int] = field(default_factory=dict)
    payments: dict[tuple[int, int], dict] = field(default_factory=dict)
    deposits: set[tuple[bytes, int]] = field(default_factory=set)
    ingress: set[tuple[int, int]] = field(default_factory=set)
    participation: dict[bytes, int] = field(default_factory=dict)  # shares credited
    produced: dict[bytes, int] = field(default_factory=dict)  # blocks on this chain
    moves_out: dict[tuple[bytes, int], int] = field(default_factory=dict)  # (acct, epoch) -> sent
    moves_in: dict[tuple[bytes, int], int] = field(default_factory=dict)  # (acct, epoch) -> got

    def copy(self) -> Ledger:
        return copy.deepcopy(self)

    # ------------------------------------------------------------------ applying

    def apply_deposit(self, d: Deposit, events: ChainEvents | None) -> None:
        """`events` None: replaying a stored block that was checked when it arrived."""
        key = (d.tx_hash, d.log_index)
        if key in self.deposits:
            raise LedgerError("deposit already credited")
        if events is not None and events.deposit(d.tx_hash, d.log_index) != (
            self.area_id,
            d.account,
            d.amount,
        ):
            raise LedgerError("no such deposit to this area on the main chain")
        self.deposits.add(key)
        self.balances[d.account] = self.balances.get(d.account, 0) + d.amount

    def apply_ingress(self, i: Ingress, events: ChainEvents | None) -> None:
        key = (i.src_area, i.nonce)
        if key in self.ingress:
            raise LedgerError("message already consumed")
        if events is not None:
            seen = events.delivered(i.src_area, self.area_id, i.nonce)
            if seen is None:
                raise LedgerError("message not delivered to this area on the main chain")
            if seen != (i.sender, i.recipient, i.amount, i.payload_hash):
                raise LedgerError("ingress entry does not match the delivered message")
        self.ingress.add(key)
        listing = listing_of_payload(i.payload_hash)
        epoch = epoch_of_payload(i.payload_hash)
        if epoch is not None:  # a moved balance: once per message, like any transfer
            moved = (i.recipient, epoch)
            self.moves_in[moved] = self.moves_in.get(moved, 0) + i.amount
            self.balances[i.recipient] = self.balances.get(i.recipient, 0) + i.amount
        elif listing:
            self.payments[key] = {
                "buyer": i.sender,
                "seller": i.recipient,
                "amount": i.amount,
                "listing_id": listing,
                "status": PAID,
            }
        else:  # a plain transfer
            self.balances[i.recipient] = self.balances.get(i.recipient, 0) + i.amount

    def apply_tx(self, tx: AreaTx) -> tuple[tuple | None, bytes | None]:
        """Applies a checked-signature transaction; returns (egress message fields or None,
        product id whose credit rises or None)."""
        if tx.area_id != self.area_id:
            raise LedgerError("transaction is for another area")
        if tx.nonce != self.tx_nonces.get(tx.sender, 0) + 1:
            raise LedgerError(f"transaction nonce {tx.nonce} is not the next one")
        out: tuple[tuple | None, bytes | None] = (None, None)
        if tx.kind == PAY:
            if tx.dst_area == self.area_id:
                raise LedgerError("a payment goes to another area")
            if tx.dst_area == 0 and tx.listing_id:  # area 0: a withdrawal to the main chain
                raise LedgerError("a withdrawal to the main chain pays no listing")
            if tx.dst_area == 0 and tx.recipient == b"\0" * 20:
                raise LedgerError("a withdrawal needs a recipient")
            if tx.amount <= 0 or self.balances.get(tx.sender, 0) < tx.amount:
                raise LedgerError("balance too low")
            if tx.amount > self.max_egress:
                raise LedgerError(
                    f"a payment leaves an area in messages of at most {self.max_egress} wei "
                    "(the BorderGateway outflow floor); split it"
                )
            self.balances[tx.sender] -= tx.amount
            n = self.egress_nonces.get(tx.dst_area, 0) + 1
            self.egress_nonces[tx.dst_area] = n
            payload = purchase_payload(tx.listing_id) if tx.listing_id else ZERO32
            out = (
                (self.area_id, tx.dst_area, n, tx.sender, tx.recipient, tx.amount, payload),
                None,
            )
        elif tx.kind in (SHIP, CONFIRM):
            p = self.payments.get((tx.ref_src, tx.ref_nonce))
            if p is None:
                raise LedgerError("no such payment in this area")
            if tx.kind == SHIP:
                if tx.sender != p["seller"] or p["status"] != PAID:
                    raise LedgerError("only the seller ships a paid order")
                p["status"] = SHIPPED
            else:
                if tx.sender != p["buyer"] or p["status"] not in (PAID, SHIPPED):
                    raise LedgerError("only the buyer confirms an open order")
                p["status"] = COMPLETED
                self.balances[p["seller"]] = self.balances.get(p["seller"], 0) + p["amount"]
                out = (None, product_id_of(p["listing_id"]))
        else:
            raise LedgerError(f"unknown transaction kind {tx.kind}")
        self.tx_nonces[tx.sender] = tx.nonce
        return out

    def apply_move(self, tx: AreaTx, events: ChainEvents | None) -> list[tuple]:
        """Applies a MOVE: the account's whole balance here leaves for the area the directory
        of epoch `tx.nonce` puts it in, once per (account, epoch), as egress messages of at
        most `max_egress` each; returns their fields. `events` None: a stored block replayed
        (its proof was checked when it arrived)."""
        if tx.kind != MOVE:
            raise LedgerError("not a move")
        if tx.area_id != self.area_id:
            raise LedgerError("transaction is for another area")
        epoch, account, dst = tx.nonce, tx.sender, tx.dst_area
        who = "0x" + account.hex()
        if tx.recipient != account or tx.amount or tx.listing_id or tx.ref_src or tx.ref_nonce:
            raise LedgerError("move: a move names only the account, the epoch and the area")
        if epoch < 1:
            raise LedgerError("move: epochs count from 1")
        if (account, epoch) in self.moves_out:
            raise LedgerError(f"move: {who} already moved out in epoch {epoch}")
        if dst in (0, self.area_id):
            raise LedgerError(f"move: area {dst} is not another area")
        if events is not None:
            root = events.directory_root(epoch)
            if root is None:
                raise LedgerError(f"move: the directory of epoch {epoch} is not published")
            try:
                placed = verify(root, DIRECTORY_LEAF, (who, dst), tx.proof)
            except MerkleError:
                placed = False
            if not placed:
                raise LedgerError(
                    f"move: the directory of epoch {epoch} does not put {who} in area {dst}"
                )
        amount = self.balances.get(account, 0)
        if amount <= 0:
            raise LedgerError(f"move: {who} holds nothing in area {self.area_id}")
        self.moves_out[(account, epoch)] = amount
        self.balances[account] = 0
        payload = move_payload(epoch)
        messages = []
        while amount > 0:
            part = min(amount, self.max_egress)
            n = self.egress_nonces.get(dst, 0) + 1
            self.egress_nonces[dst] = n
            messages.append((self.area_id, dst, n, account, account, part, payload))
            amount -= part
        return messages


def apply_in_turn(
    ledger: Ledger, txs: list[AreaTx], events: ChainEvents | None = None
) -> tuple[list[tuple[AreaTx, tuple[Any, bytes | None]]], list[tuple[AreaTx, str]]]:
    """Applies `txs` to `ledger` in the order given, as a block producer does with its pool;
    one that does not apply yet (say, a nonce behind another still waiting) is tried again
    after the others, until a round applies nothing. Returns (the applied ones in the order
    they applied, each with `apply_tx`'s result; the others, each with the reason it does
    not apply). The one set of rules for building a block, checking a submission and
    settling the pool after a block. A MOVE applies with `apply_move` (its proof checked
    against `events`' published root); its result is (the list of its egress messages, None)."""
    applied: list[tuple[AreaTx, tuple[Any, bytes | None]]] = []
    waiting = list(txs)
    while True:
        left: list[tuple[AreaTx, str]] = []
        for tx in waiting:
            try:
                if tx.kind == MOVE:
                    applied.append((tx, (ledger.apply_move(tx, events), None)))
                else:
                    applied.append((tx, ledger.apply_tx(tx)))
            except LedgerError as exc:
                left.append((tx, str(exc)))
        if len(left) in (0, len(waiting)):
            return applied, left
        waiting = [tx for tx, _ in left]


def tx_applies(ledger: Ledger, tx: AreaTx) -> bool:
    trial = ledger.copy()
    try:
        if tx.kind == MOVE:
            trial.apply_move(tx, None)
        else:
            trial.apply_tx(tx)
    except LedgerError:
        return False
    return True
