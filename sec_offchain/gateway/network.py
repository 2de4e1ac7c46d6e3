"""What the operations dashboard watches beyond the index: the area nodes (a devnet's, with
`sec gateway up --devnet HOME`) polled for their status, the devnet's processes as its
supervisor records them, and the alerts raised from those and from the index.

A `NodeMonitor` thread asks every node for its status (`net.STATUS_REQ`, the request
`sec devnet status` makes) once per `poll` seconds, all nodes at once, each with a timeout:
a node that does not answer in time is down. Per area it keeps the head (the highest height a
node reports), the final height (the highest final height) and when that final height last
moved, for the stalled-finality alert.

`build_alerts` is a pure function of the index's status, the indexed areas, the node snapshot
and the thresholds, so its rules are tested without a network.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("sec.gateway.network")


@dataclass(frozen=True)
class AlertThresholds:
    """When an alert is raised (`sec gateway up --alert-anchor-lag` and friends)."""

    anchor_lag: int = 20  # an area's final blocks not anchored yet
    finality_stall: float = 120.0  # seconds an area's final height may stand still
    index_lag: int = 20  # main-chain blocks the index may be behind the chain head
    anchor_age: int = 600  # seconds of chain time since an area's last anchor

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class NodeMonitor:
    """Polls the status of every node of a devnet's areas (`cfg`, a DevnetConfig)."""

    def __init__(
        self,
        cfg: Any,
        poll: float = 1.0,
        timeout: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from eth_account import Account

        self.cfg = cfg
        self.poll = poll
        self.timeout = timeout
        self.clock = clock
        # The status request is signed like any peer's hello: an identity made up at start,
        # since the gateway holds no key of its own.
        self._me = Account.create()
        self._lock = threading.Lock()
        self._nodes: dict[tuple[int, str], dict[str, Any]] = {}
        self._final: dict[int, tuple[int, float]] = {}  # area -> (final height, since when)
        self.checked_at: float | None = None

    async def _ask(self, area_id: int, node: Any) -> dict[str, Any] | None:
        from sec_offchain.area import net
        from sec_offchain.relayers.run import node_host

        host, port = node_host(node)
        try:
            body = await asyncio.wait_for(
                net.request(
                    host,
                    port,
                    bytes(self._me.key),
                    bytes.fromhex(self._me.address[2:]),
                    self.cfg.chain_id,
                    area_id,
                    net.STATUS_REQ,
                    b"",
                    net.STATUS,
                    timeout=self.timeout,
                ),
                2 * self.timeout,
            )
            data = json.loads(body)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, net.ProtocolError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def poll_once(self) -> None:
        """Asks every node once and records the answers."""
        from sec_offchain.relayers.run import node_host

        pairs = [(a.area_id, n) for a in self.cfg.areas for n in a.nodes]

        async def ask_all() -> list[dict[str, Any] | None]:
            return await asyncio.gather(*(self._ask(a, n) for a, n in pairs))

        answers = asyncio.run(ask_all())
        now = self.clock()
        with self._lock:
            for (area_id, node), data in zip(pairs, answers, strict=True):
                host, port = node_host(node)
                entry = self._nodes.setdefault(
                    (area_id, node.address.lower()),
                    {"address": node.address, "host": host, "port": port, "last_seen": None},
                )
                entry["up"] = data is not None
                if data is not None:
                    entry.update(
                        height=int(data.get("height", 0)),
                        final_height=int(data.get("final_height", 0)),
                        peers=len(data.get("peers", [])),
                        pool=int(data.get("pool", 0)),
                        uptime=data.get("uptime"),
                        on_duty=data.get("on_duty"),
                        last_seen=now,
                    )
            for area in self.cfg.areas:
                finals = [
                    e["final_height"]
                    for (a, _), e in self._nodes.items()
                    if a == area.area_id and e["up"]
                ]
                if finals:
                    final = max(finals)
                    known = self._final.get(area.area_id)
                    if known is None or known[0] != final:
                        self._final[area.area_id] = (final, now)
            self.checked_at = now

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception:  # noqa: BLE001 - the monitor must outlive any one failure
                log.exception("polling the area nodes failed")
            stop.wait(self.poll)

    def snapshot(self) -> dict[str, Any]:
        """Every area's head, final height (and since when) and nodes, as last polled."""
        with self._lock:
            areas = []
            for area in self.cfg.areas:
                nodes = []
                for n in area.nodes:
                    e = self._nodes.get((area.area_id, n.address.lower()))
                    nodes.append(
                        {
                            "address": n.address,
                            "up": bool(e and e["up"]),
                            "height": e.get("height") if e else None,
                            "final_height": e.get("final_height") if e else None,
                            "peers": e.get("peers") if e else None,
                            "pool": e.get("pool") if e else None,
                            "last_seen": e.get("last_seen") if e else None,
                        }
                    )
                up = [n for n in nodes if n["up"]]
                final = self._final.get(area.area_id)
                # who is on duty, as the node with the longest chain sees it
                leader = max(
                    (
                        e
                        for (a, _), e in self._nodes.items()
                        if a == area.area_id and e["up"] and e.get("on_duty")
                    ),
                    key=lambda e: e["height"],
                    default=None,
                )
                areas.append(
                    {
                        "area_id": area.area_id,
                        "head": max((n["height"] for n in up), default=None),
                        "final": max((n["final_height"] for n in up), default=None),
                        "final_since": final[1] if final else None,
                        "on_duty": leader["on_duty"] if leader else None,
                        "nodes": nodes,
                    }
                )
            return {"checked_at": self.checked_at, "poll": self.poll, "areas": areas}


def read_processes(home: Path) -> list[dict[str, Any]]:
    """A devnet's processes as its supervisor last wrote them (name, pid, up, restarts,
    last exit); [] when the home has none."""
    from sec_offchain.devnet import processes

    return processes(home)


def build_alerts(
    status: dict[str, Any],
    areas: list[dict[str, Any]],
    network: dict[str, Any] | None,
    thresholds: AlertThresholds,
    now: float,
) -> list[dict[str, Any]]:
    """The alerts: each {"kind", "area" (or None), "message"} with the message one sentence.
    `status` is /v1/status, `areas` /v1/areas (anchored heights from the index), `network`
    a NodeMonitor snapshot (None without nodes)."""
    alerts: list[dict[str, Any]] = []

    def add(kind: str, area: int | None, message: str) -> None:
        alerts.append({"kind": kind, "area": area, "message": message})

    if status["lag"] > thresholds.index_lag:
        add("index-lag", None, f"The indexer is {status['lag']} blocks behind the chain.")
    if status.get("reorgs"):
        add("reorgs", None, f"{status['reorgs']} reorgs rewound the index since it started.")
    indexed = {a["area_id"]: a for a in areas}
    for a in areas:
        area_id = a["area_id"]
        if a.get("paused"):
            add("paused", area_id, f"Area {area_id} is paused.")
        if a.get("equivocations"):
            add(
                "equivocation",
                area_id,
                f"Area {area_id}: {a['equivocations']} equivocations proven.",
            )
        age = a.get("anchor_age")
        if age is not None and age > thresholds.anchor_age:
            add(
                "anchor-age",
                area_id,
                f"Area {area_id} has not anchored for {age} s of chain time (missed anchors).",
            )
    for area in (network or {}).get("areas", []):
        area_id = area["area_id"]
        for n in area["nodes"]:
            if not n["up"]:
                add("node-down", area_id, f"Area {area_id}: node {n['address']} does not answer.")
        final = area["final"]
        if final is None:
            continue
        anchored = int(indexed.get(area_id, {}).get("anchored_height") or 0)
        if final - anchored > thresholds.anchor_lag:
            add(
                "anchor-lag",
                area_id,
                f"Area {area_id}: {final - anchored} final blocks are not anchored "
                f"(anchored {anchored}, final {final}; the limit is {thresholds.anchor_lag}): "
                "missed anchors.",
            )
        since = area.get("final_since")
        if since is not None and now - since > thresholds.finality_stall:
            add(
                "finality-stalled",
                area_id,
                f"Area {area_id}: finality stalled at height {final} for {int(now - since)} s.",
            )
    return alerts


class NetworkCollector(Collector):
    """/metrics for the nodes: per area head and final height and anchor lag, per node up
    and peers."""

    def __init__(self, monitor: NodeMonitor, anchored: Callable[[int], int]) -> None:
        self.monitor = monitor
        self.anchored = anchored

    def collect(self) -> Iterator[Any]:
        snap = self.monitor.snapshot()
        head = GaugeMetricFamily(
            "sec_area_head_height",
            "Highest block height a node of the area reports.",
            labels=["area"],
        )
        final = GaugeMetricFamily(
            "sec_area_final_height",
            "Highest final height a node of the area reports.",
            labels=["area"],
        )
        lag = GaugeMetricFamily(
            "sec_area_anchor_lag_blocks",
            "Final blocks of the area not anchored yet (final minus anchored height).",
            labels=["area"],
        )
        up = GaugeMetricFamily(
            "sec_node_up",
            "1 when the node answered the last status request.",
            labels=["area", "node"],
        )
        peers = GaugeMetricFamily(
            "sec_node_peers", "The node's connected peers.", labels=["area", "node"]
        )
        for area in snap["areas"]:
            label = str(area["area_id"])
            if area["head"] is not None:
                head.add_metric([label], area["head"])
                final.add_metric([label], area["final"])
                lag.add_metric([label], max(0, area["final"] - self.anchored(area["area_id"])))
            for n in area["nodes"]:
                up.add_metric([label, n["address"]], 1 if n["up"] else 0)
                if n["up"]:
                    peers.add_metric([label, n["address"]], n["peers"])
        yield from (head, final, lag, up, peers)
