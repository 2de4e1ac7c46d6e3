"""The gateway's area checks as functions (gateway/areas.py), without nodes: what a submitted
area transaction or trade record must pass before it is forwarded (area, signer, the party
and state of a payment, a payment of exactly the balance), the directory lookup from the
indexed publications (in force from its publication block, matched to the published root),
and the pending messages (a delivered one is no longer pending). test_areas_api.py runs the
same code behind a real gateway and real nodes."""

import json

import pytest
from coincurve import PrivateKey

from sec_offchain.area.ledger import CONFIRM, PAY, SHIP, AreaTx
from sec_offchain.area.records import make_record
from sec_offchain.areas.cluster import hash_area
from sec_offchain.areas.directory import AreaDirectory
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.gateway.areas import (
    AreaLookupService,
    LookupUnavailable,
    PendingMessages,
    SubmissionError,
    check_applies,
    check_area_tx,
    check_record,
)
from sec_offchain.gateway.store import INSERT_EVENT, UPSERT_ENTITY, open_store

SEP = b"\x42" * 32
SELLER, BUYER, BRIDGE, OTHER = (get_dev_account(i) for i in (1, 2, 3, 4))


def raw(account):
    return bytes.fromhex(account.address[2:])


def area_tx(account, kind=PAY, area=1, **fields):
    return AreaTx(kind, raw(account), area, 1, **fields).signed(bytes(account.key), SEP)


def refused(fn, *args):
    with pytest.raises(SubmissionError) as info:
        fn(*args)
    return info.value.status, info.value.reason


# ── transactions ───────────────────────────────────────────────────────────────────────────
def test_area_tx__other_area_or_wrong_signer__400():
    tx = area_tx(BUYER, recipient=raw(SELLER), amount=5)
    check_area_tx(tx, 1, SEP)
    assert refused(check_area_tx, tx, 2, SEP) == (400, "the transaction is for area 1, not 2")
    forged = AreaTx(*tx.fields(), signature=area_tx(OTHER, recipient=raw(SELLER)).signature)
    assert refused(check_area_tx, forged, 1, SEP)[0] == 400


def test_applies__payment_of_exactly_the_balance__taken_one_more__422():
    view = {"balance": "5", "payments": []}
    check_applies(area_tx(BUYER, recipient=raw(SELLER), amount=5), view)
    assert refused(check_applies, area_tx(BUYER, recipient=raw(SELLER), amount=6), view) == (
        422,
        f"{BUYER.address} has 5 in area 1, not 6",
    )


def test_applies__ship_by_the_seller_of_a_paid_payment_only__confirm_by_the_buyer():
    def view(status):
        payment = {
            "ref": "1:7",
            "seller": SELLER.address.lower(),
            "buyer": BUYER.address.lower(),
            "status": status,
        }
        return {"balance": "0", "payments": [payment]}

    def ship(account):
        return area_tx(account, SHIP, ref_src=1, ref_nonce=7)

    def confirm(account):
        return area_tx(account, CONFIRM, ref_src=1, ref_nonce=7)

    check_applies(ship(SELLER), view("paid"))
    check_applies(confirm(BUYER), view("paid"))
    check_applies(confirm(BUYER), view("shipped"))
    assert refused(check_applies, ship(BUYER), view("paid")) == (
        422,
        f"{BUYER.address} is not the seller of payment 1:7",
    )
    assert refused(check_applies, confirm(SELLER), view("shipped")) == (
        422,
        f"{SELLER.address} is not the buyer of payment 1:7",
    )
    assert refused(check_applies, ship(SELLER), view("shipped")) == (
        422,
        "payment 1:7 is shipped, not paid: cannot ship it",
    )
    assert refused(check_applies, confirm(BUYER), view("confirmed")) == (
        422,
        "payment 1:7 is confirmed, not paid or shipped: cannot confirm it",
    )


# ── records ───────────────────────────────────────────────────────────────────────────────
def record(writer, area=1):
    return make_record(
        writer_key=bytes(writer.key),
        separator=SEP,
        area_id=area,
        seller=raw(SELLER),
        buyer=raw(BUYER),
        buyer_public_key=PrivateKey(bytes(BUYER.key)).public_key.format(compressed=False),
        listing_id=1,
        order_id=3,
        status=3,
        credit_delta=1,
        details={"item": "lamp"},
    )


def test_record__seller_or_bridge_signed__taken__anyone_else_or_other_area__400():
    ours = record(SELLER)
    assert check_record(ours, 1, SEP, (raw(BRIDGE),)) == ours.digest(SEP)
    check_record(record(BRIDGE), 1, SEP, (raw(BRIDGE),))
    assert refused(check_record, record(OTHER), 1, SEP, (raw(BRIDGE),)) == (
        400,
        "the record is signed by neither its seller nor an escrow bridge",
    )
    assert refused(check_record, record(SELLER, area=2), 1, SEP, ()) == (
        400,
        "the record is for area 2, not 1",
    )


# ── the lookup and pending messages ────────────────────────────────────────────────────────
@pytest.fixture
def store(tmp_path):
    store = open_store(str(tmp_path / "g.db"))
    yield store
    store.close()


def publish(store, event_id, block, directory):
    args = {"epoch": str(directory.epoch), "root": "0x" + directory.root.hex()}
    with store.transaction() as tx:
        tx.execute(
            INSERT_EVENT,
            (event_id, block, "0x" + "ab" * 32, 0, "0x" + "cd" * 32, 1, "AreaDirectory",
             "DirectoryPublished", json.dumps(args), ""),
        )  # fmt: skip


def test_lookup__directory_in_force_from_its_block__file_must_match_the_root(store, tmp_path):
    account = BUYER.address.lower()
    hashed = hash_area(account, (1, 2))
    moved = 2 if hashed == 1 else 1
    directory = AreaDirectory(1, {account: moved})
    folder = tmp_path / "dirs"
    folder.mkdir()
    (folder / "epoch-1.json").write_text(json.dumps(directory.dump()))
    publish(store, 1, 50, directory)
    service = AreaLookupService(store, (2, 1), folder)
    assert service.area_at(account, 49) == hashed
    assert service.area_at(account, 50) == moved
    answer = service.answer(account, 50)
    assert (answer["area_id"], answer["rule"]) == (moved, "directory")
    # another directory of epoch 1 (not the published root) does not stand in for it
    (folder / "epoch-1.json").write_text(json.dumps(AreaDirectory(1, {account: hashed}).dump()))
    with pytest.raises(LookupUnavailable) as info:
        service.lookup(50)
    assert (info.value.status, info.value.reason) == (
        503,
        f"the directory of epoch 1 (root 0x{directory.root.hex()}) is published but this "
        "gateway does not hold it (--directories)",
    )


class _Nodes:
    area_ids = (1,)


def test_pending__delivered_message__no_longer_pending(store, monkeypatch):
    def message(nonce, sent_at):
        return {"src_area": 1, "dst_area": 2, "nonce": nonce, "header_hash": "0x00",
                "sent_at": sent_at}  # fmt: skip

    pending = PendingMessages(_Nodes(), store, SEP)
    monkeypatch.setattr(pending, "_messages", lambda area: [message(1, 100), message(2, 90)])
    with store.transaction() as tx:
        tx.execute(UPSERT_ENTITY, ("message", f"1:2:{1:020d}", None, None, None, 1, "{}"))
    out, silent = pending.pending(now=130)
    assert silent == []
    assert [(m["nonce"], m["status"], m["age"]) for m in out] == [(2, "sent", 40)]
