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

from sec_offchain.area.block import MESSAGE_LEAF, Message  # noqa: E402
from sec_offchain.area.merkle import StandardMerkleTree  # noqa: E402
from sec_offchain.contracts.client import Suite  # noqa: E402
from sec_offchain.contracts.deploy import SuiteParams, deploy_suite  # noqa: E402
from sec_offchain.crypto.keys import get_dev_account  # noqa: E402
from sec_offchain.devchain import Anvil, ChainControl, EmbeddedChain  # noqa: E402
from sec_offchain.encoding.area_header import AreaHeader, hash_area_header, sign_digest  # noqa: E402

ORIGIN_V00_TRADE = 358_306
ORIGIN_V00_DISPUTE_PATH = (
    396_357  # createListing + makeOffer + acceptOffer + dispute + executeRuling
)
TARGET = int(ORIGIN_V00_TRADE * 0.6)
PRICE = 158 * 10**15
DAY = 86_400


def measure(chain: ChainControl) -> tuple[list[tuple[str, int]], int, int]:
    governance = SuiteParams(use_court=False)  # rulings by a governance arbiter first
    suite = Suite(
        chain.w3, deploy_suite(chain.w3, get_dev_account(0), governance, progress=lambda m: None)
    )
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

    signed, relay = signed_and_relayed(chain, suite, row, seller, buyer)

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
    # (The arbiter's fee is pushed with the ruling; nothing is left to withdraw.)

    # A trade priced in SEC (approve excluded: done once per buyer).
    # (The buyer-right ruling above disabled the seller: fake goods; a new seller lists.)
    lid, r = suite.create_listing(other, 158 * 10**18, str(suite.token.address), metadata="sec")
    row("create_listing (SEC, one more slot)", r)
    suite.approve_token(buyer, str(suite.token.address), 10**30)
    oid, r = suite.buy(buyer, lid)
    row("buy (SEC, transferFrom + balance check)", r)
    suite.ship(other, oid, "T")
    row("confirm (SEC)", suite.confirm(buyer, oid))

    # Shares: buyer shares a completed order, a friend buys through it; at confirmation the
    # sharer is paid its commission out of the seller's proceeds (no pool bonus by default).
    sid, r = suite.share(buyer, oid)
    row("share", r)
    friend = get_dev_account(7)
    suite.approve_token(friend, str(suite.token.address), 10**30)
    oid2, r = suite.buy(friend, lid, sid)
    row("buy through a share", r)
    suite.ship(other, oid2, "T")
    row("confirm (shared purchase in SEC, commission paid)", suite.confirm(friend, oid2))
    # The same in ETH: `other` lists, the buyer buys and shares, the friend buys through it.
    lid, _ = suite.create_listing(other, PRICE, metadata="eth shared")
    oid, _ = suite.buy(buyer, lid)
    suite.ship(other, oid, "T")
    suite.confirm(buyer, oid)
    sid, _ = suite.share(buyer, oid)
    oid2, _ = suite.buy(friend, lid, sid)
    suite.ship(other, oid2, "T")
    row("confirm (shared purchase in ETH, commission paid)", suite.confirm(friend, oid2))

    # The Court's dispute path, the Court as arbiter, ruling 1 (fake goods). Measured like
    # the steady-state trade: the second trade between the same seller and buyer (a new
    # listing; both accounts already ACTIVE from a confirmed first trade). Votes arrive as
    # EIP-712 signatures: with `execute_with_votes` drawing the panel in the same
    # transaction (the path compared with Origin), after an explicit `draw`, and as
    # on-chain votes. The first-ever dispute path (a fresh deployment's first listing and
    # order, new accounts) is shown too.
    court_suite = Suite(
        chain.w3, deploy_suite(chain.w3, get_dev_account(0), progress=lambda m: None)
    )
    for judge in COURT_JUDGES:
        court_suite.stake_judge(get_dev_account(judge), 1_000 * 10**18)
    paths = {
        "first-ever": court_path(court_suite, row, 1, 2, "first-ever", "combined"),
        "combined": court_path(court_suite, row, 10, 11, "steady", "combined"),
        "signed": court_path(court_suite, row, 12, 13, "steady", "signed"),
        "onchain": court_path(court_suite, row, 14, 15, "steady", "onchain"),
    }
    dispute_gas = dispute_gas_by_judges(court_suite, row)

    # Anchoring: 4 and 16 equal-stake validators of one area each; the second header of an
    # area is measured (the first also creates the area's height slot).
    sets: dict[int, list] = {}
    for area, count, signing in ((1, 4, 3), (2, 16, 12)):
        keys = [get_dev_account(100 + 20 * area + i) for i in range(count)]
        sets[area] = keys
        fund_validators(court_suite, get_dev_account(0), keys)
        for key in keys:
            stake_validator(court_suite, key, area, 100_000 * 10**18)
        activate_validators(court_suite, chain, keys)
        anchor_header(court_suite, keys, area, signing)
        r = anchor_header(court_suite, keys, area, signing)
        row(f"anchor ({signing} of {count} equal-stake validators)", r)
    # BGC: deliver at proof depth 4 (16 messages) and 10 (1,024 messages), steady state
    # (the channel's nonce and the destination's total already non-zero, the source's
    # outflow window open)
    bgc = court_suite.contract("BorderGateway")
    funder = get_dev_account(0)
    ftx = court_suite.tx(funder)
    ftx.transact(court_suite.token.functions.approve(bgc.address, 10_000 * 10**18))
    ftx.transact(bgc.functions.deposit_to_area(1, 10_000 * 10**18))
    for dst, count in ((3, 16), (4, 1024)):
        messages = [
            Message(
                1,
                dst,
                n,
                bytes.fromhex(funder.address[2:]),
                bytes.fromhex(other.address[2:]),
                10**15,
                b"\x07" * 32,
            )
            for n in range(1, count + 1)
        ]
        tree = StandardMerkleTree.of([m.leaf_values() for m in messages], MESSAGE_LEAF)
        headers: list = []
        anchor_header(court_suite, sets[1], 1, 3, egress_root=tree.root, header_out=headers)
        for i in (0, 1):
            fn = bgc.functions.deliver(messages[i].as_tuple(), headers[0].as_tuple(), tree.proof(i))
            r = ftx.transact(fn)
        row(f"deliver (proof depth {len(tree.proof(1))}, steady state)", r)
    # the first outflow after the area's outflow window ended opens a new one (allowance
    # computed from the balance): the same delivery, once a day per area
    chain.set_next_timestamp(bgc.functions.outflow_window(1).call()[1])
    fn = bgc.functions.deliver(messages[2].as_tuple(), headers[0].as_tuple(), tree.proof(2))
    row(f"deliver (proof depth {len(tree.proof(2))}, opens an outflow window)", ftx.transact(fn))
    judge = get_dev_account(5)  # staked as a judge above
    for area in (1, 2):
        r = report_double_sign(court_suite, judge, sets[area][0], area)
        row(
            f"report_equivocation ({len(sets[area])} validators: slash, burn, bounty, "
            "accumulator, activation-height check)",
            r,
        )
    return rows, steady, paths, dispute_gas, signed, relay


SIGNED_TARGET = int(ORIGIN_V00_TRADE * 0.4)
RELAY_TARGET = 20_000
RELAY_GAS = 200_000  # the inner call's gas in every relayed request here


def signed_and_relayed(chain: ChainControl, suite: Suite, row, seller, buyer) -> tuple[int, int]:
    """The steady trade through a signed listing (no transaction to post it): the seller
    signs a listing with no quantity limit; after a first purchase (which registers it),
    the second trade between the same seller and buyer is buy_signed + ship + confirm. The
    same for a listing of 10 units (each purchase also counts it against the limit). Then
    the relay overhead: `ship` of two like orders, once sent by the seller and once relayed
    through the forwarder (the seller's second relayed request: its nonce already set)."""
    now = int(chain.w3.eth.get_block("latest")["timestamp"])
    limited = {
        "seller": seller.address,
        "price": PRICE,
        "token": "0x0000000000000000000000000000000000000000",
        "auto_complete": 0,
        "ship_window": 0,
        "metadata": b"\x5e" * 32,
        "quantity": 10,
        "expiry": now + 30 * DAY,
        "salt": 1,
    }
    listing = dict(limited, quantity=0, salt=2)
    signature = suite.sign_listing(seller, listing)
    oid, r = suite.buy_signed(buyer, listing, signature)
    row("buy_signed (first purchase: registers the listing, checks the signature)", r)
    suite.ship(seller, oid, "S-1")
    suite.confirm(buyer, oid)
    oid, r1 = suite.buy_signed(buyer, listing, b"")
    r2 = suite.ship(seller, oid, "S-2")
    r3 = suite.confirm(buyer, oid)
    signed = sum(
        row(n, r)
        for n, r in (
            ("signed steady: buy_signed (registered listing)", r1),
            ("signed steady: ship", r2),
            ("signed steady: confirm (seller paid at once)", r3),
        )
    )
    oid, _ = suite.buy_signed(buyer, limited, suite.sign_listing(seller, limited))
    suite.ship(seller, oid, "L-1")
    suite.confirm(buyer, oid)
    oid, r = suite.buy_signed(buyer, limited, b"")
    row("signed steady, 10-unit listing: buy_signed (also counts the order)", r)
    r2, r3 = suite.ship(seller, oid, "L-2"), suite.confirm(buyer, oid)
    limited_trade = int(r["gasUsed"]) + int(r2["gasUsed"]) + int(r3["gasUsed"])
    row("signed steady, 10-unit listing: buy_signed + ship + confirm", {"gasUsed": limited_trade})
    relayer = get_dev_account(9)
    orders = [suite.buy_signed(buyer, listing, b"")[0] for _ in range(3)]
    fn = suite.escrow.functions.ship
    request, sig = suite.sign_request(seller, fn(orders[0], b"\x01" * 32), RELAY_GAS)
    row(
        "ship relayed (the seller's first request: sets its nonce)",
        suite.relay(relayer, request, sig),
    )
    direct = row(
        "ship (direct, for the relay overhead)", suite.ship(seller, orders[1], b"\x01" * 32)
    )
    request, sig = suite.sign_request(seller, fn(orders[2], b"\x01" * 32), RELAY_GAS)
    relayed = row("ship relayed (steady)", suite.relay(relayer, request, sig))
    return signed, relayed - direct


COURT_JUDGES = (5, 6, 7, 8)


def court_path(suite: Suite, row, seller_i: int, buyer_i: int, kind: str, how: str) -> int:
    """List, buy, ship, dispute (ruling 1 expected), draw, two judges' votes, execute:
    the gas of that path. `kind` "steady": a confirmed trade between the same seller and
    buyer comes first (not counted); "first-ever": the accounts' first trade. `how`:
    "combined" (execute_with_votes draws), "signed" (draw, then execute_with_votes),
    "onchain" (draw, vote, vote, execute)."""
    seller, buyer, other = get_dev_account(seller_i), get_dev_account(buyer_i), get_dev_account(3)
    fund = suite.tx(get_dev_account(0))
    for key in (seller, buyer):
        if suite.w3.eth.get_balance(key.address) < 10**19:
            fund.send_value(key.address, 10**20)
    if kind == "steady":
        lid, _ = suite.create_listing(seller, PRICE, metadata="court first")
        oid, _ = suite.buy(buyer, lid)
        suite.ship(seller, oid, "T")
        suite.confirm(buyer, oid)
    label = {
        "combined": "signed votes, execute_with_votes draws",
        "signed": "draw, then signed votes",
        "onchain": "on-chain votes",
    }[how]
    name = f"court path ({kind}, {label})"
    path = 0
    lid, r = suite.create_listing(seller, PRICE, metadata="court")
    path += row(f"{name}: create_listing", r)
    oid, r = suite.buy(buyer, lid)
    path += row(f"{name}: buy", r)
    path += row(f"{name}: ship", suite.ship(seller, oid, "T"))
    path += row(
        f"{name}: dispute (opens case, commits to draw block)", suite.dispute(buyer, oid, "fake")
    )
    case_id = suite.case_of(oid)
    mine_past(suite, suite.draw_block(case_id))
    by_address = {get_dev_account(j).address: get_dev_account(j) for j in COURT_JUDGES}
    if how == "combined":
        panel = [by_address[a] for a in suite.preview_panel(case_id)]
        votes = [suite.sign_vote(j, case_id, 1) for j in panel[:2]]
        r = suite.execute_with_votes(other, case_id, votes)
        path += row(f"{name}: execute_with_votes (draw, 2 signatures, ruling, fees)", r)
        return path
    path += row(f"{name}: draw (seats and locks the panel)", suite.draw(other, case_id))
    panel = [by_address[a] for a in suite.panel_of(case_id)]
    if how == "signed":
        votes = [suite.sign_vote(j, case_id, 1) for j in panel[:2]]
        r = suite.execute_with_votes(other, case_id, votes)
        path += row(f"{name}: execute_with_votes (2 signatures, ruling, fees, unlock)", r)
    else:
        path += row(f"{name}: vote (first)", suite.vote(panel[0], case_id, 1))
        path += row(f"{name}: vote (second)", suite.vote(panel[1], case_id, 1))
        r = suite.execute_case(other, case_id)
        path += row(f"{name}: execute (ruling, fees, unlock)", r)
    return path


def mine_past(suite: Suite, block: int) -> None:
    """Sends empty transfers until `block` is mined (each transaction is a block here)."""
    tx = suite.tx(get_dev_account(0))
    while suite.w3.eth.block_number <= block:
        tx.send_value(get_dev_account(9).address, 1)


def dispute_gas_by_judges(suite: Suite, row) -> dict[int, tuple[int, int]]:
    """Opening a dispute and drawing its panel with 4 and with 128 staked judges (same
    kind of order, steady state): neither may grow with the number of judges."""
    seller, buyer, other = get_dev_account(16), get_dev_account(17), get_dev_account(3)
    fund = suite.tx(get_dev_account(0))
    for key in (seller, buyer):
        fund.send_value(key.address, 10**20)
    out: dict[int, tuple[int, int]] = {}
    lid, _ = suite.create_listing(seller, PRICE, metadata="judges")
    for count in (4, 128):
        if count == 128:
            extra = [get_dev_account(200 + i) for i in range(128 - len(COURT_JUDGES))]
            for key in extra:
                fund.send_value(key.address, 10**17)
                fund.transact(suite.token.functions.transfer(key.address, 1_000 * 10**18))
                suite.stake_judge(key, 1_000 * 10**18)
        oid, _ = suite.buy(buyer, lid)
        suite.ship(seller, oid, "T")
        d = row(f"dispute with {count} judges", suite.dispute(buyer, oid, "x"))
        mine_past(suite, suite.draw_block(oid))
        out[count] = (d, row(f"draw with {count} judges", suite.draw(other, oid)))
    return out


def fund_validators(suite: Suite, funder, keys) -> None:
    tx = suite.tx(funder)
    for key in keys:
        tx.send_value(key.address, 10**18)
        tx.transact(suite.token.functions.transfer(key.address, 100_000 * 10**18))


def stake_validator(suite: Suite, key, area: int, amount: int) -> None:
    tx = suite.tx(key)
    tx.transact(suite.token.functions.approve(suite.staking.address, amount))
    tx.transact(suite.staking.functions.stake_validator(area, amount))


def activate_validators(suite: Suite, chain: ChainControl, keys) -> None:
    """Waits out the activation delay of the validators' pending stake and activates it."""
    fn = suite.staking.functions
    chain.set_next_timestamp(max(fn.activates_at(k.address).call() for k in keys))
    for key in keys:
        suite.tx(key).transact(fn.activate(key.address))


def anchor_header(
    suite: Suite,
    keys,
    area: int,
    signing: int,
    egress_root: bytes = b"\x33" * 32,
    header_out: list | None = None,
):
    hub = suite.contract("AnchorHub")
    height = hub.functions.latest_height(area).call() + 1
    parent = hub.functions.anchored_hash(area, height - 1).call()
    header = AreaHeader(
        area, height, parent, b"\x11" * 32, b"\x22" * 32, egress_root, 1_700_000_000
    )
    if header_out is not None:
        header_out.append(header)
    digest = hash_area_header(header, suite.w3.eth.chain_id, hub.address)
    signers = sorted(keys[:signing], key=lambda k: int(k.address, 16))
    sigs = [sign_digest(k.key, digest) for k in signers]
    return suite.tx(keys[0]).transact(hub.functions.anchor(header.as_tuple(), sigs))


def report_double_sign(suite: Suite, judge, culprit, area: int):
    hub = suite.contract("AnchorHub")
    chain_id = suite.w3.eth.chain_id
    a = AreaHeader(area, 99, tx_root=b"\xaa" * 32)
    b = AreaHeader(area, 99, tx_root=b"\xbb" * 32)
    sa = sign_digest(culprit.key, hash_area_header(a, chain_id, hub.address))
    sb = sign_digest(culprit.key, hash_area_header(b, chain_id, hub.address))
    fn = hub.functions.report_equivocation(a.as_tuple(), sa, b.as_tuple(), sb)
    return suite.tx(judge).transact(fn)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anvil", action="store_true", help="measure on anvil instead of py-evm")
    args = parser.parse_args()
    console = Console()
    if args.anvil:
        with Anvil() as node:
            rows, steady, paths, by_judges, signed, relay = measure(node)
        where = "anvil"
    else:
        rows, steady, paths, by_judges, signed, relay = measure(EmbeddedChain())
        where = "py-evm (Ape local network)"
    table = Table(title=f"Escrow gas on {where}")
    table.add_column("call")
    table.add_column("gas", justify="right")
    for name, gas in rows:
        table.add_row(name, f"{gas:,}")
    console.print(table)
    gas = dict(rows)
    console.print(
        f"Origin V00 comparison: the steady-state trade is {steady / ORIGIN_V00_TRADE:.1%} of "
        f"Origin V00's {ORIGIN_V00_TRADE:,} (target <= {TARGET:,}: "
        f"{'met' if steady <= TARGET else 'MISSED'})"
    )
    path = paths["combined"]
    console.print(
        "dispute path through the Court, steady state (second trade between the same seller "
        "and buyer, new listing, ruling 1), 2 signed votes with execute_with_votes drawing: "
        f"{path:,} gas = {path / ORIGIN_V00_DISPUTE_PATH:.2f}x Origin V00's "
        f"{ORIGIN_V00_DISPUTE_PATH:,} (one trusted arbiter; this draws a random panel of "
        "staked judges and pays the majority)"
    )
    console.print(
        f"the same path with an explicit draw, then signed votes: {paths['signed']:,} gas; "
        f"with an explicit draw and the 2 votes on chain: {paths['onchain']:,} gas; "
        f"the first-ever dispute path (fresh deployment, new accounts, signed votes, "
        f"execute_with_votes drawing): {paths['first-ever']:,} gas"
    )
    (d4, w4), (d128, w128) = by_judges[4], by_judges[128]
    console.print(
        f"dispute with 4 judges: {d4:,} gas, with 128: {d128:,} ({d128 / d4 - 1:+.1%}); "
        f"draw with 4: {w4:,}, with 128: {w128:,} ({w128 / w4 - 1:+.1%})"
    )
    anchor = gas["anchor (3 of 4 equal-stake validators)"]
    deliver = gas["deliver (proof depth 10, steady state)"]
    # Plain lines, for scripts that read the numbers.
    print(f"steady-state trade: {steady} gas (target <= {TARGET:,})")
    print(f"signed-listing trade: {signed} gas (target <= {SIGNED_TARGET:,})")
    print(f"relay overhead: {relay} gas (target <= {RELAY_TARGET:,})")
    print(
        "whole dispute path (list, buy, ship, dispute, draw, 2 votes, execute): "
        f"{path} gas (target <= {ORIGIN_V00_DISPUTE_PATH:,})"
    )
    print(f"anchor 3 of 4: {anchor} gas (target <= 80,000)")
    print(f"deliver at proof depth 10: {deliver} gas (target <= 70,000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
