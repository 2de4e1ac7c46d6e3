"""An area node process: validates and pools records, produces blocks in its turn, gossips
records, blocks and validator attestations with its peers, syncs by height, and answers
status, submission and buyer-record queries.

    python -m sec_offchain.area.node --config devnet.json --area 1 --index 0

A record is acknowledged (ACK ok) only after it is committed to SQLite. A node that is also a
validator signs each header once it is final, through its slashing-protected signer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
from collections import OrderedDict
from pathlib import Path

import rlp

from sec_offchain.area.block import Block, fast_header_digest
from sec_offchain.area.chain import AreaChain, AreaConfig, BlockError, RoundRobin
from sec_offchain.area.devnet_config import DevnetConfig
from sec_offchain.area.ledger import KIND_NAMES, MAX_EGRESS, PAY, AreaTx, LedgerError
from sec_offchain.area.net import (
    ACK,
    ATTEST,
    BLOCK,
    GET_ATTEST,
    GET_ATTESTS,
    GET_BLOCKS,
    HELLO,
    LEDGER,
    LEDGER_REQ,
    RECORD,
    RECORDS,
    RECORDS_OF,
    SHARE,
    SIGNED_HEADER,
    STATUS,
    STATUS_REQ,
    SUBMIT,
    SUBMIT_TX,
    TX,
    Connection,
    Hello,
    ProtocolError,
    TcpTransport,
    Transport,
    decode_signed_header,
    handshake,
)
from sec_offchain.area.records import RecordError, TradeRecord, recover_address
from sec_offchain.consensus.communities import on_duty
from sec_offchain.consensus.evidence import EquivocationWatcher
from sec_offchain.consensus.pow import CommunityPoW
from sec_offchain.consensus.signer import SlashingProtectionError, ValidatorSigner
from sec_offchain.crypto.hashing import keccak

log = logging.getLogger("sec.node")
SEEN_LIMIT = 100_000
SYNC_BATCH = 64
ATTEST_WINDOW = 256  # final heights whose missing attestations a node pulls from peers
ATTEST_PULL_BATCH = 64  # heights per pull request
ATTEST_PULLS = 3  # times a height is asked for before the node stops asking
SIGNED_HEADERS_KEPT = 1024


class Seen:
    """A bounded set of ids already handled (gossip dedup)."""

    def __init__(self, limit: int = SEEN_LIMIT) -> None:
        self._d: OrderedDict[bytes, None] = OrderedDict()
        self.limit = limit

    def add(self, key: bytes) -> bool:
        if key in self._d:
            return False
        self._d[key] = None
        if len(self._d) > self.limit:
            self._d.popitem(last=False)
        return True


class AreaNode:
    def __init__(
        self,
        key: bytes,
        address: bytes,
        chain: AreaChain,
        transport: Transport,
        peers: list[tuple[str, bytes]],
        interval: float,
        signer: ValidatorSigner | None = None,
    ) -> None:
        self.key = key
        self.address = address
        self.chain = chain
        self.transport = transport
        self.peer_addrs = peers  # (transport address, node address)
        self.interval = interval
        self.signer = signer
        self.conns: dict[bytes, Connection] = {}
        self.seen = Seen()
        self.attested = 0
        self.stopping = asyncio.Event()
        self.db = chain.db
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS attestations (height INTEGER NOT NULL, block_id BLOB NOT"
            " NULL, validator BLOB NOT NULL, signature BLOB NOT NULL,"
            " PRIMARY KEY (height, block_id, validator))"
        )
        self.started = time.time()
        self._tasks: set[asyncio.Task] = set()
        self.watcher = EquivocationWatcher(chain.config.chain_id, "0x" + "00" * 20)
        self.evidence_dir: Path | None = None
        self.evidence_found: list[Path] = []
        self._pulls: dict[int, int] = {}  # height -> times its attestations were asked for
        # recent signed headers, replayed to each new peer (a watcher that connects later)
        self._signed_headers: OrderedDict[bytes, bytes] = OrderedDict()

    # ------------------------------------------------------------------ lifecycle

    def hello(self) -> Hello:
        c = self.chain.config
        return Hello.make(self.key, self.address, c.chain_id, c.area_id, self.chain.height)

    async def run(self) -> None:
        await self.transport.listen(self._accept)
        tasks = [
            asyncio.create_task(self._dial_loop()),
            asyncio.create_task(self._produce_loop()),
            asyncio.create_task(self._sync_loop()),
        ]
        log.info("node %s listening on %s", self.address.hex(), self.transport.address)
        await self.stopping.wait()
        for t in tasks + list(self._tasks):
            t.cancel()
        self.transport.close()
        for conn in list(self.conns.values()):
            conn.close()
        await asyncio.sleep(0.05)
        self.chain.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(Connection(reader, writer))
        except asyncio.CancelledError:
            pass

    async def _dial_loop(self) -> None:
        while True:
            for where, peer in self.peer_addrs:
                if peer in self.conns:
                    continue
                try:
                    reader, writer = await self.transport.dial(where)
                except (TimeoutError, OSError):
                    continue
                self._tasks.add(asyncio.create_task(self._accept(reader, writer)))
                self._tasks = {t for t in self._tasks if not t.done()}
            await asyncio.sleep(1.0)

    async def _serve(self, conn: Connection) -> None:
        c = self.chain.config
        try:
            theirs = await handshake(conn, self.hello(), c.chain_id, c.area_id)
        except (TimeoutError, ProtocolError, OSError, asyncio.IncompleteReadError) as exc:
            log.debug("handshake failed: %s", exc)
            conn.close()
            return
        is_peer = theirs.area_id == c.area_id and theirs.node != self.address
        if is_peer:
            old = self.conns.get(theirs.node)
            if old is not None and not old.closed:
                conn.close()  # one connection per peer
                return
            self.conns[theirs.node] = conn
        conn.start_writer()
        try:
            if is_peer and theirs.height > self.chain.height:
                self._request_blocks(conn, self.chain.final_height + 1)
            if is_peer:
                self._pulls.clear()  # a peer (re)connected: it may hold what others lacked
                self._pull_attestations([conn])
                for signed in list(self._signed_headers.values()):
                    conn.send(SIGNED_HEADER, signed)
            while not conn.closed:
                kind, payload = await conn.read()
                try:
                    await self._handle(conn, kind, payload)
                except (ProtocolError, asyncio.CancelledError):
                    raise
                except Exception as exc:  # noqa: BLE001 - a malformed frame: drop the peer
                    raise ProtocolError(f"bad frame of type {kind}: {exc}") from exc
        except (ProtocolError, OSError, asyncio.IncompleteReadError, ConnectionError) as exc:
            log.debug("peer %s: %s", conn.peer.hex(), exc)
        finally:
            conn.close()
            if self.conns.get(conn.peer) is conn:
                del self.conns[conn.peer]

    # ------------------------------------------------------------------ messages

    def _broadcast(self, kind: int, payload: bytes, skip: Connection | None = None) -> None:
        for conn in list(self.conns.values()):
            if conn is not skip:
                conn.send(kind, payload)

    def _request_blocks(self, conn: Connection, start: int) -> None:
        conn.send(GET_BLOCKS, rlp.encode([max(1, start), SYNC_BATCH]))

    async def _handle(self, conn: Connection, kind: int, payload: bytes) -> None:
        if kind in (RECORD, SUBMIT):
            ok, message = self._take_record(payload, conn if kind == RECORD else None)
            if kind == SUBMIT:
                conn.send(ACK, rlp.encode([int(ok), message.encode()]))
        elif kind == BLOCK:
            self._take_block(conn, payload)
        elif kind == GET_BLOCKS:
            start, count = (int.from_bytes(x, "big") for x in rlp.decode(payload))
            for h in range(start, min(self.chain.height, start + min(count, SYNC_BATCH) - 1) + 1):
                block = self.chain.block_at(h)
                if block is not None:
                    conn.send(BLOCK, block.encode())
        elif kind == STATUS_REQ:
            conn.send(STATUS, json.dumps(self.status()).encode())
        elif kind == ATTEST:
            self._take_attestation(payload, conn)
        elif kind == GET_ATTEST:
            height = int.from_bytes(rlp.decode(payload)[0], "big")
            block = self.chain.block_at(height)
            rows = []
            if block is not None:
                bid = block.block_id(self.chain.config.separator)
                rows = self.db.execute(
                    "SELECT validator, signature FROM attestations WHERE height=? AND block_id=?",
                    (height, bid),
                ).fetchall()
            header = block.header.area_header().to_json() if block else None
            conn.send(
                ATTEST,
                json.dumps(
                    {
                        "height": height,
                        "header": header,
                        "signatures": {"0x" + v.hex(): "0x" + s.hex() for v, s in rows},
                    }
                ).encode(),
            )
        elif kind == GET_ATTESTS:
            first, last = (int.from_bytes(x, "big") for x in rlp.decode(payload))
            last = min(last, first + ATTEST_WINDOW - 1)
            for height, bid, validator, sig in self.db.execute(
                "SELECT height, block_id, validator, signature FROM attestations"
                " WHERE height BETWEEN ? AND ? ORDER BY height",
                (first, last),
            ).fetchall():
                conn.send(ATTEST, rlp.encode([height, bid, validator, sig]))
        elif kind == RECORDS_OF:
            buyer = rlp.decode(payload)[0]
            out = [[h, r.encode()] for h, r in self.chain.records_of_buyer(buyer)]
            conn.send(RECORDS, rlp.encode(out))
        elif kind in (SUBMIT_TX, TX):
            ok, message = self._take_tx(payload, conn if kind == TX else None)
            if kind == SUBMIT_TX:
                conn.send(ACK, rlp.encode([int(ok), message.encode()]))
        elif kind == SHARE:
            try:
                parent, slot, member, nonce = rlp.decode(payload)
                slot_n, nonce_n = int.from_bytes(slot, "big"), int.from_bytes(nonce, "big")
            except Exception:  # noqa: BLE001 - malformed: ignore
                return
            if self.chain.add_share(parent, slot_n, member, nonce_n):
                self._broadcast(SHARE, payload, skip=conn)
        elif kind == SIGNED_HEADER:
            self._take_signed_header(payload, conn)
        elif kind == LEDGER_REQ:
            account = rlp.decode(payload)[0]
            conn.send(LEDGER, json.dumps(self.ledger_view(account)).encode())
        elif kind == HELLO:
            raise ProtocolError("second hello")

    def _take_record(self, payload: bytes, source: Connection | None) -> tuple[bool, str]:
        try:
            record = TradeRecord.decode(payload)
            new = self.chain.add_record(record)  # committed before we acknowledge
        except RecordError as exc:
            return False, str(exc)
        if new and self.seen.add(record.digest(self.chain.config.record_separator)):
            self._broadcast(RECORD, payload, skip=source)
        return True, "accepted" if new else "duplicate"

    async def _share(self, loop, now: int) -> None:
        """An on-duty member's participation: a work share for this slot on the tip, gossiped
        so that whoever wins the slot includes it (its ledger credits the member)."""
        from sec_offchain.consensus.pow import mine_share

        policy = self.chain.policy
        slot = policy.slot_of(now)
        key = (self.chain.tip, slot)
        if self.address in self.chain.shares.get(key, {}):
            return
        parent = self.chain.headers.get(self.chain.tip)
        difficulty = policy.expected_difficulty(
            parent, self.chain._recent_times(self.chain.tip, 10)
        )
        nonce = await loop.run_in_executor(
            None, mine_share, self.chain.tip, slot, self.address, difficulty
        )
        if nonce is not None and self.chain.add_share(self.chain.tip, slot, self.address, nonce):
            self._broadcast(SHARE, rlp.encode([self.chain.tip, slot, self.address, nonce]))

    def _watch(self, block: Block) -> None:
        """Every sealed block passes the judges' watcher; a producer's second block at one
        height becomes an evidence file (in the node's evidence directory)."""
        if self.watcher is None:
            return
        evidence = self.watcher.observe_block(block)
        if evidence is not None and self.evidence_dir is not None:
            path = self.evidence_dir / f"producer-{evidence.producer}-{evidence.height}.json"
            evidence.save(path)
            self.evidence_found.append(path)
            log.warning(
                "producer %s sealed two blocks at height %d: %s",
                evidence.producer,
                evidence.height,
                path,
            )

    def _take_signed_header(self, payload: bytes, source: Connection) -> None:
        """A header and a validator's signature over it: relayed once to every peer (judges'
        watchers among them); a second header one validator signed at a height becomes an
        evidence file."""
        try:
            header, validator, sig = decode_signed_header(payload)
            if header.area_id != self.chain.config.area_id:
                return
            if recover_address(fast_header_digest(header, self.chain.config.separator), sig) != (
                validator
            ):
                return
        except Exception:  # noqa: BLE001 - malformed: ignore
            return
        if not self.seen.add(keccak(payload)):
            return
        self._signed_headers[keccak(payload)] = payload
        if len(self._signed_headers) > SIGNED_HEADERS_KEPT:
            self._signed_headers.popitem(last=False)
        self._broadcast(SIGNED_HEADER, payload, skip=source)
        evidence = self.watcher.observe(header, sig)
        if evidence is not None and self.evidence_dir is not None:
            path = self.evidence_dir / f"validator-{evidence.validator}-{header.height}.json"
            evidence.save(path)
            self.evidence_found.append(path)
            log.warning(
                "validator %s signed two headers at %d: %s", validator.hex(), header.height, path
            )

    def _take_tx(self, payload: bytes, source: Connection | None) -> tuple[bool, str]:
        """A submitted transaction (`source` None) is checked against the ledger and the
        pool and answered "accepted", "duplicate" or the reason it will never apply; a
        gossiped one is pooled unless its nonce is used (the pool is settled after each
        block)."""
        try:
            tx = AreaTx.decode(payload)
            new = self.chain.add_tx(tx, strict=source is None)  # committed before we answer
        except LedgerError as exc:
            if source is None:
                log.info("area transaction refused: %s", exc)
            return False, str(exc)
        if source is None:
            log.info(
                "area transaction %d of 0x%s %s",
                tx.nonce,
                tx.sender.hex(),
                "accepted" if new else "already known",
            )
        if new and self.seen.add(tx.digest(self.chain.config.record_separator)):
            self._broadcast(TX, payload, skip=source)
        return True, "accepted" if new else "duplicate"

    def ledger_view(self, account: bytes) -> dict:
        ledger = self.chain.ledger
        payments = [
            {
                "ref": f"{src}:{nonce}",
                "buyer": "0x" + p["buyer"].hex(),
                "seller": "0x" + p["seller"].hex(),
                "amount": str(p["amount"]),
                "listing_id": p["listing_id"],
                "status": p["status"],
            }
            for (src, nonce), p in sorted(ledger.payments.items())
            if account in (p["buyer"], p["seller"])
        ]
        pending = self.chain.pending_ledger()
        return {
            "area_id": ledger.area_id,
            "account": "0x" + account.hex(),
            "balance": str(ledger.balances.get(account, 0)),
            "next_tx_nonce": ledger.tx_nonces.get(account, 0) + 1,
            # the nonce a new transaction takes after this node's pooled ones
            "pending_tx_nonce": pending.tx_nonces.get(account, 0) + 1,
            "pending_balance": str(pending.balances.get(account, 0)),
            "transactions": [tx_view(f) for f in self.chain.tx_fates(account)],
            "blocks_produced": ledger.produced.get(account, 0),
            "participation": ledger.participation.get(account, 0),
            "moved_out_epochs": sorted(e for a, e in ledger.moves_out if a == account),
            "moved_in": {
                str(e): str(v) for (a, e), v in sorted(ledger.moves_in.items()) if a == account
            },
            "payments": payments,
            "height": self.chain.height,
        }

    def _take_block(self, conn: Connection, payload: bytes) -> None:
        try:
            block = Block.decode(payload)
        except RecordError:
            return
        self._watch(block)
        try:
            new = self.chain.add_block(block)
        except BlockError as exc:
            if "unknown parent" in str(exc):
                self._request_blocks(conn, self.chain.final_height + 1)
            else:
                log.info("refused block %d from %s: %s", block.header.height, conn.peer.hex(), exc)
            return
        if new:
            self._broadcast(BLOCK, payload, skip=conn)
            self._attest()

    def _take_attestation(self, payload: bytes, source: Connection | None) -> None:
        try:
            height, bid, validator, sig = rlp.decode(payload)
            height = int.from_bytes(height, "big")
            if recover_address(bid, sig) != validator:
                return
        except Exception:  # noqa: BLE001 - malformed attestation: ignore
            return
        cur = self.db.execute(
            "INSERT OR IGNORE INTO attestations VALUES (?, ?, ?, ?)", (height, bid, validator, sig)
        )
        if cur.rowcount:
            self._broadcast(ATTEST, payload, skip=source)

    def _missing_attestations(self) -> tuple[int, int] | None:
        """A range of recent final heights for which this node holds fewer signatures than
        the area has validators (made while it was down), or None. A height is asked for a
        few times only, so a validator that never signs costs nothing once it is known."""
        final = self.chain.final_height
        if final < 1:
            return None
        first = max(1, final - ATTEST_WINDOW + 1)
        expected = len(self.peer_addrs) + 1
        counts = dict(
            self.db.execute(
                "SELECT height, COUNT(*) FROM attestations WHERE height BETWEEN ? AND ?"
                " GROUP BY height",
                (first, final),
            ).fetchall()
        )
        self._pulls = {h: n for h, n in self._pulls.items() if h >= first}
        wanted = [
            h
            for h in range(first, final + 1)
            if counts.get(h, 0) < expected and self._pulls.get(h, 0) < ATTEST_PULLS
        ]
        if not wanted:
            return None
        lo = wanted[0]
        hi = min(final, lo + ATTEST_PULL_BATCH - 1)
        return lo, hi

    def _pull_attestations(self, conns: list[Connection]) -> None:
        """Attestations are pushed once when made; a node that was down (or lost a frame)
        asks its peers for the ones it lacks, so every node can serve a quorum."""
        wanted = self._missing_attestations() if conns else None
        if wanted is None:
            return
        lo, hi = wanted
        for h in range(lo, hi + 1):
            self._pulls[h] = self._pulls.get(h, 0) + 1
        for conn in conns:
            conn.send(GET_ATTESTS, rlp.encode([lo, hi]))

    def _attest(self) -> None:
        """Signs every newly final header (validators only, slashing-protected)."""
        if self.signer is None:
            return
        while self.attested < self.chain.final_height:
            height = self.attested + 1
            block = self.chain.block_at(height)
            assert block is not None
            if self.signer.highest_signed(block.header.area_id) > height:
                self.attested = height
                continue
            try:
                sig = self.signer.sign(block.header.area_header())
            except SlashingProtectionError as exc:
                log.warning("not attesting height %d: %s", height, exc)
                self.attested = height
                continue
            payload = rlp.encode(
                [height, block.block_id(self.chain.config.separator), self.address, sig]
            )
            self._take_attestation(payload, None)
            self.attested = height

    # ------------------------------------------------------------------ loops

    async def _produce_loop(self) -> None:
        policy = self.chain.policy
        pow_policy = hasattr(policy, "check_header")
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.interval / 4 if not pow_policy else 0.05)
            height = self.chain.height + 1
            parent = self.chain.headers.get(self.chain.tip)
            now = int(time.time())
            if parent is not None and now <= parent.timestamp:
                continue
            if not pow_policy and parent is not None and now - parent.timestamp < self.interval:
                continue
            if not policy.may_produce(self.address, height, now, parent):
                continue
            if pow_policy:
                await self._share(loop, now)
                # shares of the other members arrive within the first part of the slot
                slot_start = policy.genesis_time + policy.slot_of(now) * policy.slot_time
                if time.time() < slot_start + policy.slot_time * 0.3:
                    continue
            # proof of work is CPU: mine off the event loop so gossip keeps flowing
            block = await loop.run_in_executor(
                None, self.chain.build_block, self.key, self.address, now
            )
            if self.chain.tip != block.header.parent_hash:
                continue  # a block arrived while we mined: ours would be a late competitor
            try:
                self.chain.add_block(block)
            except BlockError as exc:
                log.warning("own block refused: %s", exc)
                continue
            self._watch(block)
            self._broadcast(BLOCK, block.encode())
            self._attest()

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(2.0)
            for conn in list(self.conns.values()):
                self._request_blocks(conn, self.chain.height + 1)
            self._attest()
            self._pull_attestations(list(self.conns.values()))

    def status(self) -> dict:
        height = self.chain.height
        return {
            "node": "0x" + self.address.hex(),
            "area_id": self.chain.config.area_id,
            "height": height,
            "final_height": self.chain.final_height,
            "tip": "0x" + self.chain.tip.hex(),
            "pool": self.chain.pool_size(),
            "peers": sorted("0x" + p.hex() for p in self.conns),
            "attested": self.attested,
            "uptime": round(time.time() - self.started, 1),
            "on_duty": self.on_duty(height),
        }

    def on_duty(self, height: int, now: float | None = None) -> dict:
        """Who may produce the block after `height`: under the community proof of work the
        slot at `now`, its community and the producers in it (every producer when none is);
        under round-robin the one producer due (no slot, no community)."""
        policy = self.chain.policy
        if isinstance(policy, CommunityPoW):
            slot = policy.slot_of(int(time.time() if now is None else now))
            members = [p for p in policy.producers if policy.on_duty(p, slot)]
            return {
                "slot": slot,
                "community": on_duty(slot, policy.k),
                "producers": ["0x" + p.hex() for p in members],
            }
        return {"slot": None, "community": None, "producers": ["0x" + policy.due(height + 1).hex()]}


def tx_view(fate: dict) -> dict:
    """One of an account's area transactions as the ledger view shows it (JSON)."""
    tx = fate["tx"]
    view = {
        "id": "0x" + fate["id"].hex(),
        "nonce": tx.nonce,
        "kind": KIND_NAMES.get(tx.kind, str(tx.kind)),
        "status": fate["status"],
        "height": fate["height"],
        "reason": fate["reason"],
    }
    if tx.kind == PAY:
        view.update(
            dst_area=tx.dst_area,
            recipient="0x" + tx.recipient.hex(),
            amount=str(tx.amount),
            listing_id=tx.listing_id,
        )
    else:
        view["ref"] = f"{tx.ref_src}:{tx.ref_nonce}"
    return view


def build_node(
    cfg: DevnetConfig, area_id: int, index: int, listen: tuple[str, int] | None = None
) -> AreaNode:
    """Node `index` of area `area_id`; `listen` (host, port) overrides where it listens
    (a node on its own host listens on all interfaces, peers dial its public address)."""
    area = cfg.area(area_id)
    me = area.nodes[index]
    config = AreaConfig(
        area_id=area_id,
        chain_id=cfg.chain_id,
        separator=cfg.anchor_separator,
        record_separator=cfg.record_separator,
        bridges=tuple(bytes.fromhex(b[2:]) for b in cfg.bridges),
        max_egress=int(cfg.extra.get("max_egress", MAX_EGRESS)),
    )
    producers = tuple(bytes.fromhex(n.address[2:]) for n in area.nodes)
    consensus = cfg.extra.get("consensus", {"kind": "round-robin"})
    if consensus.get("kind") == "pow":
        policy = CommunityPoW(
            producers,
            slot_time=cfg.interval,
            genesis_time=int(cfg.extra.get("genesis_time", 0)),
            k=int(consensus.get("communities", 2)),
            difficulty=int(consensus.get("difficulty", 2**14)),
            solve_target=float(consensus.get("solve_target", cfg.interval / 4)),
        )
    else:
        policy = RoundRobin(producers, cfg.interval, int(cfg.extra.get("genesis_time", 0)))
    home = cfg.home / f"area{area_id}" / f"node{index}"
    chain = AreaChain(
        home / "chain.db",
        config,
        policy,
        is_disabled=cfg.disabled_check(),
        events=cfg.events(),
        check_area=cfg.seller_area_check(area_id),
    )
    signer = ValidatorSigner(me.key, home / "slashing.db", cfg.chain_id, cfg.anchor_hub)
    peers = [
        (f"{n.host or '127.0.0.1'}:{n.port}", bytes.fromhex(n.address[2:]))
        for i, n in enumerate(area.nodes)
        if i != index
    ]
    node = AreaNode(
        me.key,
        bytes.fromhex(me.address[2:]),
        chain,
        TcpTransport(*(listen or (me.host or "127.0.0.1", me.port))),
        peers,
        cfg.interval,
        signer,
    )
    node.watcher = EquivocationWatcher(cfg.chain_id, cfg.anchor_hub)
    node.evidence_dir = home / "evidence"
    return node


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one area node.")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--area", type=int, required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(message)s",
    )
    run_node(build_node(DevnetConfig.load(args.config), args.area, args.index))
    return 0


def run_node(node: AreaNode) -> None:
    """Runs `node` until SIGINT or SIGTERM."""

    async def runner() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, node.stopping.set)
        await node.run()

    asyncio.run(runner())


if __name__ == "__main__":
    sys.exit(main())
