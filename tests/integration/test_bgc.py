"""BGC end to end on anvil: SEC deposited into area 1, buyer B pays seller A's listing in
area 2 (egress of area 1, anchored, delivered by the untrusted relayer, ingress of area 2),
A ships, B confirms; area totals on chain and ledgers off chain agree at every step. Last,
a published directory moves three accounts from area 1 to area 2 and `sec areas move`,
SIGKILLed after its first move and run again, makes each balance arrive once."""

import time

import pytest
from coincurve import PrivateKey  # noqa: F401 - keys are used through sign helpers

from sec_offchain.area.block import anchor_domain_separator, fast_header_digest
from sec_offchain.area.chain import AreaChain, AreaConfig, RoundRobin
from sec_offchain.area.events import Web3Events
from sec_offchain.area.ledger import (
    COMPLETED,
    CONFIRM,
    PAID,
    PAY,
    SHIP,
    SHIPPED,
    AreaTx,
    LedgerError,
)
from sec_offchain.area.records import domain_separator, product_id_of
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deploy import deploy_suite
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.devchain import Anvil
from sec_offchain.encoding.area_header import sign_digest
from sec_offchain.relayers.bgc import BgcRelayer

SEC = 10**18
VALIDATORS = {
    1: [get_dev_account(i) for i in (1, 2, 3, 4)],
    2: [get_dev_account(i) for i in (5, 6, 7, 8)],
}
BUYER, SELLER = get_dev_account(9), get_dev_account(20)
PRODUCERS = {1: get_dev_account(30), 2: get_dev_account(31)}
RELAYERS = (get_dev_account(0), get_dev_account(32))


def addr(a) -> bytes:
    return bytes.fromhex(a.address[2:])


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    with Anvil() as node:
        w3 = node.w3
        deployment = deploy_suite(w3, get_dev_account(0), progress=lambda m: None)
        suite = Suite(w3, deployment)
        for area, vs in VALIDATORS.items():
            for v in vs:
                suite.stake_validator(v, area, 100_000 * SEC)
        suite.activate_validators([v for vs in VALIDATORS.values() for v in vs], node)
        tx = suite.tx(get_dev_account(0))
        for a in (SELLER, RELAYERS[1]):
            tx.send_value(a.address, 10**18)
        home = tmp_path_factory.mktemp("bgc")
        chain_id = w3.eth.chain_id
        sep = anchor_domain_separator(chain_id, suite.anchor_hub.address)
        rsep = domain_separator(chain_id, suite.escrow.address)
        gw = suite.contract("BorderGateway")
        directory = suite.contract("AreaDirectory")
        events = Web3Events(
            w3, gw.address, gw.abi, min_interval=0, directory=(directory.address, directory.abi)
        )
        areas = {
            a: AreaChain(
                home / f"area{a}.db",
                AreaConfig(a, chain_id, sep, rsep),
                RoundRobin((addr(PRODUCERS[a]),)),
                events=events,
            )
            for a in (1, 2)
        }
        yield node, suite, areas, sep, rsep, home
        for c in areas.values():
            c.close()


def seal(area_chain, area, ts=[1_000_000]):  # noqa: B006 - a rising clock shared by blocks
    ts[0] += 10
    block = area_chain.build_block(PRODUCERS[area].key, addr(PRODUCERS[area]), ts[0])
    assert area_chain.add_block(block)
    return block


def anchor_final(suite, area_chain, area, sep):
    """Anchors every final header not yet anchored, signed by 3 of the area's 4 validators."""
    hub = suite.anchor_hub.functions
    for h in range(hub.latest_height(area).call() + 1, area_chain.final_height + 1):
        header = area_chain.block_at(h).header.area_header()
        digest = fast_header_digest(header, sep)
        signers = sorted(VALIDATORS[area][:3], key=lambda v: int(v.address, 16))
        suite.anchor(get_dev_account(0), header, [sign_digest(v.key, digest) for v in signers])


def blocks_of(areas):
    return lambda area, height: areas[area].block_at(height)


def test_cross_area_purchase__end_to_end(net):
    node, suite, areas, sep, rsep, home = net
    gw = suite.contract("BorderGateway")
    a1, a2 = areas[1], areas[2]

    # 1. B moves 100 SEC into area 1
    suite.ensure_allowance(BUYER, gw.address, 100 * SEC)
    suite.tx(BUYER).transact(gw.functions.deposit_to_area(1, 100 * SEC))
    seal(a1, 1)
    assert a1.ledger.balances[addr(BUYER)] == 100 * SEC
    seal(a1, 1)  # the same deposit is not credited twice
    assert a1.ledger.balances[addr(BUYER)] == 100 * SEC

    # 2. A's listing (on the escrow, priced in SEC); B pays it from area 1
    suite_tx = suite.tx(SELLER)
    listing, _ = suite.create_listing(SELLER, 30 * SEC, token=suite.token.address)
    del suite_tx
    pay = AreaTx(
        PAY,
        addr(BUYER),
        1,
        1,
        dst_area=2,
        recipient=addr(SELLER),
        amount=30 * SEC,
        listing_id=listing,
    ).signed(BUYER.key, rsep)
    assert a1.add_tx(pay) and not a1.add_tx(pay)
    block = seal(a1, 1)
    assert len(block.egress) == 1 and block.egress[0].nonce == 1
    assert a1.ledger.balances[addr(BUYER)] == 70 * SEC
    assert not a1.add_tx(pay)  # applied: a replay is refused
    seal(a1, 1)
    seal(a1, 1)  # the paying block is final two blocks deep
    anchor_final(suite, a1, 1, sep)

    # 3. two relayers, one message: delivered once
    relayers = [
        BgcRelayer(
            node.w3,
            suite.anchor_hub,
            gw,
            RELAYERS[i],
            [1, 2],
            blocks_of(areas),
            sep,
            home / f"bgc{i}.db",
        )
        for i in (0, 1)
    ]
    assert relayers[0].step() == 1
    assert relayers[1].step() == 0 and relayers[0].step() == 0
    assert gw.functions.area_balance(1).call() == 70 * SEC
    assert gw.functions.area_balance(2).call() == 30 * SEC
    assert gw.functions.next_nonce(1, 2).call() == 2

    # 4. area 2 takes the ingress: A sees it paid, ships; B confirms; A is paid in area 2
    seal(a2, 2)
    ref = (1, 1)
    assert a2.ledger.payments[ref]["status"] == PAID
    ship = AreaTx(SHIP, addr(SELLER), 2, 1, ref_src=1, ref_nonce=1).signed(SELLER.key, rsep)
    fake_confirm = AreaTx(CONFIRM, addr(SELLER), 2, 2, ref_src=1, ref_nonce=1).signed(
        SELLER.key, rsep
    )
    assert a2.add_tx(ship)
    # the seller cannot confirm for the buyer: refused at submission, with the reason
    with pytest.raises(LedgerError, match="^only the buyer confirms an open order$"):
        a2.add_tx(fake_confirm)
    seal(a2, 2)
    assert a2.ledger.payments[ref]["status"] == SHIPPED
    confirm = AreaTx(CONFIRM, addr(BUYER), 2, 1, ref_src=1, ref_nonce=1).signed(BUYER.key, rsep)
    a2.add_tx(confirm)
    seal(a2, 2)
    assert a2.ledger.payments[ref]["status"] == COMPLETED
    assert a2.ledger.balances[addr(SELLER)] == 30 * SEC
    assert a2.credits[product_id_of(listing)] == 1
    # totals: on chain and off chain agree
    assert sum(a1.ledger.balances.values()) == gw.functions.area_balance(1).call()
    assert sum(a2.ledger.balances.values()) == gw.functions.area_balance(2).call()


def test_relayer__refuses_a_block_that_is_not_the_anchored_one(net):
    node, suite, areas, sep, rsep, home = net
    gw = suite.contract("BorderGateway")
    a1 = areas[1]
    latest = suite.anchor_hub.functions.latest_height(1).call()
    real = a1.block_at(latest)
    other = a1.block_at(latest - 1)

    def lying(area, height):
        return other if (area, height) == (1, latest) else areas[area].block_at(height)

    fresh = BgcRelayer(
        node.w3, suite.anchor_hub, gw, RELAYERS[0], [1], lying, sep, home / "liar.db"
    )
    fresh.step()
    assert fresh.cursor(1) == latest - 1  # stopped at the block that does not match
    assert real is not None


def test_ledger__overspend_and_wrong_area_never_apply(net):
    node, suite, areas, sep, rsep, home = net
    a1 = areas[1]
    nonce = a1.ledger.tx_nonces.get(addr(BUYER), 0) + 1
    too_much = AreaTx(
        PAY, addr(BUYER), 1, nonce, dst_area=2, recipient=addr(SELLER), amount=10_000 * SEC
    ).signed(BUYER.key, rsep)
    with pytest.raises(LedgerError, match="^balance too low$"):
        a1.add_tx(too_much)
    before = dict(a1.ledger.balances)
    block = seal(a1, 1)
    assert not block.egress and a1.ledger.balances == before
    fates = a1.tx_fates(addr(BUYER))
    assert (fates[-1]["tx"], fates[-1]["status"], fates[-1]["reason"]) == (
        too_much,
        "refused",
        "balance too low",
    )
    forged = AreaTx(
        PAY, addr(BUYER), 1, nonce, dst_area=2, recipient=addr(SELLER), amount=1
    ).signed(SELLER.key, rsep)
    with pytest.raises(Exception, match="not signed by its sender"):
        a1.add_tx(forged)


def test_two_relayers_race__one_lands_the_other_treats_it_as_delivered(net):
    """Both estimate and send before either is mined (automine off); the second transaction
    fails on chain, and its relayer counts the message as delivered, not as an error."""
    import threading

    node, suite, areas, sep, rsep, home = net
    gw = suite.contract("BorderGateway")
    a1 = areas[1]
    nonce = a1.ledger.tx_nonces.get(addr(BUYER), 0) + 1
    pay = AreaTx(
        PAY, addr(BUYER), 1, nonce, dst_area=2, recipient=addr(SELLER), amount=5 * SEC
    ).signed(BUYER.key, rsep)
    assert a1.add_tx(pay)
    for _ in range(3):
        seal(a1, 1)
    anchor_final(suite, a1, 1, sep)
    before = gw.functions.next_nonce(1, 2).call()
    relayers = [
        BgcRelayer(
            node.w3,
            suite.anchor_hub,
            gw,
            RELAYERS[i],
            [1],
            blocks_of(areas),
            sep,
            home / f"race{i}.db",
        )
        for i in (0, 1)
    ]
    for r in relayers:  # both start from the heights already handled
        r.db.execute("INSERT OR REPLACE INTO cursor VALUES (1, ?)", (a1.final_height - 3,))
    node.w3.provider.make_request("evm_setAutomine", [False])
    try:
        threads = [threading.Thread(target=r.step) for r in relayers]
        for t in threads:
            t.start()
        deadline = time.time() + 120
        while True:  # until each relayer sent, or saw the other's pending delivery first
            content = node.w3.provider.make_request("txpool_content", [])["result"]
            pending = sum(len(v) for v in content["pending"].values())
            if pending + sum(len(r.already) for r in relayers) >= 2:
                break
            assert time.time() < deadline, f"{pending} sent, none saw the other's"
            time.sleep(0.05)
        node.w3.provider.make_request("evm_mine", [])
        for t in threads:
            t.join(30)
    finally:
        node.w3.provider.make_request("evm_setAutomine", [True])
    assert gw.functions.next_nonce(1, 2).call() == before + 1
    landed = sum(len(r.delivered) for r in relayers)
    already = sum(len(r.already) for r in relayers)
    assert (landed, already) == (1, 1)


def test_withdrawal__area_to_main_chain__paid_out_once_by_the_relayer(net):
    """B takes 12 SEC from area 1 back to the main chain: a PAY to area 0 (no listing) leaves
    in area 1's egress, the relayer proves it with withdraw_from_area, B's wallet gets it,
    the area's total on chain and its ledger drop by it, and no relayer pays it twice."""
    node, suite, areas, sep, rsep, home = net
    gw = suite.contract("BorderGateway")
    a1 = areas[1]
    me = addr(BUYER)
    in_area = a1.ledger.balances[me]
    total = gw.functions.area_balance(1).call()
    wallet = suite.sec_balance(BUYER.address)
    nonce = a1.ledger.tx_nonces.get(me, 0) + 1
    out = AreaTx(PAY, me, 1, nonce, dst_area=0, recipient=me, amount=12 * SEC).signed(
        BUYER.key, rsep
    )
    assert a1.add_tx(out)
    block = seal(a1, 1)
    assert [(m.src_area, m.dst_area, m.nonce, m.amount) for m in block.egress] == [
        (1, 0, 1, 12 * SEC)
    ]
    assert a1.ledger.balances[me] == in_area - 12 * SEC
    seal(a1, 1)
    seal(a1, 1)  # final two blocks deep
    anchor_final(suite, a1, 1, sep)
    relayer = BgcRelayer(
        node.w3,
        suite.anchor_hub,
        gw,
        RELAYERS[0],
        [1],
        blocks_of(areas),
        sep,
        home / "withdraw.db",
    )
    relayer.step()
    assert (1, 0, 1) in relayer.delivered
    assert suite.sec_balance(BUYER.address) == wallet + 12 * SEC
    assert gw.functions.area_balance(1).call() == total - 12 * SEC
    assert gw.functions.next_nonce(1, 0).call() == 2
    again = BgcRelayer(
        node.w3, suite.anchor_hub, gw, RELAYERS[1], [1], blocks_of(areas), sep, home / "w2.db"
    )
    again.db.execute("INSERT OR REPLACE INTO cursor VALUES (1, ?)", (a1.final_height - 3,))
    again.step()
    assert (1, 0, 1) in again.already and suite.sec_balance(BUYER.address) == wallet + 12 * SEC
    assert sum(a1.ledger.balances.values()) == gw.functions.area_balance(1).call()


# ---------------------------------------------------------------------------- moves
# Last in the module: the node it starts closes area 1's chain when it stops.

# accounts whose address-hash area is 1 (an even address), in address order: the order
# `sec areas move` takes them in
MOVERS = sorted(
    [a for a in map(get_dev_account, range(50, 80)) if int(a.address, 16) % 2 == 0][:3],
    key=lambda a: a.address.lower(),
)
NODE_KEY = get_dev_account(33)


def serve(chain, port):
    """Area 1's chain behind a node that produces nothing (the test seals the blocks): what
    `sec areas move` talks to."""
    import asyncio
    import threading

    from sec_offchain.area.net import TcpTransport
    from sec_offchain.area.node import AreaNode

    node = AreaNode(NODE_KEY.key, addr(NODE_KEY), chain, TcpTransport("127.0.0.1", port), [], 1.0)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(node.run(),), daemon=True)
    thread.start()
    return node, loop, thread


def test_move__mover_sigkilled_after_its_first_move__each_balance_arrives_once(net):
    import json
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from sec_offchain.area.devnet_config import AreaEntry, DevnetConfig, NodeEntry
    from sec_offchain.area.ledger import MOVE, move_payload
    from sec_offchain.area.net import free_listen_port
    from sec_offchain.areas import AreaDirectory

    node, suite, areas, sep, rsep, home = net
    gw = suite.contract("BorderGateway")
    a1, a2 = areas[1], areas[2]
    deployer = suite.tx(get_dev_account(0))
    amounts = [10 * SEC, 20 * SEC, 30 * SEC]
    for m, amount in zip(MOVERS, amounts, strict=True):
        deployer.send_value(m.address, 10**17)
        deployer.transact(suite.token.functions.transfer(m.address, amount))
        suite.ensure_allowance(m, gw.address, amount)
        suite.tx(m).transact(gw.functions.deposit_to_area(1, amount))
    seal(a1, 1)
    assert [a1.ledger.balances[addr(m)] for m in MOVERS] == amounts

    # epoch 1 puts the three in area 2
    epoch1 = AreaDirectory(1, {m.address.lower(): 2 for m in MOVERS})
    directory_c = suite.contract("AreaDirectory")
    head = node.w3.eth.block_number
    deployer.transact(directory_c.functions.publish(1, epoch1.root, len(epoch1), 2, head))
    folder = home / "moves"
    folder.mkdir()
    (folder / "epoch-1.json").write_text(json.dumps(epoch1.dump()))
    suite.deployment.save(folder / "deployments.json")
    port = free_listen_port()
    cfg = DevnetConfig(
        chain_id=node.w3.eth.chain_id,
        rpc=node.url,
        deployments=str(folder / "deployments.json"),
        anchor_hub=suite.anchor_hub.address,
        escrow=suite.escrow.address,
        trust_index=suite.trust.address,
        home=folder,
        interval=1.0,
        areas=(
            AreaEntry(1, (NodeEntry(NODE_KEY.address, "0x" + NODE_KEY.key.hex(), port),)),
            AreaEntry(2, (NodeEntry(NODE_KEY.address, "0x" + NODE_KEY.key.hex(), 1),)),
        ),
    )
    cfg.save(folder / "devnet.json")
    area_node, loop, thread = serve(a1, port)
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "sec_offchain.cli", "areas", "move"]
    command += ["--directory", str(folder / "epoch-1.json"), "--home", str(folder)]
    env = {**os.environ, "SEC_PROJECT_ROOT": str(root)}

    def moves_pooled():
        return [t for t in a1.tx_pool() if t.kind == MOVE]

    try:
        mover = subprocess.Popen(
            [*command, "--pace", "60"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while not moves_pooled():
            assert mover.poll() is None, mover.stdout.read().decode()
            assert time.time() < deadline, "the mover submitted nothing"
            time.sleep(0.1)
        os.kill(mover.pid, signal.SIGKILL)  # mid-way: one move submitted, two to go
        mover.wait(10)
        assert [t.sender for t in moves_pooled()] == [addr(MOVERS[0])]
        first = seal(a1, 1)
        assert [(m.dst_area, m.recipient, m.amount, m.payload_hash) for m in first.egress] == [
            (2, addr(MOVERS[0]), 10 * SEC, move_payload(1))
        ]

        again = subprocess.run(command, cwd=root, env=env, capture_output=True, timeout=120)
        assert again.returncode == 0, again.stderr.decode() + again.stdout.decode()
        lines = again.stdout.decode().splitlines()
        assert lines == [
            "epoch 1: 3 accounts change area",
            f"{MOVERS[0].address.lower()}: area 1 -> area 2: already moved",
            f"{MOVERS[1].address.lower()}: area 1 -> area 2: submitted",
            f"{MOVERS[2].address.lower()}: area 1 -> area 2: submitted",
        ]
    finally:
        loop.call_soon_threadsafe(area_node.stopping.set)
        thread.join(10)
        loop.close()
    # the node closed area 1's chain: open it again, as a restarted node would
    a1 = AreaChain(home / "area1.db", a1.config, a1.policy, events=a1.events)
    areas[1] = a1
    assert a1.ledger.moves_out == {(addr(MOVERS[0]), 1): 10 * SEC}
    nonce_before = gw.functions.next_nonce(1, 2).call()
    second = seal(a1, 1)
    assert [(m.recipient, m.amount) for m in second.egress] == [
        (addr(MOVERS[1]), 20 * SEC),
        (addr(MOVERS[2]), 30 * SEC),
    ]
    assert not moves_pooled()
    seal(a1, 1)
    seal(a1, 1)  # both blocks final
    anchor_final(suite, a1, 1, sep)
    relayer = BgcRelayer(
        node.w3, suite.anchor_hub, gw, RELAYERS[0], [1], blocks_of(areas), sep, home / "mv.db"
    )
    relayer.step()
    moved = [first.egress[0].nonce, *(m.nonce for m in second.egress)]
    assert moved == [nonce_before, nonce_before + 1, nonce_before + 2]  # one message each
    assert gw.functions.next_nonce(1, 2).call() == nonce_before + 3
    seal(a2, 2)
    seal(a2, 2)  # a second block credits nothing more
    assert [a2.ledger.balances.get(addr(m), 0) for m in MOVERS] == amounts
    assert [a1.ledger.balances[addr(m)] for m in MOVERS] == [0, 0, 0]
    assert {k: v for k, v in a2.ledger.moves_in.items()} == {
        (addr(m), 1): amount for m, amount in zip(MOVERS, amounts, strict=True)
    }
    assert sum(a1.ledger.balances.values()) == gw.functions.area_balance(1).call()
    assert sum(a2.ledger.balances.values()) == gw.functions.area_balance(2).call()
    # a third run of the mover would find every move done; the ledger refuses one by hand
    for m in MOVERS:
        assert (
            a1.add_tx(
                AreaTx(MOVE, addr(m), 1, 1, 2, addr(m), proof=epoch1.get_proof(m.address).proof)
            )
            is False
        )


def test_relayer__delivery_refused_for_another_reason__retried_not_taken_as_delivered(net):
    """Only "already delivered" (or the channel's nonce past the message) means another
    relayer delivered it: a delivery the contract refuses for another reason (the guardian
    paused the source area) stays due, the relayer stops at that height, and delivers it
    once the area is unpaused."""
    node, suite, areas, sep, rsep, home = net
    gw = suite.contract("BorderGateway")
    a1 = areas[1]
    me = addr(BUYER)
    nonce = a1.ledger.tx_nonces.get(me, 0) + 1
    out = AreaTx(PAY, me, 1, nonce, dst_area=0, recipient=me, amount=3 * SEC).signed(
        BUYER.key, rsep
    )
    assert a1.add_tx(out)
    block = seal(a1, 1)
    channel = gw.functions.next_nonce(1, 0).call()
    assert [(m.dst_area, m.nonce) for m in block.egress] == [(0, channel)]
    seal(a1, 1)
    seal(a1, 1)
    anchor_final(suite, a1, 1, sep)
    guardian = suite.tx(get_dev_account(0))
    guardian.transact(gw.functions.pause_area(1))
    relayer = BgcRelayer(
        node.w3, suite.anchor_hub, gw, RELAYERS[0], [1], blocks_of(areas), sep, home / "p.db"
    )
    relayer.db.execute("INSERT OR REPLACE INTO cursor VALUES (1, ?)", (block.header.height - 1,))
    wallet = suite.sec_balance(BUYER.address)
    assert relayer.step() == 0
    key = (1, 0, channel)
    assert key not in relayer.delivered and key not in relayer.already
    assert relayer.cursor(1) == block.header.height - 1  # stopped before the refused height
    assert gw.functions.next_nonce(1, 0).call() == channel
    guardian.transact(gw.functions.unpause_area(1))
    assert relayer.step() == 1
    assert key in relayer.delivered and key not in relayer.already
    assert suite.sec_balance(BUYER.address) == wallet + 3 * SEC
    assert gw.functions.next_nonce(1, 0).call() == channel + 1
