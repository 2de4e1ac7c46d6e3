"""The suite as the command line drives it: every transaction checks, before it is signed,
that its account can pay for it (loaded only by commands that talk to a chain)."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from sec_offchain.cli.common import format_amount
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.transactor import Transactor
from sec_offchain.exceptions import ConfigError


class FundedTransactor(Transactor):
    """A Transactor that says so, before signing anything, when the account cannot pay."""

    def _check_funds(self, need: int, what: str) -> None:
        balance = self.w3.eth.get_balance(self.account.address)
        if balance == 0:
            raise ConfigError(f"account {self.account.address} has no ETH to pay for gas")
        if balance < need:
            raise ConfigError(
                f"account {self.account.address} has {format_amount(balance, 'ETH')}, "
                f"needs {format_amount(need, 'ETH')} for {what}"
            )

    def transact(self, fn: ContractFunction, value: int = 0) -> TxReceipt:
        if value:  # the node refuses to estimate a call whose value the sender lacks
            self._check_funds(value, "the payment")
        return super().transact(fn, value)

    def _send(self, tx: dict[str, Any]) -> TxReceipt:
        value = int(tx.get("value", 0))
        need = int(tx["gas"]) * int(tx["gasPrice"]) + value
        self._check_funds(need, "gas and the payment" if value else "gas")
        return super()._send(tx)


class CliSuite(Suite):
    """The suite as the command line drives it: every transaction checks funds first."""

    def tx(self, account: LocalAccount) -> Transactor:
        return FundedTransactor(self.w3, account)
