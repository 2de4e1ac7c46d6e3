"""One node's copy of one area's chain: record validation, the record pool, block building and
checking, fork choice, finality, and the SQLite store under all of it.

Everything a node acknowledges is committed first (WAL, synchronous=FULL): an accepted record
is in the pool table before `add_record` returns, a block is in the blocks table before it is
gossiped. The in-memory state (credit table, included orders) is derived: it is rebuilt from
the stored canonical chain on start and on a reorg, so a node killed at any instant restarts
with what it had acknowledged.

Block production is behind `ProducerPolicy`; `RoundRobin` (the area's nodes take heights in
turn; the next in line may stand in once the due producer has been silent for a while) is the
simple policy here. Fork choice is longest chain (ties: the block seen first); a block is
final once the best chain is `FINALITY_DEPTH` blocks past it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from sec_offchain.area.block import (
    Block,
    FullHeader,
    Message,
    body_digests,
    credit_root,
    egress_root,
    tx_root,
)
from sec_offchain.area.ledger import (
    MAX_EGRESS,
    MOVE,
    AreaTx,
    ChainEvents,
    Ledger,
    LedgerError,
    NoChain,
    apply_in_turn,
)
from sec_offchain.area.merkle import ZERO32
from sec_offchain.area.records import (
    RecordError,
    TradeRecord,
    check_well_formed,
    recover_address,
)
from sec_offchain.exceptions import SecError
from sec_offchain.storage import open_db

FINALITY_DEPTH = 2
LATE_SLOTS = 1  # the refusal rule is for late blocks (docs/consensus.md)
MAX_RECORDS_PER_BLOCK = 10_000
MAX_CLOCK_DRIFT = 5
# what became of an area transaction this node has seen (`tx_fates`)
PENDING, APPLIED, REFUSED = "pending", "applied", "refused"
REFUSALS_KEPT = 32  # refused transactions remembered per sender (the newest)


class BlockError(SecError):
    """A block does not extend a known chain or breaks a rule."""


class ProducerPolicy(Protocol):
    def may_produce(
        self, producer: bytes, height: int, timestamp: int, parent: FullHeader | None
    ) -> bool: ...

    def due(self, height: int) -> bytes: ...


@dataclass(frozen=True)
class RoundRobin:
    """Producers take heights in turn; the k-th stand-in may produce once the parent is
    `interval * (1 + 2k)` seconds old."""

    producers: tuple[bytes, ...]
    interval: float = 1.0
    genesis_time: int = 0  # stand-ins for height 1 count from here (0: none for height 1)

    def rank(self, producer: bytes, height: int) -> int | None:
        if producer not in self.producers:
            return None
        return (self.producers.index(producer) - height) % len(self.producers)

    def due(self, height: int) -> bytes:
        return self.producers[height % len(self.producers)]

    def may_produce(
        self, producer: bytes, height: int, timestamp: int, parent: FullHeader | None
    ) -> bool:
        rank = self.rank(producer, height)
        if rank is None:
            return False
        if rank == 0:
            return True
        if parent is None and not self.genesis_time:
            return False
        since = parent.timestamp if parent is not None else self.genesis_time
        return timestamp - since >= self.interval * (1 + 2 * rank)


@dataclass(frozen=True)
class AreaConfig:
    area_id: int
    chain_id: int
    separator: bytes  # AnchorHub EIP-712 domain separator (block ids)
    record_separator: bytes  # "SEC Area" domain separator (record digests)
    bridges: tuple[bytes, ...] = ()  # escrow bridge keys, primary first
    max_egress: int = MAX_EGRESS  # the deployment's BorderGateway outflow floor


class AreaChain:
    """A node's chain of one area, persisted at `path`."""

    def __init__(
        self,
        path: Path,
        config: AreaConfig,
        policy: ProducerPolicy,
        is_disabled: Callable[[bytes], bool] = lambda account: False,
        events: ChainEvents | None = None,
        check_area: Callable[[TradeRecord], None] | None = None,
    ) -> None:
        """`check_area(record)` raises RecordError when a seller-written record's seller is
        not in this area for its order (the published directory; None: not checked). It is
        applied when a record enters the pool, not to the records of a received block:
        block validity never depends on a directory file a node may lack."""
        self.config = config
        self.check_area = check_area
        self.events: ChainEvents = events or NoChain()
        self.policy = policy
        self.is_disabled = is_disabled
        self._lock = threading.RLock()
        self.db = open_db(path, shared=True)
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS pool (order_id INTEGER PRIMARY KEY, record_id BLOB NOT NULL,
                rank INTEGER NOT NULL, body BLOB NOT NULL, seq INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS blocks (id BLOB PRIMARY KEY, height INTEGER NOT NULL,
                parent BLOB NOT NULL, body BLOB NOT NULL, seq INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS canonical (height INTEGER PRIMARY KEY, id BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS included (order_id INTEGER PRIMARY KEY,
                height INTEGER NOT NULL, record_id BLOB NOT NULL, buyer BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS included_buyer ON included (buyer);
            CREATE TABLE IF NOT EXISTS txpool (id BLOB PRIMARY KEY, sender BLOB NOT NULL,
                nonce INTEGER NOT NULL, body BLOB NOT NULL, seq INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS txfate (id BLOB PRIMARY KEY, sender BLOB NOT NULL,
                nonce INTEGER NOT NULL, body BLOB NOT NULL, status TEXT NOT NULL,
                height INTEGER, reason TEXT);
            CREATE INDEX IF NOT EXISTS txfate_sender ON txfate (sender, nonce);
            """
        )
        self.headers: dict[bytes, FullHeader] = {}
        self.credits: dict[bytes, int] = {}
        self.ledger = Ledger(config.area_id, config.max_egress)
        self.canonical: list[bytes] = []  # canonical[h - 1] = id at height h
        self._decoded: dict[bytes, TradeRecord] = {}
        self._built: dict[bytes, Block] = {}  # blocks this node built (their roots are its own)
        self._seq = 0
        self.equivocations: list[tuple[Block, Block]] = []
        self.shares: dict[tuple[bytes, int], dict[bytes, int]] = {}  # (parent, slot) -> shares
        self._rebuild()

    # ------------------------------------------------------------------ state

    def close(self) -> None:
        self.db.close()

    @property
    def height(self) -> int:
        return len(self.canonical)

    @property
    def tip(self) -> bytes:
        return self.canonical[-1] if self.canonical else ZERO32

    @property
    def final_height(self) -> int:
        """The best chain is FINALITY_DEPTH past it, and every competing fork that branches
        off at or below it is FINALITY_DEPTH shorter than the best chain."""
        top = self.height
        final = top - FINALITY_DEPTH
        if final <= 0:
            return 0
        on_best = set(self.canonical)
        parents = {hd.parent_hash for hd in self.headers.values()}
        for bid, hd in self.headers.items():
            if bid in on_best or bid in parents or hd.height <= final:
                continue
            # a competing tip close to the best one: final only below its fork point
            cur = bid
            while cur not in on_best and cur != ZERO32:
                cur = self.headers[cur].parent_hash
            final = min(final, self.headers[cur].height if cur != ZERO32 else 0)
        return max(final, 0)

    def _recent_times(self, parent_id: bytes, n: int) -> list[int]:
        out = []
        cur = parent_id
        while cur != ZERO32 and len(out) < n:
            out.append(self.headers[cur].timestamp)
            cur = self.headers[cur].parent_hash
        return list(reversed(out))

    def block_at(self, height: int) -> Block | None:
        if not 1 <= height <= self.height:
            return None
        return self.block(self.canonical[height - 1])

    def block(self, block_id: bytes) -> Block | None:
        row = self.db.execute("SELECT body FROM blocks WHERE id=?", (block_id,)).fetchone()
        return Block.decode(row[0]) if row else None

    def _rebuild(self) -> None:
        """Derives the in-memory state from the stored canonical chain, decoding each stored
        block once: a node restarted after a kill is not back until this is done, and three
        decodes a block (headers, credits, ledger) made its start-up grow with the chain
        until, on a loaded machine, its next turn to produce passed to a stand-in."""
        self.headers = {}
        self.canonical = []
        self.credits = {}
        ledger = Ledger(self.config.area_id, self.config.max_egress)
        for bid, body in self.db.execute(
            "SELECT b.id, b.body FROM canonical c JOIN blocks b ON b.id = c.id ORDER BY c.height"
        ):
            block = Block.decode(body)
            self.headers[bid] = block.header
            self.canonical.append(bid)
            for product, credit in block.credits:
                self.credits[product] = credit
            self._apply_body(ledger, block, None)
        self.ledger = ledger
        for bid, body in self.db.execute(
            "SELECT id, body FROM blocks WHERE id NOT IN (SELECT id FROM canonical)"
        ):
            self.headers[bid] = Block.decode(body).header
        row = self.db.execute("SELECT MAX(seq) FROM blocks").fetchone()
        row2 = self.db.execute("SELECT MAX(seq) FROM pool").fetchone()
        self._seq = max(row[0] or 0, row2[0] or 0)

    # ------------------------------------------------------------------ ledger

    def _replay(self, branch: list[bytes]) -> Ledger:
        """The ledger after the stored blocks of `branch` (checked when they arrived)."""
        ledger = Ledger(self.config.area_id, self.config.max_egress)
        for bid in branch:
            block = self.block(bid)
            assert block is not None
            self._apply_body(ledger, block, None)
        return ledger

    def _apply_body(
        self, ledger: Ledger, block: Block, events: ChainEvents | None
    ) -> tuple[list[Message], dict[bytes, int]]:
        """Applies deposits, ingress and area transactions; returns the egress messages they
        produce and the products whose credit rises (by how much)."""
        egress: list[Message] = []
        credit_up: dict[bytes, int] = {}
        producer = block.header.producer
        ledger.produced[producer] = ledger.produced.get(producer, 0) + 1
        for member, _ in block.shares:
            ledger.participation[member] = ledger.participation.get(member, 0) + 1
        for d in block.deposits:
            ledger.apply_deposit(d, events)
        for i in block.ingress:
            ledger.apply_ingress(i, events)
        for tx in block.txs:
            if events is not None:
                tx.check_signature(self.config.record_separator)
            if tx.kind == MOVE:
                egress += [Message(*m) for m in ledger.apply_move(tx, events)]
                continue
            message, product = ledger.apply_tx(tx)
            if message is not None:
                egress.append(Message(*message))
            if product is not None:
                credit_up[product] = credit_up.get(product, 0) + 1
        return egress, credit_up

    def add_share(self, parent: bytes, slot: int, member: bytes, nonce: int) -> bool:
        """Keeps a valid participation share for the next block on `parent` in `slot`."""
        check = getattr(self.policy, "check_shares", None)
        if check is None or parent not in self.headers and parent != ZERO32:
            return False
        parent_header = self.headers.get(parent)
        difficulty = self.policy.expected_difficulty(parent_header, self._recent_times(parent, 10))
        probe = FullHeader(
            self.config.area_id,
            0,
            parent,
            ZERO32,
            ZERO32,
            ZERO32,
            int(self.policy.genesis_time + slot * self.policy.slot_time),
            difficulty=difficulty,
            producer=b"\0" * 20,
        )
        if check(probe, [(member, nonce)]) is not None:
            return False
        bucket = self.shares.setdefault((parent, slot), {})
        if member in bucket:
            return False
        bucket[member] = nonce
        if len(self.shares) > 32:
            self.shares.pop(next(iter(self.shares)))
        return True

    def add_tx(self, tx: AreaTx, strict: bool = True) -> bool:
        """Checks and pools a signed area transaction (committed before returning). True if
        new, False if already pooled or applied; LedgerError with the reason when it does not
        apply. `strict` (a submission): it must apply on this node's ledger after every
        pooled transaction, by the rules a block applies (`apply_in_turn`), and a refusal is
        remembered as its fate. A gossiped one (`strict` False) only needs an unused nonce:
        this node may be a block behind the one that accepted it, and the pool is settled
        against the ledger after each block anyway."""
        sep = self.config.record_separator
        tx.check_signature(sep)
        if tx.area_id != self.config.area_id:
            raise LedgerError(f"transaction is for area {tx.area_id}")
        tid = tx.digest(sep)
        with self._lock:
            row = self.db.execute("SELECT status FROM txfate WHERE id=?", (tid,)).fetchone()
            if row is not None and (row[0] != REFUSED or not strict):
                return False
            if tx.kind == MOVE:
                # no signature: the proof against the epoch's published root must hold now
                if (tx.sender, tx.nonce) in self.ledger.moves_out:
                    return False
                try:
                    self.ledger.copy().apply_move(tx, self.events)
                except LedgerError as exc:
                    if strict:
                        self._refused(tx, tid, str(exc))
                    raise
            elif strict:
                try:
                    self.pending_ledger().apply_tx(tx)
                except LedgerError as exc:
                    self._refused(tx, tid, str(exc))
                    raise
            elif tx.nonce <= self.ledger.tx_nonces.get(tx.sender, 0):
                return False
            self._seq += 1
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute(
                    "INSERT OR IGNORE INTO txpool VALUES (?, ?, ?, ?, ?)",
                    (tid, tx.pool_sender, tx.nonce, tx.encode(), self._seq),
                )
                self._set_fate(tid, tx, PENDING)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            return True

    def _set_fate(self, tid: bytes, tx: AreaTx, status: str, height=None, reason=None) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO txfate VALUES (?, ?, ?, ?, ?, ?, ?)",
            (tid, tx.pool_sender, tx.nonce, tx.encode(), status, height, reason),
        )

    def _refused(self, tx: AreaTx, tid: bytes, reason: str) -> None:
        """Remembers a refused submission (the newest REFUSALS_KEPT per sender)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self._set_fate(tid, tx, REFUSED, None, reason)
            self.db.execute(
                "DELETE FROM txfate WHERE sender=? AND status=? AND rowid NOT IN (SELECT rowid"
                " FROM txfate WHERE sender=? AND status=? ORDER BY rowid DESC LIMIT ?)",
                (tx.pool_sender, REFUSED, tx.pool_sender, REFUSED, REFUSALS_KEPT),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def pending_ledger(self) -> Ledger:
        """The ledger as the next block would leave it with this node's pool (a copy)."""
        ledger = self.ledger.copy()
        apply_in_turn(ledger, self.tx_pool(), self.events)
        return ledger

    def _settle_pool(self, ledger: Ledger) -> None:
        """After the canonical chain moved (inside the caller's transaction): a pooled
        transaction that no longer applies after the others (another one took its nonce,
        shipped or confirmed its payment first, spent the balance) leaves the pool, refused
        with its reason, instead of waiting for ever."""
        pool = self.tx_pool()
        if not pool:
            return
        _, left = apply_in_turn(ledger.copy(), pool, self.events)
        sep = self.config.record_separator
        for tx, reason in left:
            tid = tx.digest(sep)
            self.db.execute("DELETE FROM txpool WHERE id=?", (tid,))
            self._set_fate(tid, tx, REFUSED, None, reason)

    def tx_fates(self, sender: bytes, limit: int = 100) -> list[dict]:
        """The newest `limit` area transactions of `sender` this node has seen, by nonce:
        each with its status (pending, applied at `height`, refused with `reason`)."""
        rows = self.db.execute(
            "SELECT id, body, status, height, reason FROM txfate WHERE sender=?"
            " ORDER BY nonce DESC, rowid DESC LIMIT ?",
            (sender, limit),
        ).fetchall()
        out = []
        for tid, body, status, height, reason in reversed(rows):
            out.append(
                {
                    "id": tid,
                    "tx": AreaTx.decode(body),
                    "status": status,
                    "height": height,
                    "reason": reason,
                }
            )
        return out

    def tx_pool(self) -> list[AreaTx]:
        """Pooled transactions in the order they arrived (a block applies them in turn)."""
        rows = self.db.execute("SELECT body FROM txpool ORDER BY seq")
        return [AreaTx.decode(b) for (b,) in rows]

    # ------------------------------------------------------------------ records

    def writer_rank(self, record: TradeRecord, signer: bytes) -> int:
        if signer == record.seller:
            return 0
        if signer in self.config.bridges:
            return 1 + self.config.bridges.index(signer)
        raise RecordError("record is signed by neither its seller nor an escrow bridge")

    def check_record(self, record: TradeRecord) -> tuple[bytes, int]:
        """(record id, writer rank) of a valid record; RecordError otherwise."""
        check_well_formed(record)
        if record.area_id != self.config.area_id:
            raise RecordError(f"record is for area {record.area_id}, not {self.config.area_id}")
        record_id = record.digest(self.config.record_separator)
        signer = recover_address(record_id, record.signature)
        rank = self.writer_rank(record, signer)
        if rank > 0:
            # a bridge copies an order the escrow already took (it refuses disabled parties
            # when listing and buying); the ruling that disables a seller must still be kept
            return record_id, rank
        if self.is_disabled(record.seller):
            raise RecordError("seller is disabled")
        if self.is_disabled(record.buyer):
            raise RecordError("buyer is disabled")
        return record_id, rank

    def add_record(self, record: TradeRecord) -> bool:
        """Validates and pools `record`, committed before returning. True if it is new (or
        replaces a pooled record of the same order by a better-ranked writer); False for a
        duplicate (harmless). RecordError for an invalid record."""
        record_id, rank = self.check_record(record)
        if rank == 0 and self.check_area is not None:
            self.check_area(record)
        with self._lock:
            if self.db.execute(
                "SELECT 1 FROM included WHERE order_id=?", (record.order_id,)
            ).fetchone():
                return False
            row = self.db.execute(
                "SELECT rank, record_id FROM pool WHERE order_id=?", (record.order_id,)
            ).fetchone()
            if row and (row[0] < rank or (row[0] == rank and row[1] <= record_id)):
                return False
            self._seq += 1
            self.db.execute(
                "INSERT OR REPLACE INTO pool VALUES (?, ?, ?, ?, ?)",
                (record.order_id, record_id, rank, record.encode(), self._seq),
            )
            self._decoded[record_id] = record
            return True

    def add_records(self, records: list[TradeRecord]) -> list[bool | str]:
        """`add_record` for a batch, committed in one transaction (group commit, and one
        query per table instead of three statements per record): per record True (new),
        False (duplicate) or the reason it was refused."""
        out: list[bool | str] = []
        checked: list[tuple[int, TradeRecord, bytes, int]] = []
        for i, r in enumerate(records):
            try:
                rid, rank = self.check_record(r)
                if rank == 0 and self.check_area is not None:
                    self.check_area(r)
            except RecordError as exc:
                out.append(str(exc))
                continue
            out.append(False)
            checked.append((i, r, rid, rank))
        with self._lock:
            orders = sorted({r.order_id for _, r, _, _ in checked})
            included: set[int] = set()
            pooled: dict[int, tuple[int, bytes]] = {}
            for k in range(0, len(orders), 500):
                chunk = orders[k : k + 500]
                marks = ",".join("?" * len(chunk))
                included |= {
                    o
                    for (o,) in self.db.execute(
                        f"SELECT order_id FROM included WHERE order_id IN ({marks})", chunk
                    )
                }
                for o, rank, rid in self.db.execute(
                    f"SELECT order_id, rank, record_id FROM pool WHERE order_id IN ({marks})", chunk
                ):
                    pooled[o] = (rank, rid)
            rows = {}
            for i, r, rid, rank in checked:
                if r.order_id in included:
                    continue
                have = pooled.get(r.order_id)
                if have and (have[0] < rank or (have[0] == rank and have[1] <= rid)):
                    continue
                pooled[r.order_id] = (rank, rid)
                self._seq += 1
                rows[r.order_id] = (r.order_id, rid, rank, r.encode(), self._seq)
                self._decoded[rid] = r
                out[i] = True
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany(
                    "INSERT OR REPLACE INTO pool VALUES (?, ?, ?, ?, ?)", list(rows.values())
                )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return out

    def pool(self, limit: int = MAX_RECORDS_PER_BLOCK) -> list[TradeRecord]:
        """Pooled records, oldest first (decoded ones are kept in memory: the table is the
        truth, the cache only saves decoding what this process already decoded)."""
        rows = self.db.execute(
            "SELECT order_id, record_id FROM pool ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        out = []
        for order_id, rid in rows:
            r = self._decoded.get(rid)
            if r is None:  # pooled before this process started
                (body,) = self.db.execute(
                    "SELECT body FROM pool WHERE order_id=?", (order_id,)
                ).fetchone()
                r = self._decoded[rid] = TradeRecord.decode(body)
            out.append(r)
        return out

    def pool_size(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM pool").fetchone()[0])

    def has_order(self, order_id: int) -> bool:
        return bool(
            self.db.execute(
                "SELECT 1 FROM included WHERE order_id=? UNION SELECT 1 FROM pool WHERE order_id=?",
                (order_id, order_id),
            ).fetchone()
        )

    def records_of_buyer(self, buyer: bytes) -> list[tuple[int, TradeRecord]]:
        """(height, record) of every included record whose buyer is `buyer`."""
        out = []
        for height, order_id in self.db.execute(
            "SELECT height, order_id FROM included WHERE buyer=? ORDER BY height", (buyer,)
        ).fetchall():
            block = self.block_at(height)
            assert block is not None
            out += [(height, r) for r in block.records if r.order_id == order_id]
        return out

    # ------------------------------------------------------------------ blocks

    def build_block(
        self,
        producer_key: bytes,
        producer: bytes,
        timestamp: int | None = None,
        records: Iterable[TradeRecord] | None = None,
    ) -> Block:
        """The next block on the tip, sealed by the producer (not yet accepted)."""
        with self._lock:
            parent = self.headers.get(self.tip)
            ts = int(timestamp if timestamp is not None else time.time())
            if parent is not None:
                ts = max(ts, parent.timestamp + 1)
            chosen = list(records if records is not None else self.pool())
            # main-chain inputs not yet applied, then pooled area transactions that apply
            scratch = self.ledger.copy()
            deposits, ingress, txs = [], [], []
            egress: list[Message] = []
            credit_up: dict[bytes, int] = {}
            for d in self.events.deposits_for(self.config.area_id):
                try:
                    scratch.apply_deposit(d, self.events)
                    deposits.append(d)
                except LedgerError:
                    continue
            for i in self.events.ingress_for(self.config.area_id):
                try:
                    scratch.apply_ingress(i, self.events)
                    ingress.append(i)
                except LedgerError:
                    continue
            for tx, (message, product) in apply_in_turn(scratch, self.tx_pool(), self.events)[0]:
                if tx.kind == MOVE:  # `message`: the move's egress messages
                    txs.append(tx)
                    egress += [Message(*moved) for moved in message]
                    continue
                txs.append(tx)
                if message is not None:
                    egress.append(Message(*message))
                if product is not None:
                    credit_up[product] = credit_up.get(product, 0) + 1
            touched: dict[bytes, int] = {}
            for r in chosen:
                touched[r.product_id] = (
                    touched.get(r.product_id, self.credits.get(r.product_id, 0)) + r.credit_delta
                )
            for product, up in credit_up.items():
                touched[product] = touched.get(product, self.credits.get(product, 0)) + up
            table = dict(self.credits)
            table.update(touched)
            ids = [r.digest(self.config.record_separator) for r in chosen]
            body = Block(
                FullHeader(self.config.area_id, 0, ZERO32, ZERO32, ZERO32, ZERO32, 0),
                (),
                tuple(egress),
                tuple(ingress),
                tuple(deposits),
                tuple(txs),
            )
            header = FullHeader(
                area_id=self.config.area_id,
                height=self.height + 1,
                parent_hash=self.tip,
                tx_root=tx_root(ids, body_digests(body, self.config.record_separator)),
                credit_root=credit_root(table),
                egress_root=egress_root(egress),
                timestamp=ts,
                producer=producer,
            )
            if hasattr(self.policy, "check_header"):  # community proof of work
                from sec_offchain.consensus.communities import on_duty
                from sec_offchain.consensus.pow import mine

                header = replace(
                    header,
                    community=on_duty(self.policy.slot_of(ts), self.policy.k),
                    difficulty=self.policy.expected_difficulty(
                        parent, self._recent_times(self.tip, 10)
                    ),
                )
                mined = mine(header, start=int.from_bytes(producer[:4], "big") << 20)
                if mined is None:
                    raise BlockError("no proof of work found")
                header = mined
            shares: tuple = ()
            if hasattr(self.policy, "check_shares"):
                slot = self.policy.slot_of(header.timestamp)
                shares = tuple(
                    (m, n)
                    for m, n in sorted(self.shares.get((self.tip, slot), {}).items())
                    if m != producer and self.policy.check_shares(header, [(m, n)]) is None
                )
                if shares:  # the shares are part of the body: tx_root covers them
                    body = replace(body, shares=shares)
                    header = mine(
                        replace(
                            header,
                            tx_root=tx_root(ids, body_digests(body, self.config.record_separator)),
                            nonce=0,
                        ),
                        start=int.from_bytes(producer[:4], "big") << 20,
                    )
            block = Block(
                header,
                tuple(chosen),
                tuple(egress),
                tuple(ingress),
                tuple(deposits),
                tuple(txs),
                shares,
                credits=tuple(sorted(touched.items())),
            )
            block = block.sealed(producer_key)
            if len(self._built) > 64:
                self._built.clear()
            self._built[block.block_id(self.config.separator)] = block
            return block

    def add_block(self, block: Block, now: float | None = None) -> bool:
        """Checks `block` against its parent and stores it; moves the tip when it makes a
        longer chain. True if the block is new and valid, False if already known; BlockError
        when it is invalid (nothing stored)."""
        with self._lock:
            bid = block.block_id(self.config.separator)
            if bid in self.headers:
                return False
            h = block.header
            if h.area_id != self.config.area_id:
                raise BlockError("block is for another area")
            parent = None
            if h.height == 1:
                if h.parent_hash != ZERO32:
                    raise BlockError("the first block has the zero parent")
            else:
                parent = self.headers.get(h.parent_hash)
                if parent is None:
                    raise BlockError("unknown parent")
                if parent.height != h.height - 1:
                    raise BlockError("height is not parent + 1")
                if h.timestamp <= parent.timestamp:
                    raise BlockError("timestamp is not after the parent's")
            if h.timestamp > (now if now is not None else time.time()) + MAX_CLOCK_DRIFT:
                raise BlockError("timestamp is in the future")
            try:
                sealer = block.sealer()
            except RecordError as exc:
                raise BlockError(f"bad producer signature: {exc}") from exc
            if sealer != h.producer or not self.policy.may_produce(
                h.producer, h.height, h.timestamp, parent
            ):
                raise BlockError("block is not by a producer due at this height")
            # the same producer, two different blocks at one height: evidence for the judges
            for other_id, other in self.headers.items():
                if other.producer == h.producer and other.height == h.height and other_id != bid:
                    other_block = self.block(other_id)
                    if other_block is not None:
                        self.equivocations.append((other_block, block))
                    break
            check = getattr(self.policy, "check_header", None)
            if check is None and block.shares:
                raise BlockError("participation shares need the community proof of work")
            if check is not None:
                reason = check(h, parent, self._recent_times(h.parent_hash, 10))
                reason = reason or self.policy.check_shares(h, block.shares)
                if reason:
                    raise BlockError(reason)
                slot_of = self.policy.slot_of
                slot = slot_of(h.timestamp)
                current = slot_of(int(now if now is not None else time.time()))
                if current - slot <= LATE_SLOTS:
                    for sib_id, sib in self.headers.items():
                        if sib.parent_hash != h.parent_hash or sib_id == bid:
                            continue
                        if any(
                            c.parent_hash == sib_id and slot_of(c.timestamp) > slot
                            for c in self.headers.values()
                        ):
                            raise BlockError(
                                "refused: the next community already built on a competing block"
                            )
            if len(block.records) > MAX_RECORDS_PER_BLOCK:
                raise BlockError("too many records")
            ids = []
            orders = set()
            # records this node verified on arrival are in the pool by id: not checked twice
            pooled = {rid for (rid,) in self.db.execute("SELECT record_id FROM pool")}
            for r in block.records:
                rid = r.digest(self.config.record_separator)
                if rid in pooled:
                    ids.append(rid)
                    if r.order_id in orders:
                        raise BlockError(f"order {r.order_id} recorded twice")
                    orders.add(r.order_id)
                    continue
                try:
                    rid, _ = self.check_record(r)
                except RecordError as exc:
                    raise BlockError(f"invalid record for order {r.order_id}: {exc}") from exc
                if r.order_id in orders:
                    raise BlockError(f"order {r.order_id} recorded twice")
                orders.add(r.order_id)
                ids.append(rid)
            own = self._built.pop(bid, None) is block
            extra = body_digests(block, self.config.record_separator)
            if not own and tx_root(ids, extra) != h.tx_root:
                raise BlockError("tx_root does not match the block's transactions")
            if egress_root(block.egress) != h.egress_root:
                raise BlockError("egress_root does not match the messages")
            # the credit table, included orders and ledger along the block's own branch
            branch = self._branch(h.parent_hash)
            base_credits, base_orders = self._state_at(branch)
            if orders & base_orders:
                raise BlockError("a record's order is already recorded on this chain")
            ledger = self.ledger.copy() if branch == self.canonical else self._replay(branch)
            try:
                egress, credit_up = self._apply_body(ledger, block, None if own else self.events)
            except LedgerError as exc:
                raise BlockError(f"ledger: {exc}") from exc
            if tuple(egress) != block.egress:
                raise BlockError("egress messages do not follow from the block's transactions")
            touched: dict[bytes, int] = {}
            for r in block.records:
                touched[r.product_id] = (
                    touched.get(r.product_id, base_credits.get(r.product_id, 0)) + r.credit_delta
                )
            for product, up in credit_up.items():
                touched[product] = touched.get(product, base_credits.get(product, 0)) + up
            if tuple(sorted(touched.items())) != block.credits:
                raise BlockError("tail credit entries do not match the records")
            table = dict(base_credits)
            table.update(touched)
            if credit_root(table) != h.credit_root:
                raise BlockError("credit_root does not match the credit table")
            self._seq += 1
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute(
                    "INSERT INTO blocks VALUES (?, ?, ?, ?, ?)",
                    (bid, h.height, h.parent_hash, block.encode(), self._seq),
                )
                if h.height > self.height:
                    self._switch_to(branch + [bid], block, ledger)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                self._rebuild()
                raise
            self.headers[bid] = h
            return True

    def _branch(self, tip: bytes) -> list[bytes]:
        """Ids from height 1 to `tip` along parents."""
        out = []
        while tip != ZERO32:
            out.append(tip)
            tip = self.headers[tip].parent_hash
        out.reverse()
        return out

    def _state_at(self, branch: list[bytes]) -> tuple[dict[bytes, int], set[int]]:
        if branch == self.canonical[: len(branch)]:
            if len(branch) == len(self.canonical):
                orders = {o for (o,) in self.db.execute("SELECT order_id FROM included")}
                return self.credits, orders
            rows = self.db.execute("SELECT order_id FROM included WHERE height<=?", (len(branch),))
            orders = {o for (o,) in rows}
            credits: dict[bytes, int] = {}
            for bid in branch:
                for p, c in self.block(bid).credits:  # type: ignore[union-attr]
                    credits[p] = c
            return credits, orders
        credits = {}
        orders = set()
        for bid in branch:
            b = self.block(bid)
            assert b is not None
            for p, c in b.credits:
                credits[p] = c
            orders |= {r.order_id for r in b.records}
        return credits, orders

    def _switch_to(self, new_chain: list[bytes], new_block: Block, ledger: Ledger) -> None:
        """Makes `new_chain` canonical (inside the caller's transaction): orphaned records go
        back to the pool, included ones leave it."""
        common = 0
        while (
            common < min(len(self.canonical), len(new_chain))
            and self.canonical[common] == new_chain[common]
        ):
            common += 1
        for height in range(len(self.canonical), common, -1):
            old = self.block(self.canonical[height - 1])
            assert old is not None
            for r in old.records:
                self._seq += 1
                rid = r.digest(self.config.record_separator)
                self.db.execute(
                    "INSERT OR IGNORE INTO pool VALUES (?, ?, ?, ?, ?)",
                    (r.order_id, rid, 0, r.encode(), self._seq),
                )
            for tx in old.txs:
                self._seq += 1
                tid = tx.digest(self.config.record_separator)
                self.db.execute(
                    "INSERT OR IGNORE INTO txpool VALUES (?, ?, ?, ?, ?)",
                    (tid, tx.pool_sender, tx.nonce, tx.encode(), self._seq),
                )
                self._set_fate(tid, tx, PENDING)
            self.db.execute("DELETE FROM included WHERE height=?", (height,))
            self.db.execute("DELETE FROM canonical WHERE height=?", (height,))
        for height in range(common + 1, len(new_chain) + 1):
            bid = new_chain[height - 1]
            b = new_block if bid == new_chain[-1] else self.block(bid)
            assert b is not None
            self.db.execute("INSERT INTO canonical VALUES (?, ?)", (height, bid))
            rows = [
                (r.order_id, height, r.digest(self.config.record_separator), r.buyer)
                for r in b.records
            ]
            self.db.executemany("INSERT INTO included VALUES (?, ?, ?, ?)", rows)
            self.db.executemany("DELETE FROM pool WHERE order_id=?", [(o,) for o, *_ in rows])
            for _, _, rid, _ in rows:
                self._decoded.pop(rid, None)
            for t in b.txs:
                tid = t.digest(self.config.record_separator)
                self.db.execute("DELETE FROM txpool WHERE id=?", (tid,))
                self._set_fate(tid, t, APPLIED, height)
        reorged = common < len(self.canonical)
        self.canonical = new_chain
        self.ledger = ledger
        # transactions that no longer apply leave the pool, refused with their reason
        self._settle_pool(ledger)
        if reorged:
            self.credits = {}
            for bid in new_chain:
                b = new_block if bid == new_chain[-1] else self.block(bid)
                for p, c in b.credits:  # type: ignore[union-attr]
                    self.credits[p] = c
        else:
            for p, c in new_block.credits:
                self.credits[p] = c
