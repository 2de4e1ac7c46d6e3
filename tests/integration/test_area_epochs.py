"""The area epoch daemon and the nodes' area check of seller-written records, on anvil.

Trades among two circles of friends (the devnet workload) and SEC deposited by every trader
in its address-hash area; two area nodes (the test seals their blocks) serve what the daemon
asks. `sec areas run` (a real process) publishes epoch 1 once a day of chain time has
passed, is SIGKILLed after publishing and before moving, then again after its first move;
each restart neither publishes again nor moves a balance twice, and `sec areas report` gives
the relation policy's exact numbers on the daemon's directory. Then the nodes refuse a
seller's record in an area the directory does not put the seller in when the order was
paid, and accept it where it was."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import rlp
from coincurve import PrivateKey

from sec_offchain.area import net
from sec_offchain.area.block import anchor_domain_separator
from sec_offchain.area.chain import AreaChain, AreaConfig, RoundRobin
from sec_offchain.area.devnet_config import AreaEntry, DevnetConfig, NodeEntry
from sec_offchain.area.ledger import MOVE
from sec_offchain.area.records import domain_separator, make_record
from sec_offchain.areas import AreaDirectory, hash_area
from sec_offchain.areas.workload import WorkloadParams, run_workload
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deploy import SuiteParams, deploy_suite
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.devchain import Anvil
from sec_offchain.devnet import AREAS_KEY, host_config

ROOT = Path(__file__).resolve().parents[2]
SEC = 10**18
EPOCH = 86_400  # a day of chain time: only the test's clock jump makes an epoch due
IDS = (1, 2)
CONFIRMATIONS = 2
# two circles of four (dev:100..103 sold by dev:100, dev:104..107 sold by dev:104), 16
# trades, 13 of them inside the buyer's circle (seed 3)
WORKLOAD = WorkloadParams(communities=2, size=4, sellers=1, trades=16, seed=3)
WORKLOAD_LOCAL = 13
MOVING_SELLER, BUYER = get_dev_account(103), get_dev_account(102)  # hash area 1; circle 0
NODE_KEYS = {1: get_dev_account(33), 2: get_dev_account(34)}
PRODUCERS = {1: get_dev_account(30), 2: get_dev_account(31)}


def addr(account) -> bytes:
    return bytes.fromhex(account.address[2:])


def serve(chain, key, port):
    """An area chain behind a node that produces nothing (the test seals the blocks)."""
    import threading

    from sec_offchain.area.net import TcpTransport
    from sec_offchain.area.node import AreaNode

    node = AreaNode(key.key, addr(key), chain, TcpTransport("127.0.0.1", port), [], 1.0)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(node.run(),), daemon=True)
    thread.start()
    return node, loop, thread


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    home = tmp_path_factory.mktemp("epochs")
    with Anvil() as node:
        w3 = node.w3
        deployment = deploy_suite(w3, get_dev_account(0), SuiteParams(use_court=False))
        dep_path = deployment.save(home / "deployments.json")
        suite = Suite(w3, deployment)
        validators = {1: get_dev_account(1), 2: get_dev_account(5)}  # deposits need them
        for area, v in validators.items():
            suite.stake_validator(v, area, 100_000 * SEC)
        suite.activate_validators(list(validators.values()), node)
        start_block = int(w3.eth.block_number)
        deployer = suite.tx(get_dev_account(0))
        publisher = get_dev_account(AREAS_KEY)
        deployer.send_value(publisher.address, 10**18)
        directory_c = suite.contract("AreaDirectory")
        role = directory_c.functions.PUBLISHER_ROLE().call()
        deployer.transact(directory_c.functions.grantRole(role, publisher.address))
        done = run_workload(suite, WORKLOAD)
        # an order of the seller epoch 1 moves from area 1 to area 2, paid before epoch 1
        # (paid only: an open order is no trade relation yet)
        listing, _ = suite.create_listing(MOVING_SELLER, WORKLOAD.price)
        old_order, _ = suite.buy(BUYER, listing)
        traders = sorted({a for pair in done for a in pair})
        # every trader holds SEC in its address-hash area: what a move carries
        gw = suite.contract("BorderGateway")
        devs = {get_dev_account(n).address.lower(): get_dev_account(n) for n in range(100, 108)}
        deposits = {}
        for i, account in enumerate(traders):
            dev = devs[account]
            amount = (i + 1) * SEC
            deployer.transact(suite.token.functions.transfer(dev.address, amount))
            suite.ensure_allowance(dev, gw.address, amount)
            suite.tx(dev).transact(gw.functions.deposit_to_area(hash_area(account, IDS), amount))
            deposits[account] = amount
        chain_id = w3.eth.chain_id
        ports = {a: net.free_listen_port() for a in IDS}
        cfg = DevnetConfig(
            chain_id=chain_id,
            rpc=node.url,
            deployments=str(dep_path),
            anchor_hub=deployment.address_of("AnchorHub"),
            escrow=deployment.address_of("Escrow"),
            trust_index=deployment.address_of("TrustIndex"),
            home=home,
            interval=1.0,
            areas=tuple(
                AreaEntry(
                    a, (NodeEntry(NODE_KEYS[a].address, "0x" + NODE_KEYS[a].key.hex(), ports[a]),)
                )
                for a in IDS
            ),
            extra={"confirmations": CONFIRMATIONS, "start_block": start_block},
        )
        cfg.save(home / "devnet.json")
        sep = anchor_domain_separator(chain_id, deployment.address_of("AnchorHub"))
        rsep = domain_separator(chain_id, deployment.address_of("Escrow"))
        chains = {
            a: AreaChain(
                home / f"area{a}.db",
                AreaConfig(a, chain_id, sep, rsep),
                RoundRobin((addr(PRODUCERS[a]),)),
                events=cfg.events(),
                check_area=cfg.seller_area_check(a),
            )
            for a in IDS
        }
        mine(w3, CONFIRMATIONS)
        for a in IDS:
            chains[a].events.min_interval = 0
            seal(chains[a], a)
        served = {a: serve(chains[a], NODE_KEYS[a], ports[a]) for a in IDS}
        try:
            yield {
                "w3": w3,
                "url": node.url,
                "suite": suite,
                "cfg": cfg,
                "chains": chains,
                "deposits": deposits,
                "trades": done,
                "dep_path": dep_path,
                "home": home,
                "listing": listing,
                "old_order": old_order,
                "ports": ports,
            }
        finally:
            for area_node, loop, thread in served.values():
                loop.call_soon_threadsafe(area_node.stopping.set)
                thread.join(10)
                loop.close()


def mine(w3, blocks: int, seconds: int = 0) -> None:
    if seconds:
        w3.provider.make_request("evm_increaseTime", [seconds])
    for _ in range(blocks):
        w3.provider.make_request("evm_mine", [])


def seal(chain, area, ts=[2_000_000]):  # noqa: B006 - a rising clock shared by blocks
    ts[0] += 10
    block = chain.build_block(PRODUCERS[area].key, addr(PRODUCERS[area]), ts[0])
    assert chain.add_block(block)
    return block


def daemon(world, name: str, pace: float) -> subprocess.Popen:
    """`sec areas run` from a host config, as `sec devnet up --area-epoch` starts it."""
    key = "0x" + get_dev_account(AREAS_KEY).key.hex()
    section = {"seconds": EPOCH, "pace": pace}
    path = host_config(world["cfg"], key, name, "area_epochs", section)
    log = open(world["home"] / f"{name}.log", "wb")  # noqa: SIM115 - the process's life
    return subprocess.Popen(
        [sys.executable, "-m", "sec_offchain.cli", "areas", "run", "--config", str(path)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(what, check, proc, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert proc.poll() is None, f"the daemon exited while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} in {timeout} s"
        time.sleep(0.1)


def kill(proc) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def pooled_moves(world) -> list[tuple[int, str]]:
    return sorted(
        (a, "0x" + t.sender.hex())
        for a, c in world["chains"].items()
        for t in c.tx_pool()
        if t.kind == MOVE
    )


def test_area_epochs__sigkilled_after_publishing_and_mid_moves__one_epoch_each_balance_once(
    world,
):
    w3, suite, chains = world["w3"], world["suite"], world["chains"]
    directory_c = suite.contract("AreaDirectory").functions
    file1 = world["home"] / "areas" / "epoch-1.json"

    first = daemon(world, "epochs-a", pace=60)
    try:
        time.sleep(3)  # a few rounds: nothing is due before a day of chain time
        assert directory_c.latest_epoch().call() == 0 and not file1.exists()
        mine(w3, CONFIRMATIONS + 1, seconds=EPOCH)
        wait_for("epoch 1", lambda: directory_c.latest_epoch().call() == 1, first)
        # published; the moves wait for the publication to be CONFIRMATIONS deep, and no
        # block is mined: killed between publishing and moving
        kill(first)
    finally:
        if first.poll() is None:
            kill(first)
    root = bytes(directory_c.root_of(1).call())
    book = AreaDirectory.load(json.loads(file1.read_text()))
    assert (book.epoch, book.root) == (1, root)
    assert pooled_moves(world) == []
    # each circle of friends in one area, the two circles in different areas
    circles = [[get_dev_account(n).address.lower() for n in WORKLOAD.members(c)] for c in (0, 1)]
    assert sorted(book.entries) == sorted({a for pair in world["trades"] for a in pair})
    areas = [{book.area_of(a) for a in circle if a in book.entries} for circle in circles]
    assert len(areas[0]) == len(areas[1]) == 1 and areas[0] != areas[1]
    movers = sorted(
        (hash_area(a, IDS), a) for a in book.entries if hash_area(a, IDS) != book.area_of(a)
    )
    assert movers  # some account's hash area is not its circle's

    second = daemon(world, "epochs-b", pace=60)
    try:
        mine(w3, CONFIRMATIONS)
        # the first move is submitted, the next waits 60 s (the pace): killed there
        wait_for("a move", lambda: pooled_moves(world) != [], second)
        kill(second)
    finally:
        if second.poll() is None:
            kill(second)
    first_mover = sorted(movers, key=lambda m: m[1])[0]
    assert pooled_moves(world) == [first_mover]
    assert directory_c.latest_epoch().call() == 1

    third = daemon(world, "epochs-c", pace=0)
    try:
        wait_for("every move", lambda: pooled_moves(world) == movers, third)
        for a in IDS:
            seal(chains[a], a)
        # the daemon's next round finds every move settled in the sealed blocks and says so
        # (a round a second, not "within 3 s": a loaded core stretches rounds); a round that
        # submitted anything again would not have said it
        log_c = world["home"] / "epochs-c.log"
        wait_for("every move done", lambda: "every move done" in log_c.read_text(), third)
        assert pooled_moves(world) == []
        assert directory_c.latest_epoch().call() == 1
    finally:
        kill(third)
    published = suite.contract("AreaDirectory").events.DirectoryPublished().get_logs(from_block=0)
    assert [(e["args"]["epoch"], bytes(e["args"]["root"])) for e in published] == [(1, root)]
    deposits = world["deposits"]
    for src in IDS:
        assert chains[src].ledger.moves_out == {
            (bytes.fromhex(a[2:]), 1): deposits[a] for s, a in movers if s == src
        }
    log = (world["home"] / "epochs-c.log").read_text()
    assert f"epoch 1: every move done ({len(movers)} accounts changed area)" in log
    assert "published epoch" not in log

    # the relation policy's numbers on the daemon's directory
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "sec_offchain.cli",
            "areas",
            "report",
            "--directory",
            str(file1),
            "--json",
            "--rpc",
            world["url"],
            "--deployment",
            str(world["dep_path"]),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr
    trades = world["trades"]
    hash_in = sum(hash_area(s, IDS) == hash_area(b, IDS) for s, b in trades)
    assert json.loads(report.stdout) == {
        "trades": 16,
        "areas": [1, 2],
        "hash": {"intra_area": hash_in, "percent": round(100 * hash_in / 16, 1)},
        "relation": {
            "intra_area": WORKLOAD_LOCAL,
            "percent": 81.2,
            "source": "directory of epoch 1 (published)",
        },
    }
    assert (
        sum(
            s in circles[0] and b in circles[0] or s in circles[1] and b in circles[1]
            for s, b in trades
        )
        == WORKLOAD_LOCAL
    )


def submit_record(world, area: int, order: int, seller=MOVING_SELLER) -> tuple[bool, str]:
    """A record written and signed by the seller, sent to area `area`'s node."""
    record = make_record(
        writer_key=seller.key,
        separator=world["cfg"].record_separator,
        area_id=area,
        seller=addr(seller),
        buyer=addr(BUYER),
        buyer_public_key=PrivateKey(BUYER.key).public_key.format(compressed=False),
        listing_id=world["listing"],
        order_id=order,
        status=3,
        credit_delta=1,
        details={"order": order},
    )
    client = get_dev_account(35)
    body = asyncio.run(
        net.request(
            "127.0.0.1",
            world["ports"][area],
            client.key,
            addr(client),
            world["cfg"].chain_id,
            area,
            net.SUBMIT,
            record.encode(),
            net.ACK,
        )
    )
    ok, message = rlp.decode(body)
    return ok == b"\x01", message.decode()


def node_height(world, area: int) -> int:
    client = get_dev_account(35)
    body = asyncio.run(
        net.request(
            "127.0.0.1",
            world["ports"][area],
            client.key,
            addr(client),
            world["cfg"].chain_id,
            area,
            net.STATUS_REQ,
            b"",
            net.STATUS,
        )
    )
    return int(json.loads(body)["height"])


def test_node__seller_record__checked_against_the_area_when_its_order_was_paid(world):
    """Runs after the daemon published epoch 1, which moved MOVING_SELLER from area 1
    (its address-hash area) to area 2."""
    w3, suite = world["w3"], world["suite"]
    book = AreaDirectory.load(json.loads((world["home"] / "areas" / "epoch-1.json").read_text()))
    seller = MOVING_SELLER.address
    assert (hash_area(seller.lower(), IDS), book.area_of(seller.lower())) == (1, 2)
    old = world["old_order"]
    new, _ = suite.buy(BUYER, world["listing"])  # paid after epoch 1
    mine(w3, CONFIRMATIONS)
    heights = {a: node_height(world, a) for a in IDS}

    # the order paid before the move finishes in area 1
    assert submit_record(world, 2, old) == (
        False,
        f"seller {seller} is in area 1 (when order {old} was paid), not 2",
    )
    assert submit_record(world, 1, old) == (True, "accepted")
    # the order paid after it, in area 2
    assert submit_record(world, 1, new) == (
        False,
        f"seller {seller} is in area 2 (when order {new} was paid), not 1",
    )
    assert submit_record(world, 2, new) == (True, "accepted")
    # an order the Escrow does not know: the directory in force at the confirmed head
    assert submit_record(world, 1, 10**9) == (
        False,
        f"seller {seller} is in area 2, not 1",
    )
    # refused records change nothing: only the two accepted are pooled
    chains = world["chains"]
    assert [r.order_id for r in chains[1].pool()] == [old]
    assert [r.order_id for r in chains[2].pool()] == [new]

    # epoch 2 published without its file here: the seller's area is unknown, refused
    directory_c = suite.contract("AreaDirectory")
    two = AreaDirectory(2, {seller.lower(): 1}, int(w3.eth.block_number) - 1)
    suite.tx(get_dev_account(0)).transact(
        directory_c.functions.publish(2, two.root, 1, 2, two.source_block)
    )
    published_at = int(w3.eth.block_number)
    mine(w3, CONFIRMATIONS)
    safe = int(w3.eth.block_number) - CONFIRMATIONS
    assert safe == published_at
    path = world["home"] / "areas" / "epoch-2.json"
    assert submit_record(world, 2, 10**9 + 1) == (
        False,
        "the seller's area is unknown here: the directory of epoch 2 is in force at block "
        f"{safe} but not available here ({path})",
    )
    # the node stays up and answers
    assert {a: node_height(world, a) for a in IDS} == heights


def test_devnet_up__area_epoch__supervised_daemon_publishes_and_the_workload_reports(tmp_path):
    """`sec devnet up --area-epoch 3`: the daemon is one of the supervised processes (in
    `sec devnet status`), publishes once there are trades, is restarted after a SIGKILL,
    and `scripts/areas_workload.py --wait-epoch` reports on the directory it published."""
    import threading

    from web3 import Web3

    from sec_offchain.contracts.deployment import Deployment

    home = tmp_path / "devnet"
    argv = [sys.executable, "-m", "sec_offchain.cli", "devnet", "up", "--areas", "2"]
    argv += ["--nodes", "1", "--consensus", "round-robin", "--interval", "1"]
    argv += ["--area-epoch", "3", "--home", str(home)]
    up = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(up.stdout), daemon=True).start()

    def sec(*args):
        return subprocess.run(
            [sys.executable, "-m", "sec_offchain.cli", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )

    def processes() -> dict:
        out = sec("devnet", "status", "--home", str(home), "--json")
        if out.returncode:
            return {}
        return {p["name"]: p for p in json.loads(out.stdout)["processes"]}

    try:
        deadline = time.monotonic() + 300
        while "area-epochs" not in processes():
            assert up.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(1)
        first = processes()["area-epochs"]
        assert (first["up"], first["restarts"]) == (True, 0)
        cfg = DevnetConfig.load(home / "devnet.json")
        suite = Suite(Web3(Web3.HTTPProvider(cfg.rpc)), Deployment.from_file(Path(cfg.deployments)))
        directory_c = suite.contract("AreaDirectory").functions
        assert directory_c.latest_epoch().call() == 0  # nobody has traded: nothing to place
        seller, buyer = get_dev_account(5), get_dev_account(6)  # hash areas 1 and 2
        listing, _ = suite.create_listing(seller, 10**16)
        for _ in range(2):
            order, _ = suite.buy(buyer, listing)
            suite.ship(seller, order, "T")
            suite.confirm(buyer, order)
        os.kill(first["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 120
        while not (
            processes().get("area-epochs", {}).get("restarts") == 1
            and processes()["area-epochs"]["up"]
        ):
            assert time.monotonic() < deadline, "the daemon was not restarted"
            time.sleep(1)
        # the workload trades more and waits for an epoch computed after its last trade
        workload = subprocess.run(
            [
                sys.executable,
                "scripts/areas_workload.py",
                "--home",
                str(home),
                "--communities",
                "1",
                "--size",
                "3",
                "--sellers",
                "1",
                "--trades",
                "4",
                "--local",
                "1",
                "--wait-epoch",
                "240",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )
        assert workload.returncode == 0, workload.stdout + workload.stderr
        out = workload.stdout.splitlines()
        assert out[-3].startswith("the devnet published epoch ")
        epoch = int(out[-3].split()[4].rstrip(";"))
        # every published epoch has its file, matching the root on chain
        for n in range(1, directory_c.latest_epoch().call() + 1):
            book = AreaDirectory.load(json.loads((home / "areas" / f"epoch-{n}.json").read_text()))
            assert book.root == bytes(directory_c.root_of(n).call())
        # 6 trades: dev:5 -> dev:6 twice (hash areas 1 and 2) and the workload's 4 inside one
        # circle of three (one circle: epochs published mid-way cannot split two circles
        # by the size bound); relation areas keep every one inside one area
        assert out[-1].startswith("relation: 100.0 % intra-area (6 of 6 trades), 0 BGC messages; ")
        assert out[-1].endswith(f"directory of epoch {epoch} (published)")
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait(10)
