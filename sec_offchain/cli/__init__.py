"""The `sec` command line: deploy the suite, drive escrow auto-contracts, run the demo.

One module per command group (`escrow`, `share`, `judge`, `stake`, `area`, `areas`, `devnet`,
`bgc`, `relay`, `account`, `gateway`; `hosts` for `node`, `relayer`, `bridge` and `watcher`,
the processes of a network) or top-level command (`deploy`, `sim`, `demo`, `trust`); what they
share (options, the chain context, parsers, formatters, consoles, error handling) is in `common`.
This module builds the `app` from them and holds `main`, the console script's entry point.
"""

from __future__ import annotations

import logging
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import typer

from sec_offchain.cli import (
    account,
    area,
    areas,
    bgc,
    demo,
    deploy,
    devnet,
    escrow,
    gateway,
    hosts,
    judge,
    relay,
    share,
    sim,
    stake,
    trust,
    verify,
)
from sec_offchain.cli.common import add_account_options, console, err_console

__all__ = ["app", "main"]

app = typer.Typer(
    help="SEC - Social Ecommerce Chain: escrow auto-contracts and trust indexes.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if not value:
        return
    try:
        text = version("sec-offchain")
    except PackageNotFoundError:
        text = "unknown (not installed)"
    console.print(f"sec {text}", highlight=False)
    raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    show_version: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        help="Print the installed version and exit.",
    ),
    home: Path | None = typer.Option(
        None,
        "--home",
        envvar="SEC_DEVNET",
        help="a devnet home: its profile (written by `sec devnet up`) gives every command "
        "its --home, --rpc, --deployment and --gateway",
    ),
) -> None:
    """SEC - Social Ecommerce Chain: escrow auto-contracts and trust indexes."""
    if home is not None:
        from sec_offchain.cli.common import fail
        from sec_offchain.cli.profile import default_map, profile_values
        from sec_offchain.exceptions import ConfigError

        if home.exists() and not home.is_dir():
            fail(f"--home {home} is not a directory")
        try:
            ctx.default_map = default_map(ctx.command, profile_values(home))
        except ConfigError as exc:
            fail(str(exc))


# Registration order is the order `sec --help` lists them in: commands, then groups.
app.command()(deploy.deploy)
app.command("sim")(sim.sim)
app.command()(demo.demo)
app.command("trust")(trust.trust)
app.command("verify")(verify.verify)
app.add_typer(escrow.escrow_app, name="escrow")
app.add_typer(share.share_app, name="share")
app.add_typer(stake.stake_app, name="stake")
app.add_typer(area.area_app, name="area")
app.add_typer(areas.areas_app, name="areas")
app.add_typer(devnet.devnet_app, name="devnet")
app.add_typer(bgc.bgc_app, name="bgc")
app.add_typer(judge.judge_app, name="judge")
app.add_typer(gateway.gateway_app, name="gateway")
app.add_typer(relay.relay_app, name="relay")
app.add_typer(account.account_app, name="account")
app.add_typer(hosts.node_app, name="node")
app.add_typer(hosts.relayer_app, name="relayer")
app.add_typer(hosts.bridge_app, name="bridge")
app.add_typer(hosts.watcher_app, name="watcher")
# Last: every command registered above that takes `--key` also gets `--account NAME`.
add_account_options(app)


def main() -> None:
    """Runs `sec`: usage errors and failures end as one `error: ...` line on stderr and a
    non-zero exit, never as a traceback (SEC_LOG=DEBUG logs the traceback)."""
    from typer import Abort
    from typer._click.exceptions import ClickException, NoArgsIsHelpError

    from sec_offchain.cli.common import describe, one_line

    logging.basicConfig(level=os.environ.get("SEC_LOG", "WARNING").upper())
    try:
        code = app(prog_name="sec", standalone_mode=False)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except NoArgsIsHelpError as exc:  # `sec escrow` alone: the help, as usual
        from typer import rich_utils

        rich_utils.rich_format_error(exc)
        sys.exit(exc.exit_code)
    except ClickException as exc:
        _error(one_line(exc.format_message()))
        sys.exit(exc.exit_code)
    except Abort:
        _error("aborted")
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the last guard: one line, never a traceback
        logging.getLogger(__name__).debug("unexpected failure", exc_info=True)
        _error(describe(exc))
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _error(message: str) -> None:
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
