"""`sec bgc ...`: cross-area messages (BGC) on a running devnet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from sec_offchain.cli.common import (
    MAX_AREA,
    HomeOpt,
    area_option,
    console,
    format_amount,
    guarded,
    load_deployment,
    load_devnet,
    parse_address,
    parse_amount,
    parse_key,
    uint_option,
)
from sec_offchain.exceptions import ConfigError, SecError

# Gas an approve plus deposit_to_area may take (a funds check before the approve).
DEPOSIT_GAS = 60_000 + 200_000

bgc_app = typer.Typer(
    help="Cross-area messages (BGC) on a running devnet: deposit, pay, ship, confirm.",
    no_args_is_help=True,
)


def _devnet(home: Path, *areas: int):
    """The devnet at `home` and its suite; every area in `areas` must be one of its areas."""
    from web3 import Web3

    from sec_offchain.cli.chain import CliSuite

    cfg = load_devnet(home)
    known = [a.area_id for a in cfg.areas]
    for area in areas:
        if area not in known:
            raise ConfigError(
                f"no area {area} in the devnet at {home} (its areas: {', '.join(map(str, known))})"
            )
    suite = CliSuite(
        Web3(Web3.HTTPProvider(cfg.rpc, request_kwargs={"timeout": 30})),
        load_deployment(Path(cfg.deployments)),
    )
    return cfg, suite


def _area_tx(home: Path, key: str, area: int, build: Callable[[int], Any]) -> None:
    """Signs the area transaction `build(nonce)` and submits it to `area`'s nodes."""
    import json

    import rlp

    from sec_offchain.area import net
    from sec_offchain.relayers.run import node_request

    cfg, _ = _devnet(home, area)
    account = parse_key(key)
    me = bytes.fromhex(account.address[2:])
    view = node_request(cfg, area, net.LEDGER_REQ, rlp.encode([me]), net.LEDGER, account.key)
    if view is None:
        raise SecError(f"no node of area {area} answers")
    nonce = int(json.loads(view)["next_tx_nonce"])
    tx = build(nonce).signed(account.key, cfg.record_separator)
    body = node_request(cfg, area, net.SUBMIT_TX, tx.encode(), net.ACK, account.key)
    if body is None:
        raise SecError(f"no node of area {area} answers")
    ok, message = rlp.decode(body)
    if ok != b"\x01":
        raise SecError(f"area {area} refused it: {message.decode()}")
    console.print(
        f"submitted to area {area} (transaction {nonce} of {account.address}); "
        "it applies in the area's next block"
    )


def _ref(text: str) -> tuple[int, int]:
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ConfigError(f"--ref: a payment is named SRC_AREA:NONCE, e.g. 1:1, not {text!r}")
    src, nonce = int(parts[0]), int(parts[1])
    if not 1 <= src <= MAX_AREA or nonce >= 2**64:
        raise ConfigError(f"--ref {text!r}: area 1 .. 2**64-1, nonce below 2**64")
    return src, nonce


@bgc_app.command("deposit")
def bgc_deposit(
    area: int = area_option(),
    amount: str = typer.Option(..., "--amount", help="SEC"),
    key: str = typer.Option("dev:0", "--key"),
    home: Path = HomeOpt,
) -> None:
    """Move SEC from your wallet into an area (BorderGateway.deposit_to_area)."""

    def run() -> None:
        account, value = parse_key(key), parse_amount(amount)
        _, suite = _devnet(home, area)
        gw = suite.contract("BorderGateway")
        hub = suite.anchor_hub.functions
        if int(suite.call(hub.area_stake(area))) == 0:
            raise ConfigError(f"area {area} has no validators on chain: nothing can be deposited")
        have = suite.sec_balance(account.address)
        if have < value:
            raise ConfigError(
                f"account {account.address} has {format_amount(have, 'SEC')}, "
                f"not {format_amount(value, 'SEC')}"
            )
        suite.tx(account)._check_funds(DEPOSIT_GAS * int(suite.w3.eth.gas_price), "gas")
        suite.ensure_allowance(account, gw.address, value)
        r = suite.tx(account).transact(gw.functions.deposit_to_area(area, value))
        console.print(
            f"deposited {format_amount(value, 'SEC')} into area {area} "
            f"({r['gasUsed']:,} gas); the area credits it in its next block"
        )

    guarded(run)


@bgc_app.command("send")
def bgc_send(
    from_area: int = typer.Option(..., "--from-area", min=1, max=MAX_AREA),
    to_area: int = typer.Option(..., "--to-area", min=0, max=MAX_AREA),
    to: str = typer.Option(..., "--to", help="recipient address (the seller, for a purchase)"),
    amount: str = typer.Option(..., "--amount", help="SEC"),
    listing: int = uint_option(0, "--listing", help="pay this listing (held until confirmed)"),
    key: str = typer.Option(..., "--key"),
    home: Path = HomeOpt,
) -> None:
    """Send SEC from your balance in one area to another (a payment when --listing)."""
    from sec_offchain.area.ledger import PAY, AreaTx

    def run() -> None:
        recipient = parse_address(to, "--to")
        me = bytes.fromhex(parse_key(key).address[2:])
        value = parse_amount(amount)
        _devnet(home, from_area, *([to_area] if to_area else []))
        _area_tx(
            home,
            key,
            from_area,
            lambda n: AreaTx(
                PAY,
                me,
                from_area,
                n,
                dst_area=to_area,
                recipient=bytes.fromhex(recipient[2:]),
                amount=value,
                listing_id=listing,
            ),
        )

    guarded(run)


def _ref_command(kind_name: str):
    def command(
        area: int = area_option("the area holding the payment"),
        ref: str = typer.Option(..., "--ref", help="the payment, SRC_AREA:NONCE"),
        key: str = typer.Option(..., "--key"),
        home: Path = HomeOpt,
    ) -> None:
        from sec_offchain.area.ledger import CONFIRM, SHIP, AreaTx

        kind = {"ship": SHIP, "confirm": CONFIRM}[kind_name]

        def run() -> None:
            src, nonce = _ref(ref)
            me = bytes.fromhex(parse_key(key).address[2:])
            _area_tx(
                home, key, area, lambda n: AreaTx(kind, me, area, n, ref_src=src, ref_nonce=nonce)
            )

        guarded(run)

    command.__doc__ = {
        "ship": "Seller: mark a cross-area payment shipped.",
        "confirm": "Buyer: confirm receipt; the seller is paid in the area.",
    }[kind_name]
    return command


bgc_app.command("ship")(_ref_command("ship"))
bgc_app.command("confirm")(_ref_command("confirm"))


@bgc_app.command("status")
def bgc_status(
    key: str | None = typer.Option(None, "--key", help="also show this account in each area"),
    home: Path = HomeOpt,
) -> None:
    """Area totals and channel nonces on chain; with --key, your balance and payments."""

    def run() -> None:
        import json

        import rlp

        from sec_offchain.area import net
        from sec_offchain.relayers.run import node_request

        account = parse_key(key) if key is not None else None
        cfg, suite = _devnet(home)
        gw = suite.contract("BorderGateway").functions
        ids = [a.area_id for a in cfg.areas]
        table = Table(title="BorderGateway")
        for col in ("area", "total", "paused", "next nonce to other areas"):
            table.add_column(col)
        for a in ids:
            nonces = ", ".join(f"->{d}: {gw.next_nonce(a, d).call()}" for d in [0, *ids] if d != a)
            table.add_row(
                str(a),
                format_amount(gw.area_balance(a).call(), "SEC"),
                "yes" if gw.is_paused(a).call() else "no",
                nonces,
            )
        console.print(table)
        if account is None:
            return
        me = bytes.fromhex(account.address[2:])
        for a in ids:
            body = node_request(cfg, a, net.LEDGER_REQ, rlp.encode([me]), net.LEDGER, account.key)
            if body is None:
                console.print(f"area {a}: no node answers")
                continue
            view = json.loads(body)
            console.print(
                f"area {a} (height {view['height']}): {format_amount(int(view['balance']), 'SEC')}"
            )
            for p in view["payments"]:
                console.print(
                    f"  payment {p['ref']}: listing {p['listing_id']}, "
                    f"{format_amount(int(p['amount']), 'SEC')}, {p['status']}"
                )

    guarded(run)
