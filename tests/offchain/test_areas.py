"""Relation-convergence areas: the relation graph, the seeded clustering with hysteresis and size
bounds, and the account -> area directory with its Merkle proofs."""

import json
import random
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from sec_offchain.areas import (
    AreaDirectory,
    AreaLookup,
    AreaParams,
    Move,
    Publication,
    Trade,
    build_relation_graph,
    hash_area,
    plan_areas,
    relation_weight,
    verify_entry,
)
from sec_offchain.areas.graph import AreaError

ROOT = Path(__file__).resolve().parents[2]
OZ = ROOT / "tests" / "fixtures" / "oz_merkle.cjs"
DAY = 86_400
PERIOD = 90 * DAY
NOW = 1_000 * DAY
GROUP = 20
PARAMS = AreaParams(area_ids=(0, 1, 2), seed=5)


def clustered_trades(groups: int = 6, seed: int = 3) -> list[Trade]:
    """`groups` communities of 20 accounts (ids g*20 .. g*20+19), 80 trades inside each over
    the last relation period, and 10 trades between random accounts."""
    rng = random.Random(seed)
    trades = []
    for g in range(groups):
        members = range(g * GROUP, (g + 1) * GROUP)
        for _ in range(4 * GROUP):
            a, b = rng.sample(members, 2)
            trades.append(Trade(a, b, NOW - rng.randrange(PERIOD // 2)))
    for _ in range(10):
        a, b = rng.sample(range(groups * GROUP), 2)
        trades.append(Trade(a, b, NOW - rng.randrange(PERIOD // 2)))
    return trades


@pytest.fixture(scope="module")
def genesis():
    return plan_areas(build_relation_graph(clustered_trades(), NOW, PERIOD), None, PARAMS)


def group_areas(assignment, groups=6):
    return [{assignment[a] for a in range(g * GROUP, (g + 1) * GROUP)} for g in range(groups)]


# ---------------------------------------------------------------- relation graph


def test_relation_weight__fresh_half_period_and_lapsed__exact():
    assert relation_weight(0, PERIOD) == 1.0
    assert relation_weight(PERIOD // 2, PERIOD) == 0.5
    assert relation_weight(PERIOD - 1, PERIOD) == 1 / PERIOD
    assert relation_weight(PERIOD, PERIOD) == 0.0
    assert relation_weight(-5, PERIOD) == 1.0  # a block time ahead of `now` counts as now
    with pytest.raises(AreaError, match="^the relation period must be positive$"):
        relation_weight(0, 0)


def test_relation_graph__lapsed_relation__drops_out():
    trades = [
        Trade(1, 2, NOW - PERIOD),  # a period old: lapsed
        Trade(1, 3, NOW - PERIOD + 1),  # one second younger: still live
        Trade(3, 1, NOW),  # the same pair again, either direction
        Trade(4, 4, NOW),  # a self-trade is no relation
    ]
    graph = build_relation_graph(trades, NOW, PERIOD)
    assert sorted(graph.nodes) == [1, 3]
    assert list(graph.edges(data="weight")) == [(1, 3, (1 + PERIOD) / PERIOD)]
    # a day later the old trade has lapsed too, only the fresh one is left
    later = build_relation_graph(trades, NOW + DAY, PERIOD)
    assert list(later.edges(data="weight")) == [(1, 3, (PERIOD - DAY) / PERIOD)]
    assert build_relation_graph(trades, NOW + PERIOD, PERIOD).number_of_nodes() == 0


def test_relation_graph__future_trade__weighs_one_as_if_now():
    # a block time ahead of `now` (clock skew between the planner and the chain)
    graph = build_relation_graph([Trade(1, 2, NOW + DAY)], NOW, PERIOD)
    assert list(graph.edges(data="weight")) == [(1, 2, 1.0)]


def test_relation_graph__integer_array__same_graph_as_the_records_at_the_edges():
    import numpy as np

    trades = [
        (1, 2, NOW - PERIOD),  # lapsed
        (1, 3, NOW - PERIOD + 1),
        (3, 1, NOW + DAY),  # ahead of now: counts as now
        (4, 4, NOW),
        (5, 6, NOW - PERIOD // 2),
    ]
    records = build_relation_graph(trades, NOW, PERIOD)
    array = build_relation_graph(np.array(trades, dtype=np.int64), NOW, PERIOD)
    expected = [(1, 3, (1 + PERIOD) / PERIOD), (5, 6, 0.5)]
    assert list(records.edges(data="weight")) == expected
    assert list(array.edges(data="weight")) == expected
    assert list(array.nodes) == list(records.nodes) == [1, 3, 5, 6]


def test_relation_graph__trade_order__does_not_matter():
    trades = clustered_trades()
    shuffled = trades[:]
    random.Random(9).shuffle(shuffled)
    a = build_relation_graph(trades, NOW, PERIOD)
    b = build_relation_graph(shuffled, NOW, PERIOD)
    assert list(a.nodes) == list(b.nodes)
    assert list(a.edges(data="weight")) == list(b.edges(data="weight"))


# ---------------------------------------------------------------- clustering


def test_plan__same_seed__same_directory_and_communities_kept_whole(genesis):
    shuffled = clustered_trades()
    random.Random(1).shuffle(shuffled)
    again = plan_areas(build_relation_graph(shuffled, NOW, PERIOD), None, PARAMS)
    assert again.assignment == genesis.assignment
    assert genesis.moves == [] and genesis.communities == 6
    # every community lies in one area, two communities per area: 40 accounts each
    assert all(len(areas) == 1 for areas in group_areas(genesis.assignment))
    assert genesis.sizes == {0: 40, 1: 40, 2: 40}
    assert genesis.largest_ratio == 1.0


def test_plan__one_more_trade__moves_nobody(genesis):
    a, b = 0, 3 * GROUP  # communities 0 and 3 sit in different areas
    assert genesis.assignment[a] != genesis.assignment[b]
    graph = build_relation_graph(clustered_trades() + [Trade(a, b, NOW)], NOW, PERIOD)
    plan = plan_areas(graph, genesis.assignment, PARAMS)
    assert plan.moves == []
    assert plan.assignment == genesis.assignment


def test_plan__account_whose_relations_lapsed_with_one_new_trade__stays(genesis):
    x, y = 5, 3 * GROUP
    trades = [t for t in clustered_trades() if x not in (t.seller, t.buyer)]
    graph = build_relation_graph(trades + [Trade(x, y, NOW)], NOW, PERIOD)
    plan = plan_areas(graph, genesis.assignment, PARAMS)
    assert plan.moves == []
    assert plan.assignment[x] == genesis.assignment[x]


def test_plan__account_now_trading_in_another_community__moves_once(genesis):
    x = 5
    old = genesis.assignment[x]
    new = genesis.assignment[3 * GROUP]
    trades = [t for t in clustered_trades() if x not in (t.seller, t.buyer)]
    trades += [Trade(x, 3 * GROUP + i, NOW - i * DAY) for i in range(3)]
    graph = build_relation_graph(trades, NOW, PERIOD)
    plan = plan_areas(graph, genesis.assignment, PARAMS)
    assert plan.moves == [Move(x, old, new)]
    # the next epoch, with nothing new, moves it nowhere (no oscillation)
    assert plan_areas(graph, plan.assignment, PARAMS).moves == []


def test_plan__lapsed_account__keeps_its_area(genesis):
    x = 7
    trades = [t for t in clustered_trades() if x not in (t.seller, t.buyer)]
    plan = plan_areas(build_relation_graph(trades, NOW, PERIOD), genesis.assignment, PARAMS)
    assert plan.assignment[x] == genesis.assignment[x]
    assert plan.moves == []


def test_plan__giant_community__split_to_the_size_bound():
    rng = random.Random(4)
    giant = [Trade(a, b, NOW) for a in range(70) for b in range(a + 1, 70)]
    small = [
        Trade(a, b, NOW - rng.randrange(DAY))
        for g in range(5)
        for a in range(70 + 10 * g, 80 + 10 * g)
        for b in range(a + 1, 80 + 10 * g)
    ]
    plan = plan_areas(build_relation_graph(giant + small, NOW, PERIOD), None, PARAMS)
    # 120 accounts, 3 areas: the 70-clique is cut at the packing bound ceil(1.2 * 40) = 48
    # into a piece of 48 and one of 22, packed largest first with the five groups of 10
    # (48 | 22 + 10 | 10 + 10 + 10 + 10); the 22 would rather join the 48, which is full
    assert sorted(plan.sizes.values()) == [32, 40, 48]
    clique = Counter(plan.assignment[a] for a in range(70))
    assert sorted(clique.values()) == [22, 48]
    assert plan.sizes[clique.most_common(1)[0][0]] == 48
    assert all(len({plan.assignment[a] for a in range(g, g + 10)}) == 1 for g in range(70, 120, 10))
    assert plan.largest_ratio == 48 * 3 / 120
    assert plan.largest_ratio <= 2.0


def hysteresis_plan(own: int, other: int, max_ratio: float = 2.0):
    """Account 1 (area 0) with `own` fresh trades with account 2 (area 0) and `other` with
    accounts 3 and 4 (area 1); accounts 5..8 fill the areas to 4 each (the hard bound is
    `max_ratio` x 4)."""
    trades = [Trade(1, 2, NOW)] * own + [Trade(1, 3 + i % 2, NOW) for i in range(other)]
    previous = {1: 0, 2: 0, 3: 1, 4: 1, 5: 0, 6: 0, 7: 1, 8: 1}
    params = AreaParams(area_ids=(0, 1), seed=1, max_ratio=max_ratio)
    return plan_areas(build_relation_graph(trades, NOW, PERIOD), previous, params)


def test_plan__gain_of_exactly_min_gain__moves_into_an_area_then_exactly_at_the_bound():
    # 4 against 2: exactly min_gain (2) more, and twice as much (>= 1.5); area 1 then holds
    # 5 = floor(1.3 x 4), exactly the hard bound (account 2 cannot follow: 6 would pass it)
    plan = hysteresis_plan(own=2, other=4, max_ratio=1.3)
    assert plan.assignment[1] == 1
    assert [m for m in plan.moves if m.account in (1, 2)] == [Move(1, 0, 1)]
    assert plan.sizes == {0: 3, 1: 5}


def test_plan__min_gain_met_but_below_the_gain_ratio__stays():
    # 8 against 6: min_gain (2) more, but 8 < 1.5 x 6
    plan = hysteresis_plan(own=6, other=8)
    assert plan.assignment[1] == 0
    assert [m for m in plan.moves if m.account == 1] == []


def test_plan__new_account_with_equal_weight_in_two_areas__stays_where_placed():
    # account 1 is new, one trade with 2 (area 0) and one with 3 (area 1): its community
    # joins the less loaded area 1, and a tie is no gain, so it stays there
    trades = [Trade(1, 2, NOW), Trade(1, 3, NOW)]
    previous = {2: 0, 3: 1, 5: 0, 6: 0, 7: 1}
    params = AreaParams(area_ids=(0, 1), seed=1)
    plan = plan_areas(build_relation_graph(trades, NOW, PERIOD), previous, params)
    assert plan.assignment == {1: 1, 2: 0, 3: 1, 5: 0, 6: 0, 7: 1}


def test_plan__new_accounts_without_relations__take_their_hash_area():
    plan = plan_areas(build_relation_graph([], NOW, PERIOD), None, PARAMS, accounts=[7, 11])
    assert plan.assignment == {7: hash_area(7, (0, 1, 2)), 11: hash_area(11, (0, 1, 2))}
    assert plan.assignment == {7: 1, 11: 2}
    assert hash_area("0x" + "00" * 19 + "0b", (4, 2, 9)) == 9
    assert hash_area("0x" + "00" * 19 + "0a", (4, 2, 9)) == 4  # ids taken in sorted order


def test_plan__bad_parameters_or_directory__refused(genesis):
    graph = build_relation_graph(clustered_trades(), NOW, PERIOD)
    with pytest.raises(AreaError, match="^the previous directory puts 0 in unknown area 9$"):
        plan_areas(graph, {0: 9}, PARAMS)
    with pytest.raises(AreaError, match="^min_gain below one trade would let"):
        plan_areas(graph, None, AreaParams(min_gain=0.5))
    with pytest.raises(AreaError, match="^area ids must be distinct and non-negative$"):
        plan_areas(graph, None, AreaParams(area_ids=(1, 1)))
    with pytest.raises(AreaError, match="^need 1 <= pack_ratio <= max_ratio$"):
        plan_areas(graph, None, AreaParams(pack_ratio=2.5))


# ---------------------------------------------------------------- directory


def address(i: int) -> str:
    return "0x" + format(0xA000 + i, "040x")


@pytest.fixture(scope="module")
def directory(genesis):
    return AreaDirectory(4, {address(a): area for a, area in genesis.assignment.items()}, 1234)


def test_directory__every_proof_verifies_against_the_root(directory, genesis):
    assert len(directory) == 120
    for a, area in genesis.assignment.items():
        entry = directory.get_proof(address(a).upper().replace("0X", "0x"))
        assert entry.area_id == area == directory.area_of(address(a))
        assert verify_entry(directory.root, entry.account, entry.area_id, entry.proof)


def test_directory__forged_proofs__refused(directory, genesis):
    a = directory.get_proof(address(0))
    b = directory.get_proof(address(GROUP * 3))
    assert a.area_id != b.area_id
    other_area = next(x for x in (0, 1, 2) if x != a.area_id)
    flipped = (bytes([a.proof[0][0] ^ 1]) + a.proof[0][1:],) + a.proof[1:]
    other = AreaDirectory(5, {address(0): other_area, address(1): a.area_id})
    assert not verify_entry(directory.root, a.account, other_area, a.proof)  # wrong area
    assert not verify_entry(directory.root, a.account, a.area_id, b.proof)  # someone else's
    assert not verify_entry(directory.root, b.account, a.area_id, a.proof)
    assert not verify_entry(directory.root, a.account, a.area_id, a.proof[:-1])  # truncated
    assert not verify_entry(directory.root, a.account, a.area_id, a.proof + a.proof[-1:])
    assert not verify_entry(directory.root, a.account, a.area_id, flipped)
    assert not verify_entry(directory.root, a.account, a.area_id, a.proof[:1] + (b"\x00" * 31,))
    assert not verify_entry(b"\x00" * 32, a.account, a.area_id, a.proof)  # zero root
    assert not verify_entry(other.root, a.account, a.area_id, a.proof)  # another epoch's root
    assert not verify_entry(directory.root, "0x1234", a.area_id, a.proof)
    assert not verify_entry(directory.root, a.account, -1, a.proof)
    with pytest.raises(AreaError, match=f"^{address(999)} is not in the directory of epoch 4$"):
        directory.get_proof(address(999))


def test_directory__root_and_proofs_equal_openzeppelin(directory):
    node = shutil.which("node")
    assert node, "node is needed for the reference vectors (installed with npm by make setup)"
    dump = directory.dump()
    entries = sorted(directory.entries.items())[:5]
    request = {
        "op": "verify",
        "dump": dump["tree"],
        "proofs": [
            {
                "value": [acc, str(area)],
                "proof": ["0x" + p.hex() for p in directory.get_proof(acc).proof],
            }
            for acc, area in entries
        ],
    }
    out = subprocess.run(
        [node, str(OZ)], input=json.dumps(request), capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    assert result == {"root": dump["root"], "ok": [True] * 5, "static_ok": [True] * 5}


def test_directory__load__another_leaf_encoding__refused_even_with_the_same_root(directory):
    # uint64 encodes a small area id in the same 32 bytes: the root recomputes, but the tree
    # is not declared as a directory (address, uint256)
    data = json.loads(json.dumps(directory.dump()))
    data["tree"]["leafEncoding"] = ["address", "uint64"]
    with pytest.raises(AreaError, match=r"^not a directory tree \(wrong leaf encoding\)$"):
        AreaDirectory.load(data)


def test_directory__dump_and_load__same_root_and_tampering_refused(directory):
    data = json.loads(json.dumps(directory.dump()))
    loaded = AreaDirectory.load(data)
    assert (loaded.root, loaded.epoch, loaded.source_block) == (directory.root, 4, 1234)
    assert loaded.entries == directory.entries
    tampered = json.loads(json.dumps(data))
    value = tampered["tree"]["values"][0]["value"]
    value[1] = str((int(value[1]) + 1) % 3)
    with pytest.raises(AreaError, match="^malformed directory: a leaf does not match its value$"):
        AreaDirectory.load(tampered)
    wrong_root = dict(data, root="0x" + "11" * 32)
    with pytest.raises(
        AreaError, match="^malformed directory: the root does not match its entries$"
    ):
        AreaDirectory.load(wrong_root)
    with pytest.raises(AreaError, match="^a directory needs at least one account$"):
        AreaDirectory(1, {})
    with pytest.raises(AreaError, match="^epochs count from 1$"):
        AreaDirectory(0, {address(1): 0})
    with pytest.raises(AreaError, match=f"^0x{address(1)[2:].upper()} is listed twice$"):
        AreaDirectory(1, {address(1): 0, "0x" + address(1).upper()[2:]: 1})


# ---------------------------------------------------------------- lookup over epochs


def test_lookup__open_order__finishes_in_the_area_where_it_started(directory):
    seller = address(0)
    before = directory.area_of(seller)
    after = (before + 1) % 3
    moved = AreaDirectory(5, {**directory.entries, seller: after})
    lookup = AreaLookup((0, 1, 2))
    lookup.add(Publication(4, directory.root, 100), directory)
    lookup.add(Publication(5, moved.root, 200), moved)
    assert lookup.area_at(seller, 99) == hash_area(seller, (0, 1, 2))  # before any directory
    assert lookup.area_at(seller, 100) == before
    assert lookup.area_at(seller, 199) == before
    assert lookup.area_at(seller, 200) == after
    # an order paid at block 150 completes after the move: it stays in the area it started in
    assert lookup.order_area(seller, 150) == before
    assert lookup.order_area(seller, 250) == after
    stranger = address(500)  # in no directory: its hash area
    assert lookup.area_at(stranger, 300) == hash_area(stranger, (0, 1, 2))


def test_lookup__unpublished_or_out_of_order_directory__refused(directory):
    lookup = AreaLookup((0, 1, 2))
    with pytest.raises(AreaError, match="^directory of epoch 4 does not match its published root$"):
        lookup.add(Publication(4, b"\x11" * 32, 100), directory)
    with pytest.raises(AreaError, match="^directory of epoch 4 offered for epoch 3$"):
        lookup.add(Publication(3, directory.root, 100), directory)
    lookup.add(Publication(4, directory.root, 100), directory)
    with pytest.raises(AreaError, match="^epoch 4 does not follow epoch 4$"):
        lookup.add(Publication(4, directory.root, 100), directory)
    later = AreaDirectory(5, directory.entries)
    with pytest.raises(AreaError, match="^epoch 5 does not follow epoch 4$"):
        lookup.add(Publication(5, later.root, 99), later)
    skipped = AreaDirectory(6, directory.entries)
    with pytest.raises(AreaError, match="^epoch 6 does not follow epoch 4$"):
        lookup.add(Publication(6, skipped.root, 200), skipped)
    assert lookup.directory_at(1_000) is directory
