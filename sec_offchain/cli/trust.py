"""`sec trust ACCOUNT`: an account's trust index, and its relation with another account."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from sec_offchain.cli.common import (
    Context,
    DeploymentOpt,
    JsonOpt,
    RpcOpt,
    console,
    emit_json,
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
    as_json: bool = JsonOpt,
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
) -> None:
    """Show an account's trust index, status, trades and failures (and a relation)."""

    def run() -> None:
        who = resolve_account(account, "ACCOUNT")
        other = resolve_account(with_, "--with") if with_ is not None else None
        ctx = Context(rpc, deployment, None)
        views = ctx.suite.trust.functions
        status = int(ctx.suite.call(views.status_of(who)))
        data: dict[str, object] = {
            "account": who,
            "trust_index": ctx.suite.trust_of(who),
            "status": TRUST_STATUS[status] if status < len(TRUST_STATUS) else str(status),
            "trades": ctx.suite.trades_of(who),
            "failures": int(ctx.suite.call(views.failures_of(who))),
        }
        relation = ctx.suite.get_relation(who, other) if other is not None else None
        if relation is not None:
            data["relation"] = {
                "with": other,
                "trades": relation.trades,
                "last_trade": relation.last_trade,
                "last_trust_gain": relation.last_gain,
                "live": relation.live,
            }
        if as_json:
            emit_json(data)
            return
        table = Table(show_header=False)
        for k, v in data.items():
            if k != "relation":
                table.add_row(k.replace("_", " "), str(v))
        if relation is not None:
            table.add_row("relation with", str(other))
            table.add_row("trades together", str(relation.trades))
            for label, when in (
                ("last trade", relation.last_trade),
                ("last trust gain", relation.last_gain),
            ):
                table.add_row(label, format_time(when) if when else "never")
            table.add_row("relation live", str(relation.live))
        console.print(table)

    guarded(run)
