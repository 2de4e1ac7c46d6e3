"""What the events add up to: orders, listings, accounts, shares, cases, judges, validators,
areas, anchored headers, BGC messages and escrow volume per token — each an `entities` row
the read API serves, updated in the same transaction as the events that change it.

Conventions of the `data` JSON: ids, heights, timestamps, counts and statuses are numbers or
names; token amounts and stakes (uint256) are decimal strings, so no client loses precision.
Every row carries `updated_seq` (the id of the last event that changed it) and `updated_at`
(that event's block timestamp).
"""

from __future__ import annotations

import json
from typing import Any

from sec_offchain.gateway.decode import DecodedEvent
from sec_offchain.gateway.store import UPSERT_ENTITY, Tx

ZERO = "0x0000000000000000000000000000000000000000"
ORDER_STATUS = ["none", "paid", "shipped", "completed", "cancelled", "disputed", "ruled"]
RULINGS = {0: "no ruling", 1: "buyer right", 2: "seller right"}
TRUST_REASONS = {
    0: "a completed trade",
    1: "a cancellation before shipping",
    2: "a missed ship window",
    3: "fake goods",
    4: "a malicious complaint",
}
STAKE_ROLES = {1: "validator", 2: "judge"}


def _add(a: str | None, b: int | str) -> str:
    return str(int(a or 0) + int(b))


class Projection:
    """Applies events in id order inside one transaction; `flush()` writes what changed."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self._cache: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._dirty: dict[tuple[str, str], tuple[str | None, str | None, str | None, int]] = {}

    # ── entity access ───────────────────────────────────────────────────────────────────
    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        k = (kind, key)
        if k not in self._cache:
            rows = self.tx.execute(
                "SELECT data FROM entities WHERE kind = ? AND key = ?", (kind, key)
            )
            self._cache[k] = json.loads(rows[0][0]) if rows else None
        return self._cache[k]

    def put(
        self,
        kind: str,
        key: str,
        data: dict[str, Any],
        seq: int,
        ts: int,
        a: str | None = None,
        b: str | None = None,
        status: str | None = None,
    ) -> None:
        data["updated_seq"] = seq
        data["updated_at"] = ts
        self._cache[(kind, key)] = data
        self._dirty[(kind, key)] = (a, b, status, seq)

    def flush(self) -> None:
        rows = []
        for (kind, key), (a, b, status, seq) in self._dirty.items():
            data = self._cache[(kind, key)]
            rows.append((kind, key, a, b, status, seq, json.dumps(data, sort_keys=True)))
        self.tx.executemany(UPSERT_ENTITY, rows)
        self._dirty.clear()

    # ── events ──────────────────────────────────────────────────────────────────────────
    def apply(self, seq: int, ts: int, ev: DecodedEvent) -> tuple[list[str], str]:
        """Updates the entities `ev` changes; returns the accounts it concerns (lower-case
        addresses) and a one-line summary saying what happened."""
        accounts = {
            v.lower()
            for v in _addresses(ev.args)
            if v != ZERO and v.lower() not in self._contracts()
        }
        handler = getattr(self, f"_on_{ev.contract}_{ev.name}", None) or getattr(
            self, f"_on_{ev.name}", None
        )
        summary = f"{ev.contract}.{ev.name}"
        if handler is not None:
            out = handler(seq, ts, ev.args)
            if out:
                summary, extra = out
                accounts |= {x.lower() for x in extra if x and x != ZERO}
        return sorted(accounts), summary

    def _contracts(self) -> set[str]:
        return getattr(self, "contract_addresses", set())

    # Escrow ------------------------------------------------------------------------------
    def _on_ListingCreated(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        lid = int(a["listing_id"])
        data = {
            "listing_id": lid,
            "kind": "on-chain",
            "seller": a["seller"],
            "token": a["token"],
            "price": a["price"],
            "auto_complete": int(a["auto_complete"]),
            "ship_window": int(a["ship_window"]),
            "metadata": a["metadata"],
            "status": "open",
            "created_at": ts,
            "orders": 0,
        }
        self.put("listing", str(lid), data, seq, ts, a=a["seller"].lower(), status="open")
        return f"listing {lid} created by {a['seller']} at price {a['price']}", []

    def _on_SignedListingRegistered(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        """A listing signed off chain becomes an on-chain listing at its first purchase."""
        lid = int(a["listing_id"])
        data = {
            "listing_id": lid,
            "kind": "signed",
            "digest": a["digest"],
            "seller": a["seller"],
            "token": a["token"],
            "price": a["price"],
            "auto_complete": int(a["auto_complete"]),
            "ship_window": int(a["ship_window"]),
            "metadata": a["metadata"],
            "status": "open",
            "created_at": ts,
            "orders": 0,
        }
        self.put("listing", str(lid), data, seq, ts, a=a["seller"].lower(), status="open")
        return f"signed listing {a['digest']} registered as {lid} by {a['seller']}", []

    def _on_ListingClosed(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        lid = int(a["listing_id"])
        data = self.get("listing", str(lid)) or {"listing_id": lid, "seller": a["seller"]}
        data["status"] = "closed"
        self.put("listing", str(lid), data, seq, ts, a=a["seller"].lower(), status="closed")
        return f"listing {lid} closed by its seller", []

    def _order(self, order_id: int) -> dict[str, Any]:
        return self.get("order", str(order_id)) or {"order_id": order_id}

    def _put_order(self, data: dict[str, Any], seq: int, ts: int) -> None:
        self.put(
            "order",
            str(data["order_id"]),
            data,
            seq,
            ts,
            a=(data.get("buyer") or "").lower() or None,
            b=(data.get("seller") or "").lower() or None,
            status=data.get("status"),
        )

    def _on_OrderPaid(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        oid, lid = int(a["order_id"]), int(a["listing_id"])
        listing = self.get("listing", str(lid)) or {}
        seller, token = listing.get("seller"), listing.get("token", ZERO)
        data = {
            "order_id": oid,
            "listing_id": lid,
            "buyer": a["buyer"],
            "seller": seller,
            "token": token,
            "price": a["price"],
            "share_id": int(a["share_id"]),
            "status": "paid",
            "paid_at": ts,
            "ship_by": int(a["ship_by"]),
            "shipped_at": None,
            "deadline": None,
            "tracking": None,
            "dispute_deposit": None,
            "case_id": None,
            "ruling": None,
            "closed_at": None,
        }
        self._put_order(data, seq, ts)
        if listing:
            listing["orders"] = int(listing.get("orders", 0)) + 1
            self.put(
                "listing",
                str(lid),
                listing,
                seq,
                ts,
                a=(seller or "").lower() or None,
                status=listing.get("status"),
            )
        vol = self.get("volume", token.lower()) or {
            "token": token,
            "paid": "0",
            "completed": "0",
            "orders": 0,
        }
        vol["paid"] = _add(vol["paid"], a["price"])
        vol["orders"] += 1
        self.put("volume", token.lower(), vol, seq, ts)
        return f"order {oid} paid: {a['buyer']} bought listing {lid} for {a['price']}", [
            seller or ""
        ]

    def _order_event(
        self, seq: int, ts: int, order_id: int, status: str, **fields: Any
    ) -> dict[str, Any]:
        data = self._order(order_id)
        data["status"] = status
        data.update(fields)
        self._put_order(data, seq, ts)
        return data

    def _parties(self, data: dict[str, Any]) -> list[str]:
        return [data.get("buyer") or "", data.get("seller") or ""]

    def _on_OrderShipped(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        oid = int(a["order_id"])
        d = self._order_event(
            seq,
            ts,
            oid,
            "shipped",
            shipped_at=ts,
            tracking=a["tracking"],
            deadline=int(a["deadline"]),
        )
        return (
            f"order {oid} shipped; it completes by itself at {a['deadline']} unless disputed",
            self._parties(d),
        )

    def _on_OrderCompleted(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        oid = int(a["order_id"])
        d = self._order_event(
            seq, ts, oid, "completed", closed_at=ts, seller=a["seller"], buyer=a["buyer"]
        )
        token = str(d.get("token") or ZERO)
        vol = self.get("volume", token.lower()) or {
            "token": token,
            "paid": "0",
            "completed": "0",
            "orders": 0,
        }
        vol["completed"] = _add(vol["completed"], a["price"])
        self.put("volume", token.lower(), vol, seq, ts)
        return f"order {oid} completed: the seller is paid {a['price']}", self._parties(d)

    def _on_OrderCancelled(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        oid = int(a["order_id"])
        d = self._order_event(seq, ts, oid, "cancelled", closed_at=ts, refund=a["refund"])
        why = (
            "the seller missed the ship window"
            if a["missed_ship_window"]
            else "the seller cancelled before shipping"
        )
        return f"order {oid} cancelled ({why}); the buyer is refunded {a['refund']}", (
            self._parties(d)
        )

    def _on_OrderDisputed(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        oid = int(a["order_id"])
        d = self._order_event(
            seq,
            ts,
            oid,
            "disputed",
            dispute_deposit=a["deposit"],
            evidence=a["evidence"],
            timeout_at=int(a["timeout_at"]),
        )
        return f"order {oid} disputed by the buyer; a court case decides", self._parties(d)

    def _on_OrderRuled(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        oid = int(a["order_id"])
        ruling = int(a["ruling"])
        d = self._order_event(
            seq,
            ts,
            oid,
            "ruled",
            ruling=ruling,
            closed_at=ts,
            to_buyer=a["to_buyer"],
            to_seller=a["to_seller"],
        )
        return (
            f"order {oid} ruled: {RULINGS.get(ruling, ruling)} "
            f"({a['to_buyer']} to the buyer, {a['to_seller']} to the seller)",
            self._parties(d),
        )

    # TrustIndex ----------------------------------------------------------------------------
    def _account(self, address: str) -> dict[str, Any]:
        return self.get("account", address.lower()) or {
            "address": address,
            "trust": 0,
            "status": "new",
            "failures": 0,
            "rewards_earned": "0",
            "rewards_claimed": "0",
        }

    def _put_account(self, data: dict[str, Any], seq: int, ts: int) -> None:
        addr = data["address"].lower()
        self.put("account", addr, data, seq, ts, a=addr, status=data["status"])

    def _on_TrustChanged(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        d = self._account(a["account"])
        d["trust"] = int(a["new"])
        if d["status"] != "disabled":
            d["status"] = "active" if int(a["reason"]) == 0 or d["status"] == "active" else "new"
        self._put_account(d, seq, ts)
        why = TRUST_REASONS.get(int(a["reason"]), f"reason {a['reason']}")
        return f"trust of {a['account']} {a['old']} -> {a['new']} after {why}", []

    def _on_AccountDisabled(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        d = self._account(a["account"])
        d["status"] = "disabled"
        self._put_account(d, seq, ts)
        return f"account {a['account']} disabled for good after a judged offence", []

    def _on_FailureRecorded(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        d = self._account(a["account"])
        d["failures"] = int(a["failures"])
        self._put_account(d, seq, ts)
        why = TRUST_REASONS.get(int(a["reason"]), f"reason {a['reason']}")
        return f"failed trade {a['failures']} of {a['account']}: {why}", []

    # ShareRewards --------------------------------------------------------------------------
    def _on_Shared(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        sid = int(a["share_id"])
        data = {
            "share_id": sid,
            "order_id": int(a["order_id"]),
            "sharer": a["sharer"],
            "listing_id": int(a["listing_id"]),
            "created_at": ts,
            "expires_at": int(a["expires_at"]),
            "rewards": [],
        }
        self.put("share", str(sid), data, seq, ts, a=a["sharer"].lower(), status="shared")
        return f"share {sid} of listing {a['listing_id']} by {a['sharer']}", []

    def _on_ShareRewarded(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        sid = int(a["share_id"])
        data = self.get("share", str(sid)) or {"share_id": sid, "sharer": a["sharer"]}
        data.setdefault("rewards", []).append(
            {
                "order_id": int(a["order_id"]),
                "token": a["token"],
                "commission": a["commission"],
                "bonus": a["bonus"],
            }
        )
        self.put("share", str(sid), data, seq, ts, a=a["sharer"].lower(), status="rewarded")
        acct = self._account(a["sharer"])
        acct["rewards_earned"] = _add(acct.get("rewards_earned"), a["bonus"])
        self._put_account(acct, seq, ts)
        return (
            f"share {sid} rewarded for order {a['order_id']}: commission {a['commission']}, "
            f"bonus {a['bonus']} SEC",
            [],
        )

    def _on_ShareRewards_RewardClaimed(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        acct = self._account(a["account"])
        acct["rewards_claimed"] = _add(acct.get("rewards_claimed"), a["amount"])
        self._put_account(acct, seq, ts)
        return f"{a['account']} claimed {a['amount']} SEC of share rewards", []

    # Staking -------------------------------------------------------------------------------
    def _judge(self, address: str) -> dict[str, Any]:
        return self.get("judge", address.lower()) or {
            "address": address,
            "stake": "0",
            "seat": None,
            "since_block": None,
            "active": False,
            "penalties": "0",
        }

    def _put_judge(self, d: dict[str, Any], seq: int, ts: int) -> None:
        addr = d["address"].lower()
        self.put("judge", addr, d, seq, ts, a=addr, status="active" if d["active"] else "inactive")

    def _on_Staked(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        role = STAKE_ROLES.get(int(a["role"]), str(a["role"]))
        if role == "judge":
            d = self._judge(a["account"])
            d["stake"] = a["total"]
            self._put_judge(d, seq, ts)
        return f"{a['account']} staked {a['amount']} SEC as a {role} (total {a['total']})", []

    def _on_JudgeJoined(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        d = self._judge(a["judge"])
        d.update(active=True, seat=int(a["seat"]), since_block=int(a["since_block"]))
        self._put_judge(d, seq, ts)
        return f"{a['judge']} joined the judges (seat {a['seat']})", []

    def _on_JudgeLeft(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        d = self._judge(a["judge"])
        d.update(active=False, seat=None)
        self._put_judge(d, seq, ts)
        return f"{a['judge']} left the judges", []

    def _on_JudgePenalized(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        d = self._judge(a["judge"])
        d["penalties"] = _add(d.get("penalties"), a["amount"])
        self._put_judge(d, seq, ts)
        return f"judge {a['judge']} lost {a['amount']} SEC for not voting", []

    def _validator(self, area_id: int, address: str) -> dict[str, Any]:
        return self.get("validator", f"{area_id}:{address.lower()}") or {
            "area_id": area_id,
            "address": address,
            "stake": "0",
            "status": "pending",
            "faults": 0,
            "slashed": "0",
        }

    def _put_validator(self, d: dict[str, Any], seq: int, ts: int) -> None:
        key = f"{d['area_id']}:{d['address'].lower()}"
        self.put(
            "validator",
            key,
            d,
            seq,
            ts,
            a=d["address"].lower(),
            b=str(d["area_id"]),
            status=d["status"],
        )

    def _on_WeightSet(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        area_id = int(a["area_id"])
        d = self._validator(area_id, a["validator"])
        d["stake"] = a["stake"]
        if d["status"] != "ejected":
            d["status"] = "active" if int(a["stake"]) > 0 else "inactive"
        self._put_validator(d, seq, ts)
        area = self._area(area_id)
        area["validator_stake"] = a["area_total"]
        self._put_area(area, seq, ts)
        return (
            f"validator {a['validator']} counts {a['stake']} in area {area_id} "
            f"(area total {a['area_total']})",
            [],
        )

    def _on_Ejected(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        d = self._validator(int(a["area_id"]), a["validator"])
        d["status"] = "ejected"
        self._put_validator(d, seq, ts)
        return f"validator {a['validator']} ejected from area {a['area_id']}", []

    def _on_Slashed(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        return (
            f"validator {a['validator']} slashed {a['amount']} SEC "
            f"(burned {a['burned']}, bounty {a['bounty']} to {a['reporter']})",
            [],
        )

    def _on_FaultRecorded(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        return f"fault {a['faults']} of validator {a['validator']} recorded", []

    # Court -----------------------------------------------------------------------------------
    def _case(self, case_id: int) -> dict[str, Any]:
        return self.get("case", str(case_id)) or {"case_id": case_id}

    def _put_case(self, d: dict[str, Any], seq: int, ts: int) -> None:
        self.put(
            "case",
            str(d["case_id"]),
            d,
            seq,
            ts,
            a=(d.get("buyer") or "").lower() or None,
            b=(d.get("seller") or "").lower() or None,
            status=d.get("status"),
        )

    def _case_parties(self, d: dict[str, Any]) -> list[str]:
        return [d.get("buyer") or "", d.get("seller") or "", *d.get("panel", [])]

    def _on_CaseOpened(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        cid, oid = int(a["case_id"]), int(a["order_id"])
        order = self._order(oid)
        d = {
            "case_id": cid,
            "order_id": oid,
            "buyer": order.get("buyer"),
            "seller": order.get("seller"),
            "status": "drawing",
            "opened_at": ts,
            "draw_block": int(a["draw_block"]),
            "panel": [],
            "vote_deadline": None,
            "votes": {},
            "ruling": None,
            "majority": [],
            "absent": [],
        }
        self._put_case(d, seq, ts)
        if "order_id" in order and "status" in order:
            order["case_id"] = cid
            self._put_order(order, seq, ts)
        return (
            f"case {cid} opened for order {oid}; its panel is drawn from block {a['draw_block']}",
            self._case_parties(d),
        )

    def _on_DrawRearmed(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        d = self._case(int(a["case_id"]))
        d["draw_block"] = int(a["draw_block"])
        self._put_case(d, seq, ts)
        return f"case {a['case_id']}: draw moved to block {a['draw_block']}", self._case_parties(d)

    def _on_PanelDrawn(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        d = self._case(int(a["case_id"]))
        d.update(status="voting", panel=a["panel"], vote_deadline=int(a["vote_deadline"]))
        self._put_case(d, seq, ts)
        return (
            f"case {a['case_id']}: panel of {len(a['panel'])} drawn, votes until "
            f"{a['vote_deadline']}",
            self._case_parties(d),
        )

    def _on_Voted(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        d = self._case(int(a["case_id"]))
        d.setdefault("votes", {})[a["judge"]] = int(a["ruling"])
        self._put_case(d, seq, ts)
        return (
            f"case {a['case_id']}: judge {a['judge']} voted "
            f"{RULINGS.get(int(a['ruling']), a['ruling'])}",
            self._case_parties(d),
        )

    def _on_CaseExecuted(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        d = self._case(int(a["case_id"]))
        ruling = int(a["ruling"])
        d.update(status="executed", ruling=ruling, majority=a["majority"], absent=a["absent"])
        self._put_case(d, seq, ts)
        return (
            f"case {a['case_id']} executed: {RULINGS.get(ruling, ruling)}",
            self._case_parties(d),
        )

    # AnchorHub -------------------------------------------------------------------------------
    def _area(self, area_id: int) -> dict[str, Any]:
        return self.get("area", str(area_id)) or {
            "area_id": area_id,
            "anchored_height": 0,
            "anchored_hash": None,
            "anchored_at": None,
            "validator_stake": "0",
            "balance": "0",
            "paused": False,
            "equivocations": 0,
        }

    def _put_area(self, d: dict[str, Any], seq: int, ts: int) -> None:
        self.put(
            "area",
            str(d["area_id"]),
            d,
            seq,
            ts,
            status="paused" if d["paused"] else "running",
        )

    def _on_HeaderAnchored(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        area_id, height = int(a["area_id"]), int(a["height"])
        header = {
            "area_id": area_id,
            "height": height,
            "header_hash": a["header_hash"],
            "parent_hash": a["parent_hash"],
            "tx_root": a["tx_root"],
            "credit_root": a["credit_root"],
            "egress_root": a["egress_root"],
            "timestamp": int(a["timestamp"]),
            "submitter": a["submitter"],
            "anchored_at": ts,
        }
        self.put("header", f"{area_id}:{height:020d}", header, seq, ts, b=str(area_id))
        area = self._area(area_id)
        area.update(anchored_height=height, anchored_hash=a["header_hash"], anchored_at=ts)
        self._put_area(area, seq, ts)
        return f"area {area_id} header {height} anchored", []

    def _on_EquivocationProven(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        area = self._area(int(a["area_id"]))
        area["equivocations"] = int(area.get("equivocations", 0)) + 1
        self._put_area(area, seq, ts)
        return (
            f"validator {a['validator']} signed two headers at area {a['area_id']} height "
            f"{a['height']}: reported by {a['reporter']}",
            [],
        )

    # BorderGateway ---------------------------------------------------------------------------
    def _on_MessageDelivered(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        src, dst, nonce = int(a["src_area"]), int(a["dst_area"]), int(a["nonce"])
        msg = {
            "src_area": src,
            "dst_area": dst,
            "nonce": nonce,
            "sender": a["sender"],
            "recipient": a["recipient"],
            "amount": a["amount"],
            "payload_hash": a["payload_hash"],
            "status": "delivered",
            "delivered_at": ts,
        }
        key = f"{src}:{dst}:{nonce:020d}"
        self.put("message", key, msg, seq, ts, a=a["sender"].lower(), b=a["recipient"].lower())
        self._move(src, -int(a["amount"]), seq, ts)
        self._move(dst, int(a["amount"]), seq, ts)
        return f"message {nonce} from area {src} delivered to area {dst}", []

    def _on_WithdrawnFromArea(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        src, nonce = int(a["area_id"]), int(a["nonce"])
        msg = {
            "src_area": src,
            "dst_area": 0,
            "nonce": nonce,
            "sender": None,
            "recipient": a["recipient"],
            "amount": a["amount"],
            "payload_hash": None,
            "status": "delivered",
            "delivered_at": ts,
        }
        key = f"{src}:0:{nonce:020d}"
        self.put("message", key, msg, seq, ts, b=a["recipient"].lower())
        self._move(src, -int(a["amount"]), seq, ts)
        return f"{a['amount']} SEC withdrawn from area {src} to {a['recipient']}", []

    def _on_DepositedToArea(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        self._move(int(a["area_id"]), int(a["amount"]), seq, ts)
        return f"{a['account']} deposited {a['amount']} SEC into area {a['area_id']}", []

    def _move(self, area_id: int, amount: int, seq: int, ts: int) -> None:
        if area_id == 0:
            return
        area = self._area(area_id)
        area["balance"] = _add(area["balance"], amount)
        self._put_area(area, seq, ts)

    def _on_AreaPaused(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        area = self._area(int(a["area_id"]))
        area["paused"] = True
        self._put_area(area, seq, ts)
        return f"area {a['area_id']} paused by the guardian {a['by']}", []

    def _on_AreaUnpaused(self, seq: int, ts: int, a: dict) -> tuple[str, list[str]]:
        area = self._area(int(a["area_id"]))
        area["paused"] = False
        self._put_area(area, seq, ts)
        return f"area {a['area_id']} unpaused by the guardian {a['by']}", []


def _addresses(args: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for v in args.values():
        items = v if isinstance(v, list) else [v]
        for x in items:
            if isinstance(x, str) and len(x) == 42 and x.startswith("0x"):
                out.append(x)
    return out
