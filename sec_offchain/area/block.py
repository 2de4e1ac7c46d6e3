"""Autonomous-area blocks: the full header (the on-chain AreaHeader fields plus community,
producer, difficulty and PoW nonce), the block body (trade records, egress messages, consumed
ingress messages, and at its tail the latest total credit of each product it touched), their
RLP sedes, and the roots.

A block's id is the EIP-712 digest of its AreaHeader under the deployment's AnchorHub
domain, the same digest validators sign and AnchorHub stores, so a block's parent_hash is
exactly what `anchor` checks against `anchored_hash(area, height - 1)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import rlp
from eth_utils import to_checksum_address
from rlp.sedes import Binary, CountableList, big_endian_int, binary

from sec_offchain.area.fastrlp import encode_item, encode_list
from sec_offchain.area.ledger import AreaTx, Deposit, Ingress
from sec_offchain.area.merkle import ZERO32, keccak, root_of
from sec_offchain.area.records import RecordError, TradeRecord, recover_address
from sec_offchain.encoding.area_header import (
    AreaHeader,
    eip712_domain_separator,
    fast_header_digest,
    sign_digest,
)

TX_LEAF = ("bytes32",)
CREDIT_LEAF = ("bytes32", "int256")
MESSAGE_LEAF = ("uint256", "uint256", "uint256", "address", "address", "uint256", "bytes32")


def anchor_domain_separator(chain_id: int, anchor_hub: str) -> bytes:
    """AnchorHub's EIP-712 domain: the one block ids and validator signatures use."""
    return eip712_domain_separator("SEC AnchorHub", "1", chain_id, anchor_hub)


# ---------------------------------------------------------------------- messages (BGC)


class _MessageSedes(rlp.Serializable):
    fields = [
        ("src_area", big_endian_int),
        ("dst_area", big_endian_int),
        ("nonce", big_endian_int),
        ("sender", Binary.fixed_length(20)),
        ("recipient", Binary.fixed_length(20)),
        ("amount", big_endian_int),
        ("payload_hash", Binary.fixed_length(32)),
    ]


@dataclass(frozen=True)
class Message:
    """A cross-area message: BorderGateway's Message struct, field for field."""

    src_area: int
    dst_area: int
    nonce: int
    sender: bytes
    recipient: bytes
    amount: int
    payload_hash: bytes = ZERO32

    def leaf_values(self) -> tuple:
        return (
            self.src_area,
            self.dst_area,
            self.nonce,
            "0x" + self.sender.hex(),
            "0x" + self.recipient.hex(),
            self.amount,
            self.payload_hash,
        )

    def as_tuple(self) -> tuple:
        """The ABI tuple BorderGateway takes (checksummed addresses, as web3 wants them)."""
        return (
            self.src_area,
            self.dst_area,
            self.nonce,
            to_checksum_address(self.sender),
            to_checksum_address(self.recipient),
            self.amount,
            self.payload_hash,
        )

    def sedes(self) -> _MessageSedes:
        return _MessageSedes(*(getattr(self, f) for f, _ in _MessageSedes._meta.fields))

    @classmethod
    def from_sedes(cls, s: _MessageSedes) -> Message:
        return cls(*(getattr(s, f) for f, _ in _MessageSedes._meta.fields))


# ---------------------------------------------------------------------- header and block


class _HeaderSedes(rlp.Serializable):
    fields = [
        ("area_id", big_endian_int),
        ("height", big_endian_int),
        ("parent_hash", Binary.fixed_length(32)),
        ("tx_root", Binary.fixed_length(32)),
        ("credit_root", Binary.fixed_length(32)),
        ("egress_root", Binary.fixed_length(32)),
        ("timestamp", big_endian_int),
        ("community", big_endian_int),
        ("producer", Binary.fixed_length(20)),
        ("difficulty", big_endian_int),
        ("nonce", big_endian_int),
    ]


class _CreditSedes(rlp.Serializable):
    fields = [("product_id", Binary.fixed_length(32)), ("credit", Binary.fixed_length(32))]


class _IngressSedes(rlp.Serializable):
    fields = [
        ("src_area", big_endian_int),
        ("nonce", big_endian_int),
        ("sender", Binary.fixed_length(20)),
        ("recipient", Binary.fixed_length(20)),
        ("amount", big_endian_int),
        ("payload_hash", Binary.fixed_length(32)),
    ]


class _DepositSedes(rlp.Serializable):
    fields = [
        ("tx_hash", Binary.fixed_length(32)),
        ("log_index", big_endian_int),
        ("account", Binary.fixed_length(20)),
        ("amount", big_endian_int),
    ]


class _ShareSedes(rlp.Serializable):
    fields = [("member", Binary.fixed_length(20)), ("nonce", big_endian_int)]


class _BlockSedes(rlp.Serializable):
    fields = [
        ("header", _HeaderSedes),
        ("records", CountableList(binary)),  # each an RLP trade record
        ("egress", CountableList(_MessageSedes)),
        ("ingress", CountableList(_IngressSedes)),
        ("deposits", CountableList(_DepositSedes)),
        ("txs", CountableList(binary)),  # each an RLP area transaction
        ("shares", CountableList(_ShareSedes)),  # participation: work shares of the slot
        ("credits", CountableList(_CreditSedes)),
        ("producer_signature", binary),
    ]


@dataclass(frozen=True)
class FullHeader:
    area_id: int
    height: int
    parent_hash: bytes
    tx_root: bytes
    credit_root: bytes
    egress_root: bytes
    timestamp: int
    community: int = 0
    producer: bytes = b"\0" * 20
    difficulty: int = 0
    nonce: int = 0

    def area_header(self) -> AreaHeader:
        return AreaHeader(
            self.area_id,
            self.height,
            self.parent_hash,
            self.tx_root,
            self.credit_root,
            self.egress_root,
            self.timestamp,
        )

    def sedes(self) -> _HeaderSedes:
        return _HeaderSedes(*(getattr(self, f) for f, _ in _HeaderSedes._meta.fields))

    def seal_hash(self) -> bytes:
        """What the producer signs: keccak of the RLP of the whole full header."""
        return keccak(rlp.encode(self.sedes()))


@dataclass(frozen=True)
class Block:
    header: FullHeader
    records: tuple[TradeRecord, ...] = ()
    egress: tuple[Message, ...] = ()
    ingress: tuple[Ingress, ...] = ()
    deposits: tuple[Deposit, ...] = ()
    txs: tuple[AreaTx, ...] = ()
    shares: tuple[tuple[bytes, int], ...] = ()  # (member, nonce): on-duty members' work
    credits: tuple[tuple[bytes, int], ...] = ()
    producer_signature: bytes = b""
    _id: list = field(default_factory=list, init=False, compare=False, repr=False)

    def block_id(self, separator: bytes) -> bytes:
        """The EIP-712 AreaHeader digest (cached)."""
        if not self._id:
            self._id.append(fast_header_digest(self.header.area_header(), separator))
        return self._id[0]

    def encode(self) -> bytes:
        """The block's RLP (`_BlockSedes`); the records list, the bulk of a block, is joined
        from the records' cached encodings instead of going through the generic encoder."""
        if len(self._id) > 1:
            return self._id[1]
        parts = [
            rlp.encode(self.header.sedes()),
            encode_list([encode_item(r.encode()) for r in self.records]),
            rlp.encode([m.sedes() for m in self.egress], CountableList(_MessageSedes)),
            rlp.encode(
                [
                    _IngressSedes(
                        i.src_area, i.nonce, i.sender, i.recipient, i.amount, i.payload_hash
                    )
                    for i in self.ingress
                ],
                CountableList(_IngressSedes),
            ),
            rlp.encode(
                [_DepositSedes(d.tx_hash, d.log_index, d.account, d.amount) for d in self.deposits],
                CountableList(_DepositSedes),
            ),
            encode_list([encode_item(t.encode()) for t in self.txs]),
            rlp.encode([_ShareSedes(m, n) for m, n in self.shares], CountableList(_ShareSedes)),
            rlp.encode(
                [_CreditSedes(p, c.to_bytes(32, "big", signed=True)) for p, c in self.credits],
                CountableList(_CreditSedes),
            ),
            encode_item(self.producer_signature),
        ]
        data = encode_list(parts)
        if self._id:
            self._id.append(data)
        return data

    @classmethod
    def decode(cls, data: bytes) -> Block:
        try:
            s = rlp.decode(data, _BlockSedes)
        except Exception as exc:  # noqa: BLE001
            raise RecordError(f"not an RLP block: {exc}") from exc
        h = s.header
        return cls(
            FullHeader(*(getattr(h, f) for f, _ in _HeaderSedes._meta.fields)),
            tuple(TradeRecord.decode(r) for r in s.records),
            tuple(Message.from_sedes(m) for m in s.egress),
            tuple(
                Ingress(i.src_area, i.nonce, i.sender, i.recipient, i.amount, i.payload_hash)
                for i in s.ingress
            ),
            tuple(Deposit(d.tx_hash, d.log_index, d.account, d.amount) for d in s.deposits),
            tuple(AreaTx.decode(t) for t in s.txs),
            tuple((x.member, x.nonce) for x in s.shares),
            tuple((c.product_id, int.from_bytes(c.credit, "big", signed=True)) for c in s.credits),
            s.producer_signature,
        )

    def sealed(self, producer_key: bytes) -> Block:
        return replace(self, producer_signature=sign_digest(producer_key, self.header.seal_hash()))

    def sealer(self) -> bytes:
        return recover_address(self.header.seal_hash(), self.producer_signature)


def tx_root(record_ids: Iterable[bytes], extra: Iterable[bytes] = ()) -> bytes:
    """The root over every transaction of a block: record digests, then `extra` (area
    transactions, deposits, ingress entries: see `body_digests`)."""
    return root_of([(r,) for r in record_ids] + [(x,) for x in extra], TX_LEAF)


def body_digests(block: Block, separator: bytes) -> list[bytes]:
    """The leaves a block's non-record contents add to its tx_root: every area transaction,
    deposit and ingress entry is committed by the header (and so by the producer's seal)."""
    out = [t.digest(separator) for t in block.txs]
    out += [keccak(b"share" + m + n.to_bytes(32, "big")) for m, n in block.shares]
    out += [
        keccak(
            b"deposit"
            + d.tx_hash
            + d.log_index.to_bytes(32, "big")
            + d.account
            + d.amount.to_bytes(32, "big")
        )
        for d in block.deposits
    ]
    out += [
        keccak(
            b"ingress"
            + i.src_area.to_bytes(32, "big")
            + i.nonce.to_bytes(32, "big")
            + i.sender
            + i.recipient
            + i.amount.to_bytes(32, "big")
            + i.payload_hash
        )
        for i in block.ingress
    ]
    return out


def egress_root(messages: Iterable[Message]) -> bytes:
    return root_of([m.leaf_values() for m in messages], MESSAGE_LEAF)


def credit_root(table: Mapping[bytes, int]) -> bytes:
    """The root over the whole product credit table (product_id, total credit)."""
    return root_of(sorted(table.items()), CREDIT_LEAF)
