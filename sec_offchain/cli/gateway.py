"""`sec gateway ...`: the HTTP gateway over a deployed suite."""

from __future__ import annotations

from pathlib import Path

import typer

from sec_offchain.cli.common import console, fail, guarded

gateway_app = typer.Typer(
    help="The HTTP gateway: indexer, read API /v1, event stream, metrics.",
    no_args_is_help=True,
)


@gateway_app.command("up")
def gateway_up(
    rpc: str = typer.Option(..., "--rpc", help="JSON-RPC URL of the chain"),
    deployment: Path = typer.Option(..., "--deployment", help="deployments file"),
    devnet: Path | None = typer.Option(None, "--devnet", help="devnet home (area nodes)"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8700, "--port", help="port (0: a free one)", min=0, max=65535),
    db: str | None = typer.Option(
        None, "--db", help="a SQLite file (default gateway.db) or postgresql://..."
    ),
    confirmations: int = typer.Option(
        0, "--confirmations", help="blocks behind the head to index", min=0, max=10_000
    ),
    batch_blocks: int = typer.Option(
        2_000, "--batch-blocks", help="blocks per eth_getLogs call and store batch", min=1
    ),
    areas: str | None = typer.Option(
        None,
        "--areas",
        help="area ids of the account lookup's address-hash rule, comma-separated "
        "(default: the devnet's areas)",
    ),
    directories: Path | None = typer.Option(
        None,
        "--directories",
        help="folder of AreaDirectory files (`sec areas plan --out`) the lookup serves "
        "(default: DEVNET/directories)",
    ),
    relayer_key: str | None = typer.Option(
        None,
        "--relayer-key",
        help="relay users' signed requests, paying gas from this key (hex or dev:N)",
    ),
    public_rpc: str | None = typer.Option(
        None,
        "--public-rpc",
        help="an RPC URL browsers may use to check proofs without a wallet",
    ),
    node_poll: float = typer.Option(
        1.0, "--node-poll", help="seconds between status polls of the area nodes", min=0.1
    ),
    alert_anchor_lag: int = typer.Option(
        20, "--alert-anchor-lag", help="alert when more final area blocks wait unanchored", min=0
    ),
    alert_finality_stall: float = typer.Option(
        120.0,
        "--alert-finality-stall",
        help="alert when an area's final height stands still longer (seconds)",
        min=1.0,
    ),
    alert_index_lag: int = typer.Option(
        20, "--alert-index-lag", help="alert when the index is more blocks behind", min=0
    ),
    alert_anchor_age: int = typer.Option(
        600,
        "--alert-anchor-age",
        help="alert when an area has not anchored for longer (seconds of chain time)",
        min=1,
    ),
) -> None:
    """Index the deployment's events and serve the API until Ctrl-C."""
    # the options are checked before the server (web3, FastAPI) is loaded: a typo answers at once
    if not deployment.is_file():
        fail(f"deployments file not found: {deployment}")
    if (
        db is not None
        and "://" in db
        and not db.startswith(("postgresql://", "postgres://", "sqlite:///"))
    ):
        fail(f"--db takes postgresql://... or a file path, not {db}")
    if devnet is not None and not devnet.is_dir():
        fail(f"--devnet {devnet} is not a directory")
    area_ids = _area_ids(areas) if areas is not None else None
    if directories is not None and not directories.is_dir():
        fail(f"--directories {directories} is not a directory")
    relayer = None
    if relayer_key is not None:
        from sec_offchain.cli.common import parse_key

        relayer = guarded(lambda: parse_key(relayer_key, "--relayer-key"))
    from sec_offchain.gateway.network import AlertThresholds
    from sec_offchain.gateway.server import serve

    guarded(
        lambda: serve(
            rpc,
            deployment,
            db=db,
            host=host,
            port=port,
            confirmations=confirmations,
            block_range=batch_blocks,
            devnet_home=devnet,
            say=lambda m: console.print(m, highlight=False),
            relayer_key=relayer,
            area_ids=area_ids,
            directories=directories,
            thresholds=AlertThresholds(
                alert_anchor_lag, alert_finality_stall, alert_index_lag, alert_anchor_age
            ),
            node_poll=node_poll,
            public_rpc=public_rpc,
        )
    )


def _area_ids(text: str) -> tuple[int, ...]:
    from sec_offchain.cli.common import MAX_AREA

    parts = text.split(",")
    if not all(p.strip().isdigit() for p in parts):
        fail(f"--areas: {text!r} is not a comma-separated list of area ids")
    ids = tuple(int(p) for p in parts)
    if any(not 1 <= a <= MAX_AREA for a in ids) or len(set(ids)) != len(ids):
        fail(f"--areas: {text!r}: distinct area ids from 1 to {MAX_AREA}")
    return ids
