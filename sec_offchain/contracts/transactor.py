"""Signing and sending transactions with a local key, the same way on every chain."""

from __future__ import annotations

import logging
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted
from web3.types import TxReceipt

from sec_offchain.contracts.artifacts import Artifact
from sec_offchain.exceptions import ContractRevert, TransactionFailed

log = logging.getLogger(__name__)


def is_revert(exc: BaseException) -> bool:
    """Whether `exc` is a contract revert: web3's ContractLogicError, or the embedded chain's
    (eth-tester's) TransactionFailed. eth-tester is not imported for this (it loads py-evm,
    over a second): when it is not loaded, no error can come from it."""
    if isinstance(exc, ContractLogicError):
        return True
    kind = type(exc)
    return kind.__module__ == "eth_tester.exceptions" and kind.__name__ == "TransactionFailed"


GAS_MARGIN = 1.25
RECEIPT_TIMEOUT = 120


def get_revert_reason(exc: Exception) -> str:
    """The contract's revert string out of a web3 error ("execution reverted: x" -> "x")."""
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(message, tuple):
        message = message[0]
    message = str(message)
    for prefix in (
        "execution reverted: ",
        "execution reverted:",
        "VM Exception while processing transaction: revert ",
    ):
        if prefix in message:
            return message.split(prefix, 1)[1].strip()
    return message.strip()


class Transactor:
    """Sends transactions from one local account: estimates gas (turning a revert into
    ContractRevert with the contract's reason), signs, sends and waits for the receipt."""

    def __init__(self, w3: Web3, account: LocalAccount) -> None:
        self.w3 = w3
        self.account = account
        # Gas is estimated on the pending block, where the transaction will run (its
        # timestamp matters for every deadline check). eth-tester estimates there anyway
        # and does not take the "pending" tag.
        # (Checked by name along the class's bases: importing eth-tester costs over a second.)
        tester = any(k.__name__ == "EthereumTesterProvider" for k in type(w3.provider).__mro__)
        self._estimate_block = None if tester else "pending"

    @property
    def address(self) -> str:
        return self.account.address

    def _base_tx(self, value: int) -> dict[str, Any]:
        return {
            "from": self.account.address,
            "value": value,
            "nonce": self.w3.eth.get_transaction_count(self.account.address, "pending"),
            "gasPrice": self.w3.eth.gas_price,
            "chainId": self.w3.eth.chain_id,
        }

    def _send(self, tx: dict[str, Any]) -> TxReceipt:
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT)
        except TimeExhausted as exc:
            raise TransactionFailed(f"no receipt for {tx_hash.hex()}") from exc
        if receipt["status"] != 1:
            raise TransactionFailed(f"transaction {tx_hash.hex()} failed on chain")
        return receipt

    def transact(self, fn: ContractFunction, value: int = 0) -> TxReceipt:
        """Sends `fn` (a bound contract function) with `value` wei."""
        tx = self._base_tx(value)
        try:
            gas = fn.estimate_gas(
                {"from": tx["from"], "value": value}, block_identifier=self._estimate_block
            )
        except Exception as exc:
            if not is_revert(exc):
                raise
            raise ContractRevert(get_revert_reason(exc)) from exc
        tx["gas"] = int(gas * GAS_MARGIN) + 10_000
        tx = fn.build_transaction(tx)
        return self._send(tx)

    def send_value(self, to: str, value: int) -> TxReceipt:
        tx = self._base_tx(value)
        tx["to"] = Web3.to_checksum_address(to)
        tx["gas"] = 21_000
        return self._send(tx)

    def deploy(self, artifact: Artifact, *args: Any) -> tuple[str, TxReceipt]:
        """Deploys `artifact` with constructor `args`; returns its address and the receipt."""
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        ctor = factory.constructor(*args)
        tx = self._base_tx(0)
        try:
            gas = ctor.estimate_gas({"from": tx["from"]})
        except Exception as exc:
            if not is_revert(exc):
                raise
            raise ContractRevert(f"deploying {artifact.name}: {get_revert_reason(exc)}") from exc
        tx["gas"] = int(gas * GAS_MARGIN) + 10_000
        receipt = self._send(ctor.build_transaction(tx))
        address = receipt["contractAddress"]
        if not address:
            raise TransactionFailed(f"deploying {artifact.name} created no contract")
        return Web3.to_checksum_address(address), receipt
