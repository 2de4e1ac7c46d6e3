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
    ctx: typer.Context,
    rpc: str | None = typer.Option(None, "--rpc", help="JSON-RPC URL of the chain"),
    deployment: Path | None = typer.Option(None, "--deployment", help="deployments file"),
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
        "(default: the devnet's `areas_dir`, DEVNET/areas, where the nodes read them)",
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
    config: Path | None = typer.Option(
        None,
        "--config",
        help="a host config file (TOML or JSON, as for `sec node run`): the chain, the "
        "deployments, the areas' nodes and a gateway section",
    ),
) -> None:
    """Index the deployment's events and serve the API until Ctrl-C: from --rpc and
    --deployment, or from a host config file (--config) on a host of its own."""
    # the options are checked before the server (web3, FastAPI) is loaded: a typo answers at once
    host_areas = None  # the area nodes a host config names
    if config is not None:
        typed = [
            f"--{name}"
            for name in ("rpc", "deployment", "devnet")
            if ctx.get_parameter_source(name).name == "COMMANDLINE"
        ]
        if typed:
            fail(f"--config names the chain, deployments and nodes: not {', '.join(typed)} too")
        host_cfg = _from_config(config)
        section = host_cfg.section("gateway")

        def given(name: str) -> bool:  # a typed option beats the config file
            return ctx.get_parameter_source(name).name == "COMMANDLINE"

        def setting() -> None:
            nonlocal host, port, db, confirmations, batch_blocks, relayer_key
            from sec_offchain.hostconfig import parse_listen

            if "listen" in section and not (given("host") or given("port")):
                host, port = parse_listen(str(section["listen"]))
            if "db" in section and not given("db"):
                text = str(section["db"])
                db = text if "://" in text else str(config.parent / text)
            if db is None:
                db = str(host_cfg.devnet.home / "gateway.db")
            if not given("confirmations"):
                confirmations = _count(
                    section.get("confirmations", host_cfg.devnet.confirmations), "confirmations"
                )
            if "batch_blocks" in section and not given("batch_blocks"):
                batch_blocks = _count(section["batch_blocks"], "batch_blocks", 1)
            if section.get("relay") is True and relayer_key is None:
                relayer_key = "0x" + host_cfg.key.hex()

        guarded(setting)
        rpc = host_cfg.devnet.rpc
        deployment = Path(host_cfg.devnet.deployments)
        host_areas = host_cfg.devnet
        if db is not None and "://" not in db:
            Path(db).parent.mkdir(parents=True, exist_ok=True)
    elif rpc is None or deployment is None:
        fail("give --rpc and --deployment, or --config FILE")
    assert rpc is not None and deployment is not None
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
            areas=host_areas,
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


def _from_config(config: Path):
    """The host config file of a gateway: a key only if it relays."""
    import logging
    import os

    from sec_offchain.hostconfig import load_host_config

    if "SEC_LOG" not in os.environ:  # a daemon says what it does (`sec` alone warns only)
        logging.getLogger().setLevel(logging.INFO)
    host = guarded(lambda: load_host_config(config, key_required=False))
    if host.section("gateway").get("relay") is True:  # it pays gas: the key must be named
        host = guarded(lambda: load_host_config(config))
    return host


def _count(value: object, name: str, low: int = 0) -> int:
    from sec_offchain.exceptions import ConfigError

    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 10**6:
        raise ConfigError(f"[gateway] {name} must be a whole number >= {low}, not {value!r}")
    return value
