"""The whole suite on anvil (a real JSON-RPC node the test starts itself): `sec deploy
--rpc` writes the deployments file, and a trade runs through `sec escrow ...` commands,
with one-line errors and non-zero exits for bad input."""

import json
import os
import re
import subprocess
import sys

import pytest
from web3 import Web3

from sec_offchain.contracts import SUITE
from sec_offchain.devchain import Anvil


def sec(*args, check=True, env=None):
    proc = subprocess.run(
        [sys.executable, "-m", "sec_offchain.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=None if env is None else {**os.environ, **env},
    )
    if check:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


@pytest.fixture(scope="module")
def node():
    with Anvil() as anvil:
        yield anvil


@pytest.fixture(scope="module")
def deployment_file(node, tmp_path_factory):
    out = tmp_path_factory.mktemp("deploy") / "deployments.json"
    sec("deploy", "--rpc", node.url, "--out", str(out))
    return out


def test_deploy__rpc__deployments_file_has_every_contract_with_code_and_abi(node, deployment_file):
    data = json.loads(deployment_file.read_text())
    assert data["chain_id"] == 31337
    assert data["deployer"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert data["block"] >= 1
    assert set(data["contracts"]) == set(SUITE)
    assert {
        "Escrow",
        "TrustIndex",
        "SECToken",
        "Vesting",
        "ShareRewards",
        "Staking",
        "Court",
        "AnchorHub",
    } <= set(SUITE)
    for name, rec in data["contracts"].items():
        assert len(node.w3.eth.get_code(rec["address"])) > 0, name
        assert any(item.get("type") == "function" for item in rec["abi"]), name
    params = data["params"]
    assert params["guardian"] == data["deployer"]
    assert (params["default_auto_complete"], params["dispute_deposit_bps"]) == (7 * 86_400, 200)
    assert params["faucet"] is True
    # The faucet gave each of the first ten test accounts 1,000,000 SEC.
    token = node.w3.eth.contract(
        address=data["contracts"]["SECToken"]["address"], abi=data["contracts"]["SECToken"]["abi"]
    )
    assert token.functions.balanceOf("0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc").call() == 10**24


def test_escrow_commands__whole_trade(node, deployment_file):
    common = ["--rpc", node.url, "--deployment", str(deployment_file)]
    out = sec(
        "escrow", "create", "--price", "0.158", "--metadata", "wallet", "--key", "dev:1", *common
    ).stdout
    listing_id = int(re.search(r"listing (\d+) created", out).group(1))
    assert f"/buy?uint256={listing_id}&uint256=0&value=158000000000000000" in out
    out = sec("escrow", "buy", str(listing_id), "--key", "dev:2", *common).stdout
    order_id = int(re.search(r"order (\d+) paid", out).group(1))
    sec("escrow", "ship", str(order_id), "--tracking", "SF123", "--key", "dev:1", *common)
    sec("escrow", "confirm", str(order_id), "--key", "dev:2", *common)
    status = sec("escrow", "status", str(order_id), *common).stdout
    assert "completed" in status and "0.158 ETH" in status

    again = sec("escrow", "confirm", str(order_id), "--key", "dev:2", *common, check=False)
    assert again.returncode == 1
    assert again.stderr.strip() == (
        f"error: order {order_id} is completed, not paid or shipped: cannot confirm it"
    )
    assert again.stdout == ""


def test_escrow_commands__bad_input__one_line_error_and_nonzero_exit(
    node, deployment_file, tmp_path
):
    common = ["--rpc", node.url, "--deployment", str(deployment_file)]
    missing = sec(
        "escrow",
        "status",
        "1",
        "--rpc",
        node.url,
        "--deployment",
        str(tmp_path / "nope.json"),
        check=False,
    )
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"error: deployments file not found: {tmp_path / 'nope.json'}"

    bad_price = sec("escrow", "create", "--price", "-1", "--key", "dev:1", *common, check=False)
    assert bad_price.returncode == 1 and bad_price.stderr.count("\n") == 1
    assert "amount must be positive" in bad_price.stderr

    bad_window = sec(
        "escrow",
        "create",
        "--price",
        "1",
        "--auto-complete",
        "10s",
        "--key",
        "dev:1",
        *common,
        check=False,
    )
    assert bad_window.stderr.strip() == "error: reverted: escrow: auto-complete out of range"

    no_node = sec(
        "escrow",
        "status",
        "1",
        "--rpc",
        "http://127.0.0.1:9",
        "--deployment",
        str(deployment_file),
        check=False,
    )
    assert no_node.returncode == 1 and no_node.stderr.startswith(
        "error: cannot reach a node at http://127.0.0.1:9"
    )

    nothing = sec("escrow", "withdraw", "--key", "dev:7", *common, check=False)
    assert nothing.stderr.strip() == "error: reverted: escrow: nothing owed"


def test_account_new__the_stored_account_signs_a_listing(node, deployment_file, tmp_path):
    """An account made by `sec account new` (a fresh key, no dev:N) and funded with ETH
    creates a listing with `--account`: the listing's seller is that account."""
    from sec_offchain.contracts.client import Suite
    from sec_offchain.contracts.deployment import Deployment
    from sec_offchain.crypto.keys import get_dev_account
    from tests.fixtures.cli import run_sec

    env = {"SEC_HOME": str(tmp_path / "home"), "SEC_KEYSTORE_SCRYPT_N": "1024"}
    (tmp_path / "pw").write_text("seller's password\n")
    made = run_sec(
        "account", "new", "seller", "--password-file", str(tmp_path / "pw"), "--json", env=env
    )
    assert made.returncode == 0, made.stderr
    seller = json.loads(made.stdout)["address"]
    suite = Suite(node.w3, Deployment.from_file(deployment_file))
    suite.tx(get_dev_account(0)).send_value(seller, 10**18)
    common = ["--rpc", node.url, "--deployment", str(deployment_file)]
    out = sec(
        "escrow",
        "create",
        "--price",
        "0.5",
        "--no-qr",
        "--account",
        "seller",
        *common,
        env=env | {"SEC_PASSWORD": "seller's password", "SEC_KEY": ""},
    ).stdout
    listing_id = int(re.search(r"listing (\d+) created", out).group(1))
    listing = suite.get_listing(listing_id)
    assert (listing.seller, listing.price) == (seller, 5 * 10**17)
    assert node.w3.eth.get_transaction_count(seller) == 1


def test_cancel_by_time__anyone_after_ship_window(node, deployment_file):
    from sec_offchain.contracts.client import Suite
    from sec_offchain.contracts.deployment import Deployment
    from sec_offchain.crypto.keys import get_dev_account

    suite = Suite(node.w3, Deployment.from_file(deployment_file))
    listing_id, _ = suite.create_listing(get_dev_account(3), 10**17, ship_window=3600)
    order_id, _ = suite.buy(get_dev_account(4), listing_id)
    order = suite.get_order(order_id)
    common = ["--rpc", node.url, "--deployment", str(deployment_file)]
    early = sec("escrow", "cancel", str(order_id), "--key", "dev:5", *common, check=False)
    assert early.stderr.strip() == "error: reverted: escrow: ship window still open"
    node.set_next_timestamp(order.ship_by)
    node.mine()
    buyer_before = node.w3.eth.get_balance(get_dev_account(4).address)
    sec("escrow", "cancel", str(order_id), "--key", "dev:5", *common)
    assert node.w3.eth.get_balance(get_dev_account(4).address) == buyer_before + 10**17
    assert Web3.to_checksum_address(suite.get_order(order_id).buyer) == get_dev_account(4).address


def test_deploy__needs_exactly_one_target():
    proc = sec("deploy", check=False)
    assert proc.returncode == 2
    assert "give exactly one of --rpc URL or --network CHOICE" in proc.stderr


def test_share_and_judge_commands__shared_sale_and_panel_ruling(node, deployment_file):
    from sec_offchain.crypto.keys import get_dev_account

    common = ["--rpc", node.url, "--deployment", str(deployment_file)]
    out = sec("escrow", "create", "--price", "1", "--no-qr", "--key", "dev:1", *common).stdout
    listing_id = re.search(r"listing (\d+) created", out).group(1)

    def order(key, *extra):
        out = sec("escrow", "buy", listing_id, *extra, "--key", key, *common).stdout
        return re.search(r"order (\d+) paid", out).group(1)

    first = order("dev:2")
    sec("escrow", "confirm", first, "--key", "dev:2", *common)
    out = sec("share", "create", first, "--key", "dev:2", *common).stdout
    share_id = re.search(r"share (\d+) of listing", out).group(1)
    assert f"&uint256={share_id}&value=" in out
    shared = order("dev:3", "--share", share_id)
    sharer = get_dev_account(2).address
    sharer_before = node.w3.eth.get_balance(sharer)
    sec("escrow", "ship", shared, "--key", "dev:1", *common)
    sec("escrow", "confirm", shared, "--key", "dev:3", *common)
    # 2 % of 1 ETH out of the seller's proceeds, pushed to the sharer at completion.
    assert node.w3.eth.get_balance(sharer) == sharer_before + 2 * 10**16
    status = sec("share", "status", share_id, *common).stdout
    assert re.search(r"purchases rewarded\s+│\s+1\b", status), status
    assert re.search(r"commissions paid\s+│\s+0\.02 ETH", status), status
    assert re.search(r"pool bonus to claim\s+│\s+0 SEC", status), status
    nothing = sec("share", "claim", "--key", "dev:2", *common, check=False)
    assert nothing.returncode == 1
    assert nothing.stderr.strip() == (
        "error: nothing to claim: commissions are paid when each shared purchase completes; "
        "only pool bonuses wait here"
    )

    keys = {get_dev_account(i).address: f"dev:{i}" for i in range(10)}

    def keys_of(address):
        return keys[address]

    for i in (6, 7, 8, 9):
        sec("judge", "stake", "--amount", "1000", "--key", f"dev:{i}", *common)
    disputed = order("dev:4")
    sec("escrow", "ship", disputed, "--key", "dev:1", *common)
    sec("escrow", "dispute", disputed, "--evidence", "fake logo", "--key", "dev:4", *common)
    from sec_offchain.contracts.client import Suite
    from sec_offchain.contracts.deployment import Deployment

    suite = Suite(node.w3, Deployment.from_file(deployment_file))
    case_id = suite.case_of(int(disputed))
    draw_block = suite.draw_block(case_id)
    assert draw_block == node.w3.eth.block_number + 5  # DRAW_DELAY after the dispute's block
    cases = json.loads(sec("judge", "cases", "--json", *common).stdout)
    assert cases == [
        {
            "case": str(case_id),
            "order": disputed,
            "draw_block": draw_block,
            "drawn": False,
            "panel": [],
            "votes": [],
            "vote_deadline": 0,
            "executed": False,
            "ruling": 0,
        }
    ]
    early = sec("judge", "draw", str(case_id), "--key", "dev:5", *common, check=False)
    assert early.returncode == 1
    assert early.stderr.strip() == (
        f"error: too early: case {case_id} is drawn from the hash of block {draw_block}; "
        f"the chain is at block {draw_block - 5}"
    )
    before_draw = sec(
        "judge", "vote", str(case_id), "--ruling", "buyer", "--key", "dev:6", *common, check=False
    )
    assert before_draw.stderr.strip() == "error: reverted: court: panel not drawn yet"
    node.mine_blocks(5)  # the draw runs in the next block, the first after draw_block
    out = sec("judge", "draw", str(case_id), "--key", "dev:5", *common).stdout
    panel = suite.panel_of(case_id)
    assert out.startswith(f"case {case_id} panel: {', '.join(panel)}; votes until ")
    twice = sec("judge", "draw", str(case_id), "--key", "dev:5", *common, check=False)
    assert twice.stderr.strip() == f"error: case {case_id} is already drawn"
    drawn_at = node.w3.eth.get_block("latest")["timestamp"]
    cases = json.loads(
        sec("judge", "cases", "--judge", keys_of(panel[0]), "--json", *common).stdout
    )
    assert [(c["case"], c["panel"], c["votes"], c["vote_deadline"]) for c in cases] == [
        (str(case_id), panel, [0, 0, 0], drawn_at + 3 * 86_400)
    ]
    table = sec("judge", "cases", *common).stdout
    assert f"{panel[0][:10]}(-)" in table and "(3d left)" in table, table
    nobody = json.loads(sec("judge", "cases", "--judge", "dev:1", "--json", *common).stdout)
    assert nobody == []
    garbage = sec("judge", "cases", "--judge", "judy", *common, check=False)
    assert garbage.returncode == 1
    assert garbage.stderr.strip() == (
        "error: --judge must be a 0x address of 40 hex digits, not 'judy'"
    )
    assert len(panel) == 3 and get_dev_account(4).address not in panel
    outsider = next(
        k for a, k in keys.items() if a not in panel and k in ("dev:6", "dev:7", "dev:8", "dev:9")
    )
    refused = sec(
        "judge", "vote", str(case_id), "--ruling", "buyer", "--key", outsider, *common, check=False
    )
    assert refused.stderr.strip() == "error: reverted: court: caller is not on the panel"
    locked = sec(
        "judge", "withdraw", "--amount", "1000", "--key", keys[panel[0]], *common, check=False
    )
    assert locked.stderr.strip() == "error: reverted: staking: judge is on an open case"
    for judge in panel[:2]:
        sec("judge", "vote", str(case_id), "--ruling", "buyer", "--key", keys[judge], *common)
    out = sec("judge", "execute", str(case_id), "--key", "dev:5", *common).stdout
    assert out.startswith(f"case {case_id} executed with ruling 1")
    assert "ruled" in sec("escrow", "status", disputed, *common).stdout
    sec("judge", "withdraw", "--amount", "1000", "--key", keys[panel[0]], *common)
    bad = sec(
        "judge", "vote", str(case_id), "--ruling", "maybe", "--key", "dev:6", *common, check=False
    )
    assert bad.returncode == 2 and "--ruling must be buyer or seller" in bad.stderr


def test_stake_area_and_report_commands__anchor_then_slash(node, deployment_file, tmp_path):
    from sec_offchain.consensus.evidence import Evidence
    from sec_offchain.crypto.keys import get_dev_account
    from sec_offchain.encoding.area_header import AreaHeader, hash_area_header, sign_digest

    common = ["--rpc", node.url, "--deployment", str(deployment_file)]
    protection = ["--protection-dir", str(tmp_path / "protect")]
    for i in (6, 7, 8):
        out = sec(
            "stake", "validator", "--area", "7", "--amount", "100000", "--key", f"dev:{i}", *common
        )
        assert "validator stake in area 7: 100000 SEC" in out.stdout
        assert "100000 SEC pending: counts for quorum from " in out.stdout
        assert "(in 1d); then run `sec stake activate`" in out.stdout
    from sec_offchain.cli.common import format_time, format_wait
    from sec_offchain.contracts.client import Suite
    from sec_offchain.contracts.deployment import Deployment

    suite = Suite(node.w3, Deployment.from_file(deployment_file))
    first = get_dev_account(6).address
    activates_at = suite.activates_at(first)
    latest = node.w3.eth.get_block("latest")["timestamp"]
    early = sec("stake", "activate", "--key", "dev:6", *common, check=False)
    assert early.returncode == 1
    assert early.stderr.strip() == (
        f"error: {first}'s pending stake activates at {format_time(activates_at)} "
        f"(in {format_wait(activates_at - latest)})"
    )
    bad = sec("stake", "activate", "--validator", "0x1234", *common, check=False)
    assert bad.returncode == 1
    assert (
        bad.stderr.strip()
        == "error: --validator must be a 0x address of 40 hex digits, not '0x1234'"
    )
    node.w3.provider.make_request("evm_increaseTime", [86_400])
    node.mine()
    for i in (6, 7, 8):
        who = get_dev_account(i).address
        out = sec("stake", "activate", "--key", f"dev:{i}", *common)
        assert out.stdout.startswith(f"activated 100000 SEC of {who}: quorum weight 100000 SEC")
    none = sec("stake", "activate", "--key", "dev:6", *common, check=False)
    assert (
        none.stderr.strip()
        == f"error: {get_dev_account(6).address} has no pending stake to activate"
    )
    header = ["--area", "7", "--tx-root", "records-1", "--timestamp", "1700000000", *protection]
    short = sec("area", "anchor", *header, "--signer-keys", "dev:6,dev:7", *common, check=False)
    assert short.stderr.strip() == (
        "error: not enough stake: the signers hold 200000 SEC of 300000 SEC active in area 7; "
        "more than 2/3 is needed"
    )
    # Nothing was signed: the same header with a quorum anchors.
    out = sec("area", "anchor", *header, "--signer-keys", "dev:6,dev:7,dev:8", *common)
    assert out.stdout.startswith("anchored area 7 height 1 with 3 signatures")
    # The next header anchors at height 2 on top of it (refusals of a second, different header
    # at a signed height are covered in tests/offchain/test_signer.py).
    other = ["--area", "7", "--tx-root", "other", "--timestamp", "1700000001", *protection]
    sec("area", "anchor", *other, "--signer-keys", "dev:6,dev:7,dev:8", *common)
    status = sec("area", "status", "--area", "7", *common).stdout
    assert re.search(r"anchored height\s+│\s+2\b", status), status

    deployment = json.loads(deployment_file.read_text())
    hub = deployment["contracts"]["AnchorHub"]["address"]
    culprit = get_dev_account(8)
    a = AreaHeader(7, 50, tx_root=b"\xaa" * 32)
    b = AreaHeader(7, 50, tx_root=b"\xbb" * 32)
    evidence = Evidence(
        a,
        sign_digest(culprit.key, hash_area_header(a, 31337, hub)),
        b,
        sign_digest(culprit.key, hash_area_header(b, 31337, hub)),
        culprit.address,
    ).save(tmp_path / "evidence.json")
    sec("judge", "stake", "--amount", "1000", "--key", "dev:5", *common)
    out = sec("judge", "report", "--evidence", str(evidence), "--key", "dev:5", *common).stdout
    assert out.startswith(
        f"validator {culprit.address} slashed 50000 SEC: 5000 SEC burned, bounty 10000 SEC"
    )
    again = sec(
        "judge", "report", "--evidence", str(evidence), "--key", "dev:5", *common, check=False
    )
    assert again.stderr.strip() == "error: reverted: staking: offence already slashed"
    assert (
        "claimable: 10000 SEC"
        in sec("stake", "rewards", "--claim", "--key", "dev:5", *common).stdout
    )

    validator = get_dev_account(7).address
    out = sec(
        "stake", "nominate", "--validator", validator, "--amount", "5000", "--key", "dev:9", *common
    ).stdout
    assert out.startswith(f"your nomination of {validator}: 5000 SEC")
    out = sec(
        "stake",
        "nominate",
        "--validator",
        validator,
        "--amount",
        "2000",
        "--undo",
        "--key",
        "dev:9",
        *common,
    )
    assert out.stdout.startswith(f"your nomination of {validator}: 3000 SEC")
    out = sec("stake", "unbond", "--amount", "100000", "--key", "dev:6", *common).stdout
    release = suite.call(suite.staking.functions.unbonding_release(first))
    now = node.w3.eth.get_block("latest")["timestamp"]
    assert out.startswith(
        f"unbonding 100000 SEC until {format_time(release)} (in {format_wait(release - now)})"
    )
    from tests.fixtures.cli import run_sec

    status = json.loads(run_sec("stake", "status", "dev:6", "--json", *common).stdout)
    assert status == {
        "account": first,
        "area": "7",
        "validator_stake": "0",
        "pending": "0",
        "activates_at": 0,
        "pool_weight": "0",
        "ejected": False,
        "unbonding": str(100_000 * 10**18),
        "unbonding_release": release,
        "judge_stake": str(suite.call(suite.staking.functions.judge_stake(first))),
        "claimable": str(suite.call(suite.staking.functions.claimable(first))),
    }
    area = json.loads(run_sec("area", "status", "--area", "7", "--json", *common).stdout)
    hub = suite.anchor_hub.functions
    assert area == {
        "area": "7",
        "anchored_height": 2,
        "latest_header": "0x" + bytes(hub.anchored_hash(7, 2).call()).hex(),
        "bonded_stake": str(suite.call(suite.staking.functions.area_stake(7))),
        "validators": [
            {"address": v, "stake": str(suite.call(suite.staking.functions.validator_stake(v)))}
            for v in suite.call(suite.staking.functions.validators_of(7))
        ],
    }
    assert area["latest_header"] != "0x" + "00" * 32
    assert area["validators"] == [{"address": get_dev_account(7).address, "stake": str(10**23)}]
    early = sec("stake", "withdraw", "--key", "dev:6", *common, check=False)
    assert early.stderr.strip() == "error: reverted: staking: still unbonding"
    missing = sec(
        "judge",
        "report",
        "--evidence",
        str(tmp_path / "none.json"),
        "--key",
        "dev:5",
        *common,
        check=False,
    )
    assert missing.stderr.strip() == f"error: evidence file not found: {tmp_path / 'none.json'}"


def test_json_views__order_listing_orders_trust_share__one_shape(node, deployment_file):
    """`--json` on the read commands: ids and amounts as strings, addresses checksummed,
    times exact; the values are the chain's. Run in this process (the entry point itself is
    covered by the subprocess tests above)."""
    from sec_offchain.cli.common import format_time
    from sec_offchain.contracts.client import Suite
    from sec_offchain.contracts.deployment import Deployment
    from sec_offchain.crypto.keys import get_dev_account
    from tests.fixtures.cli import run_sec

    suite = Suite(node.w3, Deployment.from_file(deployment_file))
    seller, buyer = get_dev_account(3), get_dev_account(9)
    common = ["--rpc", node.url, "--deployment", str(deployment_file)]
    listing_id, _ = suite.create_listing(seller, 3 * 10**17, ship_window=3600)
    order_id, _ = suite.buy(buyer, listing_id)
    suite.ship(seller, order_id, "T1")
    shipped = suite.get_order(order_id)

    def view(*argv):
        r = run_sec(*argv, "--json", *common)
        assert r.returncode == 0 and r.stderr == "", r
        return json.loads(r.stdout)

    order_json = {
        "order": str(order_id),
        "status": "shipped",
        "listing": str(listing_id),
        "buyer": buyer.address,
        "seller": seller.address,
        "token": "0x0000000000000000000000000000000000000000",
        "symbol": "ETH",
        "price": str(3 * 10**17),
        "share": "0",
        "ship_by": shipped.ship_by,
        "deadline": shipped.deadline,
        "dispute_deposit": "0",
    }
    assert (shipped.ship_by, shipped.deadline > 0) == (0, True)  # ship_by clears at shipping
    assert view("escrow", "status", str(order_id)) == order_json
    human = run_sec("escrow", "status", str(order_id), *common).stdout
    when = format_time(shipped.deadline)
    assert re.search(rf"deadline\s+│\s+{when} \(in 7d\)", human), human
    assert view("escrow", "orders", "--buyer", "dev:9", "--status", "shipped") == [order_json]
    assert view("escrow", "status", "--listing", str(listing_id)) == {
        "listing": str(listing_id),
        "seller": seller.address,
        "token": "0x0000000000000000000000000000000000000000",
        "symbol": "ETH",
        "price": str(3 * 10**17),
        "auto_complete": 7 * 86_400,
        "ship_window": 3600,
        "open": True,
    }
    suite.confirm(buyer, order_id)
    confirmed_at = node.w3.eth.get_block("latest")["timestamp"]
    relation = suite.get_relation(seller.address, buyer.address)
    trust = view("trust", "dev:3", "--with", "dev:9")
    assert trust == {
        "account": seller.address,
        "trust_index": suite.trust_of(seller.address),
        "status": ["new", "active", "disabled"][
            suite.call(suite.trust.functions.status_of(seller.address))
        ],
        "trades": suite.trades_of(seller.address),
        # dev:3 sells in other tests of this module too (one of them cancels): the chain counts
        "failures": suite.call(suite.trust.functions.failures_of(seller.address)),
        "relation": {
            "with": buyer.address,
            "trades": 1,
            "last_trade": confirmed_at,
            "last_trust_gain": relation.last_gain,
            "live": True,
        },
    }
    share_id, _ = suite.share(buyer, order_id)
    created = node.w3.eth.get_block("latest")["timestamp"]
    assert view("share", "status", str(share_id)) == {
        "share": str(share_id),
        "sharer": buyer.address,
        "listing": str(listing_id),
        "created": created,
        "expires": created + 72 * 3600,
        "open": True,
        "purchases_rewarded": 0,
        "commissions": [],
        "pool_bonus_claimable": str(suite.share_claimable(buyer.address)),
    }
