"""The dashboard's alert rules (`gateway.network.build_alerts`): each one raised above its
threshold and not at it, one sentence each; and a credit bundle asked of an area whose
table has no products at all is a "no credit" refusal, not a crash."""

import pytest

from sec_offchain.encoding.area_header import AreaHeader
from sec_offchain.gateway.network import AlertThresholds, build_alerts
from sec_offchain.gateway.proofs import BundleError, build_credit_bundle

LIMITS = AlertThresholds(anchor_lag=5, finality_stall=30.0, index_lag=20, anchor_age=600)
NOW = 1_000.0
QUIET = {"lag": 0, "reorgs": 0}


def area(area_id=1, anchored=10, **extra):
    return {"area_id": area_id, "anchored_height": anchored, "paused": False,
            "equivocations": 0, "anchor_age": 12, **extra}  # fmt: skip


def net(final=12, since=NOW - 5, nodes=("up", "up"), area_id=1):
    return {
        "areas": [
            {
                "area_id": area_id,
                "head": final + 2,
                "final": final,
                "final_since": since,
                "nodes": [
                    {"address": f"0x{i:040x}", "up": state == "up"}
                    for i, state in enumerate(nodes, start=1)
                ],
            }
        ]
    }


def test_alerts__healthy_network__none():
    assert build_alerts(QUIET, [area()], net(), LIMITS, NOW) == []
    assert build_alerts(QUIET, [], None, LIMITS, NOW) == []  # no nodes watched, nothing indexed


def test_alerts__anchor_lag__raised_above_the_limit_only():
    at_limit = build_alerts(QUIET, [area(anchored=10)], net(final=15), LIMITS, NOW)
    assert at_limit == []
    assert build_alerts(QUIET, [area(anchored=10)], net(final=16), LIMITS, NOW) == [
        {
            "kind": "anchor-lag",
            "area": 1,
            "message": "Area 1: 6 final blocks are not anchored (anchored 10, final 16; "
            "the limit is 5): missed anchors.",
        }
    ]
    # an area the index has never seen anchor counts from 0
    assert [a["message"] for a in build_alerts(QUIET, [], net(final=6), LIMITS, NOW)] == [
        "Area 1: 6 final blocks are not anchored (anchored 0, final 6; the limit is 5): "
        "missed anchors."
    ]


def test_alerts__node_down_and_stalled_finality():
    got = build_alerts(QUIET, [area()], net(since=NOW - 31, nodes=("up", "down")), LIMITS, NOW)
    assert got == [
        {"kind": "node-down", "area": 1, "message": f"Area 1: node 0x{2:040x} does not answer."},
        {"kind": "finality-stalled", "area": 1,
         "message": "Area 1: finality stalled at height 12 for 31 s."},
    ]  # fmt: skip
    assert build_alerts(QUIET, [area()], net(since=NOW - 30), LIMITS, NOW) == []
    # every node down: no final height to judge (none answered); the nodes are the alert
    net_down = net(nodes=("down", "down"))
    net_down["areas"][0]["final"] = None
    assert [a["kind"] for a in build_alerts(QUIET, [area()], net_down, LIMITS, NOW)] == [
        "node-down",
        "node-down",
    ]


def test_alerts__index_paused_equivocations_and_chain_time_since_the_last_anchor():
    status = {"lag": 21, "reorgs": 2}
    areas = [area(paused=True, equivocations=1, anchor_age=601), area(2, anchor_age=600)]
    assert [a["message"] for a in build_alerts(status, areas, None, LIMITS, NOW)] == [
        "The indexer is 21 blocks behind the chain.",
        "2 reorgs rewound the index since it started.",
        "Area 1 is paused.",
        "Area 1: 1 equivocations proven.",
        "Area 1 has not anchored for 601 s of chain time (missed anchors).",
    ]
    assert build_alerts({"lag": 20, "reorgs": 0}, [area(2)], None, LIMITS, NOW) == []


def test_credit_bundle__area_with_no_credit_at_all__no_credit_refusal():
    header = AreaHeader(1, 3)
    with pytest.raises(BundleError) as err:
        build_credit_bundle({}, header, b"\x01" * 32)
    assert str(err.value) == f"product 0x{'01' * 32} has no credit in area 1 at height 3"
