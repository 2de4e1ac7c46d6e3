"""The chaos script's anchor check, on hand-made timelines: the stall is counted from when a
killed process was back (a node answering), the one from its process start is shown beside
it, and a process that never came back fails the run."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "chaos_devnet.py"


@pytest.fixture(scope="module")
def chaos():
    spec = importlib.util.spec_from_file_location("chaos_devnet", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["chaos_devnet"] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["chaos_devnet"]


def timeline(chaos, anchors, kills, restarted, back):
    run = chaos.Run("kill")
    run.anchors = {1: [(float(t), h) for h, t in enumerate(anchors, start=1)]}
    run.kills = [(float(t), name, 100 + k) for k, (t, name) in enumerate(kills)]
    run.restarted = dict(enumerate(map(float, restarted)))
    run.back = dict(enumerate(map(float, back)))
    return run


def test_check_anchors__counted_from_back__from_start_shown_beside(chaos):
    # an anchor a second from 0 to 20, none from 11 to 15 (a producer's turn passed while
    # node-1-0 started: killed at 8, restarted at 9, answering at 13)
    times = [*range(0, 12), *range(15, 21)]
    run = timeline(chaos, times, [(8, "node-1-0")], [9], [13])
    ok, detail = chaos.check_anchors(run, until=20.0)
    interval = 20 / 17
    assert ok is True
    assert detail == (
        f"longest stall 2.0 s after node-1-0 was back (area 1) = {2 / interval:.1f} anchor "
        f"intervals of {interval:.2f} s; longest gap before any kill 1.0 s; "
        f"from each process start {4 / interval:.1f} intervals"
    )
    assert chaos.worst_stall(run, 20.0, run.restarted) == (4.0, interval, "node-1-0", 1)


def test_check_anchors__stall_over_three_intervals_after_back__fails(chaos):
    times = [*range(0, 12), 16, 17, 18, 19, 20]  # 11 -> 16 while node-1-0 was back at 10
    run = timeline(chaos, times, [(8, "node-1-0")], [9], [10])
    ok, detail = chaos.check_anchors(run, until=20.0)
    interval = 20 / 16
    assert (ok, detail.split(";")[0]) == (
        False,
        f"longest stall 5.0 s after node-1-0 was back (area 1) = {5 / interval:.1f} anchor "
        f"intervals of {interval:.2f} s",
    )


def test_check_anchors__exactly_three_intervals__met(chaos):
    times = [0, 1, 2, 3, 4, 5, 6, 9.6, 10.6, 11.6, 12]  # mean interval 12/10; a 3.6 s gap
    run = timeline(chaos, times, [(5.5, "bridge-0")], [6], [6])
    stall, interval, _, _ = chaos.worst_stall(run, 12.0, run.back)
    assert (stall, interval) == (pytest.approx(3.6), pytest.approx(1.2))
    assert chaos.check_anchors(run, until=12.0)[0] is True  # 3.6 = 3 x 1.2: not longer


def test_check_anchors__never_back__fails(chaos):
    run = timeline(chaos, range(0, 10), [(3, "node-1-2")], [4], [])
    assert chaos.check_anchors(run, until=10.0) == (False, "node-1-2 never came back")
