"""Proof bundles: a product's credit with its Merkle proof against an anchored header's
`credit_root` (a trade record likewise against its `tx_root`), and the light check of such
a bundle that trusts nothing from whoever served it (the seeds' phone light client).

A bundle (JSON):
    {"kind": "credit", "area_id": A, "height": H, "product_id": "0x..32", "credit": C,
     "proof": ["0x..32", ...], "header": {AreaHeader fields, bytes as 0x-hex}}

`verify_credit_bundle` recomputes the leaf from (product_id, credit), folds the proof to a
root and compares it with the header's credit_root, hashes the header itself (EIP-712 under
the AnchorHub domain of the chain id the node reports and the AnchorHub address the caller
trusts, never one from the bundle) and compares the digest with `anchored_hash(A, H)`: two
RPC calls (eth_chainId, one eth_call).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sec_offchain.area.merkle import StandardMerkleTree, leaf_hash, process_proof
from sec_offchain.encoding.area_header import (
    AreaHeader,
    eip712_domain_separator,
    fast_header_digest,
)
from sec_offchain.exceptions import SecError

if TYPE_CHECKING:
    from sec_offchain.area.block import Block

# The verifying half (`verify_*_bundle`, what `sec verify` runs) imports nothing heavy (no
# eth-account, eth-abi, rlp or the area chain): it starts in well under a second. The leaf
# encodings and the header digest are therefore spelled out here; the tests check them
# against `area.block` and `hash_area_header`.
HEADER_BYTES = ("parent_hash", "tx_root", "credit_root", "egress_root")
TX_LEAF = ("bytes32",)
CREDIT_LEAF = ("bytes32", "int256")


def header_digest(h: AreaHeader, chain_id: int, anchor_hub: str) -> bytes:
    """The header's EIP-712 digest under AnchorHub's domain (= `hash_area_header`)."""
    return fast_header_digest(
        h, eip712_domain_separator("SEC AnchorHub", "1", chain_id, anchor_hub)
    )


class BundleError(SecError):
    """A proof bundle is malformed or does not verify; the message names what failed."""


def header_to_json(h: AreaHeader) -> dict[str, Any]:
    return {
        "area_id": h.area_id,
        "height": h.height,
        "parent_hash": "0x" + h.parent_hash.hex(),
        "tx_root": "0x" + h.tx_root.hex(),
        "credit_root": "0x" + h.credit_root.hex(),
        "egress_root": "0x" + h.egress_root.hex(),
        "timestamp": h.timestamp,
    }


def _b32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        raise BundleError(f"{what}: not a 0x-prefixed 32-byte hex string")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise BundleError(f"{what}: not hex") from None


def _uint(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 2**256:
        raise BundleError(f"{what}: not an unsigned integer")
    return value


def header_from_json(data: Any) -> AreaHeader:
    if not isinstance(data, dict):
        raise BundleError("header: not an object")
    try:
        return AreaHeader(
            _uint(data["area_id"], "header.area_id"),
            _uint(data["height"], "header.height"),
            *(_b32(data[k], f"header.{k}") for k in HEADER_BYTES),
            timestamp=_uint(data["timestamp"], "header.timestamp"),
        )
    except KeyError as exc:
        raise BundleError(f"header: missing {exc.args[0]}") from None


def credit_table(blocks: Iterable[Block]) -> dict[bytes, int]:
    """The product credit table after `blocks` (heights 1.. in order): each block carries
    the latest total of every product it touched."""
    table: dict[bytes, int] = {}
    for block in blocks:
        for product, credit in block.credits:
            table[product] = credit
    return table


def build_credit_bundle(
    table: Mapping[bytes, int], header: AreaHeader, product_id: bytes
) -> dict[str, Any]:
    """The bundle proving `table[product_id]` against `header.credit_root`; BundleError when
    the table is not the one the header commits to, or lacks the product."""
    if product_id not in table:
        raise BundleError(
            f"product 0x{product_id.hex()} has no credit in area {header.area_id} "
            f"at height {header.height}"
        )
    items = sorted(table.items())
    tree = StandardMerkleTree.of(items, CREDIT_LEAF)
    if tree.root != header.credit_root:
        raise BundleError(
            f"the credit table rebuilt for area {header.area_id} height {header.height} "
            "does not match its anchored credit_root"
        )
    index = next(i for i, (p, _) in enumerate(items) if p == product_id)
    return {
        "kind": "credit",
        "area_id": header.area_id,
        "height": header.height,
        "product_id": "0x" + product_id.hex(),
        "credit": items[index][1],
        "proof": ["0x" + p.hex() for p in tree.proof(index)],
        "header": header_to_json(header),
    }


def verify_credit_bundle(
    bundle: Any,
    fetch_chain_id: Callable[[], int],
    fetch_anchored: Callable[[int, int], bytes],
    anchor_hub: str,
) -> dict[str, Any]:
    """Checks a credit bundle; returns what it proves. `fetch_chain_id` and
    `fetch_anchored(area, height)` are the two RPC reads; BundleError names what failed."""
    if not isinstance(bundle, dict) or bundle.get("kind") != "credit":
        raise BundleError('not a credit proof bundle (kind must be "credit")')
    header = header_from_json(bundle.get("header"))
    if (bundle.get("area_id"), bundle.get("height")) != (header.area_id, header.height):
        raise BundleError("area_id/height: do not match the header's")
    product = _b32(bundle.get("product_id"), "product_id")
    credit = bundle.get("credit")
    if not isinstance(credit, int) or isinstance(credit, bool) or not -(2**255) <= credit < 2**255:
        raise BundleError("credit: not an int256")
    proof_raw = bundle.get("proof")
    if not isinstance(proof_raw, list) or len(proof_raw) > 256:
        raise BundleError("proof: not a list of at most 256 hashes")
    proof = [_b32(p, f"proof[{i}]") for i, p in enumerate(proof_raw)]
    root = process_proof(leaf_hash(CREDIT_LEAF, (product, credit)), proof)
    if root != header.credit_root:
        raise BundleError(
            "credit proof: the product's credit and the proof do not lead to the header's "
            "credit_root"
        )
    digest = _check_header(header, fetch_chain_id, fetch_anchored, anchor_hub)
    return {
        "area_id": header.area_id,
        "height": header.height,
        "product_id": "0x" + product.hex(),
        "credit": credit,
        "header_hash": "0x" + digest.hex(),
    }


# ── trade records ──────────────────────────────────────────────────────────────────────
def _check_header(
    header: AreaHeader,
    fetch_chain_id: Callable[[], int],
    fetch_anchored: Callable[[int, int], bytes],
    anchor_hub: str,
    chain_id: int | None = None,
) -> bytes:
    digest = header_digest(header, fetch_chain_id() if chain_id is None else chain_id, anchor_hub)
    anchored = fetch_anchored(header.area_id, header.height)
    if anchored == b"\0" * 32:
        raise BundleError(
            f"header: nothing is anchored at area {header.area_id} height {header.height}"
        )
    if anchored != digest:
        raise BundleError(
            f"header: not the one anchored at area {header.area_id} height {header.height} "
            f"(anchored 0x{anchored.hex()}, the bundle's hashes to 0x{digest.hex()})"
        )
    return digest


def build_record_bundle(
    block: Block, header: AreaHeader, record_id: bytes, separator: bytes
) -> dict[str, Any]:
    """The bundle proving that the record with id `record_id` (its EIP-712 digest) is in
    `block`, whose tx_root the anchored `header` commits to; BundleError otherwise."""
    from sec_offchain.area.block import body_digests

    ids = [r.digest(separator) for r in block.records]
    values = [(i,) for i in ids] + [(x,) for x in body_digests(block, separator)]
    tree = StandardMerkleTree.of(values, TX_LEAF)
    if tree.root != header.tx_root:
        raise BundleError(
            f"the block served for area {header.area_id} height {header.height} does not "
            "match its anchored tx_root"
        )
    if record_id not in ids:
        raise BundleError(
            f"record 0x{record_id.hex()} is not in area {header.area_id} block {header.height}"
        )
    index = ids.index(record_id)
    return {
        "kind": "record",
        "area_id": header.area_id,
        "height": header.height,
        "record": "0x" + block.records[index].encode().hex(),
        "proof": ["0x" + p.hex() for p in tree.proof(index)],
        "header": header_to_json(header),
    }


def verify_record_bundle(
    bundle: Any,
    fetch_chain_id: Callable[[], int],
    fetch_anchored: Callable[[int, int], bytes],
    anchor_hub: str,
    escrow: str,
) -> dict[str, Any]:
    """Checks a record bundle: the record's id (its digest under the records' domain of the
    chain id the node reports and the Escrow the caller trusts) with the proof leads to the
    header's tx_root, and the header is the anchored one."""
    from sec_offchain.area.records import RecordError, TradeRecord, domain_separator

    if not isinstance(bundle, dict) or bundle.get("kind") != "record":
        raise BundleError('not a record proof bundle (kind must be "record")')
    header = header_from_json(bundle.get("header"))
    if (bundle.get("area_id"), bundle.get("height")) != (header.area_id, header.height):
        raise BundleError("area_id/height: do not match the header's")
    raw = bundle.get("record")
    if not isinstance(raw, str) or not raw.startswith("0x") or len(raw) > 2 + 2 * 65_536:
        raise BundleError("record: not 0x-prefixed hex of at most 64 KiB")
    try:
        record = TradeRecord.decode(bytes.fromhex(raw[2:]))
    except (ValueError, RecordError, Exception) as exc:  # noqa: BLE001 - any decode failure
        raise BundleError(
            f"record: not an encoded trade record ({exc.__class__.__name__})"
        ) from None
    proof_raw = bundle.get("proof")
    if not isinstance(proof_raw, list) or len(proof_raw) > 256:
        raise BundleError("proof: not a list of at most 256 hashes")
    proof = [_b32(p, f"proof[{i}]") for i, p in enumerate(proof_raw)]
    chain_id = fetch_chain_id()
    record_id = record.digest(domain_separator(chain_id, escrow))
    if process_proof(leaf_hash(TX_LEAF, (record_id,)), proof) != header.tx_root:
        raise BundleError(
            "record proof: the record and the proof do not lead to the header's tx_root"
        )
    digest = _check_header(header, fetch_chain_id, fetch_anchored, anchor_hub, chain_id)
    return {
        "area_id": header.area_id,
        "height": header.height,
        "record_id": "0x" + record_id.hex(),
        "order_id": record.order_id,
        "status": record.status,
        "ciphertext": "0x" + record.ciphertext.hex(),
        "header_hash": "0x" + digest.hex(),
    }
