"""`sec devnet up` / `sec devnet status`: a whole SEC network on one machine.

`up` starts anvil (unless given `--rpc`), deploys the suite, stakes one validator per node
(the node key is its validator key), writes the devnet file, and starts as processes: every
area's nodes, the escrow bridge (primary and one standby) and an anchor relayer per area
with a standby beside it.
Each process is the command an operator runs on its own host, `sec node run --config FILE`
(and `relayer`, `bridge`), from a config file the devnet writes to `<home>/hosts/`.
It supervises them (a process that dies is restarted with back-off; `sec devnet status`
shows the restarts), its children and anvil die with it even when it is SIGKILLed (the
parent-death signal), and Ctrl-C stops everything it started.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import threading
import time
from dataclasses import replace
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
from sec_offchain.procs import Supervisor, parent_death_signal

DEFAULT_HOME = Path(".sec") / "devnet"
VALIDATOR_STAKE = 100_000 * 10**18
NODE_KEY_BASE = 100  # node (= validator) keys: dev accounts 100 + 10 * area + index
BRIDGE_KEYS = (90, 91)
RELAYER_KEY = 92
BGC_KEY = 93
AREAS_KEY = 94  # the area epoch daemon: publishes directories (PUBLISHER_ROLE) and moves
STATUS_KEY = 99
DEV_ACTIVATION_DELAY = 10  # seconds; production deployments wait a day
CONFIRMATIONS = 2
SUPERVISOR_FILE = "supervisor.json"  # pid, restarts and last exit of every process
SUPERVISE_TICK = 0.5
STATUS_EVERY = 5.0


def provision(
    w3: Web3,
    rpc: str,
    home: Path,
    areas: int,
    nodes: int,
    interval: float,
    say=print,
    consensus: str = "pow",
    params: SuiteParams | None = None,
    area_epoch: int = 0,
) -> DevnetConfig:
    """Deploys (with `params`, default SuiteParams()), funds and stakes; returns the devnet
    file's content (also written). With `area_epoch` seconds the area epoch daemon's key
    is funded and made a directory publisher (the deployer stays one)."""
    deployer = get_dev_account(0)
    say("deploying the suite")
    # A development deployment: added validator stake waits seconds, not a day (recorded in
    # the deployments file's params); the devnet moves anvil's clock past it at start.
    params = replace(params or SuiteParams(), activation_delay=DEV_ACTIVATION_DELAY)
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
    if area_epoch:
        publisher = get_dev_account(AREAS_KEY).address
        tx.send_value(publisher, 10**18)
        directory = suite.contract("AreaDirectory").functions
        tx.transact(directory.grantRole(directory.PUBLISHER_ROLE().call(), publisher))
        say(f"area epochs every {area_epoch} s, published by {publisher}")
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
            # main-chain blocks the bridge and the area ledgers wait for before they read an
            # event (anvil mines a block per transaction; the anchors keep it moving)
            "confirmations": CONFIRMATIONS,
            "start_block": int(w3.eth.block_number),
            "genesis_time": int(time.time()),
            "bgc_key": "0x" + get_dev_account(BGC_KEY).key.hex(),
            # one egress message carries at most the BorderGateway outflow floor
            "max_egress": int(deployment.params.get("bgc_outflow_floor", 1_000 * 10**18)),
            # the community proof of work (docs/consensus.md); "round-robin" is the simple one
            "consensus": {"kind": consensus, "communities": 2, "difficulty": 2**14},
            # seconds of chain time per area epoch (0: no directories published by the devnet)
            "area_epoch": int(area_epoch),
        },
    )
    cfg.save(home / "devnet.json")
    return cfg


def host_config(cfg: DevnetConfig, key_hex: str, name: str, role: str, section: dict) -> Path:
    """The config file one devnet process runs from, as an operator would write it for a
    process on its own host (JSON here; TOML works alike)."""
    hosts = cfg.home / "hosts"
    hosts.mkdir(parents=True, exist_ok=True)
    key_file = hosts / f"{name}.key"
    key_file.write_text(key_hex + "\n")
    key_file.chmod(0o600)
    data = {
        "rpc": cfg.rpc,
        "chain_id": cfg.chain_id,
        "deployments": str(Path(cfg.deployments).resolve()),
        "home": str(cfg.home.resolve()),
        "key_file": key_file.name,
        "interval": cfg.interval,
        "consensus": cfg.extra.get("consensus", {}).get("kind", "round-robin"),
        "genesis_time": int(cfg.extra.get("genesis_time", 0)),
        "confirmations": cfg.confirmations,
        "start_block": int(cfg.extra.get("start_block", 0)),
        "bridges": list(cfg.bridges),
        "areas": [
            {"id": a.area_id, "nodes": [f"{n.address}@127.0.0.1:{n.port}" for n in a.nodes]}
            for a in cfg.areas
        ],
        role: section,
    }
    path = hosts / f"{name}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def process_specs(cfg: DevnetConfig) -> list[tuple[str, list[str]]]:
    """Every long-running process of the devnet: (name, argv), each the `sec ... run
    --config FILE` command an operator runs on its own host."""
    sec = [sys.executable, "-m", "sec_offchain.cli"]
    specs = []
    for area in cfg.areas:
        for i, n in enumerate(area.nodes):
            name = f"node-{area.area_id}-{i}"
            path = host_config(cfg, n.key_hex, name, "node", {"area": area.area_id})
            specs.append((name, [*sec, "node", "run", "--config", str(path)]))
    ports = cfg.extra.get("bridge_ports", [0])
    for i in range(len(cfg.bridges)):
        section: dict = {"index": i, "heartbeat": float(cfg.extra.get("heartbeat", 10.0))}
        if i == 0:
            section["standbys"] = [f"127.0.0.1:{p}" for p in ports[1:]]
        else:
            section["listen"] = f"127.0.0.1:{ports[i]}"
        path = host_config(cfg, cfg.bridge_keys[i], f"bridge-{i}", "bridge", section)
        specs.append((f"bridge-{i}", [*sec, "bridge", "run", "--config", str(path)]))
    if cfg.extra.get("area_epoch"):
        key = "0x" + get_dev_account(AREAS_KEY).key.hex()
        section = {"seconds": int(cfg.extra["area_epoch"])}
        path = host_config(cfg, key, "area-epochs", "area_epochs", section)
        specs.append(("area-epochs", [*sec, "areas", "run", "--config", str(path)]))
    path = host_config(cfg, cfg.extra["bgc_key"], "bgc-relayer", "relayer", {})
    specs.append(("bgc-relayer", [*sec, "relayer", "run", "bgc", "--config", str(path)]))
    for area in cfg.areas:
        name = f"anchor-relayer-{area.area_id}"
        path = host_config(cfg, cfg.relayer_key, name, "relayer", {"area": area.area_id})
        specs.append((name, [*sec, "relayer", "run", "anchor", "--config", str(path)]))
        # a standby sharing the key (and, on this host, its nonce lock): anchors go on
        # while a killed relayer restarts, after a grace of two intervals
        name = f"anchor-relayer-{area.area_id}-standby"
        section = {"area": area.area_id, "standby": True}
        path = host_config(cfg, cfg.relayer_key, name, "relayer", section)
        specs.append((name, [*sec, "relayer", "run", "anchor", "--config", str(path)]))
    # the gateway: one port for the devnet's life, so a restarted gateway keeps its URL
    gateway_port = cfg.extra.get("gateway_port") or net.free_listen_port()
    cfg.extra["gateway_port"] = gateway_port
    specs.append(
        (
            "gateway",
            [
                *sec,
                "gateway",
                "up",
                "--rpc",
                cfg.rpc,
                "--deployment",
                str(Path(cfg.deployments).resolve()),
                "--devnet",
                str(cfg.home.resolve()),
                "--port",
                str(gateway_port),
            ],
        )
    )
    return specs


def wait_for_gateway(home: Path, timeout: float = 60.0) -> str | None:
    """The URL of the devnet's gateway once it answers (None if it does not in time)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        gw = gateway_status(home)
        if gw is not None and gw["up"]:
            return gw["url"]
        time.sleep(0.2)
    return None


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
    out: dict = {
        "areas": [],
        "processes": processes(cfg.home),
        "gateway": gateway_status(cfg.home),
    }
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


def processes(home: Path) -> list[dict]:
    """What the supervisor wrote: each process with its pid, whether it runs, restarts."""
    try:
        state = json.loads((home / SUPERVISOR_FILE).read_text())
    except (OSError, ValueError):
        return []
    return [{"name": name, **entry} for name, entry in state.items()]


def processes_table(data: dict) -> Table:
    table = Table(title="processes")
    for col in ("process", "pid", "up", "restarts", "last exit"):
        table.add_column(col, justify="right" if col in ("pid", "restarts") else "left")
    for p in data.get("processes", []):
        table.add_row(
            p["name"],
            str(p["pid"]),
            "yes" if p["up"] else "DOWN",
            str(p["restarts"]),
            "" if p["last_exit"] is None else str(p["last_exit"]),
        )
    return table


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


def write_profile(cfg: DevnetConfig, console: Console) -> Path:
    """Writes `<home>/profile.env` (SEC_DEVNET, SEC_RPC, SEC_DEPLOYMENT, SEC_GATEWAY and who
    is who) and prints its export lines for another terminal."""
    from sec_offchain.cli.profile import PROFILE_FILE, profile_text

    port = cfg.extra.get("gateway_port")
    text = profile_text(
        cfg.home,
        cfg.rpc,
        Path(cfg.deployments),
        f"http://127.0.0.1:{port}" if port else None,
        cfg.area_of,
    )
    path = cfg.home / PROFILE_FILE
    path.write_text(text)
    console.print(
        f"profile: {path} (in another terminal `. {path}`, or `sec --home {cfg.home} ...`)",
        highlight=False,
        soft_wrap=True,
    )
    for line in text.splitlines():
        if line.startswith("export "):
            console.print("  " + line, highlight=False, soft_wrap=True)
    areas = ", ".join(
        f"{line.split()[1]} area {line.split()[-1]}"
        for line in text.splitlines()
        if line.startswith("#   dev:")
    )
    console.print(f"accounts' areas: {areas}", highlight=False, soft_wrap=True)
    return path


def show_status(cfg: DevnetConfig, console: Console, quiet: threading.Event) -> None:
    """Prints the network's table every STATUS_EVERY seconds until `quiet`."""
    while not quiet.wait(STATUS_EVERY):
        try:
            table = status_table(status(cfg))
        except Exception as exc:  # noqa: BLE001 - the chain or a node gone mid-way: next time
            console.print(f"[yellow]status: {exc.__class__.__name__}[/]")
            continue
        if not quiet.is_set():
            console.print(table)


def supervise(
    supervisor: Supervisor, cfg: DevnetConfig, console: Console, duration: float | None
) -> None:
    """Restarts dead children every SUPERVISE_TICK until `duration` or Ctrl-C, then stops
    them all. The status table asks every node and the chain (seconds when they are slow or
    hung): it prints from a thread of its own, so a restart is never late behind it."""
    started = time.time()
    quiet = threading.Event()
    threading.Thread(target=show_status, args=(cfg, console, quiet), daemon=True).start()
    try:
        while duration is None or time.time() - started < duration:
            time.sleep(SUPERVISE_TICK)
            supervisor.poll()
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        quiet.set()
        supervisor.stop()


def up(
    areas: int,
    nodes: int,
    rpc: str | None,
    home: Path,
    interval: float,
    console: Console,
    duration: float | None = None,
    consensus: str = "pow",
    area_epoch: int = 0,
) -> None:
    if areas < 1 or nodes < 1:
        raise ConfigError("--areas and --nodes must be at least 1")
    home.mkdir(parents=True, exist_ok=True)
    anvil = None
    try:
        if rpc is None:
            anvil = Anvil(die_with_parent=True)
            rpc_url = anvil.url
            w3 = anvil.w3
            console.print(f"anvil on {rpc_url}")
        else:
            rpc_url = rpc
            w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 30}))
        cfg = provision(
            w3,
            rpc_url,
            home,
            areas,
            nodes,
            interval,
            say=console.print,
            consensus=consensus,
            area_epoch=area_epoch,
        )
        # Ape (imported to compile the contracts) turns SIGINT into sys.exit(130) at once;
        # here Ctrl-C (and SIGTERM) must stop the processes first
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        supervisor = Supervisor(
            process_specs(cfg), home / "logs", home / SUPERVISOR_FILE, say=console.print
        )
        if anvil is not None:
            supervisor.extra_pids["anvil"] = anvil.proc.pid
        supervisor.start()
        (home / "pids.json").write_text(
            json.dumps({c.name: c.proc.pid for c in supervisor.children if c.proc})
        )
        if parent_death_signal() is None:
            console.print("[yellow]no parent-death signal here: children outlive a kill -9[/]")
        write_profile(cfg, console)
        gateway_url = wait_for_gateway(home)
        console.print(
            f"gateway on {gateway_url} (API docs {gateway_url}/docs)"
            if gateway_url
            else "[yellow]the gateway did not start:[/] see logs/gateway.log"
        )
        console.print(
            f"started {len(supervisor.children)} processes (logs in {home / 'logs'}); "
            f"`sec devnet status --home {home}` from another terminal; Ctrl-C stops"
        )
        try:
            supervise(supervisor, cfg, console, duration)
        finally:
            console.print(f"stopped {len(supervisor.children)} processes")
    finally:
        if anvil is not None:
            anvil.stop()
