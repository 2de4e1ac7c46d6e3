"""The account -> area directory of one epoch, as an OpenZeppelin StandardMerkleTree.

A leaf is `(address account, uint256 area_id)` (leaf = keccak256(keccak256(abi.encode(...))),
the same format as BGC's egress trees), so a proof made here verifies in
`AreaDirectory.verify` on chain, in `@openzeppelin/merkle-tree`, and in `verify_entry`. The root
is committed per epoch in AreaDirectory; the JSON form (`dump`/`load`) is what the gateway
serves and what `sec areas plan --previous` reads back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from sec_offchain.area.merkle import MerkleError, StandardMerkleTree, verify
from sec_offchain.areas.graph import AreaError

DIRECTORY_LEAF = ("address", "uint256")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def _normal(account: object) -> str | None:
    """`account` in lower case, or None when it is not a 0x-prefixed 20-byte hex string
    (checksums are not enforced: the leaf is the same 20 bytes whatever the case)."""
    if isinstance(account, str) and _ADDRESS.fullmatch(account):
        return account.lower()
    return None


@dataclass(frozen=True)
class DirectoryProof:
    """`account` is in area `area_id` in the directory whose root `proof` leads to."""

    account: str
    area_id: int
    proof: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "area_id": self.area_id,
            "proof": ["0x" + p.hex() for p in self.proof],
        }


def verify_entry(root: bytes, account: str, area_id: int, proof: Sequence[bytes]) -> bool:
    """Whether the directory with `root` puts `account` in `area_id` (a zero root, a malformed
    account or a malformed proof node proves nothing)."""
    address = _normal(account)
    if address is None or not isinstance(area_id, int) or not 0 <= area_id < 2**256:
        return False
    try:
        return verify(root, DIRECTORY_LEAF, (address, area_id), proof)
    except MerkleError:
        return False


class AreaDirectory:
    """One epoch's directory: every account with its area, the Merkle root over them, and
    the chain block whose events it was computed from."""

    def __init__(self, epoch: int, entries: Mapping[str, int], source_block: int = 0) -> None:
        if epoch < 1:
            raise AreaError("epochs count from 1")
        if not entries:
            raise AreaError("a directory needs at least one account")
        normal: dict[str, int] = {}
        for account, area in entries.items():
            address = _normal(account)
            if address is None:
                raise AreaError(f"not an address: {account!r}")
            if not isinstance(area, int) or not 0 <= area < 2**256:
                raise AreaError(f"bad area id {area!r} for {account}")
            if address in normal:
                raise AreaError(f"{account} is listed twice")
            normal[address] = area
        self.epoch = epoch
        self.source_block = source_block
        self._accounts = sorted(normal)
        self._position = {a: i for i, a in enumerate(self._accounts)}
        self._entries = normal
        self._tree = StandardMerkleTree.of([(a, normal[a]) for a in self._accounts], DIRECTORY_LEAF)

    @property
    def root(self) -> bytes:
        return self._tree.root

    @property
    def entries(self) -> dict[str, int]:
        """Every account (lower case) with its area id."""
        return dict(self._entries)

    def __len__(self) -> int:
        return len(self._accounts)

    def __contains__(self, account: object) -> bool:
        address = _normal(account)
        return address is not None and address in self._position

    def area_of(self, account: str) -> int:
        """The area of `account` (AreaError when the directory does not list it)."""
        return self.get_proof(account).area_id

    def get_proof(self, account: str) -> DirectoryProof:
        """The entry of `account` with its proof against `root`."""
        address = _normal(account)
        i = self._position.get(address) if address is not None else None
        if address is None or i is None:
            raise AreaError(f"{account} is not in the directory of epoch {self.epoch}")
        return DirectoryProof(
            to_checksum_address(address), self._entries[address], tuple(self._tree.proof(i))
        )

    def dump(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "source_block": self.source_block,
            "root": "0x" + self.root.hex(),
            "tree": self._tree.dump(),
        }

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> AreaDirectory:
        """A directory from `dump()`'s JSON; refuses one whose tree or root does not recompute."""
        try:
            tree = StandardMerkleTree.load(dict(data["tree"]))
            if tuple(tree.types) != DIRECTORY_LEAF:
                raise AreaError("not a directory tree (wrong leaf encoding)")
            entries: dict[str, int] = {}
            for value in tree.values:
                address = _normal(value[0])
                if address is None or address in entries:
                    raise AreaError(f"bad or repeated account {value[0]!r}")
                entries[address] = int(value[1])
            directory = cls(int(data["epoch"]), entries, int(data.get("source_block", 0)))
        except (KeyError, TypeError, ValueError, MerkleError) as exc:
            raise AreaError(f"malformed directory: {exc}") from exc
        if directory.root != tree.root or "0x" + directory.root.hex() != data.get("root"):
            raise AreaError("malformed directory: the root does not match its entries")
        return directory
