"""`sec areas` on anvil: trades completed through the escrow become a directory whose root is
published on chain; the report measures hash and relation areas on those trades; an
account's area is verified on chain; stale or missing previous directories are refused."""

import json
import subprocess
import sys

import pytest
from web3 import Web3

from sec_offchain.areas import AreaDirectory, hash_area
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deploy import SuiteParams, deploy_suite
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.devchain import Anvil

PRICE = 10**17
# two circles of friends: seller 1 with buyers 2 and 3, seller 4 with buyers 5 and 6
GROUPS = ((1, (2, 3)), (4, (5, 6)))
CROSS = (4, 2)  # buyer 2 also buys once from seller 4
# the workload's 16 trades (seed 3): 13 inside the buyer's circle; of all 25 trades on the
# chain, relation areas keep 21 inside one area: the 8 of GROUPS and the 13 in-circle ones
# (each circle in one area, the three trades between circles cross)
WORKLOAD_LOCAL = 13
WORKLOAD_RELATION = 21


def sec(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "sec_offchain.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def addr(i: int) -> str:
    return get_dev_account(i).address.lower()


@pytest.fixture(scope="module")
def chain_with_trades(tmp_path_factory):
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        deployment = deploy_suite(w3, get_dev_account(0), SuiteParams(use_court=False))
        path = tmp_path_factory.mktemp("areas") / "deployments.json"
        deployment.save(path)
        suite = Suite(w3, deployment)
        listings = {}
        for seller, _ in GROUPS:
            listings[seller], _ = suite.create_listing(get_dev_account(seller), PRICE)
        pairs = [(s, b) for s, buyers in GROUPS for b in buyers for _ in range(2)] + [CROSS]
        for seller, buyer in pairs:
            order, _ = suite.buy(get_dev_account(buyer), listings[seller])
            suite.ship(get_dev_account(seller), order)
            suite.confirm(get_dev_account(buyer), order)
        yield node.url, path, pairs


def test_areas__plan_publish_report_lookup__on_live_trades(chain_with_trades, tmp_path):
    rpc, deployment, pairs = chain_with_trades
    common = ("--rpc", rpc, "--deployment", str(deployment))
    out = tmp_path / "epoch1.json"

    plan = sec("areas", "plan", "--areas", "1,2", "--out", str(out), "--publish", "--json", *common)
    summary = json.loads(plan.stdout)
    book = AreaDirectory.load(json.loads(out.read_text()))
    assert summary["epoch"] == 1 and summary["published"] is True
    assert summary["root"] == "0x" + book.root.hex()
    assert summary["accounts"] == 6 and summary["moves"] == []
    assert summary["live relations"] == 5 and summary["sizes"] == {"1": 3, "2": 3}
    # each circle of friends in one area, the two circles in different areas
    first = {book.area_of(addr(i)) for i in (1, 2, 3)}
    second = {book.area_of(addr(i)) for i in (4, 5, 6)}
    assert len(first) == 1 and len(second) == 1 and first != second

    report = sec("areas", "report", "--directory", str(out), "--json", *common)
    hash_in = sum(hash_area(addr(s), (1, 2)) == hash_area(addr(b), (1, 2)) for s, b in pairs)
    assert json.loads(report.stdout) == {
        "trades": 9,
        "areas": [1, 2],
        "hash": {"intra_area": hash_in, "percent": round(100 * hash_in / 9, 1)},
        "relation": {
            "intra_area": 8,
            "percent": 88.9,
            "source": "directory of epoch 1 (published)",
        },
    }

    lookup = sec("areas", "lookup", "dev:5", "--directory", str(out), *common)
    entry = json.loads(lookup.stdout)
    assert entry["epoch"] == 1 and entry["verified"] is True
    assert entry["account"] == get_dev_account(5).address
    assert entry["area_id"] == book.area_of(addr(5))

    # the next epoch must start from the published directory
    missing = sec("areas", "plan", *common, check=False)
    assert missing.returncode == 1 and missing.stdout == ""
    assert (
        missing.stderr.strip() == "error: epoch 1 is published: pass its directory with --previous"
    )
    again = sec("areas", "plan", "--previous", str(out), "--json", *common)
    assert json.loads(again.stdout)["epoch"] == 2 and json.loads(again.stdout)["moves"] == []

    forged = json.loads(out.read_text())
    forged["root"] = "0x" + "11" * 32
    bad = tmp_path / "forged.json"
    bad.write_text(json.dumps(forged))
    refused = sec("areas", "plan", "--previous", str(bad), *common, check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"error: directory {bad}: malformed directory: the root does not match its entries"
    )


def test_areas__bad_input__one_line_error_and_nothing_published(chain_with_trades, tmp_path):
    rpc, deployment, _ = chain_with_trades
    common = ("--rpc", rpc, "--deployment", str(deployment))
    cases = {
        (
            "plan",
            "--areas",
            "1,x",
        ): "error: --areas: '1,x' is not a comma-separated list of area ids",
        ("plan", "--areas", "1,1"): "error: --areas: '1,1': distinct area ids from 1 to "
        "18446744073709551615",
        ("report", "--directory", str(tmp_path / "none.json")): "error: cannot read directory "
        f"{tmp_path / 'none.json'}: No such file or directory",
    }
    w3 = Web3(Web3.HTTPProvider(rpc))
    data = json.loads(deployment.read_text())["contracts"]["AreaDirectory"]
    directory = w3.eth.contract(address=data["address"], abi=data["abi"])
    before = (directory.functions.latest_epoch().call(), w3.eth.block_number)
    for args, message in cases.items():
        proc = sec("areas", *args, *common, check=False)
        assert (proc.returncode, proc.stdout, proc.stderr.strip()) == (1, "", message)
    # no transaction was sent
    assert (directory.functions.latest_epoch().call(), w3.eth.block_number) == before


def test_areas__scripted_workload__report_shows_relation_areas_on_real_events(chain_with_trades):
    """The devnet workload (circles of friends trading mostly inside their circle, through
    the Escrow) on the same chain: the report of a directory computed from the chain's
    completed trades keeps far more of them inside one area than address hashing."""
    from sec_offchain.areas.workload import WorkloadParams, plan_trades, run_workload
    from sec_offchain.contracts.deployment import Deployment

    rpc, deployment, pairs = chain_with_trades
    params = WorkloadParams(communities=2, size=4, sellers=1, trades=16, seed=3)
    planned = plan_trades(params)
    assert planned == plan_trades(params)  # the same trades for the same seed
    assert (
        sum(s in params.members(0) for s, b in planned if b in params.members(0))
        + sum(s in params.members(1) for s, b in planned if b in params.members(1))
        == WORKLOAD_LOCAL
    )
    suite = Suite(Web3(Web3.HTTPProvider(rpc)), Deployment.from_file(deployment))
    done = run_workload(suite, params)
    assert done == [
        (get_dev_account(s).address.lower(), get_dev_account(b).address.lower()) for s, b in planned
    ]
    every = [(addr(s), addr(b)) for s, b in pairs] + done
    ids = (1, 2)
    hash_in = sum(hash_area(s, ids) == hash_area(b, ids) for s, b in every)
    report = sec(
        "areas", "report", "--areas", "1,2", "--json", "--rpc", rpc, "--deployment", str(deployment)
    )
    assert json.loads(report.stdout) == {
        "trades": 25,
        "areas": [1, 2],
        "hash": {"intra_area": hash_in, "percent": round(100 * hash_in / 25, 1)},
        "relation": {
            "intra_area": WORKLOAD_RELATION,
            "percent": round(100 * WORKLOAD_RELATION / 25, 1),
            "source": "directory computed now from these trades",
        },
    }
