"""`sec trust ACCOUNT`: an account's trust index, and its relation with another account."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from sec_offchain.cli.common import (
    Context,
    DeploymentOpt,
    RpcOpt,
    console,
    format_time,
    guarded,
    resolve_account,
)

TRUST_STATUS = ["new", "active", "disabled"]


def trust(
    account: str = typer.Argument(..., help="the account (0x... or dev:N)"),
    with_: str | None = typer.Option(
        None, "--with", help="also show its trade relation with this account"
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
) -> None:
    """Show an account's trust index, status, trades and failures (and a relation)."""

    def run() -> None:
        import json

        who = resolve_account(account, "ACCOUNT")
        other = resolve_account(with_, "--with") if with_ is not None else None
        ctx = Context(rpc, deployment, None)
        views = ctx.suite.trust.functions
        status = int(ctx.suite.call(views.status_of(who)))
        data: dict[str, object] = {
            "account": who,
            "trust index": ctx.suite.trust_of(who),
            "status": TRUST_STATUS[status] if status < len(TRUST_STATUS) else str(status),
            "trades": ctx.suite.trades_of(who),
            "failures": int(ctx.suite.call(views.failures_of(who))),
        }
        if other is not None:
            relation = ctx.suite.get_relation(who, other)
            data["relation with"] = other
            data["trades together"] = relation.trades
            data["last trade"] = relation.last_trade
            data["last trust gain"] = relation.last_gain
            data["relation live"] = relation.live
        if as_json:
            console.print_json(json.dumps(data))
            return
        table = Table(show_header=False)
        for k, v in data.items():
            if k in ("last trade", "last trust gain") and v:
                v = format_time(int(v))  # noqa: PLW2901 - shown as a time
            table.add_row(k, str(v))
        console.print(table)

    guarded(run)
