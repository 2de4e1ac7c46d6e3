"""The gateway's side of the areas: signed area transactions and trade records forwarded to
the area's nodes, the account -> area lookup, and BGC messages sent but not delivered yet.

* **Submissions** are checked here first (well-formed RLP, the signature, the area the path
  names, and for an area transaction that is next in line, that it applies: the sender's
  balance covers a payment, a ship or confirm names a payment of which the sender is the
  seller or the buyer, in a state that allows it — what `sec bgc` checks before signing), so
  bad input is a 4xx and nothing is forwarded. What passes goes to the area's nodes over their
  protocol (`SUBMIT_TX` / `SUBMIT`, answered by `ACK`), one node after another until one
  answers; the node gossips it to its peers. The node's answer is the endpoint's: accepted,
  duplicate, or refused with the node's reason.
* **The lookup** answers from the AreaDirectory epoch in force at the indexed block, with the
  entry's Merkle proof against the root published on chain, when this gateway holds that
  epoch's directory (`--directories`, files written by `sec areas plan --out`); accounts the
  directory does not list, and every account before the first epoch, fall under the address
  hash (`hash_area`) the nodes use today. The answer says which rule answered.
* **Pending messages** are the egress messages of the areas' blocks (read from their nodes)
  that BorderGateway has not delivered yet (no `MessageDelivered` / `WithdrawnFromArea` in
  the index), with their age since the block that sent them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rlp
from eth_utils import to_checksum_address

from sec_offchain.area import net
from sec_offchain.area.block import Block, fast_header_digest
from sec_offchain.area.ledger import CONFIRM, KIND_NAMES, PAY, SHIP, AreaTx, LedgerError
from sec_offchain.area.records import RecordError, TradeRecord, check_well_formed, recover_address
from sec_offchain.areas.cluster import hash_area
from sec_offchain.areas.directory import AreaDirectory
from sec_offchain.areas.graph import AreaError
from sec_offchain.areas.lookup import AreaLookup, Publication
from sec_offchain.exceptions import SecError

if TYPE_CHECKING:
    from sec_offchain.area.devnet_config import DevnetConfig
    from sec_offchain.gateway.store import Store

log = logging.getLogger("sec.gateway.areas")

NODE_TIMEOUT = 5.0  # seconds a node has to answer one request
BLOCK_BATCH = 64  # blocks per GET_BLOCKS request (the nodes' own sync batch)


class SubmissionError(SecError):
    """A submission is refused; `status` is the HTTP status that says why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# ── the areas' nodes ────────────────────────────────────────────────────────────────────
class AreaNodes:
    """The nodes of each area (a devnet's file), spoken to as a short-lived client."""

    def __init__(self, cfg: DevnetConfig, key: bytes) -> None:
        self.cfg = cfg
        self.key = key
        self.address = bytes.fromhex(_address_of(key)[2:])

    @classmethod
    def from_home(cls, home: Path) -> AreaNodes:
        from sec_offchain.area.devnet_config import DevnetConfig

        cfg = DevnetConfig.load(home / "devnet.json")
        # the key only signs the client's hello; a devnet without a relayer key gets a new one
        key = bytes.fromhex(cfg.relayer_key.removeprefix("0x")) if cfg.relayer_key else b""
        return cls(cfg, key or secrets.token_bytes(32))

    @property
    def area_ids(self) -> tuple[int, ...]:
        return tuple(sorted(a.area_id for a in self.cfg.areas))

    @property
    def separator(self) -> bytes:
        return self.cfg.record_separator

    @property
    def bridges(self) -> tuple[bytes, ...]:
        return tuple(bytes.fromhex(b[2:]) for b in self.cfg.bridges)

    def request(self, area: int, kind: int, payload: bytes, reply: int) -> bytes | None:
        """Asks the area's nodes in turn; the first answer, None when none answers."""
        for node in self.cfg.area(area).nodes:
            try:
                return asyncio.run(self._ask(node, area, [(kind, payload, reply, 1)]))[0][0]
            except (TimeoutError, OSError, asyncio.IncompleteReadError, net.ProtocolError):
                continue
        return None

    def submit(self, area: int, kind: int, payload: bytes) -> tuple[bool, str] | None:
        """(accepted, the node's word) for a SUBMIT or SUBMIT_TX; None when no node answers."""
        body = self.request(area, kind, payload, net.ACK)
        if body is None:
            return None
        ok, message = rlp.decode(body)
        return ok == b"\x01", message.decode(errors="replace")

    def ledger(self, area: int, account: bytes) -> dict[str, Any] | None:
        body = self.request(area, net.LEDGER_REQ, rlp.encode([account]), net.LEDGER)
        return json.loads(body) if body is not None else None

    def blocks_from(self, area: int, start: int) -> tuple[dict[str, Any], list[Block]] | None:
        """One node's status and its blocks from `start` up to its head (at most
        BLOCK_BATCH of them), over one connection; None when no node answers."""
        for node in self.cfg.area(area).nodes:
            try:
                return asyncio.run(self._status_and_blocks(node, area, start))
            except (TimeoutError, OSError, asyncio.IncompleteReadError, net.ProtocolError):
                continue
            except Exception as exc:  # noqa: BLE001 - a node that answers garbage: the next
                log.warning("area %d node %s: %s", area, node.address, exc)
                continue
        return None

    async def _open(self, node: Any, area: int) -> net.Connection:
        from sec_offchain.relayers.run import node_host

        host, port = node_host(node)
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), NODE_TIMEOUT)
        conn = net.Connection(reader, writer)
        hello = net.Hello.make(self.key, self.address, self.cfg.chain_id, 0, 0)
        try:
            await net.handshake(conn, hello, self.cfg.chain_id, area)
        except BaseException:
            conn.close()
            raise
        return conn

    async def _ask(
        self, node: Any, area: int, asks: list[tuple[int, bytes, int, int]]
    ) -> list[list[bytes]]:
        """For each (kind, payload, reply kind, count): `count` reply frames."""
        conn = await self._open(node, area)
        try:
            out: list[list[bytes]] = []
            for kind, payload, reply, count in asks:
                await conn.send_now(kind, payload)
                got: list[bytes] = []
                while len(got) < count:
                    k, body = await asyncio.wait_for(conn.read(), NODE_TIMEOUT)
                    if k == reply:
                        got.append(body)
                out.append(got)
            return out
        finally:
            conn.close()

    async def _status_and_blocks(
        self, node: Any, area: int, start: int
    ) -> tuple[dict[str, Any], list[Block]]:
        conn = await self._open(node, area)
        try:
            await conn.send_now(net.STATUS_REQ, b"")
            status = json.loads(await _reply(conn, net.STATUS))
            count = min(BLOCK_BATCH, int(status["height"]) - start + 1)
            blocks: list[Block] = []
            if count > 0:
                await conn.send_now(net.GET_BLOCKS, rlp.encode([start, count]))
                while len(blocks) < count:
                    blocks.append(Block.decode(await _reply(conn, net.BLOCK)))
            return status, blocks
        finally:
            conn.close()


async def _reply(conn: net.Connection, kind: int) -> bytes:
    while True:
        k, body = await asyncio.wait_for(conn.read(), NODE_TIMEOUT)
        if k == kind:
            return body


def _address_of(key: bytes) -> str:
    from eth_account import Account

    return Account.from_key(key).address


# ── submissions ─────────────────────────────────────────────────────────────────────────
def decode_hex(value: str, what: str) -> bytes:
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise SubmissionError(400, f"{what}: not 0x-hex bytes") from None


def check_area_tx(tx: AreaTx, area: int, separator: bytes) -> None:
    """What every node checks before pooling (kind, area, signature), as a 400."""
    if tx.kind not in KIND_NAMES:
        raise SubmissionError(
            400, f"transaction kind {tx.kind} is not pay (1), ship (2) or confirm (3)"
        )
    if tx.area_id != area:
        raise SubmissionError(400, f"the transaction is for area {tx.area_id}, not {area}")
    try:
        tx.check_signature(separator)
    except LedgerError as exc:
        raise SubmissionError(400, str(exc)) from None


def check_applies(tx: AreaTx, view: dict[str, Any]) -> None:
    """What the area's ledger will assert when the transaction is next in line for its
    sender (`view` is the node's ledger view of the sender), as a 422: a payment the
    balance does not cover, or a ship/confirm of a payment the sender is not the party of
    or that is past that step, would sit in the pool and never apply."""
    sender = "0x" + tx.sender.hex()
    area = tx.area_id
    if tx.kind == PAY:
        balance = int(view["balance"])
        if balance < tx.amount:
            raise SubmissionError(
                422, f"{to_checksum_address(sender)} has {balance} in area {area}, not {tx.amount}"
            )
        return
    name = f"{tx.ref_src}:{tx.ref_nonce}"
    role, allowed = {SHIP: ("seller", ("paid",)), CONFIRM: ("buyer", ("paid", "shipped"))}[tx.kind]
    verb = KIND_NAMES[tx.kind]
    payment = next((p for p in view["payments"] if p["ref"] == name), None)
    if payment is None:
        raise SubmissionError(
            422, f"no payment {name} of {to_checksum_address(sender)} in area {area}"
        )
    if payment[role].lower() != sender:
        raise SubmissionError(
            422, f"{to_checksum_address(sender)} is not the {role} of payment {name}"
        )
    if payment["status"] not in allowed:
        raise SubmissionError(
            422,
            f"payment {name} is {payment['status']}, not {' or '.join(allowed)}: cannot {verb} it",
        )


def check_record(
    record: TradeRecord, area: int, separator: bytes, bridges: tuple[bytes, ...]
) -> bytes:
    """The record's id, after what every node checks before the chain's own state (fields,
    area, writer), as a 400."""
    try:
        check_well_formed(record)
    except RecordError as exc:
        raise SubmissionError(400, str(exc)) from None
    if record.area_id != area:
        raise SubmissionError(400, f"the record is for area {record.area_id}, not {area}")
    record_id = record.digest(separator)
    try:
        signer = recover_address(record_id, record.signature)
    except RecordError as exc:
        raise SubmissionError(400, str(exc)) from None
    if signer != record.seller and signer not in bridges:
        raise SubmissionError(
            400, "the record is signed by neither its seller nor an escrow bridge"
        )
    return record_id


# ── the account -> area lookup ──────────────────────────────────────────────────────────
class LookupUnavailable(SecError):
    """The lookup cannot answer (no areas known, or a published directory is missing)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class AreaLookupService:
    """AreaLookup over the directories published on chain (read from the index) and the
    directory files in `directories`; the area ids of the address-hash rule are the
    areas this gateway serves."""

    def __init__(self, store: Store, area_ids: tuple[int, ...], directories: Path | None) -> None:
        self.store = store
        self.area_ids = tuple(sorted(area_ids))
        self.directories = directories
        self._files: dict[Path, tuple[float, AreaDirectory | None]] = {}
        self._lock = threading.Lock()

    def publications(self) -> list[Publication]:
        rows = self.store.query(
            "SELECT block_number, args FROM events WHERE contract = 'AreaDirectory'"
            " AND name = 'DirectoryPublished' ORDER BY id"
        )
        out = []
        for block, args in rows:
            a = json.loads(args)
            out.append(Publication(int(a["epoch"]), bytes.fromhex(a["root"][2:]), int(block)))
        return out

    def _loaded(self) -> list[AreaDirectory]:
        """Every readable directory file (re-read when it changes)."""
        if self.directories is None or not self.directories.is_dir():
            return []
        out = []
        with self._lock:
            for path in sorted(self.directories.glob("*.json")):
                mtime = path.stat().st_mtime
                known = self._files.get(path)
                if known is None or known[0] != mtime:
                    try:
                        directory: AreaDirectory | None = AreaDirectory.load(
                            json.loads(path.read_text())
                        )
                    except (OSError, ValueError, AreaError) as exc:
                        log.warning("directory file %s: %s", path, exc)
                        directory = None
                    self._files[path] = known = (mtime, directory)
                if known[1] is not None:
                    out.append(known[1])
        return out

    def lookup(self, block: int) -> AreaLookup:
        """The lookup at `block`; LookupUnavailable when the directory in force there is
        published but not held here."""
        if not self.area_ids:
            raise LookupUnavailable(
                404, "this gateway does not know the areas (give --devnet or --areas)"
            )
        lookup = AreaLookup(self.area_ids)
        files = self._loaded()
        for pub in self.publications():
            if pub.block > block:
                break
            match = next((d for d in files if d.epoch == pub.epoch and d.root == pub.root), None)
            if match is None:
                raise LookupUnavailable(
                    503,
                    f"the directory of epoch {pub.epoch} (root 0x{pub.root.hex()}) is published "
                    "but this gateway does not hold it (--directories)",
                )
            lookup.add(pub, match)
        return lookup

    def answer(self, account: str, block: int) -> dict[str, Any]:
        lookup = self.lookup(block)
        directory = lookup.directory_at(block)
        out: dict[str, Any] = {
            "account": to_checksum_address(account),
            "block": block,
            "areas": list(self.area_ids),
            "epoch": directory.epoch if directory is not None else None,
            "root": "0x" + directory.root.hex() if directory is not None else None,
            "proof": None,
        }
        if directory is not None and account in directory:
            entry = directory.get_proof(account)
            out.update(
                area_id=entry.area_id,
                rule="directory",
                proof=["0x" + p.hex() for p in entry.proof],
            )
        else:
            out.update(area_id=hash_area(account.lower(), self.area_ids), rule="address-hash")
        return out

    def area_at(self, account: str, block: int) -> int:
        return self.lookup(block).area_at(account.lower(), block)


# ── BGC messages sent, not delivered yet ────────────────────────────────────────────────
@dataclass
class _Scanned:
    final: int = 0  # blocks 1..final read (final in the area: they never change)
    messages: list[dict[str, Any]] | None = None  # egress of those blocks


class PendingMessages:
    """Egress of the areas' blocks that BorderGateway has not delivered, read from the
    nodes: final blocks once, the blocks past the final height at every look."""

    def __init__(self, nodes: AreaNodes, store: Store, anchor_separator: bytes) -> None:
        self.nodes = nodes
        self.store = store
        self.separator = anchor_separator
        self._scanned: dict[int, _Scanned] = {}
        self._lock = threading.Lock()

    def _messages(self, area: int) -> list[dict[str, Any]] | None:
        """Every egress message of the area's chain (None when no node answers)."""
        scanned = self._scanned.setdefault(area, _Scanned(0, []))
        assert scanned.messages is not None
        fresh: list[dict[str, Any]] = []
        start = scanned.final + 1
        while True:
            got = self.nodes.blocks_from(area, start)
            if got is None:
                return None
            status, blocks = got
            final = int(status["final_height"])
            for block in blocks:
                entry = [self._message(block, m) for m in block.egress]
                if block.header.height <= final and block.header.height == scanned.final + 1:
                    scanned.messages.extend(entry)
                    scanned.final = block.header.height
                else:
                    fresh.extend(entry)
            if not blocks or blocks[-1].header.height >= int(status["height"]):
                return scanned.messages + fresh
            start = blocks[-1].header.height + 1

    def _message(self, block: Block, m: Any) -> dict[str, Any]:
        return {
            "src_area": m.src_area,
            "dst_area": m.dst_area,
            "nonce": m.nonce,
            "sender": to_checksum_address(m.sender),
            "recipient": to_checksum_address(m.recipient),
            "amount": str(m.amount),
            "payload_hash": "0x" + m.payload_hash.hex(),
            "height": block.header.height,
            "header_hash": "0x"
            + fast_header_digest(block.header.area_header(), self.separator).hex(),
            "sent_at": block.header.timestamp,
        }

    def pending(self, now: float | None = None) -> tuple[list[dict[str, Any]], list[int]]:
        """(messages sent and not delivered, oldest first; areas whose nodes did not
        answer)."""
        now = time.time() if now is None else now
        delivered = {
            k for (k,) in self.store.query("SELECT key FROM entities WHERE kind = 'message'")
        }
        anchored = {
            json.loads(d)["header_hash"]
            for (d,) in self.store.query("SELECT data FROM entities WHERE kind = 'header'")
        }
        out: list[dict[str, Any]] = []
        silent: list[int] = []
        with self._lock:
            for area in self.nodes.area_ids:
                messages = self._messages(area)
                if messages is None:
                    silent.append(area)
                    continue
                for m in messages:
                    key = f"{m['src_area']}:{m['dst_area']}:{m['nonce']:020d}"
                    if key in delivered:
                        continue
                    out.append(
                        dict(
                            m,
                            status="anchored" if m["header_hash"] in anchored else "sent",
                            age=max(0, int(now) - int(m["sent_at"])),
                        )
                    )
        out.sort(key=lambda m: (m["sent_at"], m["src_area"], m["dst_area"], m["nonce"]))
        return out, silent
