"""Trades among clustered accounts on a running devnet, then the next epoch's directory and
the report of the relation policy on those real events.

    python scripts/areas_workload.py [--home .sec/devnet] [--communities 3] [--size 6]
                                     [--trades 45] [--local 0.85] [--seed 7] [--no-publish]
                                     [--wait-epoch SECONDS]

Runs the workload (`sec_offchain.areas.workload`: circles of friends trading mostly inside
their circle, through the Escrow), then `sec areas plan --publish` for the devnet's areas,
writing the directory where the devnet's processes read it (`<home>/areas/epoch-<N>.json`,
so the bridges place new orders by it and `sec areas move` can move balances), then
`sec areas report --directory` on it, whose two lines it prints. With `--wait-epoch` (a
devnet started with `--area-epoch`) it publishes nothing itself: it waits up to that many
seconds for the devnet's epoch daemon to publish a directory computed after the last trade,
and reports on that one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(".sec/devnet"))
    parser.add_argument("--communities", type=int, default=3)
    parser.add_argument("--size", type=int, default=6)
    parser.add_argument("--sellers", type=int, default=2)
    parser.add_argument("--trades", type=int, default=45)
    parser.add_argument("--local", type=float, default=0.85)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-publish", action="store_true", help="only trade and report")
    parser.add_argument(
        "--wait-epoch",
        type=float,
        default=0.0,
        help="wait this many seconds for the devnet's epoch daemon to publish, and report on it",
    )
    args = parser.parse_args()

    from web3 import Web3

    from sec_offchain.area.devnet_config import DevnetConfig
    from sec_offchain.areas.workload import WorkloadParams, run_workload
    from sec_offchain.contracts.client import Suite
    from sec_offchain.contracts.deployment import Deployment

    devnet = args.home / "devnet.json"
    if not devnet.is_file():
        print(f"error: no devnet at {args.home} (run `sec devnet up` first)", file=sys.stderr)
        return 1
    try:
        params = WorkloadParams(
            communities=args.communities,
            size=args.size,
            sellers=args.sellers,
            trades=args.trades,
            local=args.local,
            seed=args.seed,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    cfg = DevnetConfig.load(devnet)
    deployment = Path(cfg.deployments)
    suite = Suite(Web3(Web3.HTTPProvider(cfg.rpc)), Deployment.from_file(deployment))
    trades = run_workload(suite, params, say=lambda m: print(m, flush=True))
    print(f"{len(trades)} trades completed", flush=True)

    ids = ",".join(str(a.area_id) for a in sorted(cfg.areas, key=lambda a: a.area_id))
    common = ["--rpc", cfg.rpc, "--deployment", str(deployment)]
    sec = [sys.executable, "-m", "sec_offchain.cli", "areas"]
    report = [*sec, "report", "--areas", ids, *common]
    if args.wait_epoch > 0:
        import time

        directory_c = suite.contract("AreaDirectory")
        last = int(suite.w3.eth.block_number)  # the last trade's block
        deadline = time.monotonic() + args.wait_epoch
        while True:
            latest = int(directory_c.functions.latest_epoch().call())
            source = int(directory_c.functions.source_block_of(latest).call()) if latest else 0
            out = cfg.directory_folder / f"epoch-{latest}.json"
            if latest and source >= last and out.is_file():
                break
            if time.monotonic() > deadline:
                print(f"error: no epoch published after block {last}", file=sys.stderr)
                return 1
            time.sleep(0.5)
        print(f"the devnet published epoch {latest}; directory {out}", flush=True)
        report += ["--directory", str(out)]
    elif not args.no_publish:
        directory_c = suite.contract("AreaDirectory")
        latest = int(directory_c.functions.latest_epoch().call())
        folder = cfg.directory_folder
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"epoch-{latest + 1}.json"
        plan = [*sec, "plan", "--areas", ids, "--out", str(out), "--publish", *common]
        if latest:
            plan += ["--previous", str(folder / f"epoch-{latest}.json")]
        done = subprocess.run(plan, capture_output=True, text=True)
        if done.returncode:
            print(done.stderr.strip(), file=sys.stderr)
            return 1
        print(f"published epoch {latest + 1}; directory {out}", flush=True)
        report += ["--directory", str(out)]
    done = subprocess.run(report, capture_output=True, text=True)
    print(done.stdout.strip() or done.stderr.strip(), flush=True)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
