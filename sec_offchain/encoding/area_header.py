"""The on-chain part of an autonomous-area block header, its EIP-712 digest (identical to
`AnchorHub.hash_header`) and 65-byte r||s||v signatures (v 27/28, low s) made with coincurve."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from coincurve import PrivateKey, PublicKey

from sec_offchain.crypto.hashing import keccak
from sec_offchain.exceptions import SecError

ZERO32 = b"\x00" * 32
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

AREA_HEADER_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "AreaHeader": [
        {"name": "area_id", "type": "uint256"},
        {"name": "height", "type": "uint256"},
        {"name": "parent_hash", "type": "bytes32"},
        {"name": "tx_root", "type": "bytes32"},
        {"name": "credit_root", "type": "bytes32"},
        {"name": "egress_root", "type": "bytes32"},
        {"name": "timestamp", "type": "uint256"},
    ],
}


class SignatureError(SecError):
    """A signature is malformed, malleable (high s) or does not recover."""


@dataclass(frozen=True)
class AreaHeader:
    area_id: int
    height: int
    parent_hash: bytes = ZERO32
    tx_root: bytes = ZERO32
    credit_root: bytes = ZERO32
    egress_root: bytes = ZERO32
    timestamp: int = 0

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple, in type-string order (what `anchor` takes)."""
        return (
            self.area_id,
            self.height,
            self.parent_hash,
            self.tx_root,
            self.credit_root,
            self.egress_root,
            self.timestamp,
        )

    def to_json(self) -> dict[str, Any]:
        return {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AreaHeader:
        def b32(value: str) -> bytes:
            raw = bytes.fromhex(value[2:] if value.startswith("0x") else value)
            if len(raw) != 32:
                raise ValueError(f"not 32 bytes: {value}")
            return raw

        return cls(
            area_id=int(data["area_id"]),
            height=int(data["height"]),
            parent_hash=b32(data["parent_hash"]),
            tx_root=b32(data["tx_root"]),
            credit_root=b32(data["credit_root"]),
            egress_root=b32(data["egress_root"]),
            timestamp=int(data["timestamp"]),
        )


def hash_area_header(header: AreaHeader, chain_id: int, anchor_hub: str) -> bytes:
    """The EIP-712 digest of `header` under the domain ("SEC AnchorHub", "1", chain_id,
    anchor_hub): what validators sign and what `AnchorHub.hash_header` returns."""
    # imported here: eth-account takes longer to load than a light client's whole check
    from eth_account.messages import encode_typed_data
    from eth_utils import to_checksum_address

    message = {k: v for k, v in asdict(header).items()}
    signable = encode_typed_data(
        full_message={
            "types": AREA_HEADER_TYPES,
            "primaryType": "AreaHeader",
            "domain": {
                "name": "SEC AnchorHub",
                "version": "1",
                "chainId": chain_id,
                "verifyingContract": to_checksum_address(anchor_hub),
            },
            "message": message,
        }
    )
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


AREA_HEADER_TYPEHASH = keccak(
    b"AreaHeader(uint256 area_id,uint256 height,bytes32 parent_hash,bytes32 tx_root,"
    b"bytes32 credit_root,bytes32 egress_root,uint256 timestamp)"
)


def fast_header_digest(h: AreaHeader, separator: bytes) -> bytes:
    """`hash_area_header` without eth-account's generic encoder (equal; see the tests), for
    a domain `separator` computed once."""
    struct = keccak(
        AREA_HEADER_TYPEHASH
        + h.area_id.to_bytes(32, "big")
        + h.height.to_bytes(32, "big")
        + h.parent_hash
        + h.tx_root
        + h.credit_root
        + h.egress_root
        + h.timestamp.to_bytes(32, "big")
    )
    return keccak(b"\x19\x01" + separator + struct)


_DOMAIN_TYPEHASH = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


def eip712_domain_separator(name: str, version: str, chain_id: int, contract: str) -> bytes:
    """The EIP-712 domain separator of (name, version, chainId, verifyingContract)."""
    return keccak(
        _DOMAIN_TYPEHASH
        + keccak(name.encode())
        + keccak(version.encode())
        + chain_id.to_bytes(32, "big")
        + bytes.fromhex(contract[2:]).rjust(32, b"\0")
    )


def sign_digest(private_key: bytes, digest: bytes) -> bytes:
    """A 65-byte r||s||v signature of `digest` (v 27/28; libsecp256k1 always gives low s)."""
    sig = PrivateKey(private_key).sign_recoverable(digest, hasher=None)
    return sig[:64] + bytes([sig[64] + 27])


def recover_address(digest: bytes, signature: bytes) -> bytes:
    """The 20-byte address that signed `digest`; SignatureError for anything AnchorHub would
    refuse (not 65 bytes, v not 27/28, high s, no recovery)."""
    if len(signature) != 65:
        raise SignatureError("signature is not 65 bytes r||s||v")
    v = signature[64]
    if v not in (27, 28):
        raise SignatureError("bad signature v")
    if int.from_bytes(signature[32:64], "big") > SECP256K1_N // 2:
        raise SignatureError("high s (malleable signature)")
    try:
        public = PublicKey.from_signature_and_message(
            signature[:64] + bytes([v - 27]), digest, hasher=None
        )
    except Exception as exc:  # noqa: BLE001 - coincurve raises plain Exception
        raise SignatureError(f"signature does not recover: {exc}") from exc
    return keccak(public.format(compressed=False)[1:])[12:]


def recover_signer(digest: bytes, signature: bytes) -> str:
    """The checksummed address that signed `digest` (see `recover_address`)."""
    from eth_utils import to_checksum_address

    return to_checksum_address(recover_address(digest, signature))
