"""`sec area ...`: anchor area headers, show anchored heights, read your records."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from sec_offchain.cli.common import (
    ETH,
    MAX_AREA,
    STATUS_NAMES,
    Context,
    DeploymentOpt,
    JsonOpt,
    KeyOpt,
    RpcOpt,
    area_option,
    check_writable,
    console,
    emit_json,
    format_amount,
    guarded,
    key_kind,
    load_devnet,
    parse_key,
    uint_option,
    unlock_account,
)
from sec_offchain.contracts.deployment import Deployment
from sec_offchain.exceptions import ConfigError, SecError

# Gas of an anchor: a base and each signature's recovery and weight lookup (a funds check).
ANCHOR_GAS = 120_000
ANCHOR_GAS_PER_SIGNER = 15_000

area_app = typer.Typer(
    help="Autonomous areas: anchor headers, show anchored heights.", no_args_is_help=True
)


def _root(text: str, option: str) -> bytes:
    """A header root: 0x and 64 hex digits as is, any other text hashed, empty as zero."""
    from sec_offchain.contracts.client import to_bytes32

    if text.startswith("0x") and len(text) == 66:
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            raise ConfigError(f"{option}: {text!r} is not 0x and 64 hex digits") from None
    return to_bytes32(text) if text else b"\x00" * 32


@area_app.command("anchor")
@key_kind("validator")
def area_anchor(
    area: int = area_option(),
    signer_keys: str = typer.Option(
        "", "--signer-keys", help="validator keys, comma separated (hex or dev:N)"
    ),
    signer_accounts: str = typer.Option(
        "",
        "--signer-accounts",
        help="stored validator keys (`sec account new --validator`), comma separated",
    ),
    tx_root: str = typer.Option("", "--tx-root", help="0x-hex root, or text to hash"),
    credit_root: str = typer.Option("", "--credit-root"),
    egress_root: str = typer.Option("", "--egress-root"),
    timestamp: int = uint_option(0, "--timestamp", help="header time (0: the latest block's)"),
    protection_dir: Path = typer.Option(
        Path(".sec/protection"), "--protection-dir", help="slashing-protection records"
    ),
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
    key: str | None = KeyOpt,
) -> None:
    """Build the area's next header, have validators sign it (slashing-protected), anchor it.

    Nothing is signed before the header is known to anchor: the height and parent come from
    the chain and the signers must hold more than 2/3 of the area's active stake."""

    def run() -> None:
        from sec_offchain.consensus.signer import ValidatorSigner
        from sec_offchain.encoding.area_header import AreaHeader

        if bool(signer_keys) == bool(signer_accounts):
            raise ConfigError("give --signer-keys or --signer-accounts (one of them)")
        if signer_keys:
            signers = [parse_key(item, "--signer-keys") for item in signer_keys.split(",")]
        else:
            signers = [
                unlock_account(item.strip(), "--signer-accounts")
                for item in signer_accounts.split(",")
            ]
        addresses = [s.address for s in signers]
        if len(set(addresses)) != len(addresses):
            raise ConfigError("--signer-keys names a validator twice")
        roots = (
            _root(tx_root, "--tx-root"),
            _root(credit_root, "--credit-root"),
            _root(egress_root, "--egress-root"),
        )
        if protection_dir.exists() and not protection_dir.is_dir():
            raise ConfigError(f"--protection-dir {protection_dir} is not a directory")
        check_writable(protection_dir / "signer.sqlite", "--protection-dir")
        ctx = Context(rpc, deployment, key)
        hub = ctx.suite.anchor_hub.functions
        height = int(ctx.suite.call(hub.latest_height(area))) + 1
        parent = bytes(ctx.suite.call(hub.anchored_hash(area, height - 1)))
        when = timestamp or ctx.chain.now()
        header = AreaHeader(area, height, parent, *roots, timestamp=when)
        stakes, total = ctx.suite.call(ctx.suite.staking.functions.quorum_stakes(area, addresses))
        if total == 0:
            raise ConfigError(f"area {area} has no active validator stake")
        for address, stake in zip(addresses, stakes, strict=True):
            if stake == 0:
                raise ConfigError(f"{address} is not an active validator of area {area}")
        signed = sum(stakes)
        if signed * 3 <= total * 2:
            raise ConfigError(
                f"not enough stake: the signers hold {format_amount(signed, 'SEC')} of "
                f"{format_amount(total, 'SEC')} active in area {area}; more than 2/3 is needed"
            )
        ctx.gas_for(ANCHOR_GAS + ANCHOR_GAS_PER_SIGNER * len(signers))
        hub_address = str(ctx.suite.anchor_hub.address)
        opened = [
            ValidatorSigner(
                account.key, protection_dir / f"{account.address}.sqlite", ctx.chain_id, hub_address
            )
            for account in signers
        ]
        try:
            for signer in opened:
                highest = signer.highest_signed(area)
                if highest > height:
                    raise ConfigError(
                        f"{signer.address} already signed area {area} height {highest}, above "
                        f"the next height {height}: its protection record is ahead of the chain"
                    )
            signatures = [signer.sign(header) for signer in opened]
        finally:
            for signer in opened:
                signer.close()
        receipt = ctx.suite.anchor(ctx.account, header, signatures)
        console.print(
            f"anchored area {area} height {header.height} with {len(signatures)} signatures "
            f"({receipt['gasUsed']:,} gas)"
        )

    guarded(run)


@area_app.command("status")
def area_status(
    area: int = area_option(),
    as_json: bool = JsonOpt,
    rpc: str = RpcOpt,
    deployment: Path | None = DeploymentOpt,
) -> None:
    """Show an area's anchored height, latest header hash and validators."""

    def run() -> None:
        ctx = Context(rpc, deployment, None)
        hub, staking = ctx.suite.anchor_hub.functions, ctx.suite.staking.functions
        height = int(ctx.suite.call(hub.latest_height(area)))
        latest = "0x" + bytes(ctx.suite.call(hub.anchored_hash(area, height))).hex()
        bonded = int(ctx.suite.call(staking.area_stake(area)))
        validators = [
            (str(v), int(ctx.suite.call(staking.validator_stake(v))))
            for v in ctx.suite.call(staking.validators_of(area))
        ]
        if as_json:
            emit_json(
                {
                    "area": str(area),
                    "anchored_height": height,
                    "latest_header": latest,
                    "bonded_stake": str(bonded),
                    "validators": [{"address": v, "stake": str(st)} for v, st in validators],
                }
            )
            return
        table = Table(show_header=False)
        table.add_row("area", str(area))
        table.add_row("anchored height", str(height))
        table.add_row("latest header", latest)
        table.add_row("bonded stake", format_amount(bonded, "SEC"))
        for v, st in validators:
            table.add_row("validator", f"{v} {format_amount(st, 'SEC')}")
        console.print(table)

    guarded(run)


@area_app.command("records")
def area_records(
    key: str = typer.Option(..., "--key", help="the buyer's private key (hex) or dev:N"),
    home: Path = typer.Option(Path(".sec/devnet"), "--home", help="devnet directory"),
    area: int | None = typer.Option(None, "--area", help="only this area", min=1, max=MAX_AREA),
    as_json: bool = JsonOpt,
) -> None:
    """Show your own trade records from the area nodes, decrypted with your key."""

    def run() -> None:
        import asyncio

        import rlp

        from sec_offchain.area import net
        from sec_offchain.area.records import RecordError, TradeRecord, decrypt_details

        account = parse_key(key)
        cfg = load_devnet(home)
        if area is not None and area not in [a.area_id for a in cfg.areas]:
            raise ConfigError(f"no area {area} in the devnet at {home}")
        sec_token = Deployment.from_file(Path(cfg.deployments)).address_of("SECToken").lower()
        me = bytes.fromhex(account.address[2:])
        table = Table(title=f"trade records of {account.address}")
        for col in ("area", "block", "order", "status", "credit", "listing", "price"):
            table.add_column(col)
        found = 0
        rows: list[dict[str, object]] = []
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
                rows.append(
                    {
                        "area": str(entry.area_id),
                        "block": int.from_bytes(height, "big"),
                        "order": str(record.order_id),
                        "status": STATUS_NAMES[record.status],
                        "credit_delta": record.credit_delta,
                        # None: the details did not decrypt with this key
                        "listing": str(d["listing_id"]) if "listing_id" in d else None,
                        "token": token if "token" in d else None,
                        "symbol": symbol if "token" in d else None,
                        "price": str(int(d["price"])) if "price" in d else None,
                    }
                )
                table.add_row(
                    str(entry.area_id),
                    str(int.from_bytes(height, "big")),
                    str(record.order_id),
                    STATUS_NAMES[record.status],
                    f"{record.credit_delta:+d}",
                    str(d.get("listing_id", "?")),
                    price,
                )
        if as_json:
            emit_json(rows)
        elif not found:
            console.print(f"no records for {account.address} yet")
        else:
            console.print(table)

    guarded(run)
