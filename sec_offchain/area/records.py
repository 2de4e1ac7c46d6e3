"""Trade records: what an autonomous area keeps about each completed or ruled trade.

A record names seller, buyer, product, order, status and the product-credit change in the
clear (so every node can check it and keep the credit table) and carries the trade's details
(listing, price, token, transaction) as an ECIES ciphertext to the buyer's public key
(eciespy: secp256k1 ECDH + HKDF + AES-256-GCM), so only the buyer, and the seller who wrote
it, can read them. The writer signs the EIP-712 digest of

    TradeRecord(uint256 area_id,address seller,address buyer,bytes32 product_id,
                uint256 order_id,uint8 status,int256 credit_delta,bytes32 details_hash)

under the domain ("SEC Area", "1", chain id, Escrow), details_hash = keccak256(ciphertext).
The writer is the seller, or an escrow bridge key that attests an on-chain order event (the
event is public; the bridge only copies it). The digest is the record's id; one record per
order is kept (the key is the order id).

Hashing is done by hand with fixed-width packing (a test checks it against eth-account's
`encode_typed_data`): the node verifies thousands of records a second and eth-account's
generic encoder costs more than the signature recovery itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import ecies
import rlp
from coincurve import PrivateKey, PublicKey
from rlp.sedes import Binary, big_endian_int, binary

from sec_offchain.area.merkle import keccak
from sec_offchain.encoding.area_header import SECP256K1_N
from sec_offchain.exceptions import SecError

STATUS_COMPLETED = 3
STATUS_RULED = 6
STATUSES = (STATUS_COMPLETED, STATUS_RULED)
MAX_CIPHERTEXT = 4096

TRADE_RECORD_TYPE = (
    b"TradeRecord(uint256 area_id,address seller,address buyer,bytes32 product_id,"
    b"uint256 order_id,uint8 status,int256 credit_delta,bytes32 details_hash)"
)
TRADE_RECORD_TYPEHASH = keccak(TRADE_RECORD_TYPE)
_DOMAIN_TYPEHASH = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


class RecordError(SecError):
    """A record is malformed, tampered with, or signed by someone it may not be."""


def domain_separator(chain_id: int, escrow: str) -> bytes:
    return keccak(
        _DOMAIN_TYPEHASH
        + keccak(b"SEC Area")
        + keccak(b"1")
        + chain_id.to_bytes(32, "big")
        + bytes.fromhex(escrow[2:]).rjust(32, b"\0")
    )


def address_of_public_key(public_key: bytes) -> bytes:
    """The 20-byte address of a 65-byte uncompressed public key."""
    return keccak(public_key[1:])[12:]


def product_id_of(listing_id: int) -> bytes:
    """A listing is a product; its id as bytes32."""
    return listing_id.to_bytes(32, "big")


class _RecordSedes(rlp.Serializable):
    fields = [
        ("area_id", big_endian_int),
        ("seller", Binary.fixed_length(20)),
        ("buyer", Binary.fixed_length(20)),
        ("product_id", Binary.fixed_length(32)),
        ("order_id", big_endian_int),
        ("status", big_endian_int),
        ("credit_delta", Binary.fixed_length(32)),  # int256, two's complement
        ("ciphertext", binary),
        ("signature", Binary.fixed_length(65)),
    ]


@dataclass(frozen=True)
class TradeRecord:
    area_id: int
    seller: bytes  # 20 bytes
    buyer: bytes  # 20 bytes
    product_id: bytes  # 32 bytes
    order_id: int
    status: int
    credit_delta: int
    ciphertext: bytes
    signature: bytes = b""

    # ------------------------------------------------------------------ hashing

    def struct_hash(self) -> bytes:
        return keccak(
            TRADE_RECORD_TYPEHASH
            + self.area_id.to_bytes(32, "big")
            + self.seller.rjust(32, b"\0")
            + self.buyer.rjust(32, b"\0")
            + self.product_id
            + self.order_id.to_bytes(32, "big")
            + self.status.to_bytes(32, "big")
            + self.credit_delta.to_bytes(32, "big", signed=True)
            + keccak(self.ciphertext)
        )

    def digest(self, separator: bytes) -> bytes:
        """The EIP-712 digest the writer signs; the record's id."""
        return keccak(b"\x19\x01" + separator + self.struct_hash())

    # ------------------------------------------------------------------ signing

    def signed(self, private_key: bytes, separator: bytes) -> TradeRecord:
        sig = PrivateKey(private_key).sign_recoverable(self.digest(separator), hasher=None)
        return replace(self, signature=sig[:64] + bytes([sig[64] + 27]))

    def signer(self, separator: bytes) -> bytes:
        """The 20-byte address that signed the record (RecordError if it does not recover)."""
        return recover_address(self.digest(separator), self.signature)

    # ------------------------------------------------------------------ encoding

    def encode(self) -> bytes:
        return rlp.encode(
            _RecordSedes(
                self.area_id,
                self.seller,
                self.buyer,
                self.product_id,
                self.order_id,
                self.status,
                self.credit_delta.to_bytes(32, "big", signed=True),
                self.ciphertext,
                self.signature,
            )
        )

    @classmethod
    def decode(cls, data: bytes) -> TradeRecord:
        try:
            s = rlp.decode(data, _RecordSedes)
        except Exception as exc:  # noqa: BLE001 - rlp raises several unrelated types
            raise RecordError(f"not an RLP trade record: {exc}") from exc
        return cls.from_sedes(s)

    @classmethod
    def from_sedes(cls, s: Any) -> TradeRecord:
        return cls(
            s.area_id,
            s.seller,
            s.buyer,
            s.product_id,
            s.order_id,
            s.status,
            int.from_bytes(s.credit_delta, "big", signed=True),
            s.ciphertext,
            s.signature,
        )

    def to_sedes(self) -> _RecordSedes:
        return rlp.decode(self.encode(), _RecordSedes)

    def summary(self) -> dict[str, Any]:
        return {
            "area_id": self.area_id,
            "seller": "0x" + self.seller.hex(),
            "buyer": "0x" + self.buyer.hex(),
            "product_id": "0x" + self.product_id.hex(),
            "order_id": self.order_id,
            "status": self.status,
            "credit_delta": self.credit_delta,
        }


def recover_address(digest: bytes, signature: bytes) -> bytes:
    if len(signature) != 65 or signature[64] not in (27, 28):
        raise RecordError("signature is not 65 bytes r||s||v with v 27/28")
    if int.from_bytes(signature[32:64], "big") > SECP256K1_N // 2:
        raise RecordError("high s (malleable signature)")
    try:
        public = PublicKey.from_signature_and_message(
            signature[:64] + bytes([signature[64] - 27]), digest, hasher=None
        )
    except Exception as exc:  # noqa: BLE001 - coincurve raises plain Exception
        raise RecordError(f"signature does not recover: {exc}") from exc
    return address_of_public_key(public.format(compressed=False))


def check_well_formed(record: TradeRecord) -> None:
    """The field rules every node applies before looking at the signature."""
    if record.area_id <= 0:
        raise RecordError("area id must be positive")
    if record.status not in STATUSES:
        raise RecordError(f"status {record.status} is not completed (3) or ruled (6)")
    if record.credit_delta not in (-1, 0, 1):
        raise RecordError("credit delta must be -1, 0 or 1")
    if record.status == STATUS_COMPLETED and record.credit_delta != 1:
        raise RecordError("a completed trade adds 1 to the product's credit")
    if record.seller == record.buyer:
        raise RecordError("seller and buyer are the same account")
    if not 0 < len(record.ciphertext) <= MAX_CIPHERTEXT:
        raise RecordError(f"ciphertext must be 1..{MAX_CIPHERTEXT} bytes")


# ---------------------------------------------------------------------- details (ECIES)


def encrypt_details(buyer_public_key: bytes, details: dict[str, Any]) -> bytes:
    """The trade's details as JSON, encrypted to the buyer's secp256k1 public key."""
    return ecies.encrypt(buyer_public_key, json.dumps(details, sort_keys=True).encode())


def decrypt_details(buyer_private_key: bytes, ciphertext: bytes) -> dict[str, Any]:
    try:
        return json.loads(ecies.decrypt(buyer_private_key, ciphertext))
    except Exception as exc:  # noqa: BLE001 - eciespy raises ValueError and others
        raise RecordError(f"cannot decrypt: {exc}") from exc


def make_record(
    *,
    writer_key: bytes,
    separator: bytes,
    area_id: int,
    seller: bytes,
    buyer: bytes,
    buyer_public_key: bytes,
    listing_id: int,
    order_id: int,
    status: int,
    credit_delta: int,
    details: dict[str, Any],
) -> TradeRecord:
    if address_of_public_key(PublicKey(buyer_public_key).format(compressed=False)) != buyer:
        raise RecordError("the public key is not the buyer's")
    record = TradeRecord(
        area_id=area_id,
        seller=seller,
        buyer=buyer,
        product_id=product_id_of(listing_id),
        order_id=order_id,
        status=status,
        credit_delta=credit_delta,
        ciphertext=encrypt_details(buyer_public_key, details),
    )
    check_well_formed(record)
    return record.signed(writer_key, separator)
