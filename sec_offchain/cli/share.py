"""`sec share ...`: share a purchase, follow it, claim the rewards."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from sec_offchain.cli.common import (
    ETH,
    Context,
    DeploymentOpt,
    JsonOpt,
    KeyOpt,
    RpcOpt,
    console,
    emit_json,
    fail,
    format_amount,
    format_time,
    format_when,
    guarded,
    token_symbol,
    uint_argument,
)
from sec_offchain.exceptions import ConfigError

share_app = typer.Typer(
    help="Share a purchase; earn a commission when a friend buys through it within 72 h.",
    no_args_is_help=True,
)


@share_app.command("create")
def share_create(
    order_id: int = uint_argument("a completed order of yours"),
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
            f"share {share_id} of listing {listing_id}, valid until "
            f"{format_time(created + 72 * 3600)} "
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
    share_id: int = uint_argument("share id"),
    as_json: bool = JsonOpt,
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
        paid = ctx.suite.shares.events.ShareRewarded.get_logs(
            from_block=ctx.deployment.block, argument_filters={"share_id": share_id}
        )
        commissions: dict[str, int] = {}
        for event in paid:
            token = event["args"]["token"]
            commissions[token] = commissions.get(token, 0) + int(event["args"]["commission"])
        now = ctx.chain.now()
        claimable = ctx.suite.share_claimable(sharer)
        if as_json:
            emit_json(
                {
                    "share": str(share_id),
                    "sharer": sharer,
                    "listing": str(listing_id),
                    "created": created,
                    "expires": expires,
                    "open": now < expires,
                    "purchases_rewarded": len(paid),
                    "commissions": [
                        {
                            "token": token,
                            "symbol": token_symbol(ctx.suite, token),
                            "amount": str(amount),
                        }
                        for token, amount in commissions.items()
                    ],
                    "pool_bonus_claimable": str(claimable),
                }
            )
            return
        earned = (
            ", ".join(
                format_amount(amount, token_symbol(ctx.suite, token))
                for token, amount in commissions.items()
            )
            or "nothing yet"
        )
        table = Table(show_header=False)
        for k, v in {
            "share": share_id,
            "sharer": sharer,
            "listing": listing_id,
            "expires at": format_when(expires, now),
            "open": now < expires,
            "purchases rewarded": len(paid),
            "commissions paid": earned,
            "pool bonus to claim": format_amount(claimable, "SEC"),
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
    """Claim your pool bonus (SEC); commissions are paid with each purchase already."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        amount = ctx.suite.share_claimable(ctx.account.address)
        if amount == 0:
            fail(
                "nothing to claim: commissions are paid when each shared purchase completes; "
                "only pool bonuses wait here"
            )
        receipt = ctx.suite.claim_share_rewards(ctx.account)
        console.print(f"claimed {format_amount(amount, 'SEC')} ({receipt['gasUsed']:,} gas)")

    guarded(run)
