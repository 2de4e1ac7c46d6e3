"""The indexer: every event of the deployed contracts into the store, `confirmations` blocks
behind the head, one transaction per batch.

Each step checks that the last indexed block still has the hash it had (a reorg otherwise:
the store rewinds to the newest stored block — one holding events, or a batch's last — whose
hash the chain still has, and the entities are rebuilt from the events that remain), then
reads the next range with
`eth_getLogs` over every contract address at once and writes the events, their entity
updates and the new cursor in one transaction. A restart resumes from the stored cursor; a
kill at any point loses at most the batch under way, which the next run reads again.
Event ids count up and are never reused (a rewind does not hand them out again), so a stream
client that resumes after an id never gets an id twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from web3 import Web3

from sec_offchain.contracts.deployment import Deployment
from sec_offchain.exceptions import ConfigError
from sec_offchain.gateway.decode import DecodedEvent, EventDecoder
from sec_offchain.gateway.projection import Projection
from sec_offchain.gateway.store import INSERT_EVENT, Store, Tx

log = logging.getLogger("sec.gateway.indexer")

DEFAULT_RANGE = 2_000  # blocks per eth_getLogs call
DEFAULT_CONFIRMATIONS = 0
CHECKPOINT_SPAN = 100_000  # blocks of batch ends kept for reorg checks


class Indexer:
    def __init__(
        self,
        w3: Web3,
        deployment: Deployment,
        store: Store,
        confirmations: int = DEFAULT_CONFIRMATIONS,
        block_range: int = DEFAULT_RANGE,
    ) -> None:
        if confirmations < 0:
            raise ConfigError("confirmations must be 0 or more")
        self.w3 = w3
        self.deployment = deployment
        self.store = store
        self.confirmations = confirmations
        self.block_range = max(1, block_range)
        self.decoder = EventDecoder(deployment)
        self.contract_addresses = {a.lower() for a in self.decoder.addresses}
        self.head = 0  # the chain's head as last seen
        self.reorgs = 0
        self.listeners: list[Callable[[int], None]] = []  # told the last event id after a batch
        self._timestamps: dict[str, int] = {}
        self._check_identity()

    # ── identity ────────────────────────────────────────────────────────────────────────
    def _fingerprint(self) -> str:
        escrow = self.deployment.contracts.get("Escrow")
        return f"{self.deployment.chain_id}:{escrow.address.lower() if escrow else ''}"

    def _check_identity(self) -> None:
        with self.store.transaction() as tx:
            known = tx.get_meta("deployment")
            if known is None:
                tx.set_meta("deployment", self._fingerprint())
                tx.set_meta("cursor", str(self.deployment.block - 1))
                tx.set_meta("cursor_hash", "")
                tx.set_meta("next_id", "1")
            elif known != self._fingerprint():
                raise ConfigError(
                    f"the database indexes another deployment ({known}); "
                    "give a fresh --db for this one"
                )

    # ── the loop ────────────────────────────────────────────────────────────────────────
    def run(self, stop: threading.Event, poll: float = 0.25) -> None:
        """Steps until `stop` is set; RPC failures are logged and retried."""
        failures = 0
        while not stop.is_set():
            try:
                done = self.step()
                if failures:
                    log.warning("indexer reaches the node again after %d failures", failures)
                failures = 0
            except Exception as exc:  # noqa: BLE001 - an RPC outage must not end the indexer
                failures += 1
                if failures == 1 or failures % 100 == 0:
                    log.warning("indexer step failed (%d in a row): %s", failures, exc)
                stop.wait(min(5.0, poll * 2**failures))
                continue
            if done == 0:
                stop.wait(poll)

    def step(self) -> int:
        """One batch; returns how many blocks it moved (0: nothing new, or a rewind)."""
        self.head = int(self.w3.eth.block_number)
        cursor = self.store.get_cursor()
        cursor_hash = self.store.get_meta("cursor_hash") or ""
        if cursor_hash and self._hash_of(cursor) != cursor_hash:
            self.rewind()
            return 0
        target = self.head - self.confirmations
        if target <= cursor:
            return 0
        start, end = cursor + 1, min(target, cursor + self.block_range)
        end_hash = self._hash_of(end)
        logs = self.w3.eth.get_logs(
            {
                "fromBlock": start,
                "toBlock": end,
                "address": self.decoder.addresses,  # type: ignore[typeddict-item]
            }
        )
        if self._hash_of(end) != end_hash:  # the chain moved under the read: try again
            return 0
        events = [e for e in (self.decoder.decode(dict(raw)) for raw in logs) if e is not None]
        events.sort(key=lambda e: (e.block_number, e.log_index))
        for e in events:
            if e.block_number == end and e.block_hash != end_hash:
                return 0
        stamps = {e.block_hash: self._timestamp(e, logs) for e in events}
        last_id = self._write(events, stamps, end, end_hash)
        for listener in self.listeners:
            listener(last_id)
        return end - cursor

    def catch_up(self, timeout: float = 60.0) -> None:
        """Steps until the index is at the head less the confirmations (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.step()
            if self.store.get_cursor() >= int(self.w3.eth.block_number) - self.confirmations:
                return
        raise TimeoutError("the indexer did not reach the head in time")

    # ── chain reads ─────────────────────────────────────────────────────────────────────
    def _hash_of(self, number: int) -> str:
        if number < 0:
            return ""
        block = self.w3.eth.get_block(number)
        return "0x" + bytes(block["hash"]).hex()

    def _timestamp(self, ev: DecodedEvent, logs: Any) -> int:
        if ev.block_hash not in self._timestamps:
            for raw in logs:
                if raw.get("blockTimestamp") is not None:
                    bh = raw["blockHash"]
                    key = "0x" + (bytes(bh).hex() if not isinstance(bh, str) else bh[2:])
                    ts = raw["blockTimestamp"]
                    self._timestamps[key] = int(ts, 16) if isinstance(ts, str) else int(ts)
            if ev.block_hash not in self._timestamps:
                block = self.w3.eth.get_block(ev.block_hash)
                self._timestamps[ev.block_hash] = int(block["timestamp"])
        if len(self._timestamps) > 10_000:
            self._timestamps.clear()
            return self._timestamp(ev, logs)
        return self._timestamps[ev.block_hash]

    # ── writes ──────────────────────────────────────────────────────────────────────────
    def _write(
        self, events: list[DecodedEvent], stamps: dict[str, int], end: int, end_hash: str
    ) -> int:
        with self.store.transaction() as tx:
            next_id = int(tx.get_meta("next_id") or 1)
            proj = self._projection(tx)
            rows, accounts, blocks = [], [], {}
            for ev in events:
                ts = stamps[ev.block_hash]
                who, summary = proj.apply(next_id, ts, ev)
                rows.append(_event_row(next_id, ev, ts, summary))
                accounts.extend((a, next_id) for a in who)
                blocks[ev.block_number] = ev.block_hash
                next_id += 1
            tx.executemany(INSERT_EVENT, rows)
            tx.executemany("INSERT INTO event_accounts (account, event_id) VALUES (?, ?)", accounts)
            tx.executemany(
                "INSERT INTO blocks (number, hash) VALUES (?, ?)", sorted(blocks.items())
            )
            proj.flush()
            tx.execute(
                "INSERT INTO checkpoints (number, hash) VALUES (?, ?) "
                "ON CONFLICT (number) DO UPDATE SET hash = excluded.hash",
                (end, end_hash),
            )
            tx.execute("DELETE FROM checkpoints WHERE number < ?", (end - CHECKPOINT_SPAN,))
            tx.set_meta("next_id", str(next_id))
            tx.set_meta("cursor", str(end))
            tx.set_meta("cursor_hash", end_hash)
        return next_id - 1

    def _projection(self, tx: Tx) -> Projection:
        proj = Projection(tx)
        proj.contract_addresses = self.contract_addresses  # type: ignore[attr-defined]
        return proj

    def rewind(self) -> int:
        """Drops what a reorg replaced: back to the newest stored block the chain still has,
        entities rebuilt from the remaining events. Returns the block it rewound to."""
        stored = self.store.query(
            "SELECT number, hash FROM blocks UNION SELECT number, hash FROM checkpoints"
            " ORDER BY number DESC"
        )
        fork = self.deployment.block - 1
        for number, block_hash in stored:
            if number <= self.head and self._hash_of(number) == block_hash:
                fork = number
                break
        fork_hash = self._hash_of(fork)
        with self.store.transaction() as tx:
            gone = tx.execute("SELECT COUNT(*) FROM events WHERE block_number > ?", (fork,))[0][0]
            tx.execute(
                "DELETE FROM event_accounts WHERE event_id IN "
                "(SELECT id FROM events WHERE block_number > ?)",
                (fork,),
            )
            tx.execute("DELETE FROM events WHERE block_number > ?", (fork,))
            tx.execute("DELETE FROM blocks WHERE number > ?", (fork,))
            tx.execute("DELETE FROM checkpoints WHERE number > ?", (fork,))
            tx.execute("DELETE FROM entities")
            proj = self._projection(tx)
            for row in tx.execute(
                "SELECT id, block_number, block_hash, log_index, tx_hash, timestamp, contract,"
                " name, args FROM events ORDER BY id"
            ):
                ev = DecodedEvent(row[1], row[2], row[3], row[4], row[6], row[7], _loads(row[8]))
                proj.apply(int(row[0]), int(row[5]), ev)
            proj.flush()
            tx.set_meta("cursor", str(fork))
            tx.set_meta("cursor_hash", fork_hash)
        self.reorgs += 1
        log.warning("reorg: rewound to block %d, %d events dropped", fork, gone)
        return fork


def _event_row(event_id: int, ev: DecodedEvent, ts: int, summary: str) -> tuple:
    import json

    return (
        event_id,
        ev.block_number,
        ev.block_hash,
        ev.log_index,
        ev.tx_hash,
        ts,
        ev.contract,
        ev.name,
        json.dumps(ev.args),
        summary,
    )


def _loads(text: str) -> dict[str, Any]:
    import json

    return json.loads(text)
