"""The devnet's processes on hosts of their own: each in its own Linux network namespace with
its own IP on a bridge, every byte between two hosts through a link that delays it 50-100 ms
and loses 2 % (tests/fixtures/netns.py). anvil is one host; the four area nodes (two areas of
two), the two anchor relayers, the BGC relayer, the escrow bridge and a judge's watcher each
run alone on theirs with `sec ... run --config FILE`, knowing the others only by address.

A trade becomes a record in the seller's area, blocks become final and are anchored, a
cross-area purchase completes, and a double sign injected at one host is proven and slashed
by the watcher on another, which claims the bounty."""

import asyncio
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import rlp
from web3 import Web3

from sec_offchain.area import net
from sec_offchain.area.block import fast_header_digest
from sec_offchain.area.devnet_config import AreaEntry, DevnetConfig
from sec_offchain.area.ledger import CONFIRM, PAY, SHIP, AreaTx
from sec_offchain.area.records import TradeRecord
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deployment import Deployment
from sec_offchain.crypto.keys import TEST_MNEMONIC, get_dev_account
from sec_offchain.devchain import DEV_BALANCE_ETH, find_anvil
from sec_offchain.devnet import provision
from sec_offchain.encoding.area_header import AreaHeader, sign_digest
from sec_offchain.relayers.run import node_request
from sec_offchain.relayers.watcher import offence_id
from tests.fixtures import netns

ROOT = Path(__file__).resolve().parents[2]
SEC = 10**18
NODE_PORT = 30301
RPC_PORT = 8545
SELLER, BUYER, JUDGE = get_dev_account(5), get_dev_account(6), get_dev_account(8)
JUDGE_STAKE = 1_000 * SEC
STATUS_COMPLETED = 3  # the escrow's order status in a record

INJECT = """
import asyncio, sys
from sec_offchain.area import net
from sec_offchain.crypto.keys import get_dev_account

async def main(port, chain_id, area, frame):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = net.Connection(reader, writer)
    peer = get_dev_account(97)
    hello = net.Hello.make(peer.key, bytes.fromhex(peer.address[2:]), chain_id, area, 0)
    await net.handshake(conn, hello, chain_id, area)
    await conn.send_now(net.SIGNED_HEADER, frame)
    # taken once the node answers a status request sent after it (frames are handled in
    # order); a fixed sleep before our close (a reset: we leave its frames unread) was not
    await conn.send_now(net.STATUS_REQ, b"")
    while (await asyncio.wait_for(conn.read(), 60))[0] != net.STATUS:
        pass
    conn.close()
    print("injected")

asyncio.run(main(*map(int, sys.argv[1:4]), bytes.fromhex(sys.argv[4])))
"""


def wait_for(what, check, timeout=60.0):
    deadline = time.time() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def host_config(cfg: DevnetConfig, hosts, public: dict, path: Path, key_hex: str, role, section):
    """The config file of one host: the chain and the nodes by their public addresses."""
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "key").write_text(key_hex + "\n")
    data = {
        "rpc": f"http://{hosts.hosts['chain'].public_ip}:{RPC_PORT}",
        "chain_id": cfg.chain_id,
        "deployments": str(Path(cfg.deployments).resolve()),
        "home": "data",
        "key_file": "key",
        "interval": cfg.interval,
        "consensus": "round-robin",
        "genesis_time": cfg.extra["genesis_time"],
        "confirmations": cfg.confirmations,
        "start_block": cfg.extra["start_block"],
        "bridges": list(cfg.bridges[:1]),
        "areas": [
            {"id": a.area_id, "nodes": [f"{n.address}@{public[n.address]}" for n in a.nodes]}
            for a in cfg.areas
        ],
        role: section,
    }
    path.write_text(json.dumps(data, indent=2))
    return path


@pytest.fixture(scope="module")
def network(tmp_path_factory, request):
    reason = netns.unavailable()
    if reason is not None:
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"multi-host test skipped: {reason}")
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("multihost")
    logs = home / "logs"
    logs.mkdir()
    hosts = netns.Hosts()
    relay = None
    try:
        names = ["chain", "n1a", "n1b", "n2a", "n2b", "anchor1", "anchor2", "bgc", "bridge"]
        for name in [*names, "watcher"]:
            hosts.add(name)
        relay = netns.Relay(seed=18)
        chain = hosts.hosts["chain"]
        hosts.spawn(
            "chain",
            [
                find_anvil(),
                *("--host", "0.0.0.0", "--port", str(RPC_PORT), "--hardfork", "prague"),
                *("--balance", str(DEV_BALANCE_ETH), "--mnemonic", TEST_MNEMONIC),
            ],
            logs / "anvil.log",
        )
        relay.tcp(chain, RPC_PORT)
        w3 = Web3(Web3.HTTPProvider(f"http://{chain.own_ip}:{RPC_PORT}"))
        wait_for("anvil", lambda: w3.is_connected(), timeout=30)
        cfg = provision(
            w3, w3.provider.endpoint_uri, home, 2, 2, 1.0, lambda m: None, "round-robin"
        )
        suite = Suite(w3, Deployment.from_file(Path(cfg.deployments)))
        suite.stake_judge(JUDGE, JUDGE_STAKE)
        # the cross-area buyer's deposit, made before the hosts start: area 1 credits it in
        # its first blocks (the purchase runs first: anchoring trails block production more
        # the longer the link is slow, and the payment waits for its block's anchor)
        gw = suite.contract("BorderGateway")
        suite.ensure_allowance(BUYER, gw.address, 100 * SEC)
        suite.tx(BUYER).transact(gw.functions.deposit_to_area(1, 100 * SEC))
        node_hosts = {(1, 0): "n1a", (1, 1): "n1b", (2, 0): "n2a", (2, 1): "n2b"}
        public = {}
        for (a, i), name in node_hosts.items():
            relay.tcp(hosts.hosts[name], NODE_PORT)
            public[cfg.area(a).nodes[i].address] = f"{hosts.hosts[name].public_ip}:{NODE_PORT}"

        sec = [sys.executable, "-m", "sec_offchain.cli"]

        def run(name, key_hex, role, section, *command):
            path = host_config(
                cfg, hosts, public, home / name / "host.json", key_hex, role, section
            )
            hosts.spawn(
                name, [*sec, *command, "--config", str(path)], logs / f"{name}.log", cwd=ROOT
            )

        for (a, i), name in node_hosts.items():
            listen = f"0.0.0.0:{NODE_PORT}"
            run(
                name,
                cfg.area(a).nodes[i].key_hex,
                "node",
                {"area": a, "listen": listen},
                "node",
                "run",
            )
        for a in (1, 2):
            run(f"anchor{a}", cfg.relayer_key, "relayer", {"area": a}, "relayer", "run", "anchor")
        run("bgc", cfg.extra["bgc_key"], "relayer", {}, "relayer", "run", "bgc")
        run(
            "bridge", cfg.bridge_keys[0], "bridge", {"index": 0, "heartbeat": 10.0}, "bridge", "run"
        )
        run("watcher", "0x" + JUDGE.key.hex(), "watcher", {"areas": [1, 2]}, "watcher", "run")
        # the test reads the nodes directly (it is not one of the hosts)
        direct = replace(
            cfg,
            areas=tuple(
                AreaEntry(
                    a.area_id,
                    tuple(
                        replace(
                            n, host=hosts.hosts[node_hosts[(a.area_id, i)]].own_ip, port=NODE_PORT
                        )
                        for i, n in enumerate(a.nodes)
                    ),
                )
                for a in cfg.areas
            ),
        )
        yield direct, suite, hosts, relay, logs
    finally:
        hosts.close()
        if relay is not None:
            relay.close()


def ask(cfg, area, index, kind, payload, reply):
    node = cfg.area(area).nodes[index]
    me = get_dev_account(99)
    try:
        body = asyncio.run(
            net.request(
                node.host,
                node.port,
                me.key,
                bytes.fromhex(me.address[2:]),
                cfg.chain_id,
                area,
                kind,
                payload,
                reply,
                timeout=5,
            )
        )
    except (TimeoutError, OSError, asyncio.IncompleteReadError, net.ProtocolError):
        return None
    return body


def status(cfg, area, index):
    body = ask(cfg, area, index, net.STATUS_REQ, b"", net.STATUS)
    return json.loads(body) if body else None


def ledger(cfg, area, account):
    body = node_request(
        cfg,
        area,
        net.LEDGER_REQ,
        rlp.encode([bytes.fromhex(account.address[2:])]),
        net.LEDGER,
        account.key,
    )
    return json.loads(body) if body else None


def area_tx(cfg, area, account, build):
    """Signs `build(nonce)` with the account's next area nonce and submits it."""
    nonce = int(wait_for("the ledger", lambda: ledger(cfg, area, account))["next_tx_nonce"])
    tx = build(nonce).signed(account.key, cfg.record_separator)
    body = wait_for(
        "a node to take it",
        lambda: node_request(cfg, area, net.SUBMIT_TX, tx.encode(), net.ACK, account.key),
    )
    assert rlp.decode(body)[0] == b"\x01", body


def payment(cfg, area, account, ref):
    view = ledger(cfg, area, account)
    return next((p for p in view["payments"] if p["ref"] == ref), None) if view else None


def header_at(cfg, area, index, height):
    body = ask(cfg, area, index, net.GET_ATTEST, rlp.encode([height]), net.ATTEST)
    data = json.loads(body) if body else None
    return AreaHeader.from_json(data["header"]) if data and data["header"] else None


def test_multihost__cross_area_purchase_completes(network):
    cfg, suite, hosts, relay, logs = network
    listing, _ = suite.create_listing(SELLER, 30 * SEC, token=suite.token.address)
    gw = suite.contract("BorderGateway")
    wait_for(
        "the deposit credited",
        lambda: (v := ledger(cfg, 1, BUYER)) and v["balance"] == str(100 * SEC),
    )
    me, seller = bytes.fromhex(BUYER.address[2:]), bytes.fromhex(SELLER.address[2:])
    area_tx(
        cfg,
        1,
        BUYER,
        lambda n: AreaTx(
            PAY, me, 1, n, dst_area=2, recipient=seller, amount=30 * SEC, listing_id=listing
        ),
    )
    paid = wait_for("the payment in area 2", lambda: payment(cfg, 2, SELLER, "1:1"), timeout=90)
    assert (paid["status"], paid["amount"], paid["listing_id"]) == ("paid", str(30 * SEC), listing)
    area_tx(cfg, 2, SELLER, lambda n: AreaTx(SHIP, seller, 2, n, ref_src=1, ref_nonce=1))
    wait_for("shipped", lambda: (p := payment(cfg, 2, SELLER, "1:1")) and p["status"] == "shipped")
    area_tx(cfg, 2, BUYER, lambda n: AreaTx(CONFIRM, me, 2, n, ref_src=1, ref_nonce=1))
    wait_for(
        "completed", lambda: (p := payment(cfg, 2, SELLER, "1:1")) and p["status"] == "completed"
    )
    assert ledger(cfg, 2, SELLER)["balance"] == str(30 * SEC)
    assert ledger(cfg, 1, BUYER)["balance"] == str(70 * SEC)
    delivered = gw.events.MessageDelivered().get_logs(from_block=0)
    assert [
        (e["args"]["src_area"], e["args"]["dst_area"], e["args"]["nonce"], e["args"]["amount"])
        for e in delivered
    ] == [(1, 2, 1, 30 * SEC)]


def test_multihost__trade_becomes_record__blocks_final_and_anchored(network):
    cfg, suite, hosts, relay, logs = network
    listing, _ = suite.create_listing(SELLER, 10**16)
    order, _ = suite.buy(BUYER, listing)
    suite.ship(SELLER, order, "T")
    suite.confirm(BUYER, order)
    area = cfg.area_of(SELLER.address)

    def records():
        body = ask(
            cfg,
            area,
            1,
            net.RECORDS_OF,
            rlp.encode([bytes.fromhex(BUYER.address[2:])]),
            net.RECORDS,
        )
        found = [TradeRecord.decode(raw) for _, raw in rlp.decode(body)] if body else []
        return [(r.order_id, r.status) for r in found] or None

    assert wait_for("the record", records, timeout=60) == [(order, STATUS_COMPLETED)]
    hub = suite.anchor_hub.functions
    for a in (1, 2):
        anchored = wait_for(
            f"area {a} anchored",
            lambda a=a: hub.latest_height(a).call() >= 3 and hub.latest_height(a).call(),
        )
        views = [wait_for("status", lambda i=i, a=a: status(cfg, a, i)) for i in (0, 1)]
        assert all(v["final_height"] >= anchored and v["peers"] for v in views), views
        # both nodes hold the same header at the anchored height
        assert header_at(cfg, a, 0, anchored) == header_at(cfg, a, 1, anchored) is not None
    # the link really was slow and lossy (with the relay's seed the 10th loss, the first
    # reset, is chunk 491)
    assert relay.stats.chunks > 1000 and relay.stats.lost > 0 and relay.stats.resets > 0


def test_multihost__double_sign_on_one_host__slashed_by_watcher_on_another(network):
    cfg, suite, hosts, relay, logs = network
    held = suite.token.functions.balanceOf(JUDGE.address).call()
    height = wait_for(
        "a final height", lambda: (s := status(cfg, 1, 1)) and s["final_height"] >= 2 and 2
    )
    honest = header_at(cfg, 1, 1, height)
    forged = replace(honest, tx_root=b"\x66" * 32)
    bad = cfg.area(1).nodes[0]
    sig = sign_digest(bad.key, fast_header_digest(forged, cfg.anchor_separator))
    frame = net.encode_signed_header(forged, bytes.fromhex(bad.address[2:]), sig)
    out = hosts.run(
        "n1b",
        [sys.executable, "-c", INJECT, str(NODE_PORT), str(cfg.chain_id), "1", frame.hex()],
    )
    assert out.strip() == "injected"

    staking = suite.staking.functions
    offence = offence_id(bad.address, 1, height)
    wait_for("the slash", lambda: staking.offence_slashed(offence).call(), timeout=60)
    proven = suite.anchor_hub.events.EquivocationProven().get_logs(from_block=0)
    assert [
        (e["args"]["validator"], e["args"]["reporter"], e["args"]["height"]) for e in proven
    ] == [(bad.address, JUDGE.address, height)]
    slashed = suite.staking.events.Slashed().get_logs(from_block=0)
    # half of its 100,000 SEC (equivocation_slash_bps 5,000); a fifth of that to the reporter
    assert [
        (e["args"]["validator"], e["args"]["amount"], e["args"]["bounty"], e["args"]["reporter"])
        for e in slashed
    ] == [(bad.address, 50_000 * SEC, 10_000 * SEC, JUDGE.address)]
    assert staking.own_stake(bad.address).call() == 0
    wait_for(
        "the bounty claimed",
        lambda: (
            staking.claimable(JUDGE.address).call() == 0
            and suite.token.functions.balanceOf(JUDGE.address).call() != held
        ),
    )
    assert suite.token.functions.balanceOf(JUDGE.address).call() == held + 10_000 * SEC
