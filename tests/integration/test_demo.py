"""`sec demo` as a user runs it: exit 0, the narrated steps, the closing table."""

import subprocess
import sys


def test_sec_demo__runs_the_trust_loop():
    proc = subprocess.run(
        [sys.executable, "-m", "sec_offchain.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = proc.stdout
    for expected in (
        "deployed Escrow at",
        "ethereum:0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9@1337/buy?uint256=1&uint256=0&value=158000000000000000",
        "refused (escrow: auto-complete time not reached)",
        "order 2 completed",
        "refunded in full",
        "alice earns 34.76 SEC",
        "draws a panel of 3 judges, never bob or the seller",
        "the seller's trust falls from 2 to 0 (disabled)",
        "refused (escrow: seller is disabled)",
        "escrow holds 0.001580 ETH: the judges' fees",
        "header 2 of area 1 anchored with 3 of 4 signatures",
        "rewards for the 2 anchored headers: 20 SEC shared by the bonded validators",
        "validator 4's own signer refuses a second header at height 3",
        "validator 4 slashed 50,000 SEC (50 %) and ejected — 5,000 burned, "
        "10,000 bounty to the judge, 35,000.00 shared by the three honest validators",
        "SEC supply fell by 5,000",
    ):
        assert expected in out, expected
    # QR code rows and the closing table.
    assert out.count("██") > 20
    assert "trust" in out and "active" in out
