"""Fork choice and finality of the community consensus (DESIGN §4.3), shared by the live node
and the simulator.

* Longest chain; between chains of equal length the block seen first stays best.
* Once the next community has built on a block, blocks competing with it from the previous
  community are refused: a block is refused when a sibling (same parent) already has a child
  from a later slot. The rule is for *late* blocks: it applies to a block that arrives within
  `LATE_SLOTS` of its own slot. Applied to every block, as the paper words it, it would make
  the two sides of any partition longer than a slot refuse each other's history for good
  (docs/consensus.md measures it); older blocks arrive by sync, and the longest chain decides.
* A block is final when the best chain leads every competing fork by `depth` (2) blocks.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

ADDED, KNOWN, ORPHAN, REFUSED = "added", "known", "orphan", "refused"
LATE_SLOTS = 1


@dataclass(frozen=True)
class Meta:
    id: Hashable
    parent: Hashable | None
    height: int
    slot: int
    community: int = 0
    producer: Hashable = None
    time: float = 0.0  # production time (the simulator's clock)


@dataclass
class ForkChoice:
    depth: int = 2
    blocks: dict = field(default_factory=dict)
    children: dict = field(default_factory=dict)
    leaves: set = field(default_factory=set)
    best: Hashable | None = None
    refused: int = 0
    reorgs: list[int] = field(default_factory=list)  # depth of every switch of best chain

    def height(self) -> int:
        return self.blocks[self.best].height if self.best is not None else 0

    def add(self, b: Meta, now_slot: int | None = None, literal: bool = False) -> str:
        """Adds `b` as it arrives in slot `now_slot` (None: judged as late). `literal`
        applies the refusal rule to every block, as the paper words it."""
        if b.id in self.blocks:
            return KNOWN
        if b.parent is not None and b.parent not in self.blocks:
            return ORPHAN
        late = literal or now_slot is None or now_slot - b.slot <= LATE_SLOTS
        for sibling in self.children.get(b.parent, ()) if late else ():
            if any(self.blocks[c].slot > b.slot for c in self.children.get(sibling, ())):
                self.refused += 1
                return REFUSED
        self.blocks[b.id] = b
        self.children.setdefault(b.parent, []).append(b.id)
        self.leaves.discard(b.parent)
        self.leaves.add(b.id)
        if self.best is None or b.height > self.height():
            if self.best is not None and b.parent != self.best:
                fork = self.fork_point(b.id, self.best)
                self.reorgs.append(self.height() - fork)
            self.best = b.id
        return ADDED

    def ancestors(self, block_id) -> list:
        out = []
        while block_id is not None:
            out.append(block_id)
            block_id = self.blocks[block_id].parent
        return out

    def fork_point(self, a, b) -> int:
        """Height of the common ancestor of `a` and `b` (0 for none)."""
        seen = set(self.ancestors(a))
        while b is not None and b not in seen:
            b = self.blocks[b].parent
        return self.blocks[b].height if b is not None else 0

    def best_chain(self) -> list:
        return list(reversed(self.ancestors(self.best))) if self.best is not None else []

    def final_height(self) -> int:
        """The highest final height: the best chain is `depth` past it and every fork that
        branches off at or below it is `depth` shorter than the best chain."""
        top = self.height()
        final = top - self.depth
        if final <= 0:
            return 0
        on_best = set(self.ancestors(self.best))
        for leaf in self.leaves:
            if leaf in on_best:
                continue
            if self.blocks[leaf].height > top - self.depth:
                # a competitor too close: only what is below its fork point is final
                final = min(final, self.fork_point(leaf, self.best))
        return max(final, 0)

    def prune(self, below: int) -> None:
        """Forgets blocks below height `below` that are not on the best chain (memory)."""
        keep = set(self.ancestors(self.best)) if self.best is not None else set()
        drop = [i for i, m in self.blocks.items() if m.height < below and i not in keep]
        for i in drop:
            m = self.blocks.pop(i)
            self.leaves.discard(i)
            kids = self.children.get(m.parent)
            if kids and i in kids:
                kids.remove(i)
