"""Credit proof bundles and `sec verify`: a bundle checks against the header anchored on
chain with two RPC calls; a tampered one is refused naming what failed; the gateway builds
bundles from the area's blocks."""

import copy
import json
import subprocess
import sys
import time
from dataclasses import replace

import httpx
import pytest
from fastapi.testclient import TestClient

from sec_offchain.gateway.app import GatewayContext, build_app
from sec_offchain.gateway.indexer import Indexer
from sec_offchain.gateway.proofs import (
    BundleError,
    build_credit_bundle,
    header_to_json,
    verify_credit_bundle,
    verify_record_bundle,
)
from sec_offchain.gateway.store import open_store
from tests.fixtures.gateway import CREDITS

PRODUCT = b"\x03" * 32


def sec(*args):
    return subprocess.run(
        [sys.executable, "-m", "sec_offchain.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def bundle(gateway_chain):
    return build_credit_bundle(CREDITS, gateway_chain.history.header, PRODUCT)


def check(chain, data):
    """verify_credit_bundle against the chain, counting the RPC reads it makes."""
    w3, hub = chain.anvil.w3, chain.suite.anchor_hub
    calls = []

    def chain_id():
        calls.append("chain_id")
        return int(w3.eth.chain_id)

    def anchored(area, height):
        calls.append("anchored")
        return bytes(hub.functions.anchored_hash(area, height).call())

    return verify_credit_bundle(data, chain_id, anchored, str(hub.address)), calls


def test_bundle__verifies_with_two_rpc_reads(gateway_chain, bundle):
    result, calls = check(gateway_chain, bundle)
    assert result == {
        "area_id": 1,
        "height": 1,
        "product_id": "0x" + PRODUCT.hex(),
        "credit": 12,
        "header_hash": gateway_chain.history.anchored_hash,
    }
    assert calls == ["chain_id", "anchored"]
    assert len(json.dumps(bundle)) < 2048


def tampered(bundle, change):
    data = copy.deepcopy(bundle)
    change(data)
    return data


def forged_root(bundle):
    """A header that commits to a forged table in which the product has credit 99."""
    forged = {**CREDITS, PRODUCT: 99}
    header = copy.deepcopy(bundle["header"])
    from sec_offchain.gateway.proofs import header_from_json

    h = header_from_json(header)
    from dataclasses import replace

    from sec_offchain.area.block import CREDIT_LEAF
    from sec_offchain.area.merkle import StandardMerkleTree

    root = StandardMerkleTree.of(sorted(forged.items()), CREDIT_LEAF).root
    return build_credit_bundle(forged, replace(h, credit_root=root), PRODUCT)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda d: d.update(credit=13),
            "credit proof: the product's credit and the proof do not lead to the header's "
            "credit_root",
        ),
        (
            lambda d: d.update(product_id="0x" + "01" * 32),
            "credit proof: the product's credit and the proof do not lead to the header's "
            "credit_root",
        ),
        (
            lambda d: d["proof"].__setitem__(0, "0x" + "ab" * 32),
            "credit proof: the product's credit and the proof do not lead to the header's "
            "credit_root",
        ),
        (
            lambda d: d["proof"].__setitem__(0, "0x12"),
            "proof[0]: not a 0x-prefixed 32-byte hex string",
        ),
        (lambda d: d.update(height=2), "area_id/height: do not match the header's"),
        (lambda d: d.update(kind="record"), 'not a credit proof bundle (kind must be "credit")'),
        (lambda d: d["header"].pop("tx_root"), "header: missing tx_root"),
        (lambda d: d.update(credit=True), "credit: not an int256"),
    ],
)
def test_bundle__tampered__refused_naming_what_failed(gateway_chain, bundle, change, reason):
    with pytest.raises(BundleError) as err:
        check(gateway_chain, tampered(bundle, change))
    assert str(err.value) == reason


def test_bundle__forged_table_with_its_own_root__header_not_the_anchored_one(gateway_chain, bundle):
    forged = forged_root(bundle)
    with pytest.raises(BundleError, match=r"^header: not the one anchored at area 1 height 1 "):
        check(gateway_chain, forged)
    later = tampered(bundle, lambda d: (d.update(height=2), d["header"].update(height=2)))
    with pytest.raises(BundleError) as err:
        check(gateway_chain, later)
    assert str(err.value) == "header: nothing is anchored at area 1 height 2"


def test_sec_verify__file__good_and_tampered(gateway_chain, bundle, tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(bundle))
    bad.write_text(json.dumps(tampered(bundle, lambda d: d.update(credit=13))))
    common = ["--rpc", gateway_chain.anvil.url, "--deployment", str(gateway_chain.deployment_path)]
    started = time.monotonic()
    ok = sec("verify", str(good), *common)
    took = time.monotonic() - started
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == (
        f"verified: product 0x{PRODUCT.hex()} has credit 12 in area 1 at anchored height 1 "
        f"(header {gateway_chain.history.anchored_hash})"
    )
    print(f"sec verify took {took:.2f} s including start-up")
    refused = sec("verify", str(bad), *common)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: refused: credit proof: the product's credit and the proof do not lead to the "
        "header's credit_root"
    )
    neither = sec("verify", str(good), "--rpc", gateway_chain.anvil.url)
    assert neither.returncode == 1
    assert "give --deployment FILE or --anchor-hub ADDRESS" in neither.stderr


def test_gateway_without_nodes__credit_is_a_404_and_verify_says_so(gateway, gateway_chain):
    url = f"{gateway.url}/v1/products/0x{PRODUCT.hex()}/credit?area=1"
    resp = httpx.get(url)
    assert resp.status_code == 404
    assert resp.json()["detail"] == "this gateway has no area nodes to read blocks from (--devnet)"
    out = sec(
        "verify",
        url,
        "--rpc",
        gateway_chain.anvil.url,
        "--anchor-hub",
        str(gateway_chain.suite.anchor_hub.address),
    )
    assert out.returncode == 1
    assert f"{url} answered 404" in out.stderr


def test_gateway_with_area_blocks__serves_a_bundle_that_verifies(gateway_chain, tmp_path):
    """The credit endpoint folds the area's blocks (from its nodes) into the credit table:
    here a block source that serves area 1's single block."""
    chain, h = gateway_chain, gateway_chain.history
    header, block = h.header, h.block
    store = open_store(str(tmp_path / "gw.db"))
    indexer = Indexer(chain.anvil.w3, chain.deployment, store)
    indexer.catch_up()
    ctx = GatewayContext(store, chain.anvil.w3, chain.deployment, indexer)
    ctx.blocks = lambda area, height: block if (area, height) == (1, 1) else None
    client = TestClient(build_app(ctx))
    resp = client.get(f"/v1/products/0x{PRODUCT.hex()}/credit", params={"area": 1})
    assert resp.status_code == 200, resp.text
    served = resp.json()
    assert served == build_credit_bundle(CREDITS, header, PRODUCT)
    assert served["header"] == header_to_json(header)
    assert check(chain, served)[0]["credit"] == 12
    missing = client.get(f"/v1/products/0x{'09' * 32}/credit", params={"area": 1})
    assert missing.status_code == 404
    assert missing.json()["detail"] == (
        f"product 0x{'09' * 32} has no credit in area 1 at height 1"
    )
    none = client.get(f"/v1/products/0x{PRODUCT.hex()}/credit", params={"area": 2})
    assert (none.status_code, none.json()["detail"]) == (404, "area 2 has no anchored header")

    # the trade record of the block, with its proof against the anchored tx_root
    resp = client.get(f"/v1/records/0x{h.record_id.hex()}/proof", params={"area": 1})
    assert resp.status_code == 200, resp.text
    record = resp.json()
    assert record["record"] == "0x" + block.records[0].encode().hex()
    escrow = chain.deployment.address_of("Escrow")
    w3, hub = chain.anvil.w3, chain.suite.anchor_hub
    proven = verify_record_bundle(
        record,
        lambda: int(w3.eth.chain_id),
        lambda a, ht: bytes(hub.functions.anchored_hash(a, ht).call()),
        str(hub.address),
        escrow,
    )
    assert (proven["record_id"], proven["order_id"], proven["header_hash"]) == (
        "0x" + h.record_id.hex(),
        h.completed,
        h.anchored_hash,
    )
    assert proven["ciphertext"] == "0x" + block.records[0].ciphertext.hex()
    original = block.records[0]
    other = replace(original, ciphertext=original.ciphertext[:-1] + b"\x00")
    forged = tampered(record, lambda d: d.update(record="0x" + other.encode().hex()))
    with pytest.raises(BundleError) as err:
        verify_record_bundle(
            forged,
            lambda: int(w3.eth.chain_id),
            lambda a, ht: bytes(hub.functions.anchored_hash(a, ht).call()),
            str(hub.address),
            escrow,
        )
    assert str(err.value) == (
        "record proof: the record and the proof do not lead to the header's tx_root"
    )
    unknown = client.get(f"/v1/records/0x{'77' * 32}/proof", params={"area": 1})
    assert (unknown.status_code, unknown.json()["detail"]) == (
        404,
        f"record 0x{'77' * 32} is in no anchored block of area 1 (up to height 1)",
    )
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    common = ["--rpc", chain.anvil.url]
    ok = sec("verify", str(path), *common, "--deployment", str(chain.deployment_path))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(
        f"verified: record 0x{h.record_id.hex()} (order {h.completed}) is in area 1 block 1 "
    )
    hub_only = sec("verify", str(path), *common, "--anchor-hub", str(hub.address))
    assert hub_only.returncode == 1
    assert "a record bundle needs --deployment FILE" in hub_only.stderr
    store.close()


def test_light_verifier__its_own_encodings__equal_the_area_chains(gateway_chain):
    """`proofs` spells out the leaf encodings and the header digest so that `sec verify`
    loads nothing heavy; they must be the area chain's and AnchorHub's."""
    from sec_offchain.area import block
    from sec_offchain.encoding.area_header import hash_area_header
    from sec_offchain.gateway import proofs

    assert (proofs.TX_LEAF, proofs.CREDIT_LEAF) == (block.TX_LEAF, block.CREDIT_LEAF)
    header, hub = gateway_chain.history.header, str(gateway_chain.suite.anchor_hub.address)
    assert proofs.header_digest(header, 31337, hub) == hash_area_header(header, 31337, hub)
    assert "0x" + proofs.header_digest(header, 31337, hub.lower()).hex() == (
        gateway_chain.history.anchored_hash
    )


def test_sec_verify__loads_no_heavy_library():
    """What keeps `sec verify` under a second: none of web3, eth-account, eth-abi, rlp,
    httpx or FastAPI is imported on its path."""
    code = (
        "import sys; from sec_offchain.cli import verify; from sec_offchain.gateway import "
        "proofs; from sec_offchain.area import records; "
        "print(sorted(m for m in ('web3', 'eth_account', 'eth_abi', 'rlp', 'httpx', 'fastapi',"
        " 'ecies') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
