"""The on-duty community's easy proof of work, and `CommunityPoW`, the producer policy that
replaces the round-robin one in live area nodes.

A block's work: keccak256(RLP(full header with nonce 0) ‖ nonce as 8 bytes) below
2**256 / difficulty. Its producer must be a member of the community on duty in the block's
slot (slot = (timestamp - genesis) // slot_time, community = slot mod K + 1, communities
from `communities.communities` over the area's nodes, re-formed every epoch), one block per
slot along a chain, at the difficulty that follows from its parent (retargeted every
`retarget_every` blocks towards `solve_target` seconds, clamped to a factor of 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import rlp

from sec_offchain.consensus.communities import communities, on_duty
from sec_offchain.crypto.hashing import keccak

MAX_TARGET = 2**256


def work_base(header) -> bytes:
    return rlp.encode(replace(header, nonce=0).sedes())


def work_hash(base: bytes, nonce: int) -> bytes:
    return keccak(base + nonce.to_bytes(8, "big"))


def meets(h: bytes, difficulty: int) -> bool:
    return int.from_bytes(h, "big") < MAX_TARGET // max(1, difficulty)


def mine(header, start: int = 0, tries: int = 10_000_000):
    """The header with a nonce that meets its difficulty, or None after `tries`."""
    base = work_base(header)
    target = MAX_TARGET // max(1, header.difficulty)
    for nonce in range(start, start + tries):
        if int.from_bytes(work_hash(base, nonce), "big") < target:
            return replace(header, nonce=nonce)
    return None


SHARE_FACTOR = 16  # a share is 1/16 of a block's work


def share_hash(parent: bytes, slot: int, member: bytes, nonce: int) -> bytes:
    return keccak(
        b"SEC share" + parent + slot.to_bytes(8, "big") + member + nonce.to_bytes(8, "big")
    )


def share_ok(parent: bytes, slot: int, member: bytes, nonce: int, difficulty: int) -> bool:
    return meets(share_hash(parent, slot, member, nonce), max(1, difficulty // SHARE_FACTOR))


def mine_share(
    parent: bytes, slot: int, member: bytes, difficulty: int, tries: int = 10_000_000
) -> int | None:
    """A member's proof that it worked on `slot` on top of `parent` (its participation)."""
    target = MAX_TARGET // max(1, difficulty // SHARE_FACTOR)
    for nonce in range(tries):
        if int.from_bytes(share_hash(parent, slot, member, nonce), "big") < target:
            return nonce
    return None


def retarget(difficulty: int, observed: float, target: float) -> int:
    factor = min(2.0, max(0.5, target / max(observed, 1e-3)))
    return max(1, int(difficulty * factor))


@dataclass
class CommunityPoW:
    producers: tuple[bytes, ...]
    slot_time: float = 2.0
    genesis_time: int = 0
    k: int = 2
    epoch_slots: int = 100
    difficulty: int = 2**12  # of the first block
    solve_target: float = 0.5
    retarget_every: int = 10
    tie_break: str = "hash"
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.slot_time < 1:
            raise ValueError("slots are at least a second long (block timestamps are seconds)")

    # ------------------------------------------------------------------ slots

    def slot_of(self, timestamp: int) -> int:
        return int((timestamp - self.genesis_time) // self.slot_time)

    def community_of(self, node: bytes, slot: int) -> int:
        epoch = slot // self.epoch_slots
        comm = self._cache.get(epoch)
        if comm is None:
            comm = self._cache[epoch] = communities(
                list(self.producers),
                epoch,
                self.k,
                degree=min(8, len(self.producers) - 1 or 1),
                tie_break=self.tie_break,
            )
            if len(self._cache) > 4:
                self._cache.pop(min(self._cache))
        return comm.get(node, 0)

    def on_duty(self, node: bytes, slot: int) -> bool:
        return self.community_of(node, slot) == on_duty(slot, self.k) or not any(
            self.community_of(n, slot) == on_duty(slot, self.k) for n in self.producers
        )

    def due(self, height: int) -> bytes:  # not meaningful for PoW; the policy interface
        return self.producers[0]

    # ------------------------------------------------------------------ rules

    def expected_difficulty(self, parent, grandparent_times: list[int]) -> int:
        """The difficulty a child of `parent` must carry: the parent's, retargeted every
        `retarget_every` heights over the last window's mean block time."""
        if parent is None:
            return self.difficulty
        d = parent.difficulty or self.difficulty
        if (parent.height + 1) % self.retarget_every == 0 and len(grandparent_times) >= 2:
            span = grandparent_times[-1] - grandparent_times[0]
            observed = span / (len(grandparent_times) - 1)
            # blocks come once per slot at most: the solve time is what is left of it
            d = retarget(
                d, max(observed - self.slot_time + self.solve_target, 1e-3), self.solve_target
            )
        return d

    def may_produce(self, producer: bytes, height: int, timestamp: int, parent) -> bool:
        slot = self.slot_of(timestamp)
        if slot < 0:
            return False
        if parent is not None and self.slot_of(parent.timestamp) >= slot:
            return False  # one block per slot along a chain
        return producer in self.producers and self.on_duty(producer, slot)

    def check_shares(self, header, shares) -> str | None:
        """Participation shares in a block: on-duty members other than the producer, once
        each, with the work for this slot on this parent."""
        slot = self.slot_of(header.timestamp)
        seen = set()
        for member, nonce in shares:
            if member == header.producer or member in seen:
                return "a share is the producer's or repeated"
            if member not in self.producers or not self.on_duty(member, slot):
                return "a share is from a member not on duty"
            if not share_ok(header.parent_hash, slot, member, nonce, header.difficulty):
                return "a share does not meet its target"
            seen.add(member)
        return None

    def check_header(self, header, parent, recent_times: list[int]) -> str | None:
        """Why `header` breaks the policy (None if it does not)."""
        slot = self.slot_of(header.timestamp)
        if header.community != on_duty(slot, self.k):
            return "community is not the one on duty in this slot"
        if header.difficulty != self.expected_difficulty(parent, recent_times):
            return "difficulty does not follow from the parent"
        if not meets(work_hash(work_base(header), header.nonce), header.difficulty):
            return "proof of work does not meet the difficulty"
        return None
