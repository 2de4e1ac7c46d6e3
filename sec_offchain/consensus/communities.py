"""Node communities by neighbor voting (the tech paper's consensus, DESIGN §4.3).

Per epoch every node has `degree` neighbors and gives each a number 1..K; a node's community
is the number its neighbors gave it most often. Ties: DESIGN says the smallest, which makes
community 1 three times the size of community 10 (docs/consensus.md); the default here
breaks ties by keccak256(node ‖ epoch) among the tied numbers, which keeps sizes balanced
and is just as verifiable. `tie_break="smallest"` gives the paper's rule.

* The neighbor graph: the nodes sorted by keccak256(epoch ‖ node) form a ring; a node's
  neighbors are the `degree / 2` nodes on each side. It is symmetric, re-drawn every epoch,
  and computable by anyone from the list of nodes.
* A vote is keccak256("SEC vote" ‖ voter ‖ epoch ‖ neighbor) mod K + 1: a pseudo-random
  function of (voter key, epoch, neighbor) that anyone can recompute. A voter has nothing to
  choose, so a node cannot steer its own community or a neighbor's: a vote that differs from
  the recomputed one is simply discarded (see `verified_votes`).
* Communities take turns: slot s is on duty for community (s mod K) + 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from sec_offchain.crypto.hashing import keccak

DEFAULT_K = 10
DEFAULT_DEGREE = 8


def _e(epoch: int) -> bytes:
    return epoch.to_bytes(8, "big")


def ring(nodes: Sequence[bytes], epoch: int) -> list[bytes]:
    return sorted(nodes, key=lambda n: keccak(_e(epoch) + n))


def neighbor_map(
    nodes: Sequence[bytes], epoch: int, degree: int = DEFAULT_DEGREE
) -> dict[bytes, list[bytes]]:
    order = ring(nodes, epoch)
    n = len(order)
    half = min(degree // 2, (n - 1) // 2)
    out: dict[bytes, list[bytes]] = {}
    for i, node in enumerate(order):
        out[node] = [order[(i + d) % n] for d in range(-half, half + 1) if d != 0]
    return out


def vote(voter: bytes, epoch: int, neighbor: bytes, k: int = DEFAULT_K) -> int:
    return int.from_bytes(keccak(b"SEC vote" + voter + _e(epoch) + neighbor)[:8], "big") % k + 1


def tally(votes: Iterable[int], node: bytes = b"", epoch: int = 0, tie_break: str = "hash") -> int:
    counts = Counter(votes)
    if not counts:
        return 1
    top = max(counts.values())
    tied = sorted(c for c, n in counts.items() if n == top)
    if tie_break == "smallest" or len(tied) == 1:
        return tied[0]
    return tied[int.from_bytes(keccak(b"SEC tie" + node + _e(epoch))[:8], "big") % len(tied)]


def communities(
    nodes: Sequence[bytes],
    epoch: int,
    k: int = DEFAULT_K,
    degree: int = DEFAULT_DEGREE,
    tie_break: str = "hash",
) -> dict[bytes, int]:
    """Every node's community this epoch."""
    nbrs = neighbor_map(nodes, epoch, degree)
    return {
        node: tally((vote(v, epoch, node, k) for v in nbrs[node]), node, epoch, tie_break)
        for node in nodes
    }


def verified_votes(
    claimed: dict[bytes, int], node: bytes, epoch: int, k: int = DEFAULT_K
) -> list[int]:
    """The votes for `node` that recompute from their voters (a lie is dropped)."""
    return [c for voter, c in claimed.items() if c == vote(voter, epoch, node, k)]


def on_duty(slot: int, k: int = DEFAULT_K) -> int:
    return slot % k + 1
