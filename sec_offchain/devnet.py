"""`sec devnet up` / `sec devnet status`: a whole SEC network on one machine.

`up` starts anvil (unless given `--rpc`), deploys the suite, stakes one validator per node
(the node key is its validator key), writes the devnet file, and starts as processes: every
area's nodes, the escrow bridge (primary and one standby) and one anchor relayer per area.
It then shows the network's state until Ctrl-C, which stops everything it started.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from web3 import Web3

from sec_offchain.area import net
from sec_offchain.area.devnet_config import AreaEntry, DevnetConfig, NodeEntry
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deploy import SuiteParams, deploy_suite
from sec_offchain.contracts.deployment import Deployment
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.devchain import Anvil, RpcChain
from sec_offchain.exceptions import ConfigError

DEFAULT_HOME = Path(".sec") / "devnet"
VALIDATOR_STAKE = 100_000 * 10**18
NODE_KEY_BASE = 100  # node (= validator) keys: dev accounts 100 + 10 * area + index
BRIDGE_KEYS = (90, 91)
RELAYER_KEY = 92
BGC_KEY = 93
STATUS_KEY = 99
DEV_ACTIVATION_DELAY = 10  # seconds; production deployments wait a day


def provision(
    w3: Web3,
    rpc: str,
    home: Path,
    areas: int,
    nodes: int,
    interval: float,
    say=print,
    consensus: str = "pow",
) -> DevnetConfig:
    """Deploys, funds and stakes; returns the devnet file's content (also written)."""
    deployer = get_dev_account(0)
    say("deploying the suite")
    # A development deployment: added validator stake waits seconds, not a day (recorded in
    # the deployments file's params); the devnet moves anvil's clock past it at start.
    params = SuiteParams(activation_delay=DEV_ACTIVATION_DELAY)
    deployment = deploy_suite(w3, deployer, params, progress=lambda m: None)
    dep_path = deployment.save(home / "deployments.json")
    suite = Suite(w3, deployment)
    tx = suite.tx(deployer)
    area_entries = []
    staked = []
    for a in range(1, areas + 1):
        entries = []
        for i in range(nodes):
            acct = get_dev_account(NODE_KEY_BASE + 10 * a + i)
            tx.send_value(acct.address, 10**18)
            tx.transact(suite.token.functions.transfer(acct.address, VALIDATOR_STAKE))
            suite.stake_validator(acct, a, VALIDATOR_STAKE)
            staked.append(acct)
            entries.append(NodeEntry(acct.address, "0x" + acct.key.hex(), net.free_listen_port()))
        area_entries.append(AreaEntry(a, tuple(entries)))
        say(f"area {a}: {nodes} validators staked {nodes * 100_000:,} SEC")
    suite.activate_validators(staked, RpcChain(rpc))
    say(f"validators activated after the {DEV_ACTIVATION_DELAY} s activation delay")
    for k in (*BRIDGE_KEYS, RELAYER_KEY, BGC_KEY):
        tx.send_value(get_dev_account(k).address, 10**18)
    cfg = DevnetConfig(
        chain_id=w3.eth.chain_id,
        rpc=rpc,
        deployments=str(dep_path),
        anchor_hub=deployment.address_of("AnchorHub"),
        escrow=deployment.address_of("Escrow"),
        trust_index=deployment.address_of("TrustIndex"),
        home=home,
        interval=interval,
        areas=tuple(area_entries),
        bridges=tuple(get_dev_account(k).address for k in BRIDGE_KEYS),
        bridge_keys=tuple("0x" + get_dev_account(k).key.hex() for k in BRIDGE_KEYS),
        relayer_key="0x" + get_dev_account(RELAYER_KEY).key.hex(),
        extra={
            "bridge_ports": [0, net.free_listen_port(socket.SOCK_DGRAM)],
            "heartbeat": 10.0,
            "start_block": int(w3.eth.block_number),
            "genesis_time": int(time.time()),
            "bgc_key": "0x" + get_dev_account(BGC_KEY).key.hex(),
            # the community proof of work (docs/consensus.md); "round-robin" is the simple one
            "consensus": {"kind": consensus, "communities": 2, "difficulty": 2**14},
        },
    )
    cfg.save(home / "devnet.json")
    return cfg


def start_processes(cfg: DevnetConfig) -> list[tuple[str, subprocess.Popen]]:
    logs = cfg.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = str(cfg.home / "devnet.json")
    py = sys.executable
    specs = []
    for area in cfg.areas:
        for i in range(len(area.nodes)):
            specs.append(
                (
                    f"node-{area.area_id}-{i}",
                    [
                        py,
                        "-m",
                        "sec_offchain.area.node",
                        "--config",
                        path,
                        "--area",
                        str(area.area_id),
                        "--index",
                        str(i),
                    ],
                )
            )
    for i in range(len(cfg.bridges)):
        specs.append(
            (
                f"bridge-{i}",
                [
                    py,
                    "-m",
                    "sec_offchain.relayers.run",
                    "bridge",
                    "--config",
                    path,
                    "--index",
                    str(i),
                ],
            )
        )
    specs.append(("bgc-relayer", [py, "-m", "sec_offchain.relayers.run", "bgc", "--config", path]))
    for area in cfg.areas:
        specs.append(
            (
                f"anchor-relayer-{area.area_id}",
                [
                    py,
                    "-m",
                    "sec_offchain.relayers.run",
                    "anchor",
                    "--config",
                    path,
                    "--area",
                    str(area.area_id),
                ],
            )
        )
    gateway_port = net.free_listen_port()
    specs.append(
        (
            "gateway",
            [
                py,
                "-m",
                "sec_offchain.cli",
                "gateway",
                "up",
                "--rpc",
                cfg.rpc,
                "--deployment",
                cfg.deployments,
                "--devnet",
                str(cfg.home),
                "--port",
                str(gateway_port),
            ],
        )
    )
    procs = []
    for name, cmd in specs:
        log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        procs.append(
            (
                name,
                subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True),
            )
        )
    (cfg.home / "pids.json").write_text(json.dumps({n: p.pid for n, p in procs}))
    return procs


def wait_for_gateway(home: Path, timeout: float = 60.0) -> str | None:
    """The URL of the devnet's gateway once it answers (None if it does not in time)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        gw = gateway_status(home)
        if gw is not None and gw["up"]:
            return gw["url"]
        time.sleep(0.2)
    return None


def stop_processes(procs: list[tuple[str, subprocess.Popen]]) -> None:
    for _, p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.time() + 10
    for _, p in procs:
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def node_status(cfg: DevnetConfig, area_id: int, node: NodeEntry) -> dict | None:
    me = get_dev_account(STATUS_KEY)
    try:
        body = asyncio.run(
            net.request(
                "127.0.0.1",
                node.port,
                me.key,
                bytes.fromhex(me.address[2:]),
                cfg.chain_id,
                area_id,
                net.STATUS_REQ,
                b"",
                net.STATUS,
                timeout=3,
            )
        )
    except (TimeoutError, OSError, asyncio.IncompleteReadError, net.ProtocolError):
        return None
    return json.loads(body)


def gateway_status(home: Path) -> dict | None:
    """The devnet's gateway (from the gateway.json it writes while it runs): its URL, and
    whether it answers, with its indexed block and lag."""
    import httpx

    from sec_offchain.gateway.server import STATE_FILE

    path = home / STATE_FILE
    if not path.is_file():
        return None
    try:
        url = json.loads(path.read_text())["url"]
    except (ValueError, KeyError):
        return None
    try:
        body = httpx.get(url + "/v1/status", timeout=3).json()
        return {"url": url, "up": True, "indexed_block": body["indexed_block"], "lag": body["lag"]}
    except (httpx.HTTPError, ValueError, KeyError):
        return {"url": url, "up": False, "indexed_block": None, "lag": None}


def status(cfg: DevnetConfig) -> dict:
    """Heights, anchored heights, peers and lag of every area and node, and the gateway."""
    w3 = Web3(Web3.HTTPProvider(cfg.rpc, request_kwargs={"timeout": 5}))
    deployment = Deployment.from_file(Path(cfg.deployments))
    hub = w3.eth.contract(
        address=deployment.address_of("AnchorHub"), abi=deployment.contracts["AnchorHub"].abi
    )
    out = {"areas": [], "gateway": gateway_status(cfg.home)}
    for area in cfg.areas:
        try:
            anchored = int(hub.functions.latest_height(area.area_id).call())
        except Exception:  # noqa: BLE001 - chain unreachable
            anchored = None
        nodes = [node_status(cfg, area.area_id, n) for n in area.nodes]
        heights = [n["height"] for n in nodes if n]
        best = max(heights) if heights else 0
        out["areas"].append(
            {
                "area_id": area.area_id,
                "anchored_height": anchored,
                "best_height": best,
                "nodes": [
                    {
                        "node": n.address,
                        "port": n.port,
                        "up": s is not None,
                        "height": s["height"] if s else None,
                        "final_height": s["final_height"] if s else None,
                        "lag": best - s["height"] if s else None,
                        "peers": len(s["peers"]) if s else 0,
                        "pool": s["pool"] if s else None,
                    }
                    for n, s in zip(area.nodes, nodes, strict=True)
                ],
            }
        )
    return out


def status_table(data: dict) -> Table:
    gw = data.get("gateway")
    caption = None
    if gw is not None:
        state = f"indexed block {gw['indexed_block']}, lag {gw['lag']}" if gw["up"] else "DOWN"
        caption = f"gateway {gw['url']} ({state})"
    table = Table(title="SEC devnet", caption=caption)
    for col in ("area", "node", "up", "height", "final", "anchored", "lag", "peers", "pool"):
        table.add_column(col, justify="right" if col not in ("node", "up") else "left")
    for area in data["areas"]:
        for n in area["nodes"]:
            table.add_row(
                str(area["area_id"]),
                n["node"][:10] + "…",
                "yes" if n["up"] else "DOWN",
                str(n["height"]),
                str(n["final_height"]),
                str(area["anchored_height"]),
                str(n["lag"]),
                str(n["peers"]),
                str(n["pool"]),
            )
    return table


def up(
    areas: int,
    nodes: int,
    rpc: str | None,
    home: Path,
    interval: float,
    console: Console,
    duration: float | None = None,
    consensus: str = "pow",
) -> None:
    if areas < 1 or nodes < 1:
        raise ConfigError("--areas and --nodes must be at least 1")
    home.mkdir(parents=True, exist_ok=True)
    anvil = None
    try:
        if rpc is None:
            anvil = Anvil()
            rpc_url = anvil.url
            w3 = anvil.w3
            console.print(f"anvil on {rpc_url}")
        else:
            rpc_url = rpc
            w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 30}))
        cfg = provision(
            w3, rpc_url, home, areas, nodes, interval, say=console.print, consensus=consensus
        )
        # Ape (imported to compile the contracts) turns SIGINT into sys.exit(130) at once;
        # here Ctrl-C (and SIGTERM) must stop the processes first
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        procs = start_processes(cfg)
        gateway_url = wait_for_gateway(home)
        console.print(
            f"gateway on {gateway_url} (API docs {gateway_url}/docs)"
            if gateway_url
            else "[yellow]the gateway did not start:[/] see logs/gateway.log"
        )
        console.print(
            f"started {len(procs)} processes (logs in {home / 'logs'}); "
            f"`sec devnet status --home {home}` from another terminal; Ctrl-C stops"
        )
        started = time.time()
        try:
            while duration is None or time.time() - started < duration:
                time.sleep(min(5.0, duration or 5.0))
                dead = [n for n, p in procs if p.poll() is not None]
                if dead:
                    console.print(f"[yellow]stopped unexpectedly:[/] {', '.join(dead)}")
                console.print(status_table(status(cfg)))
        except KeyboardInterrupt:
            console.print("stopping")
        finally:
            stop_processes(procs)
            console.print(f"stopped {len(procs)} processes")
    finally:
        if anvil is not None:
            anvil.stop()
