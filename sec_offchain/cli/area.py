"""`sec area ...`: anchor area headers, show anchored heights, read your records."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from sec_offchain.cli.common import (
    STATUS_NAMES,
    Context,
    DeploymentOpt,
    KeyOpt,
    RpcOpt,
    console,
    format_amount,
    guarded,
)
from sec_offchain.contracts.client import ETH
from sec_offchain.contracts.deployment import Deployment
from sec_offchain.crypto.keys import from_key
from sec_offchain.exceptions import ConfigError, SecError

area_app = typer.Typer(
    help="Autonomous areas: anchor headers, show anchored heights.", no_args_is_help=True
)


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
