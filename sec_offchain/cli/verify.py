"""`sec verify BUNDLE|URL --rpc URL`: check a proof bundle from an untrusted gateway.

The path is kept light (the standard library's urllib for HTTP, no web3, eth-utils or httpx,
and the verifying half of `gateway.proofs`), so the whole command runs in under a second."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from sec_offchain.cli.common import console, fail, guarded
from sec_offchain.exceptions import ConfigError

ANCHORED_HASH = "anchored_hash(uint256,uint256)"
ANCHORED_HASH_SELECTOR = bytes.fromhex("71c5ed5c")  # keccak256(ANCHORED_HASH)[:4]
ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def _http(url: str, body: bytes | None = None) -> tuple[int, bytes]:
    """(status, body) of a GET (or a JSON POST when `body`); OSError when unreachable.
    http.client for plain http (it loads in a tenth of urllib's time), urllib for https."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if parts.scheme == "http":
        import http.client

        conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=10)
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request("POST" if body is not None else "GET", path, body, headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        except http.client.HTTPException as exc:
            raise OSError(str(exc)) from exc
        finally:
            conn.close()
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _rpc(url: str, method: str, params: list) -> object:
    payload = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    try:
        _, raw = _http(url, json.dumps(payload).encode())
        body = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot reach the node at {url} ({exc.__class__.__name__})") from exc
    if not isinstance(body, dict) or ("error" not in body and "result" not in body):
        raise ConfigError(f"the node at {url} did not answer {method}")
    if "error" in body:
        raise ConfigError(f"the node refused {method}: {body['error'].get('message')}")
    return body["result"]


def _load(source: str) -> object:
    if source.startswith(("http://", "https://")):
        try:
            status, raw = _http(source)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot fetch {source} ({exc.__class__.__name__})") from exc
        text = raw.decode(errors="replace")
        if status != 200:
            raise ConfigError(f"{source} answered {status}: {text[:200]}")
    else:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"no bundle file {source}")
        text = path.read_text()
    try:
        return json.loads(text)
    except ValueError:
        raise ConfigError(f"{source} is not JSON") from None


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
    from sec_offchain.gateway.proofs import (
        BundleError,
        verify_credit_bundle,
        verify_record_bundle,
    )

    if (deployment is None) == (anchor_hub is None):
        fail("give --deployment FILE or --anchor-hub ADDRESS (where the anchored headers are)")
    if anchor_hub is not None and not ADDRESS.match(anchor_hub):
        fail(f"--anchor-hub {anchor_hub} is not an address")

    def run() -> None:
        from sec_offchain.contracts.deployment import Deployment

        dep = Deployment.from_file(deployment) if deployment is not None else None
        hub = anchor_hub or dep.address_of("AnchorHub")  # type: ignore[union-attr]
        data = _load(bundle)
        kind = data.get("kind") if isinstance(data, dict) else None
        if kind == "record" and dep is None:
            fail("a record bundle needs --deployment FILE (its Escrow names the records' domain)")

        def anchored(area: int, height: int) -> bytes:
            call = ANCHORED_HASH_SELECTOR + area.to_bytes(32, "big") + height.to_bytes(32, "big")
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
