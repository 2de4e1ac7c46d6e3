"""`sec sim`: the community consensus over a simulated network."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.table import Table

from sec_offchain.cli.common import console, guarded
from sec_offchain.exceptions import ConfigError

MAX_NODES = 1_000_000
MAX_SLOTS = 1_000_000
MAX_TRIALS = 1_000_000


def _check_plot(path: Path) -> None:
    """The plot can be written: a file type matplotlib knows, in a writable directory."""
    from matplotlib.figure import Figure

    from sec_offchain.cli.common import check_writable

    kinds = Figure().canvas.get_supported_filetypes()
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in kinds:
        raise ConfigError(f"--plot {path}: the file type must be one of {', '.join(sorted(kinds))}")
    if not path.absolute().parent.is_dir():
        raise ConfigError(f"--plot {path}: no directory {path.absolute().parent}")
    check_writable(path, "--plot")


def sim(
    nodes: int = typer.Option(10_000, "--nodes", min=1, max=MAX_NODES),
    communities: int = typer.Option(10, "--communities", min=1, max=MAX_NODES),
    slots: int = typer.Option(1000, "--slots", min=1, max=MAX_SLOTS),
    seed: int = typer.Option(1, "--seed", min=0, max=2**64 - 1),
    latency: float = typer.Option(0.2, "--latency", help="mean one-way delay, seconds"),
    loss: float = typer.Option(0.0, "--loss", help="share of deliveries lost (pull sync)"),
    partition: str | None = typer.Option(
        None, "--partition", help="FIRST:LAST:FRACTION, e.g. 100:130:0.5 (slots, side size)"
    ),
    attacker: float = typer.Option(0.0, "--attacker", help="attacker's share of hash power"),
    tie_break: str = typer.Option("hash", "--tie-break", help="hash | smallest (the paper)"),
    sweep_trials: int = typer.Option(
        1000, "--sweep-trials", help="trials per p in the sweep", min=0, max=MAX_TRIALS
    ),
    plot: Path | None = typer.Option(None, "--plot", help="write the plots to this PNG"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run the community consensus over a simulated network and print what it measures."""

    def run() -> None:
        import json

        if not 0 <= attacker < 1 or not 0 <= loss < 1:
            raise ConfigError("--attacker and --loss are shares in [0, 1)")
        if not math.isfinite(latency) or latency < 0:
            raise ConfigError(f"--latency must be a finite number of seconds >= 0, not {latency}")
        if tie_break not in ("hash", "smallest"):
            raise ConfigError("--tie-break is hash or smallest")
        part = None
        if partition:
            try:
                a, b, f = partition.split(":")
                part = (int(a), int(b), float(f))
                if not 0 <= part[0] <= part[1] or not 0 < part[2] < 1:
                    raise ValueError(partition)
            except ValueError as exc:
                raise ConfigError(
                    "--partition is FIRST:LAST:FRACTION with 0 <= FIRST <= LAST and "
                    "0 < FRACTION < 1, e.g. 100:130:0.5"
                ) from exc
        if nodes < communities:
            raise ConfigError("need at least one node per community")
        if plot is not None:
            _check_plot(plot)
        from sec_offchain.consensus.sim import SimConfig, simulate, sweep

        cfg = SimConfig(
            nodes=nodes,
            communities=communities,
            slots=slots,
            seed=seed,
            latency=latency,
            loss=loss,
            partition=part,
            attacker=attacker,
            tie_break=tie_break,
        )
        with console.status(f"simulating {nodes:,} nodes for {slots:,} slots ..."):
            res = simulate(cfg)
        summary = res.summary()
        points = []
        if plot is not None or sweep_trials:
            with console.status("the attack sweep ..."):
                points = sweep([0.05, 0.1, 0.2, 0.3, 0.4, 0.5], sweep_trials, seed, latency)
            summary["attack_sweep"] = {f"{p:.2f}": round(s, 4) for p, s in points}
        if plot is not None:
            from sec_offchain.consensus.sim import plot as draw

            draw(res, points, str(plot))
            summary["plot"] = str(plot)
        if as_json:
            console.print_json(json.dumps(summary))
            return
        table = Table(title=f"sec sim: seed {seed}", show_header=False)
        for k, v in summary.items():
            table.add_row(k, json.dumps(v) if isinstance(v, dict) else str(v))
        console.print(table)

    guarded(run)
