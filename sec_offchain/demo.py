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
    seller, alice, bob, carol, dave = (get_dev_account(i) for i in (1, 2, 3, 4, 5))
    judges = [get_dev_account(i) for i in (6, 7, 8, 9)]
    names = {
        seller.address: "seller",
        alice.address: "alice",
        bob.address: "bob",
        carol.address: "carol",
        dave.address: "dave",
    }
    with console.status("deploying ..."):
        deployment = deploy_suite(chain.w3, deployer, progress=lambda m: console.print(f"  {m}"))
    suite = Suite(chain.w3, deployment)
    start_balances = {a: chain.w3.eth.get_balance(a) for a in names}
    start_sec = {a: suite.sec_balance(a) for a in names}

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
        f"{suite.trust_of(seller.address)}, alice {suite.trust_of(alice.address)} "
        f"({r['gasUsed']:,} gas)"
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
        f"{suite.trust_of(seller.address)}, bob {suite.trust_of(bob.address)} "
        f"({r['gasUsed']:,} gas)"
    )

    console.rule("5. order 3: cancelled before shipping")
    o3, _ = suite.buy(carol, listing_id)
    r = suite.cancel(seller, o3)
    console.print(
        f"carol buys (order {o3}); the seller is out of stock and cancels: carol is "
        "refunded in full, "
        f"the seller's failed trade costs 1 trust point but never bans an honest seller "
        f"(seller trust {suite.trust_of(seller.address)}) ({r['gasUsed']:,} gas)"
    )

    console.rule("6. alice shares her purchase; dave buys through the share")
    share_id, r = suite.share(alice, o1)
    console.print(
        f"alice shares order {o1} (share {share_id}, valid 72 hours) ({r['gasUsed']:,} gas)"
    )
    o4, _ = suite.buy(dave, listing_id, share_id)
    suite.ship(seller, o4, "SF-EXPRESS 7730-1201")
    alice_before = chain.w3.eth.get_balance(alice.address)
    r = suite.confirm(dave, o4)
    reward = suite.get_share_reward(r)
    assert reward is not None
    received = chain.w3.eth.get_balance(alice.address) - alice_before
    console.print(
        f"dave buys through alice's share within 72 hours (order {o4}), the seller ships and "
        f"dave confirms: alice receives {_eth(received)} ETH at once, a "
        f"{int(suite.call(suite.shares.functions.REWARD_BPS())) / 100:g} % commission out of "
        f"the seller's {_eth(PRICE)} ETH; the seller gets {_eth(PRICE - reward.commission)} ETH "
        f"({r['gasUsed']:,} gas)"
    )
    console.print(
        "  the commission comes out of the sale it rewards and only after shipping, so one "
        "person acting as seller, sharer and buyer only ever loses gas"
    )

    console.rule("7. fake goods: a dispute decided by a panel of staked judges")
    for judge in judges:
        suite.stake_judge(judge, 1_000 * 10**18)
    console.print(f"{len(judges)} judges stake 1,000 SEC each")
    o5, _ = suite.buy(bob, listing_id)
    suite.ship(seller, o5, "SF-EXPRESS 7730-1215")
    deposit = int(suite.call(suite.escrow.functions.dispute_deposit(o5)))
    r = suite.dispute(bob, o5, "photos of a counterfeit logo")
    case_id = suite.case_of(o5)
    draw_block = suite.draw_block(case_id)
    console.print(
        f"bob receives a fake and disputes order {o5} with a {_eth(deposit)} ETH deposit; "
        f"case {case_id} will draw its panel from the hash of block {draw_block}, which does "
        f"not exist yet, so nobody can choose the judges ({r['gasUsed']:,} gas)"
    )
    chain.mine_blocks(draw_block + 1 - chain.w3.eth.block_number)
    r = suite.draw(carol, case_id)
    panel = suite.panel_of(case_id)
    console.print(
        f"block {draw_block} is mined; carol draws the panel: {len(panel)} judges, never bob "
        f"or the seller ({r['gasUsed']:,} gas)"
    )
    by_address = {j.address: j for j in judges}
    for address in panel[:2]:
        suite.vote(by_address[address], case_id, 1)
    console.print("two panel judges vote: fake goods (buyer right)")
    trust_before = suite.trust_of(seller.address)
    bob_before = chain.w3.eth.get_balance(bob.address)
    r = suite.execute_case(carol, case_id)
    refund = chain.w3.eth.get_balance(bob.address) - bob_before
    console.print(
        f"carol executes the majority: bob is refunded {_eth(refund)} ETH, the two "
        "majority judges share the "
        f"judges' fee, the seller's trust falls from {trust_before} to "
        f"{suite.trust_of(seller.address)} "
        f"({suite.status_of(seller.address).name.lower()}) ({r['gasUsed']:,} gas)"
    )
    try:
        suite.create_listing(seller, PRICE, ETH)
    except ContractRevert as exc:
        console.print(f"  the seller tries to list again: refused ({exc.reason})")

    console.rule("8. validators anchor area headers; one double-signs; a judge proves it")
    _validators_and_slashing(console, chain, suite, deployer, judges[0])

    console.rule("9. a cross-area purchase: paid in one area, delivered to another by BGC")
    _cross_area_purchase(console, chain, suite, deployer, carol, [bob, dave, alice], names)

    console.rule("10. gasless: a listing posted for free, bought and confirmed without ETH")
    _gasless_trade(console, suite, deployer, get_dev_account(9))

    console.rule("11. balances and trust indexes")
    table = Table()
    for col in ("account", "address", "ETH change", "SEC change", "trust", "status", "trades"):
        table.add_column(
            col, justify="left" if col in ("account", "address", "status") else "right"
        )
    for address, name in names.items():
        change = chain.w3.eth.get_balance(address) - start_balances[address]
        table.add_row(
            name,
            address[:10] + "...",
            f"{change / 10**18:+.6f}",
            f"{(suite.sec_balance(address) - start_sec[address]) / 10**18:+,.2f}",
            str(suite.trust_of(address)),
            suite.status_of(address).name.lower(),
            str(suite.trades_of(address)),
        )
    console.print(table)
    escrow_balance = chain.w3.eth.get_balance(suite.escrow.address)
    console.print(
        f"escrow holds {_eth(escrow_balance)} ETH: every payment, refund, commission and "
        "judges' fee was pushed to its receiver; ETH changes include gas. "
        f"Done in {time.monotonic() - started:.1f} s."
    )


def _gasless_trade(console: Console, suite: Suite, deployer, relayer) -> None:
    """A new seller and a new buyer, neither holding any ETH: the seller signs a listing
    off-chain, the buyer pays in SEC with a permit and a relayed `buy_signed`, the seller ships
    and the buyer confirms, both through the relayer, which pays every gas unit."""
    import tempfile
    from pathlib import Path

    from eth_account import Account

    from sec_offchain.contracts.client import to_bytes32
    from sec_offchain.crypto.hashing import keccak
    from sec_offchain.listings import Listing, metadata_of, new_salt, sign_listing
    from sec_offchain.relay.actions import sign_relayed, sign_relayed_buy
    from sec_offchain.relay.core import RelayerCore

    w3, escrow = suite.w3, suite.escrow
    erin = Account.from_key(keccak(b"sec demo: erin, a seller"))
    frank = Account.from_key(keccak(b"sec demo: frank, a buyer"))
    price = 158 * 10**18
    suite.tx(deployer).transact(suite.token.functions.transfer(frank.address, 500 * 10**18))
    console.print(
        f"erin (new seller) holds {_eth(w3.eth.get_balance(erin.address))} ETH; frank (new "
        f"buyer) holds {_eth(w3.eth.get_balance(frank.address))} ETH and 500 SEC"
    )
    now = int(w3.eth.get_block("latest")["timestamp"])
    text = "Hand-knitted scarf, grey"
    listing = Listing(
        erin.address,
        price,
        str(suite.token.address),
        7 * DAY,
        3 * DAY,
        metadata_of(text),
        5,
        now + 30 * DAY,
        new_salt(),
    )
    signed = sign_listing(bytes(erin.key), listing, w3.eth.chain_id, str(escrow.address), text)
    link = signed.to_link()
    console.print(
        f"erin signs a listing off-chain: '{text}', 158 SEC, up to 5 orders, valid 30 days: "
        f"no transaction, 0 gas. Its link ({len(link)} characters) and QR code:"
    )
    console.print(f"  {link}", soft_wrap=True, highlight=False)
    console.print(render_qr(link), highlight=False)
    with tempfile.TemporaryDirectory() as tmp:
        core = RelayerCore.for_suite(suite, relayer, Path(tmp) / "relay.db")
        spent_before = w3.eth.get_balance(relayer.address)

        def relay(what: str, request, signature, permit=None) -> dict:
            outcome = core.submit(request, signature, permit)
            if outcome.status == "refused":
                raise ContractRevert(outcome.reason)
            outcome = core.wait(outcome.hash)
            receipt = w3.eth.get_transaction_receipt(outcome.tx_hash)
            console.print(
                f"  the relayer sends {what}: {outcome.status} {outcome.reason} "
                f"({outcome.gas_used:,} gas, paid by the relayer)"
            )
            return receipt

        request, signature, permit = sign_relayed_buy(suite, frank, signed)
        console.print(
            "frank opens the link and signs two messages, no transaction: an EIP-2612 permit "
            "for exactly 158 SEC, and a forward request for buy_signed"
        )
        receipt = relay("the permit, then buy_signed", request, signature, permit)
        order_id = suite.events(receipt, "Escrow", "OrderPaid")[0]["order_id"]
        console.print(f"  order {order_id} paid by frank: 158 SEC held by the escrow")
        again = core.submit(request, signature, permit)
        console.print(
            f"frank's app retries the same request: the relayer answers '{again.status}' with "
            "the same transaction, nothing is sent twice"
        )
        relay(
            "erin's ship",
            *sign_relayed(
                suite, erin, escrow.functions.ship(order_id, to_bytes32("SF-EXPRESS 7730-1300"))
            ),
        )
        seller_before = suite.sec_balance(erin.address)
        relay("frank's confirm", *sign_relayed(suite, frank, escrow.functions.confirm(order_id)))
        refused = core.submit(
            *sign_relayed(suite, frank, suite.token.functions.approve(erin.address, 1))
        )
        console.print(f"frank asks the relayer to sponsor an ERC-20 approve: {refused.reason}")
        core.close()
        paid = (spent_before - w3.eth.get_balance(relayer.address)) / 10**18
    console.print(
        f"erin is paid {(suite.sec_balance(erin.address) - seller_before) / 10**18:,.0f} SEC at "
        f"confirmation; trust erin {suite.trust_of(erin.address)}, frank "
        f"{suite.trust_of(frank.address)}; erin and frank still hold "
        f"{_eth(w3.eth.get_balance(erin.address))} and {_eth(w3.eth.get_balance(frank.address))} "
        f"ETH; the relayer paid {paid:.6f} ETH of gas"
    )


def _validators_and_slashing(
    console: Console, chain: EmbeddedChain, suite: Suite, deployer, judge
) -> None:
    import tempfile
    from pathlib import Path

    from sec_offchain.consensus.evidence import EquivocationWatcher, Evidence
    from sec_offchain.consensus.signer import SlashingProtectionError, ValidatorSigner
    from sec_offchain.encoding.area_header import hash_area_header, sign_digest

    sec = 10**18
    area = 1
    validators = [get_dev_account(i) for i in (10, 11, 12, 13)]
    funder = suite.tx(deployer)
    for v in validators:
        funder.send_value(v.address, 10**18)
        funder.transact(suite.token.functions.transfer(v.address, 100_000 * sec))
        suite.stake_validator(v, area, 100_000 * sec)
    delay = suite.activation_delay()
    console.print(
        f"{len(validators)} validators stake 100,000 SEC each for area {area}: the stake waits "
        f"{delay // 3600} h before it counts, so no freshly bonded majority can anchor"
    )
    suite.activate_validators(validators, chain)
    console.print(f"the chain clock moves on {delay // 3600} h; the validators activate")

    hub = str(suite.anchor_hub.address)
    chain_id = int(chain.w3.eth.chain_id)
    workdir = Path(tempfile.mkdtemp(prefix="sec-demo-"))
    signers = [
        ValidatorSigner(v.key, workdir / f"{v.address}.sqlite", chain_id, hub) for v in validators
    ]
    watcher = EquivocationWatcher(chain_id, hub)
    for n in (1, 2):
        if n == 2:
            chain.advance_time(3600)
        header = suite.next_header(area, tx_root=bytes([n]) * 32, credit_root=b"\x0c" * 32)
        sigs = [s.sign(header) for s in signers[:3]]
        for sig in sigs:
            watcher.observe(header, sig)
        r = suite.anchor(deployer, header, sigs)
        console.print(
            f"header {header.height} of area {area} anchored with 3 of 4 signatures "
            f"(> 2/3 of the stake) ({r['gasUsed']:,} gas)"
        )

    rogue = validators[3]
    conflicting = suite.next_header(area, tx_root=b"\x66" * 32)
    honest = suite.next_header(area, tx_root=b"\x03" * 32)
    signers[3].sign(honest)
    try:
        signers[3].sign(conflicting)
    except SlashingProtectionError as exc:
        console.print(
            f"validator 4's own signer refuses a second header at height {honest.height}: {exc}"
        )
    # A rogue client with the raw key has no such record and signs both.
    evidence = None
    for header in (honest, conflicting):
        sig = sign_digest(rogue.key, hash_area_header(header, chain_id, hub))
        evidence = watcher.observe(header, sig) or evidence
    assert evidence is not None
    path = evidence.save(workdir / "evidence.json")
    console.print(
        f"a rogue client signs both; the judges' watcher catches it and writes {path.name}"
    )

    staking = suite.staking
    r = suite.tx(deployer).transact(staking.functions.distribute_rewards(area))
    paid = suite.events(r, "Staking", "RewardsDistributed")[0]
    console.print(
        f"rewards accrue by time, not by header: {paid['headers']} headers anchored over "
        f"{paid['seconds']:,} s earn {paid['amount'] / sec:,.4f} SEC (about 5 % a year on the "
        "active stake), shared by the validators"
    )

    def claimable() -> list[int]:
        return [int(suite.call(staking.functions.claimable(v.address))) for v in validators[:3]]

    before = claimable()
    supply = suite.sec_balance(staking.address)
    total_supply = int(suite.call(suite.token.functions.totalSupply()))
    r = suite.report_equivocation(judge, Evidence.from_file(path))
    slashed = suite.events(r, "Staking", "Slashed")[0]
    redistributed = [a - b for a, b in zip(claimable(), before, strict=True)]
    console.print(
        f"a judge submits it ({r['gasUsed']:,} gas): validator 4 slashed "
        f"{slashed['amount'] / sec:,.0f} SEC (50 %) and ejected — "
        f"{slashed['burned'] / sec:,.0f} burned, "
        f"{slashed['bounty'] / sec:,.0f} bounty to the judge, "
        f"{sum(redistributed) / sec:,.2f} shared by the three honest validators"
    )
    burned = total_supply - int(suite.call(suite.token.functions.totalSupply()))
    console.print(
        f"SEC supply fell by {burned / sec:,.0f}; staking holds "
        f"{(supply - suite.sec_balance(suite.staking.address)) / sec:,.0f} SEC less; "
        "area stake now "
        f"{int(suite.call(suite.staking.functions.area_stake(area))) / sec:,.0f} SEC"
    )
    for s in signers:
        s.close()


def _cross_area_purchase(
    console: Console, chain: EmbeddedChain, suite: Suite, deployer, buyer, sellers, names
) -> None:
    """The whitepaper's BGC example on two in-process area chains (one producer each) and
    the embedded chain: the buyer's area finds the seller's area by the account-to-area
    lookup, the payment leaves as egress, is anchored, delivered, and held for the seller."""
    import tempfile
    from pathlib import Path

    from sec_offchain.area.block import anchor_domain_separator, fast_header_digest
    from sec_offchain.area.chain import AreaChain, AreaConfig, RoundRobin
    from sec_offchain.area.events import Web3Events
    from sec_offchain.area.ledger import CONFIRM, PAY, SHIP, AreaTx
    from sec_offchain.area.records import domain_separator, product_id_of
    from sec_offchain.encoding.area_header import sign_digest
    from sec_offchain.relayers.bgc import BgcRelayer

    sec = 10**18
    ids = (3, 4)

    def area_of(address: str) -> int:
        return ids[int(address, 16) % len(ids)]

    seller = next(s for s in sellers if area_of(s.address) != area_of(buyer.address))
    src, dst = area_of(buyer.address), area_of(seller.address)
    bname, sname = names[buyer.address], names[seller.address]
    funder = suite.tx(deployer)
    validators = {a: [get_dev_account(30 + 4 * k + i) for i in range(4)] for k, a in enumerate(ids)}
    for area, vs in validators.items():
        for v in vs:
            funder.send_value(v.address, 10**18)
            funder.transact(suite.token.functions.transfer(v.address, 100_000 * sec))
            suite.stake_validator(v, area, 100_000 * sec)
    suite.activate_validators([v for vs in validators.values() for v in vs], chain)
    producers = {a: get_dev_account(40 + a) for a in ids}
    chain_id = int(chain.w3.eth.chain_id)
    sep = anchor_domain_separator(chain_id, str(suite.anchor_hub.address))
    rsep = domain_separator(chain_id, str(suite.escrow.address))
    gw = suite.contract("BorderGateway")
    events = Web3Events(chain.w3, gw.address, gw.abi, min_interval=0)
    work = Path(tempfile.mkdtemp(prefix="sec-demo-bgc-"))
    areas = {
        a: AreaChain(
            work / f"area{a}.db",
            AreaConfig(a, chain_id, sep, rsep),
            RoundRobin((bytes.fromhex(producers[a].address[2:]),)),
            events=events,
        )
        for a in ids
    }
    clock = [int(chain.w3.eth.get_block("latest")["timestamp"])]

    def seal(area: int, n: int = 1) -> None:
        for _ in range(n):
            clock[0] += 1
            p = producers[area]
            areas[area].add_block(
                areas[area].build_block(p.key, bytes.fromhex(p.address[2:]), clock[0]),
                now=clock[0],
            )

    def anchor(area: int) -> None:
        hub = suite.anchor_hub.functions
        for h in range(hub.latest_height(area).call() + 1, areas[area].final_height + 1):
            header = areas[area].block_at(h).header.area_header()
            digest = fast_header_digest(header, sep)
            signers = sorted(validators[area][:3], key=lambda v: int(v.address, 16))
            suite.anchor(deployer, header, [sign_digest(v.key, digest) for v in signers])

    b, s_ = bytes.fromhex(buyer.address[2:]), bytes.fromhex(seller.address[2:])
    console.print(
        f"areas {ids[0]} and {ids[1]}, four staked validators each; the lookup puts "
        f"{bname} in area {src} and {sname} in area {dst}"
    )
    suite.ensure_allowance(buyer, gw.address, 100 * sec)
    suite.tx(buyer).transact(gw.functions.deposit_to_area(src, 100 * sec))
    seal(src)
    console.print(
        f"{bname} deposits 100 SEC into area {src} "
        f"(area {src} credits it: {areas[src].ledger.balances[b] // sec} SEC)"
    )
    listing, _ = suite.create_listing(seller, 30 * sec, token=str(suite.token.address))
    pay = AreaTx(
        PAY, b, src, 1, dst_area=dst, recipient=s_, amount=30 * sec, listing_id=listing
    ).signed(buyer.key, rsep)
    areas[src].add_tx(pay)
    seal(src, 3)  # the paying block, then two on top: final
    anchor(src)
    message = areas[src].block_at(2).egress[0]
    console.print(
        f"{bname} pays {sname}'s listing {listing} (30 SEC) from area {src}: message "
        f"{message.src_area}->{message.dst_area} nonce {message.nonce} leaves in block "
        f"2's egress; the block is final and anchored"
    )
    relayer = BgcRelayer(
        chain.w3,
        suite.anchor_hub,
        gw,
        deployer,
        list(ids),
        lambda a, h: areas[a].block_at(h),
        sep,
        work / "bgc.db",
    )
    relayer.step()
    console.print(
        f"the BGC relayer proves it against the anchored egress root: delivered; "
        f"on chain area {src} holds {gw.functions.area_balance(src).call() // sec} "
        f"SEC, area {dst} {gw.functions.area_balance(dst).call() // sec} SEC"
    )
    seal(dst)
    ref = (src, 1)
    console.print(
        f"area {dst} takes the ingress: {sname} sees the order "
        f"{areas[dst].ledger.payments[ref]['status']}"
    )
    areas[dst].add_tx(AreaTx(SHIP, s_, dst, 1, ref_src=src, ref_nonce=1).signed(seller.key, rsep))
    seal(dst)
    areas[dst].add_tx(AreaTx(CONFIRM, b, dst, 1, ref_src=src, ref_nonce=1).signed(buyer.key, rsep))
    seal(dst)
    console.print(
        f"{sname} ships, {bname} confirms: {sname} holds "
        f"{areas[dst].ledger.balances[s_] // sec} SEC in area {dst}; listing {listing}'s "
        f"product credit is {areas[dst].credits[product_id_of(listing)]}"
    )
    again = relayer.step()
    console.print(f"the relayer runs again: {again} more deliveries (exactly once)")
    for c in areas.values():
        c.close()
