"""The community consensus in one process over a deterministic network model (`sec sim`).

The consensus code is the live code: communities come from `communities.communities` (the
same votes), every view's fork choice, refusal rule and finality from `fork_choice`. What is
modelled is the world around it:

* proof of work: the on-duty community's members mine a Poisson race (rate = hash power /
  difficulty), the difficulty retargets to `solve_target` seconds; a member stops mining in
  a slot once a block of that slot has reached it (the attacker's members do not);
* the network: one-way delay `latency * (0.5 + jitter * u)` per (block, receiver), u a fixed
  pseudo-random number of the pair; a delivery is lost with probability `loss` and then
  recovered by pull sync `sync_delay` later; a partition (slots a..b, a fraction of the nodes
  on one side) holds every delivery across it until it heals;
* observers: one node on each side of a partition runs a full `ForkChoice` over the blocks
  in the order they reach it; fork rate, time to finality, reorg depths and reverted final
  blocks are measured there.

A miner's parent is the tip of its own view (blocks that reached it, in arrival order) over
the recent window; blocks older than the window are everyone's by then.
"""

from __future__ import annotations

import heapq
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

from sec_offchain.consensus.communities import communities, on_duty
from sec_offchain.consensus.fork_choice import ADDED, ORPHAN, ForkChoice, Meta
from sec_offchain.crypto.hashing import keccak


@dataclass
class SimConfig:
    nodes: int = 10_000
    communities: int = 10
    slots: int = 1000
    seed: int = 1
    latency: float = 0.2  # seconds, mean one-way
    jitter: float = 1.0
    loss: float = 0.0
    partition: tuple[int, int, float] | None = None  # (first slot, last slot, fraction)
    attacker: float = 0.0  # share of every community's hash power
    slot_time: float = 10.0
    solve_target: float = 2.0
    epoch_slots: int = 100
    sync_delay: float = 2.0
    degree: int = 8
    tie_break: str = "hash"  # "smallest" is the paper's rule (unbalanced: docs/consensus.md)
    window: int = 4
    literal_refusal: bool = False  # the refusal rule for every block, as the paper words it


@dataclass
class SimResult:
    config: SimConfig
    blocks: int = 0
    slots_with_fork: int = 0
    best_length: int = 0
    finality_times: list[float] = field(default_factory=list)
    reorg_depths: Counter = field(default_factory=Counter)
    refused: int = 0
    finalized_reverted: int = 0
    attacked: int = 0
    overturned: int = 0
    community_sizes: list[tuple[int, int]] = field(default_factory=list)  # (min, max) per epoch
    elapsed: float = 0.0

    @property
    def fork_rate(self) -> float:
        return self.slots_with_fork / max(1, self.config.slots)

    @property
    def orphan_rate(self) -> float:
        return 1 - self.best_length / max(1, self.blocks)

    def summary(self) -> dict:
        ft = sorted(self.finality_times)

        def pct(q: float) -> float:
            return round(ft[min(len(ft) - 1, int(q * len(ft)))], 2) if ft else float("nan")

        return {
            "nodes": self.config.nodes,
            "communities": self.config.communities,
            "slots": self.config.slots,
            "blocks": self.blocks,
            "fork_rate": round(self.fork_rate, 4),
            "orphan_rate": round(self.orphan_rate, 4),
            "finality_s": {
                "p50": pct(0.5),
                "p90": pct(0.9),
                "p99": pct(0.99),
                "mean": round(statistics.fmean(ft), 2) if ft else None,
            },
            "reorg_depths": dict(sorted(self.reorg_depths.items())),
            "refused_late_blocks": self.refused,
            "finalized_reverted": self.finalized_reverted,
            "attack_success": (
                round(self.overturned / self.attacked, 4) if self.attacked else None
            ),
            "community_sizes": {
                "min": min(s[0] for s in self.community_sizes),
                "max": max(s[1] for s in self.community_sizes),
            },
            "elapsed_s": round(self.elapsed, 2),
        }


class _World:
    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.ids = [
            keccak(cfg.seed.to_bytes(8, "big") + i.to_bytes(8, "big"))[:20]
            for i in range(cfg.nodes)
        ]
        self.attacker = [self.rng.random() < cfg.attacker for _ in range(cfg.nodes)]
        split = int(cfg.nodes * (cfg.partition[2] if cfg.partition else 0))
        self.side = [0 if i < split else 1 for i in range(cfg.nodes)]
        self.blocks: dict[int, Meta] = {}
        self.next_id = 1
        self.members: dict[int, list[int]] = {}
        self.difficulty = cfg.solve_target  # in seconds for the whole community (rate scale)

    # ---------------------------------------------------------------- network

    def delay(self, block: int, producer: int, receiver: int) -> float:
        if producer == receiver:
            return 0.0
        u = ((block * 2654435761 + receiver * 40503 + producer * 97) % 10007) / 10007
        d = self.cfg.latency * (0.5 + self.cfg.jitter * u)
        if self.cfg.loss and ((block * 31 + receiver * 17) % 10007) / 10007 < self.cfg.loss:
            d += self.cfg.sync_delay
        return d

    def arrival(self, m: Meta, receiver: int) -> float:
        t = m.time + self.delay(m.id, m.producer, receiver)
        p = self.cfg.partition
        if p and self.side[m.producer] != self.side[receiver]:
            start, end = p[0] * self.cfg.slot_time, (p[1] + 1) * self.cfg.slot_time
            if start <= t < end or start <= m.time < end:
                t = max(t, end + self.delay(m.id, m.producer, receiver))
        return t

    # ---------------------------------------------------------------- views

    def view_tip(
        self, miner: int, now: float, recent: list[int], prefer_attacker: bool
    ) -> int | None:
        """The best tip of `miner`'s own view, by the shared fork choice."""
        seen = []
        for b in recent:
            m = self.blocks[b]
            t = self.arrival(m, miner)
            if t <= now:
                seen.append((t, b))
        if not seen:
            return None
        seen.sort()
        fc = ForkChoice()
        recent_set = {b for _, b in seen}
        for _, b in seen:
            m = self.blocks[b]
            parent = m.parent if m.parent in recent_set else None
            fc.add(
                Meta(m.id, parent, m.height, m.slot, m.community, m.producer, m.time),
                int(now // self.cfg.slot_time),
                self.cfg.literal_refusal,
            )
        if prefer_attacker:
            top = fc.height()
            mine = [
                b
                for b in fc.blocks
                if self.attacker[self.blocks[b].producer] and self.blocks[b].height >= top - 1
            ]
            if mine:
                return max(mine, key=lambda b: (self.blocks[b].height, -self.blocks[b].time))
        return fc.best


def _epoch_members(world: _World, epoch: int) -> dict[int, list[int]]:
    cfg = world.cfg
    index = {nid: i for i, nid in enumerate(world.ids)}
    comm = communities(world.ids, epoch, cfg.communities, cfg.degree, cfg.tie_break)
    members: dict[int, list[int]] = {c: [] for c in range(1, cfg.communities + 1)}
    for nid, c in comm.items():
        members[c].append(index[nid])
    return members


def simulate(cfg: SimConfig) -> SimResult:
    started = time.perf_counter()
    world = _World(cfg)
    rng = world.rng
    res = SimResult(cfg)
    observers = sorted({0, cfg.nodes - 1}) if cfg.partition else [0]
    obs_fc = {o: ForkChoice() for o in observers}
    obs_queue: dict[int, list] = {o: [] for o in observers}
    obs_pending: dict[int, list] = {o: [] for o in observers}
    finalized: dict[int, dict[int, int]] = {o: {} for o in observers}
    solve_times: list[float] = []
    genesis = Meta(0, None, 0, -1, 0, 0, 0.0)
    world.blocks[0] = genesis
    for o in observers:
        obs_fc[o].add(genesis)
    recent: list[int] = [0]
    honest_targets: list[int] = []
    members: dict[int, list[int]] = {}

    for slot in range(cfg.slots):
        if slot % cfg.epoch_slots == 0:
            members = _epoch_members(world, slot // cfg.epoch_slots)
            sizes = [len(v) for v in members.values()]
            res.community_sizes.append((min(sizes), max(sizes)))
        c = on_duty(slot, cfg.communities)
        crew = members[c] or [0]
        start = slot * cfg.slot_time
        rate = 1.0 / world.difficulty  # the whole community solves at this rate
        produced: list[int] = []
        t = start
        first_time = None
        horizon = start + cfg.slot_time
        window_start = slot - cfg.window
        if cfg.partition and cfg.partition[0] <= slot <= cfg.partition[1] + cfg.window:
            window_start = cfg.partition[0] - cfg.window
        recent = [b for b in recent if world.blocks[b].slot >= window_start or b == recent[0]]
        while True:
            t += rng.expovariate(rate)
            if t >= horizon:
                break
            if (
                first_time is not None
                and t
                > first_time
                + 3 * cfg.latency * (1 + cfg.jitter)
                + (cfg.sync_delay if cfg.loss else 0)
                and not cfg.attacker
            ):
                break
            miner = crew[rng.randrange(len(crew))]
            is_attacker = world.attacker[miner]
            if not is_attacker and any(
                world.arrival(world.blocks[b], miner) <= t for b in produced
            ):
                continue  # a block of this slot has reached it: done for the slot
            if is_attacker and any(world.attacker[world.blocks[b].producer] for b in produced):
                continue  # the attacker publishes one competitor per slot
            parent = world.view_tip(miner, t, recent, prefer_attacker=is_attacker)
            if parent is None:
                parent = recent[-1]
            pm = world.blocks[parent]
            bid = world.next_id
            world.next_id += 1
            m = Meta(bid, parent, pm.height + 1, slot, c, miner, t)
            world.blocks[bid] = m
            produced.append(bid)
            recent.append(bid)
            res.blocks += 1
            if first_time is None:
                first_time = t
                solve_times.append(t - start)
        if len(produced) > 1:
            res.slots_with_fork += 1
        if cfg.attacker:
            for b in produced:
                if not world.attacker[world.blocks[b].producer]:
                    honest_targets.append(b)
        # difficulty: retarget to the solve target over the last 10 slots
        if len(solve_times) >= 10 and slot % 10 == 9:
            avg = statistics.fmean(solve_times[-10:])
            world.difficulty *= min(2.0, max(0.5, cfg.solve_target / max(avg, 1e-6)))
        # observers take what reached them by the end of the slot
        for o in observers:
            for b in produced:
                heapq.heappush(obs_queue[o], (world.arrival(world.blocks[b], o), b))
            _feed(obs_fc[o], obs_queue[o], obs_pending[o], world, horizon, finalized[o], res)

    end = cfg.slots * cfg.slot_time + 1000
    for o in observers:
        _feed(obs_fc[o], obs_queue[o], obs_pending[o], world, end, finalized[o], res)
    main = obs_fc[observers[0]]
    res.best_length = main.height()
    res.refused = sum(fc.refused for fc in obs_fc.values())
    for o in observers:
        res.reorg_depths.update(d for d in obs_fc[o].reorgs if d > 0)
    if cfg.attacker:
        chain = set(main.best_chain())
        final = main.final_height()
        judged = [b for b in honest_targets if world.blocks[b].height <= final]
        res.attacked = len(judged)
        res.overturned = sum(
            1
            for b in judged
            if b not in chain
            and any(
                world.attacker[world.blocks[x].producer]
                and world.blocks[x].height == world.blocks[b].height
                for x in chain
            )
        )
    res.elapsed = time.perf_counter() - started
    return res


def _feed(
    fc: ForkChoice,
    queue: list,
    pending: list,
    world: _World,
    until: float,
    finalized: dict[int, int],
    res: SimResult,
) -> None:
    progressed = False
    while queue and queue[0][0] <= until:
        t, b = heapq.heappop(queue)
        pending.append((t, b))
        progressed = True
    if not progressed:
        return
    again = True
    while again:
        again = False
        for item in list(pending):
            t, b = item
            status = fc.add(
                world.blocks[b], int(t // world.cfg.slot_time), world.cfg.literal_refusal
            )
            if status != ORPHAN:
                pending.remove(item)
                again = again or status == ADDED
    final = fc.final_height()
    chain = fc.best_chain()
    top = finalized.get(-1, 0)  # the highest height already final (and timed)
    for h in range(max(1, top - 40), min(final, len(chain) - 1) + 1):
        bid = chain[h]
        old = finalized.get(h)
        if h > top:
            finalized[h] = bid
            res.finality_times.append(until - world.blocks[bid].time)
        elif old is not None and old != bid:
            finalized[h] = bid
            res.finalized_reverted += 1
    finalized[-1] = max(top, min(final, len(chain) - 1))
    if final > 50:
        fc.prune(final - 20)
        for h in [h for h in finalized if 0 <= h < final - 40]:
            del finalized[h]


# ---------------------------------------------------------------------- the attack sweep


def attack_trials(
    p: float, trials: int, seed: int = 1, latency: float = 0.2, solve_mean: float = 2.0
) -> tuple[float, int]:
    """The whitepaper's attack, isolated. Slot 0: an honest block B and a colluding
    producer's competing block B* on the same parent, published together (B a moment
    earlier, so honest nodes saw B first). Slot 1: the next community races (Poisson, mean
    first solve `solve_mean` s); each solve is the attacker's with probability `p` (its share
    of the community's hash power) and builds on B*, an honest solve builds on B; solves
    within one propagation delay of the first compete. Slots 2 and 3: honest, each solver
    extends the longest tip it saw first. The reference fork choice (the live code) decides;
    success: B* on the final chain. Returns (success rate, trials)."""
    rng = random.Random(seed * 1_000_003 + round(p * 10_000))
    wins = 0
    for _ in range(trials):
        fc = ForkChoice()
        fc.add(Meta("G", None, 0, -1))
        fc.add(Meta("B", "G", 1, 0, 1, "honest", 0.0))
        fc.add(Meta("B*", "G", 1, 0, 1, "attacker", rng.uniform(0, latency)))
        n = 0
        for slot in (1, 2, 3):
            t = 0.0
            solves = []
            while True:
                t += rng.expovariate(1 / solve_mean)
                if solves and t > solves[0][0] + latency:
                    break  # the first block has reached everyone: the slot is over
                solves.append((t, slot == 1 and rng.random() < p))
            tips = sorted(
                (b for b in fc.leaves if fc.blocks[b].height == fc.height()),
                key=lambda b: fc.blocks[b].time,
            )
            for t, attacker in solves:
                if slot == 1:
                    parent = "B*" if attacker else "B"
                elif len(tips) > 1:
                    # competing tips produced within a delay: which one a solver saw first
                    gap = fc.blocks[tips[1]].time - fc.blocks[tips[0]].time
                    parent = (
                        tips[0]
                        if rng.random() < 0.5 + min(gap, latency) / (2 * latency)
                        else tips[1]
                    )
                else:
                    parent = tips[0]
                n += 1
                fc.add(
                    Meta(
                        f"{slot}.{n}",
                        parent,
                        fc.blocks[parent].height + 1,
                        slot,
                        slot + 1,
                        "attacker" if attacker else "honest",
                        slot * 10 + t,
                    )
                )
        if "B*" in fc.ancestors(fc.best) and fc.final_height() >= 1:
            wins += 1
    return wins / trials, trials


def sweep(
    ps: list[float], trials: int, seed: int = 1, latency: float = 0.2
) -> list[tuple[float, float]]:
    return [(p, attack_trials(p, trials, seed, latency)[0]) for p in ps]


def plot(res: SimResult, sweep_points: list[tuple[float, float]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    axes[0].hist(res.finality_times, bins=40, color="#3a7")
    axes[0].set_title("time to finality (s)")
    depths = sorted(res.reorg_depths.items()) or [(0, 0)]
    axes[1].bar([d for d, _ in depths], [n for _, n in depths], color="#a73")
    axes[1].set_title("reorg depth (count)")
    if sweep_points:
        xs = [p for p, _ in sweep_points]
        axes[2].plot(xs, [s for _, s in sweep_points], "o-", label="measured")
        axes[2].plot(xs, xs, "--", label="claimed (= p)")
        axes[2].set_xlabel("attacker share of the next community's hash power")
        axes[2].set_ylabel("P(block overturned)")
        axes[2].legend()
    axes[2].set_title("the attack")
    fig.suptitle(
        f"{res.config.nodes} nodes, {res.config.communities} communities, "
        f"{res.config.slots} slots, seed {res.config.seed}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
