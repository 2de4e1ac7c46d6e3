"""`sec devnet ...`: a whole network on this machine."""

from __future__ import annotations

from pathlib import Path

import typer

from sec_offchain.cli.common import console, fail, guarded
from sec_offchain.exceptions import ConfigError

devnet_app = typer.Typer(
    help="A whole network on this machine: anvil, contracts, area nodes, bridge, relayers.",
    no_args_is_help=True,
)


@devnet_app.command("up")
def devnet_up(
    areas: int = typer.Option(2, "--areas", help="number of areas"),
    nodes: int = typer.Option(4, "--nodes", help="nodes (= validators) per area"),
    rpc: str | None = typer.Option(None, "--rpc", help="use this chain instead of a new anvil"),
    home: Path = typer.Option(Path(".sec/devnet"), "--home", help="devnet directory"),
    interval: float = typer.Option(2.0, "--interval", help="seconds between area blocks"),
    duration: float | None = typer.Option(None, "--duration", help="stop after this many s"),
    consensus: str = typer.Option("pow", "--consensus", help="pow (communities) | round-robin"),
) -> None:
    """Start anvil (or use --rpc), deploy, stake validators and run the area nodes, the
    escrow bridge (primary + standby), an anchor relayer per area and the BGC relayer until
    Ctrl-C. Blocks come from the community proof of work (`--consensus round-robin` for the
    simple rotation)."""
    from sec_offchain.devnet import up

    if consensus not in ("pow", "round-robin"):
        fail("--consensus is pow or round-robin")
    if consensus == "pow" and interval < 1:
        fail("with --consensus pow a slot (--interval) is at least 1 s")
    guarded(lambda: up(areas, nodes, rpc, home, interval, console, duration, consensus))


@devnet_app.command("status")
def devnet_status(
    home: Path = typer.Option(Path(".sec/devnet"), "--home", help="devnet directory"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Heights, anchored heights, peers and lag of every node of a running devnet."""

    def run() -> None:
        import json

        from sec_offchain.area.devnet_config import DevnetConfig
        from sec_offchain.devnet import status, status_table

        cfg_path = home / "devnet.json"
        if not cfg_path.exists():
            raise ConfigError(f"no devnet at {home} (run `sec devnet up` first)")
        data = status(DevnetConfig.load(cfg_path))
        if as_json:
            console.print_json(json.dumps(data))
        else:
            console.print(status_table(data))

    guarded(run)
