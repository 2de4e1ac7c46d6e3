"""The gateway's area endpoints through a real `sec gateway up --devnet` (uvicorn on a free
port) and a real HTTP client, over the recorded history with a real area node: signed area
transactions and trade records checked and forwarded to the node (its answer returned), the
account -> area lookup by address hash and then by a published directory with its proof, BGC
messages sent but not delivered with their age, and /metrics with the relayer's queue,
failures and sponsored gas and the pending messages (in step with the example alert rules)."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import rlp
from coincurve import PrivateKey

from sec_offchain.area import net
from sec_offchain.area.block import Block
from sec_offchain.area.devnet_config import AreaEntry, DevnetConfig, NodeEntry
from sec_offchain.area.ledger import PAY, SHIP, AreaTx
from sec_offchain.area.records import make_record
from sec_offchain.areas.directory import AreaDirectory, verify_entry
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.devchain import get_free_port
from sec_offchain.gateway.areas import AreaNodes
from tests.fixtures.gateway import AREA_DEPOSIT, SEC, GatewayProcess

PROBLEM = "application/problem+json"
ROOT = Path(__file__).resolve().parents[2]
# by the address hash over areas (1, 2): an even address is in area 1, an odd one in area 2
AREA1_SELLER = get_dev_account(0)  # 0x...2266
AREA2_SELLER = get_dev_account(4)  # 0x...6A65
RELAY_USER = get_dev_account(13)


@pytest.fixture(scope="module")
def devnet(gateway_chain, tmp_path_factory):
    """A devnet file over the recorded chain: area 1 with one running node (0.5 s blocks),
    area 2 with a node that is down."""
    home = tmp_path_factory.mktemp("areas-devnet")
    d = gateway_chain.deployment
    nodes = [get_dev_account(i) for i in (10, 11)]
    cfg = DevnetConfig(
        chain_id=31337,
        rpc=gateway_chain.anvil.url,
        deployments=str(gateway_chain.deployment_path),
        anchor_hub=d.address_of("AnchorHub"),
        escrow=d.address_of("Escrow"),
        trust_index=d.address_of("TrustIndex"),
        home=home,
        interval=0.5,
        areas=tuple(
            AreaEntry(area, (NodeEntry(n.address, "0x" + bytes(n.key).hex(), get_free_port()),))
            for area, n in zip((1, 2), nodes, strict=True)
        ),
        relayer_key="0x" + bytes(get_dev_account(12).key).hex(),
    )
    cfg.save(home / "devnet.json")
    (home / "areas").mkdir()
    log = open(home / "node.log", "wb")  # noqa: SIM115 - open for the node's lifetime
    node = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sec_offchain.area.node",
            "--config",
            str(home / "devnet.json"),
            "--area",
            "1",
            "--index",
            "0",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield cfg
    finally:
        node.terminate()
        node.wait(10)
        log.close()


@pytest.fixture(scope="module")
def gw(gateway, gateway_chain, devnet, tmp_path_factory):
    """`sec gateway up --devnet` over the devnet (the session's plain `gateway` is asked for
    first so that no module fixture has to be rebuilt for the test that uses it)."""
    db = str(tmp_path_factory.mktemp("areas-gwdb") / "gateway.db")
    relayer = get_dev_account(14)  # beyond anvil's ten funded accounts: funded here
    gateway_chain.anvil.w3.provider.make_request(
        "anvil_setBalance", [relayer.address, hex(100 * 10**18)]
    )
    proc = GatewayProcess(
        gateway_chain.anvil.url,
        gateway_chain.deployment_path,
        db,
        "--devnet",
        str(devnet.home),
        "--relayer-key",
        "dev:14",
    )
    proc.wait_indexed(int(gateway_chain.anvil.w3.eth.block_number))
    try:
        with httpx.Client(base_url=proc.url, timeout=30) as client:
            yield client
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def area_nodes(devnet, gateway_chain):
    """The buyer's deposit into area 1 (in the recorded history), once the node has it."""
    nodes = AreaNodes(devnet, bytes(get_dev_account(12).key))
    me = bytes.fromhex(gateway_chain.history.buyer[2:])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        view = nodes.ledger(1, me)
        if view is not None and int(view["balance"]) == AREA_DEPOSIT:
            return nodes
        time.sleep(0.1)
    raise TimeoutError("the area node did not credit the deposit in 60 s")


def node_db(devnet, sql):
    """A read of area 1's node database (its pools), beside the running node."""
    import sqlite3

    with sqlite3.connect(devnet.home / "area1" / "node0" / "chain.db", timeout=10) as db:
        return db.execute(sql).fetchall()


def problem(resp, status, detail):
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == PROBLEM
    assert resp.json()["detail"] == detail
    return resp.json()


def area_tx(account, nonce, sep, kind=PAY, area=1, **fields):
    me = bytes.fromhex(account.address[2:])
    return AreaTx(kind, me, area, nonce, **fields).signed(bytes(account.key), sep)


def post_tx(gw, tx, area=1):
    return gw.post(f"/v1/areas/{area}/transactions", json={"tx": "0x" + tx.encode().hex()})


def record_of(seller, buyer, order_id, sep, area=1, writer=None):
    return make_record(
        writer_key=bytes((writer or seller).key),
        separator=sep,
        area_id=area,
        seller=bytes.fromhex(seller.address[2:]),
        buyer=bytes.fromhex(buyer.address[2:]),
        buyer_public_key=PrivateKey(bytes(buyer.key)).public_key.format(compressed=False),
        listing_id=1,
        order_id=order_id,
        status=3,
        credit_delta=1,
        details={"item": "lamp"},
    )


def post_record(gw, record, area=1):
    return gw.post(f"/v1/areas/{area}/records", json={"record": "0x" + record.encode().hex()})


# ── area transactions ───────────────────────────────────────────────────────────────────
def test_area_tx__withdrawal_from_the_deposit__accepted_then_a_duplicate(gw, area_nodes, devnet):
    buyer = get_dev_account(2)
    sep = devnet.record_separator
    tx = area_tx(buyer, 1, sep, dst_area=0, recipient=bytes.fromhex(buyer.address[2:]), amount=SEC)
    resp = post_tx(gw, tx)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "area_id": 1,
        "id": "0x" + tx.digest(sep).hex(),
        "result": "accepted",
        "kind": "pay",
    }
    assert post_tx(gw, tx).json()["result"] == "duplicate"
    # the node applies it in its next block: the balance falls by the amount
    me = bytes.fromhex(buyer.address[2:])
    deadline = time.monotonic() + 30
    while (view := area_nodes.ledger(1, me))["next_tx_nonce"] != 2:
        assert time.monotonic() < deadline, view
        time.sleep(0.1)
    assert view["balance"] == str(AREA_DEPOSIT - SEC)
    assert post_tx(gw, tx).json()["result"] == "duplicate"


def test_area_tx__bad_input__4xx_and_nothing_forwarded(gw, area_nodes, devnet, gateway_chain):
    buyer, other = get_dev_account(2), get_dev_account(3)
    sep = devnet.record_separator
    me = bytes.fromhex(buyer.address[2:])
    before = area_nodes.ledger(1, me)
    nxt = before["next_tx_nonce"]
    cases = [
        (
            gw.post("/v1/areas/1/transactions", json={"tx": "0x" + rlp.encode([1, 2]).hex()}),
            400,
            "not an RLP area transaction: 11 strings expected",
        ),
        (
            post_tx(gw, area_tx(buyer, nxt, sep, area=2, recipient=me, amount=1)),
            400,
            "the transaction is for area 2, not 1",
        ),
        (
            post_tx(gw, area_tx(buyer, nxt, sep, kind=9, recipient=me, amount=1)),
            400,
            "transaction kind 9 is not pay (1), ship (2) or confirm (3)",
        ),
        (
            post_tx(
                gw, AreaTx(PAY, me, 1, nxt, recipient=me, amount=1).signed(bytes(other.key), sep)
            ),
            400,
            "area transaction is not signed by its sender",
        ),
        (
            post_tx(gw, area_tx(buyer, nxt, sep, recipient=me, amount=AREA_DEPOSIT + 1)),
            422,
            f"{buyer.address} has {int(before['balance'])} in area 1, not {AREA_DEPOSIT + 1}",
        ),
        (
            post_tx(gw, area_tx(buyer, nxt, sep, kind=SHIP, ref_src=2, ref_nonce=1)),
            422,
            f"no payment 2:1 of {buyer.address} in area 1",
        ),
        (
            post_tx(gw, area_tx(buyer, 1, sep, area=7, recipient=me, amount=1), area=7),
            404,
            "area 7 is not one this gateway has nodes of",
        ),
        (
            post_tx(gw, area_tx(buyer, 1, sep, area=2, recipient=me, amount=1), area=2),
            502,
            "no node of area 2 answers",
        ),
        (
            gw.post("/v1/areas/1/transactions", json={"tx": "0xzz"}),
            422,
            "body.tx: String should match pattern '^0x([0-9a-fA-F]{2})+$'",
        ),
    ]
    for resp, status, detail in cases:
        problem(resp, status, detail)
    after = area_nodes.ledger(1, me)
    assert (after["next_tx_nonce"], after["balance"]) == (nxt, before["balance"])
    assert node_db(devnet, "SELECT COUNT(*) FROM txpool") == [(0,)]


# ── trade records ───────────────────────────────────────────────────────────────────────
def test_record__seller_signed__accepted_then_duplicate(gw, devnet, area_nodes):
    sep = devnet.record_separator
    record = record_of(AREA1_SELLER, get_dev_account(2), 9_001, sep)
    resp = post_record(gw, record)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "area_id": 1,
        "id": "0x" + record.digest(sep).hex(),
        "result": "accepted",
        "kind": "record",
    }
    assert post_record(gw, record).json()["result"] == "duplicate"


def test_record__refusals__reason_from_the_gateway_or_the_node(
    gw, devnet, gateway_chain, area_nodes
):
    sep = devnet.record_separator
    h = gateway_chain.history
    buyer, seller = get_dev_account(2), get_dev_account(1)  # seller: disabled by the ruling
    problem(
        post_record(gw, record_of(AREA2_SELLER, buyer, 9_002, sep)),
        400,
        f"seller {AREA2_SELLER.address} is in area 2, not 1",
    )
    problem(
        post_record(gw, record_of(AREA1_SELLER, buyer, 9_003, sep, writer=buyer)),
        400,
        "the record is signed by neither its seller nor an escrow bridge",
    )
    problem(
        post_record(gw, record_of(AREA1_SELLER, buyer, 9_004, sep, area=2), area=1),
        400,
        "the record is for area 2, not 1",
    )
    # order `completed` is on chain: its seller's area at the block it was paid; the node
    # reads TrustIndex and refuses the disabled seller
    problem(
        post_record(gw, record_of(seller, buyer, h.completed, sep)),
        422,
        "area 1 refused it: seller is disabled",
    )
    problem(
        gw.post("/v1/areas/1/records", json={"record": "0x" + rlp.encode([b"x"]).hex()}),
        400,
        "not an RLP trade record: 1 fields, not 9",
    )
    pooled = {o for (o,) in node_db(devnet, "SELECT order_id FROM pool")}
    assert pooled.isdisjoint({9_002, 9_003, 9_004, h.completed})


# ── pending BGC messages ────────────────────────────────────────────────────────────────
def test_pending_messages__the_withdrawal_waits__with_its_age_and_in_metrics(
    gw, area_nodes, devnet, gateway_chain
):
    buyer = get_dev_account(2)
    deadline = time.monotonic() + 30
    while True:
        before = time.time()
        body = gw.get("/v1/messages/pending").json()
        after = time.time()
        if body["items"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert body["unanswered_areas"] == [2]
    [m] = body["items"]
    assert {k: m[k] for k in ("src_area", "dst_area", "sender", "recipient", "amount")} == {
        "src_area": 1,
        "dst_area": 0,
        "sender": buyer.address,
        "recipient": buyer.address,
        "amount": str(SEC),
    }
    # the node's block at that height sent it; its header is not the anchored one
    raw = area_nodes.request(1, net.GET_BLOCKS, rlp.encode([m["height"], 1]), net.BLOCK)
    block = Block.decode(raw)
    assert [e.nonce for e in block.egress] == [m["nonce"]]
    assert (m["sent_at"], m["status"]) == (block.header.timestamp, "sent")
    assert int(before) - m["sent_at"] <= m["age"] <= int(after) - m["sent_at"]
    assert gw.get("/v1/messages/pending", params={"dst": 2}).json()["items"] == []
    assert (
        gw.get("/v1/messages/pending", params={"src": 1, "dst": 0}).json()["items"][0]["nonce"]
        == m["nonce"]
    )
    lines = set(gw.get("/metrics").text.splitlines())
    for line in (
        'sec_bgc_pending_messages{dst_area="0",src_area="1"} 1.0',
        'sec_area_nodes_answering{area="1"} 1.0',
        'sec_area_nodes_answering{area="2"} 0.0',
    ):
        assert line in lines, line


# ── the account -> area lookup ──────────────────────────────────────────────────────────
def publish(gateway_chain, directory):
    suite = gateway_chain.suite
    contract = suite.contract("AreaDirectory")
    fn = contract.functions.publish(
        directory.epoch, directory.root, len(directory), 2, directory.source_block
    )
    suite.tx(get_dev_account(0)).transact(fn)
    return int(gateway_chain.anvil.w3.eth.block_number)


def wait_indexed(gw, block):
    deadline = time.monotonic() + 30
    while gw.get("/v1/status").json()["indexed_block"] < block:
        assert time.monotonic() < deadline, f"block {block} not indexed in 30 s"
        time.sleep(0.05)


def test_lookup__address_hash__then_the_published_directory_with_its_proof(
    gw, devnet, gateway_chain
):
    w3 = gateway_chain.anvil.w3
    directory_c = gateway_chain.suite.contract("AreaDirectory")
    a2 = AREA2_SELLER.address
    body = gw.get(f"/v1/accounts/{a2.lower()}/area").json()
    assert body == {
        "account": a2,
        "area_id": 2,
        "rule": "address-hash",
        "epoch": None,
        "root": None,
        "proof": None,
        "block": body["block"],
        "areas": [1, 2],
    }
    assert gw.get(f"/v1/accounts/{AREA1_SELLER.address}/area").json()["area_id"] == 1
    # epoch 1 moves the area-2 seller to area 1; its file is in the devnet's directories
    one = AreaDirectory(1, {a2: 1, AREA1_SELLER.address: 2}, int(w3.eth.block_number) - 1)
    (devnet.home / "areas" / "epoch-1.json").write_text(json.dumps(one.dump()))
    wait_indexed(gw, publish(gateway_chain, one))
    body = gw.get(f"/v1/accounts/{a2}/area").json()
    proof = one.get_proof(a2)
    assert {k: body[k] for k in ("area_id", "rule", "epoch", "root", "proof")} == {
        "area_id": 1,
        "rule": "directory",
        "epoch": 1,
        "root": "0x" + one.root.hex(),
        "proof": ["0x" + p.hex() for p in proof.proof],
    }
    proof_bytes = [bytes.fromhex(p[2:]) for p in body["proof"]]
    assert verify_entry(one.root, a2, 1, proof_bytes)
    assert directory_c.functions.verify(1, a2, 1, proof_bytes).call() is True
    unlisted = gw.get(f"/v1/accounts/{get_dev_account(2).address}/area").json()
    assert (unlisted["rule"], unlisted["area_id"], unlisted["epoch"]) == ("address-hash", 1, 1)
    # a record of the moved seller now belongs to area 1
    sep = devnet.record_separator
    record = record_of(AREA2_SELLER, get_dev_account(2), 9_005, sep)
    assert post_record(gw, record).json()["result"] == "accepted"
    # epoch 2 published, its file not here yet: the lookup will not guess
    two = AreaDirectory(2, {a2: 2}, int(w3.eth.block_number) - 1)
    wait_indexed(gw, publish(gateway_chain, two))
    problem(
        gw.get(f"/v1/accounts/{a2}/area"),
        503,
        f"the directory of epoch 2 (root 0x{two.root.hex()}) is published but this gateway "
        "does not hold it (--directories)",
    )
    (devnet.home / "areas" / "epoch-2.json").write_text(json.dumps(two.dump()))
    body = gw.get(f"/v1/accounts/{a2}/area").json()
    assert (body["rule"], body["area_id"], body["epoch"]) == ("directory", 2, 2)
    problem(
        gw.get("/v1/accounts/0x12/area"),
        422,
        "path.address: String should match pattern '^0x[0-9a-fA-F]{40}$'",
    )


def test_lookup__gateway_without_areas__404(gateway):
    spec = httpx.get(f"{gateway.url}/openapi.json").json()["paths"]
    assert set(spec["/v1/areas/{area_id}/transactions"]) == {"post"}
    assert set(spec["/v1/areas/{area_id}/records"]) == {"post"}
    assert set(spec["/v1/accounts/{address}/area"]) == {"get"}
    assert set(spec["/v1/messages/pending"]) == {"get"}
    resp = httpx.get(f"{gateway.url}/v1/accounts/{AREA1_SELLER.address}/area")
    problem(resp, 404, "this gateway does not know the areas (give --devnet or --areas)")
    resp = httpx.post(f"{gateway.url}/v1/areas/1/transactions", json={"tx": "0x00"})
    problem(resp, 404, "this gateway has no area nodes (--devnet)")


# ── the relayer in /metrics, and the example alert rules ────────────────────────────────
def test_metrics__relayer_queue_failures_and_sponsored_gas(gw, gateway_chain):
    from sec_offchain.relay.build import build_request
    from sec_offchain.relay.requests import sign_request

    suite = gateway_chain.suite
    forwarder = suite.contract("Forwarder")
    w3 = gateway_chain.anvil.w3

    def relay(to, data):
        request = build_request(w3, forwarder, RELAY_USER.address, to, data, gas=300_000)
        sig = sign_request(bytes(RELAY_USER.key), request, 31337, str(forwarder.address))
        return gw.post(
            "/v1/relay", json={"request": request.to_json(), "signature": "0x" + sig.hex()}
        )

    listing = suite.escrow.functions.create_listing(
        10**17, "0x0000000000000000000000000000000000000000", 0, 0, b"\0" * 32
    )._encode_transaction_data()
    taken = relay(str(suite.escrow.address), bytes.fromhex(listing[2:]))
    assert taken.status_code == 202, taken.text
    transfer = suite.token.functions.transfer(RELAY_USER.address, 1)._encode_transaction_data()
    refused = relay(str(suite.token.address), bytes.fromhex(transfer[2:]))
    assert refused.status_code == 422
    deadline = time.monotonic() + 30
    while (fate := gw.get(f"/v1/relay/{taken.json()['hash']}").json())["status"] != "mined":
        assert time.monotonic() < deadline, fate
        time.sleep(0.1)
    lines = set(gw.get("/metrics").text.splitlines())
    for line in (
        'sec_relay_queue_requests{status="queued"} 0.0',
        'sec_relay_queue_requests{status="pending"} 0.0',
        'sec_relay_requests_failed_total{status="reverted"} 0.0',
        'sec_relay_requests_failed_total{status="dropped"} 0.0',
        "sec_relay_requests_mined_total 1.0",
        "sec_relay_requests_refused_total 1.0",
        f"sec_relay_sponsored_gas_total {float(fate['gas_used'])}",
    ):
        assert line in lines, line


def test_alert_rules__name_only_metrics_the_gateway_exposes(gw):
    exposed = set(re.findall(r"^# TYPE (\w+) (\w+)$", gw.get("/metrics").text, re.M))
    names = {n for n, _ in exposed} | {n + "_total" for n, t in exposed if t == "counter"}
    rules = (ROOT / "docs" / "alerts.example.yml").read_text()
    used = set(re.findall(r"\bsec_\w+", rules))
    assert used and used <= names, used - names


def test_gateway_up__bad_areas__one_line_and_nothing_started(gateway_chain):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sec_offchain.cli",
            "gateway",
            "up",
            "--rpc",
            gateway_chain.anvil.url,
            "--deployment",
            str(gateway_chain.deployment_path),
            "--port",
            "0",
            "--areas",
            "2,2",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    error = "error: --areas: '2,2': distinct area ids from 1 to 18446744073709551615"
    assert (out.returncode, out.stderr.strip(), out.stdout) == (1, error, "")
