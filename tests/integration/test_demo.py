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
        "ethereum:0x5FC8d32690cc91D4c39d9d3abcBD16989F875707@1337/buy?uint256=1&uint256=0&value=158000000000000000",
        "refused (escrow: auto-complete time not reached)",
        "order 2 completed, seller trust 2, bob 1",
        "refunded in full",
        "(seller trust 1)",
        "alice receives 0.003160 ETH at once, a 2 % commission out of the seller's 0.158000 "
        "ETH; the seller gets 0.154840 ETH",
        "disputes order 5 with a 0.003160 ETH deposit; case 5 will draw its panel from the "
        "hash of block",
        "carol draws the panel: 3 judges, never bob or the seller",
        "bob is refunded 0.159580 ETH",
        "the seller's trust falls from 2 to 0 (disabled)",
        "refused (escrow: seller is disabled)",
        "the stake waits 24 h before it counts",
        "header 2 of area 1 anchored with 3 of 4 signatures",
        "2 headers anchored over 3,602 s earn 2.2844 SEC",
        "validator 4's own signer refuses a second header at height 3",
        "validator 4 slashed 50,000 SEC (50 %) and ejected — 5,000 burned, "
        "10,000 bounty to the judge, 35,000.00 shared by the three honest validators",
        "SEC supply fell by 5,000; staking holds 5,000 SEC less; area stake now 300,000 SEC",
        "on chain area 4 holds 70 SEC, area 3 30 SEC",
        "the relayer runs again: 0 more deliveries (exactly once)",
        "erin (new seller) holds 0.000000 ETH; frank (new buyer) holds 0.000000 ETH and 500 SEC",
        "158 SEC, up to 5 orders, valid 30 days: no transaction, 0 gas. Its link (274 characters)",
        "the relayer sends the permit, then buy_signed: mined ok",
        "order 6 paid by frank: 158 SEC held by the escrow",
        "the relayer answers 'mined' with the same transaction, nothing is sent twice",
        "the relayer sends erin's ship: mined ok",
        "the relayer sends frank's confirm: mined ok",
        "an ERC-20 approve: refused: 0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0 function "
        "0x095ea7b3 is not sponsored",
        "erin is paid 158 SEC at confirmation; trust erin 1, frank 1; erin and frank still hold "
        "0.000000 and 0.000000 ETH; the relayer paid",
        "escrow holds 0.000000 ETH: every payment, refund, commission and judges' fee was pushed",
    ):
        assert expected in out, expected
    # QR code rows and the closing table.
    assert out.count("██") > 20
    assert "trust" in out and "active" in out
