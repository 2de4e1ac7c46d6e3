"""A validator's signer with a persistent slashing-protection record.

Before a header is signed, (area, height, digest) is written to SQLite and synced to disk;
a second, different header at a height already signed, or a header below the highest height
signed, is refused. So a validator never signs two headers at one height, also after a crash
between recording and signing, or a restart: re-signing the recorded header is allowed (the
signature is deterministic), anything else is not.
"""

from __future__ import annotations

from pathlib import Path

from eth_account import Account

from sec_offchain.encoding.area_header import AreaHeader, hash_area_header, sign_digest
from sec_offchain.exceptions import SecError
from sec_offchain.storage import open_db


class SlashingProtectionError(SecError):
    """Signing would contradict the slashing-protection record."""


class ValidatorSigner:
    """Signs area headers for one validator key, guarded by a record at `db_path`."""

    def __init__(self, private_key: bytes, db_path: Path, chain_id: int, anchor_hub: str) -> None:
        self._key = private_key
        self.address = Account.from_key(private_key).address
        self.chain_id = chain_id
        self.anchor_hub = anchor_hub
        self._db = open_db(db_path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS signed ("
            " validator TEXT NOT NULL, chain_id INTEGER NOT NULL, anchor_hub TEXT NOT NULL,"
            " area_id INTEGER NOT NULL, height INTEGER NOT NULL, digest BLOB NOT NULL,"
            " PRIMARY KEY (validator, chain_id, anchor_hub, area_id, height))"
        )

    def close(self) -> None:
        self._db.close()

    def highest_signed(self, area_id: int) -> int:
        row = self._db.execute(
            "SELECT MAX(height) FROM signed WHERE validator=? AND chain_id=? AND anchor_hub=?"
            " AND area_id=?",
            (self.address, self.chain_id, self.anchor_hub.lower(), area_id),
        ).fetchone()
        return int(row[0] or 0)

    def record(self, header: AreaHeader) -> bytes:
        """Checks `header` against the record and persists it (step one of `sign`)."""
        digest = hash_area_header(header, self.chain_id, self.anchor_hub)
        key = (self.address, self.chain_id, self.anchor_hub.lower(), header.area_id)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute(
                "SELECT digest FROM signed WHERE validator=? AND chain_id=? AND anchor_hub=?"
                " AND area_id=? AND height=?",
                (*key, header.height),
            ).fetchone()
            if row is not None:
                if bytes(row[0]) != digest:
                    raise SlashingProtectionError(
                        f"already signed a different header at area {header.area_id} height "
                        f"{header.height}"
                    )
            else:
                highest = self.highest_signed(header.area_id)
                if header.height < highest:
                    raise SlashingProtectionError(
                        f"height {header.height} is below the highest signed ({highest})"
                    )
                self._db.execute(
                    "INSERT INTO signed VALUES (?, ?, ?, ?, ?, ?)", (*key, header.height, digest)
                )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return digest

    def sign(self, header: AreaHeader) -> bytes:
        """The 65-byte signature of `header`, recorded first."""
        digest = self.record(header)
        return sign_digest(self._key, digest)
