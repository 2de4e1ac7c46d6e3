"""The read API's response shapes (what /openapi.json documents). Token amounts and stakes are
decimal strings (uint256 does not fit a JSON number); ids, heights and timestamps are
integers; addresses are checksummed 0x-hex."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

Amount = str


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        None, description="pass as `cursor` for the next page; null when this is the last"
    )


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


class Updated(BaseModel):
    updated_seq: int = Field(description="id of the last event that changed this")
    updated_at: int = Field(description="block timestamp of that event")


class Listing(Updated):
    listing_id: int
    kind: str | None = None
    digest: str | None = Field(None, description="a signed listing's EIP-712 digest")
    seller: str
    token: str | None = None
    price: Amount | None = None
    auto_complete: int | None = None
    ship_window: int | None = None
    metadata: str | None = None
    status: str
    created_at: int | None = None
    orders: int | None = None


class Order(Updated):
    order_id: int
    listing_id: int | None = None
    buyer: str | None = None
    seller: str | None = None
    token: str | None = None
    price: Amount | None = None
    share_id: int | None = None
    status: str
    paid_at: int | None = None
    ship_by: int | None = None
    shipped_at: int | None = None
    deadline: int | None = None
    tracking: str | None = None
    dispute_deposit: Amount | None = None
    evidence: str | None = None
    timeout_at: int | None = None
    case_id: int | None = None
    ruling: int | None = None
    refund: Amount | None = None
    to_buyer: Amount | None = None
    to_seller: Amount | None = None
    closed_at: int | None = None


class Relation(BaseModel):
    account: str
    other: str
    trades: int
    last_trade: int
    live: bool
    block: int


class Account(BaseModel):
    address: str
    trust: int
    status: str
    failures: int
    trades: int
    disabled: bool
    judge: bool
    stake: Amount
    unbonding: Amount
    share_rewards_claimable: Amount
    staking_claimable: Amount
    share_rewards_earned: Amount
    share_rewards_claimed: Amount
    orders_as_buyer: int
    orders_as_seller: int
    block: int = Field(description="the indexed block the contract views were read at")


class Reward(BaseModel):
    order_id: int
    token: str
    commission: Amount
    bonus: Amount


class Share(Updated):
    share_id: int
    order_id: int | None = None
    sharer: str
    listing_id: int | None = None
    created_at: int | None = None
    expires_at: int | None = None
    rewards: list[Reward] = []


class Case(Updated):
    case_id: int
    order_id: int | None = None
    buyer: str | None = None
    seller: str | None = None
    status: str | None = None
    opened_at: int | None = None
    draw_block: int | None = None
    panel: list[str] = []
    vote_deadline: int | None = None
    votes: dict[str, int] = {}
    ruling: int | None = None
    majority: list[str] = []
    absent: list[str] = []


class Judge(Updated):
    address: str
    stake: Amount
    seat: int | None = None
    since_block: int | None = None
    active: bool
    penalties: Amount


class Validator(Updated):
    area_id: int
    address: str
    stake: Amount
    status: str
    faults: int
    slashed: Amount


class Area(Updated):
    area_id: int
    anchored_height: int
    anchored_hash: str | None = None
    anchored_at: int | None = None
    anchor_age: int | None = Field(
        None, description="seconds from the last anchor to the indexed block's time"
    )
    validator_stake: Amount
    balance: Amount
    paused: bool
    equivocations: int


class Header(Updated):
    area_id: int
    height: int
    header_hash: str
    parent_hash: str
    tx_root: str
    credit_root: str
    egress_root: str
    timestamp: int
    submitter: str
    anchored_at: int


class Message(Updated):
    src_area: int
    dst_area: int
    nonce: int
    sender: str | None = None
    recipient: str
    amount: Amount
    payload_hash: str | None = None
    status: str
    delivered_at: int


class Volume(Updated):
    token: str
    paid: Amount
    completed: Amount
    orders: int


class Event(BaseModel):
    id: int
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    timestamp: int
    contract: str
    name: str
    args: dict[str, Any]
    summary: str = Field(description="what happened, in one line")


class Status(BaseModel):
    chain_id: int
    head: int
    indexed_block: int
    lag: int
    confirmations: int
    events: int
    reorgs: int
    contracts: dict[str, str]


# ── the areas: submissions, lookup, pending messages ──────────────────────────────────────
HEX_BYTES = r"^0x([0-9a-fA-F]{2})+$"


class AreaTxSubmission(BaseModel):
    tx: str = Field(
        pattern=HEX_BYTES,
        max_length=2 + 2 * 1024,
        description="the signed area transaction (pay, ship or confirm), RLP as 0x-hex",
    )


class RecordSubmission(BaseModel):
    record: str = Field(
        pattern=HEX_BYTES,
        max_length=2 + 2 * 8192,
        description="the signed trade record, RLP as 0x-hex",
    )


class Submitted(BaseModel):
    area_id: int
    id: str = Field(description="the transaction's digest or the record's id (0x-hex)")
    result: Literal["accepted", "duplicate"] = Field(
        description="the node's word: pooled now, or already pooled or applied"
    )
    kind: str = Field(description="pay, ship, confirm or record")


class AccountArea(BaseModel):
    account: str
    area_id: int
    rule: Literal["directory", "address-hash"] = Field(
        description="which rule answered: the published directory in force, or the address "
        "hash (accounts the directory does not list, or before the first epoch)"
    )
    epoch: int | None = Field(None, description="the directory epoch in force at `block`")
    root: str | None = Field(None, description="its root as published in AreaDirectory")
    proof: list[str] | None = Field(
        None, description="the entry's Merkle proof against `root` (rule directory)"
    )
    block: int = Field(description="the indexed block the answer holds at")
    areas: list[int] = Field(description="the area ids of the address-hash rule")


class PendingMessage(BaseModel):
    src_area: int
    dst_area: int = Field(description="0: a withdrawal to the main chain")
    nonce: int
    sender: str
    recipient: str
    amount: Amount
    payload_hash: str
    height: int = Field(description="the source area's block that sent it")
    header_hash: str
    sent_at: int = Field(description="that block's timestamp")
    age: int = Field(description="seconds since it was sent")
    status: Literal["sent", "anchored"] = Field(
        description="anchored: its block's header is on chain, waiting for the BGC relayer"
    )


class PendingMessages(BaseModel):
    items: list[PendingMessage]
    unanswered_areas: list[int] = Field(description="areas none of whose nodes answered")
