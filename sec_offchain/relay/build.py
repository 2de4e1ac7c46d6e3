"""Building a forward request for a contract call: the sender's next forwarder nonce, a
deadline, and the gas the inner call needs (estimated as the forwarder will run it, so a call
that would revert is refused here, with the contract's reason, before anything is signed)."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from sec_offchain.contracts.transactor import get_revert_reason, is_revert
from sec_offchain.exceptions import ContractRevert
from sec_offchain.relay.requests import ForwardRequest

GAS_MARGIN = 1.3
DEFAULT_DEADLINE = 3600
FALLBACK_GAS = 300_000


def build_request(
    w3: Web3,
    forwarder: Any,
    sender: str,
    to: str,
    data: bytes,
    *,
    nonce: int | None = None,
    deadline: int | None = None,
    valid_for: int = DEFAULT_DEADLINE,
    gas: int | None = None,
) -> ForwardRequest:
    """A request from `sender` to call `to` with `data` through `forwarder` (a web3 contract):
    nonce from `Forwarder.nonces`, deadline `valid_for` seconds after the latest block, gas
    estimated with a margin. ContractRevert with the contract's reason if the call would fail."""
    sender = Web3.to_checksum_address(sender)
    to = Web3.to_checksum_address(to)
    if nonce is None:
        nonce = int(forwarder.functions.nonces(sender).call())
    if deadline is None:
        deadline = int(w3.eth.get_block("latest")["timestamp"]) + valid_for
    if gas is None:
        inner = {
            "from": forwarder.address,
            "to": to,
            "data": "0x" + (data + bytes.fromhex(sender[2:])).hex(),
        }
        reason, estimate = simulate_as_forwarder(w3, inner)
        if reason is not None:
            raise ContractRevert(reason)
        gas = int(estimate * GAS_MARGIN) + 20_000
    return ForwardRequest(sender, to, 0, gas, nonce, deadline, data)


def simulate_as_forwarder(w3: Web3, inner: dict[str, Any]) -> tuple[str | None, int]:
    """Runs the inner call as the forwarder will (`from` the forwarder, the sender appended):
    (the revert reason or None, the gas it takes). eth-tester will not run a call from an
    account that could not pay for its gas (the forwarder holds no ETH): then (None,
    FALLBACK_GAS), and the relayer's simulation of `execute` is the check."""
    try:
        return None, int(w3.eth.estimate_gas(inner))  # type: ignore[arg-type]
    except Exception as exc:
        if is_revert(exc):
            return get_revert_reason(exc), 0
        if "cannot afford" not in str(exc):
            raise
        return None, FALLBACK_GAS


def calldata(fn: Any) -> bytes:
    """The calldata of a bound web3 contract function."""
    return bytes.fromhex(fn._encode_transaction_data()[2:])
