"""The web app's side of the gateway: the pages (plain ES modules under `web/`, no build step),
the one browser library they use (ethers, pinned in package.json, served from node_modules),
and the write endpoints they call:

* `POST /v1/listings` — a listing signed by the seller's own wallet: the signature, the chain
  and Escrow, the seller's standing and the terms are checked as `Escrow.buy_signed` would check
  them; the listing is kept and its link returned (`<gateway>/l/<code>`, what its QR opens).
* `GET /v1/signed-listings/{code}` — what a link carries, verified, with its state on chain.
* `GET /v1/signed-listings?seller=` — a seller's posted listings.
* `POST /v1/relay`, `GET /v1/relay/{hash}` — a user's signed forward request (and permit) handed
  to the relayer core; refusals are 4xx problems carrying the policy's reason.
* `GET /v1/config` — chain, contract addresses and token facts the pages need.
* `GET /v1/qr.svg?text=` — a QR code as SVG.

The gateway never holds a user's key: every signature comes from the visitor's wallet.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from web3 import Web3

from sec_offchain.listings import (
    ETH,
    ListingError,
    SignedListing,
    decode_code,
    encode_code,
)

WEB_DIR = Path(__file__).with_name("web")
PAGES = ("index", "post", "listing", "orders", "judge", "dashboard")
LISTING_MAX_LIFE = 366 * 86_400  # a posted listing expires within a year
POSTED_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS posted_listings (digest TEXT PRIMARY KEY, seller TEXT NOT NULL,"
    " code TEXT NOT NULL, data TEXT NOT NULL, posted_at BIGINT NOT NULL)"
)


def find_node_modules() -> Path:
    """node_modules of the project: $SEC_PROJECT_ROOT's, else beside the package."""
    root = os.environ.get("SEC_PROJECT_ROOT")
    candidates = [Path(root)] if root else []
    candidates.append(Path(__file__).resolve().parents[2])
    candidates.append(Path.cwd())
    for c in candidates:
        if (c / "node_modules" / "ethers" / "dist" / "ethers.min.js").is_file():
            return c / "node_modules"
    return candidates[0] / "node_modules"


def render_qr_svg(text: str) -> str:
    import qrcode
    import qrcode.image.svg

    qr = qrcode.QRCode(
        border=2,
        error_correction=qrcode.constants.ERROR_CORRECT_L,
        image_factory=qrcode.image.svg.SvgPathImage,
    )
    qr.add_data(text)
    qr.make(fit=True)
    out = io.BytesIO()
    qr.make_image().save(out)
    return out.getvalue().decode()


class RelayHandle:
    """The relayer core behind a lock (its SQLite file and nonce are shared by requests)."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self.lock = threading.Lock()

    def submit(self, body: dict[str, Any]) -> Any:
        with self.lock:
            return self.core.submit(body["request"], body["signature"], body.get("permit"))

    def get(self, request_hash: str) -> Any:
        with self.lock:
            self.core.poll()
            return self.core.get(request_hash)

    def stats(self) -> dict[str, int]:
        """Requests by state: queued and pending are the queue; reverted and dropped the
        failures; refused the requests the policy turned away."""
        with self.lock:
            db = self.core.store.db
            counts = dict(db.execute("SELECT status, COUNT(*) FROM requests GROUP BY status"))
            refused = db.execute("SELECT COUNT(*) FROM decisions WHERE allowed = 0").fetchone()
        states = ("queued", "pending", "mined", "reverted", "dropped")
        return {**{s: int(counts.get(s, 0)) for s in states}, "refused": int(refused[0])}


def build_web_router(ctx: Any, relay: RelayHandle | None = None) -> APIRouter:
    """The write endpoints and helpers under /v1 (see the module docstring)."""
    from sec_offchain.gateway import models
    from sec_offchain.gateway.app import PROBLEM, Problem

    router = APIRouter()
    refused = {
        403: {"model": models.Problem, "content": {PROBLEM: {}}},
    }
    with ctx.store.transaction() as tx:
        tx.execute(POSTED_SCHEMA)

    def escrow_address() -> str:
        return Web3.to_checksum_address(ctx.deployment.contracts["Escrow"].address)

    def token_info(token: str) -> dict[str, Any]:
        if token == ETH:
            return {"address": ETH, "symbol": "ETH", "decimals": 18, "name": "Ether"}
        sec = ctx.deployment.contracts.get("SECToken")
        if sec is not None and sec.address.lower() == token.lower():
            c = ctx.contract("SECToken")
            return {
                "address": Web3.to_checksum_address(token),
                "symbol": str(c.functions.symbol().call()),
                "decimals": int(c.functions.decimals().call()),
                "name": str(c.functions.name().call()),
            }
        return {"address": Web3.to_checksum_address(token), "symbol": "?", "decimals": 18}

    def validate_terms(signed: SignedListing) -> None:
        """What `buy_signed` would refuse, refused now (400/403/409 with the reason)."""
        if signed.chain_id != ctx.deployment.chain_id:
            raise Problem(
                400,
                "Bad Request",
                f"the listing is for chain {signed.chain_id}, "
                f"this gateway serves chain {ctx.deployment.chain_id}",
            )
        if signed.escrow.lower() != escrow_address().lower():
            raise Problem(
                400, "Bad Request", f"the listing is for another Escrow ({signed.escrow})"
            )
        escrow = ctx.contract("Escrow")
        listing = signed.listing
        if escrow.functions.disabled(listing.seller).call():
            raise Problem(403, "Forbidden", f"the seller {listing.seller} is disabled")
        if listing.price > int(escrow.functions.MAX_PRICE().call()):
            raise Problem(400, "Bad Request", "the price is larger than the Escrow accepts")
        if listing.token != ETH and not escrow.functions.allowed_token(listing.token).call():
            raise Problem(400, "Bad Request", f"the token {listing.token} is not accepted")
        lo, hi = (
            int(escrow.functions.MIN_AUTO_COMPLETE().call()),
            int(escrow.functions.MAX_AUTO_COMPLETE().call()),
        )
        if listing.auto_complete and not lo <= listing.auto_complete <= hi:
            raise Problem(
                400,
                "Bad Request",
                f"auto-complete must be between {_span(lo)} and {_span(hi)}",
            )
        lo, hi = (
            int(escrow.functions.MIN_SHIP_WINDOW().call()),
            int(escrow.functions.MAX_SHIP_WINDOW().call()),
        )
        if listing.ship_window and not lo <= listing.ship_window <= hi:
            raise Problem(
                400,
                "Bad Request",
                f"the ship window must be between {_span(lo)} and {_span(hi)}",
            )
        now = int(ctx.w3.eth.get_block("latest")["timestamp"])
        if listing.expiry <= now:
            raise Problem(400, "Bad Request", f"the listing expired at {listing.expiry}")
        if listing.expiry > now + LISTING_MAX_LIFE:
            raise Problem(400, "Bad Request", "the listing must expire within a year")

    def state_of(signed: SignedListing) -> dict[str, Any]:
        listing_id, sold, cancelled = (
            ctx.contract("Escrow").functions.signed_listing(signed.digest).call()
        )
        return {"listing_id": int(listing_id), "sold": int(sold), "cancelled": bool(cancelled)}

    def describe(signed: SignedListing, request: Request) -> dict[str, Any]:
        code = encode_code(signed)
        data = signed.to_json()
        data["code"] = code
        data["link"] = str(request.base_url).rstrip("/") + "/l/" + code
        data["token"] = token_info(signed.listing.token)
        data["state"] = state_of(signed)
        data["typed_data"] = _typed(signed)
        # where the seller's trade records (and so the product's credit) live: the area the
        # bridge writes them to; None when this gateway watches no areas (no --devnet)
        devnet = getattr(ctx, "devnet", None)
        data["credit_area"] = devnet.area_of(signed.listing.seller) if devnet else None
        return data

    @router.post("/listings", status_code=201, tags=["web"], responses=refused)
    def post_listing(request: Request, body: dict[str, Any] = Body(...)):  # noqa: B008
        """A listing the seller's wallet signed (the JSON `SignedListing.to_json` writes:
        chain_id, escrow, listing, signature, description). 201 with its link; 400 for a
        bad signature or terms, 403 for a disabled seller."""
        try:
            signed = SignedListing.from_json(body)
        except ListingError as exc:
            raise Problem(400, "Bad Request", str(exc)) from None
        validate_terms(signed)
        data = describe(signed, request)
        digest = data["digest"]
        with ctx.store.transaction() as tx:
            if not tx.execute("SELECT 1 FROM posted_listings WHERE digest = ?", [digest]):
                tx.execute(
                    "INSERT INTO posted_listings (digest, seller, code, data, posted_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [
                        digest,
                        signed.listing.seller.lower(),
                        data["code"],
                        json.dumps(signed.to_json()),
                        time.time_ns(),  # ns: two listings posted in one second keep their order
                    ],
                )
        return data

    @router.get("/signed-listings", tags=["web"])
    def list_signed(
        request: Request,
        seller: str | None = Query(None, pattern=r"^0x[0-9a-fA-F]{40}$"),
        digest: str | None = Query(None, pattern=r"^0x[0-9a-fA-F]{64}$"),
    ):
        """The listings posted through this gateway by `seller`, or the one with `digest`,
        newest first."""
        if (seller is None) == (digest is None):
            raise Problem(400, "Bad Request", "give exactly one of seller and digest")
        column, value = ("seller", seller) if seller else ("digest", digest)
        rows = ctx.store.query(
            f"SELECT code FROM posted_listings WHERE {column} = ? ORDER BY posted_at DESC, digest",
            [(value or "").lower()],
        )
        return {"items": [describe(decode_code(r[0]), request) for r in rows]}

    @router.get("/signed-listings/{code}", tags=["web"])
    def get_signed(request: Request, code: str):
        """A listing link's code decoded and verified (seller's signature, low s), with the
        token, the listing's state on chain and the typed data its seller signed."""
        if len(code) > 1000:
            raise Problem(400, "Bad Request", "listing link: the code is too long")
        try:
            signed = decode_code(code)
        except ListingError as exc:
            raise Problem(400, "Bad Request", str(exc)) from None
        if signed.chain_id != ctx.deployment.chain_id or (
            signed.escrow.lower() != escrow_address().lower()
        ):
            raise Problem(
                404, "Not Found", "the listing is for another chain or Escrow than this gateway's"
            )
        return describe(signed, request)

    @router.get("/config", tags=["web"])
    def get_config():
        """Chain id, contract addresses and the SEC token's facts, for the pages."""
        contracts = {n: r.address for n, r in ctx.deployment.contracts.items()}
        sec = ctx.deployment.contracts.get("SECToken")
        return {
            "chain_id": ctx.deployment.chain_id,
            "contracts": contracts,
            "sec": token_info(sec.address) if sec is not None else None,
            "relay": relay is not None,
            "relayer": relay.core.relayer.address if relay is not None else None,
            "public_rpc": getattr(ctx, "public_rpc", None),
        }

    @router.get(
        "/qr.svg",
        tags=["web"],
        response_class=Response,
        responses={200: {"content": {"image/svg+xml": {}}}},
    )
    def get_qr(text: str = Query(..., min_length=1, max_length=1500)):
        """`text` as a QR code (SVG)."""
        return Response(render_qr_svg(text), media_type="image/svg+xml")

    @router.post("/relay", status_code=202, tags=["relay"])
    def post_relay(body: dict[str, Any] = Body(...)):  # noqa: B008
        """A signed forward request (`request`, `signature`, and `permit` for an SEC
        purchase) for the relayer: 202 with its hash and state; 404 when this gateway runs no
        relayer; 422 with the policy's reason when it is refused."""
        if relay is None:
            raise Problem(404, "Not Found", "this gateway runs no relayer")
        if not isinstance(body.get("request"), dict) or not isinstance(body.get("signature"), str):
            raise Problem(400, "Bad Request", "a relay body has a request and a signature")
        outcome = relay.submit(body)
        if outcome.status == "refused":
            raise Problem(422, "Unprocessable Content", outcome.reason.removeprefix("refused: "))
        return outcome.to_json()

    @router.get("/relay/{request_hash}", tags=["relay"])
    def get_relay(request_hash: str):
        """What became of a relayed request (pending, mined, reverted with the reason,
        dropped)."""
        if relay is None:
            raise Problem(404, "Not Found", "this gateway runs no relayer")
        outcome = relay.get(request_hash)
        if outcome is None:
            raise Problem(404, "Not Found", f"request {request_hash} not known to this relayer")
        return outcome.to_json()

    return router


def _span(seconds: int) -> str:
    """3600 -> "1 hour", 90 * 86400 -> "90 days"."""
    for unit, size in (("day", 86_400), ("hour", 3600), ("second", 1)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


def _typed(signed: SignedListing) -> dict[str, Any]:
    from sec_offchain.listings import build_typed_data

    data = build_typed_data(signed.listing, signed.chain_id, signed.escrow)
    for name, value in data["message"].items():
        if isinstance(value, int):
            data["message"][name] = str(value)
    return data


def mount_web(app: FastAPI) -> None:
    """The pages: `/` (home), `/app/<page>.html`, `/l/<code>` (a listing link) and
    `/vendor/ethers.js`."""
    node_modules = find_node_modules()

    @app.get("/", include_in_schema=False)
    def home():
        return RedirectResponse("/app/index.html")

    @app.get("/l/{code}", include_in_schema=False)
    def listing_link(code: str):
        return HTMLResponse((WEB_DIR / "listing.html").read_text())

    @app.get("/vendor/ethers.js", include_in_schema=False)
    def ethers_js():
        path = node_modules / "ethers" / "dist" / "ethers.min.js"
        if not path.is_file():
            return Response(
                "console.error('ethers is not installed: run scripts/setup.sh')",
                status_code=503,
                media_type="text/javascript",
            )
        return FileResponse(path, media_type="text/javascript")

    app.mount("/app", StaticFiles(directory=WEB_DIR, html=True), name="web")
