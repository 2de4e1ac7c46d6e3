"""`sec account ...`: encrypted keystores for trading accounts and validator keys."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from sec_offchain.cli.common import (
    _dev_index,
    console,
    fail,
    guarded,
    read_password,
)
from sec_offchain.exceptions import ConfigError

account_app = typer.Typer(
    help="Accounts: encrypted keystores (scrypt) for trading accounts and validator keys.",
    no_args_is_help=True,
)

ValidatorOpt = typer.Option(
    False, "--validator", help="a validator key (kept apart from trading accounts)"
)
PasswordFileOpt = typer.Option(
    None, "--password-file", help="the password, first line (else $SEC_PASSWORD, else asked)"
)
JsonOpt = typer.Option(False, "--json", help="print JSON")


def _kind(validator: bool) -> str:
    return "validator" if validator else "account"


def _added(entry, as_json: bool) -> None:
    from sec_offchain.crypto.keystore import KIND_LABELS

    if as_json:
        data = {"name": entry.name, "kind": entry.kind, "address": entry.address}
        console.print_json(json.dumps(data | {"path": str(entry.path)}))
    else:
        console.print(
            f"{KIND_LABELS[entry.kind]} {entry.name}: {entry.address} (keystore {entry.path})",
            highlight=False,
        )


def _check_not_stored(store, address: str) -> None:
    """One key, one keystore: a trading key never doubles as a validator key."""
    from sec_offchain.crypto.keystore import KIND_LABELS

    found = store.find_address(address)
    if found is not None:
        raise ConfigError(
            f"{address} is already stored as {KIND_LABELS[found.kind]} {found.name!r}"
        )


@account_app.command("new")
def account_new(
    name: str = typer.Argument(..., help="a name for it (letters, digits, '.', '_', '-')"),
    validator: bool = ValidatorOpt,
    password_file: Path | None = PasswordFileOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Create a new random key and store it encrypted (asks for the password twice)."""

    def run() -> None:
        from eth_account import Account

        from sec_offchain.crypto.keystore import KIND_LABELS, KeyStore

        kind = _kind(validator)
        store = KeyStore()
        store.check_can_add(name, kind)
        password = read_password(password_file, f"the new {KIND_LABELS[kind]}", confirm=True)
        _added(store.add(name, kind, Account.create(), password), as_json)

    guarded(run)


def _read_secret(from_file: Path | None) -> str:
    if from_file is None:
        if not sys.stdin.isatty():
            raise ConfigError("give --from-file FILE (or '-' for stdin), or run in a terminal")
        return str(typer.prompt("private key or mnemonic", hide_input=True, err=True))
    try:
        if str(from_file) == "-":
            return sys.stdin.read()
        return from_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"--from-file {from_file}: no such file") from None
    except PermissionError:
        raise ConfigError(f"--from-file {from_file}: permission denied") from None
    except IsADirectoryError:
        raise ConfigError(f"--from-file {from_file} is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"--from-file {from_file}: cannot read it ({exc.__class__.__name__})"
        ) from None


def _account_from_secret(secret: str, index: int, path: str | None):
    """A raw key (64 hex digits) or a BIP-39 mnemonic; errors never repeat the secret."""
    from eth_account import Account

    from sec_offchain.crypto.keystore import MNEMONIC_WORDS, from_mnemonic

    text = secret.strip()
    raw = text[2:] if text[:2].lower() == "0x" else text
    if len(raw) == 64 and all(c in "0123456789abcdefABCDEF" for c in raw):
        if path is not None or index:
            raise ConfigError("--index and --path are for a mnemonic, not a raw key")
        try:
            return Account.from_key(bytes.fromhex(raw))
        except ValueError:
            raise ConfigError("not a valid secp256k1 private key") from None
    words = text.split()
    if len(words) in MNEMONIC_WORDS:
        return from_mnemonic(" ".join(words), path or f"m/44'/60'/0'/0/{index}")
    raise ConfigError(
        "not a private key (64 hex digits) or a BIP-39 mnemonic (12, 15, 18, 21 or 24 words)"
    )


@account_app.command("import")
def account_import(
    name: str = typer.Argument(..., help="a name for it (letters, digits, '.', '_', '-')"),
    from_file: Path | None = typer.Option(
        None,
        "--from-file",
        help="file holding the private key (hex) or BIP-39 mnemonic, '-' for stdin "
        "(default: asked, hidden)",
    ),
    index: int = typer.Option(
        0, "--index", min=0, max=2**31 - 1, help="mnemonic account m/44'/60'/0'/0/INDEX"
    ),
    path: str | None = typer.Option(None, "--path", help="mnemonic derivation path instead"),
    validator: bool = ValidatorOpt,
    password_file: Path | None = PasswordFileOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Store an existing private key or a BIP-39 mnemonic's account, encrypted."""

    def run() -> None:
        from sec_offchain.crypto.keystore import KIND_LABELS, KeyStore

        kind = _kind(validator)
        store = KeyStore()
        store.check_can_add(name, kind)
        account = _account_from_secret(_read_secret(from_file), index, path)
        _check_not_stored(store, account.address)
        password = read_password(password_file, f"the new {KIND_LABELS[kind]}", confirm=True)
        _added(store.add(name, kind, account, password), as_json)

    guarded(run)


@account_app.command("list")
def account_list(as_json: bool = JsonOpt) -> None:
    """List stored accounts and validator keys (no password needed)."""

    def run() -> None:
        from sec_offchain.crypto.keystore import KeyStore

        store = KeyStore()
        entries = store.entries()
        rows = [
            {"name": e.name, "kind": e.kind, "address": e.address, "path": str(e.path)}
            | ({"problem": e.problem} if e.problem else {})
            for e in entries
        ]
        if as_json:
            console.print_json(json.dumps(rows))
        elif not rows:
            console.print(f"no accounts in {store.home} (create one: sec account new NAME)")
        else:
            table = Table()
            table.add_column("name")
            table.add_column("kind")
            table.add_column("address", no_wrap=True, min_width=42)
            table.add_column("keystore", overflow="fold")
            for e in entries:
                table.add_row(e.name, e.kind, e.address or "(unusable)", str(e.path))
            console.print(table)
        broken = [e for e in entries if e.problem]
        if broken:
            more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
            fail(broken[0].problem + more)

    guarded(run)


@account_app.command("address")
def account_address(
    name: str = typer.Argument(..., help="a stored account's name, or dev:N"),
    validator: bool = ValidatorOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Print the address of a stored account (or of development account dev:N)."""

    def run() -> None:
        from sec_offchain.crypto.keys import get_dev_account
        from sec_offchain.crypto.keystore import KeyStore

        if name.strip().lower().startswith("dev:"):
            address = get_dev_account(_dev_index(name, "NAME")).address
        else:
            address = KeyStore().address_of(name, _kind(validator))
        if as_json:
            console.print_json(json.dumps({"name": name, "address": address}))
        else:
            console.print(address, highlight=False)

    guarded(run)
