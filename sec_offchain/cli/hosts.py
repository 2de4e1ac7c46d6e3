"""`sec node run`, `sec relayer run anchor|bgc`, `sec bridge run`, `sec watcher run`: one
process of the network on its own host, from a config file (see `sec_offchain.hostconfig`
for its keys). Each runs until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import typer

from sec_offchain.cli.common import fail, guarded
from sec_offchain.exceptions import ConfigError

ConfigOpt = typer.Option(..., "--config", help="config file (TOML or JSON)")

node_app = typer.Typer(help="An area node on this host.", no_args_is_help=True)
relayer_app = typer.Typer(help="An anchor or BGC relayer on this host.", no_args_is_help=True)
bridge_app = typer.Typer(help="An escrow bridge on this host.", no_args_is_help=True)
watcher_app = typer.Typer(help="A judges' equivocation watcher.", no_args_is_help=True)


def _load(config: Path):
    from sec_offchain.hostconfig import load_host_config

    if "SEC_LOG" not in os.environ:  # a daemon says what it does (`sec` alone warns only)
        logging.getLogger().setLevel(logging.INFO)
    return guarded(lambda: load_host_config(config))


def _area_of_section(host, section: str) -> int:
    area = host.section(section).get("area")
    if area is None:
        fail(f"config file {host.path}: [{section}] needs area = N")
    try:
        host.devnet.area(int(area))
    except (KeyError, ValueError):
        fail(f"config file {host.path}: area {area} is not in [[areas]]")
    return int(area)


@node_app.command("run")
def node_run(config: Path = ConfigOpt) -> None:
    """Run the area node whose key the config names (it must be one of its area's nodes)."""
    from sec_offchain.area.node import build_node, run_node
    from sec_offchain.hostconfig import parse_listen

    host = _load(config)
    area_id = _area_of_section(host, "node")
    nodes = host.devnet.area(area_id).nodes
    index = next(
        (i for i, n in enumerate(nodes) if n.address.lower() == host.address.lower()), None
    )
    if index is None:
        fail(f"the key's address {host.address} is not a node of area {area_id}")
    listen = host.section("node").get("listen")
    where = guarded(lambda: parse_listen(listen)) if listen else None
    node = guarded(lambda: build_node(host.devnet, area_id, index, where))
    run_node(node)


@relayer_app.command("run")
def relayer_run(
    kind: str = typer.Argument(..., help="anchor | bgc"),
    config: Path = ConfigOpt,
    standby: bool = typer.Option(
        False,
        "--standby",
        help="a standby beside a primary (or standby = true in the config's relayer section)",
    ),
    grace: float | None = typer.Option(
        None,
        "--grace",
        help="standby: seconds a due message (bgc, default 30) or a ready height (anchor,"
        " default two area intervals) is left to the primary",
    ),
) -> None:
    """Run the anchor relayer of the config's [relayer] area, or the BGC relayer of every
    area it lists; a standby BGC relayer (its own key) delivers only what the primary has
    left undelivered for the grace period, so the two never deliver a message twice; a
    standby anchor relayer (the same key or its own) anchors only heights the primary has
    left unanchored for the grace period."""
    from sec_offchain.relayers.run import (
        ANCHOR_STANDBY_INTERVALS,
        STANDBY_GRACE,
        run_anchor,
        run_bgc,
        stop_on_signals,
    )

    if kind not in ("anchor", "bgc"):
        fail(f"relayer kind is anchor or bgc, not {kind!r}")
    if grace is not None and not 0 < grace < 1e6:
        fail(f"--grace is a positive number of seconds, not {grace}")
    host = _load(config)
    section = host.section("relayer")
    standby = standby or section.get("standby") is True
    if grace is not None and not standby:
        fail("--grace is for a standby relayer (--standby)")
    if grace is None:
        default = (
            ANCHOR_STANDBY_INTERVALS * host.devnet.interval if kind == "anchor" else STANDBY_GRACE
        )
        grace = section.get("grace", default)
    if isinstance(grace, bool) or not isinstance(grace, int | float) or not 0 < grace < 1e6:
        fail(f"the grace period is a positive number of seconds, not {grace!r}")
    if kind == "anchor":
        area_id = _area_of_section(host, "relayer")
        run_anchor(host.devnet, area_id, stop_on_signals(), float(grace) if standby else None)
        return
    run_bgc(host.devnet, stop_on_signals(), grace=float(grace) if standby else None)


@bridge_app.command("run")
def bridge_run(config: Path = ConfigOpt) -> None:
    """Run the escrow bridge of the config's [bridge] index (0 = primary)."""
    from sec_offchain.hostconfig import parse_listen
    from sec_offchain.relayers.run import run_bridge, stop_on_signals

    host = _load(config)
    section = host.section("bridge")
    index = int(section.get("index", 0))
    if not 0 <= index < len(host.devnet.bridges):
        fail(f"config file {config}: bridge index {index} is not in bridges")
    if host.devnet.bridges[index].lower() != host.address.lower():
        fail(f"the key's address {host.address} is not bridge {index}")

    def parse() -> tuple:
        listen = parse_listen(section["listen"]) if "listen" in section else ("0.0.0.0", 0)
        standbys = tuple(parse_listen(s) for s in section.get("standbys", []))
        if index and not listen[1]:
            raise ConfigError("a standby bridge needs [bridge] listen = HOST:PORT")
        return listen, standbys

    listen, standbys = guarded(parse)
    run_bridge(host.devnet, index, stop_on_signals(), listen=listen, standbys=standbys)


@watcher_app.command("run")
def watcher_run(config: Path = ConfigOpt) -> None:
    """Follow the gossip of the config's [watcher] areas (default: all) and report every
    validator that signs two headers at one height (the key must be a staked judge's)."""
    from sec_offchain.relayers.run import stop_on_signals
    from sec_offchain.relayers.watcher import JudgeWatcher

    host = _load(config)
    areas = host.section("watcher").get("areas") or [a.area_id for a in host.devnet.areas]
    for a in areas:
        try:
            host.devnet.area(int(a))
        except (KeyError, ValueError):
            fail(f"config file {config}: watcher area {a} is not in [[areas]]")
    watcher = guarded(
        lambda: JudgeWatcher(
            host.devnet, host.key, [int(a) for a in areas], host.devnet.home / "watcher.db"
        )
    )
    stop = stop_on_signals()
    threading.Thread(target=lambda: (stop.wait(), watcher.stopping.set()), daemon=True).start()
    watcher.run()
