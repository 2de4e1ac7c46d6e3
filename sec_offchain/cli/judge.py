"""`sec judge ...`: judge stake, dispute panels, rulings, equivocation reports."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from sec_offchain.cli.common import (
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
    format_wait,
    guarded,
    parse_amount,
    resolve_account,
    uint_argument,
)

judge_app = typer.Typer(
    help="Stake as a judge, vote on dispute panels, execute rulings.", no_args_is_help=True
)


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
        from sec_offchain.cli.stake import check_can_stake, check_stake_total

        value = parse_amount(amount)
        ctx = Context(rpc, deployment, key)
        staked = int(ctx.suite.call(ctx.suite.staking.functions.judge_stake(ctx.account.address)))
        check_stake_total(ctx, staked, value, "min_judge_stake")
        check_can_stake(ctx, value)
        receipt = ctx.suite.stake_judge(ctx.account, value)
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
        value = parse_amount(amount)
        ctx = Context(rpc, deployment, key)
        receipt = ctx.suite.withdraw_judge(ctx.account, value)
        console.print(f"withdrew {amount} SEC ({receipt['gasUsed']:,} gas)")

    guarded(run)


@judge_app.command("cases")
def judge_cases(
    judge: str | None = typer.Option(
        None, "--judge", help="only cases with this judge (address or dev:N) on the panel"
    ),
    as_json: bool = JsonOpt,
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
) -> None:
    """List Court cases: order, draw, panel, votes, time left to vote, outcome."""

    def run() -> None:
        only = resolve_account(judge, "--judge") if judge is not None else None
        ctx = Context(rpc, deployment, None)
        court = ctx.suite.court
        opened = court.events.CaseOpened.get_logs(from_block=ctx.deployment.block)
        drawn = {
            int(e["args"]["case_id"]): list(e["args"]["panel"])
            for e in court.events.PanelDrawn.get_logs(from_block=ctx.deployment.block)
        }
        cases = []
        for event in opened:
            case_id = int(event["args"]["case_id"])
            panel = drawn.get(case_id, [])
            if only and only.lower() not in (p.lower() for p in panel):
                continue
            order_id, deadline, executed, ruling = ctx.suite.call(court.functions.get_case(case_id))
            cases.append(
                {
                    "case": str(case_id),
                    "order": str(order_id),
                    "draw_block": ctx.suite.draw_block(case_id),
                    "drawn": case_id in drawn,
                    "panel": panel,
                    "votes": [
                        int(ctx.suite.call(court.functions.votes(case_id, p))) for p in panel
                    ],
                    "vote_deadline": int(deadline),
                    "executed": bool(executed),
                    "ruling": int(ruling),
                }
            )
        if as_json:
            emit_json(cases)
            return
        now = ctx.chain.now()
        table = Table()
        for col in ("case", "order", "panel (votes)", "vote deadline", "state"):
            table.add_column(col)
        for c in cases:
            if c["drawn"]:
                panel_text = (
                    ", ".join(
                        f"{p[:10]}({v or '-'})" for p, v in zip(c["panel"], c["votes"], strict=True)
                    )
                    or "no panel seated"
                )
                deadline = c["vote_deadline"]
                left = f"{format_time(deadline)} ({format_wait(deadline - now)} left)"
            else:
                panel_text = (
                    f"not drawn yet: `sec judge draw {c['case']}` after block {c['draw_block']}"
                )
                left = "runs from the draw"
            state = f"executed, ruling {c['ruling']}" if c["executed"] else "open"
            table.add_row(str(c["case"]), str(c["order"]), panel_text, left, state)
        console.print(table)

    guarded(run)


@judge_app.command("draw")
def judge_draw(
    case_id: int = uint_argument("case id (the disputed order's id)"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Seat a case's panel from the hash of its draw block (anyone, once that block exists)."""

    def run() -> None:
        ctx = Context(rpc, deployment, key)
        order_id = ctx.suite.call(ctx.suite.court.functions.get_case(case_id))[0]
        if order_id == 0:
            fail(f"no case {case_id}")
        if ctx.suite.vote_deadline(case_id) != 0:
            fail(f"case {case_id} is already drawn")
        draw_block = ctx.suite.draw_block(case_id)
        block = ctx.chain.w3.eth.block_number
        if block < draw_block:  # the draw runs in the next block, which must be after it
            fail(
                f"too early: case {case_id} is drawn from the hash of block {draw_block}; "
                f"the chain is at block {block}"
            )
        receipt = ctx.suite.draw(ctx.account, case_id)
        rearmed = ctx.suite.events(receipt, "Court", "DrawRearmed")
        if rearmed:
            console.print(
                f"block {draw_block}'s hash has expired: the draw moves to block "
                f"{rearmed[0]['draw_block']} ({receipt['gasUsed']:,} gas)"
            )
            return
        panel = ctx.suite.events(receipt, "Court", "PanelDrawn")[0]
        seated = ", ".join(panel["panel"]) or "no panel (too few eligible judges)"
        console.print(
            f"case {case_id} panel: {seated}; votes until {format_time(panel['vote_deadline'])} "
            f"({receipt['gasUsed']:,} gas)"
        )

    guarded(run)


@judge_app.command("vote")
def judge_vote(
    case_id: int = uint_argument("case id"),
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
    case_id: int = uint_argument("case id"),
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
