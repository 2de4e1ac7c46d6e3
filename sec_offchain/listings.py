"""Signed listings: the escrow auto-contract a seller posts without a transaction.

A seller signs an EIP-712 `Listing` under the domain ("SEC Escrow", "1", chainId, Escrow);
`Escrow.buy_signed(listing, signature, share_id)` turns it into an order. This module builds,
hashes (identical to `Escrow.listing_digest`), signs and verifies listings, and carries a signed
one in a short link that fits a QR code:

    sec://listing/<code>          or, with a gateway,   https://gateway.example/l/<code>

`<code>` is the unpadded base64url of the RLP list

    [1, chain_id, escrow, seller, price, token, auto_complete, ship_window, metadata,
     description, quantity, expiry, salt, signature]

with integers as minimal big-endian bytes, `token` empty for ETH, `metadata` empty when it is
zero or when `description` (UTF-8, at most DESCRIPTION_MAX bytes) is carried instead (the
metadata is then its keccak), and the 65-byte r||s||v signature. Decoding is strict (canonical
RLP, exact lengths) and ends with the signature check, so a link that decodes is a listing its
seller signed.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sec_offchain.crypto.hashing import keccak
from sec_offchain.exceptions import SecError

ETH = "0x0000000000000000000000000000000000000000"
ZERO32 = b"\0" * 32
LINK_VERSION = 1
LINK_PREFIX = "sec://listing/"
GATEWAY_PATH = "/l/"
DESCRIPTION_MAX = 96
MAX_UINT256 = 2**256 - 1
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

LISTING_TYPE = (
    "Listing(address seller,uint256 price,address token,uint256 auto_complete,"
    "uint256 ship_window,bytes32 metadata,uint256 quantity,uint256 expiry,uint256 salt)"
)
LISTING_TYPEHASH = keccak(LISTING_TYPE.encode())
ESCROW_DOMAIN = ("SEC Escrow", "1")

# The same type in eth-account's JSON form (for wallets: EIP-1193 eth_signTypedData_v4).
LISTING_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Listing": [
        {"name": "seller", "type": "address"},
        {"name": "price", "type": "uint256"},
        {"name": "token", "type": "address"},
        {"name": "auto_complete", "type": "uint256"},
        {"name": "ship_window", "type": "uint256"},
        {"name": "metadata", "type": "bytes32"},
        {"name": "quantity", "type": "uint256"},
        {"name": "expiry", "type": "uint256"},
        {"name": "salt", "type": "uint256"},
    ],
}


class ListingError(SecError):
    """A signed listing or its link is malformed, tampered with or not signed by its seller."""


def _checksum(raw: bytes) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address(raw)


def _address_bytes(address: str) -> bytes:
    return bytes.fromhex(address[2:])


@dataclass(frozen=True)
class Listing:
    """The signed terms, in type-string order (the ABI tuple `buy_signed` takes)."""

    seller: str
    price: int
    token: str = ETH
    auto_complete: int = 0
    ship_window: int = 0
    metadata: bytes = ZERO32
    quantity: int = 0
    expiry: int = 0
    salt: int = 0

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.seller,
            self.price,
            self.token,
            self.auto_complete,
            self.ship_window,
            self.metadata,
            self.quantity,
            self.expiry,
            self.salt,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(zip(_FIELDS, self.as_tuple(), strict=True))
        data["metadata"] = "0x" + self.metadata.hex()
        for name in ("price", "quantity", "expiry", "salt"):
            data[name] = str(data[name])  # JSON numbers lose precision above 2**53
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Listing:
        try:
            metadata = bytes.fromhex(str(data["metadata"]).removeprefix("0x"))
            listing = cls(
                seller=_checksum(_address_bytes(str(data["seller"]))),
                price=int(data["price"]),
                token=_checksum(_address_bytes(str(data["token"]))),
                auto_complete=int(data["auto_complete"]),
                ship_window=int(data["ship_window"]),
                metadata=metadata,
                quantity=int(data["quantity"]),
                expiry=int(data["expiry"]),
                salt=int(data["salt"]),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ListingError(f"malformed listing: {exc.__class__.__name__} {exc}") from None
        validate_listing(listing)
        return listing


_FIELDS = (
    "seller",
    "price",
    "token",
    "auto_complete",
    "ship_window",
    "metadata",
    "quantity",
    "expiry",
    "salt",
)


def validate_listing(listing: Listing) -> None:
    """Raises ListingError unless every field fits its EIP-712 type."""
    for name in ("seller", "token"):
        value = getattr(listing, name)
        if not (isinstance(value, str) and value.startswith("0x") and len(value) == 42):
            raise ListingError(f"listing {name} is not an address: {value!r}")
        try:
            bytes.fromhex(value[2:])
        except ValueError:
            raise ListingError(f"listing {name} is not an address: {value!r}") from None
    if listing.seller == ETH:
        raise ListingError("listing seller is the zero address")
    if not isinstance(listing.metadata, bytes) or len(listing.metadata) != 32:
        raise ListingError("listing metadata is not 32 bytes")
    for name in ("price", "auto_complete", "ship_window", "quantity", "expiry", "salt"):
        value = getattr(listing, name)
        if not isinstance(value, int) or not 0 <= value <= MAX_UINT256:
            raise ListingError(f"listing {name} is not a uint256: {value!r}")
    if listing.price == 0:
        raise ListingError("listing price is zero")


def domain_separator(chain_id: int, escrow: str) -> bytes:
    """The Escrow's EIP-712 domain separator."""
    from sec_offchain.encoding.area_header import eip712_domain_separator

    return eip712_domain_separator(*ESCROW_DOMAIN, chain_id, escrow)


def hash_listing_struct(listing: Listing) -> bytes:
    """hashStruct(Listing)."""
    return keccak(
        LISTING_TYPEHASH
        + _address_bytes(listing.seller).rjust(32, b"\0")
        + listing.price.to_bytes(32, "big")
        + _address_bytes(listing.token).rjust(32, b"\0")
        + listing.auto_complete.to_bytes(32, "big")
        + listing.ship_window.to_bytes(32, "big")
        + listing.metadata
        + listing.quantity.to_bytes(32, "big")
        + listing.expiry.to_bytes(32, "big")
        + listing.salt.to_bytes(32, "big")
    )


def hash_listing(listing: Listing, chain_id: int, escrow: str) -> bytes:
    """The EIP-712 digest the seller signs; equals `Escrow.listing_digest(listing)`."""
    return keccak(b"\x19\x01" + domain_separator(chain_id, escrow) + hash_listing_struct(listing))


def build_typed_data(listing: Listing, chain_id: int, escrow: str) -> dict[str, Any]:
    """The listing as EIP-712 typed data (what a wallet's eth_signTypedData_v4 signs)."""
    message = listing.to_json()
    for name in ("price", "quantity", "expiry", "salt", "auto_complete", "ship_window"):
        message[name] = int(message[name])
    return {
        "types": LISTING_TYPES,
        "primaryType": "Listing",
        "domain": {
            "name": ESCROW_DOMAIN[0],
            "version": ESCROW_DOMAIN[1],
            "chainId": chain_id,
            "verifyingContract": escrow,
        },
        "message": message,
    }


def new_salt() -> int:
    """A random salt: two otherwise identical listings of one seller stay distinct."""
    return secrets.randbits(64)


def metadata_of(description: str) -> bytes:
    """The metadata hash of a product description: keccak of its UTF-8 (what the on-chain
    `create_listing` stores for the same text); 0x-prefixed 64 hex digits are taken as is."""
    if description.startswith("0x") and len(description) == 66:
        return bytes.fromhex(description[2:])
    if not description:
        return ZERO32
    return keccak(description.encode())


@dataclass(frozen=True)
class SignedListing:
    """A listing, its seller's signature and where it can be bought (chain and Escrow)."""

    listing: Listing
    signature: bytes
    chain_id: int
    escrow: str
    description: str = ""

    @property
    def digest(self) -> bytes:
        return hash_listing(self.listing, self.chain_id, self.escrow)

    def to_link(self, gateway: str | None = None) -> str:
        """`sec://listing/<code>`, or `<gateway>/l/<code>` when a gateway URL is given."""
        code = encode_code(self)
        if gateway:
            return gateway.rstrip("/") + GATEWAY_PATH + code
        return LINK_PREFIX + code

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "escrow": self.escrow,
            "listing": self.listing.to_json(),
            "signature": "0x" + self.signature.hex(),
            "description": self.description,
            "digest": "0x" + self.digest.hex(),
            "link": self.to_link(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignedListing:
        try:
            signed = cls(
                listing=Listing.from_json(data["listing"]),
                signature=bytes.fromhex(str(data["signature"]).removeprefix("0x")),
                chain_id=int(data["chain_id"]),
                escrow=_checksum(_address_bytes(str(data["escrow"]))),
                description=str(data.get("description", "")),
            )
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise ListingError(f"malformed listing file: {exc.__class__.__name__} {exc}") from None
        verify_listing(signed)
        return signed


def sign_listing(
    private_key: bytes, listing: Listing, chain_id: int, escrow: str, description: str = ""
) -> SignedListing:
    """The listing signed by `private_key` (which must be the listing's seller)."""
    from sec_offchain.encoding.area_header import sign_digest

    validate_listing(listing)
    escrow = _checksum(_address_bytes(escrow))
    signed = SignedListing(
        listing, sign_digest(private_key, hash_listing(listing, chain_id, escrow)), chain_id, escrow
    )
    if description:
        if metadata_of(description) != listing.metadata:
            raise ListingError("the description does not hash to the listing's metadata")
        signed = replace(signed, description=description)
    verify_listing(signed)
    return signed


def verify_listing(signed: SignedListing) -> None:
    """Raises ListingError unless the signature is 65 bytes with low s and recovers exactly the
    listing's seller (what `buy_signed` checks), and a carried description matches."""
    from sec_offchain.encoding.area_header import SignatureError, recover_signer

    validate_listing(signed.listing)
    if signed.chain_id <= 0:
        raise ListingError("listing chain id must be positive")
    try:
        signer = recover_signer(signed.digest, signed.signature)
    except SignatureError as exc:
        raise ListingError(f"bad listing signature: {exc}") from None
    if signer.lower() != signed.listing.seller.lower():
        raise ListingError(
            f"listing signed by {signer}, not by its seller {signed.listing.seller} "
            "(tampered with after signing?)"
        )
    if signed.description and metadata_of(signed.description) != signed.listing.metadata:
        raise ListingError("the listing's description does not match its metadata hash")


# ---------------------------------------------------------------------------- link codec


def _int(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""


def encode_code(signed: SignedListing) -> str:
    """The base64url (unpadded) RLP of a signed listing: the `<code>` of its links."""
    import rlp

    listing = signed.listing
    text = signed.description.encode()
    carry_text = bool(text) and len(text) <= DESCRIPTION_MAX
    items = [
        _int(LINK_VERSION),
        _int(signed.chain_id),
        _address_bytes(signed.escrow),
        _address_bytes(listing.seller),
        _int(listing.price),
        b"" if listing.token == ETH else _address_bytes(listing.token),
        _int(listing.auto_complete),
        _int(listing.ship_window),
        b"" if carry_text or listing.metadata == ZERO32 else listing.metadata,
        text if carry_text else b"",
        _int(listing.quantity),
        _int(listing.expiry),
        _int(listing.salt),
        signed.signature,
    ]
    return base64.urlsafe_b64encode(rlp.encode(items)).rstrip(b"=").decode()


def _uint(raw: bytes, name: str) -> int:
    if raw[:1] == b"\0":
        raise ListingError(f"listing link: {name} is not a minimal integer")
    if len(raw) > 32:
        raise ListingError(f"listing link: {name} is larger than uint256")
    return int.from_bytes(raw, "big")


def _addr(raw: bytes, name: str) -> str:
    if len(raw) != 20:
        raise ListingError(f"listing link: {name} is {len(raw)} bytes, not an address")
    return _checksum(raw)


def decode_code(code: str) -> SignedListing:
    """The signed listing a link's code carries, checked (see the module docstring);
    ListingError naming the first thing wrong."""
    import rlp

    code = code.strip()
    if not code or any(
        c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in code
    ):
        raise ListingError("listing link: the code is not base64url")
    if len(code) % 4 == 1:
        raise ListingError("listing link: the code is truncated (bad base64url length)")
    raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != code:
        raise ListingError("listing link: the code is not canonical base64url")
    try:
        items = rlp.decode(raw, strict=True)
    except rlp.DecodingError as exc:
        raise ListingError(f"listing link: not RLP ({exc.__class__.__name__})") from None
    if not isinstance(items, list) or not items or not all(isinstance(i, bytes) for i in items):
        raise ListingError("listing link: not a flat RLP list")
    version = _uint(items[0], "version")
    if version != LINK_VERSION:
        raise ListingError(f"listing link: version {version} is not supported (this reads 1)")
    if len(items) != 14:
        raise ListingError(f"listing link: {len(items)} fields, expected 14")
    (_, chain, escrow, seller, price, token, auto, window, meta, text, qty, exp, salt, sig) = items
    if len(sig) != 65:
        raise ListingError(f"listing link: the signature is {len(sig)} bytes, not 65")
    if meta and len(meta) != 32:
        raise ListingError(f"listing link: metadata is {len(meta)} bytes, not 32")
    if meta and text:
        raise ListingError("listing link: both a metadata hash and a description")
    if meta == ZERO32:
        raise ListingError("listing link: a zero metadata hash must be empty")
    if len(text) > DESCRIPTION_MAX:
        raise ListingError(f"listing link: description longer than {DESCRIPTION_MAX} bytes")
    try:
        description = text.decode()
    except UnicodeDecodeError:
        raise ListingError("listing link: the description is not UTF-8") from None
    listing = Listing(
        seller=_addr(seller, "seller"),
        price=_uint(price, "price"),
        token=ETH if token == b"" else _addr(token, "token"),
        auto_complete=_uint(auto, "auto_complete"),
        ship_window=_uint(window, "ship_window"),
        metadata=meta if meta else metadata_of(description),
        quantity=_uint(qty, "quantity"),
        expiry=_uint(exp, "expiry"),
        salt=_uint(salt, "salt"),
    )
    signed = SignedListing(
        listing, sig, _uint(chain, "chain id"), _addr(escrow, "escrow"), description
    )
    verify_listing(signed)
    return signed


def parse_link(text: str) -> SignedListing:
    """A signed listing from `sec://listing/<code>`, `http(s)://.../l/<code>` or the bare code."""
    value = text.strip()
    if value.startswith(LINK_PREFIX):
        return decode_code(value[len(LINK_PREFIX) :])
    if value.startswith(("https://", "http://")):
        path = value.split("?", 1)[0].split("#", 1)[0]
        if GATEWAY_PATH not in path:
            raise ListingError(f"not a listing link (no {GATEWAY_PATH}<code>): {value[:60]}")
        return decode_code(path.rsplit(GATEWAY_PATH, 1)[1])
    if "://" in value or ":" in value:
        raise ListingError(f"not a listing link: {value[:60]}")
    return decode_code(value)


def load_listing(ref: str) -> SignedListing:
    """A signed listing from a link, or from a file holding a link or the JSON `post --out`
    writes."""
    value = ref.strip()
    if value.startswith((LINK_PREFIX, "https://", "http://")):
        return parse_link(value)
    path = Path(value)
    if path.is_file():
        try:
            text = path.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ListingError(f"cannot read listing file {path}: {exc}") from None
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ListingError(f"listing file {path} is not JSON: {exc}") from None
            if not isinstance(data, dict):
                raise ListingError(f"listing file {path} is not a JSON object")
            return SignedListing.from_json(data)
        return parse_link(text)
    if "/" in value or value.endswith(".json"):
        raise ListingError(f"no listing file {path}")
    return parse_link(value)
