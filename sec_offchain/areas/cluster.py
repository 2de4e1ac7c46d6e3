"""Relation-convergence areas: who goes in which area next epoch.

`plan_areas` turns an epoch's relation graph and the current directory into the next one:

1. Accounts without a live relation keep their area (a lapsed relation moves nobody); a brand-new
   account without one gets today's address-hash area.
2. The graph is clustered with seeded Louvain (networkx; or its fast label propagation,
   `method="label_propagation"`); a community larger than the packing
   bound (`pack_ratio` x the mean area size) is cut into pieces within the bound along its own
   sub-communities (Louvain at twice the resolution). Accounts already in the directory stay where
   they are at this step; a community's *new* members join the area that already holds most of
   the community (largest community first, areas within the packing bound), or, for a wholly
   new community, the least-loaded area. At genesis this is longest-first bin packing.
3. Convergence with hysteresis: in ascending account order, repeatedly, an account moves to the
   area holding most of its relation weight when that is a clear gain over its own area - at
   least `min_gain` more weight (a fresh trade weighs 1, so one trade never tips an account) and
   at least `gain_ratio` times as much - and the target stays within the hard bound
   (`max_ratio` x the mean). New accounts move for any strict gain (they have nothing to carry)
   but only into areas within the packing bound, so a genesis directory stays balanced.
4. An area above the hard bound (possible only when many new accounts arrive at once) gives up
   the accounts that lose least by leaving, new ones first.

Everything is a function of the graph, the previous directory and the parameters (seed
included): the same inputs give the same plan on every machine, so anyone can recompute a
published directory root.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx

from sec_offchain.areas.graph import AreaError


@dataclass(frozen=True)
class AreaParams:
    """How areas are formed. Weights are in trade units (see `graph.relation_weight`)."""

    area_ids: tuple[int, ...] = tuple(range(10))
    seed: int = 0
    resolution: float = 1.0
    min_gain: float = 2.0
    gain_ratio: float = 1.5
    pack_ratio: float = 1.2
    max_ratio: float = 2.0
    max_passes: int = 8
    # "louvain" (networkx louvain_communities) or "label_propagation" (networkx
    # fast_label_propagation_communities, about four times faster, similar communities
    # on clustered trade graphs)
    method: str = "louvain"

    def validate(self) -> None:
        if not self.area_ids:
            raise AreaError("at least one area is needed")
        if len(set(self.area_ids)) != len(self.area_ids) or min(self.area_ids) < 0:
            raise AreaError("area ids must be distinct and non-negative")
        if self.min_gain < 1.0:
            raise AreaError("min_gain below one trade would let a single trade move an account")
        if self.gain_ratio < 1.0:
            raise AreaError("gain_ratio must be at least 1")
        if not 1.0 <= self.pack_ratio <= self.max_ratio:
            raise AreaError("need 1 <= pack_ratio <= max_ratio")
        if self.resolution <= 0 or self.max_passes < 1:
            raise AreaError("resolution and max_passes must be positive")
        if self.method not in ("louvain", "label_propagation"):
            raise AreaError(f"unknown clustering method {self.method!r}")


@dataclass(frozen=True, order=True)
class Move:
    """An account changing area between two epochs (its balance follows through BGC)."""

    account: Hashable
    src: int
    dst: int


@dataclass
class Plan:
    """The next epoch's account -> area id assignment and how it came about."""

    assignment: dict[Hashable, int]
    moves: list[Move]
    communities: int
    sizes: dict[int, int] = field(default_factory=dict)

    @property
    def largest_ratio(self) -> float:
        """The largest area's size over the mean size (1.0: perfectly even)."""
        if not self.assignment:
            return 0.0
        return max(self.sizes.values()) * len(self.sizes) / len(self.assignment)


def hash_area(account: Hashable, area_ids: tuple[int, ...]) -> int:
    """Today's policy: the account's address (or integer id) modulo the number of areas, as an
    area id of the sorted `area_ids`."""
    ids = sorted(area_ids)
    value = int(account, 16) if isinstance(account, str) else int(account)  # type: ignore[call-overload]
    return ids[value % len(ids)]


def plan_areas(
    graph: nx.Graph,
    previous: Mapping[Hashable, int] | None = None,
    params: AreaParams | None = None,
    accounts: Iterable[Hashable] = (),
) -> Plan:
    """The next directory for the relations in `graph`, starting from `previous` (None or
    empty: genesis). `accounts` adds accounts to place that have no live relation."""
    p = params or AreaParams()
    p.validate()
    ids = tuple(p.area_ids)
    k = len(ids)
    index = {a: i for i, a in enumerate(ids)}
    prev: dict[Hashable, int] = {}
    for acc, area in (previous or {}).items():
        if area not in index:
            raise AreaError(f"the previous directory puts {acc} in unknown area {area}")
        prev[acc] = index[area]
    everyone = sorted(set(graph.nodes) | set(prev) | set(accounts))  # type: ignore[type-var]
    if not everyone:
        return Plan({}, [], 0, {a: 0 for a in ids})
    mean = len(everyone) / k
    pack_cap = max(1, math.ceil(p.pack_ratio * mean))
    hard_cap = max(1, math.floor(p.max_ratio * mean))

    assign: dict[Hashable, int] = {}
    load = [0] * k
    # 1. known accounts stay put for now; new accounts without relations take their hash area
    for acc in everyone:
        if acc in prev:
            assign[acc] = prev[acc]
        elif acc not in graph:
            assign[acc] = index[hash_area(acc, ids)]
        else:
            continue
        load[assign[acc]] += 1

    # 2. communities place the new accounts that have relations
    communities = _communities(graph, p, pack_cap)
    for members in communities:
        fresh = [a for a in members if a not in assign]
        if not fresh:
            continue
        overlap = [0] * k
        for a in members:
            if a in prev:
                overlap[prev[a]] += 1
        fits = [i for i in range(k) if load[i] + len(fresh) <= pack_cap]
        pool = fits or list(range(k))
        target = min(pool, key=lambda i: (-overlap[i], load[i], i))
        for a in fresh:
            assign[a] = target
        load[target] += len(fresh)

    # 3. convergence with hysteresis
    nodes = sorted(graph.nodes)  # type: ignore[type-var]
    adj = {n: [(nb, d["weight"]) for nb, d in graph.adj[n].items()] for n in nodes}
    for _ in range(p.max_passes):
        changed = False
        for acc in nodes:
            cur = assign[acc]
            weights = _area_weights(adj[acc], assign)
            best = min(weights, key=lambda i: (-weights[i], i))
            if best == cur:
                continue
            w_best, w_cur = weights[best], weights.get(cur, 0.0)
            if acc in prev:
                if w_best < w_cur + p.min_gain or w_best < p.gain_ratio * w_cur:
                    continue
            elif w_best <= w_cur:
                continue
            if load[best] + 1 > (hard_cap if acc in prev else pack_cap):
                continue
            assign[acc] = best
            load[cur] -= 1
            load[best] += 1
            changed = True
        if not changed:
            break

    # 4. the hard size bound
    for area in range(k):
        excess = load[area] - hard_cap
        if excess <= 0:
            continue
        members = [a for a in everyone if assign[a] == area]
        costs = []
        for acc in members:
            weights = _area_weights(adj[acc], assign) if acc in graph else {}
            others = [i for i in range(k) if i != area and load[i] < hard_cap]
            dst = min(others, key=lambda i: (-weights.get(i, 0.0), load[i], i))
            cost = weights.get(area, 0.0) - weights.get(dst, 0.0)
            costs.append((acc in prev, cost, acc, dst))
        costs.sort(key=lambda c: (c[0], c[1], str(c[2])))
        for _, _, acc, dst in costs[:excess]:
            if load[dst] >= hard_cap:
                dst = min((i for i in range(k) if i != area), key=lambda i: (load[i], i))
            assign[acc] = dst
            load[area] -= 1
            load[dst] += 1

    result = {acc: ids[assign[acc]] for acc in everyone}
    moves = [
        Move(acc, ids[prev[acc]], result[acc])
        for acc in everyone
        if acc in prev and ids[prev[acc]] != result[acc]
    ]
    sizes = {ids[i]: load[i] for i in range(k)}
    return Plan(result, moves, len(communities), sizes)


def _area_weights(
    neighbours: list[tuple[Hashable, float]], assign: Mapping[Hashable, int]
) -> dict[int, float]:
    """An account's relation weight per area (area index -> summed weight)."""
    weights: dict[int, float] = {}
    for nb, w in neighbours:
        area = assign[nb]
        weights[area] = weights.get(area, 0.0) + w
    return weights


def _communities(graph: nx.Graph, p: AreaParams, cap: int) -> list[list[Hashable]]:
    """Seeded communities (Louvain or label propagation), none larger than `cap`, largest
    first (ties by their smallest account)."""
    if graph.number_of_nodes() == 0:
        return []
    if p.method == "louvain":
        found = nx.community.louvain_communities(
            graph, weight="weight", resolution=p.resolution, seed=p.seed
        )
    else:
        found = list(
            nx.community.fast_label_propagation_communities(graph, weight="weight", seed=p.seed)
        )
    out: list[list[Hashable]] = []
    for members in (sorted(c) for c in found):  # type: ignore[type-var]
        if len(members) <= cap:
            out.append(members)
            continue
        # Too large for one area: its own sub-communities (Louvain at twice the resolution),
        # largest first, each in breadth-first order, cut into pieces of at most `cap`; so
        # sub-communities stay together where they fit and a clique is cut in a few pieces.
        sub = graph.subgraph(members)
        parts = nx.community.louvain_communities(
            sub, weight="weight", resolution=2 * p.resolution, seed=p.seed
        )
        order: list[Hashable] = []
        for part in sorted((sorted(c) for c in parts), key=lambda c: (-len(c), str(c[0]))):
            order.extend(_bfs_order(sub.subgraph(part), part))
        out.extend(sorted(order[i : i + cap]) for i in range(0, len(order), cap))  # type: ignore[type-var]
    out.sort(key=lambda c: (-len(c), str(c[0])))
    return out


def _bfs_order(sub: nx.Graph, members: list[Hashable]) -> list[Hashable]:
    """`members` in breadth-first order from the smallest account (then the smallest not yet
    reached), neighbours in ascending order."""
    order: list[Hashable] = []
    seen: set[Hashable] = set()
    for start in members:
        if start in seen:
            continue
        seen.add(start)
        order.append(start)
        for _, nb in nx.bfs_edges(sub, start, sort_neighbors=sorted):
            if nb not in seen:
                seen.add(nb)
                order.append(nb)
    return order
