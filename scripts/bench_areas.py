"""Areas measured against the alternatives (prints; asserts nothing).

    python scripts/bench_areas.py [--accounts 100000] [--areas 10] [--epoch-days 7]
                                  [--epochs 8] [--seed 1] [--local 0.85] [--plot docs/areas.png]

Generates a social-commerce trade stream: accounts in communities of power-law sizes, a tenth
of each community selling with power-law popularity (Zipf), each seller in one product
category, each community favouring a few categories; a buyer buys inside its community with
probability `--local`, otherwise from platform-wide star sellers (power-law) or anyone at random.
Churn every month (30 days), spread over the epochs: 2 % of accounts join another community,
1 % stop trading and as many new ones arrive, 5 % of sellers change popularity rank. A new
directory is made every `--epoch-days` (7: weekly). The relation period is 90 days, so after
the warm-up epochs (one relation period) every epoch's relation graph holds about `--trades`
trades (default 1,000,000).

Each policy's directory is computed at the end of an epoch and judged on the *next* epoch's
trades (new accounts, not yet in a directory, take their address-hash area):
  hash      the account id modulo the number of areas (today's policy);
  category  a seller in its category's area, any other account in the area of the category it
            bought most in the last relation period;
  relation  sec_offchain.areas.plan_areas (seeded Louvain, size bounds, hysteresis).
A trade is intra-area when seller and buyer share an area; otherwise its payment crosses by one
BGC message. A moved account's balance follows it by one message. Printed per policy, averaged
over the measured epochs:
  <policy>: N % intra-area, M BGC msgs/1000 trades, K % moved/epoch (J % per 30 days),
            largest area X× mean
and the time one epoch's clustering takes on this one core (graph + plan, then the directory's
Merkle tree). The plot shows intra-area share and moves per epoch, and the area sizes.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sec_offchain.areas import (  # noqa: E402
    AreaDirectory,
    AreaParams,
    build_relation_graph,
    plan_areas,
)

DAY = 86_400
MONTH = 30 * DAY
PERIOD = 90 * DAY
CATEGORIES = 10


@dataclass
class World:
    """Accounts, their communities, sellers and categories; mutated by churn."""

    rng: np.random.Generator
    community: np.ndarray  # account -> community (-1: left)
    n_communities: int
    is_seller: np.ndarray
    category: np.ndarray  # seller -> category
    rank: np.ndarray  # seller -> popularity rank inside its community
    community_pref: np.ndarray  # community x category preference
    stars: np.ndarray  # platform-wide star sellers, most popular first
    members: list[np.ndarray] = field(default_factory=list)
    sellers_of: list[np.ndarray] = field(default_factory=list)
    seller_p: list[np.ndarray] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.community)

    def index(self) -> None:
        """Per-community member and seller lists with Zipf seller probabilities."""
        active = self.community >= 0
        order = np.argsort(self.community, kind="stable")
        order = order[active[order]]
        bounds = np.searchsorted(self.community[order], np.arange(self.n_communities + 1))
        self.members, self.sellers_of, self.seller_p = [], [], []
        for c in range(self.n_communities):
            m = order[bounds[c] : bounds[c + 1]]
            s = m[self.is_seller[m]]
            s = s[np.argsort(self.rank[s], kind="stable")]
            p = 1.0 / np.arange(1, len(s) + 1) ** 1.1 if len(s) else np.zeros(0)
            self.members.append(m)
            self.sellers_of.append(s)
            self.seller_p.append(p / p.sum() if len(s) else p)


def make_world(n: int, seed: int) -> World:
    rng = np.random.default_rng(seed)
    sizes = np.clip(rng.lognormal(mean=5.6, sigma=0.8, size=n // 100), 30, 5_000)
    sizes = np.maximum((sizes / sizes.sum() * n).astype(int), 1)
    sizes[0] += n - sizes.sum()
    community = np.repeat(np.arange(len(sizes)), sizes)
    community = community[rng.permutation(n)]
    is_seller = rng.random(n) < 0.10
    cat_weight = 1.0 / np.arange(1, CATEGORIES + 1) ** 0.8
    category = rng.choice(CATEGORIES, size=n, p=cat_weight / cat_weight.sum())
    pref = rng.dirichlet(np.full(CATEGORIES, 0.3), size=len(sizes))
    # a seller's category follows its community's taste
    for c in range(len(sizes)):
        idx = np.flatnonzero((community == c) & is_seller)
        category[idx] = rng.choice(CATEGORIES, size=len(idx), p=pref[c])
    stars = rng.choice(np.flatnonzero(is_seller), size=max(n // 500, 1), replace=False)
    world = World(rng, community, len(sizes), is_seller, category, rng.permutation(n), pref, stars)
    world.index()
    return world


def churn(world: World, next_id: int, months: float) -> int:
    """`months` (30 days each) of churn at its monthly rates; returns the new next free
    account id."""
    rng = world.rng
    active = np.flatnonzero(world.community >= 0)
    switch = rng.choice(active, size=int(0.02 * months * len(active)), replace=False)
    world.community[switch] = rng.integers(0, world.n_communities, len(switch))
    leave = rng.choice(active, size=int(0.01 * months * len(active)), replace=False)
    world.community[leave] = -1
    k = len(leave)
    grow = np.arange(next_id, next_id + k)
    world.community = np.concatenate(
        [world.community, world.community[rng.choice(active, size=k)].clip(0)]
    )
    world.is_seller = np.concatenate([world.is_seller, rng.random(k) < 0.10])
    new_cat = np.array(
        [rng.choice(CATEGORIES, p=world.community_pref[c]) for c in world.community[grow]]
    )
    world.category = np.concatenate([world.category, new_cat])
    world.rank = np.concatenate([world.rank, rng.integers(0, world.n, k)])
    sellers = np.flatnonzero(world.is_seller)
    shuffle = rng.choice(sellers, size=int(0.05 * months * len(sellers)))
    world.rank[shuffle] = rng.integers(0, world.n, len(shuffle))
    world.index()
    return next_id + k


def trades_of_epoch(world: World, count: int, start: int, length: int, local: float) -> np.ndarray:
    """`count` trades (seller, buyer, time) in the epoch of `length` seconds from `start`."""
    rng = world.rng
    active = np.flatnonzero(world.community >= 0)
    buyers = active[rng.integers(0, len(active), count)]
    sellers = np.empty(count, dtype=np.int64)
    kind = rng.random(count)
    in_comm = kind < local
    star = (~in_comm) & (kind < local + (1 - local) * 2 / 3)
    anyone = ~(in_comm | star)
    comm = world.community[buyers]
    for c in np.unique(comm[in_comm]):
        rows = np.flatnonzero(in_comm & (comm == c))
        s = world.sellers_of[c]
        if len(s) == 0:
            sellers[rows] = world.stars[0]
            continue
        sellers[rows] = s[rng.choice(len(s), size=len(rows), p=world.seller_p[c])]
    zipf = 1.0 / np.arange(1, len(world.stars) + 1) ** 1.0
    sellers[star] = world.stars[rng.choice(len(world.stars), size=star.sum(), p=zipf / zipf.sum())]
    all_sellers = np.flatnonzero(world.is_seller & (world.community >= 0))
    sellers[anyone] = all_sellers[rng.integers(0, len(all_sellers), anyone.sum())]
    times = start + rng.integers(0, length, count)
    keep = sellers != buyers
    return np.stack([sellers[keep], buyers[keep], times[keep]], axis=1)


def category_assignment(world: World, window: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Sellers in their category's area; other accounts in the area of the category they
    bought most in the window (ties: lowest; none: the account id modulo the areas)."""
    n = len(world.community)
    counts = np.zeros((n, CATEGORIES), dtype=np.int32)
    np.add.at(counts, (window[:, 1], world.category[window[:, 0]]), 1)
    area = np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), np.arange(n) % CATEGORIES)
    area = np.where(world.is_seller, world.category, area)
    return np.where(known, area, -1)


@dataclass
class Score:
    intra: list[float] = field(default_factory=list)
    msgs: list[float] = field(default_factory=list)
    moved: list[float] = field(default_factory=list)
    largest: list[float] = field(default_factory=list)

    def add(self, area: np.ndarray, trades: np.ndarray, moved: int, known: int) -> None:
        s, b = area[trades[:, 0]], area[trades[:, 1]]
        cross = int((s != b).sum())
        self.intra.append(100.0 * (1 - cross / len(trades)))
        self.msgs.append(1000.0 * (cross + moved) / len(trades))
        self.moved.append(100.0 * moved / known)

    def line(self, name: str, months: float) -> str:
        return (
            f"{name}: {np.mean(self.intra):.1f} % intra-area, "
            f"{np.mean(self.msgs):.0f} BGC msgs/1000 trades, "
            f"{np.mean(self.moved):.2f} % moved/epoch "
            f"({np.mean(self.moved) / months:.2f} % per 30 days), "
            f"largest area {np.max(self.largest):.2f}× mean"
        )


def sizes_ratio(area: np.ndarray, areas: int) -> float:
    live = area[area >= 0]
    counts = np.bincount(live, minlength=areas)
    return float(counts.max() * areas / len(live))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--areas", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=8, help="measured epochs after the warm-up")
    ap.add_argument(
        "--epoch-days", type=int, default=7, help="days between two directories (churn is monthly)"
    )
    ap.add_argument("--trades", type=int, default=1_000_000, help="trades per relation period")
    ap.add_argument("--local", type=float, default=0.85, help="share of in-community trades")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--method",
        choices=("louvain", "label_propagation"),
        default="louvain",
        help="community detection for the relation policy",
    )
    ap.add_argument("--min-gain", type=float, default=AreaParams.min_gain)
    ap.add_argument("--gain-ratio", type=float, default=AreaParams.gain_ratio)
    ap.add_argument("--plot", type=Path, default=None)
    args = ap.parse_args()

    world = make_world(args.accounts, args.seed)
    params = AreaParams(
        area_ids=tuple(range(args.areas)),
        seed=args.seed,
        method=args.method,
        min_gain=args.min_gain,
        gain_ratio=args.gain_ratio,
    )
    epoch_len = args.epoch_days * DAY
    months = epoch_len / MONTH
    per_epoch = round(args.trades * epoch_len / PERIOD)
    next_id = args.accounts
    history: list[np.ndarray] = []
    scores = {"hash": Score(), "category": Score(), "relation": Score()}
    relation_dir: dict[int, int] = {}
    category_prev: np.ndarray | None = None
    category_now = np.full(0, -1)
    category_moves = relation_moves = 0
    timings: list[tuple[float, float, int, int]] = []
    final_sizes: dict[str, np.ndarray] = {}
    warmup = -(-PERIOD // epoch_len)  # epochs in one relation period
    for epoch in range(warmup + args.epochs + 1):
        start = epoch * epoch_len
        trades = trades_of_epoch(world, per_epoch, start, epoch_len, args.local)
        n = len(world.community)
        if epoch > warmup:
            # judge the directories made at the end of the previous epoch on this epoch's trades
            hashed = np.arange(n) % args.areas
            rel = hashed.copy()
            if relation_dir:
                ids = np.fromiter(relation_dir.keys(), dtype=np.int64)
                rel[ids] = np.fromiter(relation_dir.values(), dtype=np.int64)
            cat = np.where(category_now >= 0, category_now, hashed[: len(category_now)])
            cat = np.concatenate([cat, hashed[len(cat) :]])
            known = max(len(relation_dir), 1)
            scores["hash"].add(hashed, trades, 0, known)
            scores["category"].add(cat, trades, category_moves, known)
            scores["relation"].add(rel, trades, relation_moves, known)
            live = world.community >= 0
            for name, area in (("hash", hashed), ("category", cat), ("relation", rel)):
                scores[name].largest.append(sizes_ratio(np.where(live, area, -1), args.areas))
                final_sizes[name] = np.bincount(area[live], minlength=args.areas)
        history.append(trades)
        history = history[-warmup:]
        next_id = churn(world, next_id, months)
        if epoch + 1 < warmup:
            continue
        # end of the epoch: recompute the directories from the last relation period
        now = (epoch + 1) * epoch_len
        window = np.concatenate(history)
        known_mask = np.zeros(len(world.community), dtype=bool)
        known_mask[window[:, 0]] = True
        known_mask[window[:, 1]] = True
        known_mask[np.fromiter(relation_dir.keys(), dtype=np.int64)] = True
        category_now = category_assignment(world, window, known_mask)
        if category_prev is not None:
            both = (category_prev >= 0) & (category_now[: len(category_prev)] >= 0)
            category_moves = int(
                (category_prev[both] != category_now[: len(category_prev)][both]).sum()
            )
        category_prev = category_now
        t0 = time.process_time()
        graph = build_relation_graph(window, now, PERIOD)
        t1 = time.process_time()
        plan = plan_areas(graph, relation_dir, params)
        t2 = time.process_time()
        relation_moves = len(plan.moves) if relation_dir else 0
        relation_dir = plan.assignment
        timings.append((t1 - t0, t2 - t1, len(window), graph.number_of_nodes()))
        print(
            f"epoch {epoch + 1}: {len(window):,} trades in the window, "
            f"{graph.number_of_nodes():,} accounts related, {plan.communities} communities, "
            f"{relation_moves:,} moved, clustering {t2 - t0:.1f} s",
            flush=True,
        )

    t0 = time.process_time()
    directory = AreaDirectory(
        1, {"0x" + format(a + 1, "040x"): area for a, area in relation_dir.items()}
    )
    t_dir = time.process_time() - t0
    print()
    for name in ("relation", "hash", "category"):
        print(scores[name].line(name, months))
    g, p, trades_n, nodes = max(timings, key=lambda t: t[0] + t[1])
    print(
        f"clustering: {trades_n:,} trades, {nodes:,} accounts, {args.areas} areas: "
        f"{g + p:.1f} s CPU on one core (graph {g:.1f} s, Louvain + convergence {p:.1f} s); "
        f"directory of {len(directory):,} accounts with Merkle root {t_dir:.1f} s"
    )
    if args.plot:
        plot(args.plot, scores, final_sizes, args.areas)
        print(f"plot: {args.plot}")


def plot(path: Path, scores: dict[str, Score], sizes: dict[str, np.ndarray], areas: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    colours = {"relation": "tab:green", "hash": "tab:red", "category": "tab:blue"}
    for name, s in scores.items():
        x = range(1, len(s.intra) + 1)
        ax[0].plot(x, s.intra, marker="o", label=name, color=colours[name])
        ax[1].plot(x, s.moved, marker="o", label=name, color=colours[name])
    ax[0].axhline(80, ls="--", color="grey", lw=0.8)
    ax[0].set(title="trades inside one area", xlabel="epoch", ylabel="%", ylim=(0, 100))
    ax[1].axhline(5, ls="--", color="grey", lw=0.8)
    ax[1].set(title="accounts moved", xlabel="epoch", ylabel="% per epoch")
    width = 0.27
    for i, name in enumerate(("relation", "hash", "category")):
        s = sizes[name]
        ax[2].bar(
            np.arange(areas) + (i - 1) * width,
            s * areas / s.sum(),
            width,
            label=name,
            color=colours[name],
        )
    ax[2].axhline(2, ls="--", color="grey", lw=0.8)
    ax[2].set(title="area size / mean (last epoch)", xlabel="area")
    ax[0].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
