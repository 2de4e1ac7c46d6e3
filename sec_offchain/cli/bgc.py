"""`sec bgc ...`: cross-area messages (BGC) on a running devnet."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from sec_offchain.cli.common import (
    MAX_AREA,
    HomeOpt,
    JsonOpt,
    area_option,
    console,
    emit_json,
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
    help="Cross-area messages (BGC) on a running devnet: deposit, pay, ship, confirm, withdraw.",
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


def _area_tx(
    home: Path,
    key: str,
    area: int,
    build: Callable[[int], Any],
    spend: int = 0,
    check: Callable[[dict[str, Any], str], None] | None = None,
) -> None:
    """Signs the area transaction `build(nonce)` and submits it to `area`'s nodes, and prints
    the node's answer: accepted, or the reason it will never apply (checked by the node
    against its ledger and pool, by the rules its blocks apply; an error, exit 1). First
    checks, on the node's view of the account, what it can say better: with `spend`, that
    the balance in the area covers it, and `check(view, address)`."""
    import rlp

    from sec_offchain.area import net
    from sec_offchain.relayers.run import node_request

    cfg, _ = _devnet(home, area)
    account = parse_key(key)
    me = bytes.fromhex(account.address[2:])
    view = node_request(cfg, area, net.LEDGER_REQ, rlp.encode([me]), net.LEDGER, account.key)
    if view is None:
        raise SecError(f"no node of area {area} answers")
    ledger = json.loads(view)
    balance = int(ledger.get("pending_balance", ledger["balance"]))
    if spend and balance < spend:
        waiting = (
            " once its pending transactions apply" if balance != int(ledger["balance"]) else ""
        )
        raise ConfigError(
            f"account {account.address} has {format_amount(balance, 'SEC')} "
            f"in area {area}{waiting}, not {format_amount(spend, 'SEC')}"
        )
    if check is not None:
        check(ledger, account.address)
    nonce = int(ledger.get("pending_tx_nonce", ledger["next_tx_nonce"]))
    tx = build(nonce).signed(account.key, cfg.record_separator)
    body = node_request(cfg, area, net.SUBMIT_TX, tx.encode(), net.ACK, account.key)
    if body is None:
        raise SecError(f"no node of area {area} answers")
    ok, message = rlp.decode(body)
    answer = message.decode(errors="replace")
    if ok != b"\x01":
        raise SecError(f"area {area} refused transaction {nonce} of {account.address}: {answer}")
    console.print(
        f"area {area} {'accepted' if answer == 'accepted' else 'already has'} transaction "
        f"{nonce} of {account.address}; it applies in the area's next block "
        f"(`sec bgc status --key ...` shows its fate)"
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
            spend=value,
        )

    guarded(run)


@bgc_app.command("withdraw")
def bgc_withdraw(
    area: int = area_option("the area to take SEC out of"),
    amount: str = typer.Option(..., "--amount", help="SEC"),
    to: str | None = typer.Option(
        None, "--to", help="who is paid on the main chain (default: you)"
    ),
    key: str = typer.Option(..., "--key"),
    home: Path = HomeOpt,
) -> None:
    """Take SEC from your balance in an area back to the main chain: the area's next
    anchored block carries it out, the BGC relayer pays it (BorderGateway.withdraw_from_area)."""
    from sec_offchain.area.ledger import PAY, AreaTx

    def run() -> None:
        value = parse_amount(amount)
        recipient = parse_address(to, "--to") if to is not None else None
        account = parse_key(key)
        me = bytes.fromhex(account.address[2:])
        payee = recipient or account.address
        _, suite = _devnet(home, area)
        gw = suite.contract("BorderGateway").functions
        if suite.call(gw.is_paused(area)):
            raise ConfigError(f"area {area} is paused: nothing leaves it")
        limit = int(suite.call(gw.outflow_limit(area)))
        if value > limit:
            # a larger message would wait at the head of the channel and hold back the rest
            raise ConfigError(
                f"at most {format_amount(limit, 'SEC')} can leave area {area} now (its "
                "outflow limit): withdraw less, or in parts"
            )
        _area_tx(
            home,
            key,
            area,
            lambda n: AreaTx(
                PAY, me, area, n, dst_area=0, recipient=bytes.fromhex(payee[2:]), amount=value
            ),
            spend=value,
        )
        console.print(f"{format_amount(value, 'SEC')} to {payee} once the block is anchored")

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

        role, allowed = {
            "ship": ("seller", ("paid",)),
            "confirm": ("buyer", ("paid", "shipped")),
        }[kind_name]

        def run() -> None:
            src, nonce = _ref(ref)
            name = f"{src}:{nonce}"
            me = bytes.fromhex(parse_key(key).address[2:])

            def applies(view: dict[str, Any], address: str) -> None:
                """What the area ledger will assert, read before signing."""
                payment = next((p for p in view["payments"] if p["ref"] == name), None)
                if payment is None:
                    raise ConfigError(f"no payment {name} of {address} in area {area}")
                if payment[role].lower() != address.lower():
                    raise ConfigError(f"{address} is not the {role} of payment {name}")
                if payment["status"] not in allowed:
                    raise ConfigError(
                        f"payment {name} is {payment['status']}, not {' or '.join(allowed)}: "
                        f"cannot {kind_name} it"
                    )

            _area_tx(
                home,
                key,
                area,
                lambda n: AreaTx(kind, me, area, n, ref_src=src, ref_nonce=nonce),
                check=applies,
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
    as_json: bool = JsonOpt,
) -> None:
    """Area totals and channel nonces on chain; with --key (or --account), your balance,
    transactions and payments in each area and the fate of your deposits, messages and
    withdrawals on chain."""

    def run() -> None:
        import rlp

        from sec_offchain.area import net
        from sec_offchain.relayers.run import node_request

        account = parse_key(key) if key is not None else None
        cfg, suite = _devnet(home)
        gw_contract = suite.contract("BorderGateway")
        gw = gw_contract.functions
        ids = [a.area_id for a in cfg.areas]
        areas = [
            {
                "area": str(a),
                "total": str(gw.area_balance(a).call()),
                "paused": bool(gw.is_paused(a).call()),
                "next_nonce": {
                    str(d): int(gw.next_nonce(a, d).call()) for d in [0, *ids] if d != a
                },
            }
            for a in ids
        ]
        data: dict[str, Any] = {"areas": areas}
        if account is not None:
            me = bytes.fromhex(account.address[2:])
            ledgers = []
            for a in ids:
                body = node_request(
                    cfg, a, net.LEDGER_REQ, rlp.encode([me]), net.LEDGER, account.key
                )
                if body is None:
                    ledgers.append({"area": str(a), "answered": False})
                    continue
                view = json.loads(body)
                ledgers.append(
                    {
                        "area": str(a),
                        "answered": True,
                        "height": int(view["height"]),
                        "balance": str(view["balance"]),
                        "transactions_applied": int(view["next_tx_nonce"]) - 1,
                        "transactions": [_tx_json(t) for t in view.get("transactions", [])],
                        "payments": [
                            {
                                "ref": p["ref"],
                                "listing": str(p["listing_id"]),
                                "buyer": to_checksum(p["buyer"]),
                                "seller": to_checksum(p["seller"]),
                                "amount": str(p["amount"]),
                                "status": p["status"],
                            }
                            for p in view["payments"]
                        ],
                    }
                )
            data["account"] = account.address
            data["ledgers"] = ledgers
            data.update(_chain_history(suite, gw_contract, account.address))
        if as_json:
            emit_json(data)
            return
        _print_status(data)

    guarded(run)


def _tx_json(t: dict[str, Any]) -> dict[str, Any]:
    """One of the account's area transactions with its fate, in the `--json` shape."""
    out: dict[str, Any] = {
        "nonce": int(t["nonce"]),
        "kind": "withdraw" if t["kind"] == "pay" and int(t["dst_area"]) == 0 else t["kind"],
        "status": t["status"],
        "block": t["height"],
        "reason": t["reason"],
        "id": t["id"],
    }
    if t["kind"] == "pay":
        out.update(
            dst_area=str(t["dst_area"]),
            recipient=to_checksum(t["recipient"]),
            amount=str(t["amount"]),
            listing=str(t["listing_id"]),
        )
    else:
        out["ref"] = t["ref"]
    return out


def _describe_tx(t: dict[str, Any]) -> str:
    """'tx 2 ship 1:1: refused: only the seller ships a paid order'."""
    if t["kind"] in ("pay", "withdraw"):
        what = f"{t['kind']} {format_amount(int(t['amount']), 'SEC')} to {t['recipient']}"
        if t["kind"] == "pay":
            what += f" in area {t['dst_area']}"
            if t["listing"] != "0":
                what += f" (listing {t['listing']})"
    else:
        what = f"{t['kind']} {t['ref']}"
    fate = {
        "applied": f"applied in block {t['block']}",
        "refused": f"refused: {t['reason']}",
        "pending": "pending",
    }.get(t["status"], t["status"])
    return f"tx {t['nonce']} {what}: {fate}"


def to_checksum(address: str) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address(address)


def _chain_history(suite: Any, gw: Any, me: str) -> dict[str, list[dict[str, Any]]]:
    """What the main chain recorded for `me`: deposits into areas, messages delivered from
    or to `me` between areas, withdrawals to `me`."""
    start = suite.deployment.block

    def where(event: Any) -> dict[str, Any]:
        return {
            "block": int(event["blockNumber"]),
            "tx": "0x" + bytes(event["transactionHash"]).hex(),
        }

    deposits = [
        {"area": str(e["args"]["area_id"]), "amount": str(e["args"]["amount"]), **where(e)}
        for e in gw.events.DepositedToArea.get_logs(
            from_block=start, argument_filters={"account": me}
        )
    ]
    messages = [
        {
            "src_area": str(e["args"]["src_area"]),
            "dst_area": str(e["args"]["dst_area"]),
            "nonce": str(e["args"]["nonce"]),
            "sender": e["args"]["sender"],
            "recipient": e["args"]["recipient"],
            "amount": str(e["args"]["amount"]),
            "status": "delivered",
            **where(e),
        }
        for e in gw.events.MessageDelivered.get_logs(from_block=start)
        if me.lower() in (e["args"]["sender"].lower(), e["args"]["recipient"].lower())
    ]
    withdrawals = [
        {
            "area": str(e["args"]["area_id"]),
            "nonce": str(e["args"]["nonce"]),
            "amount": str(e["args"]["amount"]),
            "status": "paid out",
            **where(e),
        }
        for e in gw.events.WithdrawnFromArea.get_logs(
            from_block=start, argument_filters={"recipient": me}
        )
    ]
    return {"deposits": deposits, "messages": messages, "withdrawals": withdrawals}


def _print_status(data: dict[str, Any]) -> None:
    table = Table(title="BorderGateway")
    for col in ("area", "total", "paused", "next nonce to other areas"):
        table.add_column(col)
    for a in data["areas"]:
        nonces = ", ".join(f"->{d}: {n}" for d, n in a["next_nonce"].items())
        table.add_row(
            a["area"],
            format_amount(int(a["total"]), "SEC"),
            "yes" if a["paused"] else "no",
            nonces,
        )
    console.print(table)
    if "account" not in data:
        return
    for view in data["ledgers"]:
        if not view["answered"]:
            console.print(f"area {view['area']}: no node answers")
            continue
        console.print(
            f"area {view['area']} (height {view['height']}): "
            f"{format_amount(int(view['balance']), 'SEC')}, "
            f"{view['transactions_applied']} of your transactions applied"
        )
        for p in view["payments"]:
            console.print(
                f"  payment {p['ref']}: listing {p['listing']}, "
                f"{format_amount(int(p['amount']), 'SEC')}, {p['status']}"
            )
        for t in view.get("transactions", []):
            console.print(f"  {_describe_tx(t)}", highlight=False)
    for d in data["deposits"]:
        console.print(
            f"deposit into area {d['area']}: {format_amount(int(d['amount']), 'SEC')} "
            f"(block {d['block']})"
        )
    for m in data["messages"]:
        console.print(
            f"message {m['src_area']}->{m['dst_area']} #{m['nonce']}: "
            f"{format_amount(int(m['amount']), 'SEC')} {m['sender']} -> {m['recipient']}, "
            f"delivered (block {m['block']})"
        )
    for w in data["withdrawals"]:
        console.print(
            f"withdrawal from area {w['area']} #{w['nonce']}: "
            f"{format_amount(int(w['amount']), 'SEC')} paid out (block {w['block']})"
        )
