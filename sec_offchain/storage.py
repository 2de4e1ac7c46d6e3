"""SQLite as every durable part of sec_offchain opens it."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_db(path: Path, *, shared: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode with WAL and synchronous=FULL: a committed write is on
    disk before the call returns, so what a process acknowledged survives kill -9. `shared`
    lets the connection be used from a thread other than the one that opened it (the caller
    serialises access)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=not shared)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db
