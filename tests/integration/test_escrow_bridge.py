"""The escrow bridge on anvil: completed and ruled orders become records in the seller's area,
encrypted to the buyer; a standby takes over when the primary's heartbeats stop and steps back
after its return, with no order missing or recorded twice, and the primary's record wins."""

import socket
import threading
import time

import pytest

from sec_offchain.area.block import anchor_domain_separator
from sec_offchain.area.chain import AreaChain, AreaConfig, RoundRobin
from sec_offchain.area.records import decrypt_details, domain_separator
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deploy import SuiteParams, deploy_suite
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.devchain import Anvil
from sec_offchain.relayers.bridge import BridgeConfig, EscrowBridge, public_key_of_transaction

SELLER, BUYER = get_dev_account(5), get_dev_account(6)
PRIMARY, STANDBY = get_dev_account(40), get_dev_account(41)
PRODUCER = get_dev_account(42)


def addr(a) -> bytes:
    return bytes.fromhex(a.address[2:])


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def devchain():
    with Anvil() as node:
        suite = Suite(node.w3, deploy_suite(node.w3, get_dev_account(0), progress=lambda m: None))
        yield node, suite


@pytest.fixture
def area(devchain, tmp_path):
    node, suite = devchain
    chain_id = node.w3.eth.chain_id
    config = AreaConfig(
        1,
        chain_id,
        anchor_domain_separator(chain_id, suite.anchor_hub.address),
        domain_separator(chain_id, suite.escrow.address),
        bridges=(addr(PRIMARY), addr(STANDBY)),
    )
    chain = AreaChain(tmp_path / "area.db", config, RoundRobin((addr(PRODUCER),)))
    yield chain
    chain.close()


def trade(suite) -> int:
    listing, _ = suite.create_listing(SELLER, 10**15)
    order, _ = suite.buy(BUYER, listing)
    suite.ship(SELLER, order, "T")
    suite.confirm(BUYER, order)
    return order


def make_bridge(suite, chain, tmp_path, index, port, start_block):
    key = (PRIMARY, STANDBY)[index]
    cfg = BridgeConfig(
        key=key.key,
        index=index,
        heartbeat=0.1,
        poll=0.1,
        listen_port=port if index else 0,
        standby_ports=(port,) if index == 0 else (),
    )
    return EscrowBridge(
        suite.w3,
        suite.escrow.address,
        suite.escrow.abi,
        cfg,
        addr(PRIMARY),
        chain.config.record_separator,
        lambda seller: 1,
        lambda r: chain.add_record(r) is not None,
        tmp_path / f"bridge{index}.db",
        start_block,
    )


def start(bridge):
    t = threading.Thread(target=bridge.run, daemon=True)
    t.start()
    return t


def wait_for(cond, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def writers(chain):
    return {r.order_id: r.signer(chain.config.record_separator) for r in chain.pool()}


def test_public_key_of_transaction__is_the_senders(devchain):
    node, suite = devchain
    listing, _ = suite.create_listing(SELLER, 10**15)
    _, receipt = suite.buy(BUYER, listing)
    pub = public_key_of_transaction(node.w3, receipt["transactionHash"])
    from coincurve import PrivateKey

    assert pub == PrivateKey(BUYER.key).public_key.format(compressed=False)


def test_bridge__failover_both_ways__no_gap_no_duplicate_primary_wins(devchain, area, tmp_path):
    node, suite = devchain
    start_block = node.w3.eth.block_number
    port = free_udp_port()
    primary = make_bridge(suite, area, tmp_path, 0, port, start_block)
    standby = make_bridge(suite, area, tmp_path, 1, port, start_block)
    # The standby's patience is long except while the primary is down: a take-over must
    # come from the primary's death, not from a thread that lost the CPU for 0.3 s.
    standby.cfg.heartbeat = 30.0
    threads = [start(primary), start(standby)]
    orders = [trade(suite), trade(suite)]
    wait_for(lambda: set(orders) <= set(writers(area)))
    assert set(writers(area).values()) == {addr(PRIMARY)} and not standby.active

    primary.stop()  # the primary dies
    threads[0].join(5)
    standby.cfg.heartbeat = 0.1
    wait_for(lambda: standby.active, timeout=5)
    outage = [trade(suite), trade(suite)]
    wait_for(lambda: set(outage) <= set(writers(area)))
    assert {writers(area)[o] for o in outage} == {addr(STANDBY)}

    back = make_bridge(suite, area, tmp_path, 0, port, start_block)  # same cursor file
    standby.cfg.heartbeat = 30.0  # a late heartbeat only delays the step back
    threads.append(start(back))
    wait_for(lambda: not standby.active, timeout=10)  # 10 heartbeats of the primary
    after = [trade(suite), trade(suite)]
    wait_for(lambda: set(after) <= set(writers(area)))
    every = orders + outage + after
    w = writers(area)
    assert sorted(w) == sorted(every)  # no gap, one record per order
    # the returned primary rescanned from its cursor: its records replaced the standby's
    wait_for(lambda: set(writers(area).values()) == {addr(PRIMARY)})
    assert {o for o, _ in standby.submitted} >= set(outage)
    back.stop()
    standby.stop()
    for t in threads:
        t.join(5)

    # sealed into a block: re-submissions are duplicates and change nothing
    block = area.build_block(PRODUCER.key, addr(PRODUCER), int(time.time()) - 1)
    area.add_block(block)
    assert sorted(r.order_id for r in block.records) == sorted(every)
    record = back.record_for(
        suite.escrow.events.OrderCompleted().get_logs(
            from_block=start_block, argument_filters={"order_id": every[0]}
        )[0]
    )
    assert area.add_record(record) is False and area.height == 1 and area.pool_size() == 0
    details = decrypt_details(BUYER.key, record.ciphertext)
    assert details["order_id"] == every[0] and details["price"] == str(10**15)


@pytest.mark.parametrize("ruling, credit", [(1, -1), (2, 1), (0, 0)])
def test_bridge__ruled_order__record_carries_the_ruling(devchain, tmp_path, ruling, credit):
    """Rulings by a governance arbiter (a suite without the Court; the Court's own path
    ends in the same `OrderRuled` event)."""
    node, _ = devchain
    arbiter = get_dev_account(0)
    suite = Suite(
        node.w3,
        deploy_suite(node.w3, arbiter, SuiteParams(use_court=False), progress=lambda m: None),
    )
    chain_id = node.w3.eth.chain_id
    config = AreaConfig(
        1,
        chain_id,
        anchor_domain_separator(chain_id, suite.anchor_hub.address),
        domain_separator(chain_id, suite.escrow.address),
        bridges=(addr(PRIMARY),),
    )
    area = AreaChain(tmp_path / "ruled.db", config, RoundRobin((addr(PRODUCER),)))
    start_block = node.w3.eth.block_number
    listing, _ = suite.create_listing(SELLER, 10**15)
    order, _ = suite.buy(BUYER, listing)
    suite.ship(SELLER, order, "T")
    suite.dispute(BUYER, order, "fake")
    suite.rule(arbiter, order, ruling)
    bridge = make_bridge(suite, area, tmp_path, 0, free_udp_port(), start_block)
    assert bridge.scan_once() == 1 and bridge.scan_once() == 0  # the cursor moved on
    (r,) = area.pool()
    assert (r.order_id, r.status, r.credit_delta) == (order, 6, credit)
    assert decrypt_details(BUYER.key, r.ciphertext)["status"] == "OrderRuled"
    area.close()


# ---------------------------------------------------------------------------- heartbeats


def offline_bridge(tmp_path, port, **cfg):
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 1}))
    config = BridgeConfig(key=STANDBY.key, index=1, listen_port=port, **cfg)
    return EscrowBridge(
        w3,
        "0x" + "00" * 20,
        [],
        config,
        addr(PRIMARY),
        b"\x00" * 32,
        lambda seller: 1,
        lambda r: True,
        tmp_path / "standby.db",
    )


def heartbeat(port, key=PRIMARY, claimed=PRIMARY, seq=1):
    import rlp

    from sec_offchain.crypto.hashing import keccak
    from sec_offchain.encoding.area_header import sign_digest

    body = rlp.encode([addr(claimed), seq, int(time.time() * 1000)])
    frame = rlp.encode([body, sign_digest(key.key, keccak(body))])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(frame, ("127.0.0.1", port))


def test_standby__forged_heartbeats_do_not_hold_it_back__ten_genuine_ones_do(tmp_path):
    port = free_udp_port()
    standby = offline_bridge(tmp_path, port, heartbeat=0.2, takeover_after=3, step_back_after=10)
    listener = threading.Thread(target=standby._listen, daemon=True)
    listener.start()
    try:
        assert not standby.active
        intruder = get_dev_account(43)
        deadline = time.time() + 15
        seq = 0
        while not standby.active and time.time() < deadline:
            seq += 1  # claims to be the primary, signed by someone else; or plain junk
            heartbeat(port, key=intruder, claimed=PRIMARY, seq=seq)
            heartbeat(port, key=intruder, claimed=intruder, seq=seq)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(b"\xc0junk", ("127.0.0.1", port))
            time.sleep(0.05)
        assert standby.active and standby.heard_in_row == 0
        standby.cfg.heartbeat = 60.0  # silence does not count while we send
        for n in range(1, 6):
            heartbeat(port, seq=n)
            wait_for(lambda n=n: standby.heard_in_row == n)
        standby.cfg.heartbeat = 0.2  # a gap of 1.5 heartbeats: the count starts again
        wait_for(lambda: standby.heard_in_row == 0)
        standby.cfg.heartbeat = 60.0
        assert standby.active
        for n in range(1, 10):
            heartbeat(port, seq=n)
            wait_for(lambda n=n: standby.heard_in_row == n)
        assert standby.active  # nine in a row: still active
        heartbeat(port, seq=10)
        wait_for(lambda: not standby.active)
        assert standby.heard_in_row == 10
    finally:
        standby.stop()
        listener.join(5)


# ---------------------------------------------------------------------------- the cursor


def test_bridge__standby_scans_nothing__refused_submit_keeps_the_cursor_before_it(
    devchain, area, tmp_path
):
    node, suite = devchain
    start_block = node.w3.eth.block_number
    standby = make_bridge(suite, area, tmp_path, 1, free_udp_port(), start_block)
    first, second = trade(suite), trade(suite)
    assert standby.scan_once() == 0 and standby.cursor == start_block and standby.submitted == []
    assert area.pool_size() == 0

    acks = []
    primary = make_bridge(suite, area, tmp_path, 0, free_udp_port(), start_block)
    primary.submit = lambda r: (acks.append(r.order_id), False)[1]  # no node answers
    assert primary.scan_once() == 0
    block_of_first = suite.escrow.events.OrderCompleted().get_logs(
        from_block=start_block, argument_filters={"order_id": first}
    )[0]["blockNumber"]
    assert primary.cursor == block_of_first - 1 and acks == [first]
    primary.submit = lambda r: area.add_record(r) is not None
    primary.area_of = lambda account: 1 if account == SELLER.address else 2  # the seller's
    assert primary.scan_once() == 2 and primary.cursor == node.w3.eth.block_number
    assert primary.submitted == [(first, addr(PRIMARY)), (second, addr(PRIMARY))]
    third = trade(suite)
    assert primary.scan_once() == 1  # the cursor's block is not scanned again
    assert [o for o, _ in primary.submitted] == [first, second, third]


def test_bridge__waits_for_its_confirmations(devchain, area, tmp_path):
    node, suite = devchain
    start_block = node.w3.eth.block_number
    bridge = make_bridge(suite, area, tmp_path, 0, free_udp_port(), start_block)
    bridge.cfg.confirmations = 2
    order = trade(suite)
    assert bridge.scan_once() == 0 and bridge.cursor == node.w3.eth.block_number - 2
    node.w3.provider.make_request("evm_mine", [])
    assert bridge.scan_once() == 0
    node.w3.provider.make_request("evm_mine", [])
    assert bridge.scan_once() == 1 and [o for o, _ in bridge.submitted] == [order]
    assert bridge.cursor == node.w3.eth.block_number - 2


# ---------------------------------------------------------------------------- kill -9

PRIMARY_RUNNER = """
import json, os, sys
from pathlib import Path
from web3 import Web3
from sec_offchain.relayers.bridge import BridgeConfig, EscrowBridge

cfg = json.loads(Path(sys.argv[1]).read_text())
acks = Path(cfg["acks"])

def submit(record):  # the node's acknowledgement, made durable like a node's
    with acks.open("a") as f:
        f.write(f"{record.order_id}\\n")
        f.flush()
        os.fsync(f.fileno())
    return True

w3 = Web3(Web3.HTTPProvider(cfg["rpc"], request_kwargs={"timeout": 10}))
bcfg = BridgeConfig(key=bytes.fromhex(cfg["key"]), index=0, heartbeat=0.1, poll=0.1,
                    standby_ports=(cfg["port"],))
EscrowBridge(w3, cfg["escrow"], cfg["abi"], bcfg, bytes.fromhex(cfg["primary"]),
             bytes.fromhex(cfg["separator"]), lambda seller: 1, submit, Path(cfg["db"]),
             cfg["start_block"]).run()
"""


def test_primary_process__sigkilled__standby_takes_over_restart_acks_each_order_once(
    devchain, area, tmp_path
):
    import json
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    from collections import Counter
    from pathlib import Path

    node, suite = devchain
    start_block = node.w3.eth.block_number
    port = free_udp_port()
    standby = make_bridge(suite, area, tmp_path, 1, port, start_block)
    standby.cfg.heartbeat = 30.0  # patient: no take-over while the primary process runs
    scans = [0]  # scans the standby has started
    scan_once = standby.scan_once

    def counted_scan():
        scans[0] += 1
        return scan_once()

    standby.scan_once = counted_scan
    threads = [start(standby)]
    acks, db = tmp_path / "acks.txt", tmp_path / "primary.db"
    cfg = {
        "rpc": f"http://127.0.0.1:{node.port}",
        "escrow": suite.escrow.address,
        "abi": suite.escrow.abi,
        "key": bytes(PRIMARY.key).hex(),
        "primary": addr(PRIMARY).hex(),
        "separator": area.config.record_separator.hex(),
        "port": port,
        "db": str(db),
        "acks": str(acks),
        "start_block": start_block,
    }
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    (tmp_path / "primary.py").write_text(PRIMARY_RUNNER)
    root = Path(__file__).resolve().parents[2]

    def launch():
        return subprocess.Popen(
            [sys.executable, str(tmp_path / "primary.py"), str(tmp_path / "cfg.json")],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def acked():
        return [int(x) for x in acks.read_text().split()] if acks.exists() else []

    def primary_cursor():
        if not db.exists():
            return 0
        con = sqlite3.connect(str(db))
        try:
            row = con.execute("SELECT block FROM cursor WHERE id=0").fetchone()
        except sqlite3.OperationalError:
            row = None
        finally:
            con.close()
        return row[0] if row else 0

    proc = launch()
    try:
        wait_for(lambda: standby.heard_in_row >= 3, timeout=60)  # heartbeats flow
        orders = [trade(suite), trade(suite)]
        head = node.w3.eth.block_number
        wait_for(lambda: primary_cursor() >= head, timeout=30)  # acked and past them
        assert acked() == orders and not standby.active
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        standby.cfg.heartbeat = 0.1  # impatient only while the primary is dead
        wait_for(lambda: standby.active, timeout=10)
        outage = [trade(suite), trade(suite)]
        wait_for(lambda: set(outage) <= set(writers(area)))
        standby.cfg.heartbeat = 30.0  # a late heartbeat only delays the step back
        proc = launch()  # same cursor file
        wait_for(lambda: not standby.active, timeout=60)
        # a scan the standby began while still active may read past the next trade (its
        # thread off the CPU meanwhile): trade once a scan begun after the step-back started,
        # i.e. the one before it is over
        stepped_back_at = scans[0]
        wait_for(lambda: scans[0] > stepped_back_at, timeout=30)
        after = [trade(suite)]
        wait_for(lambda: set(after) <= set(acked()), timeout=30)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        standby.stop()
        for t in threads:
            t.join(5)
    every = orders + outage + after
    # the primary acknowledged every order exactly once across the kill (its cursor had
    # moved past the first two), the outage ones when it came back and rescanned
    assert Counter(acked()) == Counter(every)
    assert {o for o, _ in standby.submitted} >= set(outage)
    assert not set(after) & {o for o, _ in standby.submitted}


def test_bridge__open_order_across_an_epoch_change__finishes_where_it_was_paid(devchain, tmp_path):
    """The bridge places each order in its seller's area when it was *paid*, from the
    published directories: an order paid before epoch 1 moved the seller finishes in the
    old area, one paid after it in the new; while epoch 1's file is missing or forged the
    bridge waits instead of guessing."""
    import json

    from sec_offchain.areas import AreaDirectory, hash_area
    from sec_offchain.areas.published import PublishedDirectories

    node, suite = devchain
    ids = (1, 2)
    old = hash_area(SELLER.address.lower(), ids)
    new = 3 - old
    chains = {}
    for a in ids:
        chain_id = node.w3.eth.chain_id
        config = AreaConfig(
            a,
            chain_id,
            anchor_domain_separator(chain_id, suite.anchor_hub.address),
            domain_separator(chain_id, suite.escrow.address),
            bridges=(addr(PRIMARY),),
        )
        chains[a] = AreaChain(tmp_path / f"a{a}.db", config, RoundRobin((addr(PRODUCER),)))
    directory_c = suite.contract("AreaDirectory")
    published = PublishedDirectories(
        directory_c, tmp_path / "areas", ids, start_block=node.w3.eth.block_number
    )
    bridge = EscrowBridge(
        suite.w3,
        suite.escrow.address,
        suite.escrow.abi,
        BridgeConfig(key=PRIMARY.key, index=0),
        addr(PRIMARY),
        chains[1].config.record_separator,
        lambda seller: 0,  # never used: the directory places every order
        lambda r: chains[r.area_id].add_record(r) is not None,
        tmp_path / "bridge.db",
        node.w3.eth.block_number,
        order_area=published.order_area,
    )
    try:
        listing, _ = suite.create_listing(SELLER, 10**15)
        before, _ = suite.buy(BUYER, listing)  # paid while the seller is in its hash area
        epoch1 = AreaDirectory(1, {SELLER.address.lower(): new, BUYER.address.lower(): new})
        head = node.w3.eth.block_number
        suite.tx(get_dev_account(0)).transact(
            directory_c.functions.publish(1, epoch1.root, len(epoch1), 2, head)
        )
        after, _ = suite.buy(BUYER, listing)
        for order in (before, after):
            suite.ship(SELLER, order, "T")
            suite.confirm(BUYER, order)
        folder = tmp_path / "areas"
        folder.mkdir()
        forged = AreaDirectory(1, {SELLER.address.lower(): old, BUYER.address.lower(): new})
        (folder / "epoch-1.json").write_text(json.dumps(forged.dump()))
        bridge.scan_once()
        # `before` was paid before epoch 1: placed; `after` waits for a directory that holds
        assert [r.order_id for r in chains[old].pool()] == [before]
        assert chains[new].pool() == []
        (folder / "epoch-1.json").write_text(json.dumps(epoch1.dump()))
        bridge.scan_once()
        assert [r.order_id for r in chains[old].pool()] == [before]
        assert [r.order_id for r in chains[new].pool()] == [after]
        assert bridge.cursor == node.w3.eth.block_number
    finally:
        for c in chains.values():
            c.close()
