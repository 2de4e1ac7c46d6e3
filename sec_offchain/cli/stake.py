"""`sec stake ...`: validator stake, nominations, unbonding, rewards."""

from __future__ import annotations

from pathlib import Path

import typer

from sec_offchain.cli.common import (
    Context,
    DeploymentOpt,
    KeyOpt,
    RpcOpt,
    console,
    fail,
    format_amount,
    format_time,
    format_wait,
    guarded,
    parse_address,
    parse_amount,
)

stake_app = typer.Typer(
    help="Validator staking: stake for an area, unbond, withdraw, rewards.", no_args_is_help=True
)


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
        _say_pending(ctx, ctx.account.address)

    guarded(run)


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
        ctx = Context(rpc, deployment, key)
        who = parse_address(validator, "--validator") if validator else ctx.account.address
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
