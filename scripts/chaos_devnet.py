"""Chaos runs of the devnet: kills and main-chain reorgs under load (prints; asserts nothing).

    python scripts/chaos_devnet.py [--runs 20] [--reorg-runs 5] [--seed 1] [--duration 40]
                                   [--areas 2] [--nodes 4] [--keep DIR]

Each run starts `sec devnet up` (anvil, the suite, `--areas` areas of `--nodes` nodes, the
escrow bridge and its standby, an anchor relayer per area, the BGC relayer, the gateway) and
drives a steady workload for `--duration` seconds: escrow trades on the main chain (some left
paid or shipped, the rest completed) and cross-area purchases (a payment from one area to a
seller in another, shipped and confirmed there). Then:

  kill runs (`--runs`)     every few seconds a random process gets SIGKILL (nodes, the first
                           node of every area among them, bridges, relayers, the gateway);
  reorg runs (2 x `--reorg-runs`)  halfway, `anvil_reorg` replaces the last blocks: half of
                           these runs deeper than the confirmation depth, half shallower;
                           the removed transactions are then sent again, as a real chain's
                           nodes return them to their pools (`--no-replay`: gone for good,
                           as after a double spend).

After the workload the run settles (everything in flight delivered, anchors caught up), is
checked, and stopped: with Ctrl-C, or every other run with SIGKILL of `sec devnet up` itself.
The checks are the reliability targets (docs/decisions.md, "Multi-host test and chaos runs"):

  records    every completed order has exactly one trade record in its seller's area, and no
             record exists for an order that is not completed;
  agree      all nodes of an area hold the same block at the lowest final height among them;
  anchors    anchored heights keep rising: the longest time without a new anchor in an area,
             from when a killed process was back (restarted by the supervisor; a node
             also answering its peers again) until the next kill, is at most 3 anchor
             intervals (the area's mean time between anchors in that run); one process is
             down at a time;
  bgc        every egress message of an anchored area block is delivered, each exactly once;
  totals     each area's balance on chain equals its ledger (balances plus held payments);
  shutdown   no process of the devnet (anvil included) runs 30 s after the stop.

One line per run, then how many runs met each target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import rlp
from web3 import Web3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sec_offchain.area import net  # noqa: E402
from sec_offchain.area.block import Block  # noqa: E402
from sec_offchain.area.devnet_config import DevnetConfig  # noqa: E402
from sec_offchain.area.ledger import CONFIRM, PAY, SHIP, AreaTx  # noqa: E402
from sec_offchain.area.records import TradeRecord  # noqa: E402
from sec_offchain.contracts.client import Suite  # noqa: E402
from sec_offchain.contracts.deployment import Deployment  # noqa: E402
from sec_offchain.crypto.keys import get_dev_account  # noqa: E402
from sec_offchain.devnet import CONFIRMATIONS, node_status  # noqa: E402

SEC = 10**18
COMPLETED = 3
TRADERS = [(get_dev_account(1), get_dev_account(2)), (get_dev_account(3), get_dev_account(4))]
AREA_BUYERS = {1: get_dev_account(5), 2: get_dev_account(6)}  # pays out of this area
AREA_SELLERS = {1: get_dev_account(7), 2: get_dev_account(9)}  # sells in this area
ASKER = get_dev_account(99)
TARGETS = ("records", "agree", "anchors", "bgc", "totals", "shutdown")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (ProcessLookupError, OSError):
        return False


def wait_for(check, timeout: float, step: float = 0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            got = check()
        except Exception:  # noqa: BLE001 - a node or the chain down for a moment
            got = None
        if got:
            return got
        time.sleep(step)
    return None


def ask(cfg: DevnetConfig, area: int, index: int, kind: int, payload: bytes, reply: int):
    node = cfg.area(area).nodes[index]
    try:
        return asyncio.run(
            net.request(
                "127.0.0.1",
                node.port,
                ASKER.key,
                bytes.fromhex(ASKER.address[2:]),
                cfg.chain_id,
                area,
                kind,
                payload,
                reply,
                timeout=5,
            )
        )
    except (TimeoutError, OSError, asyncio.IncompleteReadError, net.ProtocolError):
        return None


def ask_any(cfg: DevnetConfig, area: int, kind: int, payload: bytes, reply: int):
    for i in range(len(cfg.area(area).nodes)):
        body = ask(cfg, area, i, kind, payload, reply)
        if body is not None:
            return body
    return None


def ledger(cfg: DevnetConfig, area: int, account) -> dict | None:
    body = ask_any(
        cfg, area, net.LEDGER_REQ, rlp.encode([bytes.fromhex(account.address[2:])]), net.LEDGER
    )
    return json.loads(body) if body else None


def area_tx(cfg: DevnetConfig, area: int, account, build) -> bool:
    view = ledger(cfg, area, account)
    if view is None:
        return False
    tx = build(int(view["next_tx_nonce"])).signed(account.key, cfg.record_separator)
    body = ask_any(cfg, area, net.SUBMIT_TX, tx.encode(), net.ACK)
    return body is not None and rlp.decode(body)[0] == b"\x01"


@dataclass
class Run:
    kind: str  # kill | deep | shallow
    kills: list[tuple[float, str, int]] = field(default_factory=list)  # when, what, pid
    restarted: dict[int, float] = field(default_factory=dict)  # kill -> a new process runs
    back: dict[int, float] = field(default_factory=dict)  # kill -> when it was back (answering)
    anchors: dict[int, list[tuple[float, int]]] = field(default_factory=dict)
    reorg: int = 0
    replayed: int = 0
    converged: float = 0.0  # after the anchors, until records and totals agreed
    trades: int = 0
    payments: int = 0
    errors: Counter = field(default_factory=Counter)
    results: dict[str, tuple[bool, str]] = field(default_factory=dict)


class Workload:
    """Trades and cross-area purchases until `stop` is set (each step may fail: a reorg
    takes transactions back, a node is down; the checks read what the chain and the areas
    hold at the end, not what the workload believes)."""

    def __init__(self, cfg: DevnetConfig, suite: Suite, run: Run, rng: random.Random) -> None:
        self.cfg, self.suite, self.run, self.rng = cfg, suite, run, rng
        self.stop = threading.Event()
        self.gate = threading.Lock()  # held around each main-chain transaction (a reorg waits)

    def trades(self, seller, buyer) -> None:
        while not self.stop.is_set():
            try:
                with self.gate:
                    listing, _ = self.suite.create_listing(seller, 10**15)
                with self.gate:
                    order, _ = self.suite.buy(buyer, listing)
                self.run.trades += 1
                if self.rng.random() < 0.8:
                    with self.gate:
                        self.suite.ship(seller, order, "T")
                    if self.rng.random() < 0.85:
                        with self.gate:
                            self.suite.confirm(buyer, order)
            except Exception as exc:  # noqa: BLE001 - reorged, reverted: go on
                self.run.errors[type(exc).__name__] += 1
                self.stop.wait(0.5)
            self.stop.wait(0.2)

    def payments(self) -> None:
        areas = [a.area_id for a in self.cfg.areas]
        gw = self.suite.contract("BorderGateway")
        for area, buyer in AREA_BUYERS.items():
            self.suite.ensure_allowance(buyer, gw.address, 1_000 * SEC)
            self.suite.tx(buyer).transact(gw.functions.deposit_to_area(area, 1_000 * SEC))
        listing = 1
        while not self.stop.is_set():
            src = self.rng.choice(areas)
            dst = next(a for a in areas if a != src)
            buyer, seller = AREA_BUYERS[src], AREA_SELLERS[dst]
            me, to = bytes.fromhex(buyer.address[2:]), bytes.fromhex(seller.address[2:])
            listing += 1
            try:
                if area_tx(
                    self.cfg,
                    src,
                    buyer,
                    lambda n, src=src, dst=dst, me=me, to=to, listing=listing: AreaTx(
                        PAY, me, src, n, dst_area=dst, recipient=to, amount=SEC, listing_id=listing
                    ),
                ):
                    self.run.payments += 1
                self._settle_payments(dst, buyer, seller)
            except Exception as exc:  # noqa: BLE001
                self.run.errors[type(exc).__name__] += 1
            self.stop.wait(1.0)

    def _settle_payments(self, area: int, buyer, seller) -> None:
        """Ships and confirms whatever payments to `seller` arrived in `area`."""
        view = ledger(self.cfg, area, seller)
        for p in view["payments"] if view else []:
            src, nonce = map(int, p["ref"].split(":"))
            me = bytes.fromhex(seller.address[2:])
            b = bytes.fromhex(buyer.address[2:])
            if p["status"] == "paid":
                area_tx(
                    self.cfg,
                    area,
                    seller,
                    lambda n, s=src, k=nonce, me=me: AreaTx(
                        SHIP, me, area, n, ref_src=s, ref_nonce=k
                    ),
                )
            elif p["status"] == "shipped":
                area_tx(
                    self.cfg,
                    area,
                    buyer,
                    lambda n, s=src, k=nonce, b=b: AreaTx(
                        CONFIRM, b, area, n, ref_src=s, ref_nonce=k
                    ),
                )


class Devnet:
    def __init__(self, home: Path, areas: int, nodes: int, log: Path) -> None:
        self.home = home
        out = open(log, "wb")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sec_offchain.cli",
                "devnet",
                "up",
                *("--areas", str(areas), "--nodes", str(nodes), "--interval", "1"),
                *("--consensus", "round-robin", "--home", str(home), "--fresh"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        out.close()

    def state(self) -> dict:
        try:
            return json.loads((self.home / "supervisor.json").read_text())
        except (OSError, ValueError):
            return {}

    def ready(self, timeout: float = 300) -> DevnetConfig | None:
        ok = wait_for(
            lambda: (
                self.proc.poll() is None
                and (self.home / "pids.json").exists()
                and (self.home / "devnet.json").exists()
            ),
            timeout,
        )
        return DevnetConfig.load(self.home / "devnet.json") if ok else None


def watch_anchors(suite: Suite, run: Run, areas: list[int], stop: threading.Event) -> None:
    hub = suite.anchor_hub.functions
    while not stop.is_set():
        for a in areas:
            try:
                h = int(hub.latest_height(a).call())
            except Exception:  # noqa: BLE001
                continue
            seen = run.anchors.setdefault(a, [])
            if not seen or seen[-1][1] != h:
                seen.append((time.time(), h))
        stop.wait(0.25)


def chaos(dev: Devnet, run: Run, rng: random.Random, until: float, areas: list[int]) -> None:
    """SIGKILLs one process at a time, 6-10 s after everything is up again (the previous
    victim back); the first node of every area is among the victims."""
    firsts = [f"node-{a}-0" for a in areas]
    rng.shuffle(firsts)
    while time.time() < until - 6:
        time.sleep(rng.uniform(6, 10))
        state = dev.state()
        if len(run.back) < len(run.kills) or not all(s["up"] for s in state.values()):
            continue
        names = [n for n in state if n != "anvil"]
        name = firsts.pop() if firsts else rng.choice(names)
        try:
            os.kill(state[name]["pid"], signal.SIGKILL)
            run.kills.append((time.time(), name, state[name]["pid"]))
        except ProcessLookupError:
            pass


def track_back(dev: Devnet, cfg: DevnetConfig, run: Run, stop: threading.Event) -> None:
    """When each killed process was back: restarted (a new pid, running) and, for a node,
    answering its peers again (a node that is still importing and rebuilding its state
    takes no part yet; on a loaded machine that takes seconds, shown as start-up)."""
    nodes = {
        f"node-{a.area_id}-{i}": (a.area_id, n) for a in cfg.areas for i, n in enumerate(a.nodes)
    }
    while not stop.is_set():
        state = dev.state()
        for k, (_, name, pid) in enumerate(run.kills):
            s = state.get(name)
            if k in run.back or not s or not s["up"] or s["pid"] == pid:
                continue
            run.restarted.setdefault(k, time.time())
            if name in nodes and node_status(cfg, *nodes[name]) is None:
                continue
            run.back[k] = time.time()
        stop.wait(0.25)


def reorg(w3: Web3, depth: int, gate: threading.Lock, replay: bool) -> int:
    """Replaces the last `depth` blocks with empty ones (`anvil_reorg`). With `replay`, the
    transactions of the removed blocks are then sent again, as a real chain's nodes return
    an abandoned branch's transactions to their pools (the workload waits meanwhile);
    without, they are gone for good. Returns how many were mined again."""
    with gate:
        head = w3.eth.block_number
        raws = []
        for n in range(head - depth + 1, head + 1):
            for h in w3.eth.get_block(n)["transactions"]:
                got = w3.provider.make_request("eth_getRawTransactionByHash", ["0x" + h.hex()])
                raws.append(got["result"])
        assert w3.provider.make_request("anvil_reorg", [depth, []]).get("error") is None
        again = 0
        for raw in raws if replay else []:
            try:
                w3.eth.send_raw_transaction(raw)
                again += 1
            except Exception:  # noqa: BLE001 - a relayer sent its own again first
                pass
        return again


def header_of(cfg: DevnetConfig, area: int, index: int, height: int):
    body = ask(cfg, area, index, net.GET_ATTEST, rlp.encode([height]), net.ATTEST)
    data = json.loads(body) if body else None
    return data["header"] if data and data["header"] else None


def block_at(cfg: DevnetConfig, area: int, height: int) -> Block | None:
    body = ask_any(cfg, area, net.GET_BLOCKS, rlp.encode([height, 1]), net.BLOCK)
    return Block.decode(body) if body else None


def settle(cfg: DevnetConfig, suite: Suite, timeout: float = 90) -> float:
    """Waits until both areas have anchored past the height the workload stopped at, every
    egress message of an anchored block is delivered, and then (at most a minute) until
    the records and the totals agree: a record whose bridge was killed in the workload's
    last seconds, or a delivery the destination area credits in its next block, lands
    after the anchors did. What still disagrees after that is reported by the checks."""
    areas = [a.area_id for a in cfg.areas]
    hub = suite.anchor_hub.functions
    target = {}
    for a in areas:
        st = wait_for(lambda a=a: ask_any(cfg, a, net.STATUS_REQ, b"", net.STATUS), 30)
        target[a] = json.loads(st)["final_height"] + 2 if st else 0
    wait_for(lambda: all(hub.latest_height(a).call() >= target[a] for a in areas), timeout)
    wait_for(lambda: check_bgc(cfg, suite)[0], 30, step=2)
    started = time.time()
    wait_for(lambda: check_records(cfg, suite)[0] and check_totals(cfg, suite)[0], 60, step=2)
    return time.time() - started


def check_records(cfg: DevnetConfig, suite: Suite) -> tuple[bool, str]:
    esc = suite.escrow.functions
    counts: Counter = Counter()
    for area in cfg.areas:
        for _, buyer in TRADERS:
            body = ask_any(
                cfg,
                area.area_id,
                net.RECORDS_OF,
                rlp.encode([bytes.fromhex(buyer.address[2:])]),
                net.RECORDS,
            )
            if body is None:
                return False, f"no node of area {area.area_id} answers"
            for _, raw in rlp.decode(body):
                r = TradeRecord.decode(raw)
                counts[(area.area_id, r.order_id)] += 1
    bad = []
    orders = {o for _, o in counts} | set(range(1, int(esc.order_count().call()) + 1))
    completed = 0
    for order in sorted(orders):
        status = int(esc.order_status(order).call())
        where = cfg.area_of(suite.get_order(order).seller) if status else None
        n = counts.get((where, order), 0) if where else 0
        elsewhere = sum(c for (a, o), c in counts.items() if o == order and a != where)
        if status == COMPLETED:
            completed += 1
            if n != 1 or elsewhere:
                bad.append(f"order {order} completed, {n} records (+{elsewhere} elsewhere)")
        elif n or elsewhere:
            bad.append(f"order {order} status {status}, {n + elsewhere} records")
    return not bad, "; ".join(bad[:3]) or f"{completed} completed orders, one record each"


def check_agree(cfg: DevnetConfig) -> tuple[bool, str]:
    out = []
    for area in cfg.areas:
        sts = [
            ask(cfg, area.area_id, i, net.STATUS_REQ, b"", net.STATUS)
            for i in range(len(area.nodes))
        ]
        finals = [json.loads(s)["final_height"] for s in sts if s]
        if len(finals) != len(area.nodes):
            return False, f"area {area.area_id}: {len(finals)} of {len(area.nodes)} nodes answer"
        low = min(finals)
        headers = {
            json.dumps(header_of(cfg, area.area_id, i, low), sort_keys=True)
            for i in range(len(area.nodes))
        }
        if len(headers) != 1:
            return False, f"area {area.area_id}: nodes differ at final height {low}"
        out.append(f"area {area.area_id} to {low}")
    return True, ", ".join(out)


def check_bgc(cfg: DevnetConfig, suite: Suite) -> tuple[bool, str]:
    gw = suite.contract("BorderGateway")
    hub = suite.anchor_hub.functions
    delivered = Counter(
        (e["args"]["src_area"], e["args"]["dst_area"], e["args"]["nonce"])
        for e in gw.events.MessageDelivered().get_logs(from_block=0)
    )
    twice = [k for k, c in delivered.items() if c > 1]
    sent = set()
    for area in cfg.areas:
        top = int(hub.latest_height(area.area_id).call())
        for h in range(1, top + 1):
            block = block_at(cfg, area.area_id, h)
            if block is None:
                return False, f"area {area.area_id} height {h} unavailable"
            sent |= {(m.src_area, m.dst_area, m.nonce) for m in block.egress if m.dst_area}
    missing = sorted(sent - set(delivered))
    extra = sorted(set(delivered) - sent)
    ok = not twice and not missing
    return ok, (
        f"{len(sent)} messages, {len(missing)} missing, {len(twice)} twice, "
        f"{len(extra)} delivered past the anchored blocks"
    )


def check_totals(cfg: DevnetConfig, suite: Suite) -> tuple[bool, str]:
    gw = suite.contract("BorderGateway").functions
    parts = []
    ok = True
    for area in cfg.areas:
        a = area.area_id
        on_chain = int(gw.area_balance(a).call())
        accounts = {*AREA_BUYERS.values(), *AREA_SELLERS.values()}
        views = [ledger(cfg, a, acct) for acct in accounts]
        if any(v is None for v in views):
            return False, f"area {a} does not answer"
        balances = sum(int(v["balance"]) for v in views)
        held = {
            p["ref"]: int(p["amount"])
            for v in views
            for p in v["payments"]
            if p["status"] in ("paid", "shipped")
        }
        off_chain = balances + sum(held.values())
        ok &= on_chain == off_chain
        parts.append(f"area {a} {on_chain / SEC:g}/{off_chain / SEC:g} SEC")
    return ok, ", ".join(parts)


def worst_stall(
    run: Run, until: float, since: dict[int, float]
) -> tuple[float, float, str, int] | str:
    """The longest stall (seconds, the area's anchor interval, after which kill, area), each
    window opening at `since[kill]`; or why there is none."""
    worst = (0.0, 1.0, "", 0)
    for area, seen in run.anchors.items():
        times = [t for t, h in seen if h > 0]  # from the first anchor (start-up excluded)
        if len(times) < 2:
            return f"area {area}: {len(times)} anchors"
        interval = (times[-1] - times[0]) / (len(times) - 1)
        windows = [
            (since.get(k), run.kills[k + 1][0] if k + 1 < len(run.kills) else until, name)
            for k, (_, name, _) in enumerate(run.kills)
        ] or [(times[0], until, "")]
        for start, end, name in windows:
            if start is None:
                return f"{name} never came back"
            inside = [t for t in times if start < t <= end]
            before = max((t for t in times if t <= start), default=start)
            marks = [max(before, start), *inside]
            if not inside and end - start > 3 * interval:
                marks.append(end)  # nothing at all in the window
            stall = max((b - a for a, b in zip(marks, marks[1:], strict=False)), default=0.0)
            if stall / interval > worst[0] / worst[1]:
                worst = (stall, interval, name, area)
    return worst


def check_anchors(run: Run, until: float) -> tuple[bool, str]:
    """Per area, the anchor interval is the mean time between its anchors over the run; a
    stall after a kill is the longest time without a new anchor from when the process was
    back until the next kill (or the end of the workload). Without kills: the longest gap
    of the run. Also shown: the longest gap before the first kill (the machine's own) and,
    for kills, the longest stall counted from each new process's start instead."""
    worst = worst_stall(run, until, run.back)
    if isinstance(worst, str):
        return False, worst
    stall, interval, name, area = worst
    first_kill = run.kills[0][0] if run.kills else until
    baseline = 0.0
    for seen in run.anchors.values():
        early = [t for t, h in seen if h > 0 and t <= first_kill]
        baseline = max([baseline, *(b - a for a, b in zip(early, early[1:], strict=False))])
    after = f" after {name} was back" if name else ""
    detail = (
        f"longest stall {stall:.1f} s{after} (area {area}) = {stall / interval:.1f} anchor "
        f"intervals of {interval:.2f} s; longest gap before any kill {baseline:.1f} s"
    )
    from_start = worst_stall(run, until, run.restarted) if run.kills else None
    if isinstance(from_start, tuple):
        detail += f"; from each process start {from_start[0] / from_start[1]:.1f} intervals"
    return stall <= 3 * interval, detail


def shutdown(dev: Devnet, run_index: int) -> tuple[bool, str]:
    pids = {n: s["pid"] for n, s in dev.state().items() if s.get("pid")}
    how = "SIGKILL" if run_index % 2 else "Ctrl-C"
    if how == "SIGKILL":
        dev.proc.kill()
    else:
        dev.proc.send_signal(signal.SIGINT)
    try:
        dev.proc.wait(60)
    except subprocess.TimeoutExpired:
        dev.proc.kill()
        dev.proc.wait()
    left = wait_for(lambda: not any(alive(p) for p in pids.values()), 30)
    running = [n for n, p in pids.items() if alive(p)]
    for n in running:
        os.kill(pids[n], signal.SIGKILL)
    return bool(left), f"{how}: " + (f"left running {running}" if running else "all stopped")


def one_run(i: int, kind: str, args, rng: random.Random, base: Path) -> Run:
    run = Run(kind)
    home = base / f"run{i}"
    dev = Devnet(home, args.areas, args.nodes, base / f"run{i}.log")
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        cfg = dev.ready()
        if cfg is None:
            run.results["start"] = (False, "the devnet did not start")
            return run
        w3 = Web3(Web3.HTTPProvider(cfg.rpc, request_kwargs={"timeout": 30}))
        suite = Suite(w3, Deployment.from_file(Path(cfg.deployments)))
        areas = [a.area_id for a in cfg.areas]
        work = Workload(cfg, suite, run, rng)
        threads = [threading.Thread(target=work.trades, args=pair, daemon=True) for pair in TRADERS]
        threads.append(threading.Thread(target=work.payments, daemon=True))
        threads.append(
            threading.Thread(target=watch_anchors, args=(suite, run, areas, stop), daemon=True)
        )
        threads.append(threading.Thread(target=track_back, args=(dev, cfg, run, stop), daemon=True))
        for t in threads:
            t.start()
        until = time.time() + args.duration
        if kind == "kill":
            chaos(dev, run, rng, until, areas)
        else:
            time.sleep(args.duration / 2)
            run.reorg = rng.randint(CONFIRMATIONS + 2, 12) if kind == "deep" else 1
            run.replayed = reorg(w3, run.reorg, work.gate, replay=not args.no_replay)
        time.sleep(max(0.0, until - time.time()))
        work.stop.set()
        for t in threads[:3]:
            t.join(60)
        run.converged = settle(cfg, suite)
        run.results["records"] = check_records(cfg, suite)
        run.results["agree"] = check_agree(cfg)
        run.results["bgc"] = check_bgc(cfg, suite)
        run.results["totals"] = check_totals(cfg, suite)
        stop.set()
        # the target is about kills; in a reorg run the longest gap is shown, not counted
        ok, detail = check_anchors(run, until)
        run.results["anchors" if kind == "kill" else "anchor gap"] = (kind != "kill" or ok, detail)
    except Exception as exc:  # noqa: BLE001 - reported as the run's failure
        run.results["error"] = (False, f"{type(exc).__name__}: {exc}")
    finally:
        stop.set()
        run.results["shutdown"] = shutdown(dev, i)
    return run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=20, help="runs with SIGKILLs")
    p.add_argument(
        "--reorg-runs", type=int, default=5, help="runs with a deep reorg (as many shallow)"
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--duration", type=float, default=40.0, help="seconds of workload per run")
    p.add_argument("--areas", type=int, default=2)
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument(
        "--no-replay",
        action="store_true",
        help="the reorged-out transactions are not sent again (a double-spend reorg)",
    )
    p.add_argument("--keep", type=Path, help="keep homes and logs here (default: deleted)")
    args = p.parse_args()
    rng = random.Random(args.seed)
    base = args.keep or Path(tempfile.mkdtemp(prefix="sec-chaos-"))
    base.mkdir(parents=True, exist_ok=True)
    # reorg runs spread among the kill runs: deep, shallow, then kills, and again
    kinds = ["kill"] * args.runs
    for k in range(args.reorg_runs):
        at = min(len(kinds), k * (args.runs // max(1, args.reorg_runs) + 2))
        kinds[at:at] = ["deep", "shallow"]
    met: Counter = Counter()
    total: Counter = Counter()
    kills = 0
    startups: list[float] = []
    try:
        for i, kind in enumerate(kinds):
            started = time.time()
            run = one_run(i, kind, args, rng, base)
            kills += len(run.kills)
            what = (
                f"{len(run.kills)} kills ({', '.join(n for _, n, _ in run.kills)})"
                if kind == "kill"
                else f"reorg depth {run.reorg}, {run.replayed} transactions mined again"
            )
            print(
                f"run {i + 1}/{len(kinds)} {kind}: {what}; {run.trades} orders, "
                f"{run.payments} payments, {time.time() - started:.0f} s "
                f"(records and totals agreed {run.converged:.0f} s after the anchors)",
                flush=True,
            )
            for name, (ok, detail) in run.results.items():
                total[name] += 1
                met[name] += ok
                print(f"  {'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
            waits = [
                run.back[k] - run.restarted[k]
                for k, (_, name, _) in enumerate(run.kills)
                if name.startswith("node-") and k in run.back and k in run.restarted
            ]
            startups += waits
            if waits:
                print(
                    f"  restarted nodes answered {min(waits):.1f}-{max(waits):.1f} s after "
                    "their process started",
                    flush=True,
                )
            if run.errors:
                print(f"  workload steps that failed: {dict(run.errors)}", flush=True)
            if args.keep is not None:
                (base / f"run{i}.json").write_text(
                    json.dumps(
                        {
                            "kind": kind,
                            "kills": run.kills,
                            "restarted": run.restarted,
                            "back": run.back,
                            "anchors": run.anchors,
                            "reorg": run.reorg,
                            "results": run.results,
                        }
                    )
                )
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    print(
        f"\n{len(kinds)} runs ({args.runs} with {kills} SIGKILLs, {args.reorg_runs} deep and "
        f"{args.reorg_runs} shallow reorgs; confirmation depth {CONFIRMATIONS}):"
    )
    for name in [*TARGETS, *(n for n in total if n not in TARGETS)]:
        if total[name]:
            print(f"  {name:9} met in {met[name]}/{total[name]} runs")
    if startups:
        startups.sort()
        print(
            f"  node start-up (process started to answering peers): median "
            f"{startups[len(startups) // 2]:.1f} s, longest {startups[-1]:.1f} s "
            f"over {len(startups)} restarts"
        )


if __name__ == "__main__":
    main()
