"""`sec areas ...`: areas that follow trade relations.

`plan` computes the next epoch's account -> area directory from the chain's completed trades
(and the latest published directory), shows who moves, writes the directory and, with
`--publish`, commits its root to AreaDirectory. `report` measures the policy on the live chain:
the share of trades inside one area under today's address-hash areas and under the directory.
`lookup` shows an account's area with its proof, checked against the published root.
`move` makes the balances of the accounts an epoch moved follow them (one MOVE each in the
old area, through BGC to the new one).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from sec_offchain.cli.common import (
    MAX_AREA,
    Context,
    DeploymentOpt,
    HomeOpt,
    KeyOpt,
    RpcOpt,
    console,
    fail,
    guarded,
    load_devnet,
    resolve_account,
)
from sec_offchain.exceptions import ConfigError, SecError

areas_app = typer.Typer(
    help="Areas that follow trade relations: plan the next directory, publish it, measure it.",
    no_args_is_help=True,
)

AreasOpt = typer.Option("1,2", "--areas", help="the area ids to place accounts in, comma-separated")
SeedOpt = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="clustering seed")


def _area_ids(text: str) -> tuple[int, ...]:
    try:
        ids = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise ConfigError(f"--areas: {text!r} is not a comma-separated list of area ids") from None
    if not ids or any(not 1 <= a <= MAX_AREA for a in ids) or len(set(ids)) != len(ids):
        raise ConfigError(f"--areas: {text!r}: distinct area ids from 1 to {MAX_AREA}")
    return ids


def _read_directory(path: Path):
    from sec_offchain.areas import AreaDirectory
    from sec_offchain.areas.graph import AreaError

    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read directory {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"directory {path} is not JSON: {exc}") from None
    try:
        return AreaDirectory.load(data)
    except AreaError as exc:
        raise ConfigError(f"directory {path}: {exc}") from None


def _chain_state(ctx: Context) -> tuple[Any, list[Any], int, int]:
    """AreaDirectory's contract, every completed trade, the latest block and its time."""
    from sec_offchain.areas.events import fetch_trades

    latest = ctx.chain.w3.eth.get_block("latest")
    head, now = int(latest["number"]), int(latest["timestamp"])
    trades = fetch_trades(ctx.suite.escrow, ctx.deployment.block, head)
    return ctx.suite.contract("AreaDirectory"), trades, head, now


def _published(directory_c: Any, ctx: Context) -> int:
    return int(ctx.suite.call(directory_c.functions.latest_epoch()))


@areas_app.command("plan")
def areas_plan(
    areas: str = AreasOpt,
    previous: Path | None = typer.Option(
        None, "--previous", help="the latest published directory (JSON from `plan --out`)"
    ),
    out: Path | None = typer.Option(None, "--out", help="write the new directory (JSON) here"),
    publish: bool = typer.Option(False, "--publish", help="commit its root to AreaDirectory"),
    seed: int = SeedOpt,
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Compute the next epoch's directory from the chain's trades: who moves, the root."""

    def run() -> None:
        from sec_offchain.areas import AreaDirectory, AreaParams, build_relation_graph, plan_areas

        ids = _area_ids(areas)
        prev = _read_directory(previous) if previous is not None else None
        if out is not None and out.is_dir():
            raise ConfigError(f"--out {out} is a directory")
        ctx = Context(rpc, deployment, key)
        if publish:
            ctx.gas_for(150_000)
        directory_c, trades, head, now = _chain_state(ctx)
        latest = _published(directory_c, ctx)
        if prev is None and latest > 0:
            raise ConfigError(f"epoch {latest} is published: pass its directory with --previous")
        if prev is not None:
            root = bytes(ctx.suite.call(directory_c.functions.root_of(prev.epoch)))
            if prev.epoch != latest or root != prev.root:
                raise ConfigError(
                    f"--previous is epoch {prev.epoch} with root 0x{prev.root.hex()}, but the "
                    f"latest published directory is epoch {latest} with root 0x{root.hex()}"
                )
            unknown = sorted({a for a in prev.entries.values() if a not in ids})
            if unknown:
                raise ConfigError(
                    f"--previous places accounts in areas {unknown} that --areas leaves out"
                )
        period = ctx.suite.relation_period()
        graph = build_relation_graph(trades, now, period)
        parties = {t.seller for t in trades} | {t.buyer for t in trades}
        if not parties and prev is None:
            raise ConfigError("no completed trades on the chain yet: nobody to place")
        params = AreaParams(area_ids=ids, seed=seed)
        plan = plan_areas(graph, prev.entries if prev else None, params, parties)
        epoch = latest + 1
        directory = AreaDirectory(epoch, plan.assignment, head)  # type: ignore[arg-type]
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(directory.dump(), indent=1))
        tx_hash = None
        if publish:
            fn = directory_c.functions.publish(
                epoch, directory.root, len(directory), len(ids), head
            )
            receipt = ctx.suite.tx(ctx.account).transact(fn)
            tx_hash = receipt["transactionHash"].hex()
        summary = {
            "epoch": epoch,
            "root": "0x" + directory.root.hex(),
            "source block": head,
            "accounts": len(directory),
            "live relations": graph.number_of_edges(),
            "communities": plan.communities,
            "sizes": {str(k): v for k, v in plan.sizes.items()},
            "moves": [{"account": m.account, "from": m.src, "to": m.dst} for m in plan.moves],
            "published": tx_hash is not None,
        }
        if as_json:
            console.print_json(json.dumps(summary))
            return
        table = Table(show_header=False)
        for k, v in summary.items():
            if k in ("moves", "sizes"):
                continue
            table.add_row(k, str(v))
        table.add_row("area sizes", ", ".join(f"{a}: {n}" for a, n in plan.sizes.items()))
        table.add_row("moves", str(len(plan.moves)))
        console.print(table)
        for m in plan.moves:
            console.print(f"move {m.account}: area {m.src} -> area {m.dst}", highlight=False)
        if out is not None:
            console.print(f"directory written to {out}", highlight=False)
        if tx_hash is not None:
            console.print(f"published epoch {epoch} (tx {tx_hash})", highlight=False)

    guarded(run)


@areas_app.command("report")
def areas_report(
    directory: Path | None = typer.Option(
        None,
        "--directory",
        help="the directory to measure (default: one computed now from all the chain's trades)",
    ),
    areas: str = AreasOpt,
    seed: int = SeedOpt,
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
) -> None:
    """Share of the chain's completed trades inside one area: hash areas vs relation areas."""

    def run() -> None:
        from sec_offchain.areas import AreaParams, build_relation_graph, hash_area, plan_areas

        ids = _area_ids(areas)
        given = _read_directory(directory) if directory is not None else None
        ctx = Context(rpc, deployment, None)
        directory_c, trades, _, now = _chain_state(ctx)
        if not trades:
            raise ConfigError("no completed trades on the chain yet: nothing to measure")
        if given is not None:
            root = bytes(ctx.suite.call(directory_c.functions.root_of(given.epoch)))
            source = f"directory of epoch {given.epoch}" + (
                " (published)" if root == given.root else " (NOT the published root)"
            )
            entries = given.entries
        else:
            parties = {t.seller for t in trades} | {t.buyer for t in trades}
            graph = build_relation_graph(trades, now, ctx.suite.relation_period())
            plan = plan_areas(graph, None, AreaParams(area_ids=ids, seed=seed), parties)
            entries = plan.assignment  # type: ignore[assignment]
            source = "directory computed now from these trades"

        def relation_area(account: str) -> int:
            return entries[account] if account in entries else hash_area(account, ids)

        def share(area_of) -> tuple[int, float]:
            inside = sum(area_of(t.seller) == area_of(t.buyer) for t in trades)
            return inside, 100.0 * inside / len(trades)

        hash_in, hash_pct = share(lambda a: hash_area(a, ids))
        rel_in, rel_pct = share(relation_area)
        data = {
            "trades": len(trades),
            "areas": list(ids),
            "hash": {"intra_area": hash_in, "percent": round(hash_pct, 1)},
            "relation": {"intra_area": rel_in, "percent": round(rel_pct, 1), "source": source},
        }
        if as_json:
            console.print_json(json.dumps(data))
            return
        n = len(trades)
        console.print(
            f"hash: {hash_pct:.1f} % intra-area ({hash_in} of {n} trades), "
            f"{n - hash_in} BGC messages",
            highlight=False,
        )
        console.print(
            f"relation: {rel_pct:.1f} % intra-area ({rel_in} of {n} trades), "
            f"{n - rel_in} BGC messages; {source}",
            highlight=False,
        )

    guarded(run)


@areas_app.command("lookup")
def areas_lookup(
    account: str = typer.Argument(..., help="the account (0x... or dev:N)"),
    directory: Path = typer.Option(..., "--directory", help="a published directory (JSON)"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
) -> None:
    """An account's area with its Merkle proof, verified on chain against the epoch's root."""

    def run() -> None:
        from sec_offchain.areas.graph import AreaError

        who = resolve_account(account, "ACCOUNT")
        book = _read_directory(directory)
        try:
            entry = book.get_proof(who)
        except AreaError as exc:
            raise ConfigError(str(exc)) from None
        ctx = Context(rpc, deployment, None)
        directory_c = ctx.suite.contract("AreaDirectory")
        ok = bool(
            ctx.suite.call(
                directory_c.functions.verify(
                    book.epoch, entry.account, entry.area_id, list(entry.proof)
                )
            )
        )
        if not ok:
            raise ConfigError(
                f"the directory's proof for {entry.account} does not verify against the "
                f"published root of epoch {book.epoch}"
            )
        console.print_json(json.dumps({"epoch": book.epoch, **entry.to_json(), "verified": ok}))

    guarded(run)


@areas_app.command("move")
def areas_move(
    directory: Path = typer.Option(
        ..., "--directory", help="the published directory of the epoch (JSON)"
    ),
    previous: Path | None = typer.Option(
        None, "--previous", help="the directory of the epoch before (none: epoch 1)"
    ),
    pace: float = typer.Option(
        0.0, "--pace", min=0.0, max=60.0, help="seconds between two submitted moves"
    ),
    home: Path = HomeOpt,
) -> None:
    """Move the balances of the accounts the epoch moved: one MOVE each in the old area.

    Safe to run again (also after a kill): the old area's ledger remembers every (account,
    epoch) it moved, so a balance leaves once and arrives once."""

    def run() -> None:
        from web3 import Web3

        from sec_offchain.areas.mover import plan_moves, run_moves
        from sec_offchain.contracts.deployment import Deployment
        from sec_offchain.crypto.keys import get_dev_account
        from sec_offchain.relayers.run import ledger_reader, tx_submitter

        current = _read_directory(directory)
        before = _read_directory(previous) if previous is not None else None
        if before is None and current.epoch != 1:
            raise ConfigError(
                f"epoch {current.epoch} moves from epoch {current.epoch - 1}: "
                "pass its directory with --previous"
            )
        if before is not None and before.epoch != current.epoch - 1:
            raise ConfigError(f"--previous is epoch {before.epoch}, not {current.epoch - 1}")
        cfg = load_devnet(home)
        deployment = Deployment.from_file(Path(cfg.deployments))
        rec = deployment.contracts.get("AreaDirectory")
        if rec is None:
            raise ConfigError("the devnet's deployment has no AreaDirectory")
        w3 = Web3(Web3.HTTPProvider(cfg.rpc, request_kwargs={"timeout": 30}))
        contract = w3.eth.contract(address=Web3.to_checksum_address(rec.address), abi=rec.abi)
        for d, name in ((current, "--directory"), (before, "--previous")):
            if d is None:
                continue
            root = bytes(contract.functions.root_of(d.epoch).call())
            if root != d.root:
                raise ConfigError(
                    f"{name} is not the published directory of epoch {d.epoch} (its root "
                    f"0x{d.root.hex()}, published 0x{root.hex()})"
                )
        ids = tuple(sorted(a.area_id for a in cfg.areas))
        unknown = sorted({a for a in current.entries.values() if a not in ids})
        if unknown:
            raise ConfigError(f"the directory places accounts in areas {unknown} the devnet lacks")
        asker = get_dev_account(0).key  # any key: reading and submitting moves needs no role
        ledger, submit = ledger_reader(cfg, asker), tx_submitter(cfg, asker)

        moves = plan_moves(current, before, ids)
        console.print(f"epoch {current.epoch}: {len(moves)} accounts change area", highlight=False)
        failed = 0
        for move, outcome in run_moves(moves, ledger, submit, pace):
            console.print(
                f"{move.account}: area {move.src} -> area {move.dst}: {outcome}", highlight=False
            )
            failed += outcome.startswith(("refused", "no node"))
        if failed:
            raise SecError(f"{failed} of {len(moves)} moves were not submitted; run it again")

    guarded(run)


MAX_EPOCH = 10 * 365 * 86_400  # seconds: ten years


@areas_app.command("run")
def areas_run(
    config: Path = typer.Option(..., "--config", help="config file (TOML or JSON)"),
) -> None:
    """Run the area epoch daemon of the config's [area_epochs] section until SIGINT or
    SIGTERM: every `seconds` of chain time it plans the next directory from the chain's trades,
    writes its file where the nodes, bridge and gateway read it (`areas_dir`, default
    <home>/areas), publishes its root (the key must hold AreaDirectory's PUBLISHER_ROLE) and
    moves the balances of the accounts it moved, once each. Safe to kill and start again.

    [area_epochs] keys: seconds = N (the epoch's length, required), seed = N (clustering
    seed, default 0), pace = SECONDS (between two submitted moves, default 0)."""
    from sec_offchain.cli.hosts import _load
    from sec_offchain.relayers.run import build_epoch_daemon, run_epochs, stop_on_signals

    host = _load(config)
    section = host.section("area_epochs")

    def number(name: str, default, low: float, high: float, kind=float):
        value = section.get(name, default)
        if value is None:
            fail(f"config file {config}: [area_epochs] needs {name} = N (the epoch's length)")
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or not low <= value <= high:
            fail(
                f"config file {config}: [area_epochs] {name} is a number from {low:g} to "
                f"{high:.0f}, not {value!r}"
            )
        if kind is int and value != int(value):
            fail(f"config file {config}: [area_epochs] {name} is a whole number, not {value!r}")
        return kind(value)

    epoch = number("seconds", None, 1, MAX_EPOCH, int)
    seed = number("seed", 0, 0, 2**32 - 1, int)
    pace = number("pace", 0.0, 0, 60)
    daemon = guarded(lambda: build_epoch_daemon(host.devnet, host.key, epoch, seed, pace))
    if not guarded(daemon.is_publisher):
        fail(
            f"the key's address {host.address} may not publish on AreaDirectory "
            "(PUBLISHER_ROLE): the admin grants it"
        )
    run_epochs(daemon, stop_on_signals(), poll=min(host.devnet.interval, 2.0))
