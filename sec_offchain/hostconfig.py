"""The configuration file of one process on one host: `sec node run`, `sec relayer run`,
`sec bridge run`, `sec watcher run` and `sec areas run` each read one (TOML, or JSON with
the same keys).

    rpc = "http://10.0.0.1:8545"          # the main chain
    deployments = "deployments.json"      # the suite (relative paths: from this file)
    home = "data"                         # this process's databases and logs
    keystore = "node1"                    # $SEC_HOME/keystores/node1.json, or:
    # key_file = "node1.key"              # a file holding the hex private key
    # password_file = "pass.txt"          # the keystore's password ($SEC_KEYSTORE_PASSWORD)
    interval = 2.0                        # seconds per area block (slot)
    consensus = "round-robin"             # or "pow"
    genesis_time = 1767225600             # the areas' slot 0 (pow and stand-ins)
    confirmations = 2                     # main-chain blocks before an event is read
    start_block = 0                       # where the bridge and the ledgers start reading
    bridges = ["0xPrimary", "0xStandby"]  # escrow bridge addresses, primary first

    [[areas]]                             # every area's nodes, by address, in producer order
    id = 1
    nodes = ["0xA1@10.0.0.2:30301", "0xA2@10.0.0.3:30301"]

    [node]          # sec node run: which node of `areas` this is (by the key's address)
    area = 1
    listen = "0.0.0.0:30301"              # default: the host:port of its `areas` entry
    [relayer]       # sec relayer run anchor: the area it anchors (bgc: all areas)
    area = 1
    standby = true                        # beside a primary (--standby); grace = seconds
    [bridge]        # sec bridge run: 0 = primary; standbys listen for heartbeats
    index = 0
    heartbeat = 10.0
    listen = "0.0.0.0:40001"              # standby: where heartbeats arrive
    standbys = ["10.0.0.5:40001"]         # primary: where heartbeats go
    [watcher]       # sec watcher run: a staked judge watching every area's gossip
    areas = [1, 2]
    [area_epochs]   # sec areas run: publish the areas' directory each epoch (the key
    seconds = 604800                      # holds AreaDirectory's PUBLISHER_ROLE); a week
    seed = 0                              # clustering seed
    pace = 0.0                            # seconds between two submitted moves
    [gateway]       # sec gateway up --config: the HTTP API over the suite and the areas
    listen = "0.0.0.0:8700"               # default 127.0.0.1:8700
    db = "gateway.db"                     # default <home>/gateway.db; or postgresql://...
    confirmations = 2                     # default: the top-level confirmations
    relay = true                          # relay users' signed requests, gas from the key
                                          # (the gateway needs no key otherwise)

It becomes the same `DevnetConfig` the devnet's processes read, so a process started from
a config file on its own host runs exactly the code `sec devnet up` runs.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account

from sec_offchain.area.devnet_config import AreaEntry, DevnetConfig, NodeEntry
from sec_offchain.exceptions import ConfigError

KEYSTORE_PASSWORD_ENV = "SEC_KEYSTORE_PASSWORD"


def keystore_path(name: str) -> Path:
    """The keystore `sec account` keeps under the name `name`: a validator key
    (`<home>/validators/NAME.json`, what a node signs with) or else a trading account
    (`<home>/accounts/NAME.json`); home is $SEC_HOME or the user's config directory."""
    from sec_offchain.crypto.keystore import KeyStore, KeystoreError

    store = KeyStore()
    try:
        candidates = [store.path_of(name, "validator"), store.path_of(name, "account")]
    except KeystoreError as exc:
        raise ConfigError(str(exc)) from None
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no keystore named {name!r} in {store.dir_of('validator')} or {store.dir_of('account')}"
    )


@dataclass(frozen=True)
class HostConfig:
    path: Path
    devnet: DevnetConfig
    key: bytes
    address: str
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        return self.sections.get(name, {})


def parse_peer(text: str) -> tuple[str, str, int]:
    """ "0xADDR@host:port" -> (address, host, port)."""
    try:
        address, where = text.split("@", 1)
        host, port = where.rsplit(":", 1)
        if not (address.startswith("0x") and len(address) == 42):
            raise ValueError("address")
        int(address, 16)
        port_n = int(port)
        if not 0 < port_n < 65536 or not host:
            raise ValueError("port")
    except ValueError as exc:
        raise ConfigError(f"node {text!r} is not 0xADDRESS@HOST:PORT") from exc
    return address, host, port_n


def parse_listen(text: str) -> tuple[str, int]:
    try:
        host, port = text.rsplit(":", 1)
        port_n = int(port)
        if not 0 <= port_n < 65536:
            raise ValueError(port)
    except ValueError as exc:
        raise ConfigError(f"{text!r} is not HOST:PORT") from exc
    return host, port_n


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    text = path.read_text()
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = path.suffix[1:] or "TOML"
        raise ConfigError(f"config file {path} is not valid {kind}: {exc}") from exc


def _key(data: dict[str, Any], base: Path) -> bytes:
    if "key_file" in data:
        key_path = base / data["key_file"]
        try:
            text = key_path.read_text().strip()
            key = bytes.fromhex(text.removeprefix("0x"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"key_file {key_path}: not a hex private key") from exc
        if len(key) != 32:
            raise ConfigError(f"key_file {key_path}: not a 32-byte private key")
        return key
    if "keystore" in data:
        store = keystore_path(str(data["keystore"]))
        password = os.environ.get(KEYSTORE_PASSWORD_ENV, os.environ.get("SEC_PASSWORD"))
        if "password_file" in data:
            password = (base / data["password_file"]).read_text().rstrip("\n")
        if password is None:
            raise ConfigError(
                f"keystore {data['keystore']!r} needs password_file or ${KEYSTORE_PASSWORD_ENV}"
            )
        try:
            return bytes(Account.decrypt(json.loads(store.read_text()), password))
        except (ValueError, KeyError) as exc:
            raise ConfigError(f"keystore {store}: {exc}") from exc
    raise ConfigError("the config names no key: keystore = NAME or key_file = PATH")


def load_host_config(path: Path, key_required: bool = True) -> HostConfig:
    """Reads and checks a host config file; ConfigError says what is wrong. Without
    `key_required` a file that names no key gets a new random one (what the gateway uses
    to greet area nodes when it relays nothing)."""
    path = Path(path)
    data = _read(path)
    base = path.parent
    for required in ("rpc", "deployments", "areas"):
        if required not in data:
            raise ConfigError(f"config file {path}: missing {required!r}")
    if key_required or "key_file" in data or "keystore" in data:
        key = _key(data, base)
    else:
        key = os.urandom(32)
    me = Account.from_key(key).address
    deployments = (base / data["deployments"]).resolve()
    if not deployments.is_file():
        raise ConfigError(f"deployments file not found: {deployments}")
    dep = json.loads(deployments.read_text())
    contracts = dep.get("contracts", {})

    def address_of(name: str) -> str:
        try:
            entry = contracts[name]
        except KeyError as exc:
            raise ConfigError(f"{deployments} has no {name}") from exc
        return entry["address"] if isinstance(entry, dict) else str(entry)

    areas = []
    for a in data["areas"]:
        nodes = []
        for text in a.get("nodes", []):
            address, host, port = parse_peer(text)
            own = address.lower() == me.lower()
            nodes.append(NodeEntry(address, "0x" + key.hex() if own else "", port, host))
        if not nodes:
            raise ConfigError(f"area {a.get('id')} lists no nodes")
        areas.append(AreaEntry(int(a["id"]), tuple(nodes)))
    chain_id = data.get("chain_id")
    if chain_id is None:
        from web3 import Web3

        try:
            chain_id = Web3(
                Web3.HTTPProvider(data["rpc"], request_kwargs={"timeout": 10})
            ).eth.chain_id
        except Exception as exc:  # noqa: BLE001 - any transport error: one line
            raise ConfigError(f"cannot reach {data['rpc']}: {exc.__class__.__name__}") from exc
    home = base / data.get("home", "data")
    bridges = tuple(data.get("bridges", ()))
    bridge_index = int(data.get("bridge", {}).get("index", 0))
    extra = {
        "confirmations": int(data.get("confirmations", 2)),
        "start_block": int(data.get("start_block", dep.get("block", 0) or 0)),
        "genesis_time": int(data.get("genesis_time", 0)),
        "consensus": {
            "kind": data.get("consensus", "round-robin"),
            "communities": 2,
            "difficulty": 2**14,
        },
        "bgc_key": "0x" + key.hex(),
        "heartbeat": float(data.get("bridge", {}).get("heartbeat", 10.0)),
        # the published area directories' files (default: <home>/areas)
        "areas_dir": str(base / data["areas_dir"]) if data.get("areas_dir") else "",
    }
    devnet = DevnetConfig(
        chain_id=int(chain_id),
        rpc=data["rpc"],
        deployments=str(deployments),
        anchor_hub=address_of("AnchorHub"),
        escrow=address_of("Escrow"),
        trust_index=address_of("TrustIndex"),
        home=home,
        interval=float(data.get("interval", 2.0)),
        areas=tuple(areas),
        bridges=bridges,
        bridge_keys=tuple(
            "0x" + key.hex() if i == bridge_index else "" for i in range(len(bridges))
        ),
        relayer_key="0x" + key.hex(),
        extra=extra,
    )
    sections = {k: v for k, v in data.items() if isinstance(v, dict)}
    return HostConfig(path, devnet, key, me, sections)
