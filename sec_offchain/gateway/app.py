"""The gateway's HTTP API (FastAPI): the read API `/v1/...` over the index, the event stream,
/metrics, OpenAPI at /openapi.json and docs at /docs. Errors are RFC 9457 problem details
(`application/problem+json`), validation errors included.

Lists are pages in update order (`updated_seq`, the id of the last event that changed an
item, then its key): `order=asc` (the default) suits incremental sync — keep the last
`next_cursor` and ask again later for what changed since; `order=desc` shows the newest
first. Cursors are opaque; `limit` is 1–500.

Write endpoints: signed area transactions and trade records (`POST /v1/areas/{A}/...`,
forwarded to the area's nodes, gateway/areas.py) are here; signed listings and relayed
requests plug in through `GatewayContext.writers` (gateway/web.py registers them). A
`FastReads` layer answers the by-id reads of indexed items before FastAPI (the hot path).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from web3 import Web3

from sec_offchain.contracts.deployment import Deployment
from sec_offchain.gateway import models
from sec_offchain.gateway.indexer import Indexer
from sec_offchain.gateway.metrics import build_registry, render
from sec_offchain.gateway.store import Store

log = logging.getLogger("sec.gateway.api")

ETH = "0x0000000000000000000000000000000000000000"
MAX_UINT256 = 2**256 - 1
PROBLEM = "application/problem+json"
ADDRESS = r"^0x[0-9a-fA-F]{40}$"
STREAM_POLL = 0.1  # seconds between looks for new events while a stream is idle

AddressPath = Annotated[str, Path(pattern=ADDRESS, description="0x-hex address")]
IdPath = Annotated[int, Path(ge=0, le=MAX_UINT256)]
AreaPath = Annotated[int, Path(ge=0, le=2**64 - 1)]
Limit = Annotated[int, Query(ge=1, le=500, description="items per page, 1-500")]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of a page")]
Order = Annotated[Literal["asc", "desc"], Query(description="update order")]
AddressQuery = Annotated[str | None, Query(pattern=ADDRESS)]

AREAS_SQL = "SELECT data FROM entities WHERE kind = 'area'"


def _area_key(area: dict[str, Any]) -> int:
    return int(area["area_id"])


ORDER_STATUSES = Literal["paid", "shipped", "completed", "cancelled", "disputed", "ruled"]


@dataclass
class GatewayContext:
    """What the API serves from: the store, the indexer that fills it, the chain and the
    deployment (for the contract views the index does not hold)."""

    store: Store
    w3: Web3
    deployment: Deployment
    indexer: Indexer | None = None
    confirmations: int = 0
    writers: list[APIRouter] = field(default_factory=list)
    # (area, height) -> that area block from any of its nodes (a devnet's, with --devnet)
    blocks: Callable[[int, int], Any] | None = None
    # (area, start, count) -> consecutive blocks from `start`, several per request
    block_range: Callable[[int, int, int], list[Any]] | None = None
    _block_cache: dict[int, list[Any]] = field(default_factory=dict)  # area -> blocks 1..
    _block_lock: threading.Lock = field(default_factory=threading.Lock)  # one filler at a time
    extra_status: dict[str, Callable[[], Any]] = field(default_factory=dict)
    web: bool = False  # serve the web app's pages (sec_offchain/gateway/web.py)
    nodes: Any = None  # AreaNodes (gateway/areas.py): the areas' nodes, with --devnet
    lookup: Any = None  # AreaLookupService: the account -> area lookup
    pending: Any = None  # PendingMessages: BGC messages sent, not delivered yet
    relay: Any = None  # RelayHandle (gateway/web.py): the relayer core, for /metrics
    # the devnet the gateway watches (--devnet): its config (DevnetConfig), home, and the
    # monitor polling its nodes (gateway/network.py); the thresholds of the alerts
    devnet: Any = None
    devnet_home: Any = None
    network: Any = None
    thresholds: Any = None
    # the gasless relayer's request counts by state (web.RelayHandle.stats), if it runs one
    relay_stats: Callable[[], dict[str, int]] | None = None
    # an RPC URL browsers may use to read the chain themselves (the listing page checks
    # credit proofs with it when the visitor has no wallet); None: only through a wallet
    public_rpc: str | None = None

    def contract(self, name: str) -> Any:
        rec = self.deployment.contracts[name]
        return self.w3.eth.contract(address=Web3.to_checksum_address(rec.address), abi=rec.abi)


class Problem(HTTPException):
    """An HTTP error with a problem type."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(status, detail)
        self.title = title


def _problem(status: int, title: str, detail: str | None, request: Request, **extra: Any):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body["instance"] = request.url.path
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


TITLES = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    422: "Unprocessable Content",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_NO_NODES = "this gateway has no area nodes (--devnet)"


def _submission_errors() -> tuple[type, ...]:
    from sec_offchain.gateway.areas import LookupUnavailable, SubmissionError

    return (SubmissionError, LookupUnavailable)


# ── cursors ────────────────────────────────────────────────────────────────────────────
def encode_cursor(seq: int, key: str, order: str) -> str:
    raw = json.dumps([seq, key, order], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, order: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        seq, key, was = json.loads(raw)
        if not isinstance(seq, int) or not isinstance(key, str) or was not in ("asc", "desc"):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Problem(400, "Bad Request", "cursor: not a cursor this API gave out") from None
    if was != order:
        raise Problem(400, "Bad Request", f"cursor: it was given for order={was}, not {order}")
    return seq, key


def page_entities(
    store: Store,
    kind: str,
    filters: list[tuple[str, Any]],
    limit: int,
    cursor: str | None,
    order: str,
) -> dict[str, Any]:
    """One page of `kind` rows in update order; `filters` are (SQL condition, value) pairs
    with one `?` each (None values are skipped)."""
    sql = ["SELECT seq, key, data FROM entities WHERE kind = ?"]
    params: list[Any] = [kind]
    for cond, value in filters:
        if value is None:
            continue
        sql.append(f"AND {cond}")
        params.extend([value] * cond.count("?"))
    cmp, direction = (">", "ASC") if order == "asc" else ("<", "DESC")
    if cursor:
        seq, key = decode_cursor(cursor, order)
        sql.append(f"AND (seq {cmp} ? OR (seq = ? AND key {cmp} ?))")
        params.extend([seq, seq, key])
    sql.append(f"ORDER BY seq {direction}, key {direction} LIMIT ?")
    params.append(limit + 1)
    rows = store.query(" ".join(sql), params)
    items = [json.loads(r[2]) for r in rows[:limit]]
    nxt = (
        encode_cursor(int(rows[limit - 1][0]), rows[limit - 1][1], order)
        if len(rows) > limit
        else None
    )
    return {"items": items, "next_cursor": nxt}


def _get(store: Store, kind: str, key: str, what: str) -> dict[str, Any]:
    data = store.get_entity(kind, key)
    if data is None:
        raise Problem(404, "Not Found", f"{what} not found")
    return data


def _get_raw(store: Store, kind: str, key: str, what: str) -> Response:
    """One item straight from its stored JSON (already in the response model's shape), with
    no parse-validate-serialise round trip: the hot path of the read API."""
    data = store.get_entity_json(kind, key)
    if data is None:
        raise Problem(404, "Not Found", f"{what} not found")
    return Response(data, media_type="application/json")


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def _event_row(row: tuple) -> dict[str, Any]:
    return {
        "id": int(row[0]),
        "block_number": int(row[1]),
        "block_hash": row[2],
        "log_index": int(row[3]),
        "tx_hash": row[4],
        "timestamp": int(row[5]),
        "contract": row[6],
        "name": row[7],
        "args": json.loads(row[8]),
        "summary": row[9],
    }


EVENT_COLUMNS = (
    "e.id, e.block_number, e.block_hash, e.log_index, e.tx_hash, e.timestamp, e.contract,"
    " e.name, e.args, e.summary"
)


def fetch_events(
    store: Store,
    after: int,
    limit: int,
    account: str | None = None,
    contract: str | None = None,
    name: str | None = None,
) -> list[dict[str, Any]]:
    """Events with id > `after` in id order, optionally only those concerning `account`."""
    sql = [f"SELECT {EVENT_COLUMNS} FROM events e"]
    params: list[Any] = []
    if account:
        sql.append("JOIN event_accounts x ON x.event_id = e.id AND x.account = ?")
        params.append(account.lower())
    sql.append("WHERE e.id > ?")
    params.append(after)
    if contract:
        sql.append("AND e.contract = ?")
        params.append(contract)
    if name:
        sql.append("AND e.name = ?")
        params.append(name)
    sql.append("ORDER BY e.id LIMIT ?")
    params.append(limit)
    return [_event_row(r) for r in store.query(" ".join(sql), params)]


# ── the hot path ───────────────────────────────────────────────────────────────────────
FAST_KINDS = {"orders": "order", "listings": "listing", "shares": "share", "cases": "case"}
_JSON_HEADERS = (b"content-type", b"application/json")


class FastReads:
    """ASGI in front of the API: `GET /v1/{orders,listings,shares,cases}/{id}` for an item
    the index holds is answered straight from its stored JSON (the body and headers the
    FastAPI route gives, without its routing, parameter validation and dependency solving,
    which cost several times the database read). Anything else, a malformed id or an item
    not found included, goes to the API unchanged, so errors stay problem details."""

    def __init__(self, app: Any, store: Store) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            body = self._lookup(scope["path"])
            if body is not None:
                headers = [(b"content-length", str(len(body)).encode()), _JSON_HEADERS]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _lookup(self, path: str) -> bytes | None:
        parts = path.split("/")
        if len(parts) != 4 or parts[1] != "v1" or parts[2] not in FAST_KINDS:
            return None
        text = parts[3]
        if not (0 < len(text) <= 78 and text.isascii() and text.isdigit()):
            return None
        number = int(text)
        if number > MAX_UINT256:
            return None
        try:
            data = self.store.get_entity_json(FAST_KINDS[parts[2]], str(number))
        except Exception:  # noqa: BLE001 - the API answers it (a problem detail)
            return None
        return data.encode() if data is not None else None


# ── the app ────────────────────────────────────────────────────────────────────────────
def build_app(ctx: GatewayContext) -> FastAPI:
    app = FastAPI(
        title="SEC gateway",
        version="1",
        description=(
            "Read API over the SEC contracts' events (indexed with "
            f"{ctx.confirmations} confirmations), a resumable event stream and metrics. "
            "Errors are RFC 9457 problem details."
        ),
        responses={
            400: {"model": models.Problem, "content": {PROBLEM: {}}},
            404: {"model": models.Problem, "content": {PROBLEM: {}}},
            422: {"model": models.Problem, "content": {PROBLEM: {}}},
        },
    )
    store = ctx.store
    registry = build_registry(ctx)
    if ctx.network is not None:
        from sec_offchain.gateway.network import NetworkCollector

        registry.register(NetworkCollector(ctx.network, lambda area: _anchored_height(area)))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        title = getattr(exc, "title", None) or TITLES.get(exc.status_code, "Error")
        return _problem(exc.status_code, title, str(exc.detail), request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in errors)
        return _problem(422, "Unprocessable Content", detail, request, errors=errors)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        log.exception("request failed: %s", request.url.path)
        return _problem(500, "Internal Server Error", exc.__class__.__name__, request)

    v1 = APIRouter(prefix="/v1")

    # status ------------------------------------------------------------------------------
    @v1.get("/status", response_model=models.Status, tags=["status"])
    def get_status() -> dict[str, Any]:
        """Where the index stands against the chain."""
        head = ctx.indexer.head if ctx.indexer and ctx.indexer.head else ctx.w3.eth.block_number
        cursor = store.get_cursor()
        return {
            "chain_id": ctx.deployment.chain_id,
            "head": int(head),
            "indexed_block": cursor,
            "lag": max(0, int(head) - cursor),
            "confirmations": ctx.confirmations,
            "events": int(store.get_meta("next_id") or 1) - 1,
            "reorgs": ctx.indexer.reorgs if ctx.indexer else 0,
            "contracts": {n: r.address for n, r in ctx.deployment.contracts.items()},
        }

    # listings and orders ------------------------------------------------------------------
    @v1.get("/listings", response_model=models.Page[models.Listing], tags=["escrow"])
    async def list_listings(
        seller: AddressQuery = None,
        status: Literal["open", "closed"] | None = None,
        limit: Limit = 100,
        cursor: Cursor = None,
        order: Order = "asc",
    ):
        """Listings (the sellers' auto-contracts), by seller and status."""
        filters = [("a = ?", _lower(seller)), ("status = ?", status)]
        return page_entities(store, "listing", filters, limit, cursor, order)

    @v1.get("/listings/{listing_id}", response_model=models.Listing, tags=["escrow"])
    async def get_listing(listing_id: IdPath):
        return _get_raw(store, "listing", str(listing_id), f"listing {listing_id}")

    @v1.get("/orders", response_model=models.Page[models.Order], tags=["escrow"])
    async def list_orders(
        buyer: AddressQuery = None,
        seller: AddressQuery = None,
        party: Annotated[str | None, Query(pattern=ADDRESS, description="buyer or seller")] = None,
        status: ORDER_STATUSES | None = None,
        limit: Limit = 100,
        cursor: Cursor = None,
        order: Order = "asc",
    ):
        """Orders by party (buyer, seller or either) and status."""
        filters = [
            ("a = ?", _lower(buyer)),
            ("b = ?", _lower(seller)),
            ("(a = ? OR b = ?)", _lower(party)),
            ("status = ?", status),
        ]
        return page_entities(store, "order", filters, limit, cursor, order)

    @v1.get("/orders/{order_id}", response_model=models.Order, tags=["escrow"])
    async def get_order(order_id: IdPath):
        return _get_raw(store, "order", str(order_id), f"order {order_id}")

    @v1.get("/volume", response_model=list[models.Volume], tags=["escrow"])
    async def get_volume():
        """Escrow volume by token: paid into orders, paid out on completion."""
        rows = store.query("SELECT data FROM entities WHERE kind = 'volume' ORDER BY key")
        return [json.loads(r[0]) for r in rows]

    # accounts ----------------------------------------------------------------------------
    def _at() -> int | str:
        cursor = store.get_cursor()
        return cursor if cursor >= 0 else "latest"

    @v1.get("/accounts/{address}", response_model=models.Account, tags=["accounts"])
    def get_account(address: AddressPath):
        """Trust, status, failures, stakes and rewards: the contracts' views read at the
        indexed block, with the index's totals."""
        addr = Web3.to_checksum_address(address)
        at = _at()
        trust, shares, staking = (
            ctx.contract("TrustIndex"),
            ctx.contract("ShareRewards"),
            ctx.contract("Staking"),
        )
        status = int(trust.functions.status_of(addr).call(block_identifier=at))
        indexed = store.get_entity("account", addr.lower()) or {}
        counts = store.query(
            "SELECT SUM(CASE WHEN a = ? THEN 1 ELSE 0 END), SUM(CASE WHEN b = ? THEN 1 ELSE 0 END)"
            " FROM entities WHERE kind = 'order' AND (a = ? OR b = ?)",
            [addr.lower()] * 4,
        )[0]
        # Completed trades (TrustIndex keeps no per-account count): orders completed, and
        # orders ruled for the seller (the Escrow records those as trades too).
        closed = store.query(
            "SELECT status, data FROM entities WHERE kind = 'order' AND (a = ? OR b = ?)"
            " AND status IN ('completed', 'ruled')",
            [addr.lower()] * 2,
        )
        trades = sum(
            1
            for status, data in closed
            if status == "completed" or json.loads(data).get("ruling") == 2
        )
        return {
            "address": addr,
            "trust": int(trust.functions.trust_of(addr).call(block_identifier=at)),
            "status": ["new", "active", "disabled"][status] if status < 3 else str(status),
            "failures": int(trust.functions.failures_of(addr).call(block_identifier=at)),
            "trades": trades,
            "disabled": bool(trust.functions.is_disabled(addr).call(block_identifier=at)),
            "judge": bool(staking.functions.is_judge(addr).call(block_identifier=at)),
            "stake": str(staking.functions.stake_of(addr).call(block_identifier=at)),
            "unbonding": str(staking.functions.unbonding_of(addr).call(block_identifier=at)),
            "share_rewards_claimable": str(
                shares.functions.claimable(addr).call(block_identifier=at)
            ),
            "staking_claimable": str(staking.functions.claimable(addr).call(block_identifier=at)),
            "share_rewards_earned": indexed.get("rewards_earned", "0"),
            "share_rewards_claimed": indexed.get("rewards_claimed", "0"),
            "orders_as_buyer": int(counts[0] or 0),
            "orders_as_seller": int(counts[1] or 0),
            "block": at if isinstance(at, int) else int(ctx.w3.eth.block_number),
        }

    @v1.get(
        "/accounts/{address}/relation/{other}", response_model=models.Relation, tags=["accounts"]
    )
    def get_relation(address: AddressPath, other: AddressPath):
        """The trade relation of two accounts (TrustIndex.relation_info)."""
        a, b = Web3.to_checksum_address(address), Web3.to_checksum_address(other)
        at = _at()
        trust = ctx.contract("TrustIndex")
        trades, last = trust.functions.relation(a, b).call(block_identifier=at)
        live = trust.functions.is_live_relation(a, b).call(block_identifier=at)
        block = at if isinstance(at, int) else int(ctx.w3.eth.block_number)
        return {
            "account": a,
            "other": b,
            "trades": int(trades),
            "last_trade": int(last),
            "live": bool(live),
            "block": block,
        }

    @v1.get("/shares", response_model=models.Page[models.Share], tags=["shares"])
    async def list_shares(
        sharer: AddressQuery = None,
        status: Literal["shared", "rewarded"] | None = None,
        limit: Limit = 100,
        cursor: Cursor = None,
        order: Order = "asc",
    ):
        """Shares and the rewards they earned."""
        filters = [("a = ?", _lower(sharer)), ("status = ?", status)]
        return page_entities(store, "share", filters, limit, cursor, order)

    @v1.get("/shares/{share_id}", response_model=models.Share, tags=["shares"])
    async def get_share(share_id: IdPath):
        return _get_raw(store, "share", str(share_id), f"share {share_id}")

    # court --------------------------------------------------------------------------------
    @v1.get("/cases", response_model=models.Page[models.Case], tags=["court"])
    async def list_cases(
        party: AddressQuery = None,
        status: Literal["drawing", "voting", "executed"] | None = None,
        limit: Limit = 100,
        cursor: Cursor = None,
        order: Order = "asc",
    ):
        """Court cases: panel, votes, deadlines, ruling."""
        filters = [("(a = ? OR b = ?)", _lower(party)), ("status = ?", status)]
        return page_entities(store, "case", filters, limit, cursor, order)

    @v1.get("/cases/{case_id}", response_model=models.Case, tags=["court"])
    async def get_case(case_id: IdPath):
        return _get_raw(store, "case", str(case_id), f"case {case_id}")

    @v1.get("/judges", response_model=models.Page[models.Judge], tags=["court"])
    async def list_judges(
        status: Literal["active", "inactive"] | None = None,
        limit: Limit = 100,
        cursor: Cursor = None,
        order: Order = "asc",
    ):
        return page_entities(store, "judge", [("status = ?", status)], limit, cursor, order)

    @v1.get("/judges/{address}", response_model=models.Judge, tags=["court"])
    async def get_judge(address: AddressPath):
        return _get_raw(store, "judge", address.lower(), f"judge {address}")

    # areas --------------------------------------------------------------------------------
    @v1.get("/validators", response_model=models.Page[models.Validator], tags=["areas"])
    async def list_validators(
        area: Annotated[int | None, Query(ge=0, le=2**64 - 1)] = None,
        address: AddressQuery = None,
        status: Literal["active", "inactive", "ejected", "pending"] | None = None,
        limit: Limit = 100,
        cursor: Cursor = None,
        order: Order = "asc",
    ):
        """Validators and the stake that counts for them per area."""
        filters = [
            ("b = ?", None if area is None else str(area)),
            ("a = ?", _lower(address)),
            ("status = ?", status),
        ]
        return page_entities(store, "validator", filters, limit, cursor, order)

    def _with_age(area: dict[str, Any]) -> dict[str, Any]:
        now = store.query("SELECT MAX(timestamp) FROM events")[0][0]
        at = area.get("anchored_at")
        area["anchor_age"] = int(now) - int(at) if at is not None and now is not None else None
        return area

    @v1.get("/areas", response_model=list[models.Area], tags=["areas"])
    async def list_areas():
        """Every area with anchored height, stake, balance and pause flag."""
        rows = store.query(AREAS_SQL)
        areas = sorted((json.loads(r[0]) for r in rows), key=_area_key)
        return [_with_age(a) for a in areas]

    @v1.get("/areas/{area_id}", response_model=models.Area, tags=["areas"])
    async def get_area(area_id: AreaPath):
        return _with_age(_get(store, "area", str(area_id), f"area {area_id}"))

    @v1.get("/areas/{area_id}/headers", response_model=models.Page[models.Header], tags=["areas"])
    async def list_headers(
        area_id: AreaPath, limit: Limit = 100, cursor: Cursor = None, order: Order = "asc"
    ):
        """The area's anchored headers (their roots prove records, credit and messages)."""
        return page_entities(store, "header", [("b = ?", str(area_id))], limit, cursor, order)

    @v1.get("/areas/{area_id}/headers/{height}", response_model=models.Header, tags=["areas"])
    async def get_header(area_id: AreaPath, height: Annotated[int, Path(ge=1, le=2**64 - 1)]):
        return _get(store, "header", f"{area_id}:{height:020d}", f"area {area_id} header {height}")

    @v1.get("/messages", response_model=models.Page[models.Message], tags=["bgc"])
    async def list_messages(
        src: Annotated[int | None, Query(ge=0, le=2**64 - 1)] = None,
        dst: Annotated[int | None, Query(ge=0, le=2**64 - 1)] = None,
        account: Annotated[
            str | None, Query(pattern=ADDRESS, description="sender or recipient")
        ] = None,
        limit: Limit = 100,
        cursor: Cursor = None,
        order: Order = "asc",
    ):
        """BGC messages delivered between areas (and withdrawals to the main chain)."""
        filters = [
            ("key LIKE ?", None if src is None else f"{src}:%"),
            ("key LIKE ?", None if dst is None else f"%:{dst}:%"),
            ("(a = ? OR b = ?)", _lower(account)),
        ]
        if src is not None and dst is not None:
            filters = [("key LIKE ?", f"{src}:{dst}:%"), filters[2]]
        return page_entities(store, "message", filters, limit, cursor, order)

    @v1.get(
        "/messages/pending",
        response_model=models.PendingMessages,
        tags=["bgc"],
        responses={404: {"model": models.Problem, "content": {PROBLEM: {}}}},
    )
    def list_pending_messages(
        src: Annotated[int | None, Query(ge=0, le=2**64 - 1)] = None,
        dst: Annotated[int | None, Query(ge=0, le=2**64 - 1)] = None,
    ) -> dict[str, Any]:
        """BGC messages sent (in a block of their source area) and not delivered on chain
        yet, oldest first, with their age in seconds; `status` anchored means the block's
        header is on chain and the BGC relayer has yet to deliver it."""
        if ctx.pending is None:
            raise Problem(404, "Not Found", _NO_NODES)
        items, silent = ctx.pending.pending()
        items = [
            m
            for m in items
            if (src is None or m["src_area"] == src) and (dst is None or m["dst_area"] == dst)
        ]
        return {"items": items, "unanswered_areas": silent}

    # submissions to the areas -----------------------------------------------------------
    def _area_nodes(area_id: int):
        if ctx.nodes is None:
            raise Problem(404, "Not Found", _NO_NODES)
        if area_id not in ctx.nodes.area_ids:
            raise Problem(404, "Not Found", f"area {area_id} is not one this gateway has nodes of")
        return ctx.nodes

    def _forward(nodes: Any, area_id: int, kind: int, payload: bytes) -> str:
        answer = nodes.submit(area_id, kind, payload)
        if answer is None:
            raise Problem(502, "Bad Gateway", f"no node of area {area_id} answers")
        ok, word = answer
        if not ok:
            raise Problem(422, "Unprocessable Content", f"area {area_id} refused it: {word}")
        return word

    submit_responses: dict[int | str, dict[str, Any]] = {
        502: {"model": models.Problem, "content": {PROBLEM: {}}},
        503: {"model": models.Problem, "content": {PROBLEM: {}}},
    }

    @v1.post(
        "/areas/{area_id}/transactions",
        response_model=models.Submitted,
        tags=["areas"],
        responses=submit_responses,
    )
    def submit_area_tx(area_id: AreaPath, body: models.AreaTxSubmission) -> dict[str, Any]:
        """Submit a signed area transaction (pay, ship or confirm; `sec bgc` builds them)
        to the area's nodes. Checked first: RLP, kind, area, the sender's signature and, when
        it is the sender's next transaction, that it applies (balance, payment and its
        state); then forwarded, and the node's answer returned: accepted (pooled, applies in
        the area's next block), duplicate, or a 422 with the node's reason."""
        from sec_offchain.area import net
        from sec_offchain.area.ledger import KIND_NAMES, AreaTx, LedgerError
        from sec_offchain.gateway.areas import check_applies, check_area_tx, decode_hex

        nodes = _area_nodes(area_id)
        try:
            raw = decode_hex(body.tx, "tx")
            try:
                tx = AreaTx.decode(raw)
            except LedgerError as exc:
                raise Problem(400, "Bad Request", str(exc)) from None
            check_area_tx(tx, area_id, nodes.separator)
            view = nodes.ledger(area_id, tx.sender)
            if view is None:
                raise Problem(502, "Bad Gateway", f"no node of area {area_id} answers")
            if tx.nonce == int(view["next_tx_nonce"]):
                check_applies(tx, view)
        except _submission_errors() as exc:
            raise Problem(exc.status, TITLES.get(exc.status, "Error"), exc.reason) from None
        word = _forward(nodes, area_id, net.SUBMIT_TX, tx.encode())
        return {
            "area_id": area_id,
            "id": "0x" + tx.digest(nodes.separator).hex(),
            "result": word,
            "kind": KIND_NAMES[tx.kind],
        }

    @v1.post(
        "/areas/{area_id}/records",
        response_model=models.Submitted,
        tags=["areas"],
        responses=submit_responses,
    )
    def submit_record(area_id: AreaPath, body: models.RecordSubmission) -> dict[str, Any]:
        """Submit a signed trade record to the area's nodes. Checked first: RLP, fields,
        area (the path's, and the seller's area by the lookup: at the block the order was
        paid when the index has it), and that the seller or an escrow bridge signed it;
        then forwarded, and the node's answer returned: accepted (pooled, committed by the
        node), duplicate, or a 422 with the node's reason (e.g. a disabled party)."""
        from sec_offchain.area import net
        from sec_offchain.area.records import RecordError, TradeRecord
        from sec_offchain.gateway.areas import check_record, decode_hex

        nodes = _area_nodes(area_id)
        try:
            raw = decode_hex(body.record, "record")
            try:
                record = TradeRecord.decode(raw)
            except RecordError as exc:
                raise Problem(400, "Bad Request", str(exc)) from None
            record_id = check_record(record, area_id, nodes.separator, nodes.bridges)
            if ctx.lookup is not None:
                seller = "0x" + record.seller.hex()
                at = _paid_block(record.order_id)
                home = ctx.lookup.area_at(seller, at if at is not None else store.get_cursor())
                if home != area_id:
                    raise Problem(
                        400,
                        "Bad Request",
                        f"seller {Web3.to_checksum_address(seller)} is in area {home}"
                        + (f" (when order {record.order_id} was paid)" if at is not None else "")
                        + f", not {area_id}",
                    )
        except _submission_errors() as exc:
            raise Problem(exc.status, TITLES.get(exc.status, "Error"), exc.reason) from None
        word = _forward(nodes, area_id, net.SUBMIT, record.encode())
        return {"area_id": area_id, "id": "0x" + record_id.hex(), "result": word, "kind": "record"}

    def _paid_block(order_id: int) -> int | None:
        rows = store.query(
            "SELECT block_number FROM events WHERE contract = 'Escrow' AND name = 'OrderPaid'"
            " AND args LIKE ? ORDER BY id LIMIT 1",
            [f'%"order_id": "{order_id}"%'],
        )
        return int(rows[0][0]) if rows else None

    @v1.get(
        "/accounts/{address}/area",
        response_model=models.AccountArea,
        tags=["accounts"],
        responses={503: {"model": models.Problem, "content": {PROBLEM: {}}}},
    )
    def get_account_area(address: AddressPath) -> dict[str, Any]:
        """The area an account is in at the indexed block: by the AreaDirectory epoch in
        force, with the entry's Merkle proof against the root published on chain (check it
        with `AreaDirectory.verify`), or by the address hash the nodes use for accounts the
        directory does not list; `rule` says which answered."""
        from sec_offchain.gateway.areas import LookupUnavailable

        if ctx.lookup is None:
            raise Problem(
                404, "Not Found", "this gateway does not know the areas (give --devnet or --areas)"
            )
        try:
            return ctx.lookup.answer(address, max(store.get_cursor(), 0))
        except LookupUnavailable as exc:
            raise Problem(exc.status, TITLES.get(exc.status, "Error"), exc.reason) from None

    # the network: nodes, relayers, alerts ------------------------------------------------
    def _anchored_height(area_id: int) -> int:
        known = store.get_entity("area", str(area_id))
        return int(known["anchored_height"] or 0) if known else 0

    def _network() -> dict[str, Any] | None:
        return ctx.network.snapshot() if ctx.network is not None else None

    @v1.get("/network", tags=["areas"])
    def get_network() -> dict[str, Any]:
        """The area nodes this gateway watches (`--devnet`): per area head, final and
        anchored height, anchor lag and who is on duty for the next block (`on_duty`: the
        slot, the community of the proof of work or null under round-robin, and its
        producers), per node up or down, height, final height, peers and pool; the devnet's
        processes (pid, up, restarts, last exit status); and the
        relayers: each area's anchor queue (final blocks waiting to be anchored) and the
        gasless relayer's requests by state."""
        snap = _network()
        areas = []
        for area in (snap or {}).get("areas", []):
            anchored = _anchored_height(area["area_id"])
            lag = max(0, area["final"] - anchored) if area["final"] is not None else None
            areas.append({**area, "anchored": anchored, "anchor_lag": lag})
        return {
            "nodes_known": snap is not None,
            "checked_at": snap["checked_at"] if snap else None,
            "poll": snap["poll"] if snap else None,
            "areas": areas,
            "processes": _processes(),
            "relay": ctx.relay_stats() if ctx.relay_stats is not None else None,
        }

    def _processes() -> list[dict[str, Any]]:
        if ctx.devnet_home is None:
            return []
        from sec_offchain.gateway.network import read_processes

        return read_processes(ctx.devnet_home)

    @v1.get("/alerts", tags=["status"])
    def get_alerts() -> dict[str, Any]:
        """What needs an operator now: the index behind the chain, paused areas, proven
        equivocations, missed anchors (an area's final blocks not anchored beyond the
        limit, or no anchor for a long time), nodes that do not answer, stalled finality;
        each alert one sentence. `thresholds` are the limits this gateway alerts above."""
        from sec_offchain.gateway.network import AlertThresholds, build_alerts

        thresholds = ctx.thresholds or AlertThresholds()
        rows = store.query(AREAS_SQL)
        areas = [_with_age(a) for a in sorted((json.loads(r[0]) for r in rows), key=_area_key)]
        alerts = build_alerts(get_status(), areas, _network(), thresholds, time.time())
        return {"alerts": alerts, "thresholds": thresholds.to_json()}

    # proofs --------------------------------------------------------------------------------
    @v1.get("/products/{product_id}/credit", tags=["proofs"])
    def get_credit(
        product_id: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")],
        area: Annotated[int, Query(ge=1, le=2**64 - 1)],
        height: Annotated[int | None, Query(ge=1, le=2**64 - 1)] = None,
    ) -> dict[str, Any]:
        """A product's credit with its Merkle proof and the anchored header it is proven
        against (the area's latest anchored height unless `height`): check it with
        `sec verify`, which trusts nothing from this gateway."""
        from sec_offchain.gateway.proofs import BundleError, build_credit_bundle, credit_table

        header = _anchored_header(area, height)
        table = credit_table(_blocks_upto(area, header.height))
        try:
            return build_credit_bundle(table, header, bytes.fromhex(product_id[2:]))
        except BundleError as exc:
            raise _bundle_problem(exc) from None

    def _anchored_header(area: int, height: int | None):
        from sec_offchain.gateway.proofs import header_from_json

        if ctx.blocks is None:
            raise Problem(
                404, "Not Found", "this gateway has no area nodes to read blocks from (--devnet)"
            )
        if height is None:
            known = store.get_entity("area", str(area))
            if known is None or not known["anchored_height"]:
                raise Problem(404, "Not Found", f"area {area} has no anchored header")
            height = int(known["anchored_height"])
        raw = store.get_entity("header", f"{area}:{height:020d}")
        if raw is None:
            raise Problem(404, "Not Found", f"area {area} header {height} is not anchored")
        fields = ("area_id", "height", "parent_hash", "tx_root", "credit_root", "egress_root")
        return header_from_json({k: raw[k] for k in (*fields, "timestamp")})

    def _bundle_problem(exc: Exception) -> Problem:
        text = str(exc)
        if "has no credit" in text or "is not in area" in text:
            return Problem(404, "Not Found", text)
        return Problem(502, "Bad Gateway", text)

    def _blocks_upto(area: int, height: int) -> list[Any]:
        """Blocks 1..height of `area` from its nodes (kept: anchored blocks are final)."""
        with ctx._block_lock:
            return _fill_blocks(area, height)

    def _fill_blocks(area: int, height: int) -> list[Any]:
        cached = ctx._block_cache.setdefault(area, [])
        while len(cached) < height:
            h = len(cached) + 1
            got = ctx.block_range(area, h, height - len(cached)) if ctx.block_range else []
            if not got:
                block = ctx.blocks(area, h)  # type: ignore[misc]
                if block is None:
                    raise Problem(
                        502, "Bad Gateway", f"no node of area {area} served its block {h}"
                    )
                got = [block]
            cached.extend(got[: height - len(cached)])
        return cached[:height]

    @v1.get("/records/{record_id}/proof", tags=["proofs"])
    def get_record_proof(
        record_id: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")],
        area: Annotated[int, Query(ge=1, le=2**64 - 1)],
    ) -> dict[str, Any]:
        """A trade record (its ciphertext, for the buyer to decrypt) with its Merkle proof
        against the tx_root of the anchored block holding it: check it with `sec verify`."""
        from sec_offchain.area.records import domain_separator
        from sec_offchain.gateway.proofs import BundleError, build_record_bundle

        latest = _anchored_header(area, None)
        separator = domain_separator(ctx.deployment.chain_id, ctx.deployment.address_of("Escrow"))
        wanted = bytes.fromhex(record_id[2:])
        blocks = _blocks_upto(area, latest.height)
        for block in reversed(blocks):
            if any(r.digest(separator) == wanted for r in block.records):
                header = _anchored_header(area, block.header.height)
                try:
                    return build_record_bundle(block, header, wanted, separator)
                except BundleError as exc:
                    raise _bundle_problem(exc) from None
        raise Problem(
            404,
            "Not Found",
            f"record {record_id} is in no anchored block of area {area} "
            f"(up to height {latest.height})",
        )

    # events --------------------------------------------------------------------------------
    @v1.get(
        "/events",
        response_model=models.Page[models.Event],
        tags=["events"],
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def events(
        request: Request,
        after: Annotated[int, Query(ge=0, le=2**62, description="events with a larger id")] = 0,
        account: AddressQuery = None,
        contract: Annotated[str | None, Query(max_length=64)] = None,
        name: Annotated[str | None, Query(max_length=64)] = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ):
        """Indexed events in id order. With `Accept: text/event-stream` a live stream
        (server-sent events, `id:` the event id): reconnect with `Last-Event-ID` (or
        `after`) to resume; nothing is missed or repeated. `account` keeps the events that
        concern that account (parties of an order or case included)."""
        if "text/event-stream" in request.headers.get("accept", ""):
            start = after
            last_id = request.headers.get("last-event-id")
            if last_id:
                if not last_id.isdigit() or int(last_id) > 2**62:
                    raise Problem(400, "Bad Request", "Last-Event-ID: not an event id")
                start = int(last_id)
            return _stream(request, start, account, contract, name)
        if cursor:
            seq, _ = decode_cursor(cursor, "asc")
            after = max(after, seq)
        items = fetch_events(store, after, limit + 1, account, contract, name)
        nxt = encode_cursor(items[limit - 1]["id"], "", "asc") if len(items) > limit else None
        return {"items": items[:limit], "next_cursor": nxt}

    def _stream(
        request: Request,
        start: int,
        account: str | None,
        contract: str | None,
        name: str | None,
    ) -> Response:
        from sse_starlette.sse import EventSourceResponse

        async def gen() -> AsyncIterator[dict[str, str]]:
            last = start
            while True:
                rows = fetch_events(store, last, 500, account, contract, name)
                for ev in rows:
                    last = ev["id"]
                    yield {"id": str(ev["id"]), "event": ev["name"], "data": json.dumps(ev)}
                if not rows:
                    if await request.is_disconnected():
                        return
                    await asyncio.sleep(STREAM_POLL)

        return EventSourceResponse(gen(), ping=15)

    app.include_router(v1)
    for router in ctx.writers:
        app.include_router(router, prefix="/v1")
    if ctx.web:
        from sec_offchain.gateway.web import mount_web

        mount_web(app)

    @app.get("/metrics", response_class=PlainTextResponse, tags=["status"])
    def metrics() -> Response:
        """Prometheus exposition: indexer head and lag, anchored heights, escrow volume,
        open cases; with area nodes the pending BGC messages and their age; with a relayer
        its queue, failures and sponsored gas."""
        body, content_type = render(registry)
        return Response(body, media_type=content_type)

    return app
