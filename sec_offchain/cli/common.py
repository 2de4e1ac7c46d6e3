"""What every `sec` command shares: consoles, options, the chain context, the parsers and
formatters of durations, amounts and tokens, and the one place errors become exit codes."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

import typer
from eth_account.signers.local import LocalAccount
from rich.console import Console

from sec_offchain.contracts.client import ETH, Suite
from sec_offchain.contracts.deploy import DEV_CHAIN_IDS
from sec_offchain.contracts.deployment import Deployment, get_default_path
from sec_offchain.crypto.keys import from_key, get_dev_account
from sec_offchain.devchain import RpcChain
from sec_offchain.exceptions import ConfigError, ContractRevert, SecError

warnings.filterwarnings("ignore", module="pydantic_settings")

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

DEFAULT_RPC = "http://127.0.0.1:8545"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
STATUS_NAMES = ["none", "paid", "shipped", "completed", "cancelled", "disputed", "ruled"]

T = TypeVar("T")


def fail(message: str, code: int = 1) -> None:
    """One line on stderr and a non-zero exit."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def guarded(fn: Callable[[], T]) -> T:
    """Runs `fn`, turning SEC errors and unreachable nodes into one-line errors."""
    try:
        return fn()
    except ContractRevert as exc:
        fail(f"reverted: {exc.reason}")
    except SecError as exc:
        fail(str(exc))
    except (ConnectionError, OSError) as exc:
        fail(f"cannot reach the node: {exc}")
    raise AssertionError("unreachable")


def parse_duration(text: str) -> int:
    """'7d', '36h', '90m', '600s' or plain seconds."""
    text = text.strip().lower()
    try:
        if text and text[-1] in UNITS:
            seconds = Decimal(text[:-1]) * UNITS[text[-1]]
        else:
            seconds = Decimal(text)
        if not seconds.is_finite() or seconds < 0 or seconds >= 2**64:
            raise ValueError(text)
        return int(seconds)
    except (InvalidOperation, ValueError, OverflowError):
        raise ConfigError(f"not a duration: {text!r} (use e.g. 7d, 36h, 3600)") from None


def parse_amount(text: str, decimals: int = 18) -> int:
    """A decimal amount in whole units (0.158 ETH, 158 SEC) to base units."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"not an amount: {text!r}") from None
    base = value * (Decimal(10) ** decimals)
    if base <= 0 or base != base.to_integral_value():
        raise ConfigError(f"amount must be positive with at most {decimals} decimals: {text}")
    return int(base)


def parse_address(text: str, option: str) -> str:
    """A 0x-prefixed 20-byte hex address, checksummed; anything else is a clear error."""
    from eth_utils import is_hex_address, to_checksum_address

    value = text.strip()
    if not is_hex_address(value):
        raise ConfigError(f"{option} must be a 0x address of 40 hex digits, not {text!r}")
    return to_checksum_address(value)


def resolve_account(text: str, option: str) -> str:
    """An address given as 0x... or as a development account dev:N."""
    value = text.strip()
    if value.lower().startswith("dev:"):
        index = value[4:]
        if not index.isdigit() or int(index) >= 2**31:
            raise ConfigError(f"{option}: dev:N needs a whole number N >= 0, not {text!r}")
        return get_dev_account(int(index)).address
    return parse_address(value, option)


def format_time(timestamp: int) -> str:
    """A chain timestamp as UTC, to the second."""
    import datetime as dt

    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_wait(seconds: int) -> str:
    """A span like '1d 2h', '5m 3s' or 'now'."""
    if seconds <= 0:
        return "now"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


def format_amount(value: int, symbol: str, decimals: int = 18) -> str:
    whole = Decimal(value) / (Decimal(10) ** decimals)
    return f"{whole.normalize():f} {symbol}"


def resolve_token(suite: Suite, token: str) -> str:
    name = token.strip().lower()
    if name in ("eth", "", "0x0"):
        return ETH
    if name == "sec":
        return str(suite.token.address)
    if name.startswith("0x") and len(name) == 42:
        return token
    raise ConfigError(f"unknown token {token!r}: use eth, sec or an ERC-20 address")


def token_symbol(suite: Suite, token: str) -> str:
    if token == ETH:
        return "ETH"
    if token.lower() == str(suite.token.address).lower():
        return "SEC"
    return token


class Context:
    """What an escrow command needs: a chain, the deployment on it, and a key."""

    def __init__(self, rpc: str, deployment: Path | None, key: str | None) -> None:
        self.chain = RpcChain(rpc)
        chain_id = self.chain.fetch_chain_id()
        path = deployment or get_default_path(chain_id)
        self.deployment = Deployment.from_file(path)
        if self.deployment.chain_id != chain_id:
            raise ConfigError(
                f"{path} is for chain {self.deployment.chain_id}, but {rpc} is chain {chain_id}"
            )
        self.suite = Suite(self.chain.w3, self.deployment)
        self._key = key
        self.chain_id = chain_id

    @property
    def account(self) -> LocalAccount:
        if self._key:
            return from_key(self._key)
        if self.chain_id in DEV_CHAIN_IDS:
            return get_dev_account(0)
        raise ConfigError(f"--key (or SEC_KEY) is required on chain {self.chain_id}")


RpcOpt = typer.Option(DEFAULT_RPC, "--rpc", envvar="SEC_RPC", help="JSON-RPC endpoint")
DeploymentOpt = typer.Option(
    None,
    "--deployment",
    envvar="SEC_DEPLOYMENT",
    help="deployments file (default deployments/<chain_id>.json)",
)
KeyOpt = typer.Option(
    None,
    "--key",
    envvar="SEC_KEY",
    help="private key (hex) or dev:N; dev:0 by default on dev chains",
)

HomeOpt = typer.Option(Path(".sec/devnet"), "--home", help="devnet directory")
