"""The projection as a function: hand-made decoded events applied in one store transaction,
and the entity rows they must add up to, field by field (who is the buyer and who the seller,
sums that accumulate rather than overwrite, statuses that must not come back, the keys the
pages are ordered by). No chain: the recorded history (test_store.py) checks the same code
against the contracts."""

import pytest

from sec_offchain.gateway.decode import DecodedEvent
from sec_offchain.gateway.projection import Projection
from sec_offchain.gateway.store import open_store

SELLER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BUYER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
JUDGES = [
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
]
ESCROW = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9"
ETH = "0x0000000000000000000000000000000000000000"
PRICE = str(10**18)


@pytest.fixture
def store(tmp_path):
    store = open_store(str(tmp_path / "p.db"))
    yield store
    store.close()


def project(store, *events):
    """Applies (contract, name, args) in order (ids 1, 2, ...; block time 1000 + id); returns
    what `apply` said of each event (the accounts it concerns, its summary)."""
    out = []
    with store.transaction() as tx:
        proj = Projection(tx)
        proj.contract_addresses = {ESCROW.lower()}
        for seq, (contract, name, args) in enumerate(events, 1):
            ev = DecodedEvent(seq, "0x" + "ab" * 32, 0, "0x" + "cd" * 32, contract, name, args)
            out.append(proj.apply(seq, 1000 + seq, ev))
        proj.flush()
    return out


def row(store, kind, key):
    [(a, b, status)] = store.query(
        "SELECT a, b, status FROM entities WHERE kind = ? AND key = ?", (kind, key)
    )
    return a, b, status


def listing(lid=1):
    return (
        "Escrow",
        "ListingCreated",
        {
            "listing_id": str(lid),
            "seller": SELLER,
            "token": ETH,
            "price": PRICE,
            "auto_complete": "86400",
            "ship_window": "3600",
            "metadata": "0x" + "00" * 32,
        },
    )


def paid(oid, lid=1):
    args = {
        "order_id": str(oid),
        "listing_id": str(lid),
        "buyer": BUYER,
        "price": PRICE,
        "share_id": "0",
        "ship_by": "5000",
    }
    return ("Escrow", "OrderPaid", args)


def test_orders__paid_twice_then_completed__parties_sums_and_status_column(store):
    said = project(
        store,
        listing(),
        paid(1),
        paid(2),
        ("Escrow", "OrderCompleted", {"order_id": "1", "seller": SELLER, "buyer": BUYER,
                                      "price": PRICE}),
    )  # fmt: skip
    order = store.get_entity("order", "1")
    assert (order["buyer"], order["seller"], order["status"], order["closed_at"]) == (
        BUYER,
        SELLER,
        "completed",
        1004,
    )
    assert row(store, "order", "1") == (BUYER.lower(), SELLER.lower(), "completed")
    assert row(store, "order", "2") == (BUYER.lower(), SELLER.lower(), "paid")
    assert store.get_entity("listing", "1")["orders"] == 2
    volume = store.get_entity("volume", ETH)
    assert (volume["paid"], volume["completed"], volume["orders"]) == (
        str(2 * 10**18),
        str(10**18),
        2,
    )
    assert said[3] == (
        sorted([BUYER.lower(), SELLER.lower()]),
        f"order 1 completed: the seller is paid {PRICE}",
    )


def test_apply__the_contracts_own_address__not_an_account_concerned(store):
    [(accounts, _)] = project(
        store, ("Escrow", "RewardPaid", {"to": ESCROW, "from": BUYER, "other": SELLER})
    )
    assert accounts == sorted([BUYER.lower(), SELLER.lower()])


def test_accounts__penalty_keeps_active__disabled_stays_disabled__sums_accumulate(store):
    def trust(old, new, reason):
        return (
            "TrustIndex",
            "TrustChanged",
            {"account": SELLER, "old": str(old), "new": str(new), "reason": str(reason)},
        )

    def rewarded(order, commission, bonus):
        return (
            "ShareRewards",
            "ShareRewarded",
            {"share_id": "4", "order_id": str(order), "sharer": SELLER, "token": ETH,
             "commission": str(commission), "bonus": str(bonus)},
        )  # fmt: skip

    def claimed(amount):
        return ("ShareRewards", "RewardClaimed", {"account": SELLER, "amount": str(amount)})

    project(
        store,
        trust(0, 1, 0),
        trust(1, 0, 1),
        rewarded(7, 20, 300),
        rewarded(8, 40, 500),
        claimed(100),
        claimed(250),
    )
    acct = store.get_entity("account", SELLER.lower())
    assert (acct["trust"], acct["status"]) == (0, "active")
    assert (acct["rewards_earned"], acct["rewards_claimed"]) == ("800", "350")
    project(
        store,
        ("TrustIndex", "AccountDisabled", {"account": SELLER}),
        trust(0, 0, 1),
    )
    acct = store.get_entity("account", SELLER.lower())
    assert (acct["status"], row(store, "account", SELLER.lower())[2]) == ("disabled", "disabled")


def test_judges_and_validators__penalties_sum__no_stake_inactive__ejected_stays_ejected(store):
    def penalized(amount):
        return ("Staking", "JudgePenalized", {"judge": JUDGES[0], "amount": str(amount)})

    def weight(validator, stake, total):
        return (
            "Staking",
            "WeightSet",
            {"area_id": "1", "validator": validator, "stake": str(stake), "area_total": str(total)},
        )

    project(
        store,
        penalized(5),
        penalized(7),
        weight(JUDGES[1], 0, 0),
        weight(JUDGES[2], 10, 10),
        ("Staking", "Ejected", {"area_id": "1", "validator": JUDGES[2]}),
        weight(JUDGES[2], 30, 30),
    )
    assert store.get_entity("judge", JUDGES[0].lower())["penalties"] == "12"
    none = store.get_entity("validator", f"1:{JUDGES[1].lower()}")
    assert (none["stake"], none["status"]) == ("0", "inactive")
    ejected = store.get_entity("validator", f"1:{JUDGES[2].lower()}")
    assert (ejected["stake"], ejected["status"]) == ("30", "ejected")
    assert store.get_entity("area", "1")["validator_stake"] == "30"


def test_cases__parties_from_the_order__majority_and_absent_kept_apart(store):
    project(
        store,
        listing(),
        paid(3),
        ("Court", "CaseOpened", {"case_id": "9", "order_id": "3", "draw_block": "40"}),
        ("Court", "CaseExecuted", {"case_id": "9", "ruling": "2", "majority": JUDGES[:2],
                                   "absent": JUDGES[2:]}),
    )  # fmt: skip
    case = store.get_entity("case", "9")
    assert (case["buyer"], case["seller"]) == (BUYER, SELLER)
    assert (case["status"], case["ruling"], case["majority"], case["absent"]) == (
        "executed",
        2,
        JUDGES[:2],
        JUDGES[2:],
    )
    assert row(store, "case", "9") == (BUYER.lower(), SELLER.lower(), "executed")
    assert store.get_entity("order", "3")["case_id"] == 9


def test_areas__headers_keyed_in_height_order__balances_move__pause_and_counts(store):
    def anchored(height):
        return (
            "AnchorHub",
            "HeaderAnchored",
            {"area_id": "1", "height": str(height), "header_hash": "0x" + f"{height:064x}",
             "parent_hash": "0x" + "00" * 32, "tx_root": "0x" + "00" * 32,
             "credit_root": "0x" + "00" * 32, "egress_root": "0x" + "00" * 32,
             "timestamp": "1", "submitter": SELLER},
        )  # fmt: skip

    def equivocation():
        return (
            "AnchorHub",
            "EquivocationProven",
            {"area_id": "1", "validator": JUDGES[0], "height": "2", "reporter": JUDGES[1]},
        )

    project(
        store,
        anchored(2),
        anchored(10),
        equivocation(),
        equivocation(),
        ("BorderGateway", "DepositedToArea", {"area_id": "1", "account": BUYER, "amount": "100"}),
        ("BorderGateway", "MessageDelivered", {"src_area": "1", "dst_area": "2", "nonce": "1",
                                               "sender": BUYER, "recipient": SELLER,
                                               "amount": "30", "payload_hash": "0x" + "00" * 32}),
        ("BorderGateway", "AreaPaused", {"area_id": "1", "by": JUDGES[0]}),
        ("BorderGateway", "AreaUnpaused", {"area_id": "1", "by": JUDGES[0]}),
    )  # fmt: skip
    keys = [k for (k,) in store.query("SELECT key FROM entities WHERE kind='header' ORDER BY key")]
    assert keys == [f"1:{2:020d}", f"1:{10:020d}"]
    area = store.get_entity("area", "1")
    assert (area["anchored_height"], area["equivocations"], area["balance"]) == (10, 2, "70")
    assert (area["paused"], row(store, "area", "1")[2]) == (False, "running")
    assert store.get_entity("area", "2")["balance"] == "30"
