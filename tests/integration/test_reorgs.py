"""Main-chain reorgs (anvil_reorg) under every reader of chain events: the area ledgers forget
a deposit a reorg removed (and refuse a peer's block that credits it), the escrow bridge never
turns a removed confirm into a record and reads again what a reorg put below its cursor, and
the BGC relayer delivers again a message whose delivery a reorg took back."""

import pytest
from web3.logs import DISCARD

from sec_offchain.area.block import anchor_domain_separator, fast_header_digest
from sec_offchain.area.chain import AreaChain, AreaConfig, BlockError, RoundRobin
from sec_offchain.area.events import Web3Events
from sec_offchain.area.ledger import PAY, AreaTx, Deposit
from sec_offchain.area.records import domain_separator
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deploy import deploy_suite
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.devchain import Anvil
from sec_offchain.encoding.area_header import sign_digest
from sec_offchain.relayers.bgc import BgcRelayer
from sec_offchain.relayers.bridge import BridgeConfig, EscrowBridge

SEC = 10**18
VALIDATORS = [get_dev_account(i) for i in (1, 2, 3, 4)]
BUYER, SELLER = get_dev_account(9), get_dev_account(20)
PRODUCERS = {1: get_dev_account(30), 2: get_dev_account(31)}
BRIDGE, RELAYER = get_dev_account(40), get_dev_account(32)
STATUS_SHIPPED = 2


def addr(a) -> bytes:
    return bytes.fromhex(a.address[2:])


def reorg(node, depth, txs=()):
    """Replaces the last `depth` blocks (anvil_reorg): their transactions are gone, `txs`
    (request, block offset) are mined in the new ones."""
    assert node.w3.provider.make_request("anvil_reorg", [depth, list(txs)])["result"] is None


@pytest.fixture(scope="module")
def net():
    with Anvil() as node:
        w3 = node.w3
        suite = Suite(w3, deploy_suite(w3, get_dev_account(0), progress=lambda m: None))
        for v in VALIDATORS:
            suite.stake_validator(v, 1, 100_000 * SEC)
        suite.activate_validators(VALIDATORS, node)
        tx = suite.tx(get_dev_account(0))
        for a in (SELLER, RELAYER, BRIDGE):
            tx.send_value(a.address, 10**18)
        chain_id = w3.eth.chain_id
        seps = (
            anchor_domain_separator(chain_id, suite.anchor_hub.address),
            domain_separator(chain_id, suite.escrow.address),
            chain_id,
        )
        yield node, suite, seps


def area_chain(tmp_path, name, area, seps, events):
    return AreaChain(
        tmp_path / f"{name}.db",
        AreaConfig(area, seps[2], seps[0], seps[1]),
        RoundRobin((addr(PRODUCERS[area]),)),
        events=events,
    )


def seal(chain, area, ts=[1_000_000]):  # noqa: B006 - a rising clock shared by blocks
    ts[0] += 10
    block = chain.build_block(PRODUCERS[area].key, addr(PRODUCERS[area]), ts[0])
    assert chain.add_block(block)
    return block


def deposit(suite, amount):
    gw = suite.contract("BorderGateway")
    suite.ensure_allowance(BUYER, gw.address, amount)
    return suite.tx(BUYER).transact(gw.functions.deposit_to_area(1, amount))


def test_area_ledger__deposit_reorged_out__forgotten_and_a_block_crediting_it_refused(
    net, tmp_path
):
    node, suite, seps = net
    gw = suite.contract("BorderGateway")
    events = Web3Events(
        node.w3, gw.address, gw.abi, node.w3.eth.block_number + 1, confirmations=1, min_interval=0
    )
    receipt = deposit(suite, 10 * SEC)
    node.mine_blocks(1)
    (log,) = gw.events.DepositedToArea().process_receipt(receipt, errors=DISCARD)
    seen = Deposit(bytes(receipt["transactionHash"]), log["logIndex"], addr(BUYER), 10 * SEC)
    assert events.deposits_for(1) == [seen]
    # a node that read it builds a block crediting it, before the reorg
    early = area_chain(tmp_path, "early", 1, seps, events)
    credited = seal(early, 1)
    assert credited.deposits == (seen,) and early.ledger.balances[addr(BUYER)] == 10 * SEC

    reorg(node, 2)  # the deposit's block and the one above it are replaced
    assert events.deposits_for(1) == []
    assert events.deposit(seen.tx_hash, seen.log_index) is None
    late = area_chain(tmp_path, "late", 1, seps, events)
    with pytest.raises(BlockError, match="^ledger: no such deposit to this area on the main"):
        late.add_block(credited)
    block = seal(late, 1)
    assert block.deposits == () and late.ledger.balances == {}
    assert gw.functions.area_balance(1).call() == sum(late.ledger.balances.values()) == 0
    early.close()
    late.close()


def make_bridge(suite, tmp_path, records, confirmations):
    cfg = BridgeConfig(key=BRIDGE.key, index=0, confirmations=confirmations)
    return EscrowBridge(
        suite.w3,
        suite.escrow.address,
        suite.escrow.abi,
        cfg,
        addr(BRIDGE),
        b"\x01" * 32,
        lambda seller: 1,
        lambda r: records.append(r) is None,
        tmp_path / "bridge.db",
        suite.w3.eth.block_number,
    )


def shipped_order(suite) -> int:
    listing, _ = suite.create_listing(SELLER, 10**15)
    order, _ = suite.buy(BUYER, listing)
    suite.ship(SELLER, order, "T")
    return order


def test_bridge__confirm_reorged_out_before_its_confirmations__never_a_record(net, tmp_path):
    node, suite, _ = net
    records = []
    bridge = make_bridge(suite, tmp_path, records, confirmations=2)
    order = shipped_order(suite)
    receipt = suite.confirm(BUYER, order)
    completed = suite.escrow.events.OrderCompleted().get_logs(
        from_block=receipt["blockNumber"], to_block=receipt["blockNumber"]
    )
    assert bridge.scan_once() == 0  # one confirmation of two
    assert bridge.is_current(completed[0])
    reorg(node, 1)  # the confirm is gone
    node.mine_blocks(3)
    assert not bridge.is_current(completed[0])  # read before, gone now: never submitted
    assert bridge.scan_once() == 0 and records == []
    assert suite.escrow.functions.get_order(order).call()[5] == STATUS_SHIPPED
    assert bridge.cursor == node.w3.eth.block_number - 2


def test_bridge__reorg_puts_a_confirm_below_its_cursor__rewinds_and_records_it(net, tmp_path):
    node, suite, _ = net
    records = []
    bridge = make_bridge(suite, tmp_path, records, confirmations=2)
    order = shipped_order(suite)
    node.mine_blocks(2)
    assert bridge.scan_once() == 0
    node.mine_blocks(3)
    assert bridge.scan_once() == 0
    scanned_to = bridge.cursor
    assert scanned_to == node.w3.eth.block_number - 2
    # the new branch has the buyer's confirm 4 blocks deep: below the cursor
    confirm = {
        "from": BUYER.address,
        "to": suite.escrow.address,
        "data": suite.escrow.functions.confirm(order)._encode_transaction_data(),
        "gas": hex(300_000),
    }
    reorg(node, 4, [[confirm, 0]])
    assert bridge.scan_once() == 1
    assert [r.order_id for r in records] == [order]
    assert bridge.cursor == node.w3.eth.block_number - 2
    assert bridge.scan_once() == 0 and len(records) == 1  # read once


def anchor_final(suite, chain, area, sep):
    hub = suite.anchor_hub.functions
    for h in range(hub.latest_height(area).call() + 1, chain.final_height + 1):
        header = chain.block_at(h).header.area_header()
        digest = fast_header_digest(header, sep)
        signers = sorted(VALIDATORS[:3], key=lambda v: int(v.address, 16))
        suite.anchor(get_dev_account(0), header, [sign_digest(v.key, digest) for v in signers])


def test_bgc_relayer__delivery_reorged_out__delivered_again_channel_not_stuck(net, tmp_path):
    node, suite, seps = net
    gw = suite.contract("BorderGateway")
    events = Web3Events(node.w3, gw.address, gw.abi, node.w3.eth.block_number + 1, min_interval=0)
    a1 = area_chain(tmp_path, "a1", 1, seps, events)
    deposit(suite, 50 * SEC)
    seal(a1, 1)
    assert gw.functions.next_nonce(1, 2).call() == 1

    def pay(nonce, amount):
        tx = AreaTx(PAY, addr(BUYER), 1, nonce, dst_area=2, recipient=addr(SELLER), amount=amount)
        assert a1.add_tx(tx.signed(BUYER.key, seps[1]))
        for _ in range(3):
            seal(a1, 1)  # the paying block, then two on top: final
        anchor_final(suite, a1, 1, seps[0])

    relayer = BgcRelayer(
        node.w3,
        suite.anchor_hub,
        gw,
        RELAYER,
        [1],
        lambda area, height: a1.block_at(height),
        seps[0],
        tmp_path / "bgc.db",
    )
    pay(1, 5 * SEC)
    assert relayer.step() == 1
    assert gw.functions.next_nonce(1, 2).call() == 2
    reorg(node, 1)  # the delivery (the last transaction) is gone; the anchors stay
    assert gw.functions.next_nonce(1, 2).call() == 1
    pay(2, 7 * SEC)
    assert relayer.step() == 2  # the reorged-out message again, then the new one
    assert relayer.delivered == [(1, 2, 1), (1, 2, 1), (1, 2, 2)]
    assert gw.functions.next_nonce(1, 2).call() == 3
    assert gw.functions.area_balance(2).call() == 12 * SEC
    assert relayer.step() == 0
    a1.close()
