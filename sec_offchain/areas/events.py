"""The trades the areas are computed from, read from the chain: Escrow's `OrderCompleted`
(seller, buyer) at the time of its block. TrustIndex records the same pairs, but keeps only
a count and the last time per pair; the events give every trade its own weight."""

from __future__ import annotations

from typing import Any

from sec_offchain.areas.graph import Trade

# Blocks per eth_getLogs request (public nodes refuse wide ranges).
LOG_SPAN = 10_000


def fetch_trades(escrow: Any, from_block: int, to_block: int) -> list[Trade]:
    """Every completed order between the two blocks (inclusive), oldest first, as Trade
    records with lower-case addresses. `escrow` is a web3 contract of Escrow's ABI."""
    w3 = escrow.w3
    times: dict[int, int] = {}
    trades: list[Trade] = []
    start = from_block
    while start <= to_block:
        end = min(start + LOG_SPAN - 1, to_block)
        for log in escrow.events.OrderCompleted.get_logs(from_block=start, to_block=end):
            block = int(log["blockNumber"])
            if block not in times:
                times[block] = int(w3.eth.get_block(block)["timestamp"])
            args = log["args"]
            trades.append(
                Trade(str(args["seller"]).lower(), str(args["buyer"]).lower(), times[block])
            )
        start = end + 1
    return trades
