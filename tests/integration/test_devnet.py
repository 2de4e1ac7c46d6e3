"""`sec devnet up` as a user runs it: anvil, contracts, two areas of four node processes, the
escrow bridge and anchor relayers; a trade on the chain becomes a record the buyer reads with
`sec area records`; `sec devnet status` shows heights and anchors; Ctrl-C stops everything."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from web3 import Web3

from sec_offchain.area.devnet_config import DevnetConfig
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deployment import Deployment
from sec_offchain.crypto.keys import get_dev_account

ROOT = Path(__file__).resolve().parents[2]


def sec(*args, timeout=60, env=None):
    return subprocess.run(
        [sys.executable, "-m", "sec_offchain.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_devnet__trade_to_record_to_anchor_and_clean_stop(tmp_path):
    home = tmp_path / "devnet"
    # an earlier devnet's leftovers, which --fresh deletes, and a file of the user's it keeps
    (home / "area9" / "node0").mkdir(parents=True)
    (home / "area9" / "node0" / "chain.db").write_text("stale")
    (home / "devnet.json").write_text("{}")
    (home / "notes.txt").write_text("mine")
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
            "--fresh",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    # drained as it comes: `sec devnet up` prints a table every 5 s, and a full pipe would
    # block it (and its Ctrl-C handling) on a slow machine
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(up.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.time() + 120
        while not (home / "pids.json").exists():
            assert up.poll() is None, "".join(lines)
            assert time.time() < deadline
            time.sleep(0.5)
        pids = json.loads((home / "pids.json").read_text())
        # nodes, bridges, anchor relayers and their standbys, BGC relayer, gateway
        assert len(pids) == 8 + 2 + 2 + 2 + 1 + 1
        assert not (home / "area9").exists() and (home / "notes.txt").read_text() == "mine"
        cfg = DevnetConfig.load(home / "devnet.json")
        suite = Suite(Web3(Web3.HTTPProvider(cfg.rpc)), Deployment.from_file(Path(cfg.deployments)))
        seller, buyer = get_dev_account(5), get_dev_account(6)
        listing, _ = suite.create_listing(seller, 10**16)
        order, _ = suite.buy(buyer, listing)
        suite.ship(seller, order, "T")
        suite.confirm(buyer, order)

        # the profile: the export lines printed, the file in the home, `sec --home` and
        # SEC_DEVNET give every command the devnet's home, chain and deployments
        profile = (home / "profile.env").read_text()
        exports = [
            f"export SEC_DEVNET={home.resolve()}",
            f"export SEC_RPC={cfg.rpc}",
            f"export SEC_DEPLOYMENT={Path(cfg.deployments).resolve()}",
        ]
        exported = [line for line in profile.splitlines() if line.startswith("export")]
        assert exported[:3] == exports and len(exported) == 4
        exports.append(exported[3])  # the gateway's URL, checked below
        assert f"#   dev:5 {seller.address} area 1" in profile  # the seller's area
        assert f"#   dev:6 {buyer.address} area 2" in profile  # the buyer's
        assert all(f"  {line}" in "".join(lines) for line in exports)
        deadline = time.time() + 60
        while True:
            out = sec("--home", str(home), "area", "records", "--key", "dev:6")
            if out.returncode == 0 and "completed" in out.stdout:
                break
            assert time.time() < deadline, out.stdout + out.stderr
            time.sleep(1)
        assert "0.01 ETH" in out.stdout
        other = sec("area", "records", "--key", "dev:7", env={"SEC_DEVNET": str(home)})
        assert other.returncode == 0 and "no records" in other.stdout

        # the whitepaper's cross-area purchase: buyer dev:6 pays from its area (2) for a
        # listing of seller dev:5, delivered to the seller's area (1) through BGC; ship;
        # confirm. The commands find the devnet from its profile (SEC_DEVNET).

        def psec(*args, **kw):
            return sec(*args, env={"SEC_DEVNET": str(home)}, **kw)

        assert (
            psec("bgc", "deposit", "--area", "2", "--amount", "100", "--key", "dev:6").returncode
            == 0
        )

        def wait_status(key, text, timeout=60):
            deadline = time.time() + timeout
            while True:
                out = psec("bgc", "status", "--key", key)
                if text in out.stdout:
                    return out.stdout
                assert time.time() < deadline, out.stdout + out.stderr
                time.sleep(1)

        wait_status("dev:6", "100 SEC")  # credited in area 2
        sent = psec(
            "bgc",
            "send",
            "--from-area",
            "2",
            "--to-area",
            "1",
            "--to",
            seller.address,
            "--amount",
            "30",
            "--listing",
            str(listing),
            "--key",
            "dev:6",
        )
        assert sent.returncode == 0, sent.stderr
        assert f"area 2 accepted transaction 1 of {buyer.address}" in sent.stdout
        wait_status("dev:5", "30 SEC, paid")  # delivered to area 1, held for the seller
        assert psec("bgc", "ship", "--area", "1", "--ref", "2:1", "--key", "dev:5").returncode == 0
        wait_status("dev:5", "30 SEC, shipped")
        bad = psec("bgc", "ship", "--area", "1", "--ref", "x", "--key", "dev:5")
        assert bad.returncode == 1 and "SRC_AREA:NONCE" in bad.stderr
        assert (
            psec("bgc", "confirm", "--area", "1", "--ref", "2:1", "--key", "dev:6").returncode == 0
        )
        out = wait_status("dev:5", "30 SEC, completed")
        assert "area 1" in out and "30 SEC" in out
        assert "tx 1 ship 2:1: applied in block " in out
        again = psec("bgc", "confirm", "--area", "1", "--ref", "2:1", "--key", "dev:6")
        assert (again.returncode, again.stderr.strip()) == (
            1,
            "error: payment 2:1 is completed, not paid or shipped: cannot confirm it",
        )
        # the seller takes 10 of its 30 SEC in area 1 home to the main chain
        wallet = suite.sec_balance(seller.address)
        out = psec("bgc", "withdraw", "--area", "1", "--amount", "10", "--key", "dev:5")
        assert out.returncode == 0, out.stderr
        deadline = time.time() + 120
        while suite.sec_balance(seller.address) != wallet + 10 * 10**18:
            assert time.time() < deadline, "the withdrawal was not paid out"
            time.sleep(1)
        view = json.loads(psec("bgc", "status", "--key", "dev:5", "--json").stdout)
        assert [(w["area"], w["nonce"], w["amount"], w["status"]) for w in view["withdrawals"]] == [
            ("1", "1", str(10 * 10**18), "paid out")
        ]
        assert [
            (m["src_area"], m["dst_area"], m["nonce"], m["amount"]) for m in view["messages"]
        ] == [("2", "1", "1", str(30 * 10**18))]
        area1 = next(v for v in view["ledgers"] if v["area"] == "1")
        assert (area1["balance"], area1["transactions_applied"]) == (str(20 * 10**18), 2)
        assert [(t["nonce"], t["kind"], t["status"]) for t in area1["transactions"]] == [
            (1, "ship", "applied"),
            (2, "withdraw", "applied"),
        ]

        deadline = time.time() + 60
        while True:
            st = sec("devnet", "status", "--home", str(home), "--json")
            assert st.returncode == 0, st.stderr
            data = json.loads(st.stdout)
            if all(a["anchored_height"] and a["anchored_height"] >= 3 for a in data["areas"]):
                break
            assert time.time() < deadline, data
            time.sleep(1)
        procs = {p["name"]: p for p in data["processes"]}
        assert {n: (procs[n]["pid"], procs[n]["up"], procs[n]["restarts"]) for n in pids} == {
            n: (pid, True, 0) for n, pid in pids.items()
        }
        for area in data["areas"]:
            assert all(n["up"] and n["peers"] == 3 for n in area["nodes"]), area
            assert area["best_height"] >= area["anchored_height"] + 2  # anchors only final

        # the devnet's gateway indexed the trade and the anchors
        gw = data["gateway"]
        assert gw["up"] and gw["url"].startswith("http://127.0.0.1:")
        assert exports[3] == f"export SEC_GATEWAY={gw['url']}"
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
        # the product's credit, proven against the anchored header, checked by sec verify
        # with nothing trusted from the gateway
        product = "0x" + listing.to_bytes(32, "big").hex()
        url = f"{gw['url']}/v1/products/{product}/credit?area={cfg.area_of(seller.address)}"
        deadline = time.time() + 60
        while (resp := httpx.get(url, timeout=30)).status_code != 200:
            assert time.time() < deadline, resp.text
            time.sleep(1)
        # the escrow trade and the cross-area purchase of the listing, both in its area
        assert resp.json()["credit"] == 2
        checked = sec("verify", url, env={"SEC_DEVNET": str(home)})  # chain, deployments: profile
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.startswith(f"verified: product {product} has credit 2 in area 1 ")
        table = sec("devnet", "status", "--home", str(home))
        assert f"gateway {gw['url']} (indexed block" in table.stdout
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(60)
    reader.join(10)
    output = "".join(lines)
    assert up.returncode == 0, output[-2000:]
    assert "stopped" in output
    assert "gateway on http://127.0.0.1:" in output
    assert not [n for n, pid in pids.items() if alive(pid)]
    missing = sec("devnet", "status", "--home", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "no devnet" in missing.stderr
