"""Contract logs → named events, from the ABIs inline in the deployments file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from sec_offchain.contracts.deployment import Deployment


@dataclass(frozen=True)
class EventAbi:
    contract: str
    name: str
    inputs: tuple[tuple[str, str, bool], ...]  # (name, type, indexed)

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(t for _, t, _ in self.inputs)})"


@dataclass(frozen=True)
class DecodedEvent:
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    contract: str
    name: str
    args: dict[str, Any]  # JSON-ready: ints as decimal strings, bytes as 0x-hex


def _canonical_type(item: dict[str, Any]) -> str:
    t = item["type"]
    if t.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in item["components"])
        return f"({inner}){t[5:]}"
    return t


def _jsonable(value: Any, abi_type: str) -> Any:
    if isinstance(value, list | tuple):
        inner = abi_type[: abi_type.rindex("[")] if abi_type.endswith("]") else abi_type
        return [_jsonable(v, inner) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and abi_type == "address":
        return to_checksum_address(value)
    return value


class EventDecoder:
    """Knows every event of every contract in a deployment by (address, topic0)."""

    def __init__(self, deployment: Deployment) -> None:
        self.by_address: dict[str, tuple[str, dict[bytes, EventAbi]]] = {}
        for name, rec in deployment.contracts.items():
            events: dict[bytes, EventAbi] = {}
            for item in rec.abi:
                if item.get("type") != "event" or item.get("anonymous"):
                    continue
                abi = EventAbi(
                    name,
                    item["name"],
                    tuple(
                        (i["name"], _canonical_type(i), bool(i.get("indexed")))
                        for i in item["inputs"]
                    ),
                )
                events[keccak(text=abi.signature)] = abi
            self.by_address[rec.address.lower()] = (name, events)
        self.addresses = [to_checksum_address(a) for a in self.by_address]

    def decode(self, log: dict[str, Any]) -> DecodedEvent | None:
        """The event of a raw `eth_getLogs` entry; None for one no ABI describes."""
        entry = self.by_address.get(str(log["address"]).lower())
        topics = [_as_bytes(t) for t in log["topics"]]
        if entry is None or not topics:
            return None
        abi = entry[1].get(topics[0])
        if abi is None:
            return None
        indexed = [(n, t) for n, t, ix in abi.inputs if ix]
        plain = [(n, t) for n, t, ix in abi.inputs if not ix]
        if len(indexed) != len(topics) - 1:
            return None
        args: dict[str, Any] = {}
        for (n, t), topic in zip(indexed, topics[1:], strict=True):
            dynamic = t in ("string", "bytes") or t.endswith("]") or t.startswith("(")
            args[n] = "0x" + topic.hex() if dynamic else _jsonable(abi_decode([t], topic)[0], t)
        values = abi_decode([t for _, t in plain], _as_bytes(log["data"]))
        for (n, t), v in zip(plain, values, strict=True):
            args[n] = _jsonable(v, t)
        ordered = {n: args[n] for n, _, _ in abi.inputs}
        return DecodedEvent(
            block_number=_as_int(log["blockNumber"]),
            block_hash="0x" + _as_bytes(log["blockHash"]).hex(),
            log_index=_as_int(log["logIndex"]),
            tx_hash="0x" + _as_bytes(log["transactionHash"]).hex(),
            contract=abi.contract,
            name=abi.name,
            args=ordered,
        )


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    text = str(value)
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def _as_int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)
