"""/metrics: Prometheus exposition, read from the store at each scrape (one registry per app,
no process-wide state). Names follow the Prometheus conventions: `sec_` prefix, base units,
`_total` for counters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from sec_offchain.gateway.app import GatewayContext


class GatewayCollector(Collector):
    def __init__(self, ctx: GatewayContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Any]:
        store, ix = self.ctx.store, self.ctx.indexer
        cursor = store.get_cursor()
        head = ix.head if ix is not None and ix.head else cursor
        yield GaugeMetricFamily(
            "sec_gateway_chain_head_block", "Latest block number the indexer saw.", value=head
        )
        yield GaugeMetricFamily(
            "sec_gateway_indexed_block", "Last block whose events are indexed.", value=cursor
        )
        yield GaugeMetricFamily(
            "sec_gateway_indexer_lag_blocks",
            "Blocks between the chain head and the index (confirmations included).",
            value=max(0, head - cursor),
        )
        yield CounterMetricFamily(
            "sec_gateway_events_indexed",
            "Contract events indexed.",
            value=int(store.get_meta("next_id") or 1) - 1,
        )
        yield CounterMetricFamily(
            "sec_gateway_reorgs", "Reorgs the indexer rewound.", value=ix.reorgs if ix else 0
        )
        areas = [
            json.loads(r[0]) for r in store.query("SELECT data FROM entities WHERE kind = 'area'")
        ]
        anchored = GaugeMetricFamily(
            "sec_area_anchored_height", "Latest anchored header height per area.", labels=["area"]
        )
        last = GaugeMetricFamily(
            "sec_area_last_anchor_timestamp_seconds",
            "Block time of the last anchor per area (alert on time() minus this).",
            labels=["area"],
        )
        paused = GaugeMetricFamily(
            "sec_area_paused", "1 while the guardian has paused the area.", labels=["area"]
        )
        equivocations = CounterMetricFamily(
            "sec_area_equivocations", "Equivocations proven per area.", labels=["area"]
        )
        for a in sorted(areas, key=lambda x: x["area_id"]):
            label = [str(a["area_id"])]
            anchored.add_metric(label, a["anchored_height"])
            if a.get("anchored_at") is not None:
                last.add_metric(label, a["anchored_at"])
            paused.add_metric(label, 1 if a["paused"] else 0)
            equivocations.add_metric(label, a.get("equivocations", 0))
        yield from (anchored, last, paused, equivocations)
        paid = CounterMetricFamily(
            "sec_escrow_paid_amount",
            "Amount paid into escrow orders, in the token's smallest unit.",
            labels=["token"],
        )
        completed = CounterMetricFamily(
            "sec_escrow_completed_amount",
            "Amount of completed orders, in the token's smallest unit.",
            labels=["token"],
        )
        orders = CounterMetricFamily("sec_escrow_orders", "Orders paid.", labels=["token"])
        for r in store.query("SELECT data FROM entities WHERE kind = 'volume' ORDER BY key"):
            v = json.loads(r[0])
            paid.add_metric([v["token"]], float(int(v["paid"])))
            completed.add_metric([v["token"]], float(int(v["completed"])))
            orders.add_metric([v["token"]], v["orders"])
        yield from (paid, completed, orders)
        open_cases = store.query(
            "SELECT COUNT(*) FROM entities WHERE kind = 'case' AND status <> 'executed'"
        )[0][0]
        yield GaugeMetricFamily("sec_court_open_cases", "Cases not executed yet.", value=open_cases)
        disputed = store.query(
            "SELECT COUNT(*) FROM entities WHERE kind = 'order' AND status = 'disputed'"
        )[0][0]
        yield GaugeMetricFamily(
            "sec_escrow_disputed_orders", "Orders under dispute now.", value=disputed
        )
        yield from self._pending()
        yield from self._relay()

    def _pending(self) -> Iterator[Any]:
        """BGC messages sent and not delivered yet, per channel (with --devnet)."""
        pending = self.ctx.pending
        if pending is None:
            return
        items, silent = pending.pending()
        count = GaugeMetricFamily(
            "sec_bgc_pending_messages",
            "BGC messages sent by a source area's block and not delivered on chain yet.",
            labels=["src_area", "dst_area"],
        )
        oldest = GaugeMetricFamily(
            "sec_bgc_oldest_pending_message_age_seconds",
            "Age of the oldest pending BGC message per channel.",
            labels=["src_area", "dst_area"],
        )
        channels: dict[tuple[str, str], list[int]] = {}
        for m in items:
            channels.setdefault((str(m["src_area"]), str(m["dst_area"])), []).append(m["age"])
        for label, ages in sorted(channels.items()):
            count.add_metric(list(label), len(ages))
            oldest.add_metric(list(label), max(ages))
        answering = GaugeMetricFamily(
            "sec_area_nodes_answering",
            "1 when a node of the area answered the gateway's last look, else 0.",
            labels=["area"],
        )
        for area in pending.nodes.area_ids:
            answering.add_metric([str(area)], 0 if area in silent else 1)
        yield from (count, oldest, answering)

    def _relay(self) -> Iterator[Any]:
        """The relayer core's queue, failures and sponsored gas (with --relayer-key)."""
        handle = self.ctx.relay
        if handle is None:
            return
        with handle.lock:  # the core's SQLite connection is shared by the request threads
            stats = handle.core.store.stats()
        by_status = stats["by_status"]
        queue = GaugeMetricFamily(
            "sec_relay_queue_requests",
            "Relayed requests not final yet: queued (not sent) or pending (sent, not mined).",
            labels=["status"],
        )
        for status in ("queued", "pending"):
            queue.add_metric([status], by_status.get(status, 0))
        failed = CounterMetricFamily(
            "sec_relay_requests_failed",
            "Relayed requests that failed after they were taken: reverted or dropped.",
            labels=["status"],
        )
        for status in ("reverted", "dropped"):
            failed.add_metric([status], by_status.get(status, 0))
        mined = CounterMetricFamily(
            "sec_relay_requests_mined", "Relayed requests mined.", value=by_status.get("mined", 0)
        )
        refused = CounterMetricFamily(
            "sec_relay_requests_refused",
            "Requests the sponsorship policy (or a failing simulation) refused.",
            value=stats["refused"],
        )
        gas = CounterMetricFamily(
            "sec_relay_sponsored_gas",
            "Gas the relayer paid for users' requests (mined and reverted).",
            value=stats["gas_used"],
        )
        yield from (queue, failed, mined, refused, gas)


def build_registry(ctx: GatewayContext) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GatewayCollector(ctx))
    return registry


def render(registry: CollectorRegistry) -> tuple[bytes, str]:
    return generate_latest(registry), CONTENT_TYPE_LATEST
