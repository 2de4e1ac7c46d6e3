"""`sec verify BUNDLE|URL --rpc URL`: check a proof bundle from an untrusted gateway."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from sec_offchain.cli.common import console, fail, guarded

ANCHORED_HASH = "anchored_hash(uint256,uint256)"


def _rpc(url: str, method: str, params: list) -> object:
    import httpx

    try:
        resp = httpx.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=10
        )
        body = resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OSError(f"cannot reach the node at {url} ({exc.__class__.__name__})") from exc
    if "error" in body:
        raise OSError(f"the node refused {method}: {body['error'].get('message')}")
    return body["result"]


def _load(source: str) -> object:
    if source.startswith(("http://", "https://")):
        import httpx

        try:
            resp = httpx.get(source, timeout=10)
        except httpx.HTTPError as exc:
            raise OSError(f"cannot fetch {source} ({exc.__class__.__name__})") from exc
        if resp.status_code != 200:
            detail = resp.text[:200]
            raise OSError(f"{source} answered {resp.status_code}: {detail}")
        text = resp.text
    else:
        path = Path(source)
        if not path.is_file():
            raise OSError(f"no bundle file {source}")
        text = path.read_text()
    try:
        return json.loads(text)
    except ValueError:
        raise OSError(f"{source} is not JSON") from None


def verify(
    bundle: str = typer.Argument(..., help="a proof bundle file or the gateway URL serving it"),
    rpc: str = typer.Option(..., "--rpc", help="JSON-RPC URL of a node you trust"),
    deployment: Path | None = typer.Option(
        None, "--deployment", help="deployments file (where AnchorHub is)"
    ),
    anchor_hub: str | None = typer.Option(
        None, "--anchor-hub", help="AnchorHub address (instead of --deployment)"
    ),
) -> None:
    """Check a proof bundle (a product's credit, or a trade record) against the header
    anchored on chain, trusting nothing from the gateway: two RPC calls (chain id, anchored
    digest)."""
    from eth_utils import is_address, keccak, to_checksum_address

    from sec_offchain.gateway.proofs import (
        BundleError,
        verify_credit_bundle,
        verify_record_bundle,
    )

    if (deployment is None) == (anchor_hub is None):
        fail("give --deployment FILE or --anchor-hub ADDRESS (where the anchored headers are)")
    if anchor_hub is not None and not is_address(anchor_hub):
        fail(f"--anchor-hub {anchor_hub} is not an address")

    def run() -> None:
        from sec_offchain.contracts.deployment import Deployment

        dep = Deployment.from_file(deployment) if deployment is not None else None
        hub = to_checksum_address(anchor_hub or dep.address_of("AnchorHub"))  # type: ignore[union-attr]
        data = _load(bundle)
        kind = data.get("kind") if isinstance(data, dict) else None
        if kind == "record" and dep is None:
            fail("a record bundle needs --deployment FILE (its Escrow names the records' domain)")
        selector = keccak(text=ANCHORED_HASH)[:4]

        def anchored(area: int, height: int) -> bytes:
            call = selector + area.to_bytes(32, "big") + height.to_bytes(32, "big")
            out = str(_rpc(rpc, "eth_call", [{"to": hub, "data": "0x" + call.hex()}, "latest"]))
            raw = bytes.fromhex(out[2:])
            if len(raw) != 32:
                raise BundleError(f"AnchorHub at {hub} did not answer anchored_hash")
            return raw

        def chain_id() -> int:
            return int(str(_rpc(rpc, "eth_chainId", [])), 16)

        try:
            if kind == "record":
                escrow = dep.address_of("Escrow")  # type: ignore[union-attr]
                rec = verify_record_bundle(data, chain_id, anchored, hub, escrow)
            else:
                result = verify_credit_bundle(data, chain_id, anchored, hub)
        except BundleError as exc:
            fail(f"refused: {exc}")
        if kind == "record":
            console.print(
                f"verified: record {rec['record_id']} (order {rec['order_id']}) is in area "
                f"{rec['area_id']} block {rec['height']} (header {rec['header_hash']}); "
                f"ciphertext {rec['ciphertext']}",
                highlight=False,
            )
            return
        console.print(
            f"verified: product {result['product_id']} has credit {result['credit']} in area "
            f"{result['area_id']} at anchored height {result['height']} "
            f"(header {result['header_hash']})",
            highlight=False,
        )

    guarded(run)
