"""Where the gas of one steady-state `AnchorHub.anchor` goes, opcode by opcode.

    python scripts/gas_trace_anchor.py [--signers 3] [--validators 4]

Starts anvil with step tracing, deploys the suite, stakes equal validators for area 1,
anchors two headers and prints the second one's gas: intrinsic (21,000 + calldata) and
execution grouped by opcode (calls count the callee's gas under the CALL opcode).
"""

from __future__ import annotations

import argparse
import collections
import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gas_report import anchor_header, fund_validators, stake_validator  # noqa: E402

from sec_offchain.contracts.client import Suite  # noqa: E402
from sec_offchain.contracts.deploy import deploy_suite  # noqa: E402
from sec_offchain.crypto.keys import get_dev_account  # noqa: E402
from sec_offchain.devchain import Anvil  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--signers", type=int, default=3)
    args = parser.parse_args()
    with Anvil(extra_args=("--steps-tracing",)) as node:
        suite = Suite(node.w3, deploy_suite(node.w3, get_dev_account(0), progress=lambda m: None))
        keys = [get_dev_account(200 + i) for i in range(args.validators)]
        fund_validators(suite, get_dev_account(0), keys)
        for key in keys:
            stake_validator(suite, key, 1, 100_000 * 10**18)
        suite.activate_validators(keys, node)
        anchor_header(suite, keys, 1, args.signers)
        receipt = anchor_header(suite, keys, 1, args.signers)
        tx_hash = receipt["transactionHash"].hex()
        trace = node.w3.provider.make_request("debug_traceTransaction", [tx_hash, {}])  # type: ignore[arg-type]
    steps = trace["result"]["structLogs"]
    by_op: collections.Counter[str] = collections.Counter()
    count: collections.Counter[str] = collections.Counter()
    for step, after in zip(steps, steps[1:], strict=False):
        if after["depth"] == step["depth"]:
            by_op[step["op"]] += step["gas"] - after["gas"]
        else:
            by_op[step["op"]] += step["gasCost"]
        count[step["op"]] += 1
    execution = sum(by_op.values())
    used = int(receipt["gasUsed"])
    print(f"anchor, {args.signers} of {args.validators} signers: {used:,} gas")
    print(f"  intrinsic (21,000 + calldata): {used - execution:,}")
    print(f"  execution: {execution:,}")
    for op, gas in by_op.most_common(30):
        print(f"    {op:12} {gas:7,}  x{count[op]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
