"""Running the gateway: the indexer in a thread, the API under uvicorn in this one."""

from __future__ import annotations

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
    areas: Any = None,
) -> None:
    """Indexes and serves until SIGINT/SIGTERM. `db` defaults to gateway.db beside the
    deployments file (or in the devnet home); `port` 0 picks a free one. With `relayer_key`
    (an eth-account LocalAccount) the gateway relays users' signed requests, paying their gas
    under the default sponsorship policy (its queue in `relay_db`, default relay.db beside
    `db`). `areas` (a DevnetConfig, as a host config file gives it) names the area nodes
    blocks are read from when there is no devnet home."""
    import uvicorn

    from sec_offchain.gateway.app import GatewayContext, build_app

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
    if devnet_home is not None:
        ctx.blocks = devnet_blocks(devnet_home)
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
    from sec_offchain.gateway.web import build_web_router

    ctx.writers.append(build_web_router(ctx, relay))
    app = build_app(ctx)
    if port == 0:
        port = get_free_port()
    _check_port(host, port)
    stop = threading.Event()
    thread = threading.Thread(target=indexer.run, args=(stop,), name="indexer", daemon=True)
    thread.start()
    url = f"http://{host}:{port}"
    state = devnet_home / STATE_FILE if devnet_home is not None else None
    if state is not None:
        state.write_text(json.dumps({"url": url, "pid": os.getpid(), "db": db}) + "\n")
    say(f"gateway on {url} (docs {url}/docs), indexing {rpc} into {db}")
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
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
