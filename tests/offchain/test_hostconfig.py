"""Host config files (`sec node run --config` and the others): peers by address, the key from
a keystore by name or a key file, every mistake one ConfigError naming it; the CLI turns it
into one line on stderr and exit 1."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from eth_account import Account

from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.exceptions import ConfigError
from sec_offchain.hostconfig import load_host_config, parse_peer

ROOT = Path(__file__).resolve().parents[2]
NODE = get_dev_account(111)
OTHER = get_dev_account(112)
DEPLOYMENTS = {
    "chain_id": 31337,
    "deployer": "0x" + "00" * 20,
    "block": 7,
    "contracts": {
        name: {"address": "0x" + f"{i:040x}", "abi": []}
        for i, name in enumerate(("AnchorHub", "Escrow", "TrustIndex"), start=1)
    },
}


def write(tmp_path: Path, body: str, deployments=DEPLOYMENTS) -> Path:
    (tmp_path / "deployments.json").write_text(json.dumps(deployments))
    (tmp_path / "node.key").write_text("0x" + NODE.key.hex() + "\n")
    path = tmp_path / "node.toml"
    path.write_text(body)
    return path


BASE = f"""
rpc = "http://127.0.0.1:1"
chain_id = 31337
deployments = "deployments.json"
interval = 1.5
genesis_time = 1000
[[areas]]
id = 3
nodes = ["{NODE.address}@10.0.0.2:30301", "{OTHER.address}@10.0.0.3:30302"]
[node]
area = 3
"""


def test_load__key_file_and_peers__the_devnet_view_processes_run_on(tmp_path):
    host = load_host_config(write(tmp_path, 'key_file = "node.key"\n' + BASE))
    assert host.address == NODE.address and host.key == bytes(NODE.key)
    cfg = host.devnet
    assert (cfg.chain_id, cfg.interval, cfg.anchor_hub) == (31337, 1.5, "0x" + f"{1:040x}")
    nodes = cfg.area(3).nodes
    assert [(n.address, n.host, n.port) for n in nodes] == [
        (NODE.address, "10.0.0.2", 30301),
        (OTHER.address, "10.0.0.3", 30302),
    ]
    assert nodes[0].key == bytes(NODE.key) and nodes[1].key_hex == ""  # only its own key
    assert cfg.extra["start_block"] == 7 and cfg.extra["genesis_time"] == 1000
    assert cfg.confirmations == 2 and host.section("node") == {"area": 3}
    assert cfg.directory_folder == tmp_path / "data" / "areas"  # the published directories
    other = load_host_config(write(tmp_path, 'key_file = "node.key"\nareas_dir = "dirs"\n' + BASE))
    assert other.devnet.directory_folder == tmp_path / "dirs"


def test_load__keystore_by_name_under_sec_home(tmp_path, monkeypatch):
    home = tmp_path / "sechome"
    (home / "validators").mkdir(parents=True)  # where `sec account new --validator` keeps it
    (home / "validators" / "n1.json").write_text(
        json.dumps(Account.encrypt(NODE.key, "pw", kdf="pbkdf2", iterations=1_000))
    )
    (tmp_path / "pw.txt").write_text("pw\n")
    monkeypatch.setenv("SEC_HOME", str(home))
    host = load_host_config(write(tmp_path, 'keystore = "n1"\npassword_file = "pw.txt"\n' + BASE))
    assert host.key == bytes(NODE.key)
    with pytest.raises(
        ConfigError, match=r"^no keystore named 'n2' in .*validators or .*accounts$"
    ):
        load_host_config(write(tmp_path, 'keystore = "n2"\npassword_file = "pw.txt"\n' + BASE))
    (tmp_path / "pw.txt").write_text("wrong\n")
    with pytest.raises(ConfigError, match=r"^keystore .*n1.json: MAC mismatch"):
        load_host_config(write(tmp_path, 'keystore = "n1"\npassword_file = "pw.txt"\n' + BASE))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (BASE, "^the config names no key: keystore = NAME or key_file = PATH$"),
        ('key_file = "node.key"\nrpc = "x"\n', "^config file .*node.toml: missing 'deployments'$"),
        (
            'key_file = "node.key"\n' + BASE.replace("@10.0.0.2:30301", "@10.0.0.2"),
            r"^node '0x.*@10.0.0.2' is not 0xADDRESS@HOST:PORT$",
        ),
        (
            'key_file = "node.key"\n' + BASE.replace(":30302", ":70000"),
            r"^node '0x.*@10.0.0.3:70000' is not 0xADDRESS@HOST:PORT$",
        ),
        ('key_file = "missing.key"\n' + BASE, "^key_file .*missing.key: not a hex private key$"),
        ("key_file = [\n", "^config file .*node.toml is not valid toml: "),
    ],
)
def test_load__bad_config__one_config_error(tmp_path, body, message):
    with pytest.raises(ConfigError, match=message):
        load_host_config(write(tmp_path, body))


def test_parse_peer__address_host_port():
    assert parse_peer(f"{NODE.address}@node-1.example:1") == (NODE.address, "node-1.example", 1)


def test_cli__bad_config__one_line_on_stderr_exit_1(tmp_path):
    path = write(tmp_path, 'key_file = "node.key"\n' + BASE.replace("area = 3", "area = 4"))
    bridge = tmp_path / "bridge.toml"
    bridge.write_text(
        'key_file = "node.key"\n'
        + f'bridges = ["{OTHER.address}"]\n'
        + BASE
        + "[watcher]\nareas = [9]\n"
    )
    runs = [
        (["node", "run", "--config", str(path)], f"error: config file {path}: area 4 is not in"),
        (["node", "run", "--config", str(tmp_path / "nope.toml")], "error: config file not found"),
        (
            ["bridge", "run", "--config", str(bridge)],
            f"error: the key's address {NODE.address} is not bridge 0",
        ),
        (
            ["watcher", "run", "--config", str(bridge)],
            f"error: config file {bridge}: watcher area 9 is not in",
        ),
    ]

    def sec(args):
        return subprocess.run(
            [sys.executable, "-m", "sec_offchain.cli", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            env={**os.environ, "COLUMNS": "300"},
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        outs = list(pool.map(sec, [args for args, _ in runs]))
    for (args, start), out in zip(runs, outs, strict=True):
        assert out.returncode == 1 and out.stdout == "", (args, out.stdout, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(start), (args, out.stderr)
