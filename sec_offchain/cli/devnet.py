"""`sec devnet ...`: a whole network on this machine."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

import typer

from sec_offchain.cli.common import check_writable, console, fail, guarded, load_devnet
from sec_offchain.exceptions import ConfigError

MAX_DEVNET_AREAS = 64
MAX_DEVNET_NODES = 64

devnet_app = typer.Typer(
    help="A whole network on this machine: anvil, contracts, area nodes, bridge, relayers.",
    no_args_is_help=True,
)


@devnet_app.command("up")
def devnet_up(
    areas: int = typer.Option(2, "--areas", help="number of areas", min=1, max=MAX_DEVNET_AREAS),
    nodes: int = typer.Option(
        4, "--nodes", help="nodes (= validators) per area", min=1, max=MAX_DEVNET_NODES
    ),
    rpc: str | None = typer.Option(None, "--rpc", help="use this chain instead of a new anvil"),
    home: Path = typer.Option(Path(".sec/devnet"), "--home", help="devnet directory"),
    interval: float = typer.Option(2.0, "--interval", help="seconds between area blocks"),
    duration: float | None = typer.Option(None, "--duration", help="stop after this many s"),
    consensus: str = typer.Option("pow", "--consensus", help="pow (communities) | round-robin"),
    fresh: bool = typer.Option(
        False, "--fresh", help="delete an earlier devnet's chains, logs and deployments in --home"
    ),
    area_epoch: int = typer.Option(
        0,
        "--area-epoch",
        min=0,
        max=10 * 365 * 86_400,
        help="seconds of chain time per area epoch: a daemon publishes the relation areas' "
        "directory and moves balances each epoch (0: off, accounts keep their hash areas)",
    ),
) -> None:
    """Start anvil (or use --rpc), deploy, stake validators and run the area nodes, the
    escrow bridge (primary + standby), an anchor relayer per area and the BGC relayer until
    Ctrl-C, restarting any that dies (with back-off); they and anvil stop when this does.
    Blocks come from the community proof of work (`--consensus round-robin` for the simple
    rotation). A --home left by an earlier devnet is refused (its area chains would mix
    with the new chain's) unless --fresh."""
    from sec_offchain.devnet import up

    if consensus not in ("pow", "round-robin"):
        fail("--consensus is pow or round-robin")
    if not math.isfinite(interval) or interval <= 0:
        fail(f"--interval must be a positive number of seconds, not {interval}")
    if duration is not None and (not math.isfinite(duration) or duration <= 0):
        fail(f"--duration must be a positive number of seconds, not {duration}")
    if consensus == "pow" and interval < 1:
        fail("with --consensus pow a slot (--interval) is at least 1 s")
    if home.exists() and not home.is_dir():
        fail(f"--home {home} is not a directory")
    guarded(lambda: check_writable(home / "devnet.json", "--home"))
    running = get_running(home)
    if running:
        fail(f"a devnet is running at {home} ({', '.join(running[:3])}): stop it first (Ctrl-C)")
    left = get_left_over(home)
    if left and not fresh:
        names = ", ".join(p.name for p in left[:4]) + (", ..." if len(left) > 4 else "")
        fail(
            f"--home {home} holds an earlier devnet ({names}): --fresh deletes it and starts "
            "clean, or choose another --home"
        )
    if left and rpc is not None:  # a chain that does not answer fails before anything is deleted

        def reach() -> None:
            from sec_offchain.devchain import RpcChain

            RpcChain(rpc).fetch_chain_id()

        guarded(reach)
    for path in left:
        guarded(lambda path=path: _delete(path))
    guarded(lambda: up(areas, nodes, rpc, home, interval, console, duration, consensus, area_epoch))


# What a devnet writes in its home: these (and area<N>/ directories) are what --fresh deletes;
# nothing else in --home is touched.
DEVNET_ENTRIES = (
    "devnet.json",
    "deployments.json",
    "pids.json",
    "logs",
    "relayers",
    "profile.env",
    "areas",  # the directories' files: roots of another chain
)


def get_left_over(home: Path) -> list[Path]:
    """The files and directories an earlier devnet left in `home`."""
    if not home.is_dir():
        return []
    found = [home / name for name in DEVNET_ENTRIES if (home / name).exists()]
    found += sorted(p for p in home.iterdir() if p.is_dir() and re.fullmatch(r"area\d+", p.name))
    return found


def get_processes(home: Path) -> list[dict[str, object]]:
    """The processes `sec devnet up` started for `home` (its pids.json), each alive or not."""
    try:
        pids = json.loads((home / "pids.json").read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(pids, dict):
        return []
    return [
        {"name": str(name), "pid": pid, "alive": _alive(pid)}
        for name, pid in pids.items()
        if isinstance(pid, int) and pid > 0
    ]


def get_running(home: Path) -> list[str]:
    return [f"{p['name']} pid {p['pid']}" for p in get_processes(home) if p["alive"]]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process has that pid now
        return True
    except OverflowError:
        return False
    return True


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


@devnet_app.command("status")
def devnet_status(
    home: Path = typer.Option(Path(".sec/devnet"), "--home", help="devnet directory"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Heights, anchored heights, peers and lag of every node of a running devnet, and each
    supervised process with its pid and restart count."""

    def run() -> None:
        import json

        from sec_offchain.devnet import processes_table, status, status_table

        data = status(load_devnet(home))
        if not any(n["up"] for a in data["areas"] for n in a["nodes"]):
            raise ConfigError(f"the devnet at {home} is not running: no node answers")
        if as_json:
            console.print_json(json.dumps(data))
        else:
            console.print(status_table(data))
            if data["processes"]:
                console.print(processes_table(data))

    guarded(run)
