"""The devnet profile: what `sec devnet up` writes into its home so another terminal needs no
digging — `profile.env`, shell `export` lines (SEC_DEVNET, SEC_RPC, SEC_DEPLOYMENT,
SEC_GATEWAY) with the development accounts and their areas as comments.

`. HOME/profile.env` sets them for every `sec` command through the options' environment
variables; `sec --home HOME ...` (or SEC_DEVNET alone) reads the file instead and gives each
command its `--home`, `--devnet`, `--rpc`, `--deployment` and `--gateway` defaults from it.
What is typed on the command line, or set in the environment, still wins."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from sec_offchain.exceptions import ConfigError

PROFILE_FILE = "profile.env"
HOME_VAR = "SEC_DEVNET"
# option flag -> the profile variable that gives its default
FLAG_VARS = {
    "--home": HOME_VAR,
    "--devnet": HOME_VAR,
    "--rpc": "SEC_RPC",
    "--deployment": "SEC_DEPLOYMENT",
    "--gateway": "SEC_GATEWAY",
}
# groups whose commands take only --home from a profile (`devnet up --rpc` starts a devnet
# on another chain: the profile's chain is the one being replaced)
HOME_ONLY_GROUPS = ("devnet",)
WHO_IS_WHO = range(1, 10)  # dev:1 .. dev:9, the accounts the walk-throughs use


def profile_text(home: Path, rpc: str, deployments: Path, gateway: str | None, area_of: Any) -> str:
    """The profile of the devnet at `home`: export lines, then who is who (dev:N, its
    address, its area)."""
    from sec_offchain.crypto.keys import get_dev_account

    values = {
        HOME_VAR: str(home.resolve()),
        "SEC_RPC": rpc,
        "SEC_DEPLOYMENT": str(deployments.resolve()),
    }
    if gateway:
        values["SEC_GATEWAY"] = gateway
    lines = [
        f"# the devnet at {values[HOME_VAR]}, written by `sec devnet up`:",
        f"# `. {shlex.quote(str(home.resolve() / PROFILE_FILE))}`, or `sec --home HOME ...`",
        *export_lines(values),
        "# who is who: each account's area holds its records, its listings' credit and the",
        "# payments for them (`sec account address dev:N`)",
    ]
    for n in WHO_IS_WHO:
        address = get_dev_account(n).address
        lines.append(f"#   dev:{n} {address} area {area_of(address)}")
    return "\n".join(lines) + "\n"


def export_lines(values: dict[str, str]) -> list[str]:
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items()]


def read_profile(home: Path) -> dict[str, str]:
    """The variables `home`'s profile exports ({} when it has none): only `export
    NAME=VALUE` lines count; anything else is a ConfigError naming the line."""
    path = home / PROFILE_FILE
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc.__class__.__name__}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            words = []
        if len(words) != 2 or words[0] != "export" or "=" not in words[1]:
            raise ConfigError(f"{path} line {number}: not an `export NAME=VALUE` line")
        name, value = words[1].split("=", 1)
        values[name] = value
    return values


def profile_values(home: Path) -> dict[str, str]:
    """What a profile gives: SEC_DEVNET is `home` itself (a home without a profile still
    gives every --home), the rest from its profile.env."""
    values = read_profile(home)
    values[HOME_VAR] = str(home)
    return values


def default_map(group: Any, values: dict[str, str], home_only: bool = False) -> dict[str, Any]:
    """Click's `default_map` for every command under `group`: each option whose flag is in
    FLAG_VARS gets the profile's value as its default."""
    out: dict[str, Any] = {}
    for name, command in getattr(group, "commands", {}).items():
        only = home_only or name in HOME_ONLY_GROUPS
        if hasattr(command, "commands"):
            out[name] = default_map(command, values, only)
            continue
        defaults = {}
        for param in command.params:
            for flag in getattr(param, "opts", ()):
                var = FLAG_VARS.get(flag)
                if var in values and (var == HOME_VAR or not only):
                    defaults[param.name] = values[var]
        if defaults:
            out[name] = defaults
    return out
