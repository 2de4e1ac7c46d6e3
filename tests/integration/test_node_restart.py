"""An area whose first node is killed (SIGKILL, a real process) while its anchor relayer
anchors: the three others keep producing and attesting; the restarted node pulls the
attestations made while it was down, so it serves a quorum again by itself; anchoring never
stops for it (the relayer merges the signatures of every node)."""

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

from sec_offchain.area import net
from sec_offchain.area.devnet_config import DevnetConfig
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deployment import Deployment
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.devchain import Anvil
from sec_offchain.devnet import provision
from sec_offchain.encoding.area_header import AreaHeader, hash_area_header, recover_signer
from sec_offchain.relayers.run import merge_attestations

ROOT = Path(__file__).resolve().parents[2]
ASKER = get_dev_account(99)


def wait_for(what, check, timeout=90.0):
    deadline = time.time() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def ask(cfg: DevnetConfig, index: int, kind: int, payload: bytes, reply: int):
    node = cfg.area(1).nodes[index]
    try:
        return asyncio.run(
            net.request(
                "127.0.0.1",
                node.port,
                ASKER.key,
                bytes.fromhex(ASKER.address[2:]),
                cfg.chain_id,
                1,
                kind,
                payload,
                reply,
                timeout=3,
            )
        )
    except (TimeoutError, OSError, asyncio.IncompleteReadError, net.ProtocolError):
        return None


def status(cfg, index):
    body = ask(cfg, index, net.STATUS_REQ, b"", net.STATUS)
    return json.loads(body) if body else None


def start(cfg_path: Path, logs: Path, name: str, *args: str) -> subprocess.Popen:
    log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
    return subprocess.Popen(
        [sys.executable, "-m", *args, "--config", str(cfg_path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,
    )


@pytest.fixture
def area(tmp_path):
    with Anvil() as chain:
        cfg = provision(
            chain.w3, chain.url, tmp_path, 1, 4, 1.0, say=lambda m: None, consensus="round-robin"
        )
        cfg_path = tmp_path / "devnet.json"
        logs = tmp_path / "logs"
        logs.mkdir()
        procs = {
            f"node{i}": start(
                cfg_path,
                logs,
                f"node{i}",
                "sec_offchain.area.node",
                "--area",
                "1",
                "--index",
                str(i),
            )
            for i in range(4)
        }
        procs["relayer"] = start(
            cfg_path, logs, "relayer", "sec_offchain.relayers.run", "anchor", "--area", "1"
        )
        suite = Suite(chain.w3, Deployment.from_file(Path(cfg.deployments)))
        try:
            yield cfg, suite, procs, (cfg_path, logs)
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs.values():
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def quorum_at(cfg, suite, index, height):
    """The signatures node `index` alone serves for `height` that verify (or None)."""
    body = ask(cfg, index, net.GET_ATTEST, rlp.encode([height]), net.ATTEST)
    if body is None:
        return None
    data = json.loads(body)
    if not data["header"]:
        return None
    header = AreaHeader.from_json(data["header"])
    digest = hash_area_header(header, cfg.chain_id, suite.anchor_hub.address)
    signers = {
        v.lower()
        for v, s in data["signatures"].items()
        if recover_signer(digest, bytes.fromhex(s[2:])).lower() == v.lower()
    }
    return signers if len(signers) >= 3 else None


def test_first_node_sigkilled_and_restarted__pulls_attestations__anchoring_continues(area):
    cfg, suite, procs, (cfg_path, logs) = area
    anchored = suite.anchor_hub.functions.latest_height
    wait_for("the first anchors", lambda: anchored(1).call() >= 2)

    os.kill(procs["node0"].pid, signal.SIGKILL)
    assert procs["node0"].wait(10) == -signal.SIGKILL
    down_from = wait_for("node 1", lambda: status(cfg, 1))["final_height"]
    # three heights become final (and attested by nodes 1-3) while node 0 is dead
    wait_for("finality without node 0", lambda: status(cfg, 1)["final_height"] >= down_from + 3)
    missed = down_from + 2
    validators = {n.address.lower() for n in cfg.area(1).nodes}

    procs["node0"] = start(
        cfg_path, logs, "node0b", "sec_offchain.area.node", "--area", "1", "--index", "0"
    )
    back_at = wait_for("node 0 back", lambda: status(cfg, 0))
    assert back_at["node"].lower() == cfg.area(1).nodes[0].address.lower()
    # node 0 alone serves the others' signatures for a height it missed: it pulled them
    signers = wait_for("pulled attestations", lambda: quorum_at(cfg, suite, 0, missed))
    assert signers <= validators and len(signers) >= 3
    assert cfg.area(1).nodes[0].address.lower() in signers  # and signed it after catching up
    target = status(cfg, 1)["final_height"] + 2
    wait_for(f"anchors past {target}", lambda: anchored(1).call() >= target)
    assert procs["relayer"].poll() is None


def test_merge_attestations__union_of_every_node__most_signed_header_wins():
    honest = AreaHeader(1, 5, b"\x01" * 32, tx_root=b"\x02" * 32, timestamp=7)
    other = AreaHeader(1, 5, b"\x01" * 32, tx_root=b"\x03" * 32, timestamp=7)

    def body(header, sigs):
        return json.dumps(
            {"height": 5, "header": header.to_json() if header else None, "signatures": sigs}
        ).encode()

    bodies = [
        body(honest, {"0xAA": "0x01"}),  # a restarted node: its own signature only
        body(honest, {"0xbb": "0x02", "0xaa": "0x01"}),
        body(other, {"0xcc": "0x03"}),  # a node on another header has fewer
        body(None, {}),  # a node that lacks the height
        b"not json",
    ]
    header, sigs = merge_attestations(bodies)
    assert header == honest
    assert sigs == {"0xaa": b"\x01", "0xbb": b"\x02"}
    assert merge_attestations([body(None, {}), b"{}"]) is None
