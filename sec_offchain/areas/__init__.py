"""Areas that follow trade relations (DESIGN §4.2, round 2).

Per epoch, the completed trades of the last relation period become a weighted relation graph
(`graph`), which is clustered into a fixed number of areas with seeded Louvain community
detection, size bounds and hysteresis (`cluster`); the result is an account -> area directory
with an OpenZeppelin-format Merkle root and proofs (`directory`), whose root is committed per
epoch on chain (`contracts/AreaDirectory.vy`). `events` reads the trades from the chain;
`lookup` answers which area an account (and an open order) is in at a given block.
"""

from sec_offchain.areas.cluster import AreaParams, Move, Plan, hash_area, plan_areas
from sec_offchain.areas.directory import (
    DIRECTORY_LEAF,
    AreaDirectory,
    DirectoryProof,
    verify_entry,
)
from sec_offchain.areas.graph import Trade, build_relation_graph, relation_weight
from sec_offchain.areas.lookup import AreaLookup, Publication

__all__ = [
    "DIRECTORY_LEAF",
    "AreaDirectory",
    "AreaLookup",
    "AreaParams",
    "DirectoryProof",
    "Move",
    "Plan",
    "Publication",
    "Trade",
    "build_relation_graph",
    "hash_area",
    "plan_areas",
    "relation_weight",
    "verify_entry",
]
