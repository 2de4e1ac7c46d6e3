"""The relayer's durable state in SQLite: every accepted request (its fate, the signed
transaction that carries it, the gas charged) and every decision with its reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sec_offchain.storage import open_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    hash TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    nonce TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    tx_hash TEXT,
    raw_tx BLOB,
    gas_charged INTEGER NOT NULL,
    gas_used INTEGER,
    day INTEGER NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_sender ON requests (sender, created);
CREATE INDEX IF NOT EXISTS requests_status ON requests (status);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    hash TEXT NOT NULL,
    sender TEXT NOT NULL,
    allowed INTEGER NOT NULL,
    reason TEXT NOT NULL
);
"""

# queued: accepted, not sent yet; pending: sent, not mined; then mined, reverted or dropped.
FINAL = ("mined", "reverted", "dropped")


@dataclass(frozen=True)
class Outcome:
    """A request's fate as the relayer knows it (`status` "refused" when it was not taken)."""

    hash: str
    status: str
    reason: str = ""
    tx_hash: str | None = None
    gas_used: int | None = None
    sender: str = ""

    @property
    def final(self) -> bool:
        return self.status in FINAL or self.status == "refused"

    def to_json(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "status": self.status,
            "reason": self.reason,
            "tx_hash": self.tx_hash,
            "gas_used": self.gas_used,
            "sender": self.sender,
        }


@dataclass(frozen=True)
class Row:
    hash: str
    sender: str
    body: dict[str, Any]
    status: str
    tx_hash: str | None
    raw_tx: bytes | None
    gas_charged: int

    def outcome(self, reason: str = "", gas_used: int | None = None) -> Outcome:
        return Outcome(self.hash, self.status, reason, self.tx_hash, gas_used, self.sender)


class RelayStore:
    def __init__(self, path: Path) -> None:
        self.db = open_db(path, shared=True)
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def log_decision(self, at: float, hash_: str, sender: str, allowed: bool, reason: str) -> None:
        self.db.execute(
            "INSERT INTO decisions (at, hash, sender, allowed, reason) VALUES (?, ?, ?, ?, ?)",
            (at, hash_, sender, int(allowed), reason),
        )

    def decisions(self, hash_: str | None = None) -> list[tuple[str, bool, str]]:
        """(hash, allowed, reason) in the order they were made."""
        sql = "SELECT hash, allowed, reason FROM decisions"
        rows = (
            self.db.execute(sql + " WHERE hash=? ORDER BY id", (hash_,))
            if hash_
            else self.db.execute(sql + " ORDER BY id")
        )
        return [(h, bool(a), r) for h, a, r in rows]

    def insert(
        self,
        hash_: str,
        sender: str,
        nonce: int,
        body: dict[str, Any],
        gas: int,
        day: int,
        at: float,
    ) -> None:
        self.db.execute(
            "INSERT INTO requests (hash, sender, nonce, body, status, gas_charged, day, created,"
            " updated) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
            (hash_, sender, str(nonce), json.dumps(body), gas, day, at, at),
        )

    def set_sent(self, hash_: str, tx_hash: str, raw: bytes, at: float) -> None:
        self.db.execute(
            "UPDATE requests SET status='pending', tx_hash=?, raw_tx=?, updated=? WHERE hash=?",
            (tx_hash, raw, at, hash_),
        )

    def set_final(
        self,
        hash_: str,
        status: str,
        reason: str,
        gas_used: int | None,
        at: float,
        charged: int | None = None,
    ) -> None:
        """Marks a request mined, reverted or dropped; the gas charged becomes what it (and
        its permit) used when known (`charged`, else `gas_used`)."""
        charge = charged if charged is not None else gas_used
        self.db.execute(
            "UPDATE requests SET status=?, reason=?, gas_used=?, gas_charged=COALESCE(?,"
            " gas_charged), updated=? WHERE hash=?",
            (status, reason, gas_used, charge, at, hash_),
        )

    def add_charge(self, hash_: str, gas: int) -> None:
        self.db.execute("UPDATE requests SET gas_charged=gas_charged+? WHERE hash=?", (gas, hash_))

    def get(self, hash_: str) -> Row | None:
        row = self.db.execute(
            "SELECT hash, sender, body, status, tx_hash, raw_tx, gas_charged FROM requests"
            " WHERE hash=?",
            (hash_,),
        ).fetchone()
        return self._row(row) if row else None

    def outcome(self, hash_: str) -> Outcome | None:
        row = self.db.execute(
            "SELECT hash, status, reason, tx_hash, gas_used, sender FROM requests WHERE hash=?",
            (hash_,),
        ).fetchone()
        return Outcome(*row) if row else None

    def with_status(self, status: str) -> list[Row]:
        rows = self.db.execute(
            "SELECT hash, sender, body, status, tx_hash, raw_tx, gas_charged FROM requests"
            " WHERE status=? ORDER BY created",
            (status,),
        )
        return [self._row(r) for r in rows]

    def open_count(self, sender: str) -> int:
        """Requests of `sender` accepted but not yet final (their nonces are taken)."""
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM requests WHERE sender=? AND status IN ('queued','pending')",
                (sender,),
            ).fetchone()[0]
        )

    def recent_count(self, sender: str, since: float) -> int:
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM requests WHERE sender=? AND created>=?", (sender, since)
            ).fetchone()[0]
        )

    def gas_on(self, day: int, sender: str | None = None) -> int:
        if sender is None:
            row = self.db.execute(
                "SELECT COALESCE(SUM(gas_charged), 0) FROM requests WHERE day=?", (day,)
            )
        else:
            row = self.db.execute(
                "SELECT COALESCE(SUM(gas_charged), 0) FROM requests WHERE day=? AND sender=?",
                (day, sender),
            )
        return int(row.fetchone()[0])

    def stats(self) -> dict[str, Any]:
        """For /metrics: requests by status, requests refused by the policy, and the gas
        the relayer paid for (mined and reverted requests; a revert costs gas too)."""
        by_status = {
            str(s): int(n)
            for s, n in self.db.execute("SELECT status, COUNT(*) FROM requests GROUP BY status")
        }
        refused = self.db.execute(
            "SELECT COUNT(*) FROM decisions WHERE allowed = 0 AND reason LIKE 'refused%'"
        ).fetchone()
        gas = self.db.execute(
            "SELECT COALESCE(SUM(gas_used), 0) FROM requests WHERE status IN ('mined', 'reverted')"
        ).fetchone()
        return {"by_status": by_status, "refused": int(refused[0]), "gas_used": int(gas[0])}

    @staticmethod
    def _row(row: tuple[Any, ...]) -> Row:
        h, sender, body, status, tx_hash, raw, gas = row
        return Row(h, sender, json.loads(body), status, tx_hash, bytes(raw) if raw else None, gas)
