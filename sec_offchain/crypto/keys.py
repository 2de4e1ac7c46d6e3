"""Account keys: the standard development mnemonic, and parsing of user-given keys."""

from __future__ import annotations

from functools import lru_cache

from eth_account import Account
from eth_account.signers.local import LocalAccount

from sec_offchain.exceptions import ConfigError

# The standard test mnemonic: anvil and Ape's local network fund its first accounts.
TEST_MNEMONIC = "test test test test test test test test test test test junk"


@lru_cache(maxsize=32)
def get_dev_account(index: int) -> LocalAccount:
    """The `index`-th account of the standard test mnemonic (m/44'/60'/0'/0/index)."""
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def get_dev_accounts(count: int = 10) -> list[LocalAccount]:
    """The first `count` accounts of the standard test mnemonic."""
    return [get_dev_account(i) for i in range(count)]


def from_key(key: str) -> LocalAccount:
    """An account from a hex private key (with or without 0x), or `dev:N` for test account N."""
    key = key.strip()
    if key.startswith("dev:"):
        try:
            return get_dev_account(int(key[4:]))
        except ValueError as exc:
            raise ConfigError(f"bad dev account index in {key!r}") from exc
    raw = key[2:] if key.startswith("0x") else key
    if len(raw) != 64:
        raise ConfigError("a private key is 32 bytes (64 hex digits)")
    try:
        return Account.from_key(bytes.fromhex(raw))
    except ValueError as exc:
        raise ConfigError(f"not a valid private key: {exc}") from exc
