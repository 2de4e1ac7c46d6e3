"""`sec devnet up` supervises: a child killed with SIGKILL is restarted (with back-off) and
`sec devnet status` counts the restart; when `sec devnet up` itself is SIGKILLed, every child
and anvil exit too (the parent-death signal), nothing is left running."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its new parent) is not running
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def wait_for(what, check, timeout=90.0):
    deadline = time.time() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def read_state(home: Path) -> dict:
    try:
        return json.loads((home / "supervisor.json").read_text())
    except (OSError, ValueError):
        return {}


def test_devnet_up__restarts_a_killed_child__and_dies_whole_when_killed(tmp_path):
    home = tmp_path / "devnet"
    up = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sec_offchain.cli",
            "devnet",
            "up",
            "--areas",
            "1",
            "--nodes",
            "1",
            "--consensus",
            "round-robin",
            "--interval",
            "1",
            "--home",
            str(home),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    try:
        state = wait_for(
            "the supervisor's state",
            lambda: (
                read_state(home)
                if up.poll() is None
                else (_ for _ in ()).throw(AssertionError(up.stdout.read()))
            ),
        )
        names = {
            "anvil",
            "node-1-0",
            "bridge-0",
            "bridge-1",
            "bgc-relayer",
            "anchor-relayer-1",
            "anchor-relayer-1-standby",
            "gateway",
        }
        assert set(state) == names
        assert all(s["up"] and s["restarts"] == 0 for s in state.values())
        first = state["node-1-0"]["pid"]

        os.kill(first, signal.SIGKILL)
        state = wait_for(
            "the restart",
            lambda: (
                (s := read_state(home))["node-1-0"]["restarts"] == 1 and s["node-1-0"]["up"] and s
            ),
        )
        again = state["node-1-0"]
        assert again["pid"] != first and alive(again["pid"])
        assert again["last_exit"] == -signal.SIGKILL
        assert [n for n, s in state.items() if s["restarts"]] == ["node-1-0"]

        out = wait_for(
            "status",
            lambda: (
                (
                    r := subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "sec_offchain.cli",
                            "devnet",
                            "status",
                            "--home",
                            str(home),
                            "--json",
                        ],
                        capture_output=True,
                        text=True,
                        cwd=ROOT,
                        timeout=60,
                    )
                ).returncode
                == 0
                and r.stdout
            ),
        )
        shown = {p["name"]: p for p in json.loads(out)["processes"]}
        assert shown["node-1-0"]["restarts"] == 1 and shown["node-1-0"]["pid"] == again["pid"]
        assert shown["bridge-0"]["restarts"] == 0

        pids = {n: s["pid"] for n, s in read_state(home).items()}
        up.kill()  # SIGKILL: no handler runs in `sec devnet up`
        up.wait(10)
        wait_for(
            "every child and anvil to exit",
            lambda: not any(alive(p) for p in pids.values()),
            timeout=30,
        )
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        for s in read_state(home).values():
            if s["pid"] and alive(s["pid"]):
                os.kill(s["pid"], signal.SIGKILL)
