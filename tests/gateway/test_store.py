"""The indexer and its store, the same tests on SQLite and on PostgreSQL: the recorded history
projects to exactly what the contracts say, batches are atomic, a restart resumes to the
same index a single pass builds, and a reorg is rewound."""

import json

import pytest

from sec_offchain.contracts.client import to_bytes32
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.gateway import projection
from sec_offchain.gateway.indexer import Indexer
from sec_offchain.gateway.store import open_store
from tests.fixtures.gateway import AREA_DEPOSIT, JUDGE_STAKE, PRICE, VALIDATOR_STAKE

ETH = "0x0000000000000000000000000000000000000000"


@pytest.fixture(params=["sqlite", "postgresql"])
def new_store(request, tmp_path):
    """Makes fresh stores of the parametrised backend."""
    made = []

    def make():
        if request.param == "sqlite":
            url = str(tmp_path / f"store{len(made)}.db")
        else:
            url = request.getfixturevalue("postgres")()
        store = open_store(url)
        made.append(store)
        return store

    yield make
    for s in made:
        s.close()


def build(chain, store, **kw):
    ix = Indexer(chain.anvil.w3, chain.deployment, store, **kw)
    ix.catch_up()
    return ix


def raw_log_count(chain, to_block="latest"):
    addresses = [r.address for r in chain.deployment.contracts.values()]
    logs = chain.anvil.w3.eth.get_logs(
        {"fromBlock": chain.deployment.block, "toBlock": to_block, "address": addresses}
    )
    return len(logs)


def test_index__recorded_history__every_event_and_exact_projections(gateway_chain, new_store):
    chain, h = gateway_chain, gateway_chain.history
    store = new_store()
    build(chain, store)
    assert store.get_cursor() == chain.anvil.w3.eth.block_number
    count = store.query("SELECT COUNT(*) FROM events")[0][0]
    assert count == raw_log_count(chain)
    assert store.get_meta("next_id") == str(count + 1)
    ids = [r[0] for r in store.query("SELECT id FROM events ORDER BY block_number, log_index")]
    assert ids == list(range(1, count + 1))

    statuses = {
        int(r[0]): r[1] for r in store.query("SELECT key, status FROM entities WHERE kind='order'")
    }
    assert statuses == {
        h.completed: "completed",
        h.shared: "completed",
        h.cancelled: "cancelled",
        h.disputed: "ruled",
    }
    order = store.get_entity("order", str(h.disputed))
    assert (order["buyer"], order["seller"], order["price"], order["ruling"]) == (
        h.buyer,
        h.seller,
        str(PRICE),
        1,
    )
    assert order["case_id"] == h.case_id
    assert order["tracking"] == "0x" + to_bytes32(b"parcel-3").hex()
    assert store.get_entity("listing", str(h.closed_listing))["status"] == "closed"
    assert store.get_entity("listing", str(h.listing))["orders"] == 4

    case = store.get_entity("case", str(h.case_id))
    assert case["status"] == "executed"
    assert case["panel"] == h.panel
    assert case["votes"] == {j: 1 for j in h.panel[:2]}
    # executed as soon as two of three agreed: nobody was absent past a deadline
    assert (case["ruling"], case["majority"], case["absent"]) == (1, h.panel[:2], [])

    share = store.get_entity("share", str(h.share_id))
    assert (share["sharer"], share["order_id"]) == (h.buyer, h.completed)
    suite = chain.suite
    reward = suite.call(suite.shares.functions.share_info(h.share_id))
    assert reward[0] == h.buyer
    assert [r["order_id"] for r in share["rewards"]] == [h.shared]
    assert share["rewards"][0]["commission"] == str(PRICE * 200 // 10_000)

    for who in (h.seller, h.buyer, h.buyer2):
        acct = store.get_entity("account", who.lower())
        assert acct["trust"] == suite.trust_of(who), who
    assert store.get_entity("account", h.seller.lower())["failures"] == 1  # the cancel

    judges = store.query("SELECT key, status FROM entities WHERE kind='judge' ORDER BY key")
    assert judges == sorted((j.lower(), "active") for j in h.judges)
    silent = store.get_entity("judge", h.panel[2].lower())
    assert (silent["stake"], silent["penalties"], silent["active"]) == (
        str(JUDGE_STAKE),
        "0",
        True,
    )

    validators = store.query("SELECT a, b, status FROM entities WHERE kind='validator' ORDER BY a")
    assert validators == sorted((v.lower(), "1", "active") for v in h.validators)
    area = store.get_entity("area", "1")
    assert (area["anchored_height"], area["anchored_hash"]) == (1, h.anchored_hash)
    assert area["validator_stake"] == str(2 * VALIDATOR_STAKE)
    assert area["balance"] == str(AREA_DEPOSIT)
    volume = store.get_entity("volume", ETH)
    assert (volume["paid"], volume["completed"], volume["orders"]) == (
        str(4 * PRICE),
        str(2 * PRICE),
        4,
    )


def test_index__restart_midway__equals_one_pass(gateway_chain, new_store):
    chain = gateway_chain
    fresh = new_store()
    build(chain, fresh)
    store = new_store()
    first = Indexer(chain.anvil.w3, chain.deployment, store, block_range=3)
    for _ in range(5):
        first.step()
    assert store.get_cursor() == chain.deployment.block - 1 + 15
    again = Indexer(chain.anvil.w3, chain.deployment, store, block_range=7)
    again.catch_up()
    assert store.dump() == fresh.dump()


def test_index__confirmations__stays_that_many_blocks_behind_the_head(gateway_chain, new_store):
    store = new_store()
    ix = build(gateway_chain, store, confirmations=3)
    head = int(gateway_chain.anvil.w3.eth.block_number)
    assert store.get_cursor() == head - 3
    assert ix.step() == 0
    assert store.query("SELECT COUNT(*) FROM events WHERE block_number > ?", (head - 3,)) == [(0,)]


def test_index__failure_inside_a_batch__writes_nothing_of_it(gateway_chain, new_store, monkeypatch):
    chain = gateway_chain
    store = new_store()
    ix = Indexer(chain.anvil.w3, chain.deployment, store, block_range=10)
    ix.step()
    before = store.dump()

    def crash(self):
        raise RuntimeError("killed mid-batch")

    monkeypatch.setattr(projection.Projection, "flush", crash)
    with pytest.raises(RuntimeError, match="killed mid-batch"):
        ix.step()
    assert store.dump() == before
    monkeypatch.undo()
    ix.catch_up()
    fresh = new_store()
    build(chain, fresh)
    assert store.dump() == fresh.dump()


def test_index__other_deployment__refused(gateway_chain, new_store):
    from dataclasses import replace

    from sec_offchain.exceptions import ConfigError

    store = new_store()
    Indexer(gateway_chain.anvil.w3, gateway_chain.deployment, store)
    other = replace(gateway_chain.deployment, chain_id=1)
    with pytest.raises(ConfigError, match=r"the database indexes another deployment \(31337:"):
        Indexer(gateway_chain.anvil.w3, other, store)


def test_reorg__blocks_replaced__index_rewinds_to_the_fork_and_equals_a_fresh_one(
    gateway_chain, new_store
):
    chain, h = gateway_chain, gateway_chain.history
    w3, suite = chain.anvil.w3, chain.suite
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        store = new_store()
        ix = build(chain, store)
        fork = int(w3.eth.block_number)
        listing, _ = suite.create_listing(get_dev_account(9), PRICE, metadata=b"gone")
        order, _ = suite.buy(get_dev_account(3), listing)
        ix.catch_up()
        assert store.get_entity("order", str(order))["status"] == "paid"
        events_before = store.query("SELECT MAX(id) FROM events")[0][0]
        # both blocks replaced by two empty ones: same height, other hashes
        w3.provider.make_request("anvil_reorg", [2, []])
        assert int(w3.eth.block_number) == fork + 2
        ix.step()
        assert ix.reorgs == 1
        assert store.get_cursor() == fork
        assert store.get_entity("order", str(order)) is None
        assert store.get_entity("listing", str(listing)) is None
        assert store.get_entity("listing", str(h.listing))["orders"] == 4
        assert store.query("SELECT COUNT(*) FROM events WHERE block_number > ?", (fork,)) == [(0,)]
        # new events after the rewind get new ids: a stream never sees an id twice
        again, _ = suite.create_listing(get_dev_account(9), PRICE, metadata=b"new")
        ix.catch_up()
        assert store.query("SELECT MIN(id) FROM events WHERE block_number > ?", (fork,)) == [
            (events_before + 1,)
        ]
        fresh = new_store()
        build(chain, fresh)
        ours, theirs = store.dump(), fresh.dump()
        assert [r[1:] for r in ours["events"]] == [r[1:] for r in theirs["events"]]
        assert _without_seq(ours["entities"]) == _without_seq(theirs["entities"])
    finally:
        w3.provider.make_request("evm_revert", [snapshot])


def _without_seq(entities):
    """Entities with the ids of the events that last changed them left out (a rewound index
    hands out new ids; everything else must match)."""
    out = []
    for kind, key, a, b, status, _seq, data in entities:
        d = json.loads(data)
        d.pop("updated_seq")
        out.append((kind, key, a, b, status, d))
    return out


def test_sqlite_write__read_then_write_while_another_writer_commits__both_land(tmp_path):
    """A write transaction that reads first and writes after another connection committed
    (a listing posted while the indexer writes a batch) must wait for its turn, not fail
    with "database is locked"; the other writer waits in turn. If the second writer does
    not get in within 2 s (it waits for the first: the fix), the first goes ahead anyway."""
    import threading

    store = open_store(str(tmp_path / "g.db"))
    read, tried, done = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with store.transaction() as tx:
                assert tx.get_meta("a") is None
                read.set()
                tried.wait(10)
                done.wait(2)  # a deferred BEGIN let the second commit here
                tx.set_meta("a", "1")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def second() -> None:
        read.wait(10)
        tried.set()
        try:
            with store.transaction() as tx:
                tx.set_meta("b", "2")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert (store.get_meta("a"), store.get_meta("b")) == ("1", "2")
    store.close()
