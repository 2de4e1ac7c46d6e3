"""The relation graph of one epoch: who traded with whom, weighted by trades and recency.

A pair's relation is live while its last trade is younger than the relation period (TrustIndex's
`RELATION_PERIOD`, 90 days by default); a lapsed relation contributes nothing. Each trade inside
the period counts (period - age) / period: 1 just now, fading linearly to nothing when the
period is over (the relation dissolves continuously, not in one step), so a pair that trades
often and recently weighs most, and a single trade never weighs more than 1 (the hysteresis of
`cluster` is stated in these units).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import networkx as nx
import numpy as np

from sec_offchain.exceptions import SecError


class AreaError(SecError):
    """An area plan, directory or proof is malformed or does not match."""


@dataclass(frozen=True, order=True)
class Trade:
    """One completed trade: Escrow's `OrderCompleted` (seller, buyer) at its block's time."""

    seller: Hashable
    buyer: Hashable
    time: int


def relation_weight(age: int, period: int) -> float:
    """What one trade `age` seconds old weighs: 1 now, falling linearly to 0 at the end of
    the relation period (a future trade counts as now)."""
    if period <= 0:
        raise AreaError("the relation period must be positive")
    if age >= period:
        return 0.0
    return (period - max(age, 0)) / period


def build_relation_graph(
    trades: Iterable[Trade | tuple[Hashable, Hashable, int]] | np.ndarray, now: int, period: int
) -> nx.Graph:
    """The live relations at `now`: an undirected graph whose edge weights are the summed
    trade weights of each pair (self-trades and lapsed trades left out). `trades` are Trade
    records, (seller, buyer, time) tuples, or an integer array of such rows (integer account
    ids, summed vectorised to the same weights). Nodes and edges are inserted in sorted
    order, so the graph (and every seeded algorithm run on it) does not depend on the order
    the trades arrive in."""
    if period <= 0:
        raise AreaError("the relation period must be positive")
    # Summed in integers (units of 1 / period), so the weights do not depend on the
    # order the trades are added in, down to the last bit.
    if isinstance(trades, np.ndarray):
        edges, units = _sum_array(trades, now, period)
    else:
        sums: dict[tuple[Hashable, Hashable], int] = {}
        for trade in trades:
            if isinstance(trade, tuple):
                seller, buyer, time = trade
            else:
                seller, buyer, time = trade.seller, trade.buyer, trade.time
            age = now - time
            if seller == buyer or age >= period:
                continue
            key = (seller, buyer) if seller < buyer else (buyer, seller)  # type: ignore[operator]
            sums[key] = sums.get(key, 0) + period - max(age, 0)
        edges = sorted(sums)  # type: ignore[type-var]
        units = [sums[e] for e in edges]
    graph = nx.Graph()
    graph.add_nodes_from(sorted({n for e in edges for n in e}))  # type: ignore[type-var]
    scale = period
    graph.add_weighted_edges_from((a, b, u / scale) for (a, b), u in zip(edges, units, strict=True))
    return graph


def _sum_array(
    trades: np.ndarray, now: int, period: int
) -> tuple[list[tuple[int, int]], list[int]]:
    if trades.ndim != 2 or trades.shape[1] != 3 or trades.dtype.kind not in "iu":
        raise AreaError("a trade array has integer rows (seller, buyer, time)")
    t = trades.astype(np.int64)
    age = now - t[:, 2]
    keep = (t[:, 0] != t[:, 1]) & (age < period)
    a = np.minimum(t[keep, 0], t[keep, 1])
    b = np.maximum(t[keep, 0], t[keep, 1])
    units = period - np.maximum(age[keep], 0)
    pairs = np.stack([a, b], axis=1)
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    sums = np.zeros(len(unique), dtype=np.int64)
    np.add.at(sums, inverse.ravel(), units)
    return [tuple(e) for e in unique.tolist()], sums.tolist()  # type: ignore[misc]
