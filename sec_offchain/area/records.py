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
from dataclasses import dataclass, field, replace
from typing import Any

from coincurve import PublicKey

from sec_offchain.area.fastrlp import decode_flat_list, encode_int, encode_item, encode_list
from sec_offchain.crypto.hashing import keccak
from sec_offchain.encoding.area_header import SignatureError, eip712_domain_separator, sign_digest
from sec_offchain.encoding.area_header import recover_address as _recover
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


class RecordError(SecError):
    """A record is malformed, tampered with, or signed by someone it may not be."""


def domain_separator(chain_id: int, escrow: str) -> bytes:
    """The records' EIP-712 domain: ("SEC Area", "1", chain id, Escrow)."""
    return eip712_domain_separator("SEC Area", "1", chain_id, escrow)


def address_of_public_key(public_key: bytes) -> bytes:
    """The 20-byte address of a 65-byte uncompressed public key."""
    return keccak(public_key[1:])[12:]


def product_id_of(listing_id: int) -> bytes:
    """A listing is a product; its id as bytes32."""
    return listing_id.to_bytes(32, "big")


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
    _cache: dict = field(default_factory=dict, init=False, compare=False, repr=False, hash=False)

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
        """The EIP-712 digest the writer signs; the record's id (cached per domain)."""
        d = self._cache.get(separator)
        if d is None:
            d = self._cache[separator] = keccak(b"\x19\x01" + separator + self.struct_hash())
        return d

    # ------------------------------------------------------------------ signing

    def signed(self, private_key: bytes, separator: bytes) -> TradeRecord:
        return replace(self, signature=sign_digest(private_key, self.digest(separator)))

    def signer(self, separator: bytes) -> bytes:
        """The 20-byte address that signed the record (RecordError if it does not recover)."""
        return recover_address(self.digest(separator), self.signature)

    # ------------------------------------------------------------------ encoding

    def encode(self) -> bytes:
        """RLP list [area_id, seller, buyer, product_id, order_id, status, credit_delta (int256,
        32 bytes two's complement), ciphertext, signature] (cached)."""
        data = self._cache.get("rlp")
        if data is None:
            data = self._cache["rlp"] = encode_list(
                [
                    encode_int(self.area_id),
                    encode_item(self.seller),
                    encode_item(self.buyer),
                    encode_item(self.product_id),
                    encode_int(self.order_id),
                    encode_int(self.status),
                    encode_item(self.credit_delta.to_bytes(32, "big", signed=True)),
                    encode_item(self.ciphertext),
                    encode_item(self.signature),
                ]
            )
        return data

    @classmethod
    def decode(cls, data: bytes) -> TradeRecord:
        try:
            items = decode_flat_list(data)
            if len(items) != 9:
                raise ValueError(f"{len(items)} fields, not 9")
            area, seller, buyer, product, order, status, credit, ciphertext, sig = items
            if len(seller) != 20 or len(buyer) != 20 or len(product) != 32 or len(credit) != 32:
                raise ValueError("field of the wrong length")
            if len(sig) != 65:
                raise ValueError("bad signature length")
            if area[:1] == b"\0" or order[:1] == b"\0" or status[:1] == b"\0":
                raise ValueError("non-canonical integer")
        except ValueError as exc:
            raise RecordError(f"not an RLP trade record: {exc}") from exc
        record = cls(
            int.from_bytes(area, "big"),
            seller,
            buyer,
            product,
            int.from_bytes(order, "big"),
            int.from_bytes(status, "big"),
            int.from_bytes(credit, "big", signed=True),
            ciphertext,
            sig,
        )
        record._cache["rlp"] = data
        return record

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
    """`encoding.area_header.recover_address`, as a RecordError."""
    try:
        return _recover(digest, signature)
    except SignatureError as exc:
        raise RecordError(str(exc)) from exc


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
    import ecies  # imported when needed: a light verifier of records never encrypts

    return ecies.encrypt(buyer_public_key, json.dumps(details, sort_keys=True).encode())


def decrypt_details(buyer_private_key: bytes, ciphertext: bytes) -> dict[str, Any]:
    import ecies

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
