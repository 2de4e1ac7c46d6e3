"""What every `sec` command shares: consoles, options, the chain context, the parsers and
formatters of durations, amounts and tokens, and the one place errors become exit codes."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from sec_offchain.contracts.deployment import Deployment, get_default_path
from sec_offchain.exceptions import ConfigError, ContractRevert, SecError

if TYPE_CHECKING:  # web3, eth-account and the clients load only when a command needs them
    from eth_account.signers.local import LocalAccount

    from sec_offchain.contracts.client import Suite

warnings.filterwarnings("ignore", module="pydantic_settings")

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

DEFAULT_RPC = "http://127.0.0.1:8545"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
STATUS_NAMES = ["none", "paid", "shipped", "completed", "cancelled", "disputed", "ruled"]

ETH = "0x0000000000000000000000000000000000000000"
T = TypeVar("T")
log = logging.getLogger(__name__)


MAX_UINT256 = 2**256 - 1
MAX_AREA = 2**64 - 1


def one_line(text: object) -> str:
    """`text` with every run of whitespace (newlines too) as one space."""
    return " ".join(str(text).split())


def fail(message: str, code: int = 1) -> None:
    """One line on stderr and a non-zero exit."""
    err_console.print(f"[bold red]error:[/] {escape(one_line(message))}", highlight=False)
    raise typer.Exit(code)


def describe(exc: BaseException) -> str:
    """What went wrong, in one line a user can act on."""
    if isinstance(exc, ContractRevert):
        return f"reverted: {exc.reason}"
    if isinstance(exc, SecError):
        return str(exc)
    import requests
    from web3.exceptions import TimeExhausted, Web3RPCError

    from sec_offchain.contracts.transactor import get_revert_reason, is_revert

    if is_revert(exc):
        return f"reverted: {get_revert_reason(exc)}"
    if isinstance(exc, requests.Timeout | TimeoutError | TimeExhausted):
        return "the node did not answer in time"
    if isinstance(exc, requests.ConnectionError | ConnectionError):
        return f"cannot reach the node ({exc.__class__.__name__})"
    if isinstance(exc, Web3RPCError):
        response = exc.rpc_response or {}
        error = response.get("error") if isinstance(response, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        return f"the node refused it: {message or exc}"
    if isinstance(exc, OSError):
        reason = exc.strerror or exc.__class__.__name__
        return f"{reason}: {exc.filename}" if exc.filename else f"{reason} ({exc})"
    return f"unexpected {exc.__class__.__name__}: {exc}"


def guarded(fn: Callable[[], T]) -> T:
    """Runs `fn`, turning every error into one line on stderr and exit code 1 (run with
    SEC_LOG=DEBUG to see the traceback of an unexpected one)."""
    try:
        return fn()
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - every failure ends as one line, never a traceback
        log.debug("command failed", exc_info=True)
        fail(describe(exc))
    raise AssertionError("unreachable")


def uint_option(default: object, *names: str, help: str, low: int = 0, high: int = MAX_UINT256):
    """An integer option bounded to what the contracts take (uint256 unless narrower)."""
    return typer.Option(default, *names, help=help, min=low, max=high)


def uint_argument(help: str, low: int = 0, high: int = MAX_UINT256):
    return typer.Argument(..., help=help, min=low, max=high)


def area_option(help: str = "area id (1 .. 2**64-1)"):
    return typer.Option(..., "--area", help=help, min=1, max=MAX_AREA)


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
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ConfigError(f"not an amount: {text!r}") from None
    if not value.is_finite():
        raise ConfigError(f"not an amount: {text!r}")
    base = value.scaleb(decimals)
    if base <= 0 or base != base.to_integral_value():
        raise ConfigError(f"amount must be positive with at most {decimals} decimals: {text}")
    if base > MAX_UINT256:
        raise ConfigError(f"amount too large: {text}")
    return int(base)


def parse_address(text: str, option: str) -> str:
    """A 0x-prefixed 20-byte hex address, checksummed; anything else is a clear error."""
    from eth_utils import is_hex_address, to_checksum_address

    value = text.strip()
    if not value.startswith("0x") or not is_hex_address(value):
        raise ConfigError(f"{option} must be a 0x address of 40 hex digits, not {text!r}")
    return to_checksum_address(value)


def _dev_index(text: str, option: str) -> int:
    index = text.strip()[4:]
    if not index.isdigit() or int(index) >= 2**31:
        raise ConfigError(f"{option}: dev:N needs a whole number N >= 0, not {text!r}")
    return int(index)


def resolve_account(text: str, option: str) -> str:
    """An address given as 0x... or as a development account dev:N."""
    from sec_offchain.crypto.keys import get_dev_account

    value = text.strip()
    if value.lower().startswith("dev:"):
        return get_dev_account(_dev_index(value, option)).address
    return parse_address(value, option)


def parse_key(text: str, option: str = "--key") -> LocalAccount:
    """A signing key: 64 hex digits (with or without 0x) or dev:N; never silently a default."""
    value = text.strip()
    if not value:
        raise ConfigError(f"{option} is empty: give a private key (64 hex digits) or dev:N")
    if value.lower().startswith("dev:"):
        index = _dev_index(value, option)
        from sec_offchain.crypto.keys import get_dev_account

        return get_dev_account(index)
    raw = value[2:] if value[:2].lower() == "0x" else value
    if len(raw) != 64 or any(c not in "0123456789abcdefABCDEF" for c in raw):
        raise ConfigError(f"{option} must be a private key of 64 hex digits or dev:N")
    from sec_offchain.crypto.keys import from_key

    try:
        return from_key(raw)
    except (ConfigError, ValueError):
        raise ConfigError(f"{option} is not a valid secp256k1 private key") from None


def check_writable(path: Path, option: str) -> Path:
    """Fails unless `path` can be written as a file (its directory exists or can be made),
    without creating anything."""
    if path.exists() and not path.is_file():
        raise ConfigError(f"{option} {path} is not a file")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{option} {path} is not writable")
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{option} {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {path}: directory {parent} is not writable")
    return path


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


def check_token_name(token: str) -> None:
    """What `resolve_token` will accept, checked before the node is asked anything."""
    name = token.strip().lower()
    if name in ("eth", "sec", "", "0x0"):
        return
    if name.startswith("0x"):
        parse_address(token, "--token")
        return
    raise ConfigError(f"unknown token {token!r}: use eth, sec or an ERC-20 address")


def resolve_token(suite: Suite, token: str) -> str:
    name = token.strip().lower()
    if name in ("eth", "", "0x0"):
        return ETH
    if name == "sec":
        return str(suite.token.address)
    if name.startswith("0x"):
        return parse_address(token, "--token")
    raise ConfigError(f"unknown token {token!r}: use eth, sec or an ERC-20 address")


def token_symbol(suite: Suite, token: str) -> str:
    if token == ETH:
        return "ETH"
    if token.lower() == str(suite.token.address).lower():
        return "SEC"
    return token


def load_deployment(path: Path) -> Deployment:
    """The deployments file at `path`, checked: every suite contract with an address and an
    ABI (a ConfigError naming what is wrong otherwise)."""
    from eth_utils import is_hex_address

    from sec_offchain.contracts import SUITE

    if path.is_dir():
        raise ConfigError(f"deployments file {path} is a directory")
    try:
        deployment = Deployment.from_file(path)
    except (UnicodeDecodeError, AttributeError, TypeError) as exc:
        raise ConfigError(f"malformed deployments file {path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read deployments file {path}: {exc.strerror}") from None
    for name in SUITE:
        rec = deployment.contracts.get(name)
        if rec is None:
            raise ConfigError(f"malformed deployments file {path}: no contract {name}")
        if not isinstance(rec.address, str) or not is_hex_address(rec.address):
            raise ConfigError(f"malformed deployments file {path}: {name} address {rec.address!r}")
        if not isinstance(rec.abi, list) or not all(isinstance(i, dict) for i in rec.abi):
            raise ConfigError(f"malformed deployments file {path}: {name} abi is not a list")
    return deployment


def load_devnet(home: Path) -> Any:
    """The DevnetConfig of the devnet at `home`; a ConfigError when there is none or its
    devnet.json is not one."""
    import json

    from sec_offchain.area.devnet_config import DevnetConfig

    cfg_path = home / "devnet.json"
    if not cfg_path.is_file():
        raise ConfigError(f"no devnet at {home} (run `sec devnet up` first)")
    try:
        return DevnetConfig.load(cfg_path)
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"malformed {cfg_path}: {exc.__class__.__name__} {exc}") from None


def resolve_signer(key: str | None, chain_id: int) -> LocalAccount:
    """The account that signs: the given key, else dev:0 on a development chain."""
    from sec_offchain.contracts import DEV_CHAIN_IDS
    from sec_offchain.crypto.keys import get_dev_account

    if key is not None:
        return parse_key(key)
    if chain_id in DEV_CHAIN_IDS:
        return get_dev_account(0)
    raise ConfigError(f"--key (or SEC_KEY) is required on chain {chain_id}")


def fetch_chain_id(rpc: str) -> int:
    """The chain id of the node at `rpc`, asked with one plain JSON-RPC call (no web3 import:
    commands that only sign stay fast)."""
    import json
    import urllib.error
    import urllib.request

    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    req = urllib.request.Request(
        rpc, body.encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            answer = json.loads(response.read())
        return int(answer["result"], 16)
    except (urllib.error.URLError, OSError) as exc:
        raise ConfigError(f"cannot reach the node at {rpc} ({exc.__class__.__name__})") from None
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"{rpc} did not answer eth_chainId") from None


class Context:
    """What an escrow command needs: a chain, the deployment on it, and a key."""

    def __init__(self, rpc: str, deployment: Path | None, key: str | None) -> None:
        from web3 import Web3

        from sec_offchain.cli.chain import CliSuite
        from sec_offchain.devchain import RpcChain

        if key is not None:
            parse_key(key)  # a bad key fails before the node is asked anything
        self.chain = RpcChain(rpc)
        chain_id = self.chain.fetch_chain_id()
        path = deployment or get_default_path(chain_id)
        self.deployment = load_deployment(path)
        if self.deployment.chain_id != chain_id:
            raise ConfigError(
                f"{path} is for chain {self.deployment.chain_id}, but {rpc} is chain {chain_id}"
            )
        self.suite = CliSuite(self.chain.w3, self.deployment)
        for name, rec in self.deployment.contracts.items():
            if not self.chain.w3.eth.get_code(Web3.to_checksum_address(rec.address)):
                raise ConfigError(
                    f"no contract at {rec.address} ({name}) on chain {chain_id}: "
                    "wrong deployments file?"
                )
        self._key = key
        self.chain_id = chain_id

    @property
    def account(self) -> LocalAccount:
        return resolve_signer(self._key, self.chain_id)

    def sec_balance_at_least(self, amount: int) -> None:
        """Fails unless the signing account holds `amount` SEC."""
        have = self.suite.sec_balance(self.account.address)
        if have < amount:
            raise ConfigError(
                f"account {self.account.address} has {format_amount(have, 'SEC')}, "
                f"not {format_amount(amount, 'SEC')}"
            )

    def gas_for(self, gas: int) -> None:
        """Fails unless the signing account can pay about `gas` units at today's price."""
        from sec_offchain.cli.chain import FundedTransactor

        tx = FundedTransactor(self.chain.w3, self.account)
        tx._check_funds(gas * int(self.chain.w3.eth.gas_price), "gas")


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
