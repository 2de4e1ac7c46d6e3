"""The BGC relayer: delivers each anchored block's egress messages to `BorderGateway`.

Untrusted and idempotent: it takes blocks from any node of the source area but checks each
against the digest AnchorHub stored before proving anything from it; what to deliver next
comes from the chain (`next_nonce` per channel), so a restart, a second relayer or a reorg
never leads to a double delivery, and "already delivered" is success. Its cursor (the last
height it finished) only saves rescanning, and never outruns the chain: each message it saw
delivered is remembered with the height of its block, and when a reorg takes a delivery back
(`next_nonce` of the channel falls to or below it) the cursor returns to that block, so the
message is delivered again instead of the channel failing "nonce out of order" for ever.

A standby (`grace` > 0) runs beside a primary without delivering anything twice: it
delivers a message only once it has been deliverable (anchored, next in its channel) for
`grace` seconds without the primary delivering it, so while the primary lives the standby
sends nothing, and when the primary dies the standby takes over after one grace period.
Before any transaction the delivery runs as an estimate on the pending block (an
`eth_call`): a message the other relayer delivered meanwhile fails there and nothing is
sent; one both send at once lands once, and the other's transaction reverts
"already delivered", which counts as delivered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3

from sec_offchain.area.block import MESSAGE_LEAF, Block, fast_header_digest
from sec_offchain.area.merkle import StandardMerkleTree
from sec_offchain.contracts.transactor import Transactor
from sec_offchain.exceptions import ContractRevert, TransactionFailed
from sec_offchain.storage import open_db

log = logging.getLogger("sec.relayer.bgc")

BlockSource = Callable[[int, int], "Block | None"]  # (area, height) -> block from any node


class BgcRelayer:
    def __init__(
        self,
        w3: Web3,
        hub,
        gateway,
        account: LocalAccount,
        areas: list[int],
        blocks: BlockSource,
        separator: bytes,
        db_path: Path,
        grace: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.w3 = w3
        self.hub = hub
        self.gateway = gateway
        self.tx = Transactor(w3, account)
        self.areas = areas
        self.blocks = blocks
        self.separator = separator
        self.db = open_db(db_path, shared=True)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS cursor (area INTEGER PRIMARY KEY, height INTEGER)"
        )
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS landed (src INTEGER NOT NULL, dst INTEGER NOT NULL,"
            " nonce INTEGER NOT NULL, height INTEGER NOT NULL, PRIMARY KEY (src, dst, nonce))"
        )
        self.delivered: list[tuple[int, int, int]] = []  # (src, dst, nonce) this one landed
        self.already: list[tuple[int, int, int]] = []
        self.grace = grace  # > 0: a standby, delivering what the primary left this long
        self.clock = clock
        self._waiting: dict[tuple[int, int, int], float] = {}  # standby: first seen due

    def cursor(self, area: int) -> int:
        row = self.db.execute("SELECT height FROM cursor WHERE area=?", (area,)).fetchone()
        return int(row[0]) if row else 0

    def step(self) -> int:
        """Works through every anchored height past each area's cursor; returns how many
        messages this call delivered."""
        before = len(self.delivered)
        for area in self.areas:
            self._rewind(area)
            latest = int(self.hub.functions.latest_height(area).call())
            height = self.cursor(area)
            while height < latest:
                block = self.blocks(area, height + 1)
                if block is None:
                    break
                anchored = bytes(self.hub.functions.anchored_hash(area, height + 1).call())
                if fast_header_digest(block.header.area_header(), self.separator) != anchored:
                    log.warning(
                        "area %d height %d: a node served a block that is not the anchored one",
                        area,
                        height + 1,
                    )
                    break
                if not self._deliver_block(block):
                    break
                height += 1
                self.db.execute("INSERT OR REPLACE INTO cursor VALUES (?, ?)", (area, height))
        return len(self.delivered) - before

    def _rewind(self, area: int) -> None:
        """Moves the cursor back to the block of the first message a reorg un-delivered."""
        lowest = None
        channels = self.db.execute("SELECT DISTINCT dst FROM landed WHERE src=?", (area,))
        for (dst,) in channels.fetchall():
            nxt = int(self.gateway.functions.next_nonce(area, dst).call())
            row = self.db.execute(
                "SELECT MIN(height) FROM landed WHERE src=? AND dst=? AND nonce>=?",
                (area, dst, nxt),
            ).fetchone()
            if row[0] is not None:
                log.warning(
                    "area %d -> %d: deliveries from nonce %d were reorged out", area, dst, nxt
                )
                self.db.execute(
                    "DELETE FROM landed WHERE src=? AND dst=? AND nonce>=?", (area, dst, nxt)
                )
                lowest = row[0] if lowest is None else min(lowest, row[0])
        if lowest is not None and self.cursor(area) >= lowest:
            self.db.execute("INSERT OR REPLACE INTO cursor VALUES (?, ?)", (area, lowest - 1))

    def _landed(self, key: tuple[int, int, int], height: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO landed VALUES (?, ?, ?, ?)", (*key, height))
        self.db.execute(
            "DELETE FROM landed WHERE src=? AND dst=? AND nonce<?", (key[0], key[1], key[2] - 256)
        )

    def _deliver_block(self, block: Block) -> bool:
        if not block.egress:
            return True
        tree = StandardMerkleTree.of([m.leaf_values() for m in block.egress], MESSAGE_LEAF)
        header = block.header.area_header()
        for i, m in enumerate(block.egress):
            key = (m.src_area, m.dst_area, m.nonce)
            nxt = int(self.gateway.functions.next_nonce(m.src_area, m.dst_area).call())
            if m.nonce < nxt:
                self.already.append(key)  # by us before a restart, or by another relayer
                self._landed(key, header.height)
                self._waiting.pop(key, None)
                continue
            if self.grace and m.nonce == nxt:
                first = self._waiting.setdefault(key, self.clock())
                if self.clock() - first < self.grace:
                    return False  # the primary's to deliver, for now
                log.info(
                    "message %s still undelivered %.0f s after it was due: the standby delivers",
                    key,
                    self.clock() - first,
                )
            fn_name = "withdraw_from_area" if m.dst_area == 0 else "deliver"
            fn = getattr(self.gateway.functions, fn_name)(
                m.as_tuple(), header.as_tuple(), tree.proof(i)
            )
            try:
                receipt = self.tx.transact(fn)
                self.delivered.append(key)
                self._landed(key, header.height)
                self._waiting.pop(key, None)
                log.info(
                    "delivered message %s of area %d height %d (%s gas)",
                    key,
                    m.src_area,
                    header.height,
                    receipt["gasUsed"] if receipt else "?",
                )
            except (ContractRevert, TransactionFailed) as exc:
                # another relayer's delivery got there first: in the pending block our
                # estimate ran on ("already delivered"), or mined before our transaction
                moved = int(self.gateway.functions.next_nonce(m.src_area, m.dst_area).call())
                if "already delivered" in str(exc) or moved > m.nonce:
                    log.info("message %s was delivered by another relayer first", key)
                    self.already.append(key)
                    self._landed(key, header.height)
                    self._waiting.pop(key, None)
                    continue
                log.warning("message %s not delivered: %s", key, exc)
                return False
        return True
