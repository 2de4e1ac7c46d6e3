"""The community consensus on small hand-built cases, with the exact outcome of each rule:
votes and their recheck, neighbor rings, ties, duty, the proof-of-work target at its boundary,
difficulty retargeting, one block per slot, header and share checks, fork choice, late-block
refusal, 2-deep finality and the signer's slashing protection."""

from dataclasses import replace

import pytest

from sec_offchain.area.block import FullHeader
from sec_offchain.area.chain import AreaChain
from sec_offchain.area.merkle import ZERO32
from sec_offchain.consensus.communities import (
    neighbor_map,
    on_duty,
    ring,
    tally,
    verified_votes,
    vote,
)
from sec_offchain.consensus.fork_choice import ADDED, KNOWN, ORPHAN, REFUSED, ForkChoice, Meta
from sec_offchain.consensus.pow import (
    MAX_TARGET,
    SHARE_FACTOR,
    CommunityPoW,
    meets,
    mine,
    mine_share,
    retarget,
    share_hash,
    share_ok,
    work_base,
    work_hash,
)
from sec_offchain.consensus.signer import SlashingProtectionError, ValidatorSigner
from sec_offchain.crypto.hashing import keccak
from sec_offchain.encoding.area_header import AreaHeader
from tests.offchain.test_area_pow import ADDRS, CONFIG, GENESIS, NODES, at, on_duty_nodes, policy

NODE_IDS = [keccak(bytes([i]))[:20] for i in range(12)]


# ---------------------------------------------------------------------------- communities


def test_vote__is_the_keccak_formula_and_covers_1_to_k():
    voter, neighbor = NODE_IDS[0], NODE_IDS[1]
    word = keccak(b"SEC vote" + voter + (7).to_bytes(8, "big") + neighbor)
    assert vote(voter, 7, neighbor, 10) == int.from_bytes(word[:8], "big") % 10 + 1
    seen = {vote(voter, e, neighbor, 4) for e in range(200)}
    assert seen == {1, 2, 3, 4}


def test_verified_votes__recomputes_voter_to_neighbor_not_the_reverse():
    node = NODE_IDS[0]
    voters = NODE_IDS[1:9]
    honest = {v: vote(v, 3, node) for v in voters}
    assert verified_votes(honest, node, 3) == [honest[v] for v in voters]
    reversed_votes = {v: vote(node, 3, v) for v in voters}
    expected = [c for v, c in reversed_votes.items() if c == honest[v]]
    assert verified_votes(reversed_votes, node, 3) == expected
    assert len(expected) < len(voters)  # the reversed formula is not the vote


def test_neighbor_map__small_rings_have_no_repeats_or_self():
    three = neighbor_map(NODE_IDS[:3], 1, degree=8)
    for node, ns in three.items():
        assert len(ns) == 2 and node not in ns and len(set(ns)) == 2
    order = ring(NODE_IDS[:5], 1)
    five = neighbor_map(NODE_IDS[:5], 1, degree=2)
    for i, node in enumerate(order):
        assert five[node] == [order[(i - 1) % 5], order[(i + 1) % 5]]


def test_ring__reordered_every_epoch_by_the_epoch_hash():
    assert ring(NODE_IDS, 1) == sorted(NODE_IDS, key=lambda n: keccak((1).to_bytes(8, "big") + n))
    assert ring(NODE_IDS, 1) != ring(NODE_IDS, 2)


def test_tally__majority_smallest_tie_rule_and_hash_tie_rule():
    assert tally([]) == 1
    assert tally([5, 2, 5]) == 5
    assert tally([3, 1, 3, 1], tie_break="smallest") == 1
    assert tally([7, 9], tie_break="smallest") == 7
    node = NODE_IDS[4]
    pick = int.from_bytes(keccak(b"SEC tie" + node + (6).to_bytes(8, "big"))[:8], "big") % 3
    assert tally([4, 2, 8], node, 6) == [2, 4, 8][pick]


def test_on_duty__slot_to_community_exactly():
    assert [on_duty(s, 3) for s in (0, 1, 2, 3, 4)] == [1, 2, 3, 1, 2]
    assert on_duty(9, 10) == 10 and on_duty(10, 10) == 1


# ---------------------------------------------------------------------------- work


def test_meets__a_hash_equal_to_the_target_fails_one_below_passes():
    for difficulty in (1, 3, 2**10):
        target = MAX_TARGET // difficulty
        if target < MAX_TARGET:
            assert not meets(target.to_bytes(32, "big"), difficulty)
        assert meets((target - 1).to_bytes(32, "big"), difficulty)
    assert not meets((MAX_TARGET // 7).to_bytes(32, "big"), 7)
    assert meets(b"\x00" * 32, 2**200)


def test_retarget__exact_factors_and_the_clamp_at_2():
    assert retarget(1000, 1.0, 1.0) == 1000
    assert retarget(1000, 1.25, 1.0) == 800
    assert retarget(1000, 0.8, 1.0) == 1250
    assert retarget(1000, 0.0001, 1.0) == 2000
    assert retarget(1000, 0.4, 1.0) == 2000
    assert retarget(1000, 100.0, 1.0) == 500
    assert retarget(1, 100.0, 1.0) == 1


def header(parent_height, ts, difficulty=0):
    return FullHeader(1, parent_height, ZERO32, ZERO32, ZERO32, ZERO32, ts, difficulty=difficulty)


def test_expected_difficulty__retargets_when_the_child_height_is_a_multiple():
    p = CommunityPoW(ADDRS, slot_time=2.0, genesis_time=GENESIS, difficulty=1000, solve_target=0.5)
    assert p.expected_difficulty(None, []) == 1000
    times = [GENESIS + 2 * i for i in range(10)]  # one block per slot: solve time as aimed
    assert p.expected_difficulty(header(9, times[-1], 1000), times) == 1000
    fast = [GENESIS + i for i in range(10)]  # 1 s apart in 2 s slots: as fast as can be
    assert p.expected_difficulty(header(9, fast[-1], 1000), fast) == 2000
    assert p.expected_difficulty(header(8, fast[-1], 1000), fast) == 1000
    assert p.expected_difficulty(header(10, fast[-1], 1000), fast) == 1000
    slow = [GENESIS + 4 * i for i in range(10)]  # 4 s apart: retarget(d, 2.5, 0.5) halves
    assert p.expected_difficulty(header(19, slow[-1], 1000), slow) == 500
    assert p.expected_difficulty(header(3, 0, 0), fast) == 1000  # no difficulty: the first's


def test_slot_of__counts_from_genesis():
    p = policy()
    assert [p.slot_of(GENESIS + t) for t in (0, 1, 2, 5)] == [0, 0, 1, 2]
    assert p.slot_of(GENESIS - 1) == -1


def test_may_produce__one_block_per_slot_along_a_chain():
    p = policy()
    slot = next(s for s in range(2, 40) if on_duty_nodes(p, s))
    who = ADDRS[NODES.index(on_duty_nodes(p, slot)[0])]
    same_slot_parent = header(1, at(slot))
    prev_slot_parent = header(1, at(slot - 1, 1))
    assert p.may_produce(who, 2, at(slot, 1), prev_slot_parent) is True
    assert p.may_produce(who, 2, at(slot, 1), same_slot_parent) is False
    assert p.may_produce(who, 1, GENESIS - 1, None) is False
    assert p.may_produce(b"\x42" * 20, 1, at(slot), None) is False


def mined_header(p, slot, who, parent=None, **changes):
    h = FullHeader(
        1,
        1,
        ZERO32,
        b"\x01" * 32,
        ZERO32,
        ZERO32,
        at(slot),
        community=on_duty(slot, p.k),
        producer=who,
        difficulty=p.expected_difficulty(parent, []),
    )
    return mine(replace(h, **changes))


def test_check_header__each_rule_with_its_reason():
    p = policy()
    slot = 3
    who = ADDRS[NODES.index(on_duty_nodes(p, slot)[0])]
    good = mined_header(p, slot, who)
    assert p.check_header(good, None, []) is None
    wrong_comm = mined_header(p, slot, who, community=on_duty(slot + 1, p.k))
    assert p.check_header(wrong_comm, None, []) == "community is not the one on duty in this slot"
    wrong_diff = mined_header(p, slot, who, difficulty=p.difficulty // 2)
    assert p.check_header(wrong_diff, None, []) == "difficulty does not follow from the parent"
    nonce = good.nonce + 1
    while meets(work_hash(work_base(good), nonce), good.difficulty):
        nonce += 1
    assert (
        p.check_header(replace(good, nonce=nonce), None, [])
        == "proof of work does not meet the difficulty"
    )


def test_shares__exact_rules_and_the_share_factor():
    p = policy()
    slot = next(s for s in range(1, 50) if len(on_duty_nodes(p, s)) >= 2)
    a, b = (ADDRS[NODES.index(n)] for n in on_duty_nodes(p, slot)[:2])
    off = [x for x in ADDRS if not p.on_duty(x, slot)]
    h = mined_header(p, slot, a)
    nb = mine_share(h.parent_hash, slot, b, h.difficulty)
    na = mine_share(h.parent_hash, slot, a, h.difficulty)
    assert p.check_shares(h, [(b, nb)]) is None
    assert p.check_shares(h, [(a, na)]) == "a share is the producer's or repeated"
    assert p.check_shares(h, [(b, nb), (b, nb)]) == "a share is the producer's or repeated"
    if off:
        no = mine_share(h.parent_hash, slot, off[0], h.difficulty)
        assert p.check_shares(h, [(off[0], no)]) == "a share is from a member not on duty"
    bad = next(n for n in range(10_000) if not share_ok(h.parent_hash, slot, b, n, h.difficulty))
    assert p.check_shares(h, [(b, bad)]) == "a share does not meet its target"
    # the share target is difficulty / 16 exactly: a hash between the /16 and /8 targets passes
    d = 2**12
    lo, hi = MAX_TARGET // (d // 8), MAX_TARGET // (d // SHARE_FACTOR)
    nonce = next(
        n for n in range(200_000) if lo <= int.from_bytes(share_hash(ZERO32, 1, b, n), "big") < hi
    )
    assert SHARE_FACTOR == 16 and share_ok(ZERO32, 1, b, nonce, d) is True


def test_add_share__a_members_second_share_is_not_taken(tmp_path):
    p = policy()
    chain = AreaChain(tmp_path / "s.db", CONFIG, p)
    slot = next(s for s in range(1, 50) if on_duty_nodes(p, s))
    member = ADDRS[NODES.index(on_duty_nodes(p, slot)[0])]
    d = p.expected_difficulty(None, [])
    first = mine_share(ZERO32, slot, member, d)
    second = next(n for n in range(first + 1, 10**6) if share_ok(ZERO32, slot, member, n, d))
    assert chain.add_share(ZERO32, slot, member, first) is True
    assert chain.add_share(ZERO32, slot, member, second) is False
    assert chain.shares == {(ZERO32, slot): {member: first}}
    assert chain.add_share(b"\x07" * 32, slot, member, first) is False  # unknown parent
    chain.close()


# ---------------------------------------------------------------------------- fork choice


def M(i, parent, height, slot):  # noqa: N802 - a block in a drawing
    return Meta(i, parent, height, slot)


def test_fork_choice__late_window_is_exactly_one_slot():
    def setup():
        fc = ForkChoice()
        fc.add(M("a", None, 1, 1), 1)
        fc.add(M("b", "a", 2, 2), 2)
        fc.add(M("c", "b", 3, 3), 3)  # the next community built on b
        return fc

    fc = setup()
    assert fc.add(M("x", "a", 2, 2), now_slot=3) == REFUSED  # one slot late
    assert fc.refused == 1
    fc = setup()
    assert fc.add(M("x", "a", 2, 2), now_slot=4) == ADDED  # older: sync, judged by length
    assert fc.best == "c"
    fc = setup()
    assert fc.add(M("x", "a", 2, 3), now_slot=3) == ADDED  # same slot as b's child: not refused
    assert fc.add(M("x", "a", 2, 3), now_slot=3) == KNOWN
    assert fc.add(M("y", "zz", 3, 3), now_slot=3) == ORPHAN


def test_fork_choice__ties_keep_the_first_seen_and_reorg_depth_is_exact():
    fc = ForkChoice()
    fc.add(M("a", None, 1, 1))
    fc.add(M("b1", "a", 2, 2))
    fc.add(M("b2", "a", 2, 2))
    assert fc.best == "b1" and fc.reorgs == []
    fc.add(M("c2", "b2", 3, 3))
    assert fc.best == "c2" and fc.reorgs == [1]
    assert fc.best_chain() == ["a", "b2", "c2"]


def test_fork_choice__finality_two_deep_exactly():
    fc = ForkChoice()
    fc.add(M("a", None, 1, 1))
    assert fc.final_height() == 0
    fc.add(M("b", "a", 2, 2))
    assert fc.final_height() == 0
    fc.add(M("c", "b", 3, 3))
    assert fc.final_height() == 1
    fc.add(M("d", "c", 4, 4))
    assert fc.final_height() == 2
    fc.add(M("x2", "a", 2, 5))  # two behind the tip: does not hold finality back
    assert fc.final_height() == 2
    fc.add(M("x3", "x2", 3, 6))  # one behind: only what is below its fork point is final
    assert fc.final_height() == 1


# ---------------------------------------------------------------------------- signer


def test_signer__exactly_below_the_highest_and_a_second_header__refused(tmp_path):
    s = ValidatorSigner(NODES[0].key, tmp_path / "v.db", 31337, "0x" + "a1" * 20)

    def h(height, root=b"\x01"):
        return AreaHeader(1, height, ZERO32, tx_root=root * 32, timestamp=height)

    s.sign(h(5))
    with pytest.raises(SlashingProtectionError, match="^height 4 is below the highest signed"):
        s.sign(h(4))
    with pytest.raises(SlashingProtectionError, match="^already signed a different header"):
        s.sign(h(5, b"\x02"))
    assert s.sign(h(5)) == s.sign(h(5)) and s.highest_signed(1) == 5
    s.sign(h(6))
    assert s.highest_signed(1) == 6
    s.close()


def test_expected_difficulty__the_parents_difficulty_carries_over_between_retargets():
    p = CommunityPoW(ADDRS, slot_time=2.0, genesis_time=GENESIS, difficulty=1000)
    times = [GENESIS + i for i in range(10)]
    assert p.expected_difficulty(header(3, times[-1], 1500), times) == 1500
    assert p.expected_difficulty(header(9, times[-1], 1500), times) == 3000
