"""The numbers of docs/consensus.md (prints; writes docs/consensus.png).

python scripts/consensus_report.py [--trials 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sec_offchain.area.merkle import keccak  # noqa: E402
from sec_offchain.consensus.communities import communities  # noqa: E402
from sec_offchain.consensus.sim import SimConfig, plot, simulate, sweep  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    args = parser.parse_args()

    t = time.perf_counter()
    base = simulate(SimConfig(nodes=10_000, slots=1000, seed=1))
    print(f"10,000 nodes x 1,000 slots: {time.perf_counter() - t:.1f} s wall; {base.summary()}")

    for lat in (0.2, 1.0, 2.0, 4.0):
        s = simulate(SimConfig(nodes=2000, slots=500, seed=2, latency=lat)).summary()
        print(
            f"latency {lat}: fork rate {s['fork_rate']}, orphans {s['orphan_rate']}, "
            f"finality {s['finality_s']}, reorgs {s['reorg_depths']}, "
            f"refused {s['refused_late_blocks']}, reverted {s['finalized_reverted']}"
        )
    for loss in (0.05, 0.2):
        s = simulate(SimConfig(nodes=2000, slots=500, seed=2, loss=loss)).summary()
        print(
            f"loss {loss}: fork rate {s['fork_rate']}, finality {s['finality_s']}, "
            f"reverted {s['finalized_reverted']}"
        )
    for literal in (False, True):
        r = simulate(
            SimConfig(
                nodes=2000, slots=300, seed=1, partition=(50, 80, 0.4), literal_refusal=literal
            )
        )
        s = r.summary()
        print(
            f"partition slots 50-80, 40/60, literal refusal {literal}: reverted final "
            f"{s['finalized_reverted']}, refused {s['refused_late_blocks']}, reorgs "
            f"{s['reorg_depths']}"
        )

    points = sweep([0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5], args.trials)
    print(
        f"attack sweep ({args.trials} trials each): "
        + ", ".join(f"p={p:.2f}: {s:.3f}" for p, s in points)
    )
    for p in (0.1, 0.2, 0.3, 0.4):
        s = simulate(SimConfig(nodes=2000, slots=600, seed=3, attacker=p)).summary()
        print(
            f"full sim, attacker {p} of every community: {s['attack_success']} of honest "
            f"final-height blocks overturned, reorgs {s['reorg_depths']}, reverted "
            f"{s['finalized_reverted']}"
        )

    ids = [keccak(i.to_bytes(8, "big"))[:20] for i in range(10_000)]
    for rule in ("smallest", "hash"):
        sizes = Counter(communities(ids, 0, 10, 8, rule).values())
        print(f"community sizes, ties -> {rule}: {dict(sorted(sizes.items()))}")
    plot(base, points, str(Path(__file__).resolve().parents[1] / "docs" / "consensus.png"))
    print("wrote docs/consensus.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
