"""`sec devnet up` as a user runs it: anvil, contracts, two areas of four node processes, the
escrow bridge and anchor relayers; a trade on the chain becomes a record the buyer reads with
`sec area records`; `sec devnet status` shows heights and anchors; Ctrl-C stops everything."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from web3 import Web3

from sec_offchain.area.devnet_config import DevnetConfig
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deployment import Deployment
from sec_offchain.crypto.keys import get_dev_account

ROOT = Path(__file__).resolve().parents[2]


def sec(*args, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "sec_offchain.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_devnet__trade_to_record_to_anchor_and_clean_stop(tmp_path):
    home = tmp_path / "devnet"
    up = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sec_offchain.cli",
            "devnet",
            "up",
            "--areas",
            "2",
            "--nodes",
            "4",
            "--home",
            str(home),
            "--interval",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    try:
        deadline = time.time() + 120
        while not (home / "pids.json").exists():
            assert up.poll() is None, up.stdout.read()
            assert time.time() < deadline
            time.sleep(0.5)
        pids = json.loads((home / "pids.json").read_text())
        # nodes, bridges, anchor relayers, BGC relayer, gateway
        assert len(pids) == 8 + 2 + 2 + 1 + 1
        cfg = DevnetConfig.load(home / "devnet.json")
        suite = Suite(Web3(Web3.HTTPProvider(cfg.rpc)), Deployment.from_file(Path(cfg.deployments)))
        seller, buyer = get_dev_account(5), get_dev_account(6)
        listing, _ = suite.create_listing(seller, 10**16)
        order, _ = suite.buy(buyer, listing)
        suite.ship(seller, order, "T")
        suite.confirm(buyer, order)

        deadline = time.time() + 60
        while True:
            out = sec("area", "records", "--key", "dev:6", "--home", str(home))
            if out.returncode == 0 and "completed" in out.stdout:
                break
            assert time.time() < deadline, out.stdout + out.stderr
            time.sleep(1)
        assert "0.01 ETH" in out.stdout
        other = sec("area", "records", "--key", "dev:7", "--home", str(home))
        assert other.returncode == 0 and "no records" in other.stdout

        # the whitepaper's cross-area purchase: buyer dev:6 pays from area 1 for a listing
        # of seller dev:5, delivered to area 2 through BGC; ship; confirm
        h = ("--home", str(home))
        assert (
            sec("bgc", "deposit", "--area", "1", "--amount", "100", "--key", "dev:6", *h).returncode
            == 0
        )

        def wait_status(key, text, timeout=60):
            deadline = time.time() + timeout
            while True:
                out = sec("bgc", "status", "--key", key, *h)
                if text in out.stdout:
                    return out.stdout
                assert time.time() < deadline, out.stdout + out.stderr
                time.sleep(1)

        wait_status("dev:6", "100 SEC")  # credited in area 1
        sent = sec(
            "bgc",
            "send",
            "--from-area",
            "1",
            "--to-area",
            "2",
            "--to",
            seller.address,
            "--amount",
            "30",
            "--listing",
            str(listing),
            "--key",
            "dev:6",
            *h,
        )
        assert sent.returncode == 0, sent.stderr
        wait_status("dev:5", "30 SEC, paid")  # delivered to area 2, held for the seller
        assert (
            sec("bgc", "ship", "--area", "2", "--ref", "1:1", "--key", "dev:5", *h).returncode == 0
        )
        wait_status("dev:5", "30 SEC, shipped")
        bad = sec("bgc", "ship", "--area", "2", "--ref", "x", "--key", "dev:5", *h)
        assert bad.returncode == 1 and "SRC_AREA:NONCE" in bad.stderr
        assert (
            sec("bgc", "confirm", "--area", "2", "--ref", "1:1", "--key", "dev:6", *h).returncode
            == 0
        )
        out = wait_status("dev:5", "30 SEC, completed")
        assert "area 2" in out and "30 SEC" in out

        deadline = time.time() + 60
        while True:
            st = sec("devnet", "status", "--home", str(home), "--json")
            assert st.returncode == 0, st.stderr
            data = json.loads(st.stdout)
            if all(a["anchored_height"] and a["anchored_height"] >= 3 for a in data["areas"]):
                break
            assert time.time() < deadline, data
            time.sleep(1)
        for area in data["areas"]:
            assert all(n["up"] and n["peers"] == 3 for n in area["nodes"]), area
            assert area["best_height"] >= area["anchored_height"] + 2  # anchors only final

        # the devnet's gateway indexed the trade and the anchors
        gw = data["gateway"]
        assert gw["up"] and gw["url"].startswith("http://127.0.0.1:")
        assert httpx.get(f"{gw['url']}/v1/orders/{order}").json()["status"] == "completed"
        deadline = time.time() + 30
        while True:
            areas = httpx.get(f"{gw['url']}/v1/areas").json()
            if [a["area_id"] for a in areas] == [1, 2] and all(
                a["anchored_height"] >= 3 for a in areas
            ):
                break
            assert time.time() < deadline, areas
            time.sleep(0.5)
        table = sec("devnet", "status", "--home", str(home))
        assert f"gateway {gw['url']} (indexed block" in table.stdout
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(60)
    output = up.stdout.read()
    assert up.returncode == 0, output[-2000:]
    assert "stopped" in output
    assert "gateway on http://127.0.0.1:" in output
    assert not [n for n, pid in pids.items() if alive(pid)]
    missing = sec("devnet", "status", "--home", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "no devnet" in missing.stderr
