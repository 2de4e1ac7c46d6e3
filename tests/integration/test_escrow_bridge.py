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
    threads = [start(primary), start(standby)]
    orders = [trade(suite), trade(suite)]
    wait_for(lambda: set(orders) <= set(writers(area)))
    assert set(writers(area).values()) == {addr(PRIMARY)} and not standby.active

    primary.stop()  # the primary dies
    threads[0].join(5)
    wait_for(lambda: standby.active, timeout=5)
    outage = [trade(suite), trade(suite)]
    wait_for(lambda: set(outage) <= set(writers(area)))
    assert {writers(area)[o] for o in outage} == {addr(STANDBY)}

    back = make_bridge(suite, area, tmp_path, 0, port, start_block)  # same cursor file
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
