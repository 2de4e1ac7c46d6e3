"""Child processes that die with their parent, and a supervisor that restarts them.

`sec devnet up` is a thin supervisor of the same commands an operator runs by hand on
separate hosts: it starts each one, restarts it with a capped exponential back-off when it
dies, keeps the restart counts where `sec devnet status` reads them, and its children (anvil
included) get SIGTERM from the kernel when it dies, even by SIGKILL (Linux's parent-death
signal; elsewhere the children outlive it, and `sec devnet up` says so at start).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("sec.supervisor")

PR_SET_PDEATHSIG = 1
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0  # a child that ran this long starts again from the first back-off


def parent_death_signal(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` that makes the kernel send `sig` to the child when this process dies
    (None where the kernel has no such thing)."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)

    def arm() -> None:
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


@dataclass
class Child:
    name: str
    cmd: list[str]
    proc: subprocess.Popen | None = None
    restarts: int = 0
    last_exit: int | None = None
    started_at: float = 0.0
    restart_at: float | None = None  # when a dead child starts again
    backoff: float = BACKOFF_FIRST


class Supervisor:
    """Starts `specs` (name, argv), restarts whatever dies; `state_path` (JSON) shows pid,
    restarts and last exit status of each."""

    def __init__(
        self,
        specs: list[tuple[str, list[str]]],
        logs: Path,
        state_path: Path,
        say: Callable[[str], None] = print,
        cwd: Path | None = None,
    ) -> None:
        self.children = [Child(name, cmd, backoff=BACKOFF_FIRST) for name, cmd in specs]
        self.logs = logs
        self.state_path = state_path
        self.say = say
        self.cwd = cwd
        self.extra_pids: dict[str, int] = {}  # processes shown but not restarted (anvil)

    def _spawn(self, child: Child) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        out = open(self.logs / f"{child.name}.log", "ab")  # noqa: SIM115 - the child owns it
        child.proc = subprocess.Popen(
            child.cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=parent_death_signal(),  # noqa: PLW1509 - no threads start children
            cwd=self.cwd,
        )
        out.close()
        child.started_at = time.time()
        child.restart_at = None

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)
        self.write_state()

    def poll(self) -> list[str]:
        """Restarts children whose back-off is over; notes new deaths. Returns the names of
        children that died since the last call."""
        now = time.time()
        died = []
        restarted = False
        for child in self.children:
            if child.proc is None:
                continue
            if child.restart_at is None:
                code = child.proc.poll()
                if code is None:
                    continue
                child.last_exit = code
                if now - child.started_at >= STABLE_AFTER:
                    child.backoff = BACKOFF_FIRST
                child.restart_at = now + child.backoff
                self.say(
                    f"{child.name} exited with status {code}; restarting in {child.backoff:g} s"
                )
                child.backoff = min(child.backoff * 2, BACKOFF_MAX)
                died.append(child.name)
            elif now >= child.restart_at:
                self._spawn(child)
                child.restarts += 1
                restarted = True
                self.say(f"{child.name} restarted (pid {child.proc.pid}, restart {child.restarts})")
        if died or restarted:
            self.write_state()
        return died

    def state(self) -> dict:
        out = {
            name: {"pid": pid, "restarts": 0, "last_exit": None, "up": True}
            for name, pid in self.extra_pids.items()
        }
        for c in self.children:
            up = c.proc is not None and c.restart_at is None and c.proc.poll() is None
            out[c.name] = {
                "pid": c.proc.pid if c.proc else None,
                "restarts": c.restarts,
                "last_exit": c.last_exit,
                "up": up,
            }
        return out

    def write_state(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state(), indent=2))
        tmp.replace(self.state_path)

    def stop(self, timeout: float = 10.0) -> None:
        live = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
        for p in live:
            p.send_signal(signal.SIGTERM)
        deadline = time.time() + timeout
        for p in live:
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for c in self.children:
            c.restart_at = None
        self.write_state()
