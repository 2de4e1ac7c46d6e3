"""`sec escrow ...`: listings and orders of the escrow auto-contracts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from sec_offchain.cli.common import (
    ETH,
    MAX_UINT256,
    STATUS_NAMES,
    Context,
    DeploymentOpt,
    JsonOpt,
    KeyOpt,
    RpcOpt,
    check_token_name,
    check_writable,
    console,
    emit_json,
    fail,
    fetch_chain_id,
    format_amount,
    format_time,
    format_wait,
    format_when,
    guarded,
    load_deployment,
    parse_address,
    parse_amount,
    parse_duration,
    resolve_account,
    resolve_signer,
    resolve_token,
    token_symbol,
    uint_argument,
    uint_option,
)
from sec_offchain.exceptions import ConfigError

if TYPE_CHECKING:
    from sec_offchain.contracts.client import Order

# Gas an approve plus the action after it may take (a funds check before the approve).
APPROVE_AND_BUY_GAS = 60_000 + 400_000

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
        value = parse_amount(price)
        auto, window = parse_duration(auto_complete), parse_duration(ship_window)
        check_token_name(token)
        from sec_offchain.payment_uri import build_buy_uri, render_qr

        ctx = Context(rpc, deployment, key)
        token_addr = resolve_token(ctx.suite, token)
        listing_id, receipt = ctx.suite.create_listing(
            ctx.account, value, token_addr, auto, window, metadata
        )
        console.print(f"listing {listing_id} created ({receipt['gasUsed']:,} gas)")
        if token_addr == ETH:
            uri = build_buy_uri(str(ctx.suite.escrow.address), ctx.chain_id, listing_id, value)
            console.print(f"pay with: {uri}", soft_wrap=True)
            if qr:
                console.print(render_qr(uri), highlight=False)
        else:
            console.print(
                f"buyers approve {price} {token_symbol(ctx.suite, token_addr)} then call "
                f"buy({listing_id}, 0)"
            )

    guarded(run)


# The states each order command acts on (what Escrow.vy asserts first).
ACTS_ON = {
    "ship": ("paid",),
    "confirm": ("paid", "shipped"),
    "finalize": ("shipped", "disputed"),
    "cancel": ("paid",),
    "dispute": ("shipped",),
}


def require_order(ctx: Context, order_id: int, action: str) -> Order:
    """The order, or a ConfigError saying it does not exist or what state it is in."""
    order = ctx.suite.get_order(order_id)
    if order.status == 0:
        raise ConfigError(f"no order {order_id}")
    allowed = ACTS_ON[action]
    if STATUS_NAMES[order.status] not in allowed:
        wanted = " or ".join(allowed)
        raise ConfigError(
            f"order {order_id} is {STATUS_NAMES[order.status]}, not {wanted}: cannot {action} it"
        )
    return order


def _order_command(action: str) -> Callable[..., None]:
    def command(
        order_id: int = uint_argument("order id"),
        rpc: str = RpcOpt,
        deployment: Path | None = DeploymentOpt,
        key: str | None = KeyOpt,
    ) -> None:
        def run() -> None:
            ctx = Context(rpc, deployment, key)
            require_order(ctx, order_id, action)
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
    listing_id: int | None = typer.Argument(
        None, help="on-chain listing id", min=0, max=MAX_UINT256
    ),
    signed_listing: str | None = typer.Option(
        None, "--listing", help="a signed listing: its link or a file (from `sec escrow post`)"
    ),
    share: int = uint_option(0, "--share", help="the share this purchase came through"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Pay for a listing: an on-chain one by id, or a signed one with --listing (ERC-20
    listings approve exactly the price first)."""
    if (listing_id is None) == (signed_listing is None):
        fail("give a listing id or --listing LINK|FILE", 2)

    def run() -> None:
        if signed_listing is not None:
            _buy_signed(signed_listing)
            return
        assert listing_id is not None
        ctx = Context(rpc, deployment, key)
        _check_buy(ctx, listing_id, share)
        order_id, receipt = ctx.suite.buy(ctx.account, listing_id, share)
        _print_order(ctx, order_id, receipt)

    def _buy_signed(ref: str) -> None:
        from sec_offchain.listings import load_listing
        from sec_offchain.relay.actions import buy_signed, validate_buyable

        signed = load_listing(ref)
        ctx = Context(rpc, deployment, key)
        validate_buyable(ctx.suite, signed, ctx.account.address)
        if share:
            _check_share(ctx, share, signed)
        if signed.listing.token == ETH:
            ctx.gas_for(400_000)
        else:
            ctx.gas_for(APPROVE_AND_BUY_GAS)
        order_id, receipt = buy_signed(ctx.suite, ctx.account, signed, share)
        _print_order(ctx, order_id, receipt)

    guarded(run)


def _print_order(ctx: Context, order_id: int, receipt: Any) -> None:
    order = ctx.suite.get_order(order_id)
    console.print(
        f"order {order_id} paid: "
        f"{format_amount(order.price, token_symbol(ctx.suite, order.token))}"
        f", seller must ship by {format_when(order.ship_by, ctx.chain.now())} "
        f"({receipt['gasUsed']:,} gas)"
    )


def _check_share(ctx: Context, share: int, signed: Any) -> None:
    """A share of a signed listing names its listing id, which exists from its first sale."""
    from sec_offchain.relay.actions import get_signed_state

    listing_id = get_signed_state(ctx.suite, signed).listing_id
    suite = ctx.suite
    if listing_id == 0 or not suite.call(
        suite.shares.functions.validate_share(
            share, listing_id, ctx.account.address, signed.listing.seller
        )
    ):
        raise ConfigError(f"share {share} cannot be used for this listing by {ctx.account.address}")


@escrow_app.command("post")
def escrow_post(
    price: str = typer.Option(
        ..., "--price", help="price in whole units, e.g. 0.158 (ETH) or 158 (SEC)"
    ),
    token: str = typer.Option("eth", "--token", help="eth, sec or an allow-listed ERC-20 address"),
    quantity: int = uint_option(1, "--quantity", help="how many orders it may make (0: no limit)"),
    expires: str = typer.Option("30d", "--expires", help="valid this long from now"),
    auto_complete: str = typer.Option(
        "7d", "--auto-complete", help="completes this long after shipping"
    ),
    ship_window: str = typer.Option(
        "0", "--ship-window", help="time to ship after payment (0: default)"
    ),
    metadata: str = typer.Option(
        "",
        "--metadata",
        help="product description (its hash is signed; a short one rides in the link)",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="also write the signed listing (JSON) here"
    ),
    gateway: str | None = typer.Option(
        None, "--gateway", envvar="SEC_GATEWAY", help="gateway URL: print an https link too"
    ),
    qr: bool = typer.Option(True, "--qr/--no-qr", help="print a QR code of the link"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Sign a listing off-chain (no transaction, no gas) and print its link and QR code."""

    def run() -> None:
        import time

        from sec_offchain.listings import Listing, metadata_of, new_salt, sign_listing

        value = parse_amount(price)
        auto, window = parse_duration(auto_complete), parse_duration(ship_window)
        valid_for = parse_duration(expires)
        if valid_for == 0:
            raise ConfigError("--expires must be longer than 0")
        check_token_name(token)
        if gateway is not None and not gateway.startswith(("https://", "http://")):
            raise ConfigError(f"--gateway must be an http(s) URL, not {gateway!r}")
        if out is not None:
            check_writable(out, "--out")
        chain_id, dep = _offline_deployment(rpc, deployment)
        seller = resolve_signer(key, chain_id)
        name = token.strip().lower()
        token_addr = (
            ETH
            if name in ("eth", "", "0x0")
            else dep.address_of("SECToken")
            if name == "sec"
            else parse_address(token, "--token")
        )
        listing = Listing(
            seller.address,
            value,
            token_addr,
            auto,
            window,
            metadata_of(metadata),
            quantity,
            int(time.time()) + valid_for,
            new_salt(),
        )
        description = "" if metadata.startswith("0x") and len(metadata) == 66 else metadata
        signed = sign_listing(
            bytes(seller.key), listing, chain_id, dep.address_of("Escrow"), description
        )
        symbol = "ETH" if token_addr == ETH else "SEC" if name == "sec" else token_addr
        console.print(
            f"listing signed by {seller.address} (no transaction, 0 gas): "
            f"{format_amount(value, symbol)}, "
            f"{'any number of orders' if quantity == 0 else f'{quantity} order(s)'}, "
            f"valid until {format_time(listing.expiry)}",
            highlight=False,
        )
        console.print(f"digest {'0x' + signed.digest.hex()}", highlight=False)
        link = signed.to_link()
        console.print(f"link: {link}", highlight=False, soft_wrap=True)
        shown = link
        if gateway:
            shown = signed.to_link(gateway)
            console.print(f"open: {shown}", highlight=False, soft_wrap=True)
        if out is not None:
            import json

            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(signed.to_json(), indent=2) + "\n")
            console.print(f"wrote {out}", highlight=False)
        if qr:
            from sec_offchain.payment_uri import render_qr

            console.print(render_qr(shown), highlight=False)

    guarded(run)


def _offline_deployment(rpc: str, deployment: Path | None) -> tuple[int, Any]:
    """The chain id and deployment a listing is signed for, with no web3: the deployments
    file given, or the default one of the chain the node at `rpc` reports."""
    from sec_offchain.contracts.deployment import get_default_path

    if deployment is not None:
        dep = load_deployment(deployment)
        return dep.chain_id, dep
    chain_id = fetch_chain_id(rpc)
    return chain_id, load_deployment(get_default_path(chain_id))


@escrow_app.command("cancel-listing")
def escrow_cancel_listing(
    signed_listing: str = typer.Option(
        ..., "--listing", help="the signed listing: its link or a file"
    ),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Withdraw a signed listing for good (the seller): no further purchase of it."""

    def run() -> None:
        from sec_offchain.listings import load_listing
        from sec_offchain.relay.actions import cancel_signed, get_signed_state, validate_for_suite

        signed = load_listing(signed_listing)
        ctx = Context(rpc, deployment, key)
        validate_for_suite(ctx.suite, signed)
        if signed.listing.seller != ctx.account.address:
            raise ConfigError(
                f"{ctx.account.address} is not the seller ({signed.listing.seller}) of this listing"
            )
        state = get_signed_state(ctx.suite, signed)
        if state.cancelled:
            raise ConfigError("this listing is already cancelled")
        ctx.gas_for(100_000)
        receipt = cancel_signed(ctx.suite, ctx.account, signed)
        # The chain counts orders only of a listing with a quantity limit.
        sold = f" after {state.sold} order(s)" if signed.listing.quantity else ""
        console.print(
            f"listing {'0x' + signed.digest.hex()} cancelled{sold} ({receipt['gasUsed']:,} gas)",
            highlight=False,
        )

    guarded(run)


def _check_buy(ctx: Context, listing_id: int, share: int) -> None:
    """What Escrow.buy asserts, read before anything is signed: an ERC-20 listing approves
    first, and a buy that then failed would leave that approval behind."""
    suite, buyer = ctx.suite, ctx.account.address
    listing = suite.get_listing(listing_id)
    if listing.seller == ETH:
        raise ConfigError(f"no listing {listing_id}")
    if listing.closed:
        raise ConfigError(f"listing {listing_id} is closed")
    if listing.seller.lower() == buyer.lower():
        raise ConfigError(f"{buyer} is the seller of listing {listing_id}")
    escrow = suite.escrow.functions
    for who, role in ((buyer, "buyer"), (listing.seller, "seller")):
        if suite.call(escrow.disabled(who)):
            raise ConfigError(f"the {role} {who} is disabled")
    if share:
        valid = suite.call(suite.shares.functions.share_info(share))[
            1
        ] == listing_id and suite.call(
            suite.shares.functions.validate_share(share, listing_id, buyer, listing.seller)
        )
        if not valid:
            raise ConfigError(f"share {share} cannot be used for listing {listing_id} by {buyer}")
    symbol = token_symbol(suite, listing.token)
    if listing.token == ETH:
        return
    erc20 = suite.w3.eth.contract(address=listing.token, abi=suite.token.abi)
    have = int(suite.call(erc20.functions.balanceOf(buyer)))
    if have < listing.price:
        raise ConfigError(
            f"account {buyer} has {format_amount(have, symbol)}, "
            f"listing {listing_id} costs {format_amount(listing.price, symbol)}"
        )
    ctx.gas_for(APPROVE_AND_BUY_GAS)


@escrow_app.command("ship")
def escrow_ship(
    order_id: int = uint_argument("order id"),
    tracking: str = typer.Option("", "--tracking", help="shipment tracking reference"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Mark an order shipped (the seller); starts the auto-complete clock."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        require_order(ctx, order_id, "ship")
        receipt = ctx.suite.ship(ctx.account, order_id, tracking)
        order = ctx.suite.get_order(order_id)
        console.print(
            f"order {order_id} shipped; completes automatically at "
            f"{format_when(order.deadline, ctx.chain.now())} "
            f"({receipt['gasUsed']:,} gas)"
        )

    guarded(run)


@escrow_app.command("dispute")
def escrow_dispute(
    order_id: int = uint_argument("order id"),
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
        order = require_order(ctx, order_id, "dispute")
        if order.token != ETH:
            deposit = int(ctx.suite.call(ctx.suite.escrow.functions.dispute_deposit(order_id)))
            erc20 = ctx.suite.w3.eth.contract(address=order.token, abi=ctx.suite.token.abi)
            have = int(ctx.suite.call(erc20.functions.balanceOf(ctx.account.address)))
            if have < deposit:
                symbol = token_symbol(ctx.suite, order.token)
                raise ConfigError(
                    f"account {ctx.account.address} has {format_amount(have, symbol)}, the "
                    f"dispute deposit is {format_amount(deposit, symbol)}"
                )
            if order.buyer.lower() != ctx.account.address.lower():
                raise ConfigError(f"{ctx.account.address} is not the buyer of order {order_id}")
            ctx.gas_for(APPROVE_AND_BUY_GAS)
        receipt = ctx.suite.dispute(ctx.account, order_id, evidence)
        order = ctx.suite.get_order(order_id)
        console.print(
            f"order {order_id} disputed, deposit "
            f"{format_amount(order.dispute_deposit, token_symbol(ctx.suite, order.token))}"
            f"; ruled by {format_when(order.deadline, ctx.chain.now())} at the latest "
            f"({receipt['gasUsed']:,} gas)"
        )

    guarded(run)


def order_json(suite: Any, order: Order) -> dict[str, Any]:
    """An order in the `--json` shape (see `emit_json`)."""
    return {
        "order": str(order.order_id),
        "status": STATUS_NAMES[order.status],
        "listing": str(order.listing_id),
        "buyer": order.buyer,
        "seller": order.seller,
        "token": order.token,
        "symbol": token_symbol(suite, order.token),
        "price": str(order.price),
        "share": str(order.share_id),
        "ship_by": order.ship_by,
        "deadline": order.deadline,
        "dispute_deposit": str(order.dispute_deposit),
    }


@escrow_app.command("status")
def escrow_status(
    order_id: int | None = typer.Argument(None, help="order id", min=0, max=MAX_UINT256),
    listing: int | None = typer.Option(
        None, "--listing", help="show a listing instead", min=0, max=MAX_UINT256
    ),
    as_json: bool = JsonOpt,
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
            symbol = token_symbol(ctx.suite, item.token)
            if as_json:
                emit_json(
                    {
                        "listing": str(listing),
                        "seller": item.seller,
                        "token": item.token,
                        "symbol": symbol,
                        "price": str(item.price),
                        "auto_complete": item.auto_complete,
                        "ship_window": item.ship_window,
                        "open": not item.closed,
                    }
                )
                return
            rows: dict[str, Any] = {
                "listing": listing,
                "seller": item.seller,
                "price": format_amount(item.price, symbol),
                "auto-complete": f"{format_wait(item.auto_complete)} after shipping",
                "ship window": f"{format_wait(item.ship_window)} after payment",
                "open": "yes" if not item.closed else "no (closed)",
            }
        else:
            assert order_id is not None
            order = ctx.suite.get_order(order_id)
            if order.status == 0:
                raise ConfigError(f"no order {order_id}")
            if as_json:
                emit_json(order_json(ctx.suite, order))
                return
            symbol = token_symbol(ctx.suite, order.token)
            now = ctx.chain.now()
            rows = {
                "order": order_id,
                "status": STATUS_NAMES[order.status],
                "listing": order.listing_id,
                "buyer": order.buyer,
                "seller": order.seller,
                "price": format_amount(order.price, symbol),
            }
            if order.share_id:
                rows["share"] = order.share_id
            if order.ship_by:
                rows["ship by"] = format_when(order.ship_by, now)
            if order.deadline:
                rows["deadline"] = format_when(order.deadline, now)
            if order.dispute_deposit:
                rows["dispute deposit"] = format_amount(order.dispute_deposit, symbol)
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
        check_token_name(token)
        ctx = Context(rpc, deployment, key)
        token_addr = resolve_token(ctx.suite, token)
        amount = ctx.suite.owed(ctx.account.address, token_addr)
        receipt = ctx.suite.withdraw(ctx.account, token_addr)
        console.print(
            f"withdrew {format_amount(amount, token_symbol(ctx.suite, token_addr))} "
            f"({receipt['gasUsed']:,} gas)"
        )

    guarded(run)


@escrow_app.command("orders")
def escrow_orders(
    seller: str | None = typer.Option(None, "--seller", help="only this seller (0x... or dev:N)"),
    buyer: str | None = typer.Option(None, "--buyer", help="only this buyer (0x... or dev:N)"),
    status: str | None = typer.Option(
        None, "--status", help="only orders in this state: " + ", ".join(STATUS_NAMES[1:])
    ),
    as_json: bool = JsonOpt,
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
) -> None:
    """List orders (from the OrderPaid events) with their current state."""

    def run() -> None:
        want_seller = resolve_account(seller, "--seller").lower() if seller is not None else None
        want_buyer = resolve_account(buyer, "--buyer") if buyer is not None else None
        wanted = None
        if status is not None:
            name = status.strip().lower()
            if name not in STATUS_NAMES[1:]:
                raise ConfigError(
                    f"--status must be one of {', '.join(STATUS_NAMES[1:])}, not {status!r}"
                )
            wanted = STATUS_NAMES.index(name)
        ctx = Context(rpc, deployment, None)
        filters = {"buyer": want_buyer} if want_buyer else None
        events = ctx.suite.escrow.events.OrderPaid.get_logs(
            from_block=ctx.deployment.block, argument_filters=filters
        )
        orders = []
        for event in events:
            order = ctx.suite.get_order(int(event["args"]["order_id"]))
            if want_seller and order.seller.lower() != want_seller:
                continue
            if wanted is not None and order.status != wanted:
                continue
            orders.append(order)
        if as_json:
            emit_json([order_json(ctx.suite, order) for order in orders])
            return
        if not orders:
            console.print("no orders")
            return
        table = Table()
        for col in ("order", "listing", "buyer", "seller", "price", "status", "share"):
            table.add_column(col)
        for order in orders:
            table.add_row(
                str(order.order_id),
                str(order.listing_id),
                order.buyer,
                order.seller,
                format_amount(order.price, token_symbol(ctx.suite, order.token)),
                STATUS_NAMES[order.status],
                str(order.share_id),
            )
        console.print(table)

    guarded(run)
