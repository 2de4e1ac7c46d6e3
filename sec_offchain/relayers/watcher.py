"""The judges' watcher: follows every area's gossip as a peer of its nodes and, when one
validator signed two different headers at one height, proves it on chain itself
(`AnchorHub.report_equivocation`, which slashes the validator), exactly once, and claims the
bounty (`Staking.claim`).

What it hears: blocks (their headers, by id), attestations (validator signatures over a
header id) and signed headers (a header with a validator's signature, gossiped as
`SIGNED_HEADER`). An attestation whose header it has not seen waits for it. Each offence
(validator, area, height) is written to SQLite before the report is sent and checked
against `Staking.offence_slashed` first, so a restarted watcher, or a second one, never
reports an offence twice.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import rlp
from eth_abi import encode as abi_encode
from eth_account import Account
from web3 import Web3

from sec_offchain.area import net
from sec_offchain.area.block import Block, fast_header_digest
from sec_offchain.area.devnet_config import DevnetConfig
from sec_offchain.area.records import RecordError, recover_address
from sec_offchain.consensus.evidence import EquivocationWatcher, Evidence
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deployment import Deployment
from sec_offchain.crypto.hashing import keccak
from sec_offchain.encoding.area_header import AreaHeader
from sec_offchain.storage import open_db

log = logging.getLogger("sec.watcher")

PULL_EVERY = 2.0
PENDING_LIMIT = 10_000


def offence_id(validator: str, area_id: int, height: int) -> bytes:
    return keccak(abi_encode(["address", "uint256", "uint256"], [validator, area_id, height]))


class JudgeWatcher:
    def __init__(self, cfg: DevnetConfig, key: bytes, areas: list[int], db_path: Path) -> None:
        self.cfg = cfg
        self.key = key
        self.account = Account.from_key(key)
        self.address = bytes.fromhex(self.account.address[2:])
        self.areas = areas
        self.w3 = Web3(Web3.HTTPProvider(cfg.rpc, request_kwargs={"timeout": 10}))
        self.suite = Suite(self.w3, Deployment.from_file(Path(cfg.deployments)))
        self.separator = cfg.anchor_separator
        self.evidence = EquivocationWatcher(cfg.chain_id, cfg.anchor_hub)
        self.headers: dict[bytes, AreaHeader] = {}
        self.pending: dict[bytes, list[tuple[bytes, bytes]]] = {}  # id -> (validator, sig)
        self.heights: dict[int, int] = {}  # area -> highest block seen
        self.db = open_db(db_path, shared=True)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS reported (offence BLOB PRIMARY KEY, validator TEXT,"
            " area INTEGER, height INTEGER, tx_hash BLOB)"
        )
        self.reports: list[str] = []  # tx hashes this instance sent
        self.stopping = threading.Event()

    # ------------------------------------------------------------------ gossip

    def take_header(self, header: AreaHeader) -> bytes:
        bid = fast_header_digest(header, self.separator)
        if bid not in self.headers:
            self.headers[bid] = header
            for validator, sig in self.pending.pop(bid, []):
                self.take_signature(header, validator, sig)
        return bid

    def take_signature(self, header: AreaHeader, validator: bytes, sig: bytes) -> None:
        found = self.evidence.observe(header, sig)
        if found is not None:
            self.report(found)

    def handle(self, kind: int, payload: bytes) -> None:
        if kind == net.BLOCK:
            block = Block.decode(payload)
            h = block.header
            self.heights[h.area_id] = max(self.heights.get(h.area_id, 0), h.height)
            self.take_header(h.area_header())
        elif kind == net.ATTEST:
            height, bid, validator, sig = rlp.decode(payload)
            if recover_address(bid, sig) != validator:
                return
            header = self.headers.get(bid)
            if header is not None:
                self.take_signature(header, validator, sig)
            elif sum(len(v) for v in self.pending.values()) < PENDING_LIMIT:
                self.pending.setdefault(bid, []).append((validator, sig))
        elif kind == net.SIGNED_HEADER:
            header, validator, sig = net.decode_signed_header(payload)
            bid = fast_header_digest(header, self.separator)
            if recover_address(bid, sig) != validator:
                return
            self.take_header(header)
            self.take_signature(header, validator, sig)

    async def follow(self, area_id: int, host: str, port: int) -> None:
        """One peer connection to one node, re-dialled when it drops."""
        while not self.stopping.is_set():
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
            except (TimeoutError, OSError):
                await asyncio.sleep(1.0)
                continue
            conn = net.Connection(reader, writer)
            try:
                hello = net.Hello.make(self.key, self.address, self.cfg.chain_id, area_id, 0)
                await net.handshake(conn, hello, self.cfg.chain_id, area_id)
                conn.start_writer()
                puller = asyncio.create_task(self._pull(conn, area_id))
                try:
                    while not conn.closed:
                        kind, payload = await conn.read()
                        try:
                            self.handle(kind, payload)
                        except (ValueError, RecordError, rlp.DecodingError) as exc:
                            log.debug("malformed frame %d from %s:%d: %s", kind, host, port, exc)
                finally:
                    puller.cancel()
            except (TimeoutError, OSError, asyncio.IncompleteReadError, net.ProtocolError) as exc:
                log.debug("node %s:%d: %s", host, port, exc)
            finally:
                conn.close()
            await asyncio.sleep(1.0)

    async def _pull(self, conn: net.Connection, area_id: int) -> None:
        """Blocks and attestations from where this watcher is (it may have been down)."""
        while not conn.closed:
            top = self.heights.get(area_id, 0)
            conn.send(net.GET_BLOCKS, rlp.encode([top + 1, 64]))
            conn.send(net.GET_ATTESTS, rlp.encode([max(1, top - 63), top + 1]))
            await asyncio.sleep(PULL_EVERY)

    # ------------------------------------------------------------------ on chain

    def report(self, evidence: Evidence) -> None:
        a = evidence.header_a
        validator = Web3.to_checksum_address(evidence.validator)
        offence = offence_id(validator, a.area_id, a.height)
        if self.db.execute("SELECT 1 FROM reported WHERE offence=?", (offence,)).fetchone():
            log.info("validator %s at %d/%d: already reported", validator, a.area_id, a.height)
            return
        staking = self.suite.staking.functions
        if staking.offence_slashed(offence).call():
            log.info("validator %s at %d/%d: already slashed", validator, a.area_id, a.height)
            self.db.execute(
                "INSERT OR IGNORE INTO reported VALUES (?, ?, ?, ?, ?)",
                (offence, validator, a.area_id, a.height, b""),
            )
            return
        # recorded first: a crash after this line never leads to a second report
        self.db.execute(
            "INSERT INTO reported VALUES (?, ?, ?, ?, ?)",
            (offence, validator, a.area_id, a.height, b""),
        )
        try:
            receipt = self.suite.report_equivocation(self.account, evidence)
        except Exception as exc:  # noqa: BLE001 - another judge first, or an outage
            if staking.offence_slashed(offence).call():
                log.info(
                    "validator %s at %d/%d: slashed by another judge",
                    validator,
                    a.area_id,
                    a.height,
                )
                return
            self.db.execute("DELETE FROM reported WHERE offence=?", (offence,))
            log.warning("report of %s at %d/%d failed: %s", validator, a.area_id, a.height, exc)
            return
        tx_hash = bytes(receipt["transactionHash"])
        self.db.execute("UPDATE reported SET tx_hash=? WHERE offence=?", (tx_hash, offence))
        self.reports.append("0x" + tx_hash.hex())
        log.warning(
            "validator %s signed two headers at area %d height %d: slashed (tx 0x%s)",
            validator,
            a.area_id,
            a.height,
            tx_hash.hex(),
        )
        self.claim()

    def claim(self) -> None:
        staking = self.suite.staking.functions
        try:
            if staking.claimable(self.account.address).call() > 0:
                self.suite.tx(self.account).transact(staking.claim())
        except Exception as exc:  # noqa: BLE001 - claimed later
            log.warning("claiming the bounty: %s", exc)

    # ------------------------------------------------------------------ the loop

    def run(self) -> None:
        async def main() -> None:
            tasks = [
                asyncio.create_task(self.follow(area, *where))
                for area in self.areas
                for where in ((n.host or "127.0.0.1", n.port) for n in self.cfg.area(area).nodes)
            ]
            while not self.stopping.is_set():
                await asyncio.sleep(0.2)
            for t in tasks:
                t.cancel()

        asyncio.run(main())
