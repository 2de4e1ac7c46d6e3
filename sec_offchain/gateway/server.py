"""Running the gateway: the indexer in a thread, the API under uvicorn in this one."""

from __future__ import annotations

import gc
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from web3 import Web3

from sec_offchain.contracts.deployment import Deployment
from sec_offchain.devchain import get_free_port
from sec_offchain.exceptions import ConfigError
from sec_offchain.gateway.indexer import DEFAULT_CONFIRMATIONS, DEFAULT_RANGE, Indexer
from sec_offchain.gateway.network import AlertThresholds, NodeMonitor
from sec_offchain.gateway.store import open_store

log = logging.getLogger("sec.gateway")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8700
STATE_FILE = "gateway.json"  # in a devnet home: where its gateway listens


def serve(
    rpc: str,
    deployment_path: Path,
    db: str | None = None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    confirmations: int = DEFAULT_CONFIRMATIONS,
    devnet_home: Path | None = None,
    block_range: int = DEFAULT_RANGE,
    say: Callable[[str], None] = print,
    relayer_key: Any = None,
    relay_db: Path | None = None,
    area_ids: tuple[int, ...] | None = None,
    directories: Path | None = None,
    thresholds: AlertThresholds | None = None,
    node_poll: float = 1.0,
    public_rpc: str | None = None,
    areas: Any = None,
) -> None:
    """Indexes and serves until SIGINT/SIGTERM. `db` defaults to gateway.db beside the
    deployments file (or in the devnet home); `port` 0 picks a free one. With `relayer_key`
    (an eth-account LocalAccount) the gateway relays users' signed requests, paying their gas
    under the default sponsorship policy (its queue in `relay_db`, default relay.db beside
    `db`). With `devnet_home` it forwards signed area transactions and records to the
    devnet's area nodes, follows their BGC messages, serves the area blocks (proofs) and
    polls the area nodes' status every `node_poll` seconds for the dashboard; `thresholds`
    are its alert limits. The account -> area lookup uses the devnet's areas (or
    `area_ids`) and the directory files in `directories` (default the devnet's folder,
    `areas/` in its home, where its nodes and bridge read them). `public_rpc` is named to
    browsers for reading the chain without a wallet. `areas` (a DevnetConfig, as a host
    config file gives it) names the area nodes blocks are read from when there is no devnet
    home."""
    import uvicorn

    from sec_offchain.gateway.app import FastReads, GatewayContext, build_app

    deployment = Deployment.from_file(deployment_path)
    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 30}))
    try:
        chain_id = int(w3.eth.chain_id)
    except Exception as exc:  # noqa: BLE001 - any transport error means the same here
        raise ConfigError(f"cannot reach a node at {rpc}: {exc.__class__.__name__}") from exc
    if chain_id != deployment.chain_id:
        raise ConfigError(
            f"the node at {rpc} is chain {chain_id}, the deployment is for {deployment.chain_id}"
        )
    if db is None:
        base = devnet_home if devnet_home is not None else deployment_path.parent
        db = str(base / "gateway.db")
    store = open_store(db)
    indexer = Indexer(w3, deployment, store, confirmations=confirmations, block_range=block_range)
    ctx = GatewayContext(store, w3, deployment, indexer, confirmations, web=True)
    ctx.thresholds = thresholds or AlertThresholds()
    ctx.public_rpc = public_rpc
    if devnet_home is not None:
        from sec_offchain.area.devnet_config import DevnetConfig
        from sec_offchain.gateway.areas import AreaNodes, PendingMessages

        ctx.blocks = devnet_blocks(devnet_home)
        ctx.block_range = devnet_block_range(devnet_home)
        ctx.devnet = DevnetConfig.load(devnet_home / "devnet.json")
        ctx.devnet_home = devnet_home
        ctx.network = NodeMonitor(ctx.devnet, poll=node_poll)
        ctx.nodes = AreaNodes.from_home(devnet_home)
        ctx.pending = PendingMessages(ctx.nodes, store, ctx.nodes.cfg.anchor_separator)
        if area_ids is None:
            area_ids = ctx.nodes.area_ids
        if directories is None:
            directories = ctx.nodes.cfg.directory_folder
    if area_ids:
        from sec_offchain.gateway.areas import AreaLookupService

        ctx.lookup = AreaLookupService(store, area_ids, directories)
    elif areas is not None:
        ctx.blocks = area_blocks(areas)
    core = None
    relay = None
    if relayer_key is not None:
        from sec_offchain.contracts.client import Suite
        from sec_offchain.gateway.web import RelayHandle
        from sec_offchain.relay.core import RelayerCore

        if relay_db is None:
            relay_db = Path(db).with_name("relay.db") if "://" not in db else Path("relay.db")
        core = RelayerCore.for_suite(Suite(w3, deployment), relayer_key, relay_db)
        relay = RelayHandle(core)
        ctx.relay = relay
        ctx.relay_stats = relay.stats
    from sec_offchain.gateway.web import build_web_router

    ctx.writers.append(build_web_router(ctx, relay))
    app = FastReads(build_app(ctx), store)
    if port == 0:
        port = get_free_port()
    _check_port(host, port)
    stop = threading.Event()
    thread = threading.Thread(target=indexer.run, args=(stop,), name="indexer", daemon=True)
    thread.start()
    if ctx.network is not None:
        threading.Thread(target=ctx.network.run, args=(stop,), name="nodes", daemon=True).start()
    url = f"http://{host}:{port}"
    state = devnet_home / STATE_FILE if devnet_home is not None else None
    if state is not None:
        state.write_text(json.dumps({"url": url, "pid": os.getpid(), "db": db}) + "\n")
    say(f"gateway on {url} (docs {url}/docs), indexing {rpc} into {db}")
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    # what start-up made (web3, FastAPI, the ABIs) is kept out of the garbage collector's
    # full passes, which otherwise pause every request in flight for tens of milliseconds
    gc.collect()
    gc.freeze()
    try:
        uvicorn.Server(config).run()
    finally:
        stop.set()
        thread.join(timeout=10)
        store.close()
        if core is not None:
            core.close()
        if state is not None and state.exists():
            state.unlink()


def _check_port(host: str, port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def devnet_blocks(home: Path) -> Callable[[int, int], object]:
    """(area, height) -> the block from any node of a devnet's area (None if none answers)."""
    from sec_offchain.area.devnet_config import DevnetConfig

    return area_blocks(DevnetConfig.load(home / "devnet.json"))


def area_blocks(cfg: Any) -> Callable[[int, int], object]:
    """(area, height) -> the block from any node of the area `cfg` lists (None if none
    answers); `cfg.relayer_key` greets the nodes."""
    import rlp

    from sec_offchain.area import net
    from sec_offchain.area.block import Block
    from sec_offchain.relayers.run import node_request

    key = bytes.fromhex(cfg.relayer_key[2:])

    def blocks(area_id: int, height: int) -> Block | None:
        try:
            cfg.area(area_id)
        except (KeyError, ValueError, ConfigError):
            return None
        body = node_request(cfg, area_id, net.GET_BLOCKS, rlp.encode([height, 1]), net.BLOCK, key)
        return Block.decode(body) if body else None

    return blocks


BLOCK_BATCH = 64  # blocks asked for in one request (what a node sends for one GET_BLOCKS)


def devnet_block_range(home: Path) -> Callable[[int, int, int], list]:
    """(area, start, count) -> blocks start, start+1, ... of a devnet's area from the first
    node that serves them, over one connection (a gateway that starts late on a long chain
    reads it a batch at a time, not a block at a time); as many as the node sent in order,
    [] if no node answers."""
    import asyncio

    import rlp
    from eth_account import Account

    from sec_offchain.area import net
    from sec_offchain.area.block import Block
    from sec_offchain.area.devnet_config import DevnetConfig
    from sec_offchain.relayers.run import node_host

    cfg = DevnetConfig.load(home / "devnet.json")
    key = bytes.fromhex(cfg.relayer_key[2:])
    me = bytes.fromhex(Account.from_key(key).address[2:])

    async def ask(host: str, port: int, area_id: int, start: int, count: int) -> list[Block]:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        conn = net.Connection(reader, writer)
        got: list[Block] = []
        try:
            await net.handshake(
                conn, net.Hello.make(key, me, cfg.chain_id, 0, 0), cfg.chain_id, area_id
            )
            await conn.send_now(net.GET_BLOCKS, rlp.encode([start, count]))
            while len(got) < count:
                kind, body = await asyncio.wait_for(conn.read(), 5)
                if kind != net.BLOCK:
                    continue
                block = Block.decode(body)
                if block.header.height == start + len(got):  # gossip of a new block: not ours
                    got.append(block)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, net.ProtocolError):
            pass
        finally:
            conn.close()
        return got

    def block_range(area_id: int, start: int, count: int) -> list[Block]:
        try:
            nodes = cfg.area(area_id).nodes
        except (KeyError, ValueError, ConfigError):
            return []
        for node in nodes:
            host, port = node_host(node)
            try:
                got = asyncio.run(ask(host, port, area_id, start, min(count, BLOCK_BATCH)))
            except (TimeoutError, OSError, net.ProtocolError):
                continue
            if got:
                return got
        return []

    return block_range
