"""`sec share ...`: share a purchase, follow it, claim the rewards."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from sec_offchain.cli.common import (
    Context,
    DeploymentOpt,
    KeyOpt,
    RpcOpt,
    console,
    format_amount,
    guarded,
)
from sec_offchain.contracts.client import ETH
from sec_offchain.exceptions import ConfigError

share_app = typer.Typer(
    help="Share a purchase; earn SEC when a friend buys through it within 72 h.",
    no_args_is_help=True,
)


@share_app.command("create")
def share_create(
    order_id: int = typer.Argument(..., help="a completed order of yours"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Share a completed purchase; prints the link friends buy through."""

    def run() -> None:
        from sec_offchain.payment_uri import build_buy_uri

        ctx = Context(rpc, deployment, key)
        share_id, receipt = ctx.suite.share(ctx.account, order_id)
        _, listing_id, created = ctx.suite.share_info(share_id)
        listing = ctx.suite.get_listing(listing_id)
        console.print(
            f"share {share_id} of listing {listing_id}, valid until {created + 72 * 3600} "
            f"({receipt['gasUsed']:,} gas)"
        )
        if listing.token == ETH:
            uri = build_buy_uri(
                str(ctx.suite.escrow.address), ctx.chain_id, listing_id, listing.price, share_id
            )
            console.print(f"friends pay with: {uri}")

    guarded(run)


@share_app.command("status")
def share_status(
    share_id: int = typer.Argument(..., help="share id"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
) -> None:
    """Show a share, whether it is still open, and what its sharer can claim."""

    def run() -> None:
        ctx = Context(rpc, deployment, None)
        sharer, listing_id, created = ctx.suite.share_info(share_id)
        if listing_id == 0:
            raise ConfigError(f"no share {share_id}")
        expires = created + 72 * 3600
        table = Table(show_header=False)
        for k, v in {
            "share": share_id,
            "sharer": sharer,
            "listing": listing_id,
            "expires at": expires,
            "open": ctx.chain.now() < expires,
            "sharer can claim": format_amount(
                int(ctx.suite.call(ctx.suite.shares.functions.claimable(sharer))), "SEC"
            ),
        }.items():
            table.add_row(k, str(v))
        console.print(table)

    guarded(run)


@share_app.command("claim")
def share_claim(
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Claim your share rewards (SEC)."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        amount = int(ctx.suite.call(ctx.suite.shares.functions.claimable(ctx.account.address)))
        receipt = ctx.suite.claim_share_rewards(ctx.account)
        console.print(f"claimed {format_amount(amount, 'SEC')} ({receipt['gasUsed']:,} gas)")

    guarded(run)
