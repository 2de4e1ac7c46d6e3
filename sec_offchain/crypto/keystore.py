"""Encrypted account keystores: eth-account v3 JSON files (scrypt, AES-128-CTR) under the
user's config directory, trading accounts and validator keys in separate directories.

Layout: `<home>/accounts/NAME.json` and `<home>/validators/NAME.json`, the directories
mode 0700 and the files 0600, owned by the user; anything looser is refused, not used.
`home` is `$SEC_HOME`, else `$XDG_CONFIG_HOME/sec`, else `~/.config/sec`."""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import is_hex_address, to_checksum_address

from sec_offchain.exceptions import KeystoreError

Kind = Literal["account", "validator"]
KIND_DIRS: dict[Kind, str] = {"account": "accounts", "validator": "validators"}
KIND_LABELS: dict[Kind, str] = {"account": "account", "validator": "validator key"}
# scrypt's standard work factor (geth, eth-account): n = 2**18, r = 8, p = 1.
SCRYPT_N = 2**18
# Test suites only: a lighter scrypt n for keystores created while this is set.
SCRYPT_N_ENV = "SEC_KEYSTORE_SCRYPT_N"
_ARTICLES: dict[Kind, str] = {"account": "an", "validator": "a"}
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MNEMONIC_WORDS = (12, 15, 18, 21, 24)


@dataclass(frozen=True)
class Entry:
    """One stored keystore: its name, kind, address and file."""

    name: str
    kind: Kind
    address: str
    path: Path
    problem: str = ""  # why it cannot be used (then `address` is "")


def get_home() -> Path:
    """The directory keystores live under (not created here)."""
    if os.environ.get("SEC_HOME"):
        return Path(os.environ["SEC_HOME"])
    if os.environ.get("XDG_CONFIG_HOME"):
        return Path(os.environ["XDG_CONFIG_HOME"]) / "sec"
    return Path.home() / ".config" / "sec"


def get_scrypt_n() -> int:
    """The scrypt work factor for new keystores: SCRYPT_N unless a test sets SCRYPT_N_ENV."""
    text = os.environ.get(SCRYPT_N_ENV, "")
    if not text:
        return SCRYPT_N
    if not text.isdigit() or int(text) < 2 or int(text) & (int(text) - 1):
        raise KeystoreError(f"{SCRYPT_N_ENV} must be a power of two >= 2, not {text!r}")
    return int(text)


def validate_name(name: str) -> None:
    """Names are file names: a letter or digit, then letters, digits, '.', '_', '-' (<= 64)."""
    if not NAME_RE.fullmatch(name):
        raise KeystoreError(
            f"bad account name {name!r}: use letters, digits, '.', '_' or '-' "
            "(starting with a letter or digit, at most 64)"
        )


def _check_private(path: Path, want: int) -> os.stat_result:
    """`path` is the user's own and no one else may read or write it."""
    try:
        st = path.stat()
    except PermissionError:
        raise KeystoreError(f"cannot read {path}: permission denied") from None
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise KeystoreError(f"{path} belongs to another user (uid {st.st_uid}): refusing it")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise KeystoreError(
            f"{path} has mode {mode:04o}: others may read it; run `chmod {want:o} {path}`"
        )
    return st


class KeyStore:
    """The keystores under one home directory."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = home if home is not None else get_home()

    def dir_of(self, kind: Kind) -> Path:
        return self.home / KIND_DIRS[kind]

    def path_of(self, name: str, kind: Kind) -> Path:
        validate_name(name)
        return self.dir_of(kind) / f"{name}.json"

    # -- reading -----------------------------------------------------------------------

    def exists(self, name: str, kind: Kind) -> bool:
        return self.path_of(name, kind).exists()

    def read(self, name: str, kind: Kind) -> dict[str, Any]:
        """The keystore JSON of `name`, checked: present, private, readable, well formed."""
        path = self.path_of(name, kind)
        directory = path.parent
        if not path.exists():
            other: Kind = "validator" if kind == "account" else "account"
            hint = ""
            if self.path_of(name, other).exists():
                hint = (
                    f" ({name!r} is {_ARTICLES[other]} {KIND_LABELS[other]}: "
                    "validator keys and trading accounts are kept apart)"
                )
            raise KeystoreError(f"no {KIND_LABELS[kind]} {name!r} in {directory}{hint}")
        _check_private(directory, 0o700)
        _check_private(path, 0o600)
        try:
            text = path.read_text(encoding="utf-8")
        except PermissionError:
            raise KeystoreError(f"cannot read {path}: permission denied") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise KeystoreError(f"cannot read {path}: {exc.__class__.__name__}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise KeystoreError(f"{path} is not a keystore (not JSON)") from None
        if (
            not isinstance(data, dict)
            or data.get("version") != 3
            or not isinstance(data.get("crypto"), dict)
            or not isinstance(data.get("address"), str)
            or not is_hex_address(data["address"])
        ):
            raise KeystoreError(f"{path} is not a version 3 keystore")
        return data

    def address_of(self, name: str, kind: Kind) -> str:
        """The address a keystore holds (no password needed: v3 stores it in clear)."""
        return to_checksum_address(self.read(name, kind)["address"])

    def unlock(self, name: str, kind: Kind, password: str) -> LocalAccount:
        """The account in keystore `name`, decrypted with `password`."""
        data = self.read(name, kind)
        path = self.path_of(name, kind)
        try:
            key = Account.decrypt(data, password)
        except ValueError as exc:
            if "MAC mismatch" in str(exc):
                raise KeystoreError(f"wrong password for {KIND_LABELS[kind]} {name!r}") from None
            raise KeystoreError(f"{path} is not a usable keystore: {exc}") from None
        except (KeyError, TypeError, NotImplementedError) as exc:
            raise KeystoreError(
                f"{path} is not a usable keystore ({exc.__class__.__name__})"
            ) from None
        account: LocalAccount = Account.from_key(key)
        if account.address.lower() != to_checksum_address(data["address"]).lower():
            raise KeystoreError(f"{path}: the key does not match the address it claims")
        return account

    def entries(self) -> list[Entry]:
        """Every keystore of both kinds, by kind then name; one that cannot be used is listed
        with its problem instead of its address."""
        found = []
        for kind in ("account", "validator"):
            directory = self.dir_of(kind)  # type: ignore[arg-type]
            if not directory.is_dir():
                continue
            for path in sorted(directory.glob("*.json")):
                name = path.stem
                if not NAME_RE.fullmatch(name):
                    continue
                try:
                    found.append(Entry(name, kind, self.address_of(name, kind), path))  # type: ignore[arg-type]
                except KeystoreError as exc:
                    found.append(Entry(name, kind, "", path, str(exc)))  # type: ignore[arg-type]
        return found

    def find_address(self, address: str) -> Entry | None:
        """The stored keystore (of either kind) holding `address`, if any."""
        for entry in self.entries():
            if entry.address.lower() == address.lower():
                return entry
        return None

    # -- writing -----------------------------------------------------------------------

    def check_can_add(self, name: str, kind: Kind) -> Path:
        """Fails unless `name` is free and its file could be written; creates nothing."""
        path = self.path_of(name, kind)
        if path.exists():
            raise KeystoreError(f"{KIND_LABELS[kind]} {name!r} exists: {path}")
        directory = path.parent
        if directory.exists():
            _check_private(directory, 0o700)
            if not os.access(directory, os.W_OK | os.X_OK):
                raise KeystoreError(f"cannot write to {directory}: permission denied")
        else:
            parent = directory.parent
            while not parent.exists():
                parent = parent.parent
            if not parent.is_dir():
                raise KeystoreError(f"cannot create {directory}: {parent} is not a directory")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise KeystoreError(f"cannot create {directory}: {parent} is not writable")
        return path

    def add(self, name: str, kind: Kind, account: LocalAccount, password: str) -> Entry:
        """Encrypts `account` with `password` (scrypt) into a new keystore `name`: mode 0600,
        never over an existing file (two concurrent adds of one name: one of them fails)."""
        path = self.check_can_add(name, kind)
        if not password:
            raise KeystoreError("the password is empty")
        data = Account.encrypt(account.key, password, kdf="scrypt", iterations=get_scrypt_n())
        directory = path.parent
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.mkdir(mode=0o700, exist_ok=True)
        _check_private(directory, 0o700)
        tmp = directory / f".{name}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)  # atomic and never replaces an existing file
            except FileExistsError:
                raise KeystoreError(f"{KIND_LABELS[kind]} {name!r} exists: {path}") from None
        finally:
            tmp.unlink(missing_ok=True)
        return Entry(name, kind, account.address, path)


def from_mnemonic(phrase: str, path: str) -> LocalAccount:
    """The account at BIP-32 `path` of a BIP-39 `phrase`; the error never repeats the words."""
    from eth_utils import ValidationError

    Account.enable_unaudited_hdwallet_features()
    try:
        return Account.from_mnemonic(" ".join(phrase.split()), account_path=path)
    except ValidationError as exc:
        if "path" in str(exc).lower():
            raise KeystoreError(f"bad derivation path {path!r}") from None
        raise KeystoreError(
            "not a valid BIP-39 mnemonic (an unknown word or a wrong checksum)"
        ) from None
    except (ValueError, KeyError, IndexError):
        raise KeystoreError(f"not a valid BIP-39 mnemonic or derivation path ({path!r})") from None
