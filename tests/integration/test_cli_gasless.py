"""The gasless commands on anvil: `sec escrow post` signs without a transaction, a buyer with
SEC and no ETH buys through `sec relay sign` + `sec relay submit` (twice: one transaction),
confirms the same way, and the seller cancels the listing; bad links and wrong signers are one
line and a non-zero exit."""

import json
import re

import pytest
from eth_account import Account
from typer.testing import CliRunner

from sec_offchain.cli import app
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deploy import deploy_suite
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.devchain import Anvil

BUYER = Account.from_key(b"\x66" * 32)
BUYER_KEY = "0x" + (b"\x66" * 32).hex()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with Anvil() as node:
        deployment = deploy_suite(node.w3, get_dev_account(0), progress=lambda m: None)
        path = tmp_path_factory.mktemp("gasless") / "deployments.json"
        path.write_text(json.dumps(deployment.to_dict()))
        suite = Suite(node.w3, deployment)
        suite.tx(get_dev_account(2)).transact(
            suite.token.functions.transfer(BUYER.address, 500 * 10**18)
        )
        yield node, suite, path


def sec(*args, code=0):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_gasless_commands__post_buy_confirm_cancel(env, tmp_path):
    node, suite, path = env
    common = ["--rpc", node.url, "--deployment", str(path)]
    block = node.w3.eth.block_number
    out = sec(
        "escrow", "post", "--price", "158", "--token", "sec", "--quantity", "2",
        "--metadata", "scarf", "--key", "dev:1", "--out", str(tmp_path / "l.json"),
        "--gateway", "https://gw.example", *common,
    )  # fmt: skip
    assert node.w3.eth.block_number == block  # no transaction
    link = re.search(r"link: (sec://listing/\S+)", out).group(1)
    assert f"open: https://gw.example/l/{link.removeprefix('sec://listing/')}" in out
    assert (
        "listing signed by 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 (no transaction, 0 gas)"
        in out
    )
    assert "158 SEC, 2 order(s)" in out

    req = str(tmp_path / "buy.json")
    out = sec(
        "relay", "sign", "buy_signed", "--listing", link, "--key", BUYER_KEY, "--out", req, *common
    )
    assert "with a permit" in out
    relay = ["--key", "dev:7", "--db", str(tmp_path / "relay.db"), *common]
    out = sec("relay", "submit", req, *relay)
    assert re.search(r"mined: ok, [\d,]+ gas", out)
    sent = node.w3.eth.get_transaction_count(get_dev_account(7).address)
    assert re.search(r"mined: ok", sec("relay", "submit", req, *relay))
    assert node.w3.eth.get_transaction_count(get_dev_account(7).address) == sent
    order = suite.get_order(1)
    assert (order.buyer, order.status) == (BUYER.address, 1)

    sec("escrow", "ship", "1", "--key", "dev:1", *common)
    conf = str(tmp_path / "confirm.json")
    sec("relay", "sign", "confirm", "1", "--key", BUYER_KEY, "--out", conf, *common)
    sec("relay", "submit", conf, *relay)
    assert suite.get_order(1).status == 3
    assert node.w3.eth.get_balance(BUYER.address) == 0

    out = sec("escrow", "cancel-listing", "--listing", link, "--key", "dev:3", *common, code=1)
    assert "is not the seller (0x70997970C51812dc3A010C7d01b50e0d17dc79C8)" in out
    out = sec(
        "escrow", "cancel-listing", "--listing", str(tmp_path / "l.json"), "--key", "dev:1", *common
    )
    assert "cancelled after 1 order(s)" in out
    out = sec("escrow", "buy", "--listing", link, "--key", "dev:3", *common, code=1)
    assert "error: the seller cancelled this listing" in out
    out = sec("escrow", "buy", "--listing", link[:-6], "--key", "dev:3", *common, code=1)
    assert "error: listing link:" in out
    out = sec("relay", "submit", str(tmp_path / "l.json"), *relay, code=1)
    assert "is not a request file (no request and signature)" in out


def test_post__signs_without_loading_web3(env, tmp_path):
    """`sec escrow post` stays fast by never importing web3 (about a second to load)."""
    import subprocess
    import sys

    node, _, path = env
    script = (
        "import sys\n"
        "from sec_offchain.cli import app\n"
        "try:\n"
        f"    args = ['escrow', 'post', '--price', '1', '--no-qr', '--rpc', {node.url!r}]\n"
        "    app(args + ['--key', 'dev:1'], standalone_mode=False)\n"
        "finally:\n"
        "    print('web3 loaded:', 'web3' in sys.modules)\n"
    )
    deployments = tmp_path / "deployments"
    deployments.mkdir()
    (deployments / "31337.json").write_text(path.read_text())
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "listing signed by 0x70997970C51812dc3A010C7d01b50e0d17dc79C8" in proc.stdout
    assert proc.stdout.rstrip().endswith("web3 loaded: False")
