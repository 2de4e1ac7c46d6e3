"""Area node processes over the framed TCP protocol: gossip and sync between processes, and
a node killed with SIGKILL at random moments that restarts with every record it acknowledged."""

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import rlp
from coincurve import PrivateKey

from sec_offchain.area import net
from sec_offchain.area.chain import AreaChain, AreaConfig, RoundRobin
from sec_offchain.area.devnet_config import AreaEntry, DevnetConfig, NodeEntry
from sec_offchain.area.records import make_record
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.relayers.run import Attestations, BatchedBlocks

KILL_RUNS = int(os.environ.get("SEC_KILL_RUNS", "20"))
SELLER, BUYER, CLIENT = (get_dev_account(i) for i in (50, 51, 52))


def free_port() -> int:
    return net.free_listen_port()


def addr(account) -> bytes:
    return bytes.fromhex(account.address[2:])


def make_config(home: Path, count: int, interval: float = 0.5) -> DevnetConfig:
    nodes = tuple(
        NodeEntry(
            get_dev_account(60 + i).address, "0x" + get_dev_account(60 + i).key.hex(), free_port()
        )
        for i in range(count)
    )
    cfg = DevnetConfig(
        31337,
        "",
        "",
        "0x" + "a1" * 20,
        "0x" + "e5" * 20,
        "0x" + "77" * 20,
        home,
        interval,
        (AreaEntry(1, nodes),),
    )
    cfg.save(home / "devnet.json")
    return cfg


def start(cfg: DevnetConfig, index: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sec_offchain.area.node",
            "--config",
            str(cfg.home / "devnet.json"),
            "--area",
            "1",
            "--index",
            str(index),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def records(cfg: DevnetConfig, first: int, count: int):
    buyer_pub = PrivateKey(BUYER.key).public_key.format(compressed=False)
    return [
        make_record(
            writer_key=SELLER.key,
            separator=cfg.record_separator,
            area_id=1,
            seller=addr(SELLER),
            buyer=addr(BUYER),
            buyer_public_key=buyer_pub,
            listing_id=1 + o % 5,
            order_id=o,
            status=3,
            credit_delta=1,
            details={"order": o},
        )
        for o in range(first, first + count)
    ]


async def connect(port: int, timeout: float = 15.0) -> net.Connection:
    deadline = time.time() + timeout
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            break
        except OSError:
            if time.time() > deadline:
                raise
            await asyncio.sleep(0.05)
    conn = net.Connection(reader, writer)
    hello = net.Hello.make(CLIENT.key, addr(CLIENT), 31337, 0, 0)
    await net.handshake(conn, hello, 31337, 1)
    return conn


async def submit_until_killed(port: int, recs, proc, kill_after: float) -> list[int]:
    """Submits records one by one; kills the node after `kill_after` s; returns the acked."""
    conn = await connect(port)
    acked: list[int] = []
    start_t = time.time()
    for r in recs:
        if time.time() - start_t > kill_after:
            break
        try:
            await conn.send_now(net.SUBMIT, r.encode())
            while True:
                kind, body = await asyncio.wait_for(conn.read(), 5)
                if kind == net.ACK:
                    ok, _message = rlp.decode(body)
                    if ok == b"\x01":
                        acked.append(r.order_id)
                    break
        except (OSError, asyncio.IncompleteReadError):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    conn.close()
    return acked


def status(port: int) -> dict:
    body = asyncio.run(
        net.request(
            "127.0.0.1", port, CLIENT.key, addr(CLIENT), 31337, 1, net.STATUS_REQ, b"", net.STATUS
        )
    )
    return json.loads(body)


def open_chain(cfg: DevnetConfig, index: int) -> AreaChain:
    area = cfg.area(1)
    config = AreaConfig(1, 31337, cfg.anchor_separator, cfg.record_separator)
    policy = RoundRobin(tuple(bytes.fromhex(n.address[2:]) for n in area.nodes), cfg.interval)
    return AreaChain(cfg.home / "area1" / f"node{index}" / "chain.db", config, policy)


def test_node__kill_9_at_random_moments__nothing_acknowledged_is_lost(tmp_path):
    cfg = make_config(tmp_path, 1, interval=0.3)  # a one-node area: it produces every block
    rng = random.Random(7)
    recs = records(cfg, 1, 100_000)
    cursor = 0
    all_acked: list[int] = []
    for _run in range(KILL_RUNS):
        proc = start(cfg, 0)
        acked = asyncio.run(
            submit_until_killed(
                cfg.area(1).nodes[0].port, recs[cursor:], proc, rng.uniform(0.05, 1.2)
            )
        )
        cursor += len(acked) + 1  # the one in flight at the kill may or may not have landed
        all_acked += acked
        chain = open_chain(cfg, 0)
        kept = {r.order_id for r in chain.pool(10**9)}
        for h in range(1, chain.height + 1):
            kept |= {r.order_id for r in chain.block_at(h).records}
        missing = set(all_acked) - kept
        assert not missing, f"run {_run}: acknowledged records lost: {sorted(missing)[:5]}"
        chain.close()
    assert len(all_acked) > KILL_RUNS  # the runs did acknowledge work
    chain = open_chain(cfg, 0)
    assert chain.height > 0  # and blocks were sealed between kills
    chain.close()


def test_nodes__records_gossip_and_a_late_node_syncs(tmp_path):
    cfg = make_config(tmp_path, 3, interval=0.5)
    procs = [start(cfg, i) for i in (0, 1)]
    try:
        ports = [n.port for n in cfg.area(1).nodes]

        async def submit_all():
            conn = await connect(ports[0])
            for r in records(cfg, 1, 30):
                await conn.send_now(net.SUBMIT, r.encode())
                kind, _ = await asyncio.wait_for(conn.read(), 5)
                assert kind == net.ACK
            conn.close()

        asyncio.run(submit_all())
        # node 2 is the due producer of every third height; without it the others stand in
        procs.append(start(cfg, 2))
        # The nodes go on producing (a block a second): the checks below are on one
        # snapshot that met them all, not on a second reading that a block produced in
        # between (or gossip late on a loaded core) would split.
        deadline = time.time() + 120
        st = None
        while time.time() < deadline:
            try:
                st = [status(p) for p in ports]
            except OSError:  # node 2 still starting
                time.sleep(0.2)
                continue
            if (
                len({s["tip"] for s in st}) == 1
                and st[0]["final_height"] >= 4
                and all(s["pool"] == 0 for s in st)
                and all(len(s["peers"]) == 2 for s in st)
            ):
                break
            time.sleep(0.5)
        assert st is not None
        assert len({s["tip"] for s in st}) == 1, st
        assert all(len(s["peers"]) == 2 for s in st), st
        # round-robin: on duty is the one producer due for the height after the node's own
        producers = ["0x" + n.address[2:].lower() for n in cfg.area(1).nodes]
        for s in st:
            due = producers[(s["height"] + 1) % len(producers)]
            assert s["on_duty"] == {"slot": None, "community": None, "producers": [due]}, s
        # the BGC relayer's source: one connection brings a height and every block after it
        # the node holds (at most 64), each then handed out from the cache once
        blocks = BatchedBlocks(cfg, get_dev_account(99).key)
        first = blocks(1, 1)
        cached = sorted(h for _, h in blocks.cache)
        assert cached == list(range(2, cached[-1] + 1)) and cached[-1] >= st[0]["final_height"]
        second = blocks(1, 2)
        assert (1, 2) not in blocks.cache and len(blocks.cache) == len(cached) - 1
        # the anchor relayer's source: several heights over one connection per node, the
        # same headers as one height at a time, nothing past the nodes' chains
        source = Attestations(cfg, 1, get_dev_account(99).key)
        # 20 heights past the longest chain just now (a block a second at most)
        top = max(status(p)["height"] for p in ports)
        batch = source.many(1, top + 20)
        one_by_one = [source(h) for h in (1, 2, 3)]
        assert [got[0] for got in batch[:3]] == [got[0] for got in one_by_one]
        assert [got[0].height for got in batch[:3]] == [1, 2, 3]
        assert all(got[1] for got in batch[:3]) and batch[-1] is None
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
    chains = [open_chain(cfg, i) for i in range(3)]
    included = [
        sorted(r.order_id for h in range(1, c.height + 1) for r in c.block_at(h).records)
        for c in chains
    ]
    assert included[0] == list(range(1, 31))
    assert included[1][:30] == included[0] and included[2][:30] == included[0]
    assert [first.encode(), second.encode()] == [chains[0].block_at(h).encode() for h in (1, 2)]
    assert chains[0].credits == chains[2].credits
    assert sum(chains[0].credits.values()) == 30
    for c in chains:
        c.close()


@pytest.mark.parametrize("junk", [b"\x00" * 4, b"not rlp at all"])
def test_node__bad_submission_gets_a_reason_and_changes_nothing(tmp_path, junk):
    cfg = make_config(tmp_path, 1, interval=5.0)
    proc = start(cfg, 0)
    try:

        async def go():
            conn = await connect(cfg.area(1).nodes[0].port)
            await conn.send_now(net.SUBMIT, junk)
            kind, body = await asyncio.wait_for(conn.read(), 5)
            conn.close()
            return kind, rlp.decode(body)

        kind, (ok, message) = asyncio.run(go())
        assert kind == net.ACK and ok == b"" and b"not an RLP trade record" in message
        assert status(cfg.area(1).nodes[0].port)["pool"] == 0
    finally:
        proc.terminate()
        proc.wait(10)


def test_connection__slow_peer_is_disconnected_not_silently_dropped():
    """A peer that stops reading: the socket buffers fill, the writer blocks, the bounded
    queue fills, and the connection is closed (the sender is told: send() is False)."""
    import socket

    async def go():
        a, b = socket.socketpair()
        reader, writer = await asyncio.open_connection(sock=a)
        conn = net.Connection(reader, writer, depth=8)
        conn.start_writer()
        accepted = 0
        for _ in range(10_000):
            if not conn.send(net.BLOCK, b"\x01" * 65536):
                break
            accepted += 1
            await asyncio.sleep(0)
        closed = conn.closed
        conn.close()
        b.close()
        return accepted, closed

    accepted, closed = asyncio.run(go())
    assert closed and 8 <= accepted < 10_000


def test_nodes_over_the_memory_transport__same_node_code_converges(tmp_path):
    """Three nodes in one event loop over MemoryTransport (no ports): the node code is the
    same as over TCP; a record submitted to one is sealed into every node's chain."""
    from sec_offchain.area.node import AreaNode

    cfg = make_config(tmp_path, 3, interval=0.3)
    area = cfg.area(1)
    policy = RoundRobin(tuple(bytes.fromhex(n.address[2:]) for n in area.nodes), cfg.interval)
    registry: dict = {}
    names = [f"node{i}" for i in range(3)]

    async def go():
        nodes = []
        for i, entry in enumerate(area.nodes):
            chain = AreaChain(
                tmp_path / f"mem{i}.db",
                AreaConfig(1, 31337, cfg.anchor_separator, cfg.record_separator),
                policy,
            )
            peers = [
                (names[j], bytes.fromhex(area.nodes[j].address[2:])) for j in range(3) if j != i
            ]
            nodes.append(
                AreaNode(
                    entry.key,
                    bytes.fromhex(entry.address[2:]),
                    chain,
                    net.MemoryTransport(names[i], registry),
                    peers,
                    cfg.interval,
                )
            )
        runs = [asyncio.create_task(n.run()) for n in nodes]
        await asyncio.sleep(0.5)
        (r,) = records(cfg, 1, 1)
        ok, _ = nodes[2]._take_record(r.encode(), None)
        assert ok
        deadline = time.time() + 20
        while time.time() < deadline:
            if (
                all(
                    any(
                        rec.order_id == 1
                        for h in range(1, n.chain.height + 1)
                        for rec in n.chain.block_at(h).records
                    )
                    for n in nodes
                )
                and len(
                    {
                        n.chain.block_at(2).block_id(cfg.anchor_separator)
                        if n.chain.height >= 2
                        else None
                        for n in nodes
                    }
                )
                == 1
            ):
                break
            await asyncio.sleep(0.1)
        peers = [len(n.conns) for n in nodes]
        heights = [n.chain.height for n in nodes]
        included = [
            [
                h
                for h in range(1, n.chain.height + 1)
                if any(rec.order_id == 1 for rec in n.chain.block_at(h).records)
            ]
            for n in nodes
        ]
        second = {n.chain.canonical[1] for n in nodes}
        for n in nodes:
            n.stopping.set()
        await asyncio.gather(*runs)
        return peers, heights, included, second

    peers, heights, included, second = asyncio.run(go())
    assert peers == [2, 2, 2] and min(heights) >= 2
    assert len(second) == 1  # one chain
    assert all(len(i) == 1 for i in included) and len({i[0] for i in included}) == 1


def test_node__malformed_frames_drop_the_peer_not_the_node(tmp_path):
    cfg = make_config(tmp_path, 1, interval=5.0)
    proc = start(cfg, 0)
    try:
        port = cfg.area(1).nodes[0].port

        async def go():
            conn = await connect(port)
            await conn.send_now(net.GET_BLOCKS, b"\xff\xff")  # not RLP
            try:
                await asyncio.wait_for(conn.read(), 5)
                closed = False
            except (asyncio.IncompleteReadError, ConnectionError):
                closed = True
            conn.close()
            return closed

        assert asyncio.run(go())
        assert status(port)["height"] >= 0  # the node still answers
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(10)
