"""What a user signs so that someone else pays the gas: ERC-2771 forward requests
(OpenZeppelin ERC2771Forwarder's `ForwardRequest`, domain ("SEC Forwarder", "1")) and EIP-2612
permits (SECToken's `permit`, domain (token name, "1")), with their digests, signatures and
JSON forms. Signatures are 65-byte r||s||v with low s, checked like the contracts check them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sec_offchain.crypto.hashing import keccak
from sec_offchain.encoding.area_header import (
    SignatureError,
    eip712_domain_separator,
    recover_signer,
    sign_digest,
)
from sec_offchain.exceptions import SecError

FORWARD_REQUEST_TYPE = (
    "ForwardRequest(address from,address to,uint256 value,uint256 gas,uint256 nonce,"
    "uint48 deadline,bytes data)"
)
FORWARD_REQUEST_TYPEHASH = keccak(FORWARD_REQUEST_TYPE.encode())
FORWARDER_DOMAIN = ("SEC Forwarder", "1")
PERMIT_TYPEHASH = keccak(
    b"Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
)
MAX_UINT256 = 2**256 - 1
MAX_UINT48 = 2**48 - 1


class RequestError(SecError):
    """A forward request or permit is malformed or its signature does not check out."""


def _address(value: Any, name: str) -> str:
    from eth_utils import is_hex_address, to_checksum_address

    if not isinstance(value, str) or not value.startswith("0x") or not is_hex_address(value):
        raise RequestError(f"{name} is not a 0x address: {value!r}")
    return to_checksum_address(value)


def _uint(value: Any, name: str, high: int = MAX_UINT256) -> int:
    if isinstance(value, bool):
        raise RequestError(f"{name} is not an integer: {value!r}")
    try:
        number = int(value, 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise RequestError(f"{name} is not an integer: {value!r}") from None
    if not 0 <= number <= high:
        raise RequestError(f"{name} is out of range: {value!r}")
    return number


def _hex_bytes(value: Any, name: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RequestError(f"{name} is not 0x-hex: {str(value)[:40]!r}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise RequestError(f"{name} is not 0x-hex: {value[:40]!r}") from None


def _word(address: str) -> bytes:
    return bytes.fromhex(address[2:]).rjust(32, b"\0")


@dataclass(frozen=True)
class ForwardRequest:
    """One call `sender` asks the forwarder to make to `to` on their behalf."""

    sender: str
    to: str
    value: int
    gas: int
    nonce: int
    deadline: int
    data: bytes

    @property
    def selector(self) -> bytes:
        return self.data[:4]

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.sender,
            "to": self.to,
            "value": str(self.value),
            "gas": str(self.gas),
            "nonce": str(self.nonce),
            "deadline": self.deadline,
            "data": "0x" + self.data.hex(),
        }

    @classmethod
    def from_json(cls, data: Any) -> ForwardRequest:
        """The request in `data` (the JSON form), every field checked; RequestError otherwise."""
        if not isinstance(data, dict):
            raise RequestError("a request is a JSON object")
        missing = [
            k for k in ("from", "to", "value", "gas", "nonce", "deadline", "data") if k not in data
        ]
        if missing:
            raise RequestError(f"request lacks {', '.join(missing)}")
        return cls(
            sender=_address(data["from"], "from"),
            to=_address(data["to"], "to"),
            value=_uint(data["value"], "value"),
            gas=_uint(data["gas"], "gas"),
            nonce=_uint(data["nonce"], "nonce"),
            deadline=_uint(data["deadline"], "deadline", MAX_UINT48),
            data=_hex_bytes(data["data"], "data"),
        )


def forwarder_domain(chain_id: int, forwarder: str) -> bytes:
    return eip712_domain_separator(*FORWARDER_DOMAIN, chain_id, forwarder)


def hash_request(request: ForwardRequest, chain_id: int, forwarder: str) -> bytes:
    """The EIP-712 digest of the request (what `from` signs and the forwarder recovers); it
    names the request everywhere in the relayer (idempotency key)."""
    struct = keccak(
        FORWARD_REQUEST_TYPEHASH
        + _word(request.sender)
        + _word(request.to)
        + request.value.to_bytes(32, "big")
        + request.gas.to_bytes(32, "big")
        + request.nonce.to_bytes(32, "big")
        + request.deadline.to_bytes(32, "big")
        + keccak(request.data)
    )
    return keccak(b"\x19\x01" + forwarder_domain(chain_id, forwarder) + struct)


def sign_request(
    private_key: bytes, request: ForwardRequest, chain_id: int, forwarder: str
) -> bytes:
    return sign_digest(private_key, hash_request(request, chain_id, forwarder))


def recover_request_signer(
    request: ForwardRequest, signature: bytes, chain_id: int, forwarder: str
) -> str:
    """The checksummed signer; RequestError for a malformed or high-s signature."""
    try:
        return recover_signer(hash_request(request, chain_id, forwarder), signature)
    except SignatureError as exc:
        raise RequestError(f"bad request signature: {exc}") from None


def validate_request_signature(
    request: ForwardRequest, signature: bytes, chain_id: int, forwarder: str
) -> None:
    """Raises RequestError unless `signature` is the request sender's (low s)."""
    signer = recover_request_signer(request, signature, chain_id, forwarder)
    if signer != request.sender:
        raise RequestError(
            f"request signed by {signer}, not by its sender {request.sender} "
            "(tampered with, or signed for another chain or forwarder)"
        )


@dataclass(frozen=True)
class Permit:
    """An EIP-2612 permit: `owner` lets `spender` take `value` of `token` until `deadline`."""

    token: str
    owner: str
    spender: str
    value: int
    nonce: int
    deadline: int
    signature: bytes

    @property
    def vrs(self) -> tuple[int, bytes, bytes]:
        return self.signature[64], self.signature[:32], self.signature[32:64]

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "owner": self.owner,
            "spender": self.spender,
            "value": str(self.value),
            "nonce": str(self.nonce),
            "deadline": str(self.deadline),
            "signature": "0x" + self.signature.hex(),
        }

    @classmethod
    def from_json(cls, data: Any) -> Permit:
        if not isinstance(data, dict):
            raise RequestError("a permit is a JSON object")
        try:
            permit = cls(
                token=_address(data["token"], "permit token"),
                owner=_address(data["owner"], "permit owner"),
                spender=_address(data["spender"], "permit spender"),
                value=_uint(data["value"], "permit value"),
                nonce=_uint(data["nonce"], "permit nonce"),
                deadline=_uint(data["deadline"], "permit deadline"),
                signature=_hex_bytes(data["signature"], "permit signature"),
            )
        except KeyError as exc:
            raise RequestError(f"permit lacks {exc.args[0]}") from None
        if len(permit.signature) != 65:
            raise RequestError("permit signature is not 65 bytes")
        return permit


def hash_permit(
    token_name: str,
    chain_id: int,
    token: str,
    owner: str,
    spender: str,
    value: int,
    nonce: int,
    deadline: int,
) -> bytes:
    """The EIP-2612 digest under the token's domain (name, "1", chain id, token)."""
    struct = keccak(
        PERMIT_TYPEHASH
        + _word(owner)
        + _word(spender)
        + value.to_bytes(32, "big")
        + nonce.to_bytes(32, "big")
        + deadline.to_bytes(32, "big")
    )
    domain = eip712_domain_separator(token_name, "1", chain_id, token)
    return keccak(b"\x19\x01" + domain + struct)


def sign_permit(
    private_key: bytes,
    token_name: str,
    chain_id: int,
    token: str,
    owner: str,
    spender: str,
    value: int,
    nonce: int,
    deadline: int,
) -> Permit:
    digest = hash_permit(token_name, chain_id, token, owner, spender, value, nonce, deadline)
    return Permit(
        _address(token, "token"),
        _address(owner, "owner"),
        _address(spender, "spender"),
        value,
        nonce,
        deadline,
        sign_digest(private_key, digest),
    )


def build_request_file(
    request: ForwardRequest,
    signature: bytes,
    chain_id: int,
    forwarder: str,
    permit: Permit | None = None,
) -> dict[str, Any]:
    """What `sec relay sign` writes and `sec relay submit` (or the gateway) reads."""
    out: dict[str, Any] = {
        "chain_id": chain_id,
        "forwarder": forwarder,
        "request": request.to_json(),
        "signature": "0x" + signature.hex(),
        "hash": "0x" + hash_request(request, chain_id, forwarder).hex(),
    }
    if permit is not None:
        out["permit"] = permit.to_json()
    return out
