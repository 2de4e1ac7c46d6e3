"""The anchor relayer on anvil: anchors attested final headers in order, treats a header
another relayer anchored first as success, never sends a second transaction after a kill
between recording, sending and confirmation, follows a 3-block reorg, and rides out an RPC
outage."""

import socket
import threading
import time

import pytest

from sec_offchain.area.block import anchor_domain_separator, fast_header_digest
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deploy import deploy_suite
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.devchain import Anvil
from sec_offchain.encoding.area_header import AreaHeader, sign_digest
from sec_offchain.relayers.anchor import AnchorRelayer

AREA = 1
VALIDATORS = [get_dev_account(i) for i in (1, 2, 3, 4)]


@pytest.fixture(scope="module")
def devchain():
    with Anvil() as node:
        deployment = deploy_suite(node.w3, get_dev_account(0), progress=lambda m: None)
        suite = Suite(node.w3, deployment)
        for v in VALIDATORS:
            suite.stake_validator(v, AREA, 100_000 * 10**18)
        suite.activate_validators(VALIDATORS, node)
        yield node, suite


@pytest.fixture
def fresh(devchain):
    """Each test from the same chain state (anvil snapshot), automine on."""
    node, suite = devchain
    snap = node.w3.provider.make_request("evm_snapshot", [])["result"]
    yield node, suite
    # a test may leave anchors pending: dropped first, or switching automine back on could
    # mine them into the next test's chain
    assert node.w3.provider.make_request("anvil_dropAllTransactions", []).get("error") is None
    node.w3.provider.make_request("evm_revert", [snap])
    node.w3.provider.make_request("evm_setAutomine", [True])


class Headers:
    """An area's final headers, attested by 3 of the 4 validators (the relayer's source)."""

    def __init__(self, suite: Suite, count: int, signers=3) -> None:
        sep = anchor_domain_separator(suite.w3.eth.chain_id, suite.anchor_hub.address)
        self.headers = []
        parent = b"\x00" * 32
        for h in range(1, count + 1):
            header = AreaHeader(AREA, h, parent, tx_root=bytes([h]) * 32, timestamp=1000 + h)
            digest = fast_header_digest(header, sep)
            n = signers(h) if callable(signers) else signers
            sigs = {v.address: sign_digest(v.key, digest) for v in VALIDATORS[:n]}
            self.headers.append((header, sigs))
            parent = digest

    def __call__(self, height: int):
        return self.headers[height - 1] if 1 <= height <= len(self.headers) else None


def relayer(suite, source, db, account_index=9, w3=None, **kw):
    return AnchorRelayer(
        w3 or suite.w3,
        suite.anchor_hub.address,
        suite.anchor_hub.abi,
        suite.staking.address,
        suite.staking.abi,
        get_dev_account(account_index),
        AREA,
        source,
        db,
        **kw,
    )


def latest(suite):
    return suite.anchor_hub.functions.latest_height(AREA).call()


def mine(node, n=1):
    for _ in range(n):
        node.w3.provider.make_request("evm_mine", [])


def mined(node, r):
    """Waits for the relayer's in-flight transaction to have a receipt: anvil answers
    eth_sendRawTransaction before it has mined it, so the next step could see none yet."""
    node.w3.eth.wait_for_transaction_receipt(r._inflight()[2], timeout=60)


def pending_count(node):
    content = node.w3.provider.make_request("txpool_content", [])["result"]
    return sum(len(v) for v in content["pending"].values())


def drive(r, node, until_height, suite, steps=40):
    for _ in range(steps):
        r.step()
        if latest(suite) >= until_height and r._inflight() is None:
            return
    raise AssertionError(f"stuck at {latest(suite)}")


def test_relayer__anchors_in_order_and_no_quorum_waits(fresh, tmp_path):
    node, suite = fresh
    r = relayer(suite, Headers(suite, 3), tmp_path / "r.db", confirmations=1)
    drive(r, node, 3, suite)
    hub = suite.anchor_hub.functions
    assert latest(suite) == 3 and r.sent == 3
    assert bytes(hub.anchored_hash(AREA, 3).call()) == fast_header_digest(
        Headers(suite, 3).headers[2][0],
        anchor_domain_separator(suite.w3.eth.chain_id, suite.anchor_hub.address),
    )
    assert r.step().action == "nothing"  # no height 4 attested yet
    weak = relayer(suite, Headers(suite, 4, signers=2), tmp_path / "w.db")
    assert weak.step().action == "no-quorum" and latest(suite) == 3


def test_relayer__two_relayers_race__one_lands_other_treats_it_as_done(fresh, tmp_path):
    node, suite = fresh
    source = Headers(suite, 1)
    node.w3.provider.make_request("evm_setAutomine", [False])
    a = relayer(suite, source, tmp_path / "a.db", account_index=8)
    b = relayer(suite, source, tmp_path / "b.db", account_index=9)
    assert a.step().action == "sent" and b.step().action == "sent"
    mine(node)
    results = {a.step().action, b.step().action}
    assert results == {"confirmed", "already"}
    assert latest(suite) == 1


def test_relayer__killed_after_send__restart_sends_nothing_twice(fresh, tmp_path):
    node, suite = fresh
    source = Headers(suite, 1)
    account = get_dev_account(9).address
    nonce0 = node.w3.eth.get_transaction_count(account)
    node.w3.provider.make_request("evm_setAutomine", [False])
    first = relayer(suite, source, tmp_path / "r.db")
    assert first.step().action == "sent"
    first.close()  # killed here: the transaction is in the mempool, not mined
    again = relayer(suite, source, tmp_path / "r.db")
    for _ in range(3):
        assert again.step().action == "waiting"
    assert again.sent == 0 and pending_count(node) == 1
    mine(node)
    assert again.step().action == "confirmed"
    assert latest(suite) == 1 and node.w3.eth.get_transaction_count(account) == nonce0 + 1


def test_relayer__killed_between_recording_and_sending__same_bytes_sent_once(fresh, tmp_path):
    node, suite = fresh
    source = Headers(suite, 1)
    account = get_dev_account(9).address
    nonce0 = node.w3.eth.get_transaction_count(account)
    first = relayer(suite, source, tmp_path / "r.db")

    def killed(raw):
        raise KeyboardInterrupt("killed before the send")

    first._broadcast = killed
    with pytest.raises(KeyboardInterrupt):
        first.step()
    first.close()
    assert latest(suite) == 0 and pending_count(node) == 0
    again = relayer(suite, source, tmp_path / "r.db")
    assert again.step().action == "waiting"  # re-broadcasts the recorded bytes
    assert again.step().action == "confirmed"  # automine: mined at once
    assert latest(suite) == 1 and node.w3.eth.get_transaction_count(account) == nonce0 + 1


def test_relayer__three_block_reorg__reanchors(fresh, tmp_path):
    node, suite = fresh
    source = Headers(suite, 3)
    r = relayer(suite, source, tmp_path / "r.db", confirmations=1)
    drive(r, node, 3, suite)
    assert latest(suite) == 3
    node.w3.provider.make_request("anvil_reorg", [3, []])  # the three anchors are gone
    assert latest(suite) == 0
    drive(r, node, 3, suite)
    assert latest(suite) == 3 and r.sent == 6


class Proxy:
    """A TCP proxy in front of anvil that can be taken down (an RPC outage)."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.up = False
        self._server = None
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []

    def start(self):
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", self.port))
        self._server.listen(16)
        self.up = True
        threading.Thread(target=self._accept, args=(self._server,), daemon=True).start()

    def stop(self):
        """Down when it returns: no new connection, and the open (keep-alive) ones cut now,
        not whenever their pipe threads next get the CPU (one could still relay an answer)."""
        with self._lock:
            self.up = False
            self._server.close()
            for s in self._open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self._open.clear()

    def _accept(self, server):
        while self.up:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                if not self.up:
                    client.close()
                    upstream.close()
                    return
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a, b):
        try:
            while self.up:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            a.close()
            b.close()


def test_relayer__rpc_outage__errors_then_catches_up(fresh, tmp_path):
    from web3 import Web3

    node, suite = fresh
    proxy = Proxy(node.port)
    proxy.start()
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{proxy.port}", request_kwargs={"timeout": 3}))
    r = relayer(suite, Headers(suite, 2), tmp_path / "r.db", w3=w3)
    assert r.step().action == "sent"
    proxy.stop()
    assert r.step().action == "error"
    assert r.step().action == "error"
    proxy.start()
    drive(r, node, 2, suite)
    assert latest(suite) == 2 and r.sent == 2


# ---------------------------------------------------------------------------- exact thresholds

SEC = 10**18
STAKE = 100_000 * SEC


def attested(suite, area, height, signers, parent=b"\x00" * 32, forged=()):
    """The header at `height` with signatures by `signers`, plus (claimed address, actual
    signer) pairs in `forged`."""
    sep = anchor_domain_separator(suite.w3.eth.chain_id, suite.anchor_hub.address)
    header = AreaHeader(area, height, parent, tx_root=bytes([height]) * 32, timestamp=1000 + height)
    digest = fast_header_digest(header, sep)
    sigs = {v.address: sign_digest(v.key, digest) for v in signers}
    sigs.update({claimed.address: sign_digest(actual.key, digest) for claimed, actual in forged})
    return header, sigs


def area_relayer(suite, area, source, db, **kw):
    return AnchorRelayer(
        suite.w3,
        suite.anchor_hub.address,
        suite.anchor_hub.abi,
        suite.staking.address,
        suite.staking.abi,
        get_dev_account(9),
        area,
        source,
        db,
        **kw,
    )


def test_relayer__exactly_two_thirds_is_no_quorum__one_wei_more_anchors(fresh, tmp_path):
    node, suite = fresh
    area = 2
    v5, v6, v7 = (get_dev_account(i) for i in (5, 6, 7))
    for v in (v5, v6, v7):
        suite.stake_validator(v, area, STAKE)
    suite.activate_validators([v5, v6, v7], node)
    got = attested(suite, area, 1, [v5, v6])
    r = area_relayer(suite, area, lambda h: got if h == 1 else None, tmp_path / "q.db")
    nonce0 = node.w3.eth.get_transaction_count(get_dev_account(9).address)
    result = r.step()
    assert (result.action, result.height) == ("no-quorum", 1)
    assert result.detail == f"{2 * STAKE} of {3 * STAKE} signed"
    assert r.sent == 0 and node.w3.eth.get_transaction_count(r.account.address) == nonce0
    suite.stake_validator(v5, area, 1)  # one wei more for a signer: 2/3 of the total + 1/3 wei
    assert r.step().action == "no-quorum"  # pending: it counts only once activated
    suite.activate_validators([v5], node)
    result = r.step()
    assert result.action == "sent" and r.sent == 1
    mined(node, r)
    assert r.step().action == "confirmed"
    assert suite.anchor_hub.functions.latest_height(area).call() == 1


def test_relayer__forged_attestation_is_not_counted__nothing_sent(fresh, tmp_path):
    node, suite = fresh
    intruder = get_dev_account(8)
    got = attested(suite, AREA, 1, VALIDATORS[:2], forged=[(VALIDATORS[2], intruder)])
    r = relayer(suite, lambda h: got if h == 1 else None, tmp_path / "f.db")
    nonce0 = node.w3.eth.get_transaction_count(r.account.address)
    result = r.step()
    assert result.action == "no-quorum"
    assert result.detail == f"{2 * STAKE} of {4 * STAKE} signed"
    assert r.sent == 0 and node.w3.eth.get_transaction_count(r.account.address) == nonce0
    assert pending_count(node) == 0 and latest(suite) == 0


def test_relayer__an_unstaked_signer_is_left_out_of_the_anchor(fresh, tmp_path):
    node, suite = fresh
    outsider = get_dev_account(7)  # not a validator: its valid signature weighs nothing
    got = attested(suite, AREA, 1, VALIDATORS[:3] + [outsider])
    r = relayer(suite, lambda h: got if h == 1 else None, tmp_path / "u.db")
    assert r.step().action == "sent"
    mined(node, r)
    assert r.step().action == "confirmed" and latest(suite) == 1


def test_relayer__confirmation_depth_is_counted_exactly(fresh, tmp_path):
    node, suite = fresh
    node.w3.provider.make_request("evm_setAutomine", [False])
    r = relayer(suite, Headers(suite, 1), tmp_path / "c.db", confirmations=3)
    assert r.step().action == "sent"
    assert r.step().detail == "pending"
    details = []
    for _ in range(2):
        mine(node)
        details.append(r.step().detail)
    assert details == ["1 of 3 confirmations", "2 of 3 confirmations"]
    assert r._inflight() is not None
    mine(node)
    assert r.step().action == "confirmed" and r._inflight() is None and latest(suite) == 1


def test_relayer__estimate_reverts__already_anchored_is_success_other_reasons_are_not(
    fresh, tmp_path
):
    node, suite = fresh
    source = Headers(suite, 1)
    other = relayer(suite, source, tmp_path / "o.db", account_index=8)

    def racing(height):  # another relayer lands the height between our read and our estimate
        drive(other, node, height, suite)
        return source(height)

    r = relayer(suite, racing, tmp_path / "r.db")
    result = r.step()
    assert (result.action, result.height, r.sent) == ("already", 1, 0)
    assert latest(suite) == 1
    bad_parent = attested(suite, AREA, 2, VALIDATORS[:3], parent=b"\x05" * 32)
    r2 = relayer(suite, lambda h: bad_parent if h == 2 else None, tmp_path / "r2.db")
    result = r2.step()
    assert (result.action, result.height) == ("error", 2)
    assert result.detail == "anchor: wrong parent hash"
    assert r2.sent == 0 and latest(suite) == 1


def test_relayer__anchor_that_fails_on_chain_for_another_reason__is_an_error(fresh, tmp_path):
    """A signer unbonds all its stake first in the same block: the relayer's anchor then
    carries a signature that no longer counts and reverts on chain; the height is not
    anchored, so that is no success. (A newcomer's stake could not do this: it is pending.)"""
    node, suite = fresh
    leaver = VALIDATORS[0]
    node.w3.provider.make_request("evm_setAutomine", [False])
    r = relayer(suite, Headers(suite, 1), tmp_path / "r.db")
    assert r.step().action == "sent"
    w3 = node.w3
    tx = suite.staking.functions.unbond(100_000 * SEC).build_transaction(
        {
            "from": leaver.address,
            "nonce": w3.eth.get_transaction_count(leaver.address, "pending"),
            "gas": 400_000,
            "gasPrice": w3.eth.gas_price * 10,
            "chainId": w3.eth.chain_id,
        }
    )
    w3.eth.send_raw_transaction(leaver.sign_transaction(tx).raw_transaction)
    mine(node)
    assert suite.call(suite.staking.functions.is_validator(AREA, leaver.address)) is False
    result = r.step()
    assert (result.action, result.detail) == ("error", "anchor transaction failed on chain")
    assert latest(suite) == 0 and r._inflight() is None


# ---------------------------------------------------------------------------- kill -9

RUNNER = """
import json, sys
from pathlib import Path
from eth_account import Account
from web3 import Web3
from sec_offchain.encoding.area_header import AreaHeader
from sec_offchain.relayers.anchor import AnchorRelayer

cfg = json.loads(Path(sys.argv[1]).read_text())
headers = {int(h): (AreaHeader.from_json(x["header"]),
                    {v: bytes.fromhex(s) for v, s in x["sigs"].items()})
           for h, x in cfg["headers"].items()}
w3 = Web3(Web3.HTTPProvider(cfg["rpc"], request_kwargs={"timeout": 10}))
relayer = AnchorRelayer(w3, cfg["hub"], cfg["hub_abi"], cfg["staking"], cfg["staking_abi"],
                        Account.from_key(cfg["key"]), cfg["area"], headers.get,
                        Path(cfg["db"]), confirmations=1)
print("relayer up", flush=True)
relayer.run(lambda: False, interval=0.05)
"""


def wait_until(cond, what, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def inflight_heights(db):
    """The heights the relayer's database holds in flight, read from outside the process."""
    import sqlite3

    if not db.exists():
        return []
    con = sqlite3.connect(str(db))
    try:
        rows = con.execute("SELECT height FROM inflight ORDER BY height").fetchall()
    except sqlite3.OperationalError:
        rows = []
    finally:
        con.close()
    return [h for (h,) in rows]


def test_relayer_process__sigkilled_with_a_batch_in_flight__restart_sends_each_anchor_once(
    fresh, tmp_path
):
    import json
    import os
    import signal
    import subprocess
    import sys

    node, suite = fresh
    source = Headers(suite, 6)
    db = tmp_path / "anchor.db"
    account = get_dev_account(9)

    def write_config(heights):
        cfg = {
            "rpc": f"http://127.0.0.1:{node.port}",
            "hub": suite.anchor_hub.address,
            "hub_abi": suite.anchor_hub.abi,
            "staking": suite.staking.address,
            "staking_abi": suite.staking.abi,
            "key": "0x" + bytes(account.key).hex(),
            "area": AREA,
            "db": str(db),
            "headers": {
                str(h): {"header": x.to_json(), "sigs": {v: s.hex() for v, s in sigs.items()}}
                for h, (x, sigs) in enumerate(source.headers[:heights], start=1)
            },
        }
        (tmp_path / "cfg.json").write_text(json.dumps(cfg))

    (tmp_path / "runner.py").write_text(RUNNER)
    root = __import__("pathlib").Path(__file__).resolve().parents[2]

    def launch():
        return subprocess.Popen(
            [sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "cfg.json")],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(proc):
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    nonce0 = node.w3.eth.get_transaction_count(account.address)
    node.w3.provider.make_request("evm_setAutomine", [False])
    write_config(3)
    proc = launch()
    try:
        # killed with heights 1-3 recorded and broadcast in one step, none mined
        wait_until(
            lambda: inflight_heights(db) == [1, 2, 3] and pending_count(node) == 3, "1-3 sent"
        )
        kill(proc)
        assert pending_count(node) == 3 and inflight_heights(db) == [1, 2, 3]
        write_config(6)  # three more heights final meanwhile
        proc = launch()
        mine(node)
        assert latest(suite) == 3
        # the restarted relayer confirms 1-3 (no second tx for them) and sends 4-6 at once
        wait_until(
            lambda: inflight_heights(db) == [4, 5, 6] and pending_count(node) == 3, "4-6 sent"
        )
        kill(proc)
        mine(node)
        proc = launch()
        wait_until(lambda: inflight_heights(db) == [] and latest(suite) == 6, "height 6 done")
    finally:
        kill(proc)
    assert node.w3.eth.get_transaction_count(account.address) == nonce0 + 6
    assert pending_count(node) == 0
    anchored = suite.anchor_hub.events.HeaderAnchored().get_logs(from_block=0)
    assert [e["args"]["height"] for e in anchored if e["args"]["area_id"] == AREA] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]


def test_relayer__source_gives_another_areas_header__nothing_sent(fresh, tmp_path):
    node, suite = fresh
    wrong_area = attested(suite, 2, 1, VALIDATORS[:3])
    r = relayer(suite, lambda h: wrong_area, tmp_path / "w.db")
    result = r.step()
    assert (result.action, result.height, result.detail) == (
        "nothing",
        1,
        "source gave another height",
    )
    assert r.sent == 0 and latest(suite) == 0


def test_relayers_sharing_a_key__tx_behind_a_nonce_gap__resigned_at_the_gap(fresh, tmp_path):
    """Two relayers of one key send nonces n and n+1; n is dropped (a reorg or eviction) and
    its relayer is gone. The other does not re-broadcast n+1 for ever: it re-signs its
    anchor at n, which lands."""
    node, suite = fresh
    source = Headers(suite, 1)
    account = get_dev_account(9).address
    nonce0 = node.w3.eth.get_transaction_count(account)
    node.w3.provider.make_request("evm_setAutomine", [False])
    gone = relayer(suite, source, tmp_path / "gone.db")
    stuck = relayer(suite, source, tmp_path / "stuck.db", rebroadcast_after=0)
    assert gone.step().action == "sent" and stuck.step().action == "sent"
    assert [row[1] for row in (gone._inflight(), stuck._inflight())] == [nonce0, nonce0 + 1]
    dropped = gone._inflight()[2]
    node.w3.provider.make_request("anvil_dropTransaction", ["0x" + dropped.hex()])
    gone.close()
    mine(node)
    # anvil drops n+1 with it; re-broadcast, it would wait behind the gap for ever
    assert pending_count(node) == 0
    assert node.w3.eth.get_transaction_count(account) == nonce0
    result = stuck.step()
    assert (result.action, result.detail) == ("sent", "re-signed at the chain's next nonce")
    assert stuck._inflight()[1] == nonce0 and stuck.sent == 2
    mine(node)
    assert stuck.step().action == "confirmed"
    assert latest(suite) == 1
    assert node.w3.eth.get_transaction_count(account) == nonce0 + 1 and pending_count(node) == 0
    assert stuck.step().action == "nothing"


# ---------------------------------------------------------------------------- batches


def rows(r):
    return [(row.height, row.nonce) for row in sorted(r._rows())]


def anchored_txs(suite):
    """(height, transaction hash) of every anchor of the area on the chain, in order."""
    logs = suite.anchor_hub.events.HeaderAnchored().get_logs(from_block=0)
    return [
        (e["args"]["height"], bytes(e["transactionHash"]))
        for e in logs
        if e["args"]["area_id"] == AREA
    ]


def test_relayer__five_heights_waiting__sent_in_one_step_with_consecutive_nonces(fresh, tmp_path):
    """Height 1 is estimated with 3 signatures; 2-5 carry 4 (more gas than the estimate):
    the bound for the unestimated ones covers them."""
    node, suite = fresh
    node.w3.provider.make_request("evm_setAutomine", [False])
    r = relayer(suite, Headers(suite, 5, signers=lambda h: 3 if h == 1 else 4), tmp_path / "b.db")
    nonce0 = node.w3.eth.get_transaction_count(r.account.address)
    result = r.step()
    assert (result.action, result.heights) == ("sent", (1, 2, 3, 4, 5))
    assert rows(r) == [(h, nonce0 + h - 1) for h in range(1, 6)]
    assert r.sent == 5 and pending_count(node) == 5
    mine(node)  # all five in one block
    result = r.step()
    assert (result.action, result.heights) == ("confirmed", (1, 2, 3, 4, 5))
    assert latest(suite) == 5 and r._rows() == []
    assert node.w3.eth.get_transaction_count(r.account.address) == nonce0 + 5
    for _, tx_hash in anchored_txs(suite):
        assert node.w3.eth.get_transaction_receipt(tx_hash)["status"] == 1
    assert r.step().action == "nothing"


def test_relayer__ten_heights_waiting__eight_in_flight_then_the_other_two(fresh, tmp_path):
    node, suite = fresh
    node.w3.provider.make_request("evm_setAutomine", [False])
    r = relayer(suite, Headers(suite, 10), tmp_path / "c.db")
    assert r.step().heights == tuple(range(1, 9))
    assert pending_count(node) == 8
    assert r.step().action == "waiting" and pending_count(node) == 8  # at the cap
    mine(node)
    result = r.step()  # 1-8 confirmed, 9-10 sent in the same step
    assert (result.action, result.heights) == ("sent", (9, 10))
    assert latest(suite) == 8 and [h for h, _ in rows(r)] == [9, 10]
    mine(node)
    assert r.step().heights == (9, 10)
    assert latest(suite) == 10 and r.sent == 10


class Growing(Headers):
    """Headers that become final over time: only the first `ready` are given out."""

    def __init__(self, suite, count, ready):
        super().__init__(suite, count)
        self.ready = ready

    def __call__(self, height):
        return super().__call__(height) if height <= self.ready else None


def test_relayer__heights_final_while_a_batch_is_in_flight__sent_behind_it(fresh, tmp_path):
    """Heights that become final while earlier anchors are pending go out at once, at the
    nonces after theirs (no estimate: their parent is not anchored yet; the parent hash is
    checked against the pending anchor's digest)."""
    node, suite = fresh
    node.w3.provider.make_request("evm_setAutomine", [False])
    source = Growing(suite, 4, ready=2)
    r = relayer(suite, source, tmp_path / "p.db")
    nonce0 = node.w3.eth.get_transaction_count(r.account.address)
    assert r.step().heights == (1, 2)
    source.ready = 4
    result = r.step()
    assert (result.action, result.heights) == ("sent", (3, 4))
    assert rows(r) == [(h, nonce0 + h - 1) for h in range(1, 5)]
    mine(node)
    assert r.step().heights == (1, 2, 3, 4) and latest(suite) == 4


def test_relayer__next_header_does_not_follow_the_pending_one__not_sent(fresh, tmp_path):
    node, suite = fresh
    node.w3.provider.make_request("evm_setAutomine", [False])
    source = Growing(suite, 1, ready=1)
    r = relayer(suite, source, tmp_path / "f.db")
    assert r.step().heights == (1,)
    stray = attested(suite, AREA, 2, VALIDATORS[:3], parent=b"\x05" * 32)
    source.headers.append(stray)
    source.ready = 2
    result = r.step()
    assert (result.action, result.height, result.detail) == ("waiting", 1, "pending")
    assert [h for h, _ in rows(r)] == [1] and pending_count(node) == 1


def test_relayer__killed_between_recording_and_sending_a_batch__rest_sent_once(fresh, tmp_path):
    node, suite = fresh
    source = Headers(suite, 4)
    nonce0 = node.w3.eth.get_transaction_count(get_dev_account(9).address)
    node.w3.provider.make_request("evm_setAutomine", [False])
    first = relayer(suite, source, tmp_path / "r.db")
    real, calls = first._broadcast, []

    def killed_at_third(raw):
        calls.append(raw)
        if len(calls) == 3:
            raise KeyboardInterrupt("killed in the middle of the batch")
        real(raw)

    first._broadcast = killed_at_third
    with pytest.raises(KeyboardInterrupt):
        first.step()
    recorded = {row.height: bytes(row.tx_hash) for row in first._rows()}
    first.close()
    assert sorted(recorded) == [1, 2, 3, 4] and pending_count(node) == 2
    again = relayer(suite, source, tmp_path / "r.db")
    assert again.step().action == "waiting"  # 3 and 4 re-broadcast, the same bytes
    assert again.sent == 2 and pending_count(node) == 4
    mine(node)
    assert again.step().heights == (1, 2, 3, 4)
    assert anchored_txs(suite) == sorted(recorded.items())
    assert node.w3.eth.get_transaction_count(again.account.address) == nonce0 + 4


def test_relayer__reorg_drops_the_last_two_of_a_batch__those_two_anchored_again(fresh, tmp_path):
    node, suite = fresh
    r = relayer(suite, Headers(suite, 5), tmp_path / "r.db")
    drive(r, node, 5, suite)  # automine: one block per anchor
    assert r.sent == 5
    node.w3.provider.make_request("anvil_reorg", [2, []])
    assert latest(suite) == 3
    result = r.step()
    assert (result.action, result.heights) == ("sent", (4, 5))
    drive(r, node, 5, suite)
    assert latest(suite) == 5 and r.sent == 7
    assert [h for h, _ in anchored_txs(suite)] == [1, 2, 3, 4, 5]


def test_relayer__reorg_takes_a_batch_back_before_its_confirmations__same_bytes_again(
    fresh, tmp_path
):
    node, suite = fresh
    node.w3.provider.make_request("evm_setAutomine", [False])
    r = relayer(suite, Headers(suite, 3), tmp_path / "r.db", confirmations=3)
    nonce0 = node.w3.eth.get_transaction_count(r.account.address)
    assert r.step().heights == (1, 2, 3)
    recorded = [(row.height, bytes(row.tx_hash)) for row in r._rows()]
    mine(node)
    assert r.step().detail == "1 of 3 confirmations" and latest(suite) == 3
    node.w3.provider.make_request("anvil_reorg", [1, []])  # the block with the batch is gone
    assert latest(suite) == 0 and pending_count(node) == 0
    assert r.step().action == "waiting"  # not in the mempool: the recorded bytes again
    assert pending_count(node) == 3 and r.sent == 6
    mine(node, 3)
    assert r.step().heights == (1, 2, 3)
    assert anchored_txs(suite) == recorded
    assert node.w3.eth.get_transaction_count(r.account.address) == nonce0 + 3


def test_relayer__a_batch_tx_dropped_from_the_mempool__the_same_bytes_fill_the_gap(fresh, tmp_path):
    """Nonces n..n+3 in flight; n+1 is evicted. The ones behind it cannot be mined until
    it is back: the relayer re-broadcasts it (lowest nonce first), nothing is re-signed."""
    node, suite = fresh
    node.w3.provider.make_request("evm_setAutomine", [False])
    r = relayer(suite, Headers(suite, 4), tmp_path / "g.db")
    nonce0 = node.w3.eth.get_transaction_count(r.account.address)
    assert r.step().heights == (1, 2, 3, 4)
    recorded = [(row.height, bytes(row.tx_hash)) for row in r._rows()]
    node.w3.provider.make_request("anvil_dropTransaction", ["0x" + recorded[1][1].hex()])
    mine(node)
    assert latest(suite) == 1
    assert node.w3.eth.get_transaction_count(r.account.address) == nonce0 + 1
    result = r.step()
    assert (result.action, result.heights) == ("confirmed", (1,))
    assert [h for h, _ in rows(r)] == [2, 3, 4] and pending_count(node) == 3
    mine(node)
    assert r.step().heights == (2, 3, 4)
    assert anchored_txs(suite) == recorded
    assert node.w3.eth.get_transaction_count(r.account.address) == nonce0 + 4


def test_relayer__database_of_the_one_tx_version__its_tx_followed(fresh, tmp_path):
    """A relayer upgraded with a transaction in flight (the table keyed by account and area)
    follows it instead of sending a second one."""
    import sqlite3

    node, suite = fresh
    node.w3.provider.make_request("evm_setAutomine", [False])
    source = Headers(suite, 2)
    first = relayer(suite, source, tmp_path / "new.db")
    assert first.step().heights == (1, 2)
    (h1, n1, hash1, raw1, at1), second = [tuple(row[:5]) for row in first._rows()]
    first.close()
    old = sqlite3.connect(str(tmp_path / "old.db"))
    old.execute(
        "CREATE TABLE inflight (account TEXT NOT NULL, area_id INTEGER NOT NULL,"
        " height INTEGER NOT NULL, nonce INTEGER NOT NULL, tx_hash BLOB NOT NULL,"
        " raw BLOB NOT NULL, sent_at REAL NOT NULL, PRIMARY KEY (account, area_id))"
    )
    old.execute(
        "INSERT INTO inflight VALUES (?, ?, ?, ?, ?, ?, ?)",
        (get_dev_account(9).address, AREA, h1, n1, hash1, raw1, at1),
    )
    old.commit()
    old.close()
    # the newer version's second transaction never happened
    node.w3.provider.make_request("anvil_dropTransaction", ["0x" + second[2].hex()])
    upgraded = relayer(suite, source, tmp_path / "old.db")
    assert [tuple(row[:5]) for row in upgraded._rows()] == [(h1, n1, hash1, raw1, at1)]
    assert upgraded.step().action == "waiting"  # no digest: nothing sent behind it
    mine(node)
    result = upgraded.step()  # 1 confirmed, 2 sent after it (estimated: 1 is anchored)
    assert (result.action, result.heights, latest(suite)) == ("sent", (2,), 1)


# ---------------------------------------------------------------------------- standby


def test_standby_sharing_the_key__waits_out_the_grace__anchors_once_the_primary_is_gone(
    fresh, tmp_path
):
    node, suite = fresh
    source = Growing(suite, 3, ready=1)
    now = [1000.0]
    primary = relayer(suite, source, tmp_path / "anchor-1.db")
    standby = relayer(
        suite, source, tmp_path / "anchor-1-standby.db", grace=2.0, clock=lambda: now[0]
    )
    nonce0 = node.w3.eth.get_transaction_count(primary.account.address)
    assert (standby.step().action, standby.step().detail) == ("nothing", "left to the primary")
    now[0] += 1.9
    assert standby.step().detail == "left to the primary" and standby.sent == 0
    assert primary.step().action == "sent"
    mined(node, primary)
    assert primary.step().action == "confirmed"
    now[0] += 5  # past the grace of height 1, but height 1 is anchored
    assert standby.step().action == "nothing" and standby.sent == 0
    primary.close()  # the primary is gone; heights 2 and 3 become final
    source.ready = 3
    assert standby.step().detail == "left to the primary"
    now[0] += 1.9
    assert standby.step().detail == "left to the primary"
    now[0] += 0.1
    result = standby.step()
    assert (result.action, result.heights) == ("sent", (2, 3))
    assert rows(standby) == [(2, nonce0 + 1), (3, nonce0 + 2)]
    drive(standby, node, 3, suite)
    assert [h for h, _ in anchored_txs(suite)] == [1, 2, 3] and standby.sent == 2
    assert node.w3.eth.get_transaction_count(primary.account.address) == nonce0 + 3
