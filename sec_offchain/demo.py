"""`sec demo`: the escrow trust loop, narrated, on the embedded devchain."""

from __future__ import annotations

import time

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from sec_offchain.contracts.client import ETH, Suite
from sec_offchain.contracts.deploy import deploy_suite
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.devchain import EmbeddedChain
from sec_offchain.exceptions import ContractRevert
from sec_offchain.payment_uri import build_buy_uri, render_qr

PRICE = 158 * 10**15  # 0.158 ETH
DAY = 86_400


def _eth(wei: int) -> str:
    return f"{wei / 10**18:,.6f}"


def run_demo(console: Console) -> None:
    started = time.monotonic()
    console.print(Panel.fit("SEC demo: an escrow auto-contract, three orders, two trust indexes"))

    console.rule("1. an embedded devchain and the SEC suite")
    with console.status("starting py-evm and compiling contracts ..."):
        chain = EmbeddedChain()
    deployer = get_dev_account(0)
    seller, alice, bob, carol = (get_dev_account(i) for i in (1, 2, 3, 4))
    names = {
        seller.address: "seller",
        alice.address: "buyer alice",
        bob.address: "buyer bob",
        carol.address: "buyer carol",
    }
    with console.status("deploying ..."):
        deployment = deploy_suite(chain.w3, deployer, progress=lambda m: console.print(f"  {m}"))
    suite = Suite(chain.w3, deployment)
    start_balances = {a: chain.w3.eth.get_balance(a) for a in names}

    console.rule("2. the seller posts a product with an escrow auto-contract")
    listing_id, r = suite.create_listing(
        seller, PRICE, ETH, auto_complete=7 * DAY, metadata="Handmade leather wallet, brown"
    )
    listing = suite.get_listing(listing_id)
    console.print(
        f"listing {listing_id}: 'Handmade leather wallet', price {_eth(PRICE)} ETH, auto-completes "
        f"{listing.auto_complete // DAY} days after shipping, seller ships within "
        f"{listing.ship_window // DAY} days ({r['gasUsed']:,} gas)"
    )
    uri = build_buy_uri(str(suite.escrow.address), deployment.chain_id, listing_id, PRICE)
    console.print(f"the post carries this payment request (EIP-681):\n  {uri}", soft_wrap=True)
    console.print(render_qr(uri), highlight=False)

    console.rule("3. order 1: paid, shipped, confirmed by the buyer")
    o1, r = suite.buy(alice, listing_id)
    console.print(f"alice pays {_eth(PRICE)} ETH into escrow: order {o1} ({r['gasUsed']:,} gas)")
    r = suite.ship(seller, o1, "SF-EXPRESS 7730-1182")
    console.print(f"the seller ships with a tracking reference ({r['gasUsed']:,} gas)")
    r = suite.confirm(alice, o1)
    console.print(
        f"alice confirms: the seller is paid at once, trust indexes seller "
        f"{suite.trust_of(seller.address)}, alice {suite.trust_of(alice.address)} ({r['gasUsed']:,} gas)"
    )

    console.rule("4. order 2: completed by time")
    o2, _ = suite.buy(bob, listing_id)
    suite.ship(seller, o2, "SF-EXPRESS 7730-1190")
    order = suite.get_order(o2)
    console.print(f"bob buys (order {o2}); the seller ships; bob does nothing")
    chain.set_next_timestamp(order.deadline - 10)
    console.print("chain time moves to 10 seconds before the auto-complete deadline")
    try:
        suite.finalize(carol, o2)
    except ContractRevert as exc:
        console.print(f"  carol tries to finalize: refused ({exc.reason})")
    chain.set_next_timestamp(order.deadline)
    r = suite.finalize(carol, o2)
    console.print(
        f"at the deadline anyone may finalize: carol does, order {o2} completed, seller trust "
        f"{suite.trust_of(seller.address)}, bob {suite.trust_of(bob.address)} ({r['gasUsed']:,} gas)"
    )

    console.rule("5. order 3: cancelled before shipping")
    o3, _ = suite.buy(carol, listing_id)
    r = suite.cancel(seller, o3)
    console.print(
        f"carol buys (order {o3}); the seller is out of stock and cancels: carol is refunded in full, "
        f"the seller's failed trade costs 1 trust point but never bans an honest seller "
        f"(seller trust {suite.trust_of(seller.address)}) ({r['gasUsed']:,} gas)"
    )

    console.rule("6. balances and trust indexes")
    table = Table()
    for col in ("account", "address", "ETH change", "owed by escrow", "trust", "status", "trades"):
        table.add_column(col, justify="right" if col in ("ETH change", "trust", "trades") else "left")
    for address, name in names.items():
        change = chain.w3.eth.get_balance(address) - start_balances[address]
        table.add_row(
            name,
            address[:10] + "...",
            f"{change / 10**18:+.6f}",
            _eth(suite.owed(address, ETH)),
            str(suite.trust_of(address)),
            suite.status_of(address).name.lower(),
            str(suite.call(suite.trust.functions.trades_of(address))),
        )
    console.print(table)
    escrow_balance = chain.w3.eth.get_balance(suite.escrow.address)
    console.print(
        f"escrow holds {_eth(escrow_balance)} ETH (no open orders); ETH changes include gas. "
        f"Done in {time.monotonic() - started:.1f} s."
    )
