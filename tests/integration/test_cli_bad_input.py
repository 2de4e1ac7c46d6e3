# ruff: noqa: E501 - a table of command lines, one a line
"""`sec` as a new user types it, with bad input: every case must end in exactly one
`error: ...` line on stderr, a non-zero exit, no traceback, no transaction (the nonces of
the development accounts and of the test keys do not move) and no file where an output
option points. The cases run against one anvil and one deployment; each reads chain state
prepared once before the table and changes none, so they are independent. The first case of
each command, and every case that could start processes or load Ape, runs as a user runs
it: a new `sec` process, four at a time. The rest run meanwhile in this process through the
console script's own entry point (tests/fixtures/cli.py), which shows what a process would
print (warnings, log records, a traceback) and saves a second of imports each."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deployment import Deployment
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.devchain import Anvil, get_free_port
from tests.fixtures.cli import run_sec

ROOT = Path(__file__).resolve().parents[2]
U256 = 2**256
U256_MAX = str(U256 - 1)
# Funded with SEC (by transfer) but no ETH: cannot pay for gas.
KEY_NO_ETH = "0x" + "11" * 32
# Funded with ETH but no SEC.
KEY_NO_SEC = "0x" + "22" * 32
NO_ETH = Account.from_key(KEY_NO_ETH).address
NO_SEC = Account.from_key(KEY_NO_SEC).address
DEV = [get_dev_account(i).address for i in range(10)]
TOO_BIG = f"Input should be less than or equal to {U256 - 1}"
NOT_INT = "Input should be a valid integer, unable to parse string as an integer"


# Keystores: a home no case may create (every account case lists it among its outputs).
NO_HOME = ROOT / ".sec" / "bad-input-home"
ENV = {
    "SEC_RPC": "",
    "SEC_DEPLOYMENT": "",
    "SEC_KEY": "",
    "SEC_ACCOUNT": "",
    "SEC_PASSWORD": "",
    "SEC_HOME": str(NO_HOME),
    "COLUMNS": "200",
}


def sec(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sec_offchain.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **ENV},
    )


def command_of(argv: list[str]) -> tuple[str, ...]:
    """The command a case runs: `escrow ship`, `trust`, `sim`."""
    return tuple(a for a in argv[:2] if a.isalpha())


def needs_process(argv: list[str]) -> bool:
    """Cases that could start processes (devnet up) or load Ape (--network) in this one."""
    return argv[:2] == ["devnet", "up"] or "--network" in argv


@dataclass
class World:
    """What the cases refer to: the node, the deployment and the state prepared on it."""

    node: Anvil
    dep: Path
    tmp: Path
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def common(self) -> list[str]:
        return ["--rpc", self.node.url, "--deployment", str(self.dep)]


@pytest.fixture(scope="module")
def node():
    with Anvil() as anvil:
        yield anvil


@pytest.fixture(scope="module")
def world(node, tmp_path_factory) -> World:
    tmp = tmp_path_factory.mktemp("bad_input")
    dep = tmp / "deployments.json"
    proc = sec("deploy", "--rpc", node.url, "--out", str(dep), "--activation-delay", "60s")
    assert proc.returncode == 0, proc.stderr[-2000:]
    w = World(node, dep, tmp)
    suite = Suite(node.w3, Deployment.from_file(dep))
    d = get_dev_account
    sec_token = str(suite.token.address)
    w.ids["L_ETH"], _ = suite.create_listing(d(1), 10**17)
    w.ids["L_SEC"], _ = suite.create_listing(d(1), 5 * 10**18, token=sec_token)
    w.ids["L_CLOSED"], _ = suite.create_listing(d(1), 10**17)
    suite.tx(d(1)).transact(suite.escrow.functions.close_listing(w.ids["L_CLOSED"]))
    w.ids["O_PAID"], _ = suite.buy(d(2), w.ids["L_ETH"])
    w.ids["O_SHIPPED"], _ = suite.buy(d(2), w.ids["L_ETH"])
    suite.ship(d(1), w.ids["O_SHIPPED"])
    w.ids["O_DONE"], _ = suite.buy(d(2), w.ids["L_ETH"])
    suite.ship(d(1), w.ids["O_DONE"])
    suite.confirm(d(2), w.ids["O_DONE"])
    w.ids["O_CANCELLED"], _ = suite.buy(d(2), w.ids["L_ETH"])
    suite.cancel(d(1), w.ids["O_CANCELLED"])
    validators = [d(6), d(7), d(8)]
    for v in validators:
        suite.stake_validator(v, 7, 100_000 * 10**18)
    suite.activate_validators(validators, node)
    suite.tx(d(0)).transact(suite.token.functions.transfer(NO_ETH, 10**24))
    suite.tx(d(0)).send_value(NO_SEC, 10**18)
    _files(w, suite)
    return w


def _files(w: World, suite: Suite) -> None:
    """Broken deployments files, evidence files and devnet homes the cases point at."""
    data = json.loads(w.dep.read_text())

    def variant(name: str, change) -> None:
        copy = json.loads(json.dumps(data))
        change(copy)
        (w.tmp / name).write_text(json.dumps(copy))

    (w.tmp / "not_json.json").write_text("{not json")
    (w.tmp / "bad_profile").mkdir()
    (w.tmp / "bad_profile" / "profile.env").write_text("export SEC_RPC=x\nrm -rf /\n")
    (w.tmp / "list.json").write_text("[1, 2]")
    (w.tmp / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    variant("no_contracts.json", lambda c: c.pop("contracts"))
    variant("no_court.json", lambda c: c["contracts"].pop("Court"))
    variant("bad_address.json", lambda c: c["contracts"]["Escrow"].update(address="0x123"))
    variant("abi_string.json", lambda c: c["contracts"]["Escrow"].update(abi="nope"))
    variant("other_chain.json", lambda c: c.update(chain_id=1))
    empty = "0x" + "ab" * 20
    variant("no_code.json", lambda c: c["contracts"]["Escrow"].update(address=empty))
    (w.tmp / "a_file").write_text("x")
    (w.tmp / "raw_key").write_text("0x" + "42" * 32)
    (w.tmp / "devnet_running").mkdir()
    (w.tmp / "devnet_running" / "pids.json").write_text(json.dumps({"node-1-0": os.getpid()}))
    (w.tmp / "evidence_bad.json").write_text('{"header_a": 1}')
    (w.tmp / "devnet_bad").mkdir()
    # `sec areas run` host configs: valid but for their [area_epochs] section (the key,
    # raw_key, holds no PUBLISHER_ROLE)
    for name, section in (
        ("epochs_none", None),
        ("epochs_zero", {"seconds": 0}),
        ("epochs_seed", {"seconds": 60, "seed": 1.5}),
        ("epochs_ok", {"seconds": 60}),
    ):
        host = {
            "rpc": w.node.url,
            "chain_id": 31337,
            "deployments": str(w.dep),
            "key_file": "raw_key",
            "areas": [{"id": 1, "nodes": [f"{DEV[1]}@127.0.0.1:1"]}],
        }
        if section is not None:
            host["area_epochs"] = section
        (w.tmp / f"{name}.json").write_text(json.dumps(host))
    from sec_offchain.listings import Listing, metadata_of, sign_listing

    seller, escrow = get_dev_account(1), str(suite.escrow.address)
    for name, chain_id, expiry in (("listing_chain1", 1, 2**40), ("listing_expired", 31337, 1)):
        listing = Listing(
            seller.address, 10**18, "0x" + "00" * 20, 0, 0, metadata_of(""), 1, expiry
        )
        signed = sign_listing(bytes(seller.key), listing, chain_id, escrow)
        (w.tmp / f"{name}.json").write_text(json.dumps(signed.to_json()))
    (w.tmp / "devnet_bad" / "devnet.json").write_text("{}")
    from sec_offchain.area.devnet_config import AreaEntry, DevnetConfig, NodeEntry

    dead = w.tmp / "devnet_dead"
    node_key = get_dev_account(6)
    DevnetConfig(
        chain_id=31337,
        rpc=w.node.url,
        deployments=str(w.dep),
        anchor_hub=str(suite.anchor_hub.address),
        escrow=str(suite.escrow.address),
        trust_index=str(suite.trust.address),
        home=dead,
        interval=2.0,
        areas=(AreaEntry(1, (NodeEntry(node_key.address, node_key.key.hex(), get_free_port()),)),),
    ).save(dead / "devnet.json")


@dataclass
class Case:
    argv: list[str]
    expect: str | re.Pattern
    code: int = 1
    signer: str | None = None  # approve-then-act: this account's nonce and allowance hold
    outputs: list[str] = field(default_factory=list)  # paths that must not appear


def C(expect, *argv, code=1, signer=None, outputs=()):
    return Case(list(argv), expect, code, signer, list(outputs))


def R(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def cases(w: World) -> list[Case]:  # noqa: PLR0915 - one table
    c, t, i = w.common, str(w.tmp), w.ids
    L_ETH, L_SEC, L_CLOSED = str(i["L_ETH"]), str(i["L_SEC"]), str(i["L_CLOSED"])
    O_PAID, O_SHIPPED = str(i["O_PAID"]), str(i["O_SHIPPED"])
    O_DONE, O_CANCELLED = str(i["O_DONE"]), str(i["O_CANCELLED"])
    dev1 = ["--key", "dev:1"]
    out: list[Case] = []
    add = out.append

    # -- usage: numbers out of range or not numbers (exit 2) ---------------------------
    for cmd in ("confirm", "finalize", "cancel", "ship", "dispute"):
        add(C(f"error: Invalid value for 'order_id': {NOT_INT}", "escrow", cmd, "x", *c, code=2))
        add(
            C(
                f"error: Invalid value for 'order_id': {TOO_BIG}",
                "escrow",
                cmd,
                str(U256),
                *c,
                code=2,
            )
        )
    add(C("error: No such option: -1", "escrow", "confirm", "-1", *c, code=2))
    add(C(f"error: Invalid value for 'order_id': {NOT_INT}", "escrow", "ship", "1e3", *c, code=2))
    add(C(f"error: Invalid value for 'order_id': {NOT_INT}", "escrow", "status", "abc", *c, code=2))
    add(
        C(
            f"error: Invalid value for 'listing_id': {TOO_BIG}",
            "escrow",
            "buy",
            str(U256),
            *c,
            code=2,
        )
    )
    add(
        C(
            "error: Invalid value for '--share': Input should be greater than or equal to 0",
            "escrow",
            "buy",
            L_ETH,
            "--share",
            "-5",
            *c,
            code=2,
        )
    )
    add(
        C(
            f"error: Invalid value for '--share': {TOO_BIG}",
            "escrow",
            "buy",
            L_ETH,
            "--share",
            str(U256),
            *c,
            code=2,
        )
    )
    add(
        C(
            "error: Invalid value for '--listing': Input should be greater than or equal to 0",
            "escrow",
            "status",
            "--listing",
            "-1",
            *c,
            code=2,
        )
    )
    add(
        C(
            f"error: Invalid value for '--listing': {TOO_BIG}",
            "escrow",
            "status",
            "--listing",
            str(U256 * 7),
            *c,
            code=2,
        )
    )
    add(C("error: No such option: --bogus", "escrow", "status", "1", "--bogus", *c, code=2))
    add(C("error: No such command 'nosuch'.", "escrow", "nosuch", code=2))
    add(C("error: Missing option '--price'.", "escrow", "create", *c, code=2))
    add(C("error: give an order id or --listing ID", "escrow", "status", *c, code=2))
    add(
        C(
            "error: give an order id or --listing ID",
            "escrow",
            "status",
            "1",
            "--listing",
            "1",
            *c,
            code=2,
        )
    )
    area_low = "error: Invalid value for '--area': Input should be greater than or equal to 1"
    area_high = (
        f"error: Invalid value for '--area': Input should be less than or equal to {2**64 - 1}"
    )
    add(C(area_low, "stake", "validator", "--area", "0", *c, code=2))
    add(C(area_high, "stake", "validator", "--area", str(2**64), *c, code=2))
    add(
        C(
            f"error: Invalid value for '--area': {NOT_INT}",
            "stake",
            "validator",
            "--area",
            "seven",
            *c,
            code=2,
        )
    )
    add(C(area_low, "area", "status", "--area", "0", *c, code=2))
    add(C(area_high, "area", "anchor", "--area", str(U256), "--signer-keys", "dev:6", *c, code=2))
    add(
        C(
            "error: Invalid value for '--timestamp': Input should be greater than or equal to 0",
            "area",
            "anchor",
            "--area",
            "7",
            "--signer-keys",
            "dev:6",
            "--timestamp",
            "-1",
            *c,
            code=2,
        )
    )
    add(
        C(
            f"error: Invalid value for '--timestamp': {TOO_BIG}",
            "area",
            "anchor",
            "--area",
            "7",
            "--signer-keys",
            "dev:6",
            "--timestamp",
            str(U256),
            *c,
            code=2,
        )
    )
    add(C(area_low, "area", "records", "--key", "dev:1", "--area", "0", code=2))
    for cmd in ("draw", "execute"):
        add(
            C(f"error: Invalid value for 'case_id': {TOO_BIG}", "judge", cmd, str(U256), *c, code=2)
        )
        add(C(f"error: Invalid value for 'case_id': {NOT_INT}", "judge", cmd, "one", *c, code=2))
    add(
        C(
            f"error: Invalid value for 'case_id': {TOO_BIG}",
            "judge",
            "vote",
            str(U256),
            "--ruling",
            "buyer",
            *c,
            code=2,
        )
    )
    add(
        C(
            "error: --ruling must be buyer or seller, not 'maybe'",
            "judge",
            "vote",
            "1",
            "--ruling",
            "maybe",
            *c,
            code=2,
        )
    )
    add(
        C(
            f"error: Invalid value for 'share_id': {TOO_BIG}",
            "share",
            "status",
            str(U256),
            *c,
            code=2,
        )
    )
    add(C(f"error: Invalid value for 'order_id': {NOT_INT}", "share", "create", "abc", *c, code=2))
    add(C("error: No such option: -4", "share", "status", "-4", *c, code=2))
    add(C(area_low, "bgc", "deposit", "--area", "0", "--amount", "1", code=2))
    add(
        C(
            "error: Invalid value for '--from-area': Input should be greater than or equal to 1",
            "bgc",
            "send",
            "--from-area",
            "0",
            "--to-area",
            "1",
            "--to",
            DEV[1],
            "--amount",
            "1",
            "--key",
            "dev:1",
            code=2,
        )
    )
    add(
        C(
            f"error: Invalid value for '--listing': {TOO_BIG}",
            "bgc",
            "send",
            "--from-area",
            "1",
            "--to-area",
            "2",
            "--to",
            DEV[1],
            "--amount",
            "1",
            "--listing",
            str(U256),
            "--key",
            "dev:1",
            code=2,
        )
    )
    add(C(area_high, "bgc", "ship", "--area", str(2**64), "--ref", "1:1", "--key", "dev:1", code=2))
    for opt, low in (("--nodes", 1), ("--communities", 1), ("--slots", 1), ("--seed", 0)):
        add(
            C(
                f"error: Invalid value for '{opt}': Input should be greater than or equal to {low}",
                "sim",
                opt,
                str(low - 1),
                code=2,
            )
        )
    add(
        C(
            "error: Invalid value for '--sweep-trials': Input should be greater than or equal to 0",
            "sim",
            "--sweep-trials",
            "-1",
            code=2,
        )
    )
    add(
        C(
            "error: Invalid value for '--nodes': Input should be less than or equal to 1000000",
            "sim",
            "--nodes",
            "10000000",
            code=2,
        )
    )
    add(
        C(
            "error: Invalid value for '--latency': Input should be a valid number, unable to parse string as a number",
            "sim",
            "--latency",
            "fast",
            code=2,
        )
    )
    add(
        C(
            "error: Invalid value for '--areas': Input should be greater than or equal to 1",
            "devnet",
            "up",
            "--areas",
            "0",
            code=2,
        )
    )
    add(
        C(
            "error: Invalid value for '--nodes': Input should be greater than or equal to 1",
            "devnet",
            "up",
            "--nodes",
            "0",
            code=2,
        )
    )
    add(
        C(
            "error: Invalid value for '--areas': Input should be less than or equal to 64",
            "devnet",
            "up",
            "--areas",
            "65",
            code=2,
        )
    )
    add(C("error: give exactly one of --rpc URL or --network CHOICE", "deploy", code=2))
    add(
        C(
            "error: give exactly one of --rpc URL or --network CHOICE",
            "deploy",
            "--rpc",
            w.node.url,
            "--network",
            "ethereum:local:foundry",
            code=2,
        )
    )
    add(
        C(
            "error: --activation-delay must be at least 1s",
            "deploy",
            "--rpc",
            w.node.url,
            "--activation-delay",
            "0",
            code=2,
        )
    )

    # -- amounts and durations ---------------------------------------------------------
    for price in ("nan", "inf", "-inf", "abc", "", "0x10", "1,5"):
        add(C(f"error: not an amount: {price!r}", "escrow", "create", "--price", price, *dev1, *c))
    for price in ("-1", "0", "1e-19", "0.0000000000000000001"):
        add(
            C(
                f"error: amount must be positive with at most 18 decimals: {price}",
                "escrow",
                "create",
                "--price",
                price,
                *dev1,
                *c,
            )
        )
    add(C("error: amount too large: 1e60", "escrow", "create", "--price", "1e60", *dev1, *c))
    for text in ("nan", "-1d", "1e30", "xyz", "7y", "infd"):
        add(
            C(
                f"error: not a duration: {text!r} (use e.g. 7d, 36h, 3600)",
                "escrow",
                "create",
                "--price",
                "1",
                "--auto-complete",
                text,
                *dev1,
                *c,
            )
        )
    add(
        C(
            "error: not a duration: 'inf' (use e.g. 7d, 36h, 3600)",
            "escrow",
            "create",
            "--price",
            "1",
            "--ship-window",
            "inf",
            *dev1,
            *c,
        )
    )
    add(
        C(
            "error: not a duration: 'nan' (use e.g. 7d, 36h, 3600)",
            "deploy",
            "--rpc",
            w.node.url,
            "--activation-delay",
            "nan",
        )
    )
    add(
        C("error: not an amount: 'nan'", "stake", "validator", "--area", "7", "--amount", "nan", *c)
    )
    add(
        C(
            "error: amount must be positive with at most 18 decimals: -5",
            "stake",
            "validator",
            "--area",
            "7",
            "--amount",
            "-5",
            *c,
        )
    )
    add(
        C(
            "error: amount too large: 1e100",
            "stake",
            "validator",
            "--area",
            "7",
            "--amount",
            "1e100",
            *c,
        )
    )
    add(
        C(
            "error: not an amount: 'inf'",
            "stake",
            "nominate",
            "--validator",
            DEV[6],
            "--amount",
            "inf",
            *c,
        )
    )
    add(
        C(
            "error: amount must be positive with at most 18 decimals: -1",
            "stake",
            "unbond",
            "--amount",
            "-1",
            *c,
        )
    )
    add(C("error: not an amount: 'nan'", "judge", "stake", "--amount", "nan", *c))
    add(C(f"error: amount too large: {U256}", "judge", "stake", "--amount", str(U256), *c))
    add(
        C(
            "error: amount must be positive with at most 18 decimals: 0",
            "judge",
            "stake",
            "--amount",
            "0",
            *c,
        )
    )
    add(C("error: not an amount: 'snan'", "judge", "withdraw", "--amount", "snan", *c))
    add(
        C(
            "error: not an amount: 'nan'",
            "bgc",
            "deposit",
            "--area",
            "1",
            "--amount",
            "nan",
            "--home",
            f"{t}/none",
        )
    )
    add(
        C(
            "error: amount must be positive with at most 18 decimals: -1",
            "bgc",
            "send",
            "--from-area",
            "1",
            "--to-area",
            "2",
            "--to",
            DEV[1],
            "--amount",
            "-1",
            "--key",
            "dev:1",
            "--home",
            f"{t}/none",
        )
    )

    # -- keys ---------------------------------------------------------------------------
    empty = "error: --key is empty: give a private key (64 hex digits) or dev:N"
    add(C(empty, "escrow", "buy", L_ETH, "--key", "", *c))
    add(C(empty, "escrow", "create", "--price", "1", "--key", "  ", *c))
    add(C(empty, "judge", "stake", "--key", "", *c))
    add(C(empty, "share", "claim", "--key", "", *c))
    add(
        C(
            empty,
            "deploy",
            "--rpc",
            w.node.url,
            "--key",
            "",
            "--out",
            f"{t}/k.json",
            outputs=[f"{t}/k.json"],
        )
    )
    add(C(empty, "area", "records", "--key", "", "--home", f"{t}/none"))
    add(C(empty, "bgc", "status", "--key", "", "--home", f"{t}/none"))
    for bad in ("dev:-1", "dev:abc", "dev:", "dev:99999999999", "dev:1.5"):
        add(
            C(
                f"error: --key: dev:N needs a whole number N >= 0, not {bad!r}",
                "escrow",
                "confirm",
                O_SHIPPED,
                "--key",
                bad,
                *c,
            )
        )
    for bad in ("0x1234", "z" * 64, "0x" + "g" * 64, "0x" + "1" * 65, "dev1"):
        add(
            C(
                "error: --key must be a private key of 64 hex digits or dev:N",
                "stake",
                "withdraw",
                "--key",
                bad,
                *c,
            )
        )
    for bad in ("0x" + "0" * 64, "0x" + "f" * 64):
        add(
            C(
                "error: --key is not a valid secp256k1 private key",
                "judge",
                "withdraw",
                "--amount",
                "1",
                "--key",
                bad,
                *c,
            )
        )
    add(
        C(
            "error: --key: dev:N needs a whole number N >= 0, not 'dev:-1'",
            "escrow",
            "create",
            "--price",
            "1",
            "--key",
            "dev:-1",
            *c,
        )
    )
    add(
        C(
            "error: --key: dev:N needs a whole number N >= 0, not 'dev:x'",
            "deploy",
            "--rpc",
            w.node.url,
            "--key",
            "dev:x",
        )
    )
    add(
        C(
            "error: --signer-keys is empty: give a private key (64 hex digits) or dev:N",
            "area",
            "anchor",
            "--area",
            "7",
            "--signer-keys",
            "dev:6,,dev:7",
            *c,
        )
    )
    add(
        C(
            "error: --signer-keys names a validator twice",
            "area",
            "anchor",
            "--area",
            "7",
            "--signer-keys",
            "dev:6,dev:6",
            *c,
        )
    )
    add(
        C(
            "error: --signer-keys: dev:N needs a whole number N >= 0, not 'dev:x'",
            "area",
            "anchor",
            "--area",
            "7",
            "--signer-keys",
            "dev:6,dev:x",
            *c,
        )
    )

    # -- addresses and names ---------------------------------------------------------
    add(
        C(
            "error: --validator must be a 0x address of 40 hex digits, not '0x1234'",
            "stake",
            "activate",
            "--validator",
            "0x1234",
            *c,
        )
    )
    add(
        C(
            "error: --validator must be a 0x address of 40 hex digits, not 'alice'",
            "stake",
            "activate",
            "--validator",
            "alice",
            *c,
        )
    )
    add(
        C(
            "error: --validator: dev:N needs a whole number N >= 0, not 'dev:-1'",
            "stake",
            "activate",
            "--validator",
            "dev:-1",
            *c,
        )
    )
    add(
        C(
            f"error: --validator must be a 0x address of 40 hex digits, not '{DEV[6][2:]}'",
            "stake",
            "nominate",
            "--validator",
            DEV[6][2:],
            "--amount",
            "1",
            *c,
        )
    )
    add(
        C(
            "error: --validator must be a 0x address of 40 hex digits, not ''",
            "stake",
            "nominate",
            "--validator",
            "",
            "--amount",
            "1",
            *c,
        )
    )
    for bad in ("garbage", "", "0x" + "Z" * 40, DEV[1] + "00"):
        add(
            C(
                f"error: --judge must be a 0x address of 40 hex digits, not {bad!r}",
                "judge",
                "cases",
                "--judge",
                bad,
                *c,
            )
        )
    add(
        C(
            "error: --judge: dev:N needs a whole number N >= 0, not 'dev:x'",
            "judge",
            "cases",
            "--judge",
            "dev:x",
            *c,
        )
    )
    add(
        C(
            "error: --seller must be a 0x address of 40 hex digits, not 'bob'",
            "escrow",
            "orders",
            "--seller",
            "bob",
            *c,
        )
    )
    add(
        C(
            "error: --buyer must be a 0x address of 40 hex digits, not '0x12'",
            "escrow",
            "orders",
            "--buyer",
            "0x12",
            *c,
        )
    )
    add(
        C(
            "error: --status must be one of paid, shipped, completed, cancelled, disputed, ruled, not 'lost'",
            "escrow",
            "orders",
            "--status",
            "lost",
            *c,
        )
    )
    add(
        C(
            "error: ACCOUNT must be a 0x address of 40 hex digits, not 'nobody'",
            "trust",
            "nobody",
            *c,
        )
    )
    add(
        C(
            "error: --with must be a 0x address of 40 hex digits, not '0x'",
            "trust",
            "dev:1",
            "--with",
            "0x",
            *c,
        )
    )
    bad_token = "0x" + "Z" * 40
    add(
        C(
            f"error: --token must be a 0x address of 40 hex digits, not '{bad_token}'",
            "escrow",
            "withdraw",
            "--token",
            bad_token,
            *dev1,
            *c,
        )
    )
    add(
        C(
            "error: --token must be a 0x address of 40 hex digits, not '0x123'",
            "escrow",
            "create",
            "--price",
            "1",
            "--token",
            "0x123",
            *dev1,
            *c,
        )
    )
    add(
        C(
            "error: unknown token 'doge': use eth, sec or an ERC-20 address",
            "escrow",
            "withdraw",
            "--token",
            "doge",
            *dev1,
            *c,
        )
    )
    add(
        C(
            "error: --to must be a 0x address of 40 hex digits, not '0x12'",
            "bgc",
            "send",
            "--from-area",
            "1",
            "--to-area",
            "2",
            "--to",
            "0x12",
            "--amount",
            "1",
            "--key",
            "dev:1",
        )
    )

    # -- nodes and deployments files ------------------------------------------------------
    dep_of = {
        "none.json": f"error: deployments file not found: {t}/none.json",
        "not_json.json": R(
            rf"error: deployments file {re.escape(t)}/not_json\.json is not JSON: .+"
        ),
        "list.json": R(r"error: malformed deployments file: missing or bad .+"),
        "binary.json": R(rf"error: malformed deployments file {re.escape(t)}/binary\.json: .+"),
        "no_contracts.json": "error: malformed deployments file: missing or bad 'contracts'",
        "no_court.json": f"error: malformed deployments file {t}/no_court.json: no contract Court",
        "bad_address.json": f"error: malformed deployments file {t}/bad_address.json: Escrow address '0x123'",
        "abi_string.json": f"error: malformed deployments file {t}/abi_string.json: Escrow abi is not a list",
        "other_chain.json": f"error: {t}/other_chain.json is for chain 1, but {w.node.url} is chain 31337",
        "no_code.json": f"error: no contract at 0x{'ab' * 20} (Escrow) on chain 31337: wrong deployments file?",
    }
    commands = [
        ["escrow", "status", O_PAID],
        ["escrow", "buy", L_ETH, "--key", "dev:3"],
        ["judge", "stake", "--key", "dev:3"],
        ["stake", "validator", "--area", "7", "--key", "dev:3"],
        ["trust", "dev:1"],
    ]
    for n, (name, expect) in enumerate(dep_of.items()):
        for cmd in (commands[n % len(commands)], commands[(n + 2) % len(commands)]):
            add(C(expect, *cmd, "--rpc", w.node.url, "--deployment", f"{t}/{name}"))
    add(
        C(
            f"error: deployments file {t} is a directory",
            "escrow",
            "status",
            "1",
            "--rpc",
            w.node.url,
            "--deployment",
            t,
        )
    )
    add(
        C(
            "error: cannot reach a node at http://127.0.0.1:9: ConnectionError",
            "escrow",
            "status",
            "1",
            "--rpc",
            "http://127.0.0.1:9",
            "--deployment",
            str(w.dep),
        )
    )
    add(
        C(
            R(r"error: cannot reach a node at notaurl: \w+"),
            "judge",
            "cases",
            "--rpc",
            "notaurl",
            "--deployment",
            str(w.dep),
        )
    )
    add(
        C(
            "error: cannot reach a node at http://127.0.0.1:9: ConnectionError",
            "deploy",
            "--rpc",
            "http://127.0.0.1:9",
            "--out",
            f"{t}/unreached.json",
            outputs=[f"{t}/unreached.json"],
        )
    )

    # -- outputs are checked before any work -------------------------------------------
    add(
        C(
            f"error: --out {t}/a_file/x.json: {t}/a_file is not a directory",
            "deploy",
            "--rpc",
            w.node.url,
            "--out",
            f"{t}/a_file/x.json",
            outputs=[f"{t}/a_file/x.json"],
        )
    )
    add(C(f"error: --out {t} is not a file", "deploy", "--rpc", w.node.url, "--out", t))
    add(
        C(
            f"error: account {NO_ETH} has no ETH to pay for gas",
            "deploy",
            "--rpc",
            w.node.url,
            "--key",
            KEY_NO_ETH,
            "--out",
            f"{t}/poor.json",
            outputs=[f"{t}/poor.json"],
        )
    )
    add(
        C(
            "error: unknown Ape network 'foo:bar': No ecosystem named 'foo'.",
            "deploy",
            "--network",
            "foo:bar",
            "--out",
            f"{t}/ape.json",
            outputs=[f"{t}/ape.json"],
        )
    )
    add(
        C(
            "error: unknown Ape network 'ethereum:nosuch': No network in 'ethereum' named 'nosuch'.",
            "deploy",
            "--network",
            "ethereum:nosuch",
        )
    )
    kinds = R(r"error: --plot .+: the file type must be one of avif, eps, .+")
    add(C(kinds, "sim", "--plot", f"{t}/plot.xyz", outputs=[f"{t}/plot.xyz"]))
    add(C(kinds, "sim", "--plot", f"{t}/plot", outputs=[f"{t}/plot"]))
    add(
        C(
            f"error: --plot {t}/nodir/p.png: no directory {t}/nodir",
            "sim",
            "--plot",
            f"{t}/nodir/p.png",
            outputs=[f"{t}/nodir"],
        )
    )
    add(
        C(
            f"error: --plot {t}/a_file/p.png: no directory {t}/a_file",
            "sim",
            "--plot",
            f"{t}/a_file/p.png",
        )
    )
    add(
        C(
            f"error: --protection-dir {t}/a_file is not a directory",
            "area",
            "anchor",
            "--area",
            "7",
            "--signer-keys",
            "dev:6,dev:7,dev:8",
            "--protection-dir",
            f"{t}/a_file",
            *c,
        )
    )
    add(C(f"error: --home {t}/a_file is not a directory", "devnet", "up", "--home", f"{t}/a_file"))

    # -- sim and devnet options ----------------------------------------------------------
    for opt, val in (("--latency", "nan"), ("--latency", "inf"), ("--latency", "-1")):
        add(
            C(
                f"error: --latency must be a finite number of seconds >= 0, not {float(val)}",
                "sim",
                opt,
                val,
            )
        )
    for opt, val in (
        ("--attacker", "1"),
        ("--attacker", "nan"),
        ("--loss", "-0.1"),
        ("--loss", "inf"),
    ):
        add(C("error: --attacker and --loss are shares in [0, 1)", "sim", opt, val))
    part = "error: --partition is FIRST:LAST:FRACTION with 0 <= FIRST <= LAST and 0 < FRACTION < 1, e.g. 100:130:0.5"
    for val in ("1:2", "5:1:0.5", "a:b:c", "1:2:1.5", "1:2:nan", "-1:2:0.5"):
        add(C(part, "sim", "--partition", val))
    add(C("error: --tie-break is hash or smallest", "sim", "--tie-break", "random"))
    add(
        C(
            "error: need at least one node per community",
            "sim",
            "--nodes",
            "5",
            "--communities",
            "10",
        )
    )
    add(
        C(
            "error: --interval must be a positive number of seconds, not inf",
            "devnet",
            "up",
            "--interval",
            "inf",
        )
    )
    add(
        C(
            "error: --interval must be a positive number of seconds, not 0.0",
            "devnet",
            "up",
            "--interval",
            "0",
        )
    )
    add(
        C(
            "error: --duration must be a positive number of seconds, not -1.0",
            "devnet",
            "up",
            "--duration",
            "-1",
        )
    )
    add(
        C(
            "error: with --consensus pow a slot (--interval) is at least 1 s",
            "devnet",
            "up",
            "--interval",
            "0.5",
        )
    )
    add(C("error: --consensus is pow or round-robin", "devnet", "up", "--consensus", "raft"))
    add(
        C(
            "error: Invalid value for '--area-epoch': Input should be greater than or equal to 0",
            "devnet",
            "up",
            "--area-epoch",
            "-1",
            code=2,
        )
    )
    add(
        C(
            f"error: config file not found: {t}/missing.toml",
            "areas",
            "run",
            "--config",
            f"{t}/missing.toml",
        )
    )
    add(
        C(
            f"error: config file {t}/epochs_none.json: [area_epochs] needs seconds = N (the epoch's length)",
            "areas",
            "run",
            "--config",
            f"{t}/epochs_none.json",
        )
    )
    add(
        C(
            f"error: config file {t}/epochs_zero.json: [area_epochs] seconds is a number from 1 to 315360000, not 0",
            "areas",
            "run",
            "--config",
            f"{t}/epochs_zero.json",
        )
    )
    add(
        C(
            f"error: config file {t}/epochs_seed.json: [area_epochs] seed is a whole number, not 1.5",
            "areas",
            "run",
            "--config",
            f"{t}/epochs_seed.json",
        )
    )
    add(
        C(
            f"error: the key's address {Account.from_key('0x' + '42' * 32).address} may not publish on AreaDirectory (PUBLISHER_ROLE): the admin grants it",
            "areas",
            "run",
            "--config",
            f"{t}/epochs_ok.json",
        )
    )
    add(
        C(
            f"error: --home {t}/devnet_dead holds an earlier devnet (devnet.json): --fresh deletes it and starts clean, or choose another --home",
            "devnet",
            "up",
            "--home",
            f"{t}/devnet_dead",
        )
    )
    add(
        C(
            f"error: a devnet is running at {t}/devnet_running (node-1-0 pid {os.getpid()}): stop it first (Ctrl-C)",
            "devnet",
            "up",
            "--fresh",
            "--home",
            f"{t}/devnet_running",
        )
    )
    add(
        C(
            R(r"error: cannot reach a node at http://127\.0\.0\.1:9.*"),
            "devnet",
            "up",
            "--fresh",
            "--rpc",
            "http://127.0.0.1:9",
            "--home",
            f"{t}/devnet_dead",
        )
    )
    add(
        C(
            f"error: no devnet at {t}/none (run `sec devnet up` first)",
            "devnet",
            "status",
            "--home",
            f"{t}/none",
        )
    )
    add(
        C(
            R(rf"error: malformed {re.escape(t)}/devnet_bad/devnet\.json: KeyError .+"),
            "devnet",
            "status",
            "--home",
            f"{t}/devnet_bad",
        )
    )
    add(
        C(
            f"error: the devnet at {t}/devnet_dead is not running: no node answers",
            "devnet",
            "status",
            "--home",
            f"{t}/devnet_dead",
        )
    )

    # -- bgc -------------------------------------------------------------------------------
    dead = ["--home", f"{t}/devnet_dead"]
    add(
        C(
            f"error: no devnet at {t}/none (run `sec devnet up` first)",
            "bgc",
            "deposit",
            "--area",
            "1",
            "--amount",
            "1",
            "--home",
            f"{t}/none",
        )
    )
    add(
        C(
            f"error: no area 9 in the devnet at {t}/devnet_dead (its areas: 1)",
            "bgc",
            "deposit",
            "--area",
            "9",
            "--amount",
            "1",
            *dead,
        )
    )
    add(
        C(
            "error: area 1 has no validators on chain: nothing can be deposited",
            "bgc",
            "deposit",
            "--area",
            "1",
            "--amount",
            "1",
            *dead,
            signer=DEV[0],
        )
    )
    add(
        C(
            f"error: no area 5 in the devnet at {t}/devnet_dead (its areas: 1)",
            "bgc",
            "send",
            "--from-area",
            "5",
            "--to-area",
            "1",
            "--to",
            DEV[1],
            "--amount",
            "1",
            "--key",
            "dev:1",
            *dead,
        )
    )
    add(
        C(
            f"error: no area 3 in the devnet at {t}/devnet_dead (its areas: 1)",
            "bgc",
            "send",
            "--from-area",
            "1",
            "--to-area",
            "3",
            "--to",
            DEV[1],
            "--amount",
            "1",
            "--key",
            "dev:1",
            *dead,
        )
    )
    add(
        C(
            "error: no node of area 1 answers",
            "bgc",
            "send",
            "--from-area",
            "1",
            "--to-area",
            "0",
            "--to",
            DEV[1],
            "--amount",
            "1",
            "--key",
            "dev:1",
            *dead,
        )
    )
    add(
        C(
            f"error: no area 2 in the devnet at {t}/devnet_dead (its areas: 1)",
            "bgc",
            "confirm",
            "--area",
            "2",
            "--ref",
            "1:1",
            "--key",
            "dev:1",
            *dead,
        )
    )
    for ref in ("x", "1:2:3", "-1:2", "0:1", ":"):
        add(
            C(
                R(r"error: --ref.*"),
                "bgc",
                "ship",
                "--area",
                "1",
                "--ref",
                ref,
                "--key",
                "dev:1",
                *dead,
            )
        )
    add(
        C(
            f"error: no devnet at {t}/none (run `sec devnet up` first)",
            "bgc",
            "status",
            "--home",
            f"{t}/none",
        )
    )
    withdraw = ["bgc", "withdraw", "--area", "1"]
    add(
        C(
            f"error: no devnet at {t}/none (run `sec devnet up` first)",
            *withdraw,
            "--amount",
            "1",
            "--key",
            "dev:1",
            "--home",
            f"{t}/none",
        )
    )
    add(
        C(
            f"error: no area 9 in the devnet at {t}/devnet_dead (its areas: 1)",
            "bgc",
            "withdraw",
            "--area",
            "9",
            "--amount",
            "1",
            "--key",
            "dev:1",
            *dead,
        )
    )
    add(
        C(
            "error: at most 0 SEC can leave area 1 now (its outflow limit): withdraw less, or in parts",
            *withdraw,
            "--amount",
            "1",
            "--key",
            "dev:1",
            *dead,
        )
    )
    add(
        C(
            "error: --to must be a 0x address of 40 hex digits, not 'me'",
            *withdraw,
            "--amount",
            "1",
            "--to",
            "me",
            "--key",
            "dev:1",
            *dead,
        )
    )
    add(
        C(
            "error: amount must be positive with at most 18 decimals: -1",
            *withdraw,
            "--amount",
            "-1",
            "--key",
            "dev:1",
            *dead,
        )
    )
    add(C("error: give --key or --account", *withdraw, "--amount", "1", *dead, code=2))
    add(C(area_low, "bgc", "withdraw", "--area", "0", "--amount", "1", "--key", "dev:1", code=2))

    # -- stored accounts (--account) and the views -----------------------------------------
    add(
        C(
            f"error: no account 'nobody' in {NO_HOME}/accounts",
            "escrow",
            "confirm",
            O_PAID,
            "--account",
            "nobody",
            *c,
            outputs=[str(NO_HOME)],
        )
    )
    add(
        C(
            "error: give --key or --account, not both",
            "escrow",
            "ship",
            O_PAID,
            "--account",
            "alice",
            *dev1,
            *c,
            code=2,
        )
    )
    add(
        C(
            "error: --account: bad account name '../x': use letters, digits, '.', '_' or '-' (starting with a letter or digit, at most 64)",
            "stake",
            "unbond",
            "--amount",
            "1",
            "--account",
            "../x",
            *c,
            code=2,
        )
    )
    add(
        C(
            f"error: no validator key 'nobody' in {NO_HOME}/validators",
            "area",
            "anchor",
            "--area",
            "7",
            "--signer-accounts",
            "nobody",
            *c,
            outputs=[str(NO_HOME)],
        )
    )
    add(
        C(
            "error: bad account name '../x': use letters, digits, '.', '_' or '-' (starting with a letter or digit, at most 64)",
            "account",
            "new",
            "../x",
            outputs=[str(NO_HOME)],
        )
    )
    add(C(f"error: no account 'nobody' in {NO_HOME}/accounts", "account", "address", "nobody"))
    add(
        C(
            "error: NAME: dev:N needs a whole number N >= 0, not 'dev:x'",
            "account",
            "address",
            "dev:x",
        )
    )
    add(
        C(
            "error: --index and --path are for a mnemonic, not a raw key",
            "account",
            "import",
            "k1",
            "--from-file",
            f"{t}/raw_key",
            "--index",
            "2",
            outputs=[str(NO_HOME)],
        )
    )
    add(
        C(
            "error: ACCOUNT must be a 0x address of 40 hex digits, not 'x'",
            "stake",
            "status",
            "x",
            *c,
        )
    )
    add(C("error: Missing argument 'account'.", "stake", "status", *c, code=2))
    add(C(f"error: no order {U256_MAX}", "escrow", "status", U256_MAX, "--json", *c))
    add(C("error: no share 999", "share", "status", "999", "--json", *c))
    add(
        C(
            "error: --status must be one of paid, shipped, completed, cancelled, disputed, ruled, not 'x'",
            "escrow",
            "orders",
            "--status",
            "x",
            "--json",
            *c,
        )
    )
    add(
        C(
            f"error: no devnet at {t}/none (run `sec devnet up` first)",
            "area",
            "records",
            "--key",
            "dev:1",
            "--home",
            f"{t}/none",
        )
    )
    add(
        C(
            f"error: no area 4 in the devnet at {t}/devnet_dead",
            "area",
            "records",
            "--key",
            "dev:1",
            "--area",
            "4",
            *dead,
        )
    )

    # -- orders in the wrong state -----------------------------------------------------
    add(
        C(
            f"error: order {O_SHIPPED} is shipped, not paid: cannot ship it",
            "escrow",
            "ship",
            O_SHIPPED,
            *dev1,
            *c,
        )
    )
    add(
        C(
            f"error: order {O_DONE} is completed, not paid: cannot ship it",
            "escrow",
            "ship",
            O_DONE,
            *dev1,
            *c,
        )
    )
    add(C("error: no order 999999", "escrow", "ship", "999999", *dev1, *c))
    add(
        C(
            f"error: order {O_DONE} is completed, not paid or shipped: cannot confirm it",
            "escrow",
            "confirm",
            O_DONE,
            "--key",
            "dev:2",
            *c,
        )
    )
    add(
        C(
            f"error: order {O_CANCELLED} is cancelled, not paid or shipped: cannot confirm it",
            "escrow",
            "confirm",
            O_CANCELLED,
            "--key",
            "dev:2",
            *c,
        )
    )
    add(C("error: no order 0", "escrow", "confirm", "0", "--key", "dev:2", *c))
    add(
        C(
            f"error: order {O_PAID} is paid, not shipped or disputed: cannot finalize it",
            "escrow",
            "finalize",
            O_PAID,
            *c,
        )
    )
    add(
        C(
            f"error: order {O_DONE} is completed, not shipped or disputed: cannot finalize it",
            "escrow",
            "finalize",
            O_DONE,
            *c,
        )
    )
    add(C(f"error: no order {U256_MAX}", "escrow", "finalize", U256_MAX, *c))
    add(
        C(
            f"error: order {O_SHIPPED} is shipped, not paid: cannot cancel it",
            "escrow",
            "cancel",
            O_SHIPPED,
            *dev1,
            *c,
        )
    )
    add(
        C(
            f"error: order {O_CANCELLED} is cancelled, not paid: cannot cancel it",
            "escrow",
            "cancel",
            O_CANCELLED,
            *dev1,
            *c,
        )
    )
    add(
        C(
            f"error: order {O_PAID} is paid, not shipped: cannot dispute it",
            "escrow",
            "dispute",
            O_PAID,
            "--key",
            "dev:2",
            *c,
        )
    )
    add(C("error: no order 424242", "escrow", "dispute", "424242", "--key", "dev:2", *c))
    add(C("error: no order 999999", "escrow", "status", "999999", *c))
    add(C("error: no listing 999999", "escrow", "status", "--listing", "999999", *c))
    add(
        C(
            "error: reverted: escrow: caller is not the seller",
            "escrow",
            "ship",
            O_PAID,
            "--key",
            "dev:3",
            *c,
        )
    )
    add(
        C(
            "error: reverted: escrow: ship window still open",
            "escrow",
            "cancel",
            O_PAID,
            "--key",
            "dev:5",
            *c,
        )
    )
    add(C("error: reverted: escrow: nothing owed", "escrow", "withdraw", "--key", "dev:7", *c))

    # -- buying: checked before the approve --------------------------------------------
    add(
        C(
            "error: no listing 999999",
            "escrow",
            "buy",
            "999999",
            "--key",
            "dev:3",
            *c,
            signer=DEV[3],
        )
    )
    add(
        C(
            f"error: listing {L_CLOSED} is closed",
            "escrow",
            "buy",
            L_CLOSED,
            "--key",
            "dev:3",
            *c,
            signer=DEV[3],
        )
    )
    add(
        C(
            f"error: {DEV[1]} is the seller of listing {L_SEC}",
            "escrow",
            "buy",
            L_SEC,
            *dev1,
            *c,
            signer=DEV[1],
        )
    )
    add(
        C(
            f"error: account {NO_SEC} has 0 SEC, listing {L_SEC} costs 5 SEC",
            "escrow",
            "buy",
            L_SEC,
            "--key",
            KEY_NO_SEC,
            *c,
            signer=NO_SEC,
        )
    )
    add(
        C(
            f"error: share 12345 cannot be used for listing {L_SEC} by {DEV[3]}",
            "escrow",
            "buy",
            L_SEC,
            "--share",
            "12345",
            "--key",
            "dev:3",
            *c,
            signer=DEV[3],
        )
    )
    add(
        C(
            f"error: account {NO_ETH} has no ETH to pay for gas",
            "escrow",
            "buy",
            L_SEC,
            "--key",
            KEY_NO_ETH,
            *c,
            signer=NO_ETH,
        )
    )
    add(
        C(
            f"error: account {NO_ETH} has no ETH to pay for gas",
            "escrow",
            "buy",
            L_ETH,
            "--key",
            KEY_NO_ETH,
            *c,
            signer=NO_ETH,
        )
    )
    add(
        C(
            f"error: account {NO_ETH} has no ETH to pay for gas",
            "escrow",
            "create",
            "--price",
            "1",
            "--key",
            KEY_NO_ETH,
            *c,
            signer=NO_ETH,
        )
    )
    # The estimate runs first: a call that would revert says why, whatever the funds.
    add(
        C(
            "error: reverted: escrow: caller is not the buyer",
            "escrow",
            "confirm",
            O_SHIPPED,
            "--key",
            KEY_NO_ETH,
            *c,
        )
    )
    add(
        C(
            "error: reverted: escrow: caller is not the buyer",
            "escrow",
            "confirm",
            O_SHIPPED,
            "--key",
            "dev:4",
            *c,
        )
    )

    # -- judges ----------------------------------------------------------------------------
    add(
        C(
            "error: below the minimum stake: 0 SEC staked + 1 SEC < 1000 SEC",
            "judge",
            "stake",
            "--amount",
            "1",
            "--key",
            "dev:3",
            *c,
            signer=DEV[3],
        )
    )
    add(
        C(
            "error: below the minimum stake: 0 SEC staked + 999.999999999999999999 SEC < 1000 SEC",
            "judge",
            "stake",
            "--amount",
            "999.999999999999999999",
            "--key",
            "dev:3",
            *c,
            signer=DEV[3],
        )
    )
    add(
        C(
            f"error: account {NO_SEC} has 0 SEC, not 1000 SEC",
            "judge",
            "stake",
            "--key",
            KEY_NO_SEC,
            *c,
            signer=NO_SEC,
        )
    )
    add(
        C(
            f"error: account {DEV[3]} has 1000000 SEC, not 2000000 SEC",
            "judge",
            "stake",
            "--amount",
            "2000000",
            "--key",
            "dev:3",
            *c,
            signer=DEV[3],
        )
    )
    add(
        C(
            f"error: account {NO_ETH} has no ETH to pay for gas",
            "judge",
            "stake",
            "--key",
            KEY_NO_ETH,
            *c,
            signer=NO_ETH,
        )
    )
    add(
        C(
            "error: reverted: staking: amount exceeds stake",
            "judge",
            "withdraw",
            "--amount",
            "5",
            "--key",
            "dev:3",
            *c,
        )
    )
    add(C("error: no case 999999", "judge", "draw", "999999", "--key", "dev:3", *c))
    add(
        C(
            R(r"error: reverted: court: .+"),
            "judge",
            "vote",
            "999999",
            "--ruling",
            "buyer",
            "--key",
            "dev:3",
            *c,
        )
    )
    add(C(R(r"error: reverted: court: .+"), "judge", "execute", "999999", "--key", "dev:3", *c))
    add(
        C(
            f"error: evidence file not found: {t}/none.json",
            "judge",
            "report",
            "--evidence",
            f"{t}/none.json",
            "--key",
            "dev:5",
            *c,
        )
    )
    add(
        C(
            R(rf"error: malformed evidence file {re.escape(t)}/evidence_bad\.json: .+"),
            "judge",
            "report",
            "--evidence",
            f"{t}/evidence_bad.json",
            "--key",
            "dev:5",
            *c,
        )
    )

    # -- validators and nominations: checked before the approve -------------------------
    add(
        C(
            "error: below the minimum stake: 0 SEC staked + 1 SEC < 100000 SEC",
            "stake",
            "validator",
            "--area",
            "7",
            "--amount",
            "1",
            "--key",
            "dev:3",
            *c,
            signer=DEV[3],
        )
    )
    add(
        C(
            f"error: {DEV[6]} validates area 7, not area 8",
            "stake",
            "validator",
            "--area",
            "8",
            "--key",
            "dev:6",
            *c,
            signer=DEV[6],
        )
    )
    add(
        C(
            f"error: account {NO_SEC} has 0 SEC, not 100000 SEC",
            "stake",
            "validator",
            "--area",
            "5",
            "--key",
            KEY_NO_SEC,
            *c,
            signer=NO_SEC,
        )
    )
    add(
        C(
            f"error: account {NO_ETH} has no ETH to pay for gas",
            "stake",
            "validator",
            "--area",
            "5",
            "--key",
            KEY_NO_ETH,
            *c,
            signer=NO_ETH,
        )
    )
    add(
        C(
            f"error: account {DEV[3]} has 1000000 SEC, not 1000001 SEC",
            "stake",
            "validator",
            "--area",
            "5",
            "--amount",
            "1000001",
            "--key",
            "dev:3",
            *c,
            signer=DEV[3],
        )
    )
    add(
        C(
            f"error: {DEV[3]} is not an active validator",
            "stake",
            "nominate",
            "--validator",
            "dev:3",
            "--amount",
            "5",
            "--key",
            "dev:4",
            *c,
            signer=DEV[4],
        )
    )
    add(
        C(
            f"error: {DEV[9]} is not an active validator",
            "stake",
            "nominate",
            "--validator",
            DEV[9],
            "--amount",
            "5",
            "--key",
            "dev:4",
            *c,
            signer=DEV[4],
        )
    )
    add(
        C(
            f"error: account {DEV[4]} has 1000000 SEC, not 5000000 SEC",
            "stake",
            "nominate",
            "--validator",
            "dev:6",
            "--amount",
            "5000000",
            "--key",
            "dev:4",
            *c,
            signer=DEV[4],
        )
    )
    add(
        C(
            f"error: account {NO_ETH} has no ETH to pay for gas",
            "stake",
            "nominate",
            "--validator",
            "dev:6",
            "--amount",
            "5",
            "--key",
            KEY_NO_ETH,
            *c,
            signer=NO_ETH,
        )
    )
    add(
        C(
            f"error: {DEV[3]} has no pending stake to activate",
            "stake",
            "activate",
            "--key",
            "dev:3",
            *c,
        )
    )
    add(
        C(
            f"error: {DEV[6]} has no pending stake to activate",
            "stake",
            "activate",
            "--validator",
            "dev:6",
            *c,
        )
    )
    add(
        C(
            "error: reverted: staking: amount exceeds stake",
            "stake",
            "unbond",
            "--amount",
            "5",
            "--key",
            "dev:3",
            *c,
        )
    )
    add(
        C(
            "error: reverted: staking: nothing to withdraw",
            "stake",
            "withdraw",
            "--key",
            "dev:3",
            *c,
        )
    )
    add(
        C(
            "error: reverted: staking: nothing to claim",
            "stake",
            "rewards",
            "--claim",
            "--key",
            "dev:3",
            *c,
        )
    )
    add(
        C(
            R(r"error: reverted: staking: .+"),
            "stake",
            "nominate",
            "--validator",
            "dev:6",
            "--amount",
            "5",
            "--undo",
            "--key",
            "dev:4",
            *c,
        )
    )

    # -- anchors: quorum, height and funds checked before anyone signs ------------------
    def anchor(n: int, *extra: str) -> list[str]:
        return [
            "area",
            "anchor",
            "--protection-dir",
            f"{t}/prot{n}",
            "--timestamp",
            "1700000000",
            *extra,
            *c,
        ]

    def prot(n: int) -> list[str]:
        return [f"{t}/prot{n}"]

    add(
        C(
            "error: not enough stake: the signers hold 100000 SEC of 300000 SEC active in area 7; more than 2/3 is needed",
            *anchor(1, "--area", "7", "--signer-keys", "dev:6"),
            outputs=prot(1),
        )
    )
    add(
        C(
            "error: not enough stake: the signers hold 200000 SEC of 300000 SEC active in area 7; more than 2/3 is needed",
            *anchor(2, "--area", "7", "--signer-keys", "dev:6,dev:7"),
            outputs=prot(2),
        )
    )
    add(
        C(
            f"error: {DEV[3]} is not an active validator of area 7",
            *anchor(3, "--area", "7", "--signer-keys", "dev:6,dev:7,dev:3"),
            outputs=prot(3),
        )
    )
    add(
        C(
            "error: area 9 has no active validator stake",
            *anchor(4, "--area", "9", "--signer-keys", "dev:6,dev:7,dev:8"),
            outputs=prot(4),
        )
    )
    add(
        C(
            f"error: account {NO_ETH} has no ETH to pay for gas",
            *anchor(5, "--area", "7", "--signer-keys", "dev:6,dev:7,dev:8", "--key", KEY_NO_ETH),
            outputs=prot(5),
        )
    )
    add(
        C(
            f"error: --tx-root: '0x{'zz' * 32}' is not 0x and 64 hex digits",
            *anchor(
                6,
                "--area",
                "7",
                "--signer-keys",
                "dev:6,dev:7,dev:8",
                "--tx-root",
                "0x" + "zz" * 32,
            ),
            outputs=prot(6),
        )
    )
    add(
        C(
            f"error: {NO_SEC} is not an active validator of area 7",
            *anchor(7, "--area", "7", "--signer-keys", KEY_NO_SEC + ",dev:8"),
            outputs=prot(7),
        )
    )

    # -- shares -----------------------------------------------------------------------------
    add(C("error: no share 999999", "share", "status", "999999", *c))
    add(
        C(
            "error: reverted: share: order is not completed",
            "share",
            "create",
            O_PAID,
            "--key",
            "dev:2",
            *c,
        )
    )
    add(
        C(
            "error: nothing to claim: commissions are paid when each shared purchase completes; only pool bonuses wait here",
            "share",
            "claim",
            "--key",
            KEY_NO_ETH,
            *c,
        )
    )
    # -- signed listings and relayed requests ----------------------------------------------
    dev2 = ["--key", "dev:2"]
    add(C("error: not an amount: 'abc'", "escrow", "post", "--price", "abc", *c, *dev1))
    add(
        C(
            "error: not a duration: 'soon' (use e.g. 7d, 36h, 3600)",
            "escrow",
            "post",
            "--price",
            "1",
            "--expires",
            "soon",
            *c,
            *dev1,
        )
    )
    add(
        C(
            "error: --expires must be longer than 0",
            "escrow",
            "post",
            "--price",
            "1",
            "--expires",
            "0",
            *c,
            *dev1,
        )
    )
    add(
        C(
            "error: --gateway must be an http(s) URL, not 'ftp://x'",
            "escrow",
            "post",
            "--price",
            "1",
            "--gateway",
            "ftp://x",
            *c,
            *dev1,
        )
    )
    add(
        C(
            "error: unknown token 'btc': use eth, sec or an ERC-20 address",
            "escrow",
            "post",
            "--price",
            "1",
            "--token",
            "btc",
            *c,
            *dev1,
        )
    )
    add(
        C(
            "error: Invalid value for '--quantity': Input should be greater than or equal to 0",
            "escrow",
            "post",
            "--price",
            "1",
            "--quantity",
            "-1",
            *c,
            *dev1,
            code=2,
        )
    )
    add(
        C(
            f"error: --out {t}/a_file/x.json: {t}/a_file is not a directory",
            "escrow",
            "post",
            "--price",
            "1",
            "--out",
            f"{t}/a_file/x.json",
            *c,
            *dev1,
            outputs=[f"{t}/a_file/x.json"],
        )
    )
    add(
        C(
            "error: --key is empty: give a private key (64 hex digits) or dev:N",
            "escrow",
            "post",
            "--price",
            "1",
            "--key",
            "",
            *c,
        )
    )
    add(C("error: give a listing id or --listing LINK|FILE", "escrow", "buy", *c, *dev1, code=2))
    add(
        C(
            "error: give a listing id or --listing LINK|FILE",
            "escrow",
            "buy",
            L_ETH,
            "--listing",
            "sec://listing/AAAA",
            *c,
            *dev1,
            code=2,
        )
    )
    add(
        C(
            "error: listing link: the code is not base64url",
            "escrow",
            "buy",
            "--listing",
            "sec://listing/!!",
            *c,
            *dev1,
        )
    )
    add(
        C(
            f"error: no listing file {t}/missing.json",
            "escrow",
            "buy",
            "--listing",
            f"{t}/missing.json",
            *c,
            *dev1,
        )
    )
    add(
        C(
            f"error: listing file {t}/not_json.json is not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            "escrow",
            "buy",
            "--listing",
            f"{t}/not_json.json",
            *c,
            *dev1,
        )
    )
    add(
        C(
            "error: the listing is for chain 1, not chain 31337",
            "escrow",
            "buy",
            "--listing",
            f"{t}/listing_chain1.json",
            *c,
            *dev2,
        )
    )
    add(
        C(
            "error: the listing expired at 1",
            "escrow",
            "buy",
            "--listing",
            f"{t}/listing_expired.json",
            *c,
            *dev2,
        )
    )
    add(
        C(
            "error: not a listing link (no /l/<code>): https://gw.example/x/abc",
            "escrow",
            "cancel-listing",
            "--listing",
            "https://gw.example/x/abc",
            *c,
            *dev1,
        )
    )
    add(
        C(
            f"error: {DEV[2]} is not the seller ({DEV[1]}) of this listing",
            "escrow",
            "cancel-listing",
            "--listing",
            f"{t}/listing_expired.json",
            *c,
            *dev2,
        )
    )
    add(
        C(
            "error: Escrow.confirm takes 1 argument(s): order_id (uint256); 0 given",
            "relay",
            "sign",
            "confirm",
            "--out",
            f"{t}/r1.json",
            *c,
            *dev1,
            outputs=[f"{t}/r1.json"],
        )
    )
    add(
        C(
            "error: argument order_id must be an integer, not 'x'",
            "relay",
            "sign",
            "confirm",
            "x",
            "--out",
            f"{t}/r2.json",
            *c,
            *dev1,
            outputs=[f"{t}/r2.json"],
        )
    )
    add(
        C(
            "error: Escrow or ShareRewards or Court has no function 'nosuch'",
            "relay",
            "sign",
            "nosuch",
            "--out",
            f"{t}/r3.json",
            *c,
            *dev1,
            outputs=[f"{t}/r3.json"],
        )
    )
    add(
        C(
            "error: reverted: escrow: order is not open",
            "relay",
            "sign",
            "confirm",
            "999",
            "--out",
            f"{t}/r4.json",
            *c,
            "--key",
            KEY_NO_ETH,
            outputs=[f"{t}/r4.json"],
        )
    )
    add(
        C(
            "error: buy_signed takes --listing LINK|FILE and no arguments",
            "relay",
            "sign",
            "buy_signed",
            "--out",
            f"{t}/r5.json",
            *c,
            *dev1,
            outputs=[f"{t}/r5.json"],
        )
    )
    add(
        C(
            "error: an ETH listing is paid in ETH: it cannot be bought without ETH",
            "relay",
            "sign",
            "buy_signed",
            "--listing",
            f"{t}/listing_expired.json",
            "--out",
            f"{t}/r6.json",
            *c,
            "--key",
            KEY_NO_ETH,
            outputs=[f"{t}/r6.json"],
        )
    )
    add(
        C(
            f"error: {t}/not_json.json is not a request file: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            "relay",
            "submit",
            f"{t}/not_json.json",
            *c,
            *dev1,
        )
    )
    add(
        C(
            f"error: cannot read {t}/missing.json: No such file or directory",
            "relay",
            "submit",
            f"{t}/missing.json",
            *c,
            *dev1,
        )
    )
    add(
        C(
            f"error: {t}/listing_expired.json is not a request file (no request and signature)",
            "relay",
            "submit",
            f"{t}/listing_expired.json",
            *c,
            *dev1,
        )
    )
    # -- the devnet profile (`sec --home HOME`), the standby relayer, gateway --config ---
    add(
        C(
            f"error: {t}/bad_profile/profile.env line 2: not an `export NAME=VALUE` line",
            "--home",
            f"{t}/bad_profile",
            "bgc",
            "status",
        )
    )
    add(C(f"error: --home {t}/a_file is not a directory", "--home", f"{t}/a_file", "trust", DEV[1]))
    add(
        C(
            "error: --grace is a positive number of seconds, not -1.0",
            "relayer",
            "run",
            "bgc",
            "--config",
            f"{t}/missing.toml",
            "--standby",
            "--grace",
            "-1",
        )
    )
    add(
        C(
            "error: --grace is a positive number of seconds, not 0.0",
            "relayer",
            "run",
            "anchor",
            "--config",
            f"{t}/missing.toml",
            "--standby",
            "--grace",
            "0",
        )
    )
    add(C("error: give --rpc and --deployment, or --config FILE", "gateway", "up"))
    add(
        C(
            "error: --config names the chain, deployments and nodes: not --rpc too",
            "gateway",
            "up",
            "--config",
            f"{t}/missing.toml",
            "--rpc",
            w.node.url,
        )
    )
    add(
        C(
            f"error: config file not found: {t}/missing.toml",
            "gateway",
            "up",
            "--config",
            f"{t}/missing.toml",
        )
    )
    return out


def _nonces(w: World, accounts) -> dict[str, int]:
    return {a: w.node.w3.eth.get_transaction_count(a) for a in accounts}


def _allowance(w: World, suite: Suite, owner: str) -> tuple[int, int]:
    token = suite.token.functions
    return (
        token.allowance(owner, suite.staking.address).call(),
        token.allowance(owner, suite.escrow.address).call(),
    )


@dataclass
class Outcome:
    case: Case
    proc: subprocess.CompletedProcess | Any
    before: tuple | None = None
    after: tuple | None = None
    in_process: bool = False


@pytest.fixture(scope="module")
def run(world):
    """Every case, with the nonces of all accounts before and after: a new process for the
    first case of each command and those `needs_process` picks (four at a time), the others
    meanwhile in this process, one after another."""
    table = cases(world)
    suite = Suite(world.node.w3, Deployment.from_file(world.dep))
    accounts = [*DEV, NO_ETH, NO_SEC]
    nonces_before = _nonces(world, accounts)
    block_before = world.node.w3.eth.block_number
    seen: set[tuple[str, ...]] = set()
    spawned, local = [], []
    for case in table:
        command = command_of(case.argv)
        if command not in seen or needs_process(case.argv):
            spawned.append(case)
        else:
            local.append(case)
        seen.add(command)

    def state(case: Case) -> tuple | None:
        if not case.signer:
            return None
        return (
            world.node.w3.eth.get_transaction_count(case.signer),
            _allowance(world, suite, case.signer),
        )

    def one(case: Case) -> Outcome:
        before = state(case)
        proc = sec(*case.argv)
        return Outcome(case, proc, before, state(case))

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        pending = [pool.submit(one, case) for case in spawned]
        outcomes = []
        for case in local:
            before = state(case)
            proc = run_sec(*case.argv, env=ENV, cwd=ROOT)
            outcomes.append(Outcome(case, proc, before, state(case), in_process=True))
        outcomes += [p.result() for p in pending]
    elapsed = time.monotonic() - started
    return {
        "outcomes": outcomes,
        "nonces": (nonces_before, _nonces(world, accounts)),
        "blocks": (block_before, world.node.w3.eth.block_number),
        "elapsed": elapsed,
        "spawned": len(spawned),
        "tmp": world.tmp,
    }


def _label(o: Outcome) -> str:
    return "sec " + " ".join(repr(a) if not a or " " in a else a for a in o.case.argv)


def test_bad_input_table__330_cases_over_54_commands__counted(run):
    assert len(run["outcomes"]) == 330
    commands = {command_of(o.case.argv) for o in run["outcomes"]}
    assert len(commands) == 54
    spawned = [o for o in run["outcomes"] if not o.in_process]
    # every command ran at least once as a real process
    assert {command_of(o.case.argv) for o in spawned} == commands
    assert len(spawned) == run["spawned"] < len(run["outcomes"]) / 2


def test_bad_input__every_case__nonzero_exit_and_exactly_one_error_line(run):
    wrong = []
    for o in run["outcomes"]:
        lines = o.proc.stderr.splitlines()
        if (
            o.proc.returncode != o.case.code
            or len(lines) != 1
            or not lines[0].startswith("error: ")
        ):
            wrong.append(f"{_label(o)}\n  exit {o.proc.returncode}, stderr: {o.proc.stderr!r}")
    assert not wrong, "\n".join(wrong)


def test_bad_input__every_case__no_traceback(run):
    wrong = [_label(o) for o in run["outcomes"] if "Traceback" in o.proc.stderr + o.proc.stdout]
    assert not wrong, "\n".join(wrong)


def test_bad_input__every_case__says_what_is_wrong(run):
    wrong = []
    for o in run["outcomes"]:
        got = o.proc.stderr.strip()
        expect = o.case.expect
        ok = expect.fullmatch(got) if isinstance(expect, re.Pattern) else got == expect
        if not ok:
            wrong.append(f"{_label(o)}\n  want: {expect}\n  got:  {got}")
    assert not wrong, "\n".join(wrong)


def test_bad_input__whole_table__no_transaction_sent(run):
    before, after = run["nonces"]
    assert after == before
    assert run["blocks"][1] == run["blocks"][0]


def test_bad_input__approve_then_act_commands__nonce_and_allowances_unchanged(run):
    checked = [o for o in run["outcomes"] if o.case.signer]
    assert len(checked) >= 20
    wrong = [f"{_label(o)}: {o.before} -> {o.after}" for o in checked if o.before != o.after]
    assert not wrong, "\n".join(wrong)


def test_bad_input__devnet_homes__left_as_they_were(run):
    """`devnet up` refused an earlier devnet's home, also with --fresh when the chain does
    not answer: its files are all still there."""
    assert any(
        o.case.argv[:2] == ["devnet", "up"] and "--fresh" in o.case.argv for o in run["outcomes"]
    )
    home = run["tmp"] / "devnet_dead"
    assert sorted(p.name for p in home.iterdir()) == ["devnet.json"]
    assert json.loads((home / "devnet.json").read_text())["areas"][0]["area_id"] == 1


def test_bad_input__output_options__no_file_created(run):
    paths = [p for o in run["outcomes"] for p in o.case.outputs]
    assert len(paths) >= 10
    assert [p for p in paths if Path(p).exists()] == []
