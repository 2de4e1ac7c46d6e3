"""Gateway benchmark: read throughput and latency of `GET /v1/orders/{id}`, and indexing speed.

    .venv/bin/python scripts/bench_gateway.py [--clients 50] [--seconds 10] [--rounds 3]
        [--copies 100] [--verify-runs 5] [--live-runs 5]

1. Starts anvil, deploys the suite, records a trading history (the gateway tests' one), and
   starts `sec gateway up` (one uvicorn worker, SQLite) on a free port.
2. Reads: `--clients` concurrent HTTP/1.1 keep-alive clients (asyncio, in this process, on
   the same machine as the server) ask for order ids in turn for `--seconds`, `--rounds`
   times; prints requests/s and the p50/p99 latency of each round, the best and the median,
   and the server's CPU time per request (user + sys of the gateway process over the round,
   from /proc: the figure that does not depend on what else the machine runs).
3. Indexing: replays the chain's recorded logs `--copies` times (as consecutive blocks) to
   an indexer over a fresh SQLite store through a node stub (no RPC cost: what is measured
   is decoding, projecting and writing); prints events/s.
4. Head to indexed: makes a listing on the chain and times until the gateway serves it; and
   `--live-runs` times, until its event arrives on an `/v1/events` stream opened before.
5. `sec verify`: writes a credit proof bundle of the recorded history and runs
   `sec verify BUNDLE --rpc URL --deployment FILE` `--verify-runs` times as a new process
   (start-up included); prints the best and median wall time and the median CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class RecordedNode:
    """A stand-in for web3 that serves recorded logs `copies` times over consecutive blocks."""

    def __init__(self, logs: list[dict[str, Any]], copies: int) -> None:
        from eth_utils import keccak

        first = min(int(log["blockNumber"]) for log in logs)
        span = max(int(log["blockNumber"]) for log in logs) - first + 1
        self.first = first
        self.by_block: dict[int, list[dict[str, Any]]] = {}
        for c in range(copies):
            for log in logs:
                number = int(log["blockNumber"]) + c * span
                block_hash = keccak(number.to_bytes(32, "big"))
                entry = dict(log, blockNumber=number, blockHash=block_hash)
                self.by_block.setdefault(number, []).append(entry)
        self.head = first + copies * span - 1
        self.eth = self
        self._keccak = keccak

    @property
    def block_number(self) -> int:
        return self.head

    def get_block(self, number: Any) -> dict[str, Any]:
        if isinstance(number, bytes | str):  # by hash: only the timestamp is asked for
            return {"hash": number, "timestamp": 1}
        return {"hash": self._keccak(int(number).to_bytes(32, "big")), "timestamp": 1}

    def get_logs(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for n in range(int(query["fromBlock"]), int(query["toBlock"]) + 1):
            out.extend(self.by_block.get(n, []))
        return out


async def read_load(url: str, ids: list[int], clients: int, seconds: float) -> list[float]:
    """`clients` keep-alive HTTP/1.1 connections, each sending its next request when the
    previous answer is in (a minimal client: the load generator must not be what is
    measured on a 2-core machine)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker(k: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        i = k
        try:
            while time.perf_counter() < stop:
                path = f"/v1/orders/{ids[i % len(ids)]}"
                request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
                t0 = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = head.split(b" ", 2)[1]
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                if status != b"200":
                    raise RuntimeError(f"GET {path} answered {status.decode()}")
                i += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker(k) for k in range(clients)))
    return latencies


def process_cpu(pid: int) -> float:
    """User + sys CPU seconds of process `pid` so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_reads(url: str, pid: int, ids: list[int], clients: int, seconds: float, rounds: int):
    asyncio.run(read_load(url, ids, clients, 1.0))  # warm-up
    results = []
    for r in range(rounds):
        cpu0 = process_cpu(pid)
        lat = asyncio.run(read_load(url, ids, clients, seconds))
        cpu = process_cpu(pid) - cpu0
        lat.sort()
        rate = len(lat) / seconds
        p50 = statistics.median(lat) * 1000
        p99 = lat[int(len(lat) * 0.99) - 1] * 1000
        per = cpu / len(lat) * 1e6
        results.append((rate, p50, p99, per))
        print(
            f"reads round {r + 1}: {rate:,.0f} requests/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
            f"server CPU {per:.0f} us/request ({len(lat):,} requests in {seconds:.0f} s)"
        )
    best = min(results, key=lambda x: x[2])
    print(
        f"reads: GET /v1/orders/{{id}}, {clients} concurrent clients, one uvicorn worker: "
        f"best round {best[0]:,.0f} requests/s p99 {best[2]:.1f} ms; median p99 "
        f"{statistics.median(r[2] for r in results):.1f} ms, median "
        f"{statistics.median(r[0] for r in results):,.0f} requests/s; server CPU "
        f"{statistics.median(r[3] for r in results):.0f} us/request "
        f"(capacity {1e6 / statistics.median(r[3] for r in results):,.0f} requests/s of one core)"
    )


def bench_verify(rpc: str, deployment: Path, history: Any, tmp: Path, runs: int) -> None:
    from sec_offchain.gateway.proofs import build_credit_bundle
    from tests.fixtures.gateway import CREDITS

    bundle = tmp / "credit.json"
    bundle.write_text(json.dumps(build_credit_bundle(CREDITS, history.header, b"\x03" * 32)))
    cmd = [sys.executable, "-m", "sec_offchain.cli", "verify", str(bundle), "--rpc", rpc]
    cmd += ["--deployment", str(deployment)]
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if out.returncode != 0 or not out.stdout.startswith("verified:"):
            raise RuntimeError(f"sec verify failed: {out.stdout}{out.stderr}")
    print(
        f"sec verify (a credit bundle, new process, start-up and two RPC calls included): "
        f"best {min(walls):.2f} s, median {statistics.median(walls):.2f} s wall; "
        f"median CPU {statistics.median(cpus):.2f} s (user + sys) over {runs} runs"
    )


def bench_live(url: str, suite: Any, seller: Any, runs: int) -> None:
    """From a transaction mined to its event arriving on an already open `/v1/events`
    stream (the live push, not a replay on connecting), `runs` times."""
    import threading

    import httpx

    waits = []
    for n in range(runs):
        last = httpx.get(url + "/v1/status").json()["events"]
        opened, arrived = threading.Event(), []

        def read(last=last, opened=opened, arrived=arrived) -> None:
            headers = {"Accept": "text/event-stream", "Last-Event-ID": str(last)}
            with httpx.stream("GET", url + "/v1/events", headers=headers, timeout=30) as resp:
                opened.set()
                for line in resp.iter_lines():
                    if line.startswith("data:"):
                        arrived.append(time.perf_counter())
                        return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        opened.wait(30)
        suite.create_listing(seller, 10**17, metadata=b"live %d" % n)
        mined = time.perf_counter()
        reader.join(30)
        waits.append(arrived[0] - mined)
    print(
        f"live event: pushed to an open stream {statistics.median(waits) * 1000:.0f} ms "
        f"(median of {runs}; longest {max(waits) * 1000:.0f} ms) after the transaction was mined"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--verify-runs", type=int, default=5)
    parser.add_argument("--live-runs", type=int, default=5)
    args = parser.parse_args()

    import httpx

    from sec_offchain.contracts.client import Suite
    from sec_offchain.contracts.deploy import SuiteParams, deploy_suite
    from sec_offchain.crypto.keys import get_dev_account
    from sec_offchain.devchain import Anvil
    from sec_offchain.gateway.indexer import Indexer
    from sec_offchain.gateway.store import open_store
    from tests.fixtures.gateway import GatewayProcess, record_history

    tmp = Path(tempfile.mkdtemp(prefix="sec-bench-"))
    with Anvil() as anvil:
        deployment = deploy_suite(anvil.w3, get_dev_account(0), SuiteParams(), lambda m: None)
        path = deployment.save(tmp / "deployments.json")
        suite = Suite(anvil.w3, deployment)
        history = record_history(anvil, suite)
        gateway = GatewayProcess(anvil.url, path, str(tmp / "gateway.db"))
        try:
            gateway.wait_indexed(int(anvil.w3.eth.block_number))
            ids = [history.completed, history.shared, history.cancelled, history.disputed]
            bench_reads(gateway.url, gateway.proc.pid, ids, args.clients, args.seconds, args.rounds)

            before = httpx.get(gateway.url + "/v1/status").json()["events"]
            started = time.perf_counter()
            listing, _ = suite.create_listing(get_dev_account(9), 10**17, metadata=b"bench")
            mined = time.perf_counter()
            while httpx.get(f"{gateway.url}/v1/listings/{listing}").status_code != 200:
                time.sleep(0.01)
            done = time.perf_counter()
            assert httpx.get(gateway.url + "/v1/status").json()["events"] > before
            print(
                f"head to indexed: {(done - mined) * 1000:.0f} ms after the transaction was "
                f"mined ({(done - started) * 1000:.0f} ms from sending it)"
            )
            bench_live(gateway.url, suite, get_dev_account(9), args.live_runs)
        finally:
            gateway.stop()
        bench_verify(anvil.url, path, history, tmp, args.verify_runs)

        addresses = [r.address for r in deployment.contracts.values()]
        raw = anvil.w3.eth.get_logs(
            {"fromBlock": deployment.block, "toBlock": "latest", "address": addresses}
        )
    logs = [dict(x) for x in raw]
    node = RecordedNode(logs, args.copies)
    store = open_store(str(tmp / "replay.db"))
    indexer = Indexer(node, deployment, store, block_range=2_000)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    indexer.catch_up(timeout=600)
    elapsed = time.perf_counter() - t0
    count = store.query("SELECT COUNT(*) FROM events")[0][0]
    print(
        f"indexing: {count / elapsed:,.0f} events/s ({count:,} recorded events replayed over "
        f"{node.head - node.first + 1:,} blocks into SQLite in {elapsed:.1f} s)"
    )


if __name__ == "__main__":
    main()
