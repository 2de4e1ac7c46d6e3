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


def build_registry(ctx: GatewayContext) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GatewayCollector(ctx))
    return registry


def render(registry: CollectorRegistry) -> tuple[bytes, str]:
    return generate_latest(registry), CONTENT_TYPE_LATEST
