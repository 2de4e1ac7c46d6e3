"""Following the main chain's events through reorgs.

Every reader of chain events (the escrow bridge, the area ledgers' BorderGateway view) scans
up to `confirmations` blocks below the head and remembers the hash of each block it scanned
up to (a `BlockTrail`). Before it scans on, it compares those hashes with the chain's: where
they differ, a reorg replaced blocks it had read, and it rewinds to the highest block whose
hash still matches and reads again from there. Its position therefore never runs ahead of
the chain it reads: what a reorg removed is forgotten and what it added is read.
"""

from __future__ import annotations

import logging
import sqlite3

from web3 import Web3

log = logging.getLogger("sec.follow")

TRAIL_KEEP = 128  # scanned-to blocks remembered per reader (deeper reorgs rescan from 0)


class BlockTrail:
    """The hashes of the blocks a reader scanned up to, in SQLite (`db`, kept across
    restarts) or in memory."""

    def __init__(self, db: sqlite3.Connection | None = None, name: str = "events") -> None:
        self.db = db if db is not None else sqlite3.connect(":memory:", check_same_thread=False)
        self.name = name
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS trail (name TEXT NOT NULL, number INTEGER NOT NULL,"
            " hash BLOB NOT NULL, PRIMARY KEY (name, number))"
        )

    def remember(self, number: int, block_hash: bytes) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO trail VALUES (?, ?, ?)", (self.name, number, block_hash)
        )
        self.db.execute(
            "DELETE FROM trail WHERE name=? AND number NOT IN (SELECT number FROM trail"
            " WHERE name=? ORDER BY number DESC LIMIT ?)",
            (self.name, self.name, TRAIL_KEEP),
        )

    def forget_above(self, number: int) -> None:
        self.db.execute("DELETE FROM trail WHERE name=? AND number>?", (self.name, number))

    def entries(self) -> list[tuple[int, bytes]]:
        return [
            (int(n), bytes(h))
            for n, h in self.db.execute(
                "SELECT number, hash FROM trail WHERE name=? ORDER BY number DESC", (self.name,)
            )
        ]

    def fetch_fork_point(self, w3: Web3) -> int | None:
        """None when every remembered block is still on the chain; else the highest
        remembered block that is (0 when none is): the reader rewinds to it."""
        entries = self.entries()
        for i, (number, block_hash) in enumerate(entries):
            block = w3.eth.get_block(number) if number <= w3.eth.block_number else None
            if block is not None and bytes(block["hash"]) == block_hash:
                if i == 0:
                    return None
                log.warning("reorg: block %d and above replaced; reading again", number + 1)
                self.forget_above(number)
                return number
        if not entries:
            return None
        log.warning("reorg deeper than the remembered blocks: reading again from the start")
        self.forget_above(-1)
        return 0


def fetch_safe_head(w3: Web3, confirmations: int) -> tuple[int, bytes] | None:
    """The block `confirmations` below the head and its hash (None before it exists)."""
    number = w3.eth.block_number - confirmations
    if number < 0:
        return None
    return number, bytes(w3.eth.get_block(number)["hash"])


def is_still_canonical(w3: Web3, number: int, block_hash: bytes) -> bool:
    """The block `number` of the chain is still `block_hash` (not reorged out)."""
    try:
        return bytes(w3.eth.get_block(number)["hash"]) == bytes(block_hash)
    except Exception:  # noqa: BLE001 - BlockNotFound: the chain is shorter now
        return False
