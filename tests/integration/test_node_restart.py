"""An area of four nodes and an anchor relayer, each a process started alone from its own
config file (`sec node run --config`, `sec relayer run anchor --config`) as on its own host.

The first node is killed (SIGKILL) while the relayer anchors: the three others keep
producing and attesting; the restarted node pulls the attestations made while it was down,
so it serves a quorum again by itself; anchoring never stops for it (the relayer merges the
signatures of every node). A judge's watcher (`sec watcher run --config`) following one
node, started after a double sign was injected at another, has it slashed on chain, once,
and claims the bounty."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
import rlp

from sec_offchain.area import net
from sec_offchain.area.block import fast_header_digest
from sec_offchain.area.devnet_config import DevnetConfig
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deployment import Deployment
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.devchain import Anvil
from sec_offchain.devnet import provision
from sec_offchain.encoding.area_header import (
    AreaHeader,
    hash_area_header,
    recover_signer,
    sign_digest,
)
from sec_offchain.relayers.run import merge_attestations
from sec_offchain.relayers.watcher import offence_id

ROOT = Path(__file__).resolve().parents[2]
ASKER = get_dev_account(99)
DEPOSITOR = get_dev_account(3)


def wait_for(what, check, timeout=90.0):
    deadline = time.time() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def ask(cfg: DevnetConfig, index: int, kind: int, payload: bytes, reply: int):
    node = cfg.area(1).nodes[index]
    try:
        return asyncio.run(
            net.request(
                "127.0.0.1",
                node.port,
                ASKER.key,
                bytes.fromhex(ASKER.address[2:]),
                cfg.chain_id,
                1,
                kind,
                payload,
                reply,
                timeout=3,
            )
        )
    except (TimeoutError, OSError, asyncio.IncompleteReadError, net.ProtocolError):
        return None


def status(cfg, index):
    body = ask(cfg, index, net.STATUS_REQ, b"", net.STATUS)
    return json.loads(body) if body else None


def write_config(path: Path, cfg: DevnetConfig, key_hex: str, home: str, role: str, **section):
    """A host config file (TOML) for one process, as an operator writes it."""
    (path.parent / f"{home}.key").write_text(key_hex + "\n")
    nodes = ", ".join(f'"{n.address}@127.0.0.1:{n.port}"' for n in cfg.area(1).nodes)
    lines = [
        f'rpc = "{cfg.rpc}"',
        f'deployments = "{cfg.deployments}"',
        f'home = "{home}"',
        f'key_file = "{home}.key"',
        f"interval = {cfg.interval}",
        'consensus = "round-robin"',
        f"genesis_time = {cfg.extra['genesis_time']}",
        f"start_block = {cfg.extra['start_block']}",
        "[[areas]]",
        "id = 1",
        f"nodes = [{section.pop('nodes', nodes)}]",
        f"[{role}]",
        *(f"{k} = {v}" for k, v in section.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def start(config: Path, logs: Path, name: str, *command: str) -> subprocess.Popen:
    """`sec <command> --config FILE`, alone, as on its own host."""
    log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
    return subprocess.Popen(
        [sys.executable, "-m", "sec_offchain.cli", *command, "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,
    )


BGC_RELAYERS = (get_dev_account(93), get_dev_account(41))  # 93: funded by provision


def start_bgc_processes(cfg, suite, procs, configs, logs, home):
    gw_port = net.free_listen_port()
    gw_cfg = write_config(
        home / "gateway.toml", cfg, "", "gateway", "gateway",
        listen=f'"127.0.0.1:{gw_port}"', confirmations=0,
    )  # fmt: skip
    gw_cfg.write_text(gw_cfg.read_text().replace('key_file = "gateway.key"\n', ""))  # no key
    configs["gateway"] = gw_cfg
    procs["gateway"] = start(gw_cfg, logs, "gateway", "gateway", "up")
    primary, standby = BGC_RELAYERS
    suite.tx(get_dev_account(0)).send_value(standby.address, 10**18)
    for name, account, extra in (
        ("bgc-primary", primary, {}),
        ("bgc-standby", standby, {"standby": "true", "grace": "6"}),
    ):
        path = write_config(
            home / f"{name}.toml", cfg, "0x" + account.key.hex(), name, "relayer", **extra
        )
        procs[name] = start(path, logs, name, "relayer", "run", "bgc")


@pytest.fixture(scope="module")
def area_procs(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("area")
    with Anvil() as chain:
        cfg = provision(
            chain.w3, chain.url, tmp_path, 1, 4, 1.0, say=lambda m: None, consensus="round-robin"
        )
        logs = tmp_path / "logs"
        logs.mkdir()
        configs = {
            f"node{i}": write_config(
                tmp_path / f"node{i}.toml", cfg, n.key_hex, f"node{i}", "node", area=1
            )
            for i, n in enumerate(cfg.area(1).nodes)
        }
        configs["relayer"] = write_config(
            tmp_path / "relayer.toml", cfg, cfg.relayer_key, "relayer", "relayer", area=1
        )
        procs = {
            f"node{i}": start(configs[f"node{i}"], logs, f"node{i}", "node", "run")
            for i in range(4)
        }
        procs["relayer"] = start(configs["relayer"], logs, "relayer", "relayer", "run", "anchor")
        suite = Suite(chain.w3, Deployment.from_file(Path(cfg.deployments)))
        # SEC in the area for the BGC test, credited while the tests before it run
        suite.tx(get_dev_account(0)).transact(
            suite.token.functions.transfer(DEPOSITOR.address, 1_500 * 10**18)
        )
        gw = suite.contract("BorderGateway")
        suite.ensure_allowance(DEPOSITOR, gw.address, 1_500 * 10**18)
        suite.tx(DEPOSITOR).transact(gw.functions.deposit_to_area(1, 1_500 * 10**18))
        # the BGC test's relayers (a primary and a standby) and a gateway, each from its own
        # config file, started here so that they are up by then
        start_bgc_processes(cfg, suite, procs, configs, logs, tmp_path)
        try:
            yield cfg, suite, procs, (configs, logs, tmp_path)
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs.values():
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def quorum_at(cfg, suite, index, height):
    """The signatures node `index` alone serves for `height` that verify (or None)."""
    body = ask(cfg, index, net.GET_ATTEST, rlp.encode([height]), net.ATTEST)
    if body is None:
        return None
    data = json.loads(body)
    if not data["header"]:
        return None
    header = AreaHeader.from_json(data["header"])
    digest = hash_area_header(header, cfg.chain_id, suite.anchor_hub.address)
    signers = {
        v.lower()
        for v, s in data["signatures"].items()
        if recover_signer(digest, bytes.fromhex(s[2:])).lower() == v.lower()
    }
    return signers if len(signers) >= 3 else None


def test_first_node_sigkilled_and_restarted__pulls_attestations__anchoring_continues(area_procs):
    cfg, suite, procs, (configs, logs, _) = area_procs
    anchored = suite.anchor_hub.functions.latest_height
    wait_for("the first anchors", lambda: anchored(1).call() >= 2)

    os.kill(procs["node0"].pid, signal.SIGKILL)
    assert procs["node0"].wait(10) == -signal.SIGKILL
    down_from = wait_for("node 1", lambda: status(cfg, 1))["final_height"]
    # three heights become final (and attested by nodes 1-3) while node 0 is dead
    wait_for("finality without node 0", lambda: status(cfg, 1)["final_height"] >= down_from + 3)
    missed = down_from + 2
    validators = {n.address.lower() for n in cfg.area(1).nodes}

    procs["node0"] = start(configs["node0"], logs, "node0b", "node", "run")
    back_at = wait_for("node 0 back", lambda: status(cfg, 0))
    assert back_at["node"].lower() == cfg.area(1).nodes[0].address.lower()
    # node 0 alone serves the others' signatures for a height it missed: it pulled them
    signers = wait_for("pulled attestations", lambda: quorum_at(cfg, suite, 0, missed))
    assert signers <= validators and len(signers) >= 3
    assert cfg.area(1).nodes[0].address.lower() in signers  # and signed it after catching up
    target = status(cfg, 1)["final_height"] + 2
    wait_for(f"anchors past {target}", lambda: anchored(1).call() >= target)
    assert procs["relayer"].poll() is None


def test_merge_attestations__union_of_every_node__most_signed_header_wins():
    honest = AreaHeader(1, 5, b"\x01" * 32, tx_root=b"\x02" * 32, timestamp=7)
    other = AreaHeader(1, 5, b"\x01" * 32, tx_root=b"\x03" * 32, timestamp=7)

    def body(header, sigs):
        return json.dumps(
            {"height": 5, "header": header.to_json() if header else None, "signatures": sigs}
        ).encode()

    bodies = [
        body(honest, {"0xAA": "0x01"}),  # a restarted node: its own signature only
        body(honest, {"0xbb": "0x02", "0xaa": "0x01"}),
        body(other, {"0xcc": "0x03"}),  # a node on another header has fewer
        body(None, {}),  # a node that lacks the height
        b"not json",
    ]
    header, sigs = merge_attestations(bodies)
    assert header == honest
    assert sigs == {"0xaa": b"\x01", "0xbb": b"\x02"}
    assert merge_attestations([body(None, {}), b"{}"]) is None


@pytest.mark.parametrize(("last_delay", "heard"), [(30.0, 3), (0.3, 4)])
def test_node_request_all__a_slow_node__heard_within_grace_skipped_past_it(
    monkeypatch, last_delay, heard
):
    """The anchor relayer asked every node and waited for the slowest (5 s timeout each
    round): a node starting up after a kill held anchoring back by seconds. Once more than
    two thirds answered, the rest get as long again (at least LATE_GRACE)."""
    from sec_offchain.area.devnet_config import AreaEntry, NodeEntry
    from sec_offchain.relayers import run

    nodes = tuple(NodeEntry(get_dev_account(60 + i).address, "", 1 + i) for i in range(4))
    zero = "0x" + "00" * 20
    cfg = DevnetConfig(1, "", "", zero, zero, zero, Path("."), 1.0, (AreaEntry(1, nodes),))

    async def request(host, port, *args, timeout):
        await asyncio.sleep(last_delay if port == 4 else 0.05 * port)
        return f"node {port}".encode()

    monkeypatch.setattr(net, "request", request)
    started = time.time()
    got = run.node_request_all(cfg, 1, net.GET_ATTEST, b"", net.ATTEST, ASKER.key)
    assert sorted(got) == [f"node {p}".encode() for p in range(1, heard + 1)]
    assert time.time() - started < 5  # never the slow node's 30 s


def test_watcher__double_sign_injected_at_another_node__slashed_once_bounty_claimed(area_procs):
    cfg, suite, procs, (configs, logs, home) = area_procs
    judge = get_dev_account(8)
    tx = suite.tx(get_dev_account(0))
    tx.transact(suite.token.functions.transfer(judge.address, 1_000 * 10**18))
    suite.stake_judge(judge, 1_000 * 10**18)
    held = suite.token.functions.balanceOf(judge.address).call()
    one = cfg.area(1).nodes[1]
    watcher_cfg = write_config(
        home / "watcher.toml",
        cfg,
        "0x" + judge.key.hex(),
        "watcher",
        "watcher",
        nodes=f'"{one.address}@127.0.0.1:{one.port}"',  # it follows node 1 only
        areas="[1]",
    )
    # validator 3 signs a second header at a final height, gossiped at node 2
    height = 2
    wait_for("a final height", lambda: (s := status(cfg, 2)) and s["final_height"] >= height)
    honest = AreaHeader.from_json(
        json.loads(ask(cfg, 2, net.GET_ATTEST, rlp.encode([height]), net.ATTEST))["header"]
    )
    forged = replace(honest, tx_root=b"\x66" * 32)
    bad = cfg.area(1).nodes[3]
    sep = cfg.anchor_separator
    sig = sign_digest(bad.key, fast_header_digest(forged, sep))
    frame = net.encode_signed_header(forged, bytes.fromhex(bad.address[2:]), sig)
    asyncio.run(inject(cfg, 2, frame))
    # the watcher starts after the double sign was gossiped: node 1 replays recent signed
    # headers to each new peer
    procs["watcher"] = start(watcher_cfg, logs, "watcher", "watcher", "run")

    offence = offence_id(bad.address, 1, height)
    staking = suite.staking.functions
    wait_for("the slash", lambda: staking.offence_slashed(offence).call())
    hub = suite.anchor_hub
    proven = hub.events.EquivocationProven().get_logs(from_block=0)
    assert [
        (e["args"]["validator"], e["args"]["reporter"], e["args"]["height"]) for e in proven
    ] == [(bad.address, judge.address, height)]
    slashed = suite.staking.events.Slashed().get_logs(from_block=0)
    assert len(slashed) == 1 and slashed[0]["args"]["reporter"] == judge.address
    bounty = slashed[0]["args"]["bounty"]
    assert bounty > 0
    wait_for("the bounty claimed", lambda: staking.claimable(judge.address).call() == 0)
    assert suite.token.functions.balanceOf(judge.address).call() == held + bounty
    # a third header of the same validator at that height: the same offence, never reported
    # a second time (the watcher says so in its log)
    third = replace(honest, tx_root=b"\x67" * 32)
    sig3 = sign_digest(bad.key, fast_header_digest(third, sep))
    asyncio.run(
        inject(cfg, 0, net.encode_signed_header(third, bytes.fromhex(bad.address[2:]), sig3))
    )
    wait_for(
        "the watcher to see it",
        lambda: "already reported" in (logs / "watcher.log").read_text(),
    )
    assert len(hub.events.EquivocationProven().get_logs(from_block=0)) == 1
    assert procs["watcher"].poll() is None


async def inject(cfg, index, frame):
    """Connects to node `index` as a peer of the area and sends one frame."""
    node = cfg.area(1).nodes[index]
    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    conn = net.Connection(reader, writer)
    attacker = get_dev_account(97)
    hello = net.Hello.make(attacker.key, bytes.fromhex(attacker.address[2:]), cfg.chain_id, 1, 0)
    await net.handshake(conn, hello, cfg.chain_id, 1)
    await conn.send_now(net.SIGNED_HEADER, frame)
    # The node handles a connection's frames in order: its answer to a status request sent
    # after the frame says the frame was taken. (A fixed 0.5 s was not that: the node has
    # sent us frames we leave unread, so our close is a reset, and a node that had not read
    # the frame by then, a loaded core, raised the reset before the buffered frame.)
    await conn.send_now(net.STATUS_REQ, b"")
    while (await asyncio.wait_for(conn.read(), 60))[0] != net.STATUS:
        pass
    conn.close()


def test_bgc__node_answers_fates__standby_relayer__gateway_from_a_config(area_procs):
    """Withdrawals from the area through the CLI: the node refuses one that never applies
    with the exact reason (`sec bgc send` exits 1 with it), `sec bgc status` shows each
    transaction's fate; a primary and a standby BGC relayer (`sec relayer run bgc
    [--standby]`, each a process with its own key) run at once and every message is paid
    out exactly once, all by the primary while it lives; once the primary is SIGKILLed the
    standby delivers after its grace period. Meanwhile `sec gateway up --config` (no key:
    it relays nothing) indexes the chain and reads the area's blocks from its nodes."""
    import httpx

    from tests.fixtures.cli import run_sec

    cfg, suite, procs, (configs, logs, home) = area_procs
    gw_port = tomllib.loads(configs["gateway"].read_text())["gateway"]["listen"].split(":")[1]
    gw = suite.contract("BorderGateway")
    primary, standby = BGC_RELAYERS
    user = DEPOSITOR  # 1,500 SEC deposited into area 1 by the fixture
    h = ("--home", str(home), "--key", "dev:3")
    me = bytes.fromhex(user.address[2:])

    def ledger():
        body = ask(cfg, 1, net.LEDGER_REQ, rlp.encode([me]), net.LEDGER)
        return json.loads(body) if body else None

    wait_for("the deposit credited", lambda: (v := ledger()) and v["balance"] == str(1500 * 10**18))
    # more than one message may carry: the node refuses it, with the reason, and nothing pools
    too_big = run_sec(
        "bgc", "send", "--from-area", "1", "--to-area", "0", "--to", user.address,
        "--amount", "1001", *h,
    )  # fmt: skip
    assert (too_big.returncode, too_big.stderr) == (
        1,
        f"error: area 1 refused transaction 1 of {user.address}: a payment leaves an area in "
        "messages of at most 1000000000000000000000 wei (the BorderGateway outflow floor); "
        "split it\n",
    )
    for amount in ("5", "6"):
        out = run_sec("bgc", "withdraw", "--area", "1", "--amount", amount, *h)
        assert out.returncode == 0, out.stderr
        assert f"area 1 accepted transaction {int(amount) - 4} of {user.address}" in out.stdout

    def paid_out():
        return [
            (e["args"]["nonce"], e["args"]["amount"], e["transactionHash"])
            for e in gw.events.WithdrawnFromArea().get_logs(
                from_block=0, argument_filters={"recipient": user.address}
            )
        ]

    wait_for("two withdrawals paid out", lambda: len(paid_out()) == 2)
    w3 = suite.w3
    senders = [w3.eth.get_transaction(t)["from"] for _, _, t in paid_out()]
    assert [(n, a) for n, a, _ in paid_out()] == [(1, 5 * 10**18), (2, 6 * 10**18)]
    assert senders == [primary.address, primary.address]
    assert w3.eth.get_transaction_count(standby.address) == 0  # it sent nothing
    view = json.loads(run_sec("bgc", "status", "--json", *h).stdout)
    txs = view["ledgers"][0]["transactions"]
    assert [(t["nonce"], t["kind"], t["amount"], t["status"], t["reason"]) for t in txs] == [
        (
            1,
            "withdraw",
            str(1001 * 10**18),
            "refused",
            "a payment leaves an area in messages of at most 1000000000000000000000 wei "
            "(the BorderGateway outflow floor); split it",
        ),
        (1, "withdraw", str(5 * 10**18), "applied", None),
        (2, "withdraw", str(6 * 10**18), "applied", None),
    ]
    assert all(isinstance(t["block"], int) and t["block"] > 0 for t in txs[1:])
    human = run_sec("bgc", "status", *h).stdout
    assert f"tx 2 withdraw 6 SEC to {user.address}: applied in block {txs[2]['block']}" in human

    os.kill(procs["bgc-primary"].pid, signal.SIGKILL)
    assert procs["bgc-primary"].wait(10) == -signal.SIGKILL
    out = run_sec("bgc", "withdraw", "--area", "1", "--amount", "7", *h)
    assert out.returncode == 0, out.stderr
    wait_for("the standby pays the third", lambda: len(paid_out()) == 3)
    last = paid_out()[-1]
    assert (last[0], last[1]) == (3, 7 * 10**18)
    assert w3.eth.get_transaction(last[2])["from"] == standby.address
    assert gw.functions.next_nonce(1, 0).call() == 4
    assert "the standby delivers" in (logs / "bgc-standby.log").read_text()
    assert procs["bgc-standby"].poll() is None

    url = f"http://127.0.0.1:{gw_port}/v1"

    def gateway_area():
        try:
            areas = httpx.get(f"{url}/areas", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return None
        return areas[0] if areas and areas[0]["anchored_height"] else None

    anchored = wait_for("the gateway indexes anchors", gateway_area)["anchored_height"]
    record = "0x" + "ab" * 32
    resp = httpx.get(f"{url}/records/{record}/proof", params={"area": 1}, timeout=30)
    # every anchored block read from the area's nodes, the record in none of them
    assert resp.status_code == 404, resp.text
    assert resp.json()["detail"].startswith(
        f"record {record} is in no anchored block of area 1 (up to height "
    )
    assert anchored >= 1 and procs["gateway"].poll() is None
