"""`sec relay ...`: sign a request for a relayer (the signer needs no ETH) and submit one as
the relayer (who pays the gas, under the sponsorship policy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from sec_offchain.cli.common import (
    Context,
    DeploymentOpt,
    KeyOpt,
    RpcOpt,
    check_writable,
    console,
    guarded,
    parse_address,
    uint_option,
)
from sec_offchain.exceptions import ConfigError

relay_app = typer.Typer(
    help="Gasless actions: sign a request for a relayer, or relay one.", no_args_is_help=True
)

# Where a function name is looked up when --contract is not given (first match wins).
CONTRACT_ORDER = ("Escrow", "ShareRewards", "Court")


def _find_function(ctx: Context, name: str, contract: str | None) -> tuple[str, dict[str, Any]]:
    names = (contract,) if contract else CONTRACT_ORDER
    for cname in names:
        if cname not in ctx.deployment.contracts:
            raise ConfigError(f"no contract {cname} in the deployment")
        for item in ctx.suite.contract(cname).abi:
            if item.get("type") == "function" and item.get("name") == name:
                return cname, item
    where = contract or " or ".join(CONTRACT_ORDER)
    raise ConfigError(f"{where} has no function {name!r}")


def _parse_arg(text: str, abi_type: str, name: str) -> Any:
    from sec_offchain.contracts.client import to_bytes32

    if abi_type.startswith(("uint", "int")):
        try:
            return int(text, 0)
        except ValueError:
            raise ConfigError(f"argument {name} must be an integer, not {text!r}") from None
    if abi_type == "bytes32":
        return to_bytes32(text)
    if abi_type == "address":
        return parse_address(text, name)
    if abi_type == "bool":
        if text.lower() not in ("true", "false", "1", "0"):
            raise ConfigError(f"argument {name} must be true or false, not {text!r}")
        return text.lower() in ("true", "1")
    raise ConfigError(f"argument {name} of type {abi_type} cannot be given on the command line")


@relay_app.command("sign")
def relay_sign(
    function: str = typer.Argument(
        ..., help="the function to call, e.g. confirm, ship, share, claim, vote, buy_signed"
    ),
    args: list[str] = typer.Argument(None, help="its arguments, in order"),
    contract: str | None = typer.Option(
        None, "--contract", help="Escrow, ShareRewards or Court (default: the first that has it)"
    ),
    listing: str | None = typer.Option(
        None, "--listing", help="for buy_signed / cancel_signed_listing: the signed listing"
    ),
    share: int = uint_option(0, "--share", help="buy_signed: the share it came through"),
    out: Path = typer.Option(..., "--out", help="write the signed request (JSON) here"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Sign a forward request (and, for buy_signed of an SEC listing, a permit for exactly
    its price) for a relayer to submit: the signer pays nothing and needs no ETH."""

    def run() -> None:
        from sec_offchain.relay.requests import build_request_file

        check_writable(out, "--out")
        ctx = Context(rpc, deployment, key)
        account = ctx.account
        permit = None
        if function in ("buy_signed", "cancel_signed_listing"):
            from sec_offchain.listings import load_listing
            from sec_offchain.relay.actions import (
                sign_relayed,
                sign_relayed_buy,
                validate_for_suite,
            )

            if listing is None or args:
                raise ConfigError(f"{function} takes --listing LINK|FILE and no arguments")
            signed = load_listing(listing)
            validate_for_suite(ctx.suite, signed)
            if function == "buy_signed":
                request, signature, permit = sign_relayed_buy(ctx.suite, account, signed, share)
            else:
                fn = ctx.suite.escrow.functions.cancel_signed_listing(signed.listing.as_tuple())
                request, signature = sign_relayed(ctx.suite, account, fn)
        else:
            from sec_offchain.relay.actions import sign_relayed

            if listing is not None:
                raise ConfigError("--listing is only for buy_signed and cancel_signed_listing")
            cname, item = _find_function(ctx, function, contract)
            given = args or []
            inputs = item["inputs"]
            if len(given) != len(inputs):
                wanted = ", ".join(f"{i['name']} ({i['type']})" for i in inputs) or "none"
                raise ConfigError(
                    f"{cname}.{function} takes {len(inputs)} argument(s): {wanted}; "
                    f"{len(given)} given"
                )
            values = [
                _parse_arg(t, i["type"], i["name"]) for t, i in zip(given, inputs, strict=True)
            ]
            fn = getattr(ctx.suite.contract(cname).functions, function)(*values)
            request, signature = sign_relayed(ctx.suite, account, fn)
        body = build_request_file(
            request, signature, ctx.chain_id, str(ctx.suite.forwarder.address), permit
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(body, indent=2) + "\n")
        extra = " with a permit" if permit is not None else ""
        console.print(
            f"signed {function} as {account.address} (nonce {request.nonce}, gas {request.gas:,},"
            f" valid until {request.deadline}){extra}: request {body['hash']}; wrote {out}",
            highlight=False,
        )

    guarded(run)


@relay_app.command("submit")
def relay_submit(
    request_file: Path = typer.Argument(..., help="a request file from `sec relay sign`"),
    db: Path = typer.Option(
        Path(".sec/relay.db"), "--db", help="the relayer's queue and decision log (SQLite)"
    ),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="wait until it is mined"),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Relay a signed request as the relayer (--key pays the gas), under the default
    sponsorship policy; exits non-zero when it is refused, reverts or is dropped."""

    def run() -> None:
        from sec_offchain.relay.core import RelayerCore

        try:
            body = json.loads(request_file.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read {request_file}: {exc.strerror}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{request_file} is not a request file: {exc}") from None
        if not isinstance(body, dict) or "request" not in body or "signature" not in body:
            raise ConfigError(f"{request_file} is not a request file (no request and signature)")
        ctx = Context(rpc, deployment, key)
        forwarder = str(ctx.suite.forwarder.address)
        if body.get("chain_id") != ctx.chain_id:
            raise ConfigError(
                f"the request is for chain {body.get('chain_id')}, not {ctx.chain_id}"
            )
        if str(body.get("forwarder", "")).lower() != forwarder.lower():
            raise ConfigError(
                f"the request is for forwarder {body.get('forwarder')}, not {forwarder}"
            )
        ctx.gas_for(600_000)
        core = RelayerCore.for_suite(ctx.suite, ctx.account, db)
        try:
            outcome = core.submit(body["request"], body["signature"], body.get("permit"))
            if outcome.status == "refused":
                raise ConfigError(outcome.reason)
            console.print(f"request {outcome.hash}: {outcome.status} ({outcome.tx_hash})")
            if wait and not outcome.final:
                outcome = core.wait(outcome.hash)
            if outcome.final:
                gas = f", {outcome.gas_used:,} gas" if outcome.gas_used else ""
                console.print(f"request {outcome.hash}: {outcome.status}: {outcome.reason}{gas}")
            if outcome.status in ("reverted", "dropped"):
                raise typer.Exit(1)
        finally:
            core.close()

    guarded(run)
