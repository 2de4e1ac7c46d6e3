"""`sec escrow ...`: listings and orders of the escrow auto-contracts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from sec_offchain.cli.common import (
    STATUS_NAMES,
    Context,
    DeploymentOpt,
    KeyOpt,
    RpcOpt,
    console,
    fail,
    format_amount,
    guarded,
    parse_amount,
    parse_duration,
    resolve_token,
    token_symbol,
)
from sec_offchain.contracts.client import ETH
from sec_offchain.exceptions import ConfigError

escrow_app = typer.Typer(
    help="Escrow auto-contracts: list, buy, ship, confirm, ...", no_args_is_help=True
)


@escrow_app.command("create")
def escrow_create(
    price: str = typer.Option(
        ..., "--price", help="price in whole units, e.g. 0.158 (ETH) or 158 (SEC)"
    ),
    token: str = typer.Option("eth", "--token", help="eth, sec or an allow-listed ERC-20 address"),
    auto_complete: str = typer.Option(
        "7d", "--auto-complete", help="completes this long after shipping"
    ),
    ship_window: str = typer.Option(
        "0", "--ship-window", help="time to ship after payment (0: default)"
    ),
    metadata: str = typer.Option(
        "", "--metadata", help="product description (its hash goes on chain)"
    ),
    qr: bool = typer.Option(True, "--qr/--no-qr", help="print a QR code of the payment URI"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Create a listing (an escrow auto-contract) and print its EIP-681 payment URI."""

    def run() -> None:
        from sec_offchain.payment_uri import build_buy_uri, render_qr

        ctx = Context(rpc, deployment, key)
        token_addr = resolve_token(ctx.suite, token)
        listing_id, receipt = ctx.suite.create_listing(
            ctx.account,
            parse_amount(price),
            token_addr,
            parse_duration(auto_complete),
            parse_duration(ship_window),
            metadata,
        )
        console.print(f"listing {listing_id} created ({receipt['gasUsed']:,} gas)")
        if token_addr == ETH:
            uri = build_buy_uri(
                str(ctx.suite.escrow.address), ctx.chain_id, listing_id, parse_amount(price)
            )
            console.print(f"pay with: {uri}", soft_wrap=True)
            if qr:
                console.print(render_qr(uri), highlight=False)
        else:
            console.print(
                f"buyers approve {price} {token_symbol(ctx.suite, token_addr)} then call "
                f"buy({listing_id}, 0)"
            )

    guarded(run)


def _order_command(action: str) -> Callable[..., None]:
    def command(
        order_id: int = typer.Argument(..., help="order id"),
        rpc: str = RpcOpt,
        deployment: Path | None = DeploymentOpt,
        key: str | None = KeyOpt,
    ) -> None:
        def run() -> None:
            ctx = Context(rpc, deployment, key)
            receipt = getattr(ctx.suite, action)(ctx.account, order_id)
            status = ctx.suite.get_order(order_id).status
            console.print(
                f"order {order_id}: {action} done, now {STATUS_NAMES[status]} "
                f"({receipt['gasUsed']:,} gas)"
            )

        guarded(run)

    command.__doc__ = {
        "confirm": "Confirm receipt as the buyer: the seller is paid, both trust indexes rise.",
        "finalize": "Complete a shipped order whose auto-complete time has passed (anyone).",
        "cancel": "Cancel an unshipped order: the seller any time, anyone after the ship window.",
    }[action]
    return command


for _action in ("confirm", "finalize", "cancel"):
    escrow_app.command(_action)(_order_command(_action))


@escrow_app.command("buy")
def escrow_buy(
    listing_id: int = typer.Argument(..., help="listing id"),
    share: int = typer.Option(0, "--share", help="the share this purchase came through"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Pay for a listing (ERC-20 listings are approved first)."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        order_id, receipt = ctx.suite.buy(ctx.account, listing_id, share)
        order = ctx.suite.get_order(order_id)
        console.print(
            f"order {order_id} paid: "
            f"{format_amount(order.price, token_symbol(ctx.suite, order.token))}"
            f", seller must ship by {order.ship_by} ({receipt['gasUsed']:,} gas)"
        )

    guarded(run)


@escrow_app.command("ship")
def escrow_ship(
    order_id: int = typer.Argument(..., help="order id"),
    tracking: str = typer.Option("", "--tracking", help="shipment tracking reference"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Mark an order shipped (the seller); starts the auto-complete clock."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        receipt = ctx.suite.ship(ctx.account, order_id, tracking)
        order = ctx.suite.get_order(order_id)
        console.print(
            f"order {order_id} shipped; completes automatically at {order.deadline} "
            f"({receipt['gasUsed']:,} gas)"
        )

    guarded(run)


@escrow_app.command("dispute")
def escrow_dispute(
    order_id: int = typer.Argument(..., help="order id"),
    evidence: str = typer.Option(
        "", "--evidence", help="evidence reference (its hash goes on chain)"
    ),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Dispute a shipped order as the buyer, posting the dispute deposit."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        receipt = ctx.suite.dispute(ctx.account, order_id, evidence)
        order = ctx.suite.get_order(order_id)
        console.print(
            f"order {order_id} disputed, deposit "
            f"{format_amount(order.dispute_deposit, token_symbol(ctx.suite, order.token))}"
            f"; ruled by {order.deadline} at the latest ({receipt['gasUsed']:,} gas)"
        )

    guarded(run)


@escrow_app.command("status")
def escrow_status(
    order_id: int | None = typer.Argument(None, help="order id"),
    listing: int | None = typer.Option(None, "--listing", help="show a listing instead"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
) -> None:
    """Show an order (or a listing with --listing)."""
    if (order_id is None) == (listing is None):
        fail("give an order id or --listing ID", 2)

    def run() -> None:
        ctx = Context(rpc, deployment, None)
        table = Table(show_header=False)
        if listing is not None:
            item = ctx.suite.get_listing(listing)
            if item.seller == ETH:
                raise ConfigError(f"no listing {listing}")
            rows: dict[str, Any] = {
                "listing": listing,
                "seller": item.seller,
                "price": format_amount(item.price, token_symbol(ctx.suite, item.token)),
                "auto-complete": f"{item.auto_complete} s",
                "ship window": f"{item.ship_window} s",
                "open": not item.closed,
            }
        else:
            assert order_id is not None
            order = ctx.suite.get_order(order_id)
            if order.status == 0:
                raise ConfigError(f"no order {order_id}")
            rows = {
                "order": order_id,
                "status": STATUS_NAMES[order.status],
                "listing": order.listing_id,
                "buyer": order.buyer,
                "seller": order.seller,
                "price": format_amount(order.price, token_symbol(ctx.suite, order.token)),
            }
            if order.ship_by:
                rows["ship by"] = order.ship_by
            if order.deadline:
                rows["deadline"] = order.deadline
            if order.dispute_deposit:
                rows["dispute deposit"] = format_amount(
                    order.dispute_deposit, token_symbol(ctx.suite, order.token)
                )
        for k, v in rows.items():
            table.add_row(k, str(v))
        console.print(table)

    guarded(run)


@escrow_app.command("withdraw")
def escrow_withdraw(
    token: str = typer.Option("eth", "--token", help="eth, sec or an ERC-20 address"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Withdraw what the escrow owes you (payouts your address refused, fees)."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        token_addr = resolve_token(ctx.suite, token)
        amount = ctx.suite.owed(ctx.account.address, token_addr)
        receipt = ctx.suite.withdraw(ctx.account, token_addr)
        console.print(
            f"withdrew {format_amount(amount, token_symbol(ctx.suite, token_addr))} "
            f"({receipt['gasUsed']:,} gas)"
        )

    guarded(run)
