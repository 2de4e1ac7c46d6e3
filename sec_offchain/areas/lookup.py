"""Which area an account is in, at a given block: the directory in force then.

A directory takes effect at the block that published its root. An order belongs to the area
its seller was in when the order was *paid*, so an order open across an epoch change finishes
in the area where it started (`area_at(seller, paid_block)`), while new orders follow the new
directory. Each directory is checked against its published root before it is used; accounts
a directory does not list keep the address-hash area.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from sec_offchain.areas.cluster import hash_area
from sec_offchain.areas.directory import AreaDirectory
from sec_offchain.areas.graph import AreaError


@dataclass(frozen=True)
class Publication:
    """AreaDirectory's `DirectoryPublished`: `epoch` with `root`, mined in `block`."""

    epoch: int
    root: bytes
    block: int


class AreaLookup:
    """Account -> area over time, from the published directories."""

    def __init__(self, area_ids: tuple[int, ...]) -> None:
        if not area_ids:
            raise AreaError("at least one area is needed")
        self.area_ids = tuple(area_ids)
        self._blocks: list[int] = []
        self._directories: list[AreaDirectory] = []

    def add(self, publication: Publication, directory: AreaDirectory) -> None:
        """Puts `directory` in force from `publication.block` on. Refuses a directory whose
        epoch or root is not the published one, or publications out of order."""
        if directory.epoch != publication.epoch:
            raise AreaError(
                f"directory of epoch {directory.epoch} offered for epoch {publication.epoch}"
            )
        if directory.root != publication.root:
            raise AreaError(
                f"directory of epoch {directory.epoch} does not match its published root"
            )
        if self._directories and (
            publication.epoch != self._directories[-1].epoch + 1
            or publication.block < self._blocks[-1]
        ):
            raise AreaError(
                f"epoch {publication.epoch} does not follow epoch {self._directories[-1].epoch}"
            )
        self._blocks.append(publication.block)
        self._directories.append(directory)

    def directory_at(self, block: int) -> AreaDirectory | None:
        """The directory in force at `block` (None before the first)."""
        i = bisect_right(self._blocks, block)
        return self._directories[i - 1] if i else None

    def area_at(self, account: str, block: int) -> int:
        """The area of `account` at `block`."""
        directory = self.directory_at(block)
        if directory is not None and account in directory:
            return directory.area_of(account)
        return hash_area(account, self.area_ids)

    def order_area(self, seller: str, paid_block: int) -> int:
        """The area an order paid at `paid_block` lives and finishes in: its seller's then."""
        return self.area_at(seller, paid_block)
