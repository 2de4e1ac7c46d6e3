"""Gas per escrow call and for a steady-state trade, from transaction receipts.

    python scripts/gas_report.py            # embedded devchain (Ape's local network, py-evm)
    python scripts/gas_report.py --anvil    # anvil from npm, started and stopped here

The steady-state trade is the second trade between the same seller and buyer: a new
listing + buy + ship + confirm, the seller paid at confirmation. It is compared with Origin
Protocol's V00 marketplace for the same trade (createListing + makeOffer + acceptOffer +
finalize = 358,306 gas) and the target of at most 60 % of it.
"""

from __future__ import annotations

import argparse
import sys
import warnings

warnings.filterwarnings("ignore")

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from sec_offchain.contracts.client import ETH, Suite  # noqa: E402
from sec_offchain.contracts.deploy import deploy_suite  # noqa: E402
from sec_offchain.crypto.keys import get_dev_account  # noqa: E402
from sec_offchain.devchain import Anvil, ChainControl, EmbeddedChain  # noqa: E402

ORIGIN_V00_TRADE = 358_306
TARGET = int(ORIGIN_V00_TRADE * 0.6)
PRICE = 158 * 10**15
DAY = 86_400


def measure(chain: ChainControl) -> tuple[list[tuple[str, int]], int]:
    suite = Suite(chain.w3, deploy_suite(chain.w3, get_dev_account(0), progress=lambda m: None))
    arbiter, seller, buyer, other = (get_dev_account(i) for i in (0, 1, 2, 3))
    rows: list[tuple[str, int]] = []

    def row(name: str, receipt) -> int:
        rows.append((name, int(receipt["gasUsed"])))
        return int(receipt["gasUsed"])

    # First trade between two new accounts (cold storage everywhere).
    lid, r = suite.create_listing(seller, PRICE, metadata="first")
    row("create_listing (first ever)", r)
    oid, r = suite.buy(buyer, lid)
    row("buy (first ever)", r)
    row("ship", suite.ship(seller, oid, "TRACK-1"))
    row("confirm (first trade, accounts NEW -> ACTIVE)", suite.confirm(buyer, oid))

    # Steady state: the second trade between the same seller and buyer.
    lid, r1 = suite.create_listing(seller, PRICE, metadata="second")
    oid, r2 = suite.buy(buyer, lid)
    r3 = suite.ship(seller, oid, "TRACK-2")
    r4 = suite.confirm(buyer, oid)
    steady = sum(
        row(n, r)
        for n, r in (
            ("steady: create_listing", r1),
            ("steady: buy", r2),
            ("steady: ship", r3),
            ("steady: confirm (seller paid at once)", r4),
        )
    )

    # Completion by time.
    oid, _ = suite.buy(buyer, lid)
    suite.ship(seller, oid, "TRACK-3")
    chain.set_next_timestamp(suite.get_order(oid).deadline)
    row("finalize (anyone, after auto-complete)", suite.finalize(other, oid))

    # Cancellations.
    oid, _ = suite.buy(buyer, lid)
    row("cancel (seller, before shipping)", suite.cancel(seller, oid))
    oid, _ = suite.buy(buyer, lid)
    chain.set_next_timestamp(suite.get_order(oid).ship_by)
    row("cancel (anyone, ship window missed)", suite.cancel(other, oid))

    # Disputes and rulings.
    # (A separate buyer for each: a malicious complaint can disable the buyer.)
    for ruling, name, who in ((2, "seller right", 4), (0, "no ruling", 5), (1, "buyer right", 6)):
        disputer = get_dev_account(who)
        oid, _ = suite.buy(disputer, lid)
        suite.ship(seller, oid, "TRACK-D")
        r = suite.dispute(disputer, oid, "photos")
        if ruling == 2:
            row("dispute (with 2 % deposit)", r)
        row(f"rule ({name})", suite.rule(arbiter, oid, ruling))
    row("withdraw (arbiter fee)", suite.withdraw(arbiter, ETH))

    # A trade priced in SEC (approve excluded: done once per buyer).
    # (The buyer-right ruling above disabled the seller: fake goods; a new seller lists.)
    lid, r = suite.create_listing(other, 158 * 10**18, str(suite.token.address), metadata="sec")
    row("create_listing (SEC, one more slot)", r)
    suite.approve_token(buyer, str(suite.token.address), 10**30)
    oid, r = suite.buy(buyer, lid)
    row("buy (SEC, transferFrom + balance check)", r)
    suite.ship(other, oid, "T")
    row("confirm (SEC)", suite.confirm(buyer, oid))
    return rows, steady


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anvil", action="store_true", help="measure on anvil instead of py-evm")
    args = parser.parse_args()
    console = Console()
    if args.anvil:
        with Anvil() as node:
            rows, steady = measure(node)
        where = "anvil"
    else:
        rows, steady = measure(EmbeddedChain())
        where = "py-evm (Ape local network)"
    table = Table(title=f"Escrow gas on {where}")
    table.add_column("call")
    table.add_column("gas", justify="right")
    for name, gas in rows:
        table.add_row(name, f"{gas:,}")
    console.print(table)
    console.print(
        f"steady-state trade: {steady:,} gas = {steady / ORIGIN_V00_TRADE:.1%} of Origin V00's "
        f"{ORIGIN_V00_TRADE:,} (target <= {TARGET:,}: {'met' if steady <= TARGET else 'MISSED'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
