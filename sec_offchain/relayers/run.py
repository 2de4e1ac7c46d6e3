"""Process entry points for the devnet's relayers:

python -m sec_offchain.relayers.run anchor --config devnet.json --area 1
python -m sec_offchain.relayers.run bridge --config devnet.json --index 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import threading
from pathlib import Path

import rlp
from eth_account import Account
from web3 import Web3

from sec_offchain.area import net
from sec_offchain.area.block import Block
from sec_offchain.area.devnet_config import DevnetConfig
from sec_offchain.area.records import TradeRecord
from sec_offchain.contracts.deployment import Deployment
from sec_offchain.encoding.area_header import AreaHeader

log = logging.getLogger("sec.relayers")

LATE_GRACE = 0.5  # seconds the anchor relayer still waits for the slower nodes of an area
BLOCK_BATCH = 64  # blocks the BGC relayer fetches per connection (a node serves at most 64)


def node_host(node) -> tuple[str, int]:
    """Where a node listens: its `host` in the devnet file (a node on another host), else
    this machine."""
    return getattr(node, "host", "") or "127.0.0.1", node.port


def node_request(
    cfg: DevnetConfig, area_id: int, kind: int, payload: bytes, reply: int, key: bytes
) -> bytes | None:
    """Asks the area's nodes in turn; None when none answers."""
    me = Account.from_key(key)
    for node in cfg.area(area_id).nodes:
        host, port = node_host(node)
        try:
            return asyncio.run(
                net.request(
                    host,
                    port,
                    key,
                    bytes.fromhex(me.address[2:]),
                    cfg.chain_id,
                    area_id,
                    kind,
                    payload,
                    reply,
                    timeout=5,
                )
            )
        except (TimeoutError, OSError, asyncio.IncompleteReadError, net.ProtocolError):
            continue
    return None


async def _ask_all(cfg: DevnetConfig, area_id: int, ask) -> list:
    """`ask(host, port)` of every node of the area at once; the answers of those that
    answered, waiting for the late ones as `node_request_all` says."""

    async def one(node):
        host, port = node_host(node)
        try:
            return await ask(host, port)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, net.ProtocolError):
            return None

    nodes = cfg.area(area_id).nodes
    enough = len(nodes) * 2 // 3 + 1  # more than two thirds of the nodes
    started = asyncio.get_running_loop().time()
    pending = {asyncio.ensure_future(one(n)) for n in nodes}
    answers: list = []
    deadline = None
    while pending:
        timeout = (
            None if deadline is None else max(0.0, deadline - asyncio.get_running_loop().time())
        )
        done, pending = await asyncio.wait(
            pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if not done:
            break  # the late ones are skipped this round
        answers += [a for a in (t.result() for t in done) if a is not None]
        if deadline is None and len(answers) >= enough:
            now = asyncio.get_running_loop().time()
            deadline = now + max(LATE_GRACE, now - started)
    for t in pending:
        t.cancel()
    return answers


def node_request_all(
    cfg: DevnetConfig, area_id: int, kind: int, payload: bytes, reply: int, key: bytes
) -> list[bytes]:
    """Asks every node of the area at once; the answers of those that answered. Once more
    than two thirds have answered, the rest get as long again as that took (at least
    LATE_GRACE): a node that is starting up or overloaded cannot hold every anchor back by
    the whole timeout, and one that answers in reasonable time is still heard."""
    me = bytes.fromhex(Account.from_key(key).address[2:])

    def ask(host: str, port: int):
        return net.request(
            host, port, key, me, cfg.chain_id, area_id, kind, payload, reply, timeout=5
        )

    return asyncio.run(_ask_all(cfg, area_id, ask))


def node_request_all_many(
    cfg: DevnetConfig, area_id: int, kind: int, payloads: list[bytes], reply: int, key: bytes
) -> list[list[bytes]]:
    """`node_request_all` for several requests, sent to each node over one connection:
    per node that answered, its replies in the order asked."""
    me = bytes.fromhex(Account.from_key(key).address[2:])

    def ask(host: str, port: int):
        return net.request_many(
            host, port, key, me, cfg.chain_id, area_id, kind, payloads, reply, timeout=5
        )

    return asyncio.run(_ask_all(cfg, area_id, ask))


def merge_attestations(bodies: list[bytes]):
    """The header most nodes' signatures are for, with the union of those signatures: a
    node that was down (or lost gossip) holds fewer, and no single node decides."""
    by_header: dict[str, tuple[AreaHeader, dict[str, bytes]]] = {}
    for body in bodies:
        try:
            data = json.loads(body)
            if not data.get("header"):
                continue
            header = AreaHeader.from_json(data["header"])
            sigs = {v.lower(): bytes.fromhex(s[2:]) for v, s in data["signatures"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # a malformed answer counts for nothing
        key = json.dumps(data["header"], sort_keys=True)
        entry = by_header.setdefault(key, (header, {}))
        entry[1].update(sigs)
    if not by_header:
        return None
    return max(by_header.values(), key=lambda e: len(e[1]))


class Attestations:
    """The anchor relayer's source: every node of the area is asked, their signatures for
    the header at a height are merged (the relayer checks each one and the quorum).
    `many` asks for several heights over one connection per node: a relayer catching up
    (or far from the nodes) pays one round of requests for a whole batch."""

    def __init__(self, cfg: DevnetConfig, area_id: int, key: bytes) -> None:
        self.cfg, self.area_id, self.key = cfg, area_id, key

    def __call__(self, height: int):
        return self.many(height, 1)[0]

    def many(self, first: int, count: int) -> list:
        payloads = [rlp.encode([h]) for h in range(first, first + count)]
        answers = node_request_all_many(
            self.cfg, self.area_id, net.GET_ATTEST, payloads, net.ATTEST, self.key
        )
        return [merge_attestations([a[i] for a in answers]) for i in range(count)]


def attestations(cfg: DevnetConfig, area_id: int, key: bytes) -> Attestations:
    return Attestations(cfg, area_id, key)


def submitter(cfg: DevnetConfig, key: bytes):
    def submit(record: TradeRecord) -> bool:
        body = node_request(cfg, record.area_id, net.SUBMIT, record.encode(), net.ACK, key)
        if body is None:
            return False  # no node reachable: retried
        ok, message = rlp.decode(body)
        if ok != b"\x01":
            log.warning("order %d refused by the area: %s", record.order_id, message.decode())
        return True

    return submit


def ledger_reader(cfg: DevnetConfig, key: bytes):
    """`read(area, account)`: the account's ledger view from the area's nodes (None when no
    node answers), what the mover asks before each move."""

    def read(area_id: int, account: str) -> dict | None:
        payload = rlp.encode([bytes.fromhex(account[2:])])
        body = node_request(cfg, area_id, net.LEDGER_REQ, payload, net.LEDGER, key)
        return json.loads(body) if body else None

    return read


def tx_submitter(cfg: DevnetConfig, key: bytes):
    """`submit(area, tx)`: (accepted, the node's word) for an area transaction."""

    def submit(area_id: int, tx) -> tuple[bool, str]:
        body = node_request(cfg, area_id, net.SUBMIT_TX, tx.encode(), net.ACK, key)
        if body is None:
            return False, "no node answers"
        ok, message = rlp.decode(body)
        return ok == b"\x01", message.decode()

    return submit


def build_epoch_daemon(cfg: DevnetConfig, key: bytes, epoch: int, seed: int = 0, pace: float = 0):
    """The area epoch daemon over the devnet's (or host config's) chain and areas; its key
    publishes the roots (it must hold AreaDirectory's PUBLISHER_ROLE) and asks the nodes."""
    from sec_offchain.relayers.epochs import EpochDaemon, EpochParams

    deployment = Deployment.from_file(Path(cfg.deployments))
    w3 = _w3(cfg)

    def contract(name: str):
        rec = deployment.contracts[name]
        return w3.eth.contract(address=Web3.to_checksum_address(rec.address), abi=rec.abi)

    params = EpochParams(
        epoch_seconds=epoch,
        area_ids=tuple(sorted(a.area_id for a in cfg.areas)),
        seed=seed,
        confirmations=cfg.confirmations,
        start_block=int(cfg.extra.get("start_block", deployment.block)),
        pace=pace,
    )
    return EpochDaemon(
        contract("Escrow"),
        contract("AreaDirectory"),
        contract("TrustIndex"),
        Account.from_key(key),
        cfg.directory_folder,
        params,
        ledger_reader(cfg, key),
        tx_submitter(cfg, key),
    )


def run_epochs(daemon, stop: threading.Event, poll: float) -> None:
    """Steps the area epoch daemon every `poll` seconds until `stop`."""
    log.info(
        "area epochs every %d s for areas %s, publisher %s, directories in %s",
        daemon.params.epoch_seconds,
        list(daemon.params.area_ids),
        daemon.tx.address,
        daemon.folder,
    )
    while not stop.is_set():
        try:
            daemon.step()
        except Exception as exc:  # noqa: BLE001 - RPC or node outage: next round
            log.warning("area epochs: %s", exc)
        stop.wait(poll)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a devnet relayer.")
    parser.add_argument("kind", choices=["anchor", "bridge", "bgc"])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--area", type=int, default=1)
    parser.add_argument("--index", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    cfg = DevnetConfig.load(args.config)
    if args.kind == "anchor":
        run_anchor(cfg, args.area, stop_on_signals())
    elif args.kind == "bgc":
        run_bgc(cfg, stop_on_signals())
    else:
        run_bridge(cfg, args.index, stop_on_signals())
    return 0


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _w3(cfg: DevnetConfig) -> Web3:
    return Web3(Web3.HTTPProvider(cfg.rpc, request_kwargs={"timeout": 10}))


def run_anchor(
    cfg: DevnetConfig, area_id: int, stop: threading.Event, grace: float | None = None
) -> None:
    """The anchor relayer of `area_id` (key: `cfg.relayer_key`) until `stop`; with `grace`
    a standby beside a primary (its own database, `anchor-<area>-standby.db`; the lock
    beside it, so on one host the two share a key's nonces)."""
    from sec_offchain.relayers.anchor import AnchorRelayer

    deployment = Deployment.from_file(Path(cfg.deployments))
    w3 = _w3(cfg)
    key = bytes.fromhex(cfg.relayer_key[2:])
    name = f"anchor-{area_id}" if grace is None else f"anchor-{area_id}-standby"
    relayer = AnchorRelayer(
        w3,
        deployment.address_of("AnchorHub"),
        deployment.contracts["AnchorHub"].abi,
        deployment.address_of("Staking"),
        deployment.contracts["Staking"].abi,
        Account.from_key(key),
        area_id,
        attestations(cfg, area_id, key),
        cfg.home / "relayers" / f"{name}.db",
        confirmations=1,
        grace=grace or 0.0,
    )
    if grace is not None:
        log.info("anchor relayer of area %d: standby, %g s grace", area_id, grace)
    relayer.run(stop.is_set, interval=cfg.interval)


ANCHOR_STANDBY_INTERVALS = 2  # a standby anchor relayer's default grace, in area intervals
STANDBY_GRACE = 30.0  # seconds a standby BGC relayer leaves a due message to the primary


class BatchedBlocks:
    """The BGC relayer's block source: a block missing from the cache fetches that height and
    up to BLOCK_BATCH after it from the first node that answers, over one connection, so a
    relayer far from the nodes (tens of milliseconds each way) keeps up with the area
    instead of paying a connection and a handshake per height. Each cached block is handed
    out once (the relayer checks it against the anchored digest; after a mismatch the next
    read fetches again)."""

    def __init__(self, cfg: DevnetConfig, key: bytes) -> None:
        self.cfg, self.key = cfg, key
        self.me = bytes.fromhex(Account.from_key(key).address[2:])
        self.cache: dict[tuple[int, int], Block] = {}

    def __call__(self, area_id: int, height: int) -> Block | None:
        block = self.cache.pop((area_id, height), None)
        if block is not None:
            return block
        for k in [k for k in self.cache if k[0] == area_id]:
            del self.cache[k]
        for node in self.cfg.area(area_id).nodes:
            host, port = node_host(node)
            try:
                bodies = asyncio.run(
                    net.request_blocks(
                        host,
                        port,
                        self.key,
                        self.me,
                        self.cfg.chain_id,
                        area_id,
                        height,
                        BLOCK_BATCH,
                        timeout=5,
                    )
                )
            except (TimeoutError, OSError, asyncio.IncompleteReadError, net.ProtocolError):
                continue
            for body in bodies:
                try:
                    got = Block.decode(body)
                except Exception:  # noqa: BLE001 - a malformed block is no block
                    continue
                self.cache[(area_id, got.header.height)] = got
            if (area_id, height) in self.cache:
                return self.cache.pop((area_id, height))
        return None


def run_bgc(cfg: DevnetConfig, stop: threading.Event, grace: float | None = None) -> None:
    """The BGC relayer of every area (key: `cfg.extra["bgc_key"]`) until `stop`; with
    `grace` a standby beside a primary (its own database, `bgc-standby.db`)."""
    from sec_offchain.relayers.bgc import BgcRelayer

    deployment = Deployment.from_file(Path(cfg.deployments))
    w3 = _w3(cfg)
    key = bytes.fromhex(cfg.relayer_key[2:])

    blocks = BatchedBlocks(cfg, key)

    hub_rec, gw_rec = deployment.contracts["AnchorHub"], deployment.contracts["BorderGateway"]
    relayer = BgcRelayer(
        w3,
        w3.eth.contract(address=hub_rec.address, abi=hub_rec.abi),
        w3.eth.contract(address=gw_rec.address, abi=gw_rec.abi),
        Account.from_key(bytes.fromhex(cfg.extra["bgc_key"][2:])),
        [a.area_id for a in cfg.areas],
        blocks,
        cfg.anchor_separator,
        cfg.home / "relayers" / ("bgc.db" if grace is None else "bgc-standby.db"),
        grace=grace or 0.0,
    )
    log.info(
        "BGC relayer %s%s for areas %s",
        relayer.tx.account.address,
        "" if grace is None else f" (standby, {grace:g} s grace)",
        [a.area_id for a in cfg.areas],
    )
    while not stop.is_set():
        try:
            relayer.step()
        except Exception as exc:  # noqa: BLE001 - RPC outage: next round
            log.warning("bgc relayer: %s", exc)
        stop.wait(cfg.interval)


def run_bridge(
    cfg: DevnetConfig,
    index: int,
    stop: threading.Event,
    listen: tuple[str, int] | None = None,
    standbys: tuple[tuple[str, int], ...] | None = None,
) -> None:
    """Escrow bridge `index` (0 = primary; key: `cfg.bridge_keys[index]`) until `stop`.
    Heartbeats go to `standbys` (default: the devnet's ports on this machine)."""
    from sec_offchain.relayers.bridge import BridgeConfig, EscrowBridge

    deployment = Deployment.from_file(Path(cfg.deployments))
    key = bytes.fromhex(cfg.bridge_keys[index][2:])
    ports = cfg.extra.get("bridge_ports", [0])
    if standbys is None:
        standbys = tuple(("127.0.0.1", p) for p in ports[1:]) if index == 0 else ()
    if listen is None:
        listen = ("127.0.0.1", ports[index] if index and index < len(ports) else 0)
    bcfg = BridgeConfig(
        key=key,
        index=index,
        heartbeat=float(cfg.extra.get("heartbeat", 10.0)),
        listen_port=listen[1] if index else 0,
        listen_host=listen[0],
        standby_ports=tuple(p for _, p in standbys) if index == 0 else (),
        standby_hosts=tuple(h for h, _ in standbys) if index == 0 else (),
        poll=cfg.interval,
        confirmations=cfg.confirmations,
    )
    published = cfg.published_directories()  # the directory in force when an order was paid
    bridge = EscrowBridge(
        _w3(cfg),
        deployment.address_of("Escrow"),
        deployment.contracts["Escrow"].abi,
        bcfg,
        bytes.fromhex(cfg.bridges[0][2:]),
        cfg.record_separator,
        cfg.area_of,
        submitter(cfg, key),
        cfg.home / "relayers" / f"bridge-{index}.db",
        start_block=int(cfg.extra.get("start_block", 0)),
        order_area=published.order_area if published is not None else None,
    )
    threading.Thread(target=lambda: (stop.wait(), bridge.stop()), daemon=True).start()
    bridge.run()


if __name__ == "__main__":
    sys.exit(main())
