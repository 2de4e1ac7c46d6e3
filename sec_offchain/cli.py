"""The `sec` command line: deploy the suite, drive escrow auto-contracts, run the demo."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import typer
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table

from sec_offchain.contracts.client import ETH, Suite
from sec_offchain.contracts.deploy import DEV_CHAIN_IDS, SuiteParams, deploy_suite
from sec_offchain.contracts.deployment import Deployment, get_default_path
from sec_offchain.crypto.keys import from_key, get_dev_account
from sec_offchain.devchain import RpcChain
from sec_offchain.exceptions import ConfigError, ContractRevert, SecError

warnings.filterwarnings("ignore", module="pydantic_settings")

app = typer.Typer(
    help="SEC - Social Ecommerce Chain: escrow auto-contracts and trust indexes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
escrow_app = typer.Typer(
    help="Escrow auto-contracts: list, buy, ship, confirm, ...", no_args_is_help=True
)
app.add_typer(escrow_app, name="escrow")
share_app = typer.Typer(
    help="Share a purchase; earn SEC when a friend buys through it within 72 h.",
    no_args_is_help=True,
)
app.add_typer(share_app, name="share")
stake_app = typer.Typer(
    help="Validator staking: stake for an area, unbond, withdraw, rewards.", no_args_is_help=True
)
app.add_typer(stake_app, name="stake")
area_app = typer.Typer(
    help="Autonomous areas: anchor headers, show anchored heights.", no_args_is_help=True
)
app.add_typer(area_app, name="area")
devnet_app = typer.Typer(
    help="A whole network on this machine: anvil, contracts, area nodes, bridge, relayers.",
    no_args_is_help=True,
)
app.add_typer(devnet_app, name="devnet")
bgc_app = typer.Typer(
    help="Cross-area messages (BGC) on a running devnet: deposit, pay, ship, confirm.",
    no_args_is_help=True,
)
app.add_typer(bgc_app, name="bgc")
judge_app = typer.Typer(
    help="Stake as a judge, vote on dispute panels, execute rulings.", no_args_is_help=True
)
app.add_typer(judge_app, name="judge")

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

DEFAULT_RPC = "http://127.0.0.1:8545"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
STATUS_NAMES = ["none", "paid", "shipped", "completed", "cancelled", "disputed", "ruled"]

T = TypeVar("T")


def fail(message: str, code: int = 1) -> None:
    """One line on stderr and a non-zero exit."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def guarded(fn: Callable[[], T]) -> T:
    """Runs `fn`, turning SEC errors and unreachable nodes into one-line errors."""
    try:
        return fn()
    except ContractRevert as exc:
        fail(f"reverted: {exc.reason}")
    except SecError as exc:
        fail(str(exc))
    except (ConnectionError, OSError) as exc:
        fail(f"cannot reach the node: {exc}")
    raise AssertionError("unreachable")


def parse_duration(text: str) -> int:
    """'7d', '36h', '90m', '600s' or plain seconds."""
    text = text.strip().lower()
    try:
        if text and text[-1] in UNITS:
            return int(Decimal(text[:-1]) * UNITS[text[-1]])
        return int(text)
    except (InvalidOperation, ValueError):
        raise ConfigError(f"not a duration: {text!r} (use e.g. 7d, 36h, 3600)") from None


def parse_amount(text: str, decimals: int = 18) -> int:
    """A decimal amount in whole units (0.158 ETH, 158 SEC) to base units."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"not an amount: {text!r}") from None
    base = value * (Decimal(10) ** decimals)
    if base <= 0 or base != base.to_integral_value():
        raise ConfigError(f"amount must be positive with at most {decimals} decimals: {text}")
    return int(base)


def format_amount(value: int, symbol: str, decimals: int = 18) -> str:
    whole = Decimal(value) / (Decimal(10) ** decimals)
    return f"{whole.normalize():f} {symbol}"


def resolve_token(suite: Suite, token: str) -> str:
    name = token.strip().lower()
    if name in ("eth", "", "0x0"):
        return ETH
    if name == "sec":
        return str(suite.token.address)
    if name.startswith("0x") and len(name) == 42:
        return token
    raise ConfigError(f"unknown token {token!r}: use eth, sec or an ERC-20 address")


def token_symbol(suite: Suite, token: str) -> str:
    if token == ETH:
        return "ETH"
    if token.lower() == str(suite.token.address).lower():
        return "SEC"
    return token


class Context:
    """What an escrow command needs: a chain, the deployment on it, and a key."""

    def __init__(self, rpc: str, deployment: Path | None, key: str | None) -> None:
        self.chain = RpcChain(rpc)
        chain_id = self.chain.fetch_chain_id()
        path = deployment or get_default_path(chain_id)
        self.deployment = Deployment.from_file(path)
        if self.deployment.chain_id != chain_id:
            raise ConfigError(
                f"{path} is for chain {self.deployment.chain_id}, but {rpc} is chain {chain_id}"
            )
        self.suite = Suite(self.chain.w3, self.deployment)
        self._key = key
        self.chain_id = chain_id

    @property
    def account(self) -> LocalAccount:
        if self._key:
            return from_key(self._key)
        if self.chain_id in DEV_CHAIN_IDS:
            return get_dev_account(0)
        raise ConfigError(f"--key (or SEC_KEY) is required on chain {self.chain_id}")


RpcOpt = typer.Option(DEFAULT_RPC, "--rpc", envvar="SEC_RPC", help="JSON-RPC endpoint")
DeploymentOpt = typer.Option(
    None,
    "--deployment",
    envvar="SEC_DEPLOYMENT",
    help="deployments file (default deployments/<chain_id>.json)",
)
KeyOpt = typer.Option(
    None,
    "--key",
    envvar="SEC_KEY",
    help="private key (hex) or dev:N; dev:0 by default on dev chains",
)


# --------------------------------------------------------------------------- deploy


@app.command()
def deploy(
    rpc: str | None = typer.Option(None, "--rpc", help="JSON-RPC endpoint to deploy to"),
    network: str | None = typer.Option(
        None,
        "--network",
        help="an Ape network choice instead of --rpc, e.g. ethereum:local:foundry",
    ),
    key: str | None = typer.Option(
        None, "--key", envvar="SEC_KEY", help="deployer key (hex); default: test mnemonic account 0"
    ),
    out: Path | None = typer.Option(
        None, "--out", help="deployments file (default deployments/<chain_id>.json)"
    ),
    no_faucet: bool = typer.Option(
        False, "--no-faucet", help="on a dev chain, do not give test accounts SEC"
    ),
) -> None:
    """Deploy the whole suite to a JSON-RPC endpoint and write the deployments file."""
    if bool(rpc) == bool(network):
        fail("give exactly one of --rpc URL or --network CHOICE", 2)

    def run() -> None:
        account = from_key(key) if key else get_dev_account(0)
        params = SuiteParams(faucet=not no_faucet)
        if rpc:
            chain = RpcChain(rpc)
            chain.fetch_chain_id()
            _deploy_and_write(chain.w3, account, params, out)
        else:
            from ape import networks

            with networks.parse_network_choice(str(network)) as provider:
                _deploy_and_write(provider.web3, account, params, out)

    guarded(run)


def _deploy_and_write(
    w3: Any, account: LocalAccount, params: SuiteParams, out: Path | None
) -> None:
    with console.status("deploying the SEC suite ..."):
        deployment = deploy_suite(w3, account, params, progress=lambda m: console.print(f"  {m}"))
    path = deployment.save(out or get_default_path(deployment.chain_id))
    console.print(f"[green]deployed[/] to chain {deployment.chain_id}; wrote {path}")


# --------------------------------------------------------------------------- escrow


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


# --------------------------------------------------------------------------- shares


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


# --------------------------------------------------------------------------- judges

RULINGS = {"buyer": 1, "fake": 1, "1": 1, "seller": 2, "malicious": 2, "2": 2}


@judge_app.command("stake")
def judge_stake(
    amount: str = typer.Option("1000", "--amount", help="SEC to stake (at least the minimum)"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Stake SEC as a judge."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        receipt = ctx.suite.stake_judge(ctx.account, parse_amount(amount))
        total = int(ctx.suite.call(ctx.suite.staking.functions.judge_stake(ctx.account.address)))
        console.print(f"judge stake now {format_amount(total, 'SEC')} ({receipt['gasUsed']:,} gas)")

    guarded(run)


@judge_app.command("withdraw")
def judge_withdraw(
    amount: str = typer.Option(..., "--amount", help="SEC to withdraw"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Withdraw judge stake (refused while you sit on an open case)."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        receipt = ctx.suite.withdraw_judge(ctx.account, parse_amount(amount))
        console.print(f"withdrew {amount} SEC ({receipt['gasUsed']:,} gas)")

    guarded(run)


@judge_app.command("cases")
def judge_cases(
    judge: str | None = typer.Option(
        None, "--judge", help="only cases with this judge on the panel"
    ),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
) -> None:
    """List Court cases: order, panel, votes, deadline, outcome."""

    def run() -> None:
        ctx = Context(rpc, deployment, None)
        court = ctx.suite.court
        count = int(ctx.suite.call(court.functions.case_count()))
        table = Table()
        for col in ("case", "order", "panel (votes)", "vote deadline", "state"):
            table.add_column(col)
        for case_id in range(1, count + 1):
            panel = ctx.suite.panel_of(case_id)
            if judge and judge.lower() not in (p.lower() for p in panel):
                continue
            order_id, deadline, executed, ruling = ctx.suite.call(court.functions.get_case(case_id))
            votes = [int(ctx.suite.call(court.functions.votes(case_id, p))) for p in panel]
            panel_text = (
                ", ".join(f"{p[:10]}({v or '-'})" for p, v in zip(panel, votes, strict=True))
                or "no panel seated"
            )
            state = f"executed, ruling {ruling}" if executed else "open"
            table.add_row(str(case_id), str(order_id), panel_text, str(deadline), state)
        console.print(table)

    guarded(run)


@judge_app.command("vote")
def judge_vote(
    case_id: int = typer.Argument(..., help="case id"),
    ruling: str = typer.Option(
        ..., "--ruling", help="buyer (fake goods) or seller (malicious complaint)"
    ),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Vote on a case you sit on the panel of."""
    if ruling.lower() not in RULINGS:
        fail(f"--ruling must be buyer or seller, not {ruling!r}", 2)

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        receipt = ctx.suite.vote(ctx.account, case_id, RULINGS[ruling.lower()])
        console.print(f"voted {ruling} on case {case_id} ({receipt['gasUsed']:,} gas)")

    guarded(run)


@judge_app.command("execute")
def judge_execute(
    case_id: int = typer.Argument(..., help="case id"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Apply a case's majority (or ruling 0 after the deadline) through the escrow."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        receipt = ctx.suite.execute_case(ctx.account, case_id)
        ruling = ctx.suite.call(ctx.suite.court.functions.get_case(case_id))[3]
        console.print(f"case {case_id} executed with ruling {ruling} ({receipt['gasUsed']:,} gas)")

    guarded(run)


@judge_app.command("report")
def judge_report(
    evidence: Path = typer.Option(
        ..., "--evidence", help="equivocation evidence file (JSON) from a watcher"
    ),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Prove a validator signed two headers at one height; earn the bounty."""

    def run() -> None:
        from sec_offchain.consensus.evidence import Evidence

        ctx = Context(rpc, deployment, key)
        proof = Evidence.from_file(evidence)
        receipt = ctx.suite.report_equivocation(ctx.account, proof)
        slashed = ctx.suite.events(receipt, "Staking", "Slashed")[0]
        console.print(
            f"validator {slashed['validator']} slashed {format_amount(slashed['amount'], 'SEC')}: "
            f"{format_amount(slashed['burned'], 'SEC')} burned, bounty "
            f"{format_amount(slashed['bounty'], 'SEC')} to you ({receipt['gasUsed']:,} gas)"
        )

    guarded(run)


# --------------------------------------------------------------------------- staking


@stake_app.command("validator")
def stake_validator(
    area: int = typer.Option(..., "--area", help="the area to validate"),
    amount: str = typer.Option("100000", "--amount", help="SEC to stake (at least the minimum)"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Stake SEC as a validator of an area."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        receipt = ctx.suite.stake_validator(ctx.account, area, parse_amount(amount))
        total = int(
            ctx.suite.call(ctx.suite.staking.functions.validator_stake(ctx.account.address))
        )
        console.print(
            f"validator stake in area {area}: {format_amount(total, 'SEC')} "
            f"({receipt['gasUsed']:,} gas)"
        )

    guarded(run)


@stake_app.command("nominate")
def stake_nominate(
    validator: str = typer.Option(..., "--validator", help="the validator to back (address)"),
    amount: str = typer.Option(..., "--amount", help="SEC to nominate"),
    undo: bool = typer.Option(False, "--undo", help="start unbonding this much of your nomination"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Back a validator with SEC (counts in its quorum weight, shares rewards and slashes)."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        staking = ctx.suite.staking
        if undo:
            fn = staking.functions.unnominate(validator, parse_amount(amount))
            receipt = ctx.suite.tx(ctx.account).transact(fn)
        else:
            receipt = ctx.suite.nominate(ctx.account, validator, parse_amount(amount))
        value = int(ctx.suite.call(staking.functions.nomination_of(ctx.account.address, validator)))
        console.print(
            f"your nomination of {validator}: {format_amount(value, 'SEC')} "
            f"({receipt['gasUsed']:,} gas)"
        )

    guarded(run)


@stake_app.command("unbond")
def stake_unbond(
    amount: str = typer.Option(..., "--amount", help="SEC to unbond"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Start unbonding validator stake (withdrawable after the unbonding period)."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        receipt = ctx.suite.unbond(ctx.account, parse_amount(amount))
        release = int(
            ctx.suite.call(ctx.suite.staking.functions.unbonding_release(ctx.account.address))
        )
        console.print(f"unbonding {amount} SEC until {release} ({receipt['gasUsed']:,} gas)")

    guarded(run)


@stake_app.command("withdraw")
def stake_withdraw(
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Withdraw validator stake whose unbonding period is over."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        amount = int(ctx.suite.call(ctx.suite.staking.functions.unbonding_of(ctx.account.address)))
        receipt = ctx.suite.withdraw_stake(ctx.account)
        console.print(f"withdrew {format_amount(amount, 'SEC')} ({receipt['gasUsed']:,} gas)")

    guarded(run)


@stake_app.command("rewards")
def stake_rewards(
    claim: bool = typer.Option(False, "--claim", help="claim them too"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Show (and with --claim, claim) bounties and redistributed slashes."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        amount = int(ctx.suite.call(ctx.suite.staking.functions.claimable(ctx.account.address)))
        console.print(f"claimable: {format_amount(amount, 'SEC')}")
        if claim:
            receipt = ctx.suite.claim_staking(ctx.account)
            console.print(f"claimed ({receipt['gasUsed']:,} gas)")

    guarded(run)


# --------------------------------------------------------------------------- areas


def _root(text: str) -> bytes:
    from sec_offchain.contracts.client import to_bytes32

    return to_bytes32(text) if text else b"\x00" * 32


@area_app.command("anchor")
def area_anchor(
    area: int = typer.Option(..., "--area", help="area id"),
    signer_keys: str = typer.Option(
        ..., "--signer-keys", help="validator keys, comma separated (hex or dev:N)"
    ),
    tx_root: str = typer.Option("", "--tx-root", help="0x-hex root, or text to hash"),
    credit_root: str = typer.Option("", "--credit-root"),
    egress_root: str = typer.Option("", "--egress-root"),
    timestamp: int = typer.Option(0, "--timestamp", help="header time (0: the latest block's)"),
    protection_dir: Path = typer.Option(
        Path(".sec/protection"), "--protection-dir", help="slashing-protection records"
    ),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Build the area's next header, have validators sign it (slashing-protected), anchor it."""

    def run() -> None:
        from sec_offchain.consensus.signer import ValidatorSigner

        ctx = Context(rpc, deployment, key)
        header = ctx.suite.next_header(
            area,
            tx_root=_root(tx_root),
            credit_root=_root(credit_root),
            egress_root=_root(egress_root),
        )
        hub = str(ctx.suite.anchor_hub.address)
        signatures = []
        for item in signer_keys.split(","):
            account = from_key(item)
            signer = ValidatorSigner(
                account.key, protection_dir / f"{account.address}.sqlite", ctx.chain_id, hub
            )
            try:
                signatures.append(signer.sign(header))
            finally:
                signer.close()
        receipt = ctx.suite.anchor(ctx.account, header, signatures)
        console.print(
            f"anchored area {area} height {header.height} with {len(signatures)} signatures "
            f"({receipt['gasUsed']:,} gas)"
        )

    guarded(run)


@area_app.command("status")
def area_status(
    area: int = typer.Option(..., "--area", help="area id"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
) -> None:
    """Show an area's anchored height, latest header hash and validators."""

    def run() -> None:
        ctx = Context(rpc, deployment, None)
        hub, staking = ctx.suite.anchor_hub, ctx.suite.staking
        height = int(ctx.suite.call(hub.functions.latest_height(area)))
        table = Table(show_header=False)
        table.add_row("area", str(area))
        table.add_row("anchored height", str(height))
        table.add_row(
            "latest header",
            "0x" + bytes(ctx.suite.call(hub.functions.anchored_hash(area, height))).hex(),
        )
        table.add_row(
            "bonded stake",
            format_amount(int(ctx.suite.call(staking.functions.area_stake(area))), "SEC"),
        )
        for v in ctx.suite.call(staking.functions.validators_of(area)):
            table.add_row(
                "validator",
                f"{v} {format_amount(int(ctx.suite.call(staking.functions.validator_stake(v))), 'SEC')}",  # noqa: E501
            )
        console.print(table)

    guarded(run)


@area_app.command("records")
def area_records(
    key: str = typer.Option(..., "--key", help="the buyer's private key (hex) or dev:N"),
    home: Path = typer.Option(Path(".sec/devnet"), "--home", help="devnet directory"),
    area: int | None = typer.Option(None, "--area", help="only this area"),
) -> None:
    """Show your own trade records from the area nodes, decrypted with your key."""

    def run() -> None:
        import asyncio

        import rlp

        from sec_offchain.area import net
        from sec_offchain.area.devnet_config import DevnetConfig
        from sec_offchain.area.records import RecordError, TradeRecord, decrypt_details

        cfg_path = home / "devnet.json"
        if not cfg_path.exists():
            raise ConfigError(f"no devnet at {home} (run `sec devnet up` first)")
        cfg = DevnetConfig.load(cfg_path)
        sec_token = Deployment.from_file(Path(cfg.deployments)).address_of("SECToken").lower()
        account = from_key(key)
        me = bytes.fromhex(account.address[2:])
        table = Table(title=f"trade records of {account.address}")
        for col in ("area", "block", "order", "status", "credit", "listing", "price"):
            table.add_column(col)
        found = 0
        for entry in cfg.areas:
            if area is not None and entry.area_id != area:
                continue
            body = None
            for node in entry.nodes:
                try:
                    body = asyncio.run(
                        net.request(
                            "127.0.0.1",
                            node.port,
                            account.key,
                            me,
                            cfg.chain_id,
                            entry.area_id,
                            net.RECORDS_OF,
                            rlp.encode([me]),
                            net.RECORDS,
                            timeout=5,
                        )
                    )
                    break
                except (TimeoutError, OSError, asyncio.IncompleteReadError, net.ProtocolError):
                    continue
            if body is None:
                raise SecError(f"no node of area {entry.area_id} answers")
            for height, raw in rlp.decode(body):
                record = TradeRecord.decode(raw)
                try:
                    d = decrypt_details(account.key, record.ciphertext)
                except RecordError:
                    d = {}
                found += 1
                token = str(d.get("token", "?"))
                symbol = "ETH" if token == ETH else "SEC" if token.lower() == sec_token else token
                price = format_amount(int(d["price"]), symbol) if "price" in d else "?"
                table.add_row(
                    str(entry.area_id),
                    str(int.from_bytes(height, "big")),
                    str(record.order_id),
                    STATUS_NAMES[record.status],
                    f"{record.credit_delta:+d}",
                    str(d.get("listing_id", "?")),
                    price,
                )
        if not found:
            console.print(f"no records for {account.address} yet")
        else:
            console.print(table)

    guarded(run)


@devnet_app.command("up")
def devnet_up(
    areas: int = typer.Option(2, "--areas", help="number of areas"),
    nodes: int = typer.Option(4, "--nodes", help="nodes (= validators) per area"),
    rpc: str | None = typer.Option(None, "--rpc", help="use this chain instead of a new anvil"),
    home: Path = typer.Option(Path(".sec/devnet"), "--home", help="devnet directory"),
    interval: float = typer.Option(2.0, "--interval", help="seconds between area blocks"),
    duration: float | None = typer.Option(None, "--duration", help="stop after this many s"),
    consensus: str = typer.Option("pow", "--consensus", help="pow (communities) | round-robin"),
) -> None:
    """Start anvil (or use --rpc), deploy, stake validators and run the area nodes, the
    escrow bridge (primary + standby), an anchor relayer per area and the BGC relayer until
    Ctrl-C. Blocks come from the community proof of work (`--consensus round-robin` for the
    simple rotation)."""
    from sec_offchain.devnet import up

    if consensus not in ("pow", "round-robin"):
        fail("--consensus is pow or round-robin")
    if consensus == "pow" and interval < 1:
        fail("with --consensus pow a slot (--interval) is at least 1 s")
    guarded(lambda: up(areas, nodes, rpc, home, interval, console, duration, consensus))


@devnet_app.command("status")
def devnet_status(
    home: Path = typer.Option(Path(".sec/devnet"), "--home", help="devnet directory"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Heights, anchored heights, peers and lag of every node of a running devnet."""

    def run() -> None:
        import json

        from sec_offchain.area.devnet_config import DevnetConfig
        from sec_offchain.devnet import status, status_table

        cfg_path = home / "devnet.json"
        if not cfg_path.exists():
            raise ConfigError(f"no devnet at {home} (run `sec devnet up` first)")
        data = status(DevnetConfig.load(cfg_path))
        if as_json:
            console.print_json(json.dumps(data))
        else:
            console.print(status_table(data))

    guarded(run)


HomeOpt = typer.Option(Path(".sec/devnet"), "--home", help="devnet directory")


def _devnet(home: Path):
    from web3 import Web3

    from sec_offchain.area.devnet_config import DevnetConfig

    cfg_path = home / "devnet.json"
    if not cfg_path.exists():
        raise ConfigError(f"no devnet at {home} (run `sec devnet up` first)")
    cfg = DevnetConfig.load(cfg_path)
    suite = Suite(
        Web3(Web3.HTTPProvider(cfg.rpc, request_kwargs={"timeout": 30})),
        Deployment.from_file(Path(cfg.deployments)),
    )
    return cfg, suite


def _area_tx(home: Path, key: str, area: int, build: Callable[[int], Any]) -> None:
    """Signs the area transaction `build(nonce)` and submits it to `area`'s nodes."""
    import json

    import rlp

    from sec_offchain.area import net
    from sec_offchain.relayers.run import node_request

    cfg, _ = _devnet(home)
    account = from_key(key)
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
    try:
        src, nonce = text.split(":")
        return int(src), int(nonce)
    except ValueError as exc:
        raise ConfigError("a payment is named SRC_AREA:NONCE, e.g. 1:1") from exc


@bgc_app.command("deposit")
def bgc_deposit(
    area: int = typer.Option(..., "--area"),
    amount: str = typer.Option(..., "--amount", help="SEC"),
    key: str = typer.Option("dev:0", "--key"),
    home: Path = HomeOpt,
) -> None:
    """Move SEC from your wallet into an area (BorderGateway.deposit_to_area)."""

    def run() -> None:
        _, suite = _devnet(home)
        account, value = from_key(key), parse_amount(amount)
        gw = suite.contract("BorderGateway")
        suite.ensure_allowance(account, gw.address, value)
        r = suite.tx(account).transact(gw.functions.deposit_to_area(area, value))
        console.print(
            f"deposited {format_amount(value, 'SEC')} into area {area} "
            f"({r['gasUsed']:,} gas); the area credits it in its next block"
        )

    guarded(run)


@bgc_app.command("send")
def bgc_send(
    from_area: int = typer.Option(..., "--from-area"),
    to_area: int = typer.Option(..., "--to-area"),
    to: str = typer.Option(..., "--to", help="recipient address (the seller, for a purchase)"),
    amount: str = typer.Option(..., "--amount", help="SEC"),
    listing: int = typer.Option(0, "--listing", help="pay this listing (held until confirmed)"),
    key: str = typer.Option(..., "--key"),
    home: Path = HomeOpt,
) -> None:
    """Send SEC from your balance in one area to another (a payment when --listing)."""
    from sec_offchain.area.ledger import PAY, AreaTx

    def run() -> None:
        if not to.startswith("0x") or len(to) != 42:
            raise ConfigError("--to must be a 0x address")
        me = bytes.fromhex(from_key(key).address[2:])
        value = parse_amount(amount)
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
                recipient=bytes.fromhex(to[2:]),
                amount=value,
                listing_id=listing,
            ),
        )

    guarded(run)


def _ref_command(kind_name: str):
    def command(
        area: int = typer.Option(..., "--area", help="the area holding the payment"),
        ref: str = typer.Option(..., "--ref", help="the payment, SRC_AREA:NONCE"),
        key: str = typer.Option(..., "--key"),
        home: Path = HomeOpt,
    ) -> None:
        from sec_offchain.area.ledger import CONFIRM, SHIP, AreaTx

        kind = {"ship": SHIP, "confirm": CONFIRM}[kind_name]

        def run() -> None:
            src, nonce = _ref(ref)
            me = bytes.fromhex(from_key(key).address[2:])
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
        if key is None:
            return
        account = from_key(key)
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


@app.command("sim")
def sim(
    nodes: int = typer.Option(10_000, "--nodes"),
    communities: int = typer.Option(10, "--communities"),
    slots: int = typer.Option(1000, "--slots"),
    seed: int = typer.Option(1, "--seed"),
    latency: float = typer.Option(0.2, "--latency", help="mean one-way delay, seconds"),
    loss: float = typer.Option(0.0, "--loss", help="share of deliveries lost (pull sync)"),
    partition: str | None = typer.Option(
        None, "--partition", help="FIRST:LAST:FRACTION, e.g. 100:130:0.5 (slots, side size)"
    ),
    attacker: float = typer.Option(0.0, "--attacker", help="attacker's share of hash power"),
    tie_break: str = typer.Option("hash", "--tie-break", help="hash | smallest (the paper)"),
    sweep_trials: int = typer.Option(1000, "--sweep-trials", help="trials per p in the sweep"),
    plot: Path | None = typer.Option(None, "--plot", help="write the plots to this PNG"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run the community consensus over a simulated network and print what it measures."""

    def run() -> None:
        import json

        from sec_offchain.consensus.sim import SimConfig, simulate, sweep

        if not 0 <= attacker < 1 or not 0 <= loss < 1:
            raise ConfigError("--attacker and --loss are shares in [0, 1)")
        if tie_break not in ("hash", "smallest"):
            raise ConfigError("--tie-break is hash or smallest")
        part = None
        if partition:
            try:
                a, b, f = partition.split(":")
                part = (int(a), int(b), float(f))
            except ValueError as exc:
                raise ConfigError("--partition is FIRST:LAST:FRACTION, e.g. 100:130:0.5") from exc
        if nodes < communities or slots < 1:
            raise ConfigError("need at least one node per community and one slot")
        cfg = SimConfig(
            nodes=nodes,
            communities=communities,
            slots=slots,
            seed=seed,
            latency=latency,
            loss=loss,
            partition=part,
            attacker=attacker,
            tie_break=tie_break,
        )
        with console.status(f"simulating {nodes:,} nodes for {slots:,} slots ..."):
            res = simulate(cfg)
        summary = res.summary()
        points = []
        if plot is not None or sweep_trials:
            with console.status("the attack sweep ..."):
                points = sweep([0.05, 0.1, 0.2, 0.3, 0.4, 0.5], sweep_trials, seed, latency)
            summary["attack_sweep"] = {f"{p:.2f}": round(s, 4) for p, s in points}
        if plot is not None:
            from sec_offchain.consensus.sim import plot as draw

            draw(res, points, str(plot))
            summary["plot"] = str(plot)
        if as_json:
            console.print_json(json.dumps(summary))
            return
        table = Table(title=f"sec sim: seed {seed}", show_header=False)
        for k, v in summary.items():
            table.add_row(k, json.dumps(v) if isinstance(v, dict) else str(v))
        console.print(table)

    guarded(run)


# --------------------------------------------------------------------------- demo


@app.command()
def demo() -> None:
    """Narrated walk through the escrow trust loop on the embedded devchain."""
    from sec_offchain.demo import run_demo

    guarded(lambda: run_demo(console))


def main() -> None:
    logging.basicConfig(level=os.environ.get("SEC_LOG", "WARNING"))
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
