# ruff: noqa: E501 - tables of command lines and the exact errors they end in
"""`sec account ...` and `--account NAME`: encrypted keystores under a temporary SEC_HOME.

Most cases run `sec` in this process (the console script's own `main`); two run it as a
user does, in a new process: one through a password file, one typing the password at a
real terminal (a pty). Keystores are written with a light scrypt work factor
(SEC_KEYSTORE_SCRYPT_N, a test-only setting) except where the standard one is checked.
Every failing case must leave the keystore directory byte for byte as it was."""

from __future__ import annotations

import json
import os
import pty
import select
import stat
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
import typer
from eth_account import Account

from sec_offchain.crypto.keys import TEST_MNEMONIC, get_dev_account
from sec_offchain.crypto.keystore import SCRYPT_N, KeyStore
from tests.fixtures.cli import run_sec

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse"
RAW_KEY = "0x" + "42" * 32
RAW_ADDRESS = Account.from_key(RAW_KEY).address
DEAD_RPC = "http://127.0.0.1:9"  # nothing listens: a command that gets past its key fails here


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A SEC_HOME with alice (new), bob (dev:1 from the mnemonic) and validator v1."""
    path = tmp_path_factory.mktemp("sec_home") / "sec"
    pw = path.parent / "pw"
    pw.write_text(PASSWORD + "\n")
    env = _env(path)
    for argv in (
        ("account", "new", "alice", "--password-file", str(pw)),
        (
            "account",
            "import",
            "bob",
            "--from-file",
            "-",
            "--index",
            "1",
            "--password-file",
            str(pw),
        ),
        ("account", "new", "v1", "--validator", "--password-file", str(pw)),
    ):
        r = run_sec(*argv, env=env, stdin=TEST_MNEMONIC + "\n")
        assert r.returncode == 0, r.stderr
    return path


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {
        "SEC_HOME": str(home),
        "SEC_KEYSTORE_SCRYPT_N": "1024",
        "SEC_PASSWORD": "",
        "SEC_KEY": "",
        "SEC_ACCOUNT": "",
        **extra,
    }


def _tree(home: Path) -> dict[str, tuple[int, bytes]]:
    """Every file and directory under `home` with its mode and content."""
    out = {}
    for p in sorted(home.rglob("*")):
        st = p.stat()
        out[str(p.relative_to(home))] = (
            stat.S_IMODE(st.st_mode),
            p.read_bytes() if p.is_file() else b"",
        )
    return out


def _fails(home: Path, argv: list[str], expect: str, code: int = 1, **env: str) -> None:
    """`sec ARGV` ends in exactly `expect` on stderr, exit `code`, and changes nothing."""
    before = _tree(home)
    r = run_sec(*argv, env=_env(home, **env))
    assert (r.returncode, r.stderr) == (code, f"error: {expect}\n"), r
    assert "Traceback" not in r.stdout + r.stderr
    assert _tree(home) == before


# -- sec account new / import / list / address --------------------------------------------


def test_account_new__password_file__v3_scrypt_keystore_mode_0600_in_dir_0700(home):
    path = home / "accounts" / "alice.json"
    data = json.loads(path.read_text())
    assert data["version"] == 3
    assert data["crypto"]["kdf"] == "scrypt"
    assert data["crypto"]["kdfparams"]["n"] == 1024  # the test-only light work factor
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    account = KeyStore(home).unlock("alice", "account", PASSWORD)
    assert account.address == "0x" + data["address"]


def test_account_import__mnemonic_index_1__the_address_of_dev_1(home):
    r = run_sec("account", "address", "bob", env=_env(home))
    assert (r.returncode, r.stdout) == (0, get_dev_account(1).address + "\n")
    unlocked = KeyStore(home).unlock("bob", "account", PASSWORD)
    assert unlocked.key == get_dev_account(1).key


def test_account_import__raw_key_from_stdin_and_sec_password__stored_and_printed_as_json(
    tmp_path,
):
    r = run_sec(
        "account",
        "import",
        "raw",
        "--from-file",
        "-",
        "--json",
        env=_env(tmp_path, SEC_PASSWORD="from env"),
        stdin=RAW_KEY + "\n",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "name": "raw",
        "kind": "account",
        "address": RAW_ADDRESS,
        "path": str(tmp_path / "accounts" / "raw.json"),
    }
    assert KeyStore(tmp_path).unlock("raw", "account", "from env").address == RAW_ADDRESS


def test_account_new__validator__kept_in_validators_dir_apart_from_accounts(home):
    assert (home / "validators" / "v1.json").is_file()
    assert not (home / "accounts" / "v1.json").exists()
    r = run_sec("account", "list", "--json", env=_env(home))
    rows = json.loads(r.stdout)
    assert [(row["name"], row["kind"]) for row in rows] == [
        ("alice", "account"),
        ("bob", "account"),
        ("v1", "validator"),
    ]
    v1 = KeyStore(home).address_of("v1", "validator")
    assert rows[2]["address"] == v1
    r = run_sec("account", "address", "v1", "--validator", env=_env(home))
    assert r.stdout == v1 + "\n"


def test_account_address__dev_n__the_test_mnemonic_account(tmp_path):
    r = run_sec("account", "address", "dev:3", "--json", env=_env(tmp_path))
    assert json.loads(r.stdout) == {"name": "dev:3", "address": get_dev_account(3).address}
    assert not tmp_path.joinpath("accounts").exists()


def test_account_list__empty_home__says_so_and_creates_nothing(tmp_path):
    r = run_sec("account", "list", env=_env(tmp_path / "none"))
    assert (r.returncode, r.stdout.strip()) == (
        0,
        f"no accounts in {tmp_path / 'none'} (create one: sec account new NAME)",
    )
    assert not (tmp_path / "none").exists()


# -- failures: one line, non-zero exit, nothing changed ----------------------------------


def test_account_new__name_exists__refused_and_keystore_unchanged(home):
    pw = home.parent / "pw"
    _fails(
        home,
        ["account", "new", "alice", "--password-file", str(pw)],
        f"account 'alice' exists: {home / 'accounts' / 'alice.json'}",
    )


def test_account_import__key_stored_under_other_name_or_kind__refused(home):
    key_file = home.parent / "bob_key"
    key_file.write_text(get_dev_account(1).key.hex())
    for extra in ([], ["--validator"]):
        _fails(
            home,
            ["account", "import", "bob2", "--from-file", str(key_file), *extra],
            f"{get_dev_account(1).address} is already stored as account 'bob'",
            SEC_PASSWORD="p",
        )


@pytest.mark.parametrize(
    ("secret", "expect"),
    [
        (
            "test test test test test test test test test test test test",
            "not a valid BIP-39 mnemonic (an unknown word or a wrong checksum)",
        ),
        (
            "0x" + "zz" * 32,
            "not a private key (64 hex digits) or a BIP-39 mnemonic (12, 15, 18, 21 or 24 words)",
        ),
        ("0x" + "00" * 32, "not a valid secp256k1 private key"),
        ("", "not a private key (64 hex digits) or a BIP-39 mnemonic (12, 15, 18, 21 or 24 words)"),
    ],
    ids=["bad-checksum", "not-hex", "zero-key", "empty"],
)
def test_account_import__bad_secret__one_line_never_echoing_it(home, secret, expect):
    before = _tree(home)
    r = run_sec(
        "account", "import", "x", "--from-file", "-", env=_env(home, SEC_PASSWORD="p"), stdin=secret
    )
    assert (r.returncode, r.stderr) == (1, f"error: {expect}\n")
    assert _tree(home) == before


def test_account_import__bad_derivation_path__refused(home):
    before = _tree(home)
    r = run_sec(
        "account",
        "import",
        "x",
        "--from-file",
        "-",
        "--path",
        "m/x",
        env=_env(home, SEC_PASSWORD="p"),
        stdin=TEST_MNEMONIC,
    )
    assert (r.returncode, r.stderr) == (1, "error: bad derivation path 'm/x'\n")
    assert _tree(home) == before


@pytest.mark.parametrize(
    ("argv", "expect", "code"),
    [
        (
            ["account", "new", "../evil"],
            "bad account name '../evil': use letters, digits, '.', '_' or '-' (starting with a letter or digit, at most 64)",
            1,
        ),
        (
            ["account", "new", "n", "--password-file", "/nonexistent/pw"],
            "--password-file /nonexistent/pw: no such file",
            1,
        ),
        (
            ["account", "new", "n"],
            "no password for the new account: give --password-file FILE or set SEC_PASSWORD (or run in a terminal to be asked)",
            1,
        ),
        (["account", "address", "nobody"], "no account 'nobody' in {home}/accounts", 1),
        (
            ["account", "address", "v1"],
            "no account 'v1' in {home}/accounts ('v1' is a validator key: validator keys and trading accounts are kept apart)",
            1,
        ),
        (
            ["account", "address", "dev:-1"],
            "NAME: dev:N needs a whole number N >= 0, not 'dev:-1'",
            1,
        ),
        (
            ["account", "import", "y", "--from-file", "/nonexistent/key"],
            "--from-file /nonexistent/key: no such file",
            1,
        ),
        (
            ["account", "import", "y"],
            "give --from-file FILE (or '-' for stdin), or run in a terminal",
            1,
        ),
        # --account on a signing command: found, unlocked, before the node is asked anything.
        (
            ["escrow", "ship", "1", "--account", "nobody", "--rpc", DEAD_RPC],
            "no account 'nobody' in {home}/accounts",
            1,
        ),
        (
            ["escrow", "ship", "1", "--account", "alice", "--rpc", DEAD_RPC],
            "no password for account 'alice': give --password-file FILE or set SEC_PASSWORD (or run in a terminal to be asked)",
            1,
        ),
        (
            [
                "escrow",
                "ship",
                "1",
                "--account",
                "alice",
                "--password-file",
                "{home}/../wrong_pw",
                "--rpc",
                DEAD_RPC,
            ],
            "wrong password for account 'alice'",
            1,
        ),
        (
            [
                "escrow",
                "ship",
                "1",
                "--account",
                "alice",
                "--password-file",
                "{home}/../empty_pw",
                "--rpc",
                DEAD_RPC,
            ],
            "--password-file {home}/../empty_pw: the first line is empty",
            1,
        ),
        (
            ["escrow", "ship", "1", "--account", "alice", "--key", "dev:1", "--rpc", DEAD_RPC],
            "give --key or --account, not both",
            2,
        ),
        (
            ["escrow", "ship", "1", "--account", "a/b", "--rpc", DEAD_RPC],
            "--account: bad account name 'a/b': use letters, digits, '.', '_' or '-' (starting with a letter or digit, at most 64)",
            2,
        ),
        (
            ["escrow", "ship", "1", "--account", "v1", "--rpc", DEAD_RPC],
            "no account 'v1' in {home}/accounts ('v1' is a validator key: validator keys and trading accounts are kept apart)",
            1,
        ),
        (
            ["bgc", "ship", "--area", "1", "--ref", "1:1", "--account", "v1"],
            "no account 'v1' in {home}/accounts ('v1' is a validator key: validator keys and trading accounts are kept apart)",
            1,
        ),
        (["area", "records"], "give --key or --account", 2),
        # Validator commands take only validator keys.
        (
            ["stake", "unbond", "--amount", "1", "--account", "alice", "--rpc", DEAD_RPC],
            "no validator key 'alice' in {home}/validators ('alice' is an account: validator keys and trading accounts are kept apart)",
            1,
        ),
        (
            ["area", "anchor", "--area", "1", "--signer-accounts", "alice", "--rpc", DEAD_RPC],
            "no validator key 'alice' in {home}/validators ('alice' is an account: validator keys and trading accounts are kept apart)",
            1,
        ),
        (
            ["area", "anchor", "--area", "1", "--rpc", DEAD_RPC],
            "give --signer-keys or --signer-accounts (one of them)",
            1,
        ),
        (
            [
                "area",
                "anchor",
                "--area",
                "1",
                "--signer-accounts",
                "v1",
                "--password-file",
                "{home}/../wrong_pw",
                "--rpc",
                DEAD_RPC,
            ],
            "wrong password for validator key 'v1'",
            1,
        ),
    ],
)
def test_account_failures__one_line_nonzero_exit_nothing_changed(home, argv, expect, code):
    (home.parent / "wrong_pw").write_text("not it\n")
    (home.parent / "empty_pw").write_text("\n")
    argv = [a.replace("{home}", str(home)) for a in argv]
    _fails(home, argv, expect.replace("{home}", str(home)), code)


def test_account_option__right_password__unlocks_then_fails_only_at_the_node(home):
    """The password file, then SEC_PASSWORD, then SEC_ACCOUNT with SEC_KEY set (the
    typed-or-not rule): each gets past the key to the (absent) node."""
    pw = str(home.parent / "pw")
    reach = "error: cannot reach a node at http://127.0.0.1:9"
    for argv, env in (
        (["--account", "alice", "--password-file", pw], {}),
        (["--account", "bob"], {"SEC_PASSWORD": PASSWORD, "SEC_KEY": "dev:3"}),
        ([], {"SEC_ACCOUNT": "alice", "SEC_PASSWORD": PASSWORD}),
        (["--key", "dev:3"], {"SEC_ACCOUNT": "nobody"}),  # typed --key beats SEC_ACCOUNT
    ):
        r = run_sec("escrow", "ship", "1", "--rpc", DEAD_RPC, *argv, env=_env(home, **env))
        assert r.returncode == 1 and r.stderr.startswith(reach), (argv, env, r.stderr)
    both = run_sec(
        "escrow",
        "ship",
        "1",
        "--rpc",
        DEAD_RPC,
        env=_env(home, SEC_ACCOUNT="alice", SEC_KEY="dev:1"),
    )
    assert (both.returncode, both.stderr) == (
        2,
        "error: both SEC_KEY and SEC_ACCOUNT are set: unset one\n",
    )


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        (lambda p: p.chmod(0o644), "{p} has mode 0644: others may read it; run `chmod 600 {p}`"),
        (
            lambda p: p.parent.chmod(0o755),
            "{d} has mode 0755: others may read it; run `chmod 700 {d}`",
        ),
        (lambda p: p.write_text("{not json"), "{p} is not a keystore (not JSON)"),
        (lambda p: p.write_text('{"version": 1}'), "{p} is not a version 3 keystore"),
        (lambda p: (p.unlink(), p.mkdir(mode=0o700)), "cannot read {p}: IsADirectoryError"),
    ],
    ids=["file-0644", "dir-0755", "not-json", "not-v3", "unreadable"],
)
def test_keystore_file_problems__signing_and_address_refuse_it(tmp_path, change, expect):
    home = tmp_path / "h"
    store = KeyStore(home)
    p = home / "accounts" / "carol.json"
    with _scrypt_light():
        store.add("carol", "account", Account.from_key(RAW_KEY), PASSWORD)
    change(p)
    want = expect.format(p=p, d=p.parent)
    for argv in (
        ["account", "address", "carol"],
        ["escrow", "confirm", "1", "--account", "carol", "--rpc", DEAD_RPC],
    ):
        _fails(home, argv, want, SEC_PASSWORD=PASSWORD)
    listed = run_sec("account", "list", "--json", env=_env(home))
    assert listed.returncode == 1 and listed.stderr == f"error: {want}\n"
    assert json.loads(listed.stdout)[0]["problem"] == want


class _scrypt_light:
    def __enter__(self):
        self.old = os.environ.get("SEC_KEYSTORE_SCRYPT_N")
        os.environ["SEC_KEYSTORE_SCRYPT_N"] = "1024"

    def __exit__(self, *exc):
        if self.old is None:
            os.environ.pop("SEC_KEYSTORE_SCRYPT_N", None)
        else:
            os.environ["SEC_KEYSTORE_SCRYPT_N"] = self.old


def test_account_new__bad_scrypt_setting__refused(tmp_path):
    _fails(
        tmp_path,
        ["account", "new", "x"],
        "SEC_KEYSTORE_SCRYPT_N must be a power of two >= 2, not '1000'",
        SEC_PASSWORD="p",
        SEC_KEYSTORE_SCRYPT_N="1000",
    )


def test_every_command_taking_key__also_takes_account_and_password_file():
    from sec_offchain.cli import app

    def walk(group, prefix):
        for name, cmd in group.commands.items():
            if hasattr(cmd, "commands"):
                yield from walk(cmd, (*prefix, name))
            else:
                yield (*prefix, name), {opt for p in cmd.params for opt in p.opts}

    commands = dict(walk(typer.main.get_command(app), ()))
    with_key = {name for name, opts in commands.items() if "--key" in opts}
    assert len(with_key) >= 25
    assert {
        name for name in with_key if not {"--account", "--password-file"} <= commands[name]
    } == set()
    assert {("escrow", "ship"), ("bgc", "deposit"), ("stake", "validator"), ("deploy",)} <= with_key


# -- as a user runs it: a new process, and a password typed at a terminal --------------


def _sec_process(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sec_offchain.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **env},
    )


def test_account_new__at_a_terminal__password_asked_hidden_twice(tmp_path):
    """`sec account new` on a pty: the password is asked, not echoed, and confirmed; a
    mismatch asks again. The keystore has scrypt's standard work factor (no test setting).
    Then a new process lists the account."""
    env = {**os.environ, **_env(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("SEC_PASSWORD")
    env.pop("SEC_KEYSTORE_SCRYPT_N")
    pid, fd = pty.fork()
    if pid == 0:  # the child: sec on the terminal
        os.chdir(ROOT)
        os.execve(
            sys.executable, [sys.executable, "-m", "sec_offchain.cli", "account", "new", "tty"], env
        )
    seen, done = b"", 0  # all output, and how far `expect` has matched it

    def expect(text: bytes) -> None:
        nonlocal seen, done
        deadline = time.monotonic() + 60
        while text not in seen[done:]:
            assert time.monotonic() < deadline, seen
            ready, _, _ = select.select([fd], [], [], 1)
            if ready:
                try:
                    seen += os.read(fd, 1024)
                except OSError:
                    break
        assert text in seen[done:], seen
        done = seen.index(text, done) + len(text)

    expect(b"password for the new account: ")
    os.write(fd, b"typed secret\n")
    expect(b"Repeat for confirmation: ")
    os.write(fd, b"other\n")
    expect(b"Error: The two entered values do not match.")
    expect(b"password for the new account: ")
    os.write(fd, b"typed secret\n")
    expect(b"Repeat for confirmation: ")
    os.write(fd, b"typed secret\n")
    expect(b"(keystore ")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"typed secret" not in seen and b"other" not in seen  # never echoed
    params = json.loads((tmp_path / "accounts" / "tty.json").read_text())["crypto"]["kdfparams"]
    assert (params["n"], params["r"], params["p"]) == (SCRYPT_N, 8, 1) == (262_144, 8, 1)
    address = KeyStore(tmp_path).unlock("tty", "account", "typed secret").address
    proc = _sec_process("account", "list", "--json", env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [
        {
            "name": "tty",
            "kind": "account",
            "address": address,
            "path": str(tmp_path / "accounts" / "tty.json"),
        }
    ]


def test_shell_completion__commands_and_the_account_option_complete():
    """Shell completion (bash's protocol, as `sec --install-completion` sets it up)."""
    complete = {"_SEC_COMPLETE": "complete_bash"}
    r = run_sec(env=complete | {"COMP_WORDS": "sec account ", "COMP_CWORD": "2"})
    assert (r.returncode, r.stdout) == (0, "new\nimport\nlist\naddress\n")
    r = run_sec(env=complete | {"COMP_WORDS": "sec escrow ship --acc", "COMP_CWORD": "3"})
    assert (r.returncode, r.stdout) == (0, "--account\n")
    # `--show-completion` is a flag: the shell is detected from the process's ancestors,
    # which depend on how the tests were started (`exec make` under a detached CI runner has
    # no bash among them); here the user's shell is bash
    with mock.patch("shellingham.detect_shell", return_value=("bash", "/bin/bash")):
        r = run_sec("--show-completion")
    assert r.returncode == 0 and "complete -o default -F _sec_completion sec" in r.stdout
