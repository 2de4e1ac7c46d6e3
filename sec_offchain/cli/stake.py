"""`sec stake ...`: validator stake, nominations, unbonding, rewards."""

from __future__ import annotations

from pathlib import Path

import typer

from sec_offchain.cli.common import (
    ETH,
    Context,
    DeploymentOpt,
    JsonOpt,
    KeyOpt,
    RpcOpt,
    area_option,
    console,
    emit_json,
    fail,
    format_amount,
    format_time,
    format_wait,
    format_when,
    guarded,
    key_kind,
    parse_amount,
    resolve_account,
)
from sec_offchain.exceptions import ConfigError

# Gas an approve plus the stake after it may take (a funds check before the approve).
APPROVE_AND_STAKE_GAS = 60_000 + 500_000

stake_app = typer.Typer(
    help="Validator staking: stake for an area, unbond, withdraw, rewards.", no_args_is_help=True
)


@stake_app.command("validator")
@key_kind("validator")
def stake_validator(
    area: int = area_option("the area to validate"),
    amount: str = typer.Option("100000", "--amount", help="SEC to stake (at least the minimum)"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Stake SEC as a validator of an area."""

    def run() -> None:
        value = parse_amount(amount)
        ctx = Context(rpc, deployment, key)
        staking = ctx.suite.staking.functions
        me = ctx.account.address
        current = int(ctx.suite.call(staking.area_of(me)))
        if current not in (0, area):
            raise ConfigError(f"{me} validates area {current}, not area {area}")
        if ctx.suite.call(staking.ejected(me)):
            raise ConfigError(f"{me} was ejected as a validator")
        if ctx.suite.call(staking.slasher()) == ETH:
            raise ConfigError("staking has no anchor hub yet: validators cannot stake")
        check_stake_total(
            ctx, int(ctx.suite.call(staking.validator_stake(me))), value, "min_validator_stake"
        )
        check_can_stake(ctx, value)
        receipt = ctx.suite.stake_validator(ctx.account, area, value)
        total = int(
            ctx.suite.call(ctx.suite.staking.functions.validator_stake(ctx.account.address))
        )
        console.print(
            f"validator stake in area {area}: {format_amount(total, 'SEC')} "
            f"({receipt['gasUsed']:,} gas)"
        )
        _say_pending(ctx, ctx.account.address)

    guarded(run)


def check_can_stake(ctx: Context, amount: int) -> None:
    """Before an approve-then-stake: the account is not disabled, holds the SEC and can pay
    the gas of both transactions (a stake that failed would leave the approval behind)."""
    me = ctx.account.address
    if ctx.suite.call(ctx.suite.trust.functions.is_disabled(me)):
        raise ConfigError(f"account {me} is disabled")
    ctx.sec_balance_at_least(amount)
    ctx.gas_for(APPROVE_AND_STAKE_GAS)


def check_stake_total(ctx: Context, current: int, amount: int, minimum_view: str) -> None:
    """The stake after adding `amount` reaches the contract's minimum."""
    minimum = int(ctx.suite.call(getattr(ctx.suite.staking.functions, minimum_view)()))
    if current + amount < minimum:
        raise ConfigError(
            f"below the minimum stake: {format_amount(current, 'SEC')} staked + "
            f"{format_amount(amount, 'SEC')} < {format_amount(minimum, 'SEC')}"
        )


def _say_pending(ctx: Context, validator: str) -> None:
    pending = ctx.suite.pending_of(validator)
    if pending:
        at = ctx.suite.activates_at(validator)
        console.print(
            f"{format_amount(pending, 'SEC')} pending: counts for quorum from "
            f"{format_time(at)} (in {format_wait(at - ctx.chain.now())}); then run "
            "`sec stake activate`"
        )


@stake_app.command("activate")
@key_kind("any")
def stake_activate(
    validator: str | None = typer.Option(
        None, "--validator", help="the validator whose pending stake to activate (default: you)"
    ),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Make pending validator stake (own or nominated) count, once its delay has passed."""

    def run() -> None:
        chosen = resolve_account(validator, "--validator") if validator is not None else None
        ctx = Context(rpc, deployment, key)
        who = chosen or ctx.account.address
        pending = ctx.suite.pending_of(who)
        if pending == 0:
            fail(f"{who} has no pending stake to activate")
        at = ctx.suite.activates_at(who)
        wait = at - ctx.chain.now()
        if wait > 0:
            fail(f"{who}'s pending stake activates at {format_time(at)} (in {format_wait(wait)})")
        receipt = ctx.suite.activate(ctx.account, who)
        weight = int(ctx.suite.call(ctx.suite.staking.functions.pool_stake(who)))
        console.print(
            f"activated {format_amount(pending, 'SEC')} of {who}: quorum weight "
            f"{format_amount(weight, 'SEC')} ({receipt['gasUsed']:,} gas)"
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
        who, value = resolve_account(validator, "--validator"), parse_amount(amount)
        ctx = Context(rpc, deployment, key)
        staking = ctx.suite.staking
        if undo:
            fn = staking.functions.unnominate(who, value)
            receipt = ctx.suite.tx(ctx.account).transact(fn)
        else:
            views = staking.functions
            if (
                int(ctx.suite.call(views.area_of(who))) == 0
                or ctx.suite.call(views.ejected(who))
                or int(ctx.suite.call(views.own_stake(who))) == 0  # pending only: not yet
            ):
                raise ConfigError(f"{who} is not an active validator")
            check_can_stake(ctx, value)
            receipt = ctx.suite.nominate(ctx.account, who, value)
        value = int(ctx.suite.call(staking.functions.nomination_of(ctx.account.address, who)))
        console.print(
            f"your nomination of {who}: {format_amount(value, 'SEC')} ({receipt['gasUsed']:,} gas)"
        )

    guarded(run)


@stake_app.command("unbond")
@key_kind("validator")
def stake_unbond(
    amount: str = typer.Option(..., "--amount", help="SEC to unbond"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Start unbonding validator stake (withdrawable after the unbonding period)."""

    def run() -> None:
        value = parse_amount(amount)
        ctx = Context(rpc, deployment, key)
        receipt = ctx.suite.unbond(ctx.account, value)
        release = int(
            ctx.suite.call(ctx.suite.staking.functions.unbonding_release(ctx.account.address))
        )
        console.print(
            f"unbonding {amount} SEC until {format_when(release, ctx.chain.now())} "
            f"({receipt['gasUsed']:,} gas)"
        )

    guarded(run)


@stake_app.command("withdraw")
@key_kind("validator")
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
@key_kind("any")
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


@stake_app.command("status")
def stake_status(
    account: str = typer.Argument(..., help="the account (0x... or dev:N)"),
    as_json: bool = JsonOpt,
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
) -> None:
    """Show an account's stake: validator (active, pending, unbonding), judge, rewards."""

    def run() -> None:
        who = resolve_account(account, "ACCOUNT")
        ctx = Context(rpc, deployment, None)
        views = ctx.suite.staking.functions
        call = ctx.suite.call
        pending = ctx.suite.pending_of(who)
        data = {
            "account": who,
            "area": str(call(views.area_of(who))),
            "validator_stake": str(call(views.own_stake(who))),
            "pending": str(pending),
            "activates_at": ctx.suite.activates_at(who) if pending else 0,
            "pool_weight": str(call(views.pool_stake(who))),
            "ejected": bool(call(views.ejected(who))),
            "unbonding": str(call(views.unbonding_of(who))),
            "unbonding_release": int(call(views.unbonding_release(who))),
            "judge_stake": str(call(views.judge_stake(who))),
            "claimable": str(call(views.claimable(who))),
        }
        if as_json:
            emit_json(data)
            return
        from rich.table import Table

        now = ctx.chain.now()
        table = Table(show_header=False)
        table.add_row("account", who)
        table.add_row("area", data["area"] if data["area"] != "0" else "none")
        for label, field in (
            ("validator stake", "validator_stake"),
            ("quorum weight (with nominations)", "pool_weight"),
            ("judge stake", "judge_stake"),
            ("claimable rewards", "claimable"),
        ):
            table.add_row(label, format_amount(int(data[field]), "SEC"))
        if pending:
            table.add_row(
                "pending",
                f"{format_amount(pending, 'SEC')}, counts from "
                f"{format_when(int(data['activates_at']), now)}",
            )
        if int(data["unbonding"]):
            table.add_row(
                "unbonding",
                f"{format_amount(int(data['unbonding']), 'SEC')}, withdrawable from "
                f"{format_when(int(data['unbonding_release']), now)}",
            )
        if data["ejected"]:
            table.add_row("ejected", "yes")
        console.print(table)

    guarded(run)
