"""A moved account's balance follows it (MOVE, proven against the epoch's directory root), and
the published directories as the bridge reads them: each file checked against its committed
root, a forged one refused, accounts no directory lists in their address-hash area, orders
in the area their seller was in when they were paid."""

import json
from pathlib import Path

import pytest
import rlp

from sec_offchain.area.block import Message
from sec_offchain.area.chain import AreaChain, AreaConfig, RoundRobin
from sec_offchain.area.ledger import (
    MOVE,
    PAY,
    AreaTx,
    Deposit,
    Ingress,
    Ledger,
    LedgerError,
    move_payload,
    move_tx,
)
from sec_offchain.areas import AreaDirectory, hash_area
from sec_offchain.areas.graph import AreaError
from sec_offchain.areas.mover import PendingMove, plan_moves, run_moves
from sec_offchain.areas.published import DirectoryUnavailable, PublishedDirectories
from sec_offchain.crypto.keys import get_dev_account

SEC = 10**18
IDS = (1, 2, 3)
A, B, C = (get_dev_account(i) for i in (40, 41, 42))
PRODUCER = get_dev_account(43)


def addr(account) -> bytes:
    return bytes.fromhex(account.address[2:])


def low(account) -> str:
    return account.address.lower()


class Roots:
    """The main chain as a ledger sees it for moves: AreaDirectory's published roots."""

    def __init__(self, **roots: AreaDirectory) -> None:
        self.roots = {d.epoch: d.root for d in roots.values()}

    def directory_root(self, epoch):
        return self.roots.get(epoch)


EPOCH1 = AreaDirectory(1, {low(A): 2, low(B): 1, low(C): 3})
FORGED = AreaDirectory(1, {low(A): 3, low(B): 1, low(C): 3})  # never published


def funded(balance: int, area: int = 1, max_egress: int = 1_000 * SEC) -> Ledger:
    led = Ledger(area, max_egress)
    led.apply_deposit(Deposit(b"\x01" * 32, 0, addr(A), balance), None)
    return led


def proof_of(directory: AreaDirectory, account) -> tuple[bytes, ...]:
    return directory.get_proof(account.address).proof


# ---------------------------------------------------------------------------- ledger


def test_move__whole_balance_leaves_once_in_messages_of_the_outflow_floor():
    led = funded(1_500 * SEC)
    tx = move_tx(addr(A), 1, 2, 1, proof_of(EPOCH1, A))
    messages = led.apply_move(tx, Roots(e=EPOCH1))
    payload = move_payload(1)
    assert messages == [
        (1, 2, 1, addr(A), addr(A), 1_000 * SEC, payload),
        (1, 2, 2, addr(A), addr(A), 500 * SEC, payload),
    ]
    assert led.balances[addr(A)] == 0 and led.moves_out == {(addr(A), 1): 1_500 * SEC}
    led.balances[addr(A)] = 7  # e.g. an order of the old area completed after the move
    with pytest.raises(LedgerError, match=f"^move: {low(A)} already moved out in epoch 1$"):
        led.apply_move(tx, Roots(e=EPOCH1))
    assert led.balances[addr(A)] == 7 and led.egress_nonces == {2: 2}


def test_move__forged_entry_wrong_area_or_unpublished_epoch__refused_nothing_debited():
    led = funded(100 * SEC)
    roots = Roots(e=EPOCH1)
    forged = move_tx(addr(A), 1, 3, 1, proof_of(FORGED, A))
    with pytest.raises(
        LedgerError, match=f"^move: the directory of epoch 1 does not put {low(A)} in area 3$"
    ):
        led.apply_move(forged, roots)
    wrong_proof = move_tx(addr(A), 1, 2, 1, proof_of(EPOCH1, C))
    with pytest.raises(LedgerError, match="does not put .* in area 2$"):
        led.apply_move(wrong_proof, roots)
    with pytest.raises(LedgerError, match="^move: the directory of epoch 2 is not published$"):
        led.apply_move(move_tx(addr(A), 1, 2, 2, proof_of(EPOCH1, A)), roots)
    with pytest.raises(LedgerError, match="^move: area 1 is not another area$"):
        led.apply_move(move_tx(addr(A), 1, 1, 1, ()), roots)
    with pytest.raises(LedgerError, match="^transaction is for another area$"):
        led.apply_move(move_tx(addr(A), 3, 2, 1, proof_of(EPOCH1, A)), roots)
    tampered = AreaTx(MOVE, addr(A), 1, 1, 2, addr(B), proof=proof_of(EPOCH1, A))
    with pytest.raises(LedgerError, match="^move: a move names only the account"):
        led.apply_move(tampered, roots)
    only_b = AreaDirectory(1, {low(B): 2})
    with pytest.raises(LedgerError, match=f"^move: {low(B)} holds nothing in area 1$"):
        led.apply_move(move_tx(addr(B), 1, 2, 1, proof_of(only_b, B)), Roots(e=only_b))
    assert led.balances[addr(A)] == 100 * SEC and not led.moves_out and not led.egress_nonces


def test_move__destination_credits_each_delivered_message_once():
    dst = Ledger(2)
    i = Ingress(1, 1, addr(A), addr(A), 40 * SEC, move_payload(1))
    dst.apply_ingress(i, None)
    with pytest.raises(LedgerError, match="^message already consumed$"):
        dst.apply_ingress(i, None)
    assert dst.balances == {addr(A): 40 * SEC} and dst.moves_in == {(addr(A), 1): 40 * SEC}
    assert dst.payments == {}


def test_move_tx__encoding_round_trip__signature_or_proof_where_they_do_not_belong_refused():
    tx = move_tx(addr(A), 1, 2, 1, proof_of(EPOCH1, A))
    assert AreaTx.decode(tx.encode()) == tx and tx.pool_sender == b"move" + addr(A)
    single = AreaDirectory(1, {low(A): 2})  # a one-account tree: the empty proof
    alone = move_tx(addr(A), 1, 2, 1, ())
    assert AreaTx.decode(alone.encode()) == alone
    led = funded(5)
    assert led.apply_move(alone, Roots(e=single)) == [
        (1, 2, 1, addr(A), addr(A), 5, move_payload(1))
    ]
    signed = AreaTx(*tx.fields(), signature=b"\x01" * 65, proof=tx.proof)
    with pytest.raises(LedgerError, match="signature of the wrong length"):
        AreaTx.decode(signed.encode())
    pay = AreaTx(PAY, addr(A), 1, 1, 2, addr(B), 5).signed(A.key, b"\x00" * 32)
    with pytest.raises(LedgerError, match="a MOVE, and only a MOVE, carries a proof"):
        AreaTx.decode(rlp.encode([*pay.fields(), pay.signature, []]))


# ---------------------------------------------------------------------------- area chain


@pytest.fixture
def area_chain(tmp_path):
    config = AreaConfig(1, 31337, b"\x11" * 32, b"\x22" * 32)
    roots = Roots(e=EPOCH1)
    roots.deposits = [Deposit(b"\x01" * 32, 0, addr(A), 30 * SEC)]

    class Events(Roots):
        def deposit(self, tx_hash, log_index):
            return (1, addr(A), 30 * SEC)

        def deposits_for(self, area_id):
            return roots.deposits

        def ingress_for(self, area_id):
            return []

        def delivered(self, src, dst, nonce):
            return None

    events = Events(e=EPOCH1)
    c = AreaChain(tmp_path / "a1.db", config, RoundRobin((addr(PRODUCER),)), events=events)
    yield c, tmp_path, config, events
    c.close()


def seal(c, ts):
    block = c.build_block(PRODUCER.key, addr(PRODUCER), ts)
    assert c.add_block(block, now=ts)
    return block


def test_area_chain__move_pooled_once__applied_in_a_block__kept_after_restart(area_chain):
    c, tmp_path, config, events = area_chain
    seal(c, 1_000)  # the deposit
    tx = move_tx(addr(A), 1, 2, 1, proof_of(EPOCH1, A))
    with pytest.raises(LedgerError, match="does not put"):
        c.add_tx(move_tx(addr(A), 1, 3, 1, proof_of(FORGED, A)))
    assert c.add_tx(tx) is True
    assert c.add_tx(tx) is False  # the same move again: pooled once
    block = seal(c, 1_010)
    assert block.txs == (tx,)
    assert block.egress == (Message(1, 2, 1, addr(A), addr(A), 30 * SEC, move_payload(1)),)
    assert c.tx_pool() == [] and c.ledger.balances[addr(A)] == 0
    assert c.add_tx(tx) is False  # already moved: not pooled again
    assert seal(c, 1_020).egress == ()
    c.close()
    again = AreaChain(tmp_path / "a1.db", config, RoundRobin((addr(PRODUCER),)), events=events)
    try:
        assert again.ledger.moves_out == {(addr(A), 1): 30 * SEC}
        assert again.add_tx(tx) is False
    finally:
        again.close()


# ---------------------------------------------------------------------------- the mover


def test_plan_moves__changed_areas_only__unlisted_before_means_the_hash_area():
    epoch2 = AreaDirectory(2, {low(A): 3, low(B): 1, low(C): 3})
    moves = plan_moves(epoch2, EPOCH1, IDS)
    assert moves == [PendingMove(low(A), 2, 3, 2, proof_of(epoch2, A))]
    first = plan_moves(EPOCH1, None, IDS)
    expected = sorted(
        (low(x), hash_area(low(x), IDS), EPOCH1.area_of(x.address))
        for x in (A, B, C)
        if hash_area(low(x), IDS) != EPOCH1.area_of(x.address)
    )
    assert [(m.account, m.src, m.dst) for m in first] == expected
    with pytest.raises(AreaError, match="^the previous directory is epoch 1, not 2$"):
        plan_moves(AreaDirectory(3, {low(A): 1}), EPOCH1, IDS)


def test_run_moves__skips_what_the_ledger_says_is_done__reports_each_outcome():
    moves = [
        PendingMove(low(A), 1, 2, 1, ()),
        PendingMove(low(B), 1, 2, 1, ()),
        PendingMove(low(C), 1, 3, 1, ()),
    ]
    views = {
        low(A): {"balance": "5", "moved_out_epochs": [1]},
        low(B): {"balance": "0", "moved_out_epochs": []},
        low(C): {"balance": "9", "moved_out_epochs": []},
    }
    sent = []

    def submit(area, tx):
        sent.append((area, tx))
        return True, "accepted"

    out = list(run_moves(moves, lambda area, a: views[a], submit))
    assert [o for _, o in out] == ["already moved", "nothing to move", "submitted"]
    assert sent == [(1, moves[2].tx())]


# ---------------------------------------------------------------------------- directories


class FakeDirectoryContract:
    """AreaDirectory as web3 shows it: `DirectoryPublished` logs and the block number."""

    def __init__(self) -> None:
        self.logs: list[dict] = []
        self.head = 0
        me = self

        class W3:
            class eth:  # noqa: N801 - web3's shape
                @property
                def block_number(self):
                    return me.head

            eth = eth()

        class Event:
            @staticmethod
            def get_logs(from_block, to_block):
                return [e for e in me.logs if from_block <= e["blockNumber"] <= to_block]

        class Events:
            DirectoryPublished = Event

        self.w3 = W3()
        self.events = Events()

    def publish(self, directory: AreaDirectory, block: int) -> None:
        self.logs.append(
            {"blockNumber": block, "args": {"epoch": directory.epoch, "root": directory.root}}
        )
        self.head = max(self.head, block)


def write(folder: Path, directory: AreaDirectory, data: dict | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"epoch-{directory.epoch}.json"
    path.write_text(json.dumps(data or directory.dump()))


def test_published__orders_finish_where_they_started__unlisted_accounts_hashed(tmp_path):
    contract = FakeDirectoryContract()
    contract.head = 5
    published = PublishedDirectories(contract, tmp_path, IDS)
    assert published.order_area(A.address, 5) == hash_area(low(A), IDS)
    contract.publish(EPOCH1, 10)
    write(tmp_path, EPOCH1)
    epoch2 = AreaDirectory(2, {low(A): 3, low(B): 1, low(C): 3})
    contract.publish(epoch2, 20)
    write(tmp_path, epoch2)
    assert published.order_area(A.address, 9) == hash_area(low(A), IDS)
    assert published.order_area(A.address, 10) == 2  # paid in epoch 1: finishes in area 2
    assert published.order_area(A.address, 19) == 2
    assert published.order_area(A.address, 20) == 3  # paid after epoch 2's publication
    placed = published.placement(C.address, 25)
    assert (placed.area_id, placed.epoch, placed.proof.proof) == (3, 2, proof_of(epoch2, C))
    stranger = get_dev_account(44)
    placed = published.placement(stranger.address, 25)
    assert (placed.area_id, placed.epoch, placed.proof) == (hash_area(low(stranger), IDS), 0, None)


def test_published__forged_or_missing_file__refused__nothing_placed_after_its_publication(
    tmp_path,
):
    contract = FakeDirectoryContract()
    published = PublishedDirectories(contract, tmp_path, IDS)
    contract.publish(EPOCH1, 10)
    with pytest.raises(
        DirectoryUnavailable,
        match=f"^the directory of epoch 1 is in force at block 10 but not available here \\("
        f"{tmp_path}/epoch-1.json\\)$",
    ):
        published.order_area(A.address, 10)
    assert published.order_area(A.address, 9) == hash_area(low(A), IDS)  # before it: known
    write(tmp_path, FORGED)  # A's entry changed to area 3: another root
    with pytest.raises(DirectoryUnavailable, match="not available here"):
        published.order_area(A.address, 12)
    doctored = EPOCH1.dump()
    doctored["tree"]["values"][0]["value"][1] = "3"  # an entry edited, root left as published
    write(tmp_path, EPOCH1, doctored)
    with pytest.raises(DirectoryUnavailable):
        published.order_area(A.address, 12)
    write(tmp_path, EPOCH1)  # the real file arrives
    assert published.order_area(A.address, 12) == 2
