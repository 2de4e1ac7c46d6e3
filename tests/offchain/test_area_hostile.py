"""Hostile input to an area chain and node, built by hand: blocks given straight to `add_block`
that replay or skip an area transaction, reuse the parent's timestamp, carry a self-trade, a
fake deposit or a tampered egress; records with a tampered ciphertext or signature; forged
attestations; a Merkle dump with a wrong inner node. Each is refused with its reason, and the
node's state is what it was (and it still takes the next valid block)."""

import asyncio
import json
import struct
import time
from dataclasses import replace

import pytest
import rlp

from sec_offchain.area.block import (
    Block,
    FullHeader,
    Message,
    body_digests,
    credit_root,
    egress_root,
    tx_root,
)
from sec_offchain.area.chain import AreaChain, BlockError
from sec_offchain.area.ledger import (
    CONFIRM,
    PAY,
    SHIP,
    AreaTx,
    Deposit,
    Ingress,
    Ledger,
    LedgerError,
    purchase_payload,
)
from sec_offchain.area.merkle import ZERO32, MerkleError, StandardMerkleTree, process_proof
from sec_offchain.area.net import (
    ATTEST,
    BLOCK,
    GET_BLOCKS,
    HELLO,
    MAX_FRAME,
    RECORD,
    TX,
    Connection,
    Hello,
    MemoryTransport,
    ProtocolError,
    handshake,
)
from sec_offchain.area.node import AreaNode
from sec_offchain.area.records import (
    RecordError,
    TradeRecord,
    check_well_formed,
    product_id_of,
)
from sec_offchain.consensus.signer import ValidatorSigner
from sec_offchain.crypto.hashing import keccak
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.encoding.area_header import sign_digest
from tests.offchain.test_area_chain import (
    BRIDGE,
    BUYER,
    CONFIG,
    OTHER,
    POLICY,
    PRODUCERS,
    SELLER,
    addr,
    record,
)

STANDBY = get_dev_account(34)
SEP = CONFIG.record_separator
T0 = 1_700_000_000  # block times: far in the past, so no block is "in the future"
DEPOSIT = Deposit(b"\xd1" * 32, 0, addr(BUYER), 1000)
DELIVERED = Ingress(2, 1, addr(SELLER), addr(BUYER), 50, ZERO32)


class Events:
    """A main chain with one deposit of 1000 to the buyer and one plain 50 transfer in."""

    def __init__(self, deposits=(DEPOSIT,), ingress=()):
        self._deposits = list(deposits)
        self._ingress = list(ingress)

    def deposit(self, tx_hash, log_index):
        for d in self._deposits:
            if (d.tx_hash, d.log_index) == (tx_hash, log_index):
                return (1, d.account, d.amount)
        return None

    def delivered(self, src, dst, nonce):
        for i in self._ingress:
            if (i.src_area, dst, i.nonce) == (src, 1, nonce):
                return (i.sender, i.recipient, i.amount, i.payload_hash)
        return None

    def deposits_for(self, area_id):
        return list(self._deposits)

    def ingress_for(self, area_id):
        return list(self._ingress)


def pay(nonce, amount=400, key=BUYER, sender=None, area=1, dst=2, listing=7):
    return AreaTx(
        PAY, sender or addr(BUYER), area, nonce, dst, addr(SELLER), amount, listing
    ).signed(key.key, SEP)


def hand_block(
    chain,
    ts,
    *,
    parent=None,
    records=(),
    txs=(),
    deposits=(),
    ingress=(),
    egress=(),
    credits=None,
    table=None,
    area=1,
    key=None,
):
    """A sealed block on `parent` (the tip) with exactly the given body, its roots computed
    from that body: only the rule under test is broken."""
    parent = chain.tip if parent is None else parent
    height = chain.headers[parent].height + 1 if parent != ZERO32 else 1
    base, _ = chain._state_at(chain._branch(parent))
    touched = {}
    for r in records:
        touched[r.product_id] = touched.get(r.product_id, base.get(r.product_id, 0)) + 1
    credits = tuple(sorted(touched.items())) if credits is None else credits
    table = {**base, **dict(credits)} if table is None else table
    body = Block(
        FullHeader(1, 0, ZERO32, ZERO32, ZERO32, ZERO32, 0),
        (),
        tuple(egress),
        tuple(ingress),
        tuple(deposits),
        tuple(txs),
    )
    ids = [r.digest(SEP) for r in records]
    producer = PRODUCERS[height % len(PRODUCERS)]
    header = FullHeader(
        area,
        height,
        parent,
        tx_root(ids, body_digests(body, SEP)),
        credit_root(table),
        egress_root(egress),
        ts,
        producer=addr(producer),
    )
    block = Block(header, tuple(records), *body_tail(body), credits=credits)
    return block.sealed((key or producer).key)


def body_tail(body):
    return body.egress, body.ingress, body.deposits, body.txs


def snapshot(chain):
    led = chain.ledger
    return (
        chain.height,
        chain.tip,
        dict(led.balances),
        dict(led.tx_nonces),
        dict(led.egress_nonces),
        set(led.deposits),
        set(led.ingress),
        dict(chain.credits),
        chain.pool_size(),
        [t.nonce for t in chain.tx_pool()],
    )


@pytest.fixture
def funded(tmp_path):
    """Height 2: block 1 credits the buyer's 1000 deposit, block 2 pays 400 to area 2."""
    c = AreaChain(
        tmp_path / "area.db",
        replace(CONFIG, bridges=(addr(BRIDGE), addr(STANDBY))),
        POLICY,
        events=Events(ingress=(DELIVERED,)),
    )
    c.events._ingress = []  # the transfer in is delivered later, by the test that uses it
    b1 = c.build_block(PRODUCERS[1].key, addr(PRODUCERS[1]), T0 + 1)
    assert c.add_block(b1) is True
    c.events._deposits = []
    assert c.add_tx(pay(1)) is True
    b2 = c.build_block(PRODUCERS[2].key, addr(PRODUCERS[2]), T0 + 2)
    assert c.add_block(b2) is True
    assert c.ledger.balances == {addr(BUYER): 600}
    assert b2.egress == (Message(1, 2, 1, addr(BUYER), addr(SELLER), 400, purchase_payload(7)),)
    c.events._deposits = [DEPOSIT]  # still on the main chain: a replay must be refused
    yield c, b1, b2
    c.close()


def refused(chain, block, reason):
    before = snapshot(chain)
    with pytest.raises(BlockError) as exc:
        chain.add_block(block)
    assert str(exc.value) == reason
    assert snapshot(chain) == before
    assert block.block_id(CONFIG.separator) not in chain.headers
    assert chain.block(block.block_id(CONFIG.separator)) is None


def still_healthy(chain, ts):
    """The next valid block is taken after a refusal."""
    height = chain.height
    chain.events._deposits = []
    good = hand_block(chain, ts)
    assert chain.add_block(good) is True
    assert chain.height == height + 1 and chain.tip == good.block_id(CONFIG.separator)


# ---------------------------------------------------------------------------- blocks


def test_add_block__replays_an_applied_area_tx__refused_state_unchanged(funded):
    chain, _, b2 = funded
    replay = hand_block(chain, T0 + 3, txs=b2.txs, egress=b2.egress)
    refused(chain, replay, "ledger: transaction nonce 1 is not the next one")
    still_healthy(chain, T0 + 3)
    assert chain.ledger.balances == {addr(BUYER): 600} and chain.ledger.tx_nonces == {
        addr(BUYER): 1
    }


def test_add_block__skips_a_nonce__refused(funded):
    chain, _, _ = funded
    msg = Message(1, 2, 2, addr(BUYER), addr(SELLER), 100, purchase_payload(7))
    skip = hand_block(chain, T0 + 3, txs=(pay(3, 100),), egress=(msg,))
    refused(chain, skip, "ledger: transaction nonce 3 is not the next one")
    ok = hand_block(chain, T0 + 3, txs=(pay(2, 100),), egress=(msg,))
    assert chain.add_block(ok) is True
    assert chain.ledger.balances == {addr(BUYER): 500}
    assert chain.ledger.egress_nonces == {2: 2}


def test_add_block__tx_signed_by_another_key__refused(funded):
    chain, _, _ = funded
    msg = Message(1, 2, 2, addr(BUYER), addr(SELLER), 100, purchase_payload(7))
    forged = hand_block(chain, T0 + 3, txs=(pay(2, 100, key=OTHER),), egress=(msg,))
    refused(chain, forged, "ledger: area transaction is not signed by its sender")
    still_healthy(chain, T0 + 3)


def test_add_block__egress_not_from_its_txs__refused(funded):
    chain, _, _ = funded
    wrong = Message(1, 2, 2, addr(BUYER), addr(SELLER), 101, purchase_payload(7))
    block = hand_block(chain, T0 + 3, txs=(pay(2, 100),), egress=(wrong,))
    refused(chain, block, "egress messages do not follow from the block's transactions")


def test_add_block__reuses_the_parents_timestamp__refused(funded):
    chain, _, b2 = funded
    same = hand_block(chain, b2.header.timestamp)
    refused(chain, same, "timestamp is not after the parent's")
    assert chain.add_block(hand_block(chain, b2.header.timestamp + 1)) is True


def test_add_block__timestamp_at_and_past_the_drift_allowance(funded):
    chain, _, _ = funded
    now = T0 + 100
    late = hand_block(chain, now + 6)  # 5 s of drift allowed
    before = snapshot(chain)
    with pytest.raises(BlockError, match="^timestamp is in the future$"):
        chain.add_block(late, now=now)
    assert snapshot(chain) == before
    assert chain.add_block(hand_block(chain, now + 5), now=now) is True


def test_add_block__other_area_or_foreign_seal__refused(funded):
    chain, _, _ = funded
    refused(chain, hand_block(chain, T0 + 3, area=2), "block is for another area")
    refused(
        chain,
        hand_block(chain, T0 + 3, key=OTHER),
        "block is not by a producer due at this height",
    )
    still_healthy(chain, T0 + 3)


def test_add_block__deposit_replayed_or_not_on_the_main_chain__refused(funded):
    chain, b1, _ = funded
    refused(
        chain, hand_block(chain, T0 + 3, deposits=b1.deposits), "ledger: deposit already credited"
    )
    fake = Deposit(b"\xd2" * 32, 0, addr(OTHER), 5000)
    refused(
        chain,
        hand_block(chain, T0 + 3, deposits=(fake,)),
        "ledger: no such deposit to this area on the main chain",
    )
    still_healthy(chain, T0 + 3)
    assert addr(OTHER) not in chain.ledger.balances


def test_add_block__ingress_must_match_the_delivered_message(funded):
    chain, _, _ = funded
    chain.events._ingress = [DELIVERED]
    refused(
        chain,
        hand_block(chain, T0 + 3, ingress=(replace(DELIVERED, amount=60),)),
        "ledger: ingress entry does not match the delivered message",
    )
    refused(
        chain,
        hand_block(chain, T0 + 3, ingress=(replace(DELIVERED, nonce=2),)),
        "ledger: message not delivered to this area on the main chain",
    )
    assert chain.add_block(hand_block(chain, T0 + 3, ingress=(DELIVERED,))) is True
    assert chain.ledger.balances == {addr(BUYER): 650}
    refused(
        chain,
        hand_block(chain, T0 + 4, ingress=(DELIVERED,)),
        "ledger: message already consumed",
    )


def self_trade(order_id):
    r = TradeRecord(1, addr(SELLER), addr(SELLER), product_id_of(7), order_id, 3, 1, b"x" * 40)
    return r.signed(SELLER.key, SEP)


def test_add_block__self_trade_record__refused(funded):
    chain, _, _ = funded
    block = hand_block(chain, T0 + 3, records=(self_trade(9),))
    refused(chain, block, "invalid record for order 9: seller and buyer are the same account")
    still_healthy(chain, T0 + 3)
    assert chain.credits == {}


def test_add_block__one_order_twice_or_another_areas_record__refused(funded):
    chain, _, _ = funded
    twice = (record(order_id=5), record(order_id=5, writer=BRIDGE))
    refused(chain, hand_block(chain, T0 + 3, records=twice), "order 5 recorded twice")
    other = TradeRecord(2, addr(SELLER), addr(BUYER), product_id_of(7), 6, 3, 1, b"x" * 40)
    refused(
        chain,
        hand_block(chain, T0 + 3, records=(other.signed(SELLER.key, SEP),)),
        "invalid record for order 6: record is for area 2, not 1",
    )


def test_add_block__credit_root_of_another_table__refused(funded):
    chain, _, _ = funded
    r = record(order_id=3)
    lie = hand_block(chain, T0 + 3, records=(r,), table={r.product_id: 2})
    refused(chain, lie, "credit_root does not match the credit table")
    assert chain.add_block(hand_block(chain, T0 + 3, records=(r,))) is True
    assert chain.credits == {r.product_id: 1}


# ---------------------------------------------------------------------------- txs


def test_add_tx__applied_nonce_replay_other_area_and_forgery(funded):
    chain, _, _ = funded
    assert chain.add_tx(pay(1)) is False  # applied in block 2
    assert chain.tx_pool() == []
    with pytest.raises(LedgerError, match="^transaction is for area 2$"):
        chain.add_tx(pay(2, area=2))
    with pytest.raises(LedgerError, match="^area transaction is not signed by its sender$"):
        chain.add_tx(pay(2, key=OTHER))
    assert chain.tx_pool() == []
    assert chain.add_tx(pay(2, 600)) is True and chain.add_tx(pay(2, 600)) is False
    assert [t.nonce for t in chain.tx_pool()] == [2]


# ---------------------------------------------------------------------------- ledger


def ledger_with(balance=1000):
    led = Ledger(1)
    led.apply_deposit(Deposit(b"\x01" * 32, 0, addr(BUYER), balance), None)
    return led


def test_ledger__payment_bounds_and_egress_nonces():
    led = ledger_with(1000)
    with pytest.raises(LedgerError, match="^balance too low$"):
        led.apply_tx(pay(1, 0))
    with pytest.raises(LedgerError, match="^a payment goes to another area$"):
        led.apply_tx(pay(1, 10, dst=1))
    with pytest.raises(LedgerError, match="^a withdrawal to the main chain pays no listing$"):
        led.apply_tx(pay(1, 10, dst=0))
    with pytest.raises(LedgerError, match="^balance too low$"):
        led.apply_tx(pay(1, 1001))
    msg, product = led.apply_tx(pay(1, 600, dst=2))
    assert msg == (1, 2, 1, addr(BUYER), addr(SELLER), 600, purchase_payload(7))
    assert product is None
    assert led.apply_tx(pay(2, 300, dst=3))[0][2] == 1
    assert led.apply_tx(pay(3, 100, dst=2, listing=0))[0] == (
        1, 2, 2, addr(BUYER), addr(SELLER), 100, ZERO32,
    )  # fmt: skip
    assert led.balances == {addr(BUYER): 0}  # the whole balance can be paid
    with pytest.raises(LedgerError, match="^balance too low$"):
        led.apply_tx(pay(4, 1))
    with pytest.raises(LedgerError, match="^transaction nonce 3 is not the next one$"):
        led.apply_tx(pay(3, 1))
    with pytest.raises(LedgerError, match="^deposit already credited$"):
        led.apply_deposit(Deposit(b"\x01" * 32, 0, addr(BUYER), 1000), None)
    assert led.egress_nonces == {2: 2, 3: 1} and led.tx_nonces == {addr(BUYER): 3}


def test_ledger__egress_message_above_the_outflow_floor__refused_so_no_channel_blocks():
    """A message larger than BorderGateway's outflow floor could wait behind the outflow
    limit until the area held five times it, and every later message of its channel with
    it: the ledger lets no such message out; exactly the floor passes."""
    led = Ledger(1, max_egress=500)
    led.apply_deposit(Deposit(b"\x01" * 32, 0, addr(BUYER), 1000), None)
    with pytest.raises(
        LedgerError,
        match=r"^a payment leaves an area in messages of at most 500 wei "
        r"\(the BorderGateway outflow floor\); split it$",
    ):
        led.apply_tx(pay(1, 501))
    assert led.balances == {addr(BUYER): 1000} and led.egress_nonces == {}
    assert led.apply_tx(pay(1, 500))[0][5] == 500
    assert led.apply_tx(pay(2, 500))[0][2] == 2
    assert led.balances == {addr(BUYER): 0}
    assert Ledger(1).max_egress == 1_000 * 10**18  # the default deployment's floor


def test_ledger__withdrawal_to_main_chain__own_channel_no_listing_needs_recipient():
    led = ledger_with(1000)
    nobody = AreaTx(PAY, addr(BUYER), 1, 1, 0, b"\0" * 20, 10, 0).signed(BUYER.key, SEP)
    with pytest.raises(LedgerError, match="^a withdrawal needs a recipient$"):
        led.apply_tx(nobody)
    assert led.apply_tx(pay(1, 250, dst=0, listing=0)) == (
        (1, 0, 1, addr(BUYER), addr(SELLER), 250, ZERO32),
        None,
    )
    assert led.apply_tx(pay(2, 750, dst=0, listing=0))[0][2] == 2  # area 0's own nonces
    with pytest.raises(LedgerError, match="^balance too low$"):
        led.apply_tx(pay(3, 1, dst=0, listing=0))
    assert led.balances == {addr(BUYER): 0} and led.egress_nonces == {0: 2}


def test_ledger__cross_area_purchase_only_the_right_parties_move_it():
    led = Ledger(2)
    led.apply_ingress(Ingress(1, 4, addr(BUYER), addr(SELLER), 700, purchase_payload(9)), None)
    assert led.balances == {}
    ref = {"ref_src": 1, "ref_nonce": 4}
    ship_by_buyer = AreaTx(SHIP, addr(BUYER), 2, 1, **ref).signed(BUYER.key, SEP)
    with pytest.raises(LedgerError, match="^only the seller ships a paid order$"):
        led.apply_tx(ship_by_buyer)
    assert led.apply_tx(AreaTx(SHIP, addr(SELLER), 2, 1, **ref)) == (None, None)
    with pytest.raises(LedgerError, match="^only the seller ships a paid order$"):
        led.apply_tx(AreaTx(SHIP, addr(SELLER), 2, 2, **ref))
    with pytest.raises(LedgerError, match="^only the buyer confirms an open order$"):
        led.apply_tx(AreaTx(CONFIRM, addr(SELLER), 2, 2, **ref))
    out = led.apply_tx(AreaTx(CONFIRM, addr(BUYER), 2, 1, **ref))
    assert out == (None, product_id_of(9))
    assert led.balances == {addr(SELLER): 700}
    assert led.payments[(1, 4)]["status"] == "completed"
    with pytest.raises(LedgerError, match="^only the buyer confirms an open order$"):
        led.apply_tx(AreaTx(CONFIRM, addr(BUYER), 2, 2, **ref))
    with pytest.raises(LedgerError, match="^no such payment in this area$"):
        led.apply_tx(AreaTx(CONFIRM, addr(BUYER), 2, 2, ref_src=1, ref_nonce=5))
    with pytest.raises(LedgerError, match="^message already consumed$"):
        led.apply_ingress(Ingress(1, 4, addr(BUYER), addr(SELLER), 700, purchase_payload(9)), None)
    led.apply_ingress(Ingress(1, 5, addr(BUYER), addr(OTHER), 30, ZERO32), None)
    assert led.balances == {addr(SELLER): 700, addr(OTHER): 30}
    assert led.balances.get(addr(BUYER), 0) == 0


# ---------------------------------------------------------------------------- records


def bare(**kw):
    fields = dict(
        area_id=1,
        seller=addr(SELLER),
        buyer=addr(BUYER),
        product_id=product_id_of(7),
        order_id=1,
        status=3,
        credit_delta=1,
        ciphertext=b"c" * 32,
    )
    fields.update(kw)
    return TradeRecord(**fields)


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"area_id": 0}, "area id must be positive"),
        ({"status": 4}, "status 4 is not completed (3) or ruled (6)"),
        ({"status": 6, "credit_delta": 2}, "credit delta must be -1, 0 or 1"),
        ({"status": 6, "credit_delta": -2}, "credit delta must be -1, 0 or 1"),
        ({"credit_delta": 0}, "a completed trade adds 1 to the product's credit"),
        ({"seller": addr(BUYER)}, "seller and buyer are the same account"),
        ({"ciphertext": b""}, "ciphertext must be 1..4096 bytes"),
        ({"ciphertext": b"c" * 4097}, "ciphertext must be 1..4096 bytes"),
    ],
)
def test_record__each_field_rule__refused_with_its_reason(fields, reason):
    with pytest.raises(RecordError) as exc:
        check_well_formed(bare(**fields))
    assert str(exc.value) == reason


def test_record__field_bounds_that_are_allowed():
    allowed = [
        {"ciphertext": b"c"},
        {"ciphertext": b"c" * 4096},
        {"status": 6, "credit_delta": -1},
        {"status": 6, "credit_delta": 0},
        {"status": 6, "credit_delta": 1},
    ]
    for kw in allowed:
        check_well_formed(bare(**kw))


def test_record__tampered_ciphertext_byte_or_signature__refused(funded):
    chain, _, _ = funded
    good = record(order_id=11)
    last = bytes([good.ciphertext[-1] ^ 1])
    tampered = replace(good, ciphertext=good.ciphertext[:-1] + last)
    tampered._cache.clear()
    before = chain.pool_size()
    with pytest.raises(RecordError, match="^record is signed by neither its seller nor an escrow"):
        chain.add_record(tampered)
    bad_sig = replace(good, signature=good.signature[:64] + bytes([good.signature[64] ^ 1]))
    with pytest.raises(RecordError):
        chain.add_record(bad_sig)
    assert chain.pool_size() == before and not chain.has_order(11)
    with pytest.raises(RecordError, match="bad signature length"):
        TradeRecord.decode(rlp.encode(rlp.decode(good.encode())[:-1] + [good.signature[:64]]))
    assert chain.add_record(good) is True


def test_record__writer_ranks_seller_then_primary_then_standby(funded):
    chain, _, _ = funded
    assert chain.check_record(record(order_id=20))[1] == 0
    assert chain.check_record(record(order_id=20, writer=BRIDGE))[1] == 1
    assert chain.check_record(record(order_id=20, writer=STANDBY))[1] == 2

    def pooled_writer():
        (r,) = [r for r in chain.pool() if r.order_id == 20]
        return r.signer(SEP)

    assert chain.add_record(record(order_id=20, writer=STANDBY)) is True
    assert chain.add_record(record(order_id=20, writer=BRIDGE)) is True
    assert pooled_writer() == addr(BRIDGE)
    assert chain.add_record(record(order_id=20, writer=STANDBY)) is False
    assert chain.add_record(record(order_id=20)) is True
    assert pooled_writer() == addr(SELLER)
    assert chain.add_record(record(order_id=20, writer=BRIDGE)) is False
    assert pooled_writer() == addr(SELLER) and chain.pool_size() == 1


def test_record__disabled_parties_and_other_area_reasons(tmp_path):
    disabled = {addr(BUYER)}
    c = AreaChain(tmp_path / "d.db", CONFIG, POLICY, is_disabled=lambda a: a in disabled)
    with pytest.raises(RecordError, match="^buyer is disabled$"):
        c.add_record(record(order_id=1))
    disabled.clear()
    disabled.add(addr(SELLER))
    with pytest.raises(RecordError, match="^seller is disabled$"):
        c.add_record(record(order_id=1))
    other = bare(area_id=3).signed(SELLER.key, SEP)
    with pytest.raises(RecordError, match="^record is for area 3, not 1$"):
        c.add_record(other)
    assert c.pool_size() == 0
    c.close()


# ---------------------------------------------------------------------------- Merkle


def test_merkle_dump__wrong_inner_node_root_or_leaf__refused():
    values = [[i, bytes([i]) * 32] for i in range(1, 6)]
    tree = StandardMerkleTree.of(values, ("uint256", "bytes32"))
    dump = tree.dump()
    assert StandardMerkleTree.load(json.loads(json.dumps(dump))).root == tree.root
    for index, reason in ((1, "an internal node"), (0, "an internal node"), (8, "a leaf")):
        bad = json.loads(json.dumps(dump))
        bad["tree"][index] = "0x" + "ab" * 32
        with pytest.raises(MerkleError, match=f"^{reason}"):
            StandardMerkleTree.load(bad)
    with pytest.raises(MerkleError, match="^a proof node is not 32 bytes$"):
        process_proof(tree.leaf(0), [b"\x01" * 31])
    with pytest.raises(MerkleError, match="^unknown tree format 'standard-v2'$"):
        StandardMerkleTree.load({**dump, "format": "standard-v2"})


# ---------------------------------------------------------------------------- forks


def test_finality__exact_heights_and_a_close_competitor(tmp_path):
    c = AreaChain(tmp_path / "f.db", CONFIG, POLICY)
    finals = []
    ids = []
    for h in range(1, 5):
        b = hand_block(c, T0 + 10 * h)
        c.add_block(b)
        ids.append(b.block_id(CONFIG.separator))
        finals.append(c.final_height)
    assert finals == [0, 0, 1, 2]
    # a sibling of height 2 (two behind the tip): finality is unchanged
    c.add_block(hand_block(c, T0 + 21, parent=ids[0]))
    assert c.final_height == 2
    # a branch from height 1 reaching height 3 (one behind): only height 1 is final
    side2 = hand_block(c, T0 + 22, parent=ids[0])
    c.add_block(side2)
    c.add_block(hand_block(c, T0 + 31, parent=side2.block_id(CONFIG.separator)))
    assert c.height == 4 and c.tip == ids[-1]
    assert c.final_height == 1
    c.close()


def test_reorg__two_orphaned_blocks_return_their_records_and_txs(tmp_path):
    c = AreaChain(tmp_path / "r.db", CONFIG, POLICY, events=Events())
    b1 = c.build_block(PRODUCERS[1].key, addr(PRODUCERS[1]), T0 + 1)
    c.add_block(b1)
    c.events._deposits = []
    c.add_record(record(order_id=1))
    c.add_tx(pay(1, 100))
    a2 = c.build_block(PRODUCERS[2].key, addr(PRODUCERS[2]), T0 + 2)
    c.add_block(a2)
    c.add_record(record(order_id=2, listing=8))
    a3 = c.build_block(PRODUCERS[0].key, addr(PRODUCERS[0]), T0 + 3)
    c.add_block(a3)
    assert c.pool_size() == 0 and c.tx_pool() == [] and c.ledger.balances == {addr(BUYER): 900}
    fork = b1.block_id(CONFIG.separator)
    for ts in (T0 + 12, T0 + 13, T0 + 14):
        blk = hand_block(c, ts, parent=fork, records=[record(order_id=3)] if ts == T0 + 12 else ())
        assert c.add_block(blk) is True
        fork = blk.block_id(CONFIG.separator)
    assert c.height == 4 and c.tip == fork
    assert sorted(r.order_id for r in c.pool()) == [1, 2]
    assert [t.nonce for t in c.tx_pool()] == [1]
    assert c.ledger.balances == {addr(BUYER): 1000} and c.ledger.tx_nonces == {}
    assert c.credits == {product_id_of(7): 1}
    assert [o for (o,) in c.db.execute("SELECT order_id FROM included")] == [3]
    c.close()


def test_equal_length_fork__first_seen_stays_canonical(funded):
    chain, b1, b2 = funded
    rival = hand_block(chain, T0 + 5, parent=b1.block_id(CONFIG.separator))
    assert chain.add_block(rival) is True
    assert chain.tip == b2.block_id(CONFIG.separator) and chain.height == 2


# ---------------------------------------------------------------------------- node


class FakeConn:
    closed = False
    peer = b"\x99" * 20

    def __init__(self):
        self.sent = []

    def send(self, kind, payload):
        self.sent.append((kind, payload))
        return True

    def close(self):
        self.closed = True


def node_on(chain, tmp_path, signer=None):
    key = PRODUCERS[0]
    node = AreaNode(key.key, addr(key), chain, MemoryTransport("n0", {}), [], 1.0, signer)
    peer = FakeConn()
    node.conns[peer.peer] = peer
    return node, peer


def test_node__gossiped_attestation_with_a_bad_signature__dropped(funded, tmp_path):
    chain, _, b2 = funded
    node, peer = node_on(chain, tmp_path)
    bid = b2.block_id(CONFIG.separator)
    validator = get_dev_account(50)
    forged = rlp.encode([2, bid, addr(validator), sign_digest(OTHER.key, bid)])
    node._take_attestation(forged, None)
    assert node.db.execute("SELECT COUNT(*) FROM attestations").fetchone() == (0,)
    assert peer.sent == []
    good = rlp.encode([2, bid, addr(validator), sign_digest(validator.key, bid)])
    node._take_attestation(good, None)
    node._take_attestation(good, None)  # known: stored once, gossiped once
    assert node.db.execute("SELECT height, validator FROM attestations").fetchall() == [
        (2, addr(validator))
    ]
    assert peer.sent == [(ATTEST, good)]
    assert node.status()["height"] == 2


def test_node__records_acked_exactly_and_gossiped_once(funded, tmp_path):
    chain, _, _ = funded
    node, peer = node_on(chain, tmp_path)
    r = record(order_id=30)
    assert node._take_record(r.encode(), None) == (True, "accepted")
    assert node._take_record(r.encode(), None) == (True, "duplicate")
    assert peer.sent == [(RECORD, r.encode())]
    ok, reason = node._take_record(self_trade(31).encode(), None)
    assert (ok, reason) == (False, "seller and buyer are the same account")
    assert chain.pool_size() == 1 and len(peer.sent) == 1


def test_node__serves_exactly_the_blocks_asked_for(funded, tmp_path):
    chain, _, _ = funded
    for ts in (T0 + 3, T0 + 4):
        chain.add_block(hand_block(chain, ts))
    node, _ = node_on(chain, tmp_path)
    conn = FakeConn()
    asyncio.run(node._handle(conn, GET_BLOCKS, rlp.encode([2, 2])))
    assert [Block.decode(p).header.height for k, p in conn.sent if k == BLOCK] == [2, 3]
    conn.sent.clear()
    asyncio.run(node._handle(conn, GET_BLOCKS, rlp.encode([3, 64])))
    assert [Block.decode(p).header.height for k, p in conn.sent] == [3, 4]


def test_node__known_block_not_gossiped_again_and_bad_block_leaves_node_as_is(funded, tmp_path):
    chain, _, b2 = funded
    node, peer = node_on(chain, tmp_path)
    src = FakeConn()
    node._take_block(src, b2.encode())
    assert peer.sent == []
    bad = hand_block(chain, b2.header.timestamp)  # the parent's timestamp
    node._take_block(src, bad.encode())
    assert peer.sent == [] and chain.height == 2
    new = hand_block(chain, T0 + 3)
    node._take_block(src, new.encode())
    assert peer.sent == [(BLOCK, new.encode())] and chain.height == 3


def test_node__attests_final_headers_only(funded, tmp_path):
    chain, _, _ = funded
    chain.events._deposits = []
    for ts in (T0 + 3, T0 + 4):
        chain.add_block(hand_block(chain, ts))
    signer = ValidatorSigner(PRODUCERS[0].key, tmp_path / "s.db", 31337, "0x" + "a1" * 20)
    node, peer = node_on(chain, tmp_path, signer)
    node._attest()
    assert chain.height == 4 and chain.final_height == 2
    assert node.attested == 2 and signer.highest_signed(1) == 2
    heights = [h for (h,) in node.db.execute("SELECT height FROM attestations ORDER BY height")]
    assert heights == [1, 2] and [k for k, _ in peer.sent] == [ATTEST, ATTEST]
    signer.close()


def test_node__ledger_view_is_exact(funded, tmp_path):
    chain, _, _ = funded
    node, _ = node_on(chain, tmp_path)
    view = node.ledger_view(addr(BUYER))
    assert view["balance"] == "600" and view["next_tx_nonce"] == 2 and view["height"] == 2
    assert node.ledger_view(addr(OTHER))["next_tx_nonce"] == 1


def test_round_robin__stand_ins_wait_exactly_1_plus_2k_intervals():
    parent = FullHeader(1, 4, ZERO32, ZERO32, ZERO32, ZERO32, T0)
    due, first, second = (addr(PRODUCERS[(5 + k) % 3]) for k in range(3))
    assert POLICY.due(5) == due and POLICY.rank(first, 5) == 1 and POLICY.rank(second, 5) == 2
    assert POLICY.may_produce(due, 5, T0 + 1, parent) is True
    assert [POLICY.may_produce(first, 5, T0 + s, parent) for s in (2, 3)] == [False, True]
    assert [POLICY.may_produce(second, 5, T0 + s, parent) for s in (4, 5)] == [False, True]
    assert POLICY.may_produce(addr(OTHER), 5, T0 + 100, parent) is False
    assert POLICY.may_produce(first, 1, T0, None) is False  # no genesis time: no stand-in


# ---------------------------------------------------------------------------- handshake


class FakeWriter:
    def __init__(self):
        self.data = b""

    def write(self, b):
        self.data += b

    async def drain(self):
        pass

    def close(self):
        pass


def frame(kind, payload):
    return struct.pack(">IB", len(payload) + 1, kind) + payload


def shake(data, chain_id=31337, area=1):
    async def go():
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        conn = Connection(reader, FakeWriter())
        mine = Hello.make(PRODUCERS[0].key, addr(PRODUCERS[0]), 31337, 1, 0)
        return await handshake(conn, mine, chain_id, area)

    return asyncio.run(go())


def hello_of(key, node, chain_id=31337, area=1, ts=None, version=1):
    h = Hello(node, chain_id, area, version, int(time.time()) if ts is None else ts, 3, b"")
    return replace(h, signature=sign_digest(key.key, keccak(h.body())))


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda: hello_of(OTHER, addr(PRODUCERS[1])), "hello is not signed by the node it names"),
        (lambda: hello_of(OTHER, addr(OTHER), chain_id=1), "peer is on another chain or area"),
        (lambda: hello_of(OTHER, addr(OTHER), area=2), "peer is on another chain or area"),
        (lambda: hello_of(OTHER, addr(OTHER), version=2), "protocol version 2"),
        (lambda: hello_of(OTHER, addr(OTHER), ts=int(time.time()) - 400), "hello is stale"),
        (lambda: hello_of(OTHER, addr(OTHER), ts=int(time.time()) + 400), "hello is stale"),
    ],
)
def test_handshake__hostile_hello__refused_with_its_reason(make, reason):
    with pytest.raises(ProtocolError) as exc:
        shake(frame(HELLO, make().encode()))
    assert str(exc.value) == reason


def test_handshake__honest_hellos_and_bad_frames():
    theirs = shake(frame(HELLO, hello_of(OTHER, addr(OTHER)).encode()))
    assert (theirs.node, theirs.height) == (addr(OTHER), 3)
    client = shake(frame(HELLO, hello_of(OTHER, addr(OTHER), area=0).encode()))  # a client
    assert client.area_id == 0
    with pytest.raises(ProtocolError, match="^expected a hello first$"):
        shake(frame(RECORD, b"x"))
    with pytest.raises(ProtocolError, match="^frame of 0 bytes$"):
        shake(struct.pack(">I", 0))
    with pytest.raises(ProtocolError, match=f"^frame of {MAX_FRAME + 1} bytes$"):
        shake(struct.pack(">I", MAX_FRAME + 1))


# ---------------------------------------------------------------------------- more edges


def resealed(block, **header):
    h = replace(block.header, **header)
    producer = next(p for p in PRODUCERS if addr(p) == h.producer)
    return replace(block, header=h).sealed(producer.key)


def test_add_block__first_block_with_a_parent_or_a_height_gap__refused(funded, tmp_path):
    chain, _, _ = funded
    gap = hand_block(chain, T0 + 3)
    gap = resealed(gap, height=4, producer=addr(PRODUCERS[4 % 3]))
    refused(chain, gap, "height is not parent + 1")
    empty = AreaChain(tmp_path / "e.db", CONFIG, POLICY)
    first = resealed(hand_block(empty, T0 + 1), parent_hash=b"\x01" * 32)
    refused(empty, first, "the first block has the zero parent")
    assert empty.height == 0
    empty.close()


def test_pool__oldest_first_and_an_included_order_is_not_pooled_again(funded):
    chain, _, _ = funded
    for o in (5, 3, 9):
        assert chain.add_record(record(order_id=o)) is True
    assert [r.order_id for r in chain.pool()] == [5, 3, 9]
    assert [r.order_id for r in chain.pool(limit=2)] == [5, 3]
    chain.add_block(chain.build_block(PRODUCERS[0].key, addr(PRODUCERS[0]), T0 + 3))
    assert chain.pool_size() == 0
    again = record(order_id=3)  # a new encryption: another record id for the same order
    assert chain.add_record(again) is False and chain.add_records([again]) == [False]
    assert chain.pool_size() == 0 and not any(r.order_id == 3 for r in chain.pool())


def test_record__bridges_copy_orders_of_disabled_parties(tmp_path):
    """The ruling that disables a seller must still be recorded: bridge records skip the
    disabled check (the escrow refused disabled parties when the order was made)."""
    config = replace(CONFIG, bridges=(addr(BRIDGE), addr(STANDBY)))
    c = AreaChain(tmp_path / "b.db", config, POLICY, is_disabled=lambda a: a == addr(SELLER))
    with pytest.raises(RecordError, match="^seller is disabled$"):
        c.add_record(record(order_id=1))
    assert c.add_record(record(order_id=1, writer=BRIDGE)) is True
    assert c.add_record(record(order_id=2, writer=STANDBY)) is True
    assert c.pool_size() == 2
    c.close()


def test_record__non_canonical_integers__refused():
    items = rlp.decode(record(order_id=5).encode())
    for index in (0, 4, 5):  # area, order, status with a leading zero byte
        bad = list(items)
        bad[index] = b"\x00" + bad[index]
        with pytest.raises(RecordError, match="non-canonical integer"):
            TradeRecord.decode(rlp.encode(bad))


def test_node__txs_acked_exactly(funded, tmp_path):
    chain, _, _ = funded
    node, peer = node_on(chain, tmp_path)
    tx = pay(2, 100)
    assert node._take_tx(tx.encode(), None) == (True, "accepted")
    assert node._take_tx(tx.encode(), None) == (True, "duplicate")
    ok, reason = node._take_tx(pay(3, 1, key=OTHER).encode(), None)
    assert (ok, reason) == (False, "area transaction is not signed by its sender")
    assert [k for k, _ in peer.sent] == [TX] and [t.nonce for t in chain.tx_pool()] == [2]


# ---------------------------------------------------------------------------- tx answers

PURCHASE = Ingress(2, 1, addr(BUYER), addr(SELLER), 50, purchase_payload(7))


def ref_tx(kind, account, nonce, ref=(2, 1)):
    return AreaTx(kind, addr(account), 1, nonce, ref_src=ref[0], ref_nonce=ref[1]).signed(
        account.key, SEP
    )


def fates(chain, account):
    return [
        (f["tx"].nonce, f["status"], f["height"], f["reason"])
        for f in chain.tx_fates(addr(account))
    ]


def test_submission__checked_against_ledger_and_pool__exact_reasons(funded):
    """A submission is answered with the reason the block would refuse it, counting the
    transactions already pooled: balance, nonce, area, payment, role, status."""
    chain, _, _ = funded
    chain.events._ingress = [PURCHASE]
    assert chain.add_block(chain.build_block(PRODUCERS[0].key, addr(PRODUCERS[0]), T0 + 3))
    assert chain.ledger.payments[(2, 1)]["status"] == "paid"
    assert chain.add_tx(pay(2, 500)) is True  # 600 held: 100 left once it applies
    cases = [
        (pay(3, 101), "balance too low"),
        (pay(4, 50), "transaction nonce 4 is not the next one"),
        (pay(2, 1), "transaction nonce 2 is not the next one"),  # the pooled one has it
        (pay(3, 1, dst=1), "a payment goes to another area"),
        (pay(3, 1, dst=0), "a withdrawal to the main chain pays no listing"),
        (ref_tx(SHIP, SELLER, 1, ref=(2, 9)), "no such payment in this area"),
        (ref_tx(SHIP, BUYER, 3), "only the seller ships a paid order"),
        (ref_tx(CONFIRM, SELLER, 1), "only the buyer confirms an open order"),
        (pay(3, area=2), "transaction is for area 2"),
    ]
    for tx, reason in cases:
        with pytest.raises(LedgerError) as exc:
            chain.add_tx(tx)
        assert str(exc.value) == reason
    assert chain.add_tx(ref_tx(CONFIRM, BUYER, 3)) is True  # after the pooled pay, nonce 3
    with pytest.raises(LedgerError, match="^only the seller ships a paid order$"):
        chain.add_tx(ref_tx(SHIP, SELLER, 1))  # the pooled confirm completes it first
    assert [t.nonce for t in chain.tx_pool()] == [2, 3]
    assert fates(chain, BUYER) == [
        (1, "applied", 2, None),
        (2, "pending", None, None),
        (2, "refused", None, "transaction nonce 2 is not the next one"),
        (3, "refused", None, "balance too low"),
        (3, "refused", None, "a payment goes to another area"),
        (3, "refused", None, "a withdrawal to the main chain pays no listing"),
        (3, "refused", None, "only the seller ships a paid order"),
        (3, "pending", None, None),
        (4, "refused", None, "transaction nonce 4 is not the next one"),
    ]
    # a refused transaction submitted again once it applies is accepted
    block = chain.build_block(PRODUCERS[1].key, addr(PRODUCERS[1]), T0 + 4)
    assert [t.nonce for t in block.txs] == [2, 3] and chain.add_block(block)
    now = fates(chain, BUYER)
    assert (2, "applied", 4, None) in now and (3, "applied", 4, None) in now
    assert not [f for f in now if f[1] == "pending"]


def test_pooled_tx__made_invalid_by_another_nodes_block__ends_refused(funded):
    """The seller's ship is accepted here while another node takes the buyer's confirm
    into its block: after that block, the ship no longer applies and ends refused with the
    reason (not pending for ever); a pooled payment whose nonce another payment of the same
    sender took ends refused too."""
    chain, _, _ = funded
    chain.events._ingress = [PURCHASE]
    assert chain.add_block(chain.build_block(PRODUCERS[0].key, addr(PRODUCERS[0]), T0 + 3))
    chain.events._ingress = []
    ship = ref_tx(SHIP, SELLER, 1)
    mine = pay(2, 300)
    assert chain.add_tx(ship) is True and chain.add_tx(mine) is True
    theirs = pay(2, 100)  # the same nonce, signed again, reached another node first
    confirm = ref_tx(CONFIRM, BUYER, 3)
    block = hand_block(
        chain,
        T0 + 4,
        txs=(theirs, confirm),
        egress=(Message(1, 2, 2, addr(BUYER), addr(SELLER), 100, purchase_payload(7)),),
        credits=((product_id_of(7), 1),),
    )
    assert chain.add_block(block) is True
    assert chain.tx_pool() == []
    assert fates(chain, SELLER) == [(1, "refused", None, "only the seller ships a paid order")]
    assert fates(chain, BUYER) == [
        (1, "applied", 2, None),
        (2, "applied", 4, None),
        (2, "refused", None, "transaction nonce 2 is not the next one"),
        (3, "applied", 4, None),
    ]
    assert [f["tx"] for f in chain.tx_fates(addr(BUYER))][1:3] == [theirs, mine]


def test_node__submission_answered_with_reason__gossip_pooled_leniently(funded, tmp_path):
    chain, _, _ = funded
    node, peer = node_on(chain, tmp_path)
    assert node._take_tx(pay(2, 700).encode(), None) == (False, "balance too low")
    assert node._take_tx(pay(2, 100).encode(), None) == (True, "accepted")
    assert node._take_tx(pay(2, 100).encode(), None) == (True, "duplicate")
    assert node._take_tx(pay(9, 1).encode(), None) == (
        False,
        "transaction nonce 9 is not the next one",
    )
    # from a peer (it may be a block ahead of this node): pooled, settled after a block
    assert node._take_tx(pay(3, 900).encode(), peer) == (True, "accepted")
    view = node.ledger_view(addr(BUYER))
    assert (view["next_tx_nonce"], view["pending_tx_nonce"], view["pending_balance"]) == (
        2,
        3,
        "500",
    )
    assert [(t["nonce"], t["kind"], t["status"], t["amount"]) for t in view["transactions"]] == [
        (1, "pay", "applied", "400"),
        (2, "pay", "refused", "700"),
        (2, "pay", "pending", "100"),
        (3, "pay", "pending", "900"),
        (9, "pay", "refused", "1"),
    ]
    assert chain.add_block(chain.build_block(PRODUCERS[0].key, addr(PRODUCERS[0]), T0 + 3))
    view = node.ledger_view(addr(BUYER))
    assert [(t["nonce"], t["status"], t["height"], t["reason"]) for t in view["transactions"]][
        2:4
    ] == [(2, "applied", 3, None), (3, "refused", None, "balance too low")]


def test_add_tx__gossiped_at_an_applied_nonce__not_pooled_and_no_fate(funded):
    """A gossiped transaction needs only an unused nonce; one at the sender's applied nonce
    (a different transaction than the one applied there) is dropped, not pooled to be
    refused later, and leaves no fate behind."""
    chain, _, _ = funded
    before = chain.tx_fates(addr(BUYER))
    assert chain.add_tx(pay(1, 600), strict=False) is False  # nonce 1 applied in block 2
    assert chain.tx_pool() == [] and chain.tx_fates(addr(BUYER)) == before
    assert chain.add_tx(pay(3, 600), strict=False) is True  # ahead of nonce 2: pooled
    assert [t.nonce for t in chain.tx_pool()] == [3]
