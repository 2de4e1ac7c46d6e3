"""`sec devnet ...`: a whole network on this machine."""

from __future__ import annotations

import math
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
) -> None:
    """Start anvil (or use --rpc), deploy, stake validators and run the area nodes, the
    escrow bridge (primary + standby), an anchor relayer per area and the BGC relayer until
    Ctrl-C, restarting any that dies (with back-off); they and anvil stop when this does.
    Blocks come from the community proof of work (`--consensus round-robin` for the simple
    rotation)."""
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
    guarded(lambda: up(areas, nodes, rpc, home, interval, console, duration, consensus))


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
