"""A scripted trade workload for a live chain (the devnet): accounts in circles of friends,
a few sellers in each, trading mostly inside their circle — the kind of trade relations the
areas are meant to follow — through the real Escrow (list, buy, ship, confirm), so that
`sec areas plan` / `sec areas report` measure the policy on real `OrderCompleted` events
(`scripts/areas_workload.py` runs it against a devnet).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sec_offchain.crypto.keys import get_dev_account


@dataclass(frozen=True)
class WorkloadParams:
    communities: int = 3
    size: int = 6  # accounts per community
    sellers: int = 2  # of which sell
    trades: int = 45
    local: float = 0.85  # share of trades inside the buyer's community
    seed: int = 7
    price: int = 10**15  # wei, paid in ETH
    first_account: int = 100  # dev:N numbering of the first account
    funding: int = 10**17  # wei each account receives (gas and purchases)

    def __post_init__(self) -> None:
        if self.communities < 1 or self.trades < 1 or not 0 <= self.local <= 1:
            raise ValueError("at least one community and one trade; local is a share")
        if not 1 <= self.sellers < self.size:
            raise ValueError("each community needs a seller and a buyer")
        if self.communities == 1 and self.local < 1:
            raise ValueError("trades outside the community need a second community")

    def members(self, community: int) -> list[int]:
        start = self.first_account + community * self.size
        return list(range(start, start + self.size))


def plan_trades(params: WorkloadParams) -> list[tuple[int, int]]:
    """(seller, buyer) dev-account numbers of every trade, the same for the same seed: a
    buyer of a random community buys from a seller of its own community with probability
    `local`, else from a seller of another community."""
    rng = random.Random(params.seed)
    out = []
    for _ in range(params.trades):
        c = rng.randrange(params.communities)
        members = params.members(c)
        buyer = rng.choice(members[params.sellers :])
        home = c
        if rng.random() >= params.local:
            home = rng.choice([x for x in range(params.communities) if x != c])
        seller = rng.choice(params.members(home)[: params.sellers])
        out.append((seller, buyer))
    return out


def run_workload(
    suite: Any, params: WorkloadParams, say: Callable[[str], None] = lambda m: None
) -> list[tuple[str, str]]:
    """Funds the accounts from dev:0, lists one item per seller and completes every planned
    trade (buy, ship, confirm); returns the (seller, buyer) addresses, lower case."""
    trades = plan_trades(params)
    funder = suite.tx(get_dev_account(0))
    accounts = sorted({n for pair in trades for n in pair})
    for n in accounts:
        funder.send_value(get_dev_account(n).address, params.funding)
    say(f"funded {len(accounts)} accounts")
    listings: dict[int, int] = {}
    for n in sorted({s for s, _ in trades}):
        listings[n], _ = suite.create_listing(get_dev_account(n), params.price)
    done = []
    for i, (s, b) in enumerate(trades, 1):
        seller, buyer = get_dev_account(s), get_dev_account(b)
        order, _ = suite.buy(buyer, listings[s])
        suite.ship(seller, order)
        suite.confirm(buyer, order)
        done.append((seller.address.lower(), buyer.address.lower()))
        if i % 10 == 0:
            say(f"{i} of {len(trades)} trades completed")
    return done
