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
    node.w3.provider.make_request("evm_setAutomine", [True])
    node.w3.provider.make_request("evm_revert", [snap])


class Headers:
    """An area's final headers, attested by 3 of the 4 validators (the relayer's source)."""

    def __init__(self, suite: Suite, count: int, signers: int = 3) -> None:
        sep = anchor_domain_separator(suite.w3.eth.chain_id, suite.anchor_hub.address)
        self.headers = []
        parent = b"\x00" * 32
        for h in range(1, count + 1):
            header = AreaHeader(AREA, h, parent, tx_root=bytes([h]) * 32, timestamp=1000 + h)
            digest = fast_header_digest(header, sep)
            sigs = {v.address: sign_digest(v.key, digest) for v in VALIDATORS[:signers]}
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

    def start(self):
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", self.port))
        self._server.listen(16)
        self.up = True
        threading.Thread(target=self._accept, args=(self._server,), daemon=True).start()

    def stop(self):
        self.up = False
        self._server.close()

    def _accept(self, server):
        while self.up:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
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
    time.sleep(0.2)
    assert r.step().action == "error"
    assert r.step().action == "error"
    proxy.start()
    drive(r, node, 2, suite)
    assert latest(suite) == 2 and r.sent == 2
