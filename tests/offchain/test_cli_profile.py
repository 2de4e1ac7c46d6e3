"""The devnet profile (`profile.env`, what `sec devnet up` writes): `sec --home HOME` and
SEC_DEVNET give every command its --home, --rpc, --deployment and --gateway from it; a typed
option or an environment variable still wins; a malformed profile is one line and exit 1."""

from pathlib import Path

from sec_offchain.cli.profile import profile_text, read_profile
from tests.fixtures.cli import run_sec

DEAD = "http://127.0.0.1:1"  # nothing listens: the error names the URL the command used


def home_with_profile(tmp_path: Path) -> Path:
    home = tmp_path / "devnet"
    home.mkdir()
    text = profile_text(home, DEAD, home / "deployments.json", "http://127.0.0.1:2", lambda a: 7)
    (home / "profile.env").write_text(text)
    return home


def test_profile__export_lines_and_who_is_who__read_back(tmp_path):
    home = home_with_profile(tmp_path)
    assert read_profile(home) == {
        "SEC_DEVNET": str(home.resolve()),
        "SEC_RPC": DEAD,
        "SEC_DEPLOYMENT": str((home / "deployments.json").resolve()),
        "SEC_GATEWAY": "http://127.0.0.1:2",
    }
    text = (home / "profile.env").read_text()
    assert "#   dev:5 0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc area 7\n" in text
    assert read_profile(tmp_path) == {}  # no profile: nothing


def test_profile__every_command_takes_its_defaults__typed_and_env_win(tmp_path):
    home = home_with_profile(tmp_path)
    via_option = run_sec("--home", str(home), "escrow", "status", "1")
    via_env = run_sec("escrow", "status", "1", env={"SEC_DEVNET": str(home)})
    for out in (via_option, via_env):
        assert (out.returncode, out.stderr) == (
            1,
            f"error: cannot reach a node at {DEAD}: ConnectionError\n",
        )
    typed = run_sec("--home", str(home), "escrow", "status", "1", "--rpc", "http://127.0.0.1:3")
    env = run_sec(
        "--home", str(home), "escrow", "status", "1", env={"SEC_RPC": "http://127.0.0.1:4"}
    )
    assert typed.stderr == "error: cannot reach a node at http://127.0.0.1:3: ConnectionError\n"
    assert env.stderr == "error: cannot reach a node at http://127.0.0.1:4: ConnectionError\n"
    # --home of every command: the profile's home (no devnet.json there yet)
    for argv in (("bgc", "status"), ("devnet", "status"), ("area", "records", "--key", "dev:6")):
        out = run_sec("--home", str(home), *argv)
        assert (out.returncode, out.stderr) == (
            1,
            f"error: no devnet at {home} (run `sec devnet up` first)\n",
        ), argv
    # the deployments file of the profile (no chain needed to find it missing)
    out = run_sec(
        "--home", str(home), "verify", "http://127.0.0.1:2/v1/products/0x01/credit?area=1"
    )
    assert (
        out.stderr
        == f"error: deployments file not found: {(home / 'deployments.json').resolve()}\n"
    )


def test_profile__malformed__one_line_exit_1(tmp_path):
    (tmp_path / "profile.env").write_text("# fine\nexport SEC_RPC=x\nrm -rf /\n")
    out = run_sec("--home", str(tmp_path), "bgc", "status")
    assert (out.returncode, out.stdout, out.stderr) == (
        1,
        "",
        f"error: {tmp_path}/profile.env line 3: not an `export NAME=VALUE` line\n",
    )
