"""Area chains: Merkle trees against @openzeppelin/merkle-tree, trade records (ECIES to the
buyer, EIP-712 signature), blocks, fork choice and the SQLite store."""

import json
import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from coincurve import PrivateKey
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from sec_offchain.area.block import (
    MESSAGE_LEAF,
    Block,
    Message,
    anchor_domain_separator,
    fast_header_digest,
)
from sec_offchain.area.chain import AreaChain, AreaConfig, BlockError, RoundRobin
from sec_offchain.area.merkle import (
    ZERO32,
    MerkleError,
    StandardMerkleTree,
    keccak,
    leaf_hash,
    node_hash,
    process_proof,
    verify,
)
from sec_offchain.area.records import (
    RecordError,
    TradeRecord,
    decrypt_details,
    domain_separator,
    make_record,
)
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.encoding.area_header import AreaHeader, hash_area_header

ROOT = Path(__file__).resolve().parents[2]
OZ = ROOT / "tests" / "fixtures" / "oz_merkle.cjs"
HUB = "0x" + "a1" * 20
ESCROW = "0x" + "e5" * 20
CHAIN_ID = 31337
CONFIG = AreaConfig(
    1, CHAIN_ID, anchor_domain_separator(CHAIN_ID, HUB), domain_separator(CHAIN_ID, ESCROW)
)
PRODUCERS = [get_dev_account(i) for i in (20, 21, 22)]
POLICY = RoundRobin(tuple(bytes.fromhex(k.address[2:]) for k in PRODUCERS), interval=1.0)
SELLER, BUYER, OTHER, BRIDGE = (get_dev_account(i) for i in (30, 31, 32, 33))


def addr(account) -> bytes:
    return bytes.fromhex(account.address[2:])


def pub(account) -> bytes:
    return PrivateKey(account.key).public_key.format(compressed=False)


def oz(request: dict) -> dict:
    node = shutil.which("node")
    assert node, "node is needed for the reference vectors (installed with npm by make setup)"
    out = subprocess.run(
        [node, str(OZ)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout)


def record(order_id=1, writer=SELLER, listing=7, status=3, credit=1, **kw):
    return make_record(
        writer_key=writer.key,
        separator=CONFIG.record_separator,
        area_id=kw.pop("area_id", 1),
        seller=kw.pop("seller", addr(SELLER)),
        buyer=kw.pop("buyer", addr(BUYER)),
        buyer_public_key=kw.pop("buyer_public_key", pub(BUYER)),
        listing_id=listing,
        order_id=order_id,
        status=status,
        credit_delta=credit,
        details={"listing_id": listing, "order_id": order_id, "price": "1000", **kw},
    )


@pytest.fixture
def area_chain(tmp_path):
    c = AreaChain(tmp_path / "area.db", replace(CONFIG, bridges=(addr(BRIDGE),)), POLICY)
    yield c
    c.close()


def produce(area_chain, height_ts, records=None, producer=None):
    height = area_chain.height + 1
    key = producer or PRODUCERS[height % len(PRODUCERS)]
    block = area_chain.build_block(key.key, addr(key), height_ts, records)
    return block


# ---------------------------------------------------------------------------- Merkle


VALUES = [
    [[str(i), "0x" + f"{i:040x}", "0x" + bytes([i]).hex() * 32] for i in range(1, n + 1)]
    for n in (1, 2, 3, 7, 16)
]


@pytest.mark.parametrize("values", VALUES, ids=lambda v: f"{len(v)}-leaves")
def test_merkle__root_and_proofs_equal_openzeppelin(values):
    types = ["uint256", "address", "bytes32"]
    ref = oz({"op": "build", "types": types, "values": values})
    py_values = [(int(a), b, bytes.fromhex(c[2:])) for a, b, c in values]
    tree = StandardMerkleTree.of(py_values, types)
    assert "0x" + tree.root.hex() == ref["root"]
    assert tree.dump()["tree"] == ref["dump"]["tree"]
    for i, proof in enumerate(ref["proofs"]):
        assert ["0x" + p.hex() for p in tree.proof(i)] == proof
        assert verify(tree.root, types, py_values[i], [bytes.fromhex(p[2:]) for p in proof])
    # and the other way: the package loads, validates and verifies the Python tree's dump
    back = oz(
        {
            "op": "verify",
            "dump": tree.dump(),
            "proofs": [
                {"value": values[i], "proof": ["0x" + p.hex() for p in tree.proof(i)]}
                for i in range(len(values))
            ],
        }
    )
    assert back["root"] == "0x" + tree.root.hex()
    assert all(back["ok"]) and all(back["static_ok"])
    assert StandardMerkleTree.load(ref["dump"]).root == tree.root


def test_merkle__message_leaf_equals_openzeppelin():
    m = Message(1, 2, 3, addr(BUYER), addr(SELLER), 10**18, b"\x07" * 32)
    values = [
        [
            str(x) if isinstance(x, int) else (x if isinstance(x, str) else "0x" + x.hex())
            for x in m.leaf_values()
        ]
    ]
    ref = oz({"op": "build", "types": list(MESSAGE_LEAF), "values": values})
    assert "0x" + StandardMerkleTree.of([m.leaf_values()], MESSAGE_LEAF).root.hex() == ref["root"]


def test_merkle__inner_node_presented_as_leaf__refused():
    """A 64-byte inner node (the two children of a node) hashed once is that node; as a
    leaf it is hashed twice, so the shorter proof from it does not reach the root."""
    types = ["uint256"]
    tree = StandardMerkleTree.of([(i,) for i in range(4)], types)
    left, right = tree.tree[3], tree.tree[4]
    inner = tree.tree[1]
    assert node_hash(left, right) == inner
    proof_from_inner = [tree.tree[2]]
    assert process_proof(inner, proof_from_inner) == tree.root  # the attack's premise
    fake_value = (int.from_bytes(min(left, right) + max(left, right), "big") >> 256,)
    assert not verify(
        tree.root, ["bytes32", "bytes32"], (min(left, right), max(left, right)), proof_from_inner
    )
    assert not verify(tree.root, types, fake_value, proof_from_inner)
    assert leaf_hash(["bytes32", "bytes32"], (min(left, right), max(left, right))) != inner


def test_merkle__zero_root_and_bad_proofs_prove_nothing():
    tree = StandardMerkleTree.of([(1,), (2,)], ["uint256"])
    assert not verify(ZERO32, ["uint256"], (1,), tree.proof(0))
    assert not verify(tree.root, ["uint256"], (1,), tree.proof(0) + [ZERO32])
    assert not verify(tree.root, ["uint256"], (1,), [])
    with pytest.raises(MerkleError):
        process_proof(tree.leaf(0), [b"\x01" * 31])
    with pytest.raises(MerkleError):
        StandardMerkleTree.of([], ["uint256"])


# ---------------------------------------------------------------------------- records


def test_record__eip712_digest_equals_eth_account():
    r = record(order_id=42, credit=0, status=6)
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "TradeRecord": [
                {"name": "area_id", "type": "uint256"},
                {"name": "seller", "type": "address"},
                {"name": "buyer", "type": "address"},
                {"name": "product_id", "type": "bytes32"},
                {"name": "order_id", "type": "uint256"},
                {"name": "status", "type": "uint8"},
                {"name": "credit_delta", "type": "int256"},
                {"name": "details_hash", "type": "bytes32"},
            ],
        },
        "primaryType": "TradeRecord",
        "domain": {
            "name": "SEC Area",
            "version": "1",
            "chainId": CHAIN_ID,
            "verifyingContract": ESCROW,
        },
        "message": {
            "area_id": 1,
            "seller": SELLER.address,
            "buyer": BUYER.address,
            "product_id": r.product_id,
            "order_id": 42,
            "status": 6,
            "credit_delta": 0,
            "details_hash": keccak(r.ciphertext),
        },
    }
    s = encode_typed_data(full_message=typed)
    assert r.digest(CONFIG.record_separator) == keccak(b"\x19" + s.version + s.header + s.body)
    assert r.signer(CONFIG.record_separator) == addr(SELLER)


def test_record__only_the_buyer_reads_the_details():
    r = record(order_id=5, note="blue, size M")
    assert decrypt_details(BUYER.key, r.ciphertext)["note"] == "blue, size M"
    with pytest.raises(RecordError):
        decrypt_details(OTHER.key, r.ciphertext)
    assert b"blue" not in r.encode()


def test_record__tampered_fields_or_ciphertext__refused(area_chain):
    r = record()
    r.digest(CONFIG.record_separator)  # a cached digest must not follow a changed copy
    for bad in (
        replace(r, order_id=2),
        replace(r, buyer=addr(OTHER)),
        replace(r, ciphertext=r.ciphertext[:-1] + bytes([r.ciphertext[-1] ^ 1])),
        replace(r, product_id=b"\x01" * 32),
    ):
        with pytest.raises(RecordError, match="neither its seller nor an escrow bridge"):
            area_chain.add_record(bad)
    with pytest.raises(RecordError, match="high s"):
        n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
        s = int.from_bytes(r.signature[32:64], "big")
        flipped = r.signature[:32] + (n - s).to_bytes(32, "big") + bytes([55 - r.signature[64]])
        area_chain.add_record(replace(r, signature=flipped))
    assert area_chain.pool_size() == 0
    assert area_chain.add_record(r) is True


def test_record__wrong_signer_and_malformed__refused(area_chain):
    with pytest.raises(RecordError, match="neither its seller"):
        area_chain.add_record(record(writer=OTHER))
    with pytest.raises(RecordError, match="public key is not the buyer"):
        record(buyer_public_key=pub(OTHER))
    with pytest.raises(RecordError, match="completed trade adds 1"):
        record(credit=0)
    with pytest.raises(RecordError, match="status"):
        record(status=1)
    with pytest.raises(RecordError, match="area 2"):
        area_chain.add_record(record(area_id=2))
    assert area_chain.add_record(record(writer=BRIDGE)) is True  # a bridge key may write


def test_record__disabled_seller_or_buyer__refused(tmp_path):
    disabled = {addr(SELLER)}
    c = AreaChain(tmp_path / "d.db", CONFIG, POLICY, is_disabled=lambda a: a in disabled)
    with pytest.raises(RecordError, match="seller is disabled"):
        c.add_record(record())
    disabled.clear()
    disabled.add(addr(BUYER))
    with pytest.raises(RecordError, match="buyer is disabled"):
        c.add_record(record())
    assert c.pool_size() == 0
    c.close()


def test_record__duplicate_is_harmless_and_primary_bridge_wins(tmp_path):
    primary, standby = get_dev_account(34), get_dev_account(35)
    c = AreaChain(
        tmp_path / "b.db", replace(CONFIG, bridges=(addr(primary), addr(standby))), POLICY
    )
    by_standby = record(order_id=9, writer=standby)
    by_primary = record(order_id=9, writer=primary)
    assert c.add_record(by_standby) is True
    assert c.add_record(by_standby) is False
    assert c.add_record(by_primary) is True  # replaces the standby's
    assert c.add_record(by_standby) is False
    (pooled,) = c.pool()
    assert pooled.signer(CONFIG.record_separator) == addr(primary)
    c.close()


# ---------------------------------------------------------------------------- blocks


@settings(max_examples=30, deadline=None)
@given(
    area=st.integers(0, 2**64),
    height=st.integers(0, 2**64),
    ts=st.integers(0, 2**40),
    roots=st.lists(st.binary(min_size=32, max_size=32), min_size=4, max_size=4),
)
def test_fast_header_digest__equals_eth_account(area, height, ts, roots):
    h = AreaHeader(area, height, *roots, ts)
    assert fast_header_digest(h, CONFIG.separator) == hash_area_header(h, CHAIN_ID, HUB)


def test_block__roots_credits_and_restart(area_chain, tmp_path):
    for o in range(1, 4):
        area_chain.add_record(record(order_id=o, listing=7 if o < 3 else 8))
    now = int(time.time())
    b1 = produce(area_chain, now - 20)
    assert area_chain.add_block(b1) is True and area_chain.add_block(b1) is False
    assert area_chain.height == 1 and area_chain.pool_size() == 0
    assert dict(b1.credits) == {(7).to_bytes(32, "big"): 2, (8).to_bytes(32, "big"): 1}
    area_chain.add_record(record(order_id=4, listing=7, status=6, credit=-1))
    b2 = produce(area_chain, now - 19)
    area_chain.add_block(b2)
    assert dict(b2.credits) == {(7).to_bytes(32, "big"): 1}  # the tail entry is the new total
    assert Block.decode(b2.encode()) == b2
    area_chain.close()
    again = AreaChain(tmp_path / "area.db", replace(CONFIG, bridges=(addr(BRIDGE),)), POLICY)
    assert again.height == 2 and again.tip == b2.block_id(CONFIG.separator)
    assert again.credits == {(7).to_bytes(32, "big"): 1, (8).to_bytes(32, "big"): 1}
    assert [h for h, _ in again.records_of_buyer(addr(BUYER))] == [1, 1, 1, 2]
    again.close()


def test_block__invalid_blocks_refused(area_chain):
    area_chain.add_record(record(order_id=1))
    now = int(time.time())
    good = produce(area_chain, now - 10)
    wrong_producer = produce(area_chain, now - 10, producer=PRODUCERS[2])
    with pytest.raises(BlockError, match="not by a producer due"):
        area_chain.add_block(wrong_producer)
    forged = replace(good, header=replace(good.header, tx_root=b"\x01" * 32))
    with pytest.raises(BlockError, match="producer"):
        area_chain.add_block(forged)
    resealed = forged.sealed(PRODUCERS[1].key)
    with pytest.raises(BlockError, match="tx_root"):
        area_chain.add_block(resealed)
    bad_credit = replace(good, credits=((b"\x00" * 31 + b"\x07", 5),)).sealed(PRODUCERS[1].key)
    with pytest.raises(BlockError, match="tail credit"):
        area_chain.add_block(bad_credit)
    future = produce(area_chain, now + 60)
    with pytest.raises(BlockError, match="future"):
        area_chain.add_block(future)
    assert area_chain.height == 0
    area_chain.add_block(good)
    # a second record of an already recorded order, in a new block
    dup = area_chain.build_block(
        PRODUCERS[2].key, addr(PRODUCERS[2]), now - 9, [record(order_id=1)]
    )
    with pytest.raises(BlockError, match="already recorded"):
        area_chain.add_block(dup)


def test_block__longer_fork_wins_and_orphaned_records_return(area_chain, tmp_path, monkeypatch):
    now = int(time.time())
    area_chain.add_record(record(order_id=1))
    a1 = produce(area_chain, now - 30)
    area_chain.add_block(a1)
    # two competing blocks at height 2: the due producer's, and a stand-in's much later
    area_chain.add_record(record(order_id=2))
    a2 = produce(area_chain, now - 29)
    standin = PRODUCERS[0]  # rank 1 at height 2
    b2 = area_chain.build_block(standin.key, addr(standin), now - 26, [record(order_id=3)])
    area_chain.add_block(a2)
    assert area_chain.add_block(b2) is True  # stored, not canonical (same height, seen later)
    assert area_chain.tip == a2.block_id(CONFIG.separator)
    # b3 on b2 makes that fork longer: a2's record 2 returns to the pool, 3 is included
    fork_tip = b2.block_id(CONFIG.separator)
    saved = list(area_chain.canonical)
    area_chain.canonical = saved[:1] + [fork_tip]
    b3 = area_chain.build_block(PRODUCERS[0].key, addr(PRODUCERS[0]), now - 25, [])
    area_chain.canonical = saved
    assert area_chain.add_block(b3) is True
    assert area_chain.height == 3 and area_chain.canonical[1] == fork_tip
    assert [r.order_id for r in area_chain.pool()] == [2]
    assert area_chain.final_height == 1
    # restarted: the same state, the orphaned block among the headers, each stored block
    # decoded once (a restarted node's start-up grew with its chain: three decodes a block)
    decoded = []
    real = Block.decode.__func__
    monkeypatch.setattr(Block, "decode", classmethod(lambda c, d: decoded.append(d) or real(c, d)))
    again = AreaChain(tmp_path / "area.db", area_chain.config, POLICY)
    assert len(decoded) == len(set(decoded)) == 4
    assert again.headers == area_chain.headers and len(again.headers) == 4
    assert again.canonical == area_chain.canonical and again.final_height == 1
    assert again.credits == area_chain.credits and again.ledger == area_chain.ledger
    again.close()


@settings(max_examples=60, deadline=None)
@given(items=st.lists(st.binary(max_size=300), max_size=12))
def test_fastrlp__equals_the_rlp_package_and_decodes_back(items):
    import rlp

    from sec_offchain.area.fastrlp import decode_flat_list, encode_item, encode_list

    encoded = encode_list([encode_item(b) for b in items])
    assert encoded == rlp.encode(items)
    assert decode_flat_list(encoded) == items
    with pytest.raises(ValueError):
        decode_flat_list(encoded + b"\x00")


def test_record__non_canonical_or_truncated_rlp__refused():
    good = record().encode()
    for bad in (good[:-1], good + b"\x80", b"\xc0", b"\x80" + good, good[:1] + b"\x00" + good[1:]):
        with pytest.raises(RecordError, match="not an RLP trade record"):
            TradeRecord.decode(bad)


def test_add_records__batch_equals_one_by_one(tmp_path):
    primary = get_dev_account(34)
    cfg = replace(CONFIG, bridges=(addr(primary),))
    batch = [
        record(order_id=1),
        record(order_id=2, writer=primary),
        record(order_id=2),
        record(order_id=1),
        record(writer=OTHER, order_id=3),
        record(order_id=4),
    ]
    one = AreaChain(tmp_path / "one.db", cfg, POLICY)
    expected = []
    for r in batch:
        try:
            expected.append(one.add_record(r))
        except RecordError as exc:
            expected.append(str(exc))
    many = AreaChain(tmp_path / "many.db", cfg, POLICY)
    got = many.add_records(batch)
    assert [isinstance(x, str) for x in got] == [isinstance(x, str) for x in expected]
    assert [x for x in got if not isinstance(x, str)] == [
        x for x in expected if not isinstance(x, str)
    ]
    assert [r.encode() for r in one.pool()] == [r.encode() for r in many.pool()]
    assert many.add_records(batch[:2]) == [False, False]
    one.close()
    many.close()


def test_block_encoding__equals_the_generic_rlp_encoder(area_chain):
    import rlp

    from sec_offchain.area.block import _BlockSedes

    for o in range(1, 4):
        area_chain.add_record(record(order_id=o))
    block = produce(area_chain, int(time.time()) - 5)
    generic = rlp.encode(rlp.decode(block.encode(), _BlockSedes))
    assert block.encode() == generic
    assert Block.decode(generic) == block
