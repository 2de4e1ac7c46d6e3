"""`sec deploy`: the whole suite to a JSON-RPC endpoint or an Ape network."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from sec_offchain.cli.common import (
    check_writable,
    console,
    fail,
    guarded,
    one_line,
    parse_duration,
    parse_key,
)
from sec_offchain.contracts.deployment import get_default_path
from sec_offchain.exceptions import ConfigError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from sec_offchain.contracts.deploy import SuiteParams


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
    activation_delay: str = typer.Option(
        "1d",
        "--activation-delay",
        help="how long added validator stake waits before it counts (e.g. 1d, 60s; at least 1s)",
    ),
) -> None:
    """Deploy the whole suite to a JSON-RPC endpoint and write the deployments file."""
    if bool(rpc) == bool(network):
        fail("give exactly one of --rpc URL or --network CHOICE", 2)
    delay = guarded(lambda: parse_duration(activation_delay))
    if delay < 1:
        fail("--activation-delay must be at least 1s", 2)

    def run() -> None:
        from sec_offchain.contracts.deploy import SuiteParams
        from sec_offchain.crypto.keys import get_dev_account
        from sec_offchain.devchain import RpcChain

        account = parse_key(key) if key is not None else get_dev_account(0)
        if out is not None:
            check_writable(out, "--out")
        params = SuiteParams(faucet=not no_faucet, activation_delay=delay)
        if rpc:
            chain = RpcChain(rpc)
            chain.fetch_chain_id()
            _deploy_and_write(chain.w3, account, params, out)
        else:
            from ape import networks
            from ape.exceptions import ApeException

            try:
                choice = networks.parse_network_choice(str(network))
                provider = choice.__enter__()
            except ApeException as exc:
                reason = one_line(exc).split(" Options:")[0]
                raise ConfigError(f"unknown Ape network {network!r}: {reason}") from None
            try:
                _deploy_and_write(provider.web3, account, params, out)
            finally:
                choice.__exit__(None, None, None)

    guarded(run)


def _deploy_and_write(
    w3: Any, account: LocalAccount, params: SuiteParams, out: Path | None
) -> None:
    from sec_offchain.contracts.deploy import deploy_suite

    path = out or get_default_path(int(w3.eth.chain_id))
    check_writable(path, "--out")  # before anything is deployed
    if int(w3.eth.get_balance(account.address)) == 0:
        raise ConfigError(f"account {account.address} has no ETH to pay for gas")
    with console.status("deploying the SEC suite ..."):
        deployment = deploy_suite(w3, account, params, progress=lambda m: console.print(f"  {m}"))
    deployment.save(path)
    console.print(f"[green]deployed[/] to chain {deployment.chain_id}; wrote {path}")
