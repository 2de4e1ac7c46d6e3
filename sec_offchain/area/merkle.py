"""Merkle trees in OpenZeppelin's StandardMerkleTree format (`@openzeppelin/merkle-tree`).

leaf = keccak256(keccak256(abi.encode(types, values))); an internal node is keccak256 of its
two children in ascending byte order; the leaves are sorted by hash and laid out in one array
with the root at index 0 and node i's children at 2i+1 and 2i+2. The double hash of a leaf
keeps a 64-byte inner node from passing for a leaf: nothing here takes a leaf from the
caller, a leaf is always computed from its values.

`dump()`/`load()` read and write the package's "standard-v1" JSON, so trees built here and
there are interchangeable, and proofs made by either verify in the other and in the contracts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sec_offchain.crypto.hashing import keccak
from sec_offchain.exceptions import SecError

ZERO32 = b"\x00" * 32
_LOWER_ADDRESS = re.compile(r"0x[0-9a-f]{40}")


class MerkleError(SecError):
    """A tree, proof or leaf is malformed."""


def _word(t: str, v: Any) -> bytes | None:
    """The 32-byte ABI word of a static value, or None where eth-abi must do it (a
    mixed-case address goes to eth-abi, which checks its checksum)."""
    if t == "bytes32" and isinstance(v, bytes) and len(v) == 32:
        return v
    if t == "uint256" and isinstance(v, int) and 0 <= v < 2**256:
        return v.to_bytes(32, "big")
    if t == "int256" and isinstance(v, int) and -(2**255) <= v < 2**255:
        return v.to_bytes(32, "big", signed=True)
    if t == "address" and isinstance(v, str) and _LOWER_ADDRESS.fullmatch(v):
        return bytes(12) + bytes.fromhex(v[2:])
    return None


def leaf_hash(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """The StandardMerkleTree leaf of `values` ABI-encoded as `types` (bytes32, uint256,
    int256 and lower-case addresses are packed here directly, anything else by eth-abi)."""
    if len(types) != len(values):
        raise MerkleError("values do not match the leaf encoding")
    words = [_word(t, v) for t, v in zip(types, values, strict=True)]
    if all(w is not None for w in words):
        encoded = b"".join(words)  # type: ignore[arg-type]
    else:
        from eth_abi import encode as abi_encode  # imported when needed: it is slow to load

        encoded = abi_encode(list(types), list(values))
    return keccak(keccak(encoded))


def node_hash(a: bytes, b: bytes) -> bytes:
    return keccak(a + b if a <= b else b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that `proof` leads to from `leaf`."""
    node = leaf
    for sibling in proof:
        if len(sibling) != 32:
            raise MerkleError("a proof node is not 32 bytes")
        node = node_hash(node, sibling)
    return node


def verify(
    root: bytes, types: Sequence[str], values: Sequence[Any], proof: Sequence[bytes]
) -> bool:
    """Whether `values` is in the tree with `root`. A zero root proves nothing."""
    if root == ZERO32:
        return False
    return process_proof(leaf_hash(types, values), proof) == root


class StandardMerkleTree:
    """A tree over `values` (each a sequence matching `types`), leaves sorted as the npm
    package sorts them by default."""

    def __init__(
        self,
        tree: list[bytes],
        values: list[tuple[Any, ...]],
        tree_index: list[int],
        types: tuple[str, ...],
    ) -> None:
        self.tree = tree
        self.values = values
        self.tree_index = tree_index
        self.types = types

    @classmethod
    def of(cls, values: Sequence[Sequence[Any]], types: Sequence[str]) -> StandardMerkleTree:
        if not values:
            raise MerkleError("a tree needs at least one leaf")
        types = tuple(types)
        hashed = sorted(
            ((leaf_hash(types, v), i) for i, v in enumerate(values)), key=lambda hv: hv[0]
        )
        n = len(hashed)
        tree: list[bytes] = [b""] * (2 * n - 1)
        tree_index = [0] * n
        for leaf_index, (h, value_index) in enumerate(hashed):
            tree[len(tree) - 1 - leaf_index] = h
            tree_index[value_index] = len(tree) - 1 - leaf_index
        for i in range(len(tree) - 1 - n, -1, -1):
            tree[i] = node_hash(tree[2 * i + 1], tree[2 * i + 2])
        return cls(tree, [tuple(v) for v in values], tree_index, types)

    @property
    def root(self) -> bytes:
        return self.tree[0]

    def leaf(self, index: int) -> bytes:
        return self.tree[self.tree_index[index]]

    def proof(self, index: int) -> list[bytes]:
        """The proof of the `index`-th value (in the order the values were given)."""
        i = self.tree_index[index]
        proof = []
        while i > 0:
            proof.append(self.tree[i + 1 if i % 2 == 1 else i - 1])
            i = (i - 1) // 2
        return proof

    def dump(self) -> dict[str, Any]:
        return {
            "format": "standard-v1",
            "leafEncoding": list(self.types),
            "tree": ["0x" + n.hex() for n in self.tree],
            "values": [
                {
                    "value": [_json_value(t, x) for t, x in zip(self.types, v, strict=True)],
                    "treeIndex": ti,
                }
                for v, ti in zip(self.values, self.tree_index, strict=True)
            ],
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> StandardMerkleTree:
        if data.get("format") != "standard-v1":
            raise MerkleError(f"unknown tree format {data.get('format')!r}")
        types = tuple(data["leafEncoding"])
        values = [
            tuple(_py_value(t, x) for t, x in zip(types, v["value"], strict=True))
            for v in data["values"]
        ]
        tree = [bytes.fromhex(n[2:]) for n in data["tree"]]
        loaded = cls(tree, values, [int(v["treeIndex"]) for v in data["values"]], types)
        # the same checks as the package's validate(): every leaf and node recomputes
        for i, value in enumerate(values):
            if loaded.leaf(i) != leaf_hash(types, value):
                raise MerkleError("a leaf does not match its value")
        for i in range(len(tree) // 2 - 1 + (len(tree) % 2), -1, -1):
            if 2 * i + 2 < len(tree) and tree[i] != node_hash(tree[2 * i + 1], tree[2 * i + 2]):
                raise MerkleError("an internal node does not match its children")
        return loaded


def root_of(values: Sequence[Sequence[Any]], types: Sequence[str]) -> bytes:
    """The root of a tree over `values`, or 0x00..00 for no values (which proves nothing)."""
    return StandardMerkleTree.of(values, types).root if values else ZERO32


def _json_value(t: str, x: Any) -> Any:
    if t.startswith(("uint", "int")):
        return str(x)
    if isinstance(x, bytes):
        return "0x" + x.hex()
    return x


def _py_value(t: str, x: Any) -> Any:
    if t.startswith(("uint", "int")):
        return int(x)
    if t.startswith("bytes") or t == "address":
        return bytes.fromhex(x[2:]) if t != "address" else x
    return x
