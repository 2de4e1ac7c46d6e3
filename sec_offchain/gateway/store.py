"""The gateway's relational store: contract events and what they add up to (orders, listings,
accounts, cases, areas, ...), behind one interface with two backends.

SQLite (WAL, synchronous=FULL) by default; PostgreSQL (psycopg) when the URL says
`postgresql://`. The SQL is the portable subset both understand (`?` placeholders are turned
into `%s` for PostgreSQL; upserts are `ON CONFLICT ... DO UPDATE`). Every write the indexer
makes is one transaction per batch, so a process killed at any point leaves the store at the
end of the last whole batch.

Tables:
* `meta(k, v)` — the cursor (last indexed block and its hash), the next event id, the chain id
  and the deployment the store was built for;
* `blocks(number, hash)` — the hash of every block that holds an indexed event (reorg checks);
* `checkpoints(number, hash)` — the last block of each recent batch (a reorg rewinds to the
  newest block the chain still has, not further; where batches ended depends on when the
  indexer ran, so `dump()` leaves this table out);
* `events(id, ...)` — every decoded event, `id` the stream id (monotonic, never reused);
* `event_accounts(account, event_id)` — who each event concerns (the `?account=` filter);
* `entities(kind, key, a, b, status, seq, data)` — the projections: one row per order,
  listing, account, share, case, judge, validator, area, header, message, token volume; `a`/`b`
  the parties it is filtered by, `seq` the id of the last event that changed it (the update
  order), `data` its JSON.
"""

from __future__ import annotations

import abc
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sec_offchain.exceptions import ConfigError

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS blocks (number BIGINT PRIMARY KEY, hash TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS checkpoints (number BIGINT PRIMARY KEY, hash TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events ("
    " id BIGINT PRIMARY KEY, block_number BIGINT NOT NULL, block_hash TEXT NOT NULL,"
    " log_index INTEGER NOT NULL, tx_hash TEXT NOT NULL, timestamp BIGINT NOT NULL,"
    " contract TEXT NOT NULL, name TEXT NOT NULL, args TEXT NOT NULL, summary TEXT NOT NULL,"
    " UNIQUE (block_number, log_index))",
    "CREATE TABLE IF NOT EXISTS event_accounts ("
    " account TEXT NOT NULL, event_id BIGINT NOT NULL, PRIMARY KEY (account, event_id))",
    "CREATE TABLE IF NOT EXISTS entities ("
    " kind TEXT NOT NULL, key TEXT NOT NULL, a TEXT, b TEXT, status TEXT,"
    " seq BIGINT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (kind, key))",
    "CREATE INDEX IF NOT EXISTS entities_seq ON entities (kind, seq, key)",
    "CREATE INDEX IF NOT EXISTS entities_a ON entities (kind, a, seq)",
    "CREATE INDEX IF NOT EXISTS entities_b ON entities (kind, b, seq)",
    "CREATE INDEX IF NOT EXISTS entities_status ON entities (kind, status, seq)",
    "CREATE INDEX IF NOT EXISTS events_block ON events (block_number)",
)

UPSERT_ENTITY = (
    "INSERT INTO entities (kind, key, a, b, status, seq, data) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (kind, key) DO UPDATE SET a = excluded.a, b = excluded.b, "
    "status = excluded.status, seq = excluded.seq, data = excluded.data"
)
INSERT_EVENT = (
    "INSERT INTO events (id, block_number, block_hash, log_index, tx_hash, timestamp, contract,"
    " name, args, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class Tx:
    """A cursor inside one transaction, with `?` placeholders on every backend."""

    def __init__(self, cursor: Any, paramstyle: str) -> None:
        self._cur = cursor
        self._pg = paramstyle == "format"

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self._pg else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        self._cur.execute(self._sql(sql), tuple(params))
        return list(self._cur.fetchall()) if self._cur.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cur.executemany(self._sql(sql), [tuple(r) for r in rows])

    def get_meta(self, key: str) -> str | None:
        rows = self.execute("SELECT v FROM meta WHERE k = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self.execute(
            "INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            (key, value),
        )


class Store(abc.ABC):
    """One connection per thread; `transaction()` for writes, `query()` for reads."""

    paramstyle = "qmark"

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        with self.transaction() as tx:
            for stmt in SCHEMA:
                tx.execute(stmt)

    @abc.abstractmethod
    def _connect(self) -> Any:
        """A new connection to the database."""

    @property
    def conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """Everything inside commits together or not at all."""
        conn = self.conn
        cur = conn.cursor()
        try:
            yield Tx(cur, self.paramstyle)
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit()
        finally:
            cur.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """A read in its own short transaction (a consistent snapshot of the last commit)."""
        with self.transaction() as tx:
            return tx.execute(sql, params)

    def get_meta(self, key: str) -> str | None:
        with self.transaction() as tx:
            return tx.get_meta(key)

    def get_cursor(self) -> int:
        """The last block indexed (-1 before anything)."""
        value = self.get_meta("cursor")
        return int(value) if value is not None else -1

    def get_entity_json(self, kind: str, key: str) -> str | None:
        """The stored JSON of one entity, as stored (the read API's fast path)."""
        rows = self.query("SELECT data FROM entities WHERE kind = ? AND key = ?", (kind, key))
        return rows[0][0] if rows else None

    def get_entity(self, kind: str, key: str) -> dict[str, Any] | None:
        rows = self.query("SELECT data FROM entities WHERE kind = ? AND key = ?", (kind, key))
        return json.loads(rows[0][0]) if rows else None

    def dump(self) -> dict[str, list[tuple]]:
        """Every indexed row in a canonical order: what two builds of one chain must share."""
        return {
            "events": self.query("SELECT * FROM events ORDER BY id"),
            "event_accounts": self.query(
                "SELECT account, event_id FROM event_accounts ORDER BY event_id, account"
            ),
            "entities": self.query(
                "SELECT kind, key, a, b, status, seq, data FROM entities ORDER BY kind, key"
            ),
            "blocks": self.query("SELECT number, hash FROM blocks ORDER BY number"),
            "meta": self.query("SELECT k, v FROM meta WHERE k <> 'cursor_hash' ORDER BY k"),
        }

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001 - closing from another thread may refuse
                    pass
            self._all.clear()
        self._local = threading.local()


class SqliteStore(Store):
    """SQLite in WAL mode: readers never wait for the indexer's batch."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        super().__init__(f"sqlite:///{path}")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        # one statement in autocommit mode reads one consistent snapshot already
        return list(self.conn.execute(sql, tuple(params)).fetchall())

    def get_meta(self, key: str) -> str | None:
        rows = self.query("SELECT v FROM meta WHERE k = ?", (key,))
        return rows[0][0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A write transaction: the write lock is taken at BEGIN (IMMEDIATE), so a second
        writer waits (busy_timeout) instead of failing. A deferred BEGIN that read first and
        wrote after another connection's commit failed at once with "database is locked" (a
        WAL snapshot cannot be upgraded): a signed listing posted while the indexer wrote a
        batch answered 500."""
        conn = self.conn
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield Tx(cur, self.paramstyle)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
        finally:
            cur.close()


class PostgresStore(Store):
    """PostgreSQL through psycopg 3; the same tables and statements as SQLite."""

    paramstyle = "format"

    def _connect(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(self.url, connect_timeout=10)
        except psycopg.Error as exc:
            raise ConfigError(f"cannot open the database {self.url}: {exc}") from exc


def open_store(url: str) -> Store:
    """`postgresql://...` (or `postgres://`), `sqlite:///path`, or a plain file path."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    if url.startswith("sqlite:///"):
        return SqliteStore(Path(url[len("sqlite:///") :]))
    if "://" in url:
        raise ConfigError(f"--db takes postgresql://... or a file path, not {url}")
    return SqliteStore(Path(url))
