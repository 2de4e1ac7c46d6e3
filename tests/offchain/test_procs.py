"""The supervisor restarts a child that exits, after a back-off that doubles up to its cap,
and records pid, restarts and last exit status; a child it starts gets SIGTERM from the
kernel when the process that started it dies (the parent-death signal)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from sec_offchain import procs
from sec_offchain.procs import Supervisor, parent_death_signal


def wait_for(what, check, timeout=30.0):
    deadline = time.time() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_supervisor__child_exits__restarted_with_doubling_backoff(tmp_path, monkeypatch):
    monkeypatch.setattr(procs, "BACKOFF_FIRST", 0.2)
    monkeypatch.setattr(procs, "BACKOFF_MAX", 0.4)
    said = []
    sup = Supervisor(
        [
            ("fails", [sys.executable, "-c", "import sys; sys.exit(3)"]),
            ("sleeps", [sys.executable, "-c", "import time; time.sleep(60)"]),
        ],
        tmp_path / "logs",
        tmp_path / "state.json",
        say=said.append,
    )
    sup.start()
    try:
        first = sup.children[0].proc.pid
        pids = []

        def restarted_thrice() -> bool:
            before = sup.children[0].restarts
            sup.poll()
            if sup.children[0].restarts > before:
                pids.append(sup.children[0].proc.pid)
            return sup.children[0].restarts == 3

        wait_for("three restarts", restarted_thrice)
        state = json.loads((tmp_path / "state.json").read_text())
        assert state["fails"]["restarts"] == 3 and state["fails"]["last_exit"] == 3
        assert state["fails"]["pid"] != first
        assert state["sleeps"] == {
            "pid": sup.children[1].proc.pid,
            "restarts": 0,
            "last_exit": None,
            "up": True,
        }
        delays = [m.split("restarting in ")[1] for m in said if "restarting in" in m]
        assert delays[:3] == ["0.2 s", "0.4 s", "0.4 s"]
        assert [m for m in said if "restarted" in m][:3] == [
            f"fails restarted (pid {p}, restart {n})" for n, p in enumerate(pids, start=1)
        ]
    finally:
        sup.stop()
    assert all(c.proc.poll() is not None for c in sup.children)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_parent_death_signal__parent_sigkilled__child_gets_sigterm(tmp_path):
    pidfile = tmp_path / "child.pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "from sec_offchain.procs import parent_death_signal\n"
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
            " preexec_fn=parent_death_signal())\n"
            f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
            "time.sleep(60)\n",
        ],
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    child = int(wait_for("the child", lambda: pidfile.exists() and pidfile.read_text()))
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)

    def gone() -> bool:
        try:
            with open(f"/proc/{child}/stat") as f:
                return f.read().split(") ", 1)[1][0] == "Z"
        except OSError:
            return True

    wait_for("the child to exit", gone)
    assert parent_death_signal() is not None


def test_supervise__status_table_hangs__a_dead_child_is_restarted_meanwhile(tmp_path, monkeypatch):
    """`sec devnet up` printed its table between two polls: a node that answered slowly
    (3 s timeouts each) held every restart back behind it. Now the table has a thread."""
    import io
    import threading

    from rich.console import Console

    from sec_offchain import devnet

    monkeypatch.setattr(procs, "BACKOFF_FIRST", 0.1)
    monkeypatch.setattr(devnet, "SUPERVISE_TICK", 0.05)
    monkeypatch.setattr(devnet, "STATUS_EVERY", 0.01)
    asked, answered = threading.Event(), threading.Event()

    def hung_status(cfg):
        asked.set()
        time.sleep(60)
        answered.set()

    monkeypatch.setattr(devnet, "status", hung_status)
    sup = Supervisor(
        [("dies", [sys.executable, "-c", "import time; time.sleep(0.2)"])],
        tmp_path / "logs",
        tmp_path / "state.json",
        say=lambda m: None,
    )
    sup.start()
    devnet.supervise(sup, None, Console(file=io.StringIO()), duration=3.0)
    # never stuck behind the table: over while the table still waits for its answer (not
    # "within 10 s" of a 3 s run, which a loaded core can stretch)
    assert asked.is_set() and not answered.is_set()
    assert sup.children[0].restarts >= 1
    assert json.loads((tmp_path / "state.json").read_text())["dies"]["up"] is False
