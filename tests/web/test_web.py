"""The web app in a real browser: headless Chromium (the OS package, driven by Playwright)
against anvil with the suite as `sec devnet up` provisions it, area 1's nodes, the escrow
bridge and the anchor relayer (the devnet's own processes and supervisor), and `sec gateway
up` (with a relayer and the devnet's nodes), all started here once for the module. A small
EIP-1193 provider injected into each browser context forwards to anvil's dev accounts and
stands in for a wallet extension; the pages cannot tell.

Journey (the tests run in order and share the chain): a seller posts an ETH and an SEC listing
and gets links; a buyer at phone size pays the first with ETH while the dashboard shows the
payment live; a buyer with SEC and no ETH pays the second gaslessly; the seller ships, the
buyer confirms, each sees the other's step live; a gateway error and a wallet rejection each
show one sentence; a dispute, a share; the listing page verifies the product's credit against
the anchored header and refuses tampered proofs; the dashboard shows the nodes and relayers,
and alerts while the anchor relayer is stopped. Screenshots of each page at phone size go to
build/web-screenshots/."""

import copy
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from web3 import Web3

from sec_offchain.consensus.pow import CommunityPoW
from sec_offchain.contracts.client import Suite
from sec_offchain.contracts.deployment import Deployment
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.devchain import Anvil, get_free_port
from sec_offchain.listings import ListingError, decode_code

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "web-screenshots"
SELLER, ETH_BUYER, SEC_BUYER = get_dev_account(1), get_dev_account(2), get_dev_account(3)
RELAYER = "dev:7"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
BONUS_CAP = 50 * 10**18
TIMEOUT = 30_000  # ms: generous, polled (never a race against a deadline)
AREA_NODES = 2
AREA_INTERVAL = 2.0  # seconds per area block
ANCHOR_LAG_ALERT = 3  # final blocks left unanchored before the dashboard alerts

pytestmark = pytest.mark.anvil

# The stand-in wallet: eth_requestAccounts/eth_accounts answer the configured account; every
# other request goes to anvil, which signs (eth_sendTransaction, eth_signTypedData_v4) with its
# unlocked dev accounts. `reject` lists methods the "user" refuses (EIP-1193 error 4001).
PROVIDER = """
(() => {
  const cfg = %s;
  let id = 0;
  window.ethereum = {
    isWallet: true,
    async request({ method, params }) {
      if (cfg.reject.includes(method)) {
        const e = new Error("User rejected the request."); e.code = 4001; throw e;
      }
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [cfg.account];
      const res = await fetch(cfg.rpc, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params || [] }),
      });
      const body = await res.json();
      if (body.error) {
        const e = new Error(body.error.message);
        e.code = body.error.code;
        e.data = body.error.data;
        throw e;
      }
      return body.result;
    },
    on() {}, removeListener() {},
  };
})();
"""


@pytest.fixture(scope="module")
def node():
    with Anvil() as anvil:
        yield anvil


@pytest.fixture(scope="module")
def suite(node, tmp_path_factory):
    from sec_offchain.contracts.deploy import SuiteParams
    from sec_offchain.devnet import provision

    # The suite as `sec devnet up` provisions it (one area, its validators staked and
    # active), with a share bonus (0 by default) so a sharer has SEC to claim.
    home = tmp_path_factory.mktemp("web") / "devnet"
    home.mkdir()
    cfg = provision(
        node.w3,
        node.url,
        home,
        areas=1,
        nodes=AREA_NODES,
        interval=AREA_INTERVAL,
        say=lambda m: None,
        params=SuiteParams(share_bonus_cap=BONUS_CAP),
    )
    path = Path(cfg.deployments)
    suite = Suite(node.w3, Deployment.from_file(path))
    suite.path = path  # type: ignore[attr-defined]
    suite.cfg = cfg  # type: ignore[attr-defined]
    # The gasless buyer holds SEC (the dev faucet) and no ETH at all.
    node.w3.provider.make_request("anvil_setBalance", [SEC_BUYER.address, "0x0"])
    return suite


@pytest.fixture(scope="module")
def network(suite):
    """Area 1's nodes, the escrow bridge and area 1's anchor relayer: the processes `sec
    devnet up` starts (the same commands), under the same supervisor (its state file is
    what the gateway shows); the standby bridge and the BGC relayer are left out."""
    from sec_offchain.devnet import SUPERVISOR_FILE, process_specs
    from sec_offchain.procs import Supervisor

    cfg = suite.cfg
    wanted = {f"node-1-{i}" for i in range(AREA_NODES)} | {"bridge-0", "anchor-relayer-1"}
    specs = [(name, cmd) for name, cmd in process_specs(cfg) if name in wanted]
    supervisor = Supervisor(
        specs, cfg.home / "logs", cfg.home / SUPERVISOR_FILE, say=lambda m: None, cwd=ROOT
    )
    supervisor.start()
    yield supervisor
    supervisor.stop()


@pytest.fixture(scope="module")
def app(node, suite, network):
    port = get_free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SEC_PROJECT_ROOT": str(ROOT)}
    log = suite.cfg.home / "logs" / "gateway.log"  # beside the devnet processes' logs
    log.parent.mkdir(exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sec_offchain.cli",
                "gateway",
                "up",
                "--rpc",
                node.url,
                "--deployment",
                str(suite.path),
                "--port",
                str(port),
                "--relayer-key",
                RELAYER,
                "--devnet",
                str(suite.cfg.home),
                "--public-rpc",
                node.url,
                "--alert-anchor-lag",
                str(ANCHOR_LAG_ALERT),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
    end = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/v1/status", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > end:
            proc.kill()
            raise AssertionError(f"gateway did not start: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def wallet(browser, node):
    """A browser context whose injected wallet is `account` (a LocalAccount)."""
    contexts = []

    def open_context(account, viewport=DESKTOP, reject=()):
        context = browser.new_context(viewport=viewport)
        cfg = {"account": account.address, "rpc": node.url, "reject": list(reject)}
        context.add_init_script(PROVIDER % json.dumps(cfg))
        context.set_default_timeout(TIMEOUT)
        contexts.append(context)
        return context

    yield open_context
    for c in contexts:
        c.close()


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def network_ready(app):
    """Every area node answers with its peers, area 1 has anchored, and nothing alerts."""
    net = httpx.get(f"{app}/v1/network").json()
    nodes = [n for a in net["areas"] for n in a["nodes"]]
    areas = httpx.get(f"{app}/v1/areas").json()
    return (
        len(nodes) == AREA_NODES
        and all(n["up"] and n["peers"] == AREA_NODES - 1 for n in nodes)
        and [a["area_id"] for a in areas] == [1]
        and areas[0]["anchored_height"] >= 1
        and httpx.get(f"{app}/v1/alerts").json()["alerts"] == []
    )


def wait_for(predicate, what, timeout=60.0):
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.1)


LINKS: dict[str, str] = {}


def post(page, title, price, token, quantity="1"):
    page.get_by_label("Product title").fill(title)
    page.get_by_label("Price").fill(price)
    page.get_by_label("Paid in").select_option(token)
    page.get_by_label("Auto-complete after shipping (days)").fill("5")
    page.get_by_label("Quantity (0: unlimited)").fill(quantity)
    page.get_by_role("button", name="Sign with my wallet and publish").click()
    page.wait_for_selector(f"#notice:has-text('Published: {title} ')")
    return page.locator("#link").inner_text()


def test_post__seller_signs_in_the_wallet__gets_a_link_and_qr(app, suite, wallet):
    page = wallet(SELLER, PHONE).new_page()
    page.goto(f"{app}/app/post.html")
    eth_link = post(page, "Handmade leather wallet", "0.25", "ETH")
    assert page.locator("#notice").inner_text() == (
        "Published: Handmade leather wallet for 0.25 ETH."
    )
    page.wait_for_function(
        "(img => img.complete && img.naturalWidth > 0)(document.getElementById('qr'))"
    )
    shot(page, "post")
    sec_link = post(page, "Tea set", "158", "SEC")
    assert page.locator("#notice").inner_text() == "Published: Tea set for 158 SEC."

    for link, price, token in (
        (eth_link, 25 * 10**16, "0x0000000000000000000000000000000000000000"),
        (sec_link, 158 * 10**18, suite.token.address),
    ):
        assert link.startswith(f"{app}/l/")
        signed = decode_code(link.rsplit("/l/", 1)[1])  # verifies the seller's signature
        listing = signed.listing
        assert (listing.seller, listing.price, listing.token) == (SELLER.address, price, token)
        assert (listing.auto_complete, listing.ship_window, listing.quantity) == (
            5 * 86_400,
            3 * 86_400,
            1,
        )
        assert suite.escrow.functions.listing_digest(listing.as_tuple()).call() == signed.digest
    expect(page.locator("#mine li")).to_have_text(
        ["Tea set — 158 SEC, sold 0 of 1", "Handmade leather wallet — 0.25 ETH, sold 0 of 1"]
    )
    LINKS.update(eth=eth_link, sec=sec_link)


def test_listing__buyer_at_phone_size_pays_with_eth__dashboard_shows_it_live(app, suite, wallet):
    wait_for(lambda: network_ready(app), "area 1's nodes up and anchoring", timeout=120)
    dashboard = wallet(SELLER, DESKTOP).new_page()
    dashboard.goto(f"{app}/app/dashboard.html")
    dashboard.wait_for_selector("#live:text('live')")
    expect(dashboard.locator("#alerts li")).to_have_text(["No alerts."])

    page = wallet(ETH_BUYER, PHONE).new_page()
    page.goto(LINKS["eth"])
    page.wait_for_selector("#product[aria-busy='false']")
    assert page.locator("#name").inner_text() == "Handmade leather wallet"
    assert page.locator("#price").inner_text() == "0.25 ETH"
    assert page.locator("#signed").inner_text() == "✓ Signed by the seller (checked in this page)."
    assert page.locator("#credit").inner_text() == (
        "Product credit: none yet — nobody has bought through this listing."
    )
    page.wait_for_selector("#trust:text('Trust index')")
    shot(page, "listing")
    paint = page.evaluate(
        "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"
    )
    assert paint is not None
    (SHOTS / "listing-first-contentful-paint-ms.txt").write_text(f"{paint:.0f}\n")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    before = suite.w3.eth.get_balance(ETH_BUYER.address)
    page.get_by_role("button", name="Pay with ETH").click()
    page.wait_for_selector("#notice:not([hidden])")
    assert page.locator("#notice").inner_text() == (
        "Paid: order #1 is in escrow until you confirm delivery. See my orders"
    )
    order = suite.escrow.functions.get_order(1).call()
    assert suite.get_order(1).buyer == ETH_BUYER.address
    assert suite.get_order(1).price == 25 * 10**16
    assert before - suite.w3.eth.get_balance(ETH_BUYER.address) > 25 * 10**16
    assert order is not None
    # The dashboard got the purchase over the stream, without a reload.
    dashboard.wait_for_selector("#feed li[data-event='OrderPaid']")
    dashboard.wait_for_selector(".volume:has-text('1 orders')")
    assert dashboard.locator(".volume").first.inner_text() == (
        "ETH: 1 orders, 0.25 ETH paid in, 0 ETH paid out"
    )
    dashboard.set_viewport_size(PHONE)
    assert dashboard.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert dashboard.locator("#chart circle").count() == 1  # one order paid so far
    shot(dashboard, "dashboard")
    dashboard.close()  # it polls the gateway every second while open


def test_listing__buyer_with_no_eth_pays_with_sec_gaslessly(app, suite, wallet):
    w3 = suite.w3
    assert w3.eth.get_balance(SEC_BUYER.address) == 0
    sec_before = suite.token.functions.balanceOf(SEC_BUYER.address).call()
    page = wallet(SEC_BUYER, PHONE).new_page()
    page.goto(LINKS["sec"])
    page.wait_for_selector("#product[aria-busy='false']")
    assert page.locator("#price").inner_text() == "158 SEC"
    page.get_by_role("button", name="Pay with SEC (no gas needed)").click()
    page.wait_for_selector("#notice:not([hidden])")
    assert page.locator("#notice").inner_text() == (
        "Paid: order #2 is in escrow until you confirm delivery. See my orders"
    )
    order = suite.get_order(2)
    assert (order.buyer, order.seller, order.price) == (
        SEC_BUYER.address,
        SELLER.address,
        158 * 10**18,
    )
    assert w3.eth.get_balance(SEC_BUYER.address) == 0
    assert suite.token.functions.balanceOf(SEC_BUYER.address).call() == sec_before - 158 * 10**18
    # Sold out now: the page says so and offers no payment.
    page.reload()
    page.wait_for_selector("#error:not([hidden])")
    assert page.locator("#error").inner_text() == "This listing is sold out."
    assert page.locator("#pay").is_hidden()


def test_orders__seller_ships_buyer_confirms__each_sees_it_live(app, suite, wallet):
    seller = wallet(SELLER, DESKTOP).new_page()
    buyer = wallet(ETH_BUYER, PHONE).new_page()
    for page in (seller, buyer):
        page.goto(f"{app}/app/orders.html")
        page.get_by_role("button", name="Connect wallet").click()
        page.wait_for_selector("#live:text('Live'), #error:not([hidden])")
        assert page.locator("#error").is_hidden(), page.locator("#error").inner_text()
    assert seller.locator("#order-1").get_attribute("data-status") == "paid"
    seller.locator("#order-1").get_by_label("Tracking number").fill("SF1234567890")
    seller.locator("#order-1 button", has_text="Ship").click()
    seller.wait_for_selector("#notice:not([hidden]), #error:not([hidden])")
    assert seller.locator("#notice").inner_text() == "Order #1 shipped."
    assert suite.get_order(1).status == 2  # shipped
    buyer.wait_for_selector("#order-1[data-status='shipped']")  # live, no reload
    shot(buyer, "orders")

    buyer.locator("#order-1").get_by_role("button", name="Confirm delivery").click()
    buyer.wait_for_selector("#notice:not([hidden]), #error:not([hidden])")
    assert buyer.locator("#notice").inner_text() == "Order #1 confirmed: the seller is paid."
    assert suite.get_order(1).status == 3  # completed
    seller.wait_for_selector("#order-1[data-status='completed']")  # live, no reload


def test_errors__gateway_refusal_and_wallet_rejection__one_sentence_each(app, wallet):
    page = wallet(ETH_BUYER, PHONE).new_page()
    page.goto(f"{app}/l/AAAA")
    page.wait_for_selector("#error:not([hidden])")
    with pytest.raises(ListingError) as reason:
        decode_code("AAAA")
    assert page.locator("#error").inner_text() == f"The gateway refused: {reason.value}."
    assert page.locator("#name").inner_text() == "This listing cannot be shown"
    shot(page, "listing-error")

    page = wallet(SELLER, PHONE, reject=("eth_signTypedData_v4",)).new_page()
    page.goto(f"{app}/app/post.html")
    page.get_by_label("Product title").fill("Rejected")
    page.get_by_label("Price").fill("1")
    page.get_by_role("button", name="Sign with my wallet and publish").click()
    page.wait_for_selector("#error:not([hidden])")
    assert page.locator("#error").inner_text() == "You rejected the request in your wallet."
    assert page.locator("#result").is_hidden()


# ── the write endpoints over HTTP: refusals are 4xx problems with the reason ─────────────
def _signed(suite, seller=SELLER, **terms):
    from sec_offchain.listings import Listing, metadata_of, new_salt, sign_listing

    now = suite.w3.eth.get_block("latest")["timestamp"]
    fields = dict(
        seller=seller.address,
        price=10**18,
        token="0x0000000000000000000000000000000000000000",
        auto_complete=7 * 86_400,
        ship_window=3 * 86_400,
        metadata=metadata_of("Lamp"),
        quantity=1,
        expiry=now + 86_400,
        salt=new_salt(),
    )
    fields.update(terms)
    escrow = str(suite.escrow.address)
    return sign_listing(bytes(seller.key), Listing(**fields), 31337, escrow, "Lamp").to_json()


def _problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()["detail"]


def test_post_listing__bad_signature_or_terms__400_with_the_reason(app, suite):
    good = _signed(suite)
    res = httpx.post(f"{app}/v1/listings", json=good)
    assert res.status_code == 201, res.text
    assert res.json()["link"] == f"{app}/l/{res.json()['code']}"
    assert res.json()["state"] == {"listing_id": 0, "sold": 0, "cancelled": False}

    tampered = {**good, "listing": {**good["listing"], "price": str(10**17)}}
    detail = _problem(httpx.post(f"{app}/v1/listings", json=tampered), 400)
    assert detail.startswith("listing signed by 0x")
    assert detail.endswith(f", not by its seller {SELLER.address} (tampered with after signing?)")

    short = _signed(suite, auto_complete=60)
    assert _problem(httpx.post(f"{app}/v1/listings", json=short), 400) == (
        "auto-complete must be between 1 hour and 90 days"
    )
    now = suite.w3.eth.get_block("latest")["timestamp"]
    expired = _signed(suite, expiry=now)
    assert _problem(httpx.post(f"{app}/v1/listings", json=expired), 400) == (
        f"the listing expired at {now}"
    )
    other_chain = {**good, "chain_id": 1}
    detail = _problem(httpx.post(f"{app}/v1/listings", json=other_chain), 400)
    assert detail.startswith("listing signed by 0x")  # the digest covers the chain id
    assert _problem(httpx.post(f"{app}/v1/listings", json={}), 400) == (
        "malformed listing file: KeyError 'listing'"
    )


def test_relay__refused_requests__422_with_the_policy_reason(app, suite):
    from sec_offchain.relay.build import build_request
    from sec_offchain.relay.requests import sign_request

    w3, forwarder = suite.w3, suite.contract("Forwarder")
    transfer = suite.token.functions.transfer(SELLER.address, 1)._encode_transaction_data()
    request = build_request(
        w3,
        forwarder,
        SEC_BUYER.address,
        str(suite.token.address),
        bytes.fromhex(transfer[2:]),
        gas=100_000,
    )
    sig = sign_request(bytes(SEC_BUYER.key), request, 31337, str(forwarder.address))
    body = {"request": request.to_json(), "signature": "0x" + sig.hex()}
    assert _problem(httpx.post(f"{app}/v1/relay", json=body), 422) == (
        f"{suite.token.address} function 0xa9059cbb is not sponsored"
    )
    forged = sign_request(bytes(ETH_BUYER.key), request, 31337, str(forwarder.address))
    body["signature"] = "0x" + forged.hex()
    assert _problem(httpx.post(f"{app}/v1/relay", json=body), 422) == (
        f"request signed by {ETH_BUYER.address}, not by its sender {SEC_BUYER.address} "
        "(tampered with, or signed for another chain or forwarder)"
    )
    assert _problem(httpx.post(f"{app}/v1/relay", json={"request": 1}), 400) == (
        "a relay body has a request and a signature"
    )
    assert _problem(httpx.get(f"{app}/v1/relay/0x{'00' * 32}"), 404) == (
        f"request 0x{'00' * 32} not known to this relayer"
    )


JUDGES = [get_dev_account(i) for i in (4, 5, 6, 8)]


def test_dispute__buyer_disputes_judges_draw_vote_and_execute_in_their_own_browsers(
    app, suite, node, wallet
):
    from sec_offchain.listings import SignedListing
    from sec_offchain.relay.actions import buy_signed

    staking = suite.contract("Staking")
    court = suite.contract("Court")
    stake = 1_000 * 10**18
    for judge in JUDGES:
        suite.tx(judge).transact(suite.token.functions.approve(staking.address, stake))
        suite.tx(judge).transact(staking.functions.stake_judge(stake))
    signed = SignedListing.from_json(_signed(suite, quantity=0))
    order_id, _ = buy_signed(suite, get_dev_account(9), signed)
    suite.ship(SELLER, order_id, "SF-99")

    buyer = wallet(get_dev_account(9), PHONE).new_page()
    buyer.goto(f"{app}/app/orders.html")
    buyer.get_by_role("button", name="Connect wallet").click()
    buyer.wait_for_selector(f"#order-{order_id}[data-status='shipped']")
    card = buyer.locator(f"#order-{order_id}")
    card.get_by_label("What went wrong (kept as a hash on chain)").fill("The lamp never arrived")
    card.get_by_role("button", name="Dispute").click()
    buyer.wait_for_selector("#notice:not([hidden]), #error:not([hidden])")
    assert buyer.locator("#notice").inner_text() == f"Order #{order_id} disputed."
    assert suite.get_order(order_id).status == 5  # disputed
    evidence = "0x" + Web3.keccak(text="The lamp never arrived").hex().removeprefix("0x")
    wait_for(
        lambda: httpx.get(f"{app}/v1/orders/{order_id}").json().get("evidence") == evidence,
        "the dispute in the index",
    )

    node.w3.provider.make_request("anvil_mine", [hex(6)])  # past the draw block
    drawer = wallet(JUDGES[0], DESKTOP).new_page()
    drawer.goto(f"{app}/app/judge.html")
    drawer.get_by_role("button", name="Connect wallet").click()
    drawer.locator(f"#case-{order_id}").get_by_role("button", name="Draw the panel").click()
    drawer.wait_for_selector("#notice:not([hidden]), #error:not([hidden])")
    assert drawer.locator("#notice").inner_text() == f"Case #{order_id}: panel drawn."
    panel = court.functions.panel_of(order_id).call()
    assert len(panel) == 3 and set(panel) <= {j.address for j in JUDGES}
    by_address = {j.address: j for j in JUDGES}

    pages = []
    for judge in panel[:2]:
        page = wallet(by_address[judge], PHONE).new_page()
        page.goto(f"{app}/app/judge.html")
        page.get_by_role("button", name="Connect wallet").click()
        case = page.locator(f"#case-{order_id}")
        case.wait_for()
        assert f"Evidence {evidence}" in case.inner_text()
        case.get_by_role("button", name="Vote for the buyer").click()
        page.wait_for_selector("#notice:not([hidden]), #error:not([hidden])")
        assert page.locator("#notice").inner_text() == (
            f"Case #{order_id}: you voted for the buyer."
        )
        pages.append(page)
    shot(pages[1], "judge")
    pages[1].locator(f"#case-{order_id}").get_by_role("button", name="Execute").click()
    pages[1].wait_for_selector(f"#notice:text('Case #{order_id} executed.'), #error:not([hidden])")
    assert pages[1].locator("#error").is_hidden(), pages[1].locator("#error").inner_text()
    assert suite.get_order(order_id).status == 6  # ruled
    buyer.wait_for_selector(f"#order-{order_id}[data-status='ruled']")  # live, no reload
    # The first voter's page saw the second vote and the execution without a reload.
    pages[0].wait_for_selector(f"#case-{order_id}:has-text('executed')")
    # Judged to have sold fake goods, the seller is disabled: the gateway takes no listing.
    assert _problem(httpx.post(f"{app}/v1/listings", json=_signed(suite)), 403) == (
        f"the seller {SELLER.address} is disabled"
    )
    assert httpx.get(f"{app}/v1/orders/{order_id}").json()["ruling"] == 1  # the buyer


def test_share__a_friend_buys_through_the_share_link__the_sharer_sees_the_reward_live(
    app, suite, wallet
):
    from sec_offchain.listings import SignedListing
    from sec_offchain.relay.actions import buy_signed

    seller, sharer, friend = get_dev_account(0), get_dev_account(2), get_dev_account(6)
    response = httpx.post(f"{app}/v1/listings", json=_signed(suite, seller, quantity=0))
    assert response.status_code == 201, response.text
    posted = response.json()
    signed = SignedListing.from_json(posted)
    order_id, _ = buy_signed(suite, sharer, signed)
    suite.ship(seller, order_id, "SF-1")
    suite.confirm(sharer, order_id)
    pool = 1_000 * 10**18
    suite.tx(seller).transact(suite.token.functions.approve(suite.shares.address, pool))
    suite.tx(seller).transact(suite.shares.functions.fund(pool))

    page = wallet(sharer, PHONE).new_page()
    page.goto(f"{app}/app/orders.html")
    page.get_by_role("button", name="Connect wallet").click()
    card = page.locator(f"#order-{order_id}[data-status='completed']")
    card.get_by_role("button", name="Share this purchase").click()
    page.wait_for_selector("#notice:not([hidden]), #error:not([hidden])")
    assert page.locator("#notice").inner_text() == f"Order #{order_id} shared."
    share_id = suite.shares.functions.share_of_order(order_id).call()
    link = f"{posted['link']}?share={share_id}"
    page.wait_for_selector(f"#order-{order_id} .share-link[href='{link}']")

    buyer = wallet(friend, PHONE).new_page()
    buyer.goto(link)
    buyer.wait_for_selector("#product[aria-busy='false']")
    assert (
        buyer.locator("#terms")
        .inner_text()
        .endswith(f" · recommended by a friend (share #{share_id})")
    )
    buyer.get_by_role("button", name="Pay with ETH").click()
    buyer.wait_for_selector("#notice:not([hidden]), #error:not([hidden])")
    friend_order = order_id + 1
    assert buyer.locator("#notice").inner_text() == (
        f"Paid: order #{friend_order} is in escrow until you confirm delivery. See my orders"
    )
    assert suite.get_order(friend_order).share_id == share_id
    suite.ship(seller, friend_order, "SF-2")
    suite.confirm(friend, friend_order)

    wait_for(
        lambda: httpx.get(f"{app}/v1/shares/{share_id}").json()["rewards"],
        "the reward in the index",
    )
    [reward] = httpx.get(f"{app}/v1/shares/{share_id}").json()["rewards"]
    bps = suite.shares.functions.REWARD_BPS().call()
    assert (reward["order_id"], int(reward["commission"])) == (friend_order, 10**18 * bps // 10_000)
    # The bonus: the commission's worth in SEC at the deployed rate, capped per sharer.
    assert int(reward["bonus"]) == BONUS_CAP  # 0.02 ETH * 11,000 = 220 SEC > the cap
    assert suite.shares.functions.claimable(sharer.address).call() == BONUS_CAP
    commission = f"{10**18 * bps // 10_000 / 10**18:g}"
    page.wait_for_selector(f"#rewards:has-text('commission {commission} ETH')")  # live
    expect(page.locator("#rewards")).to_have_text(
        f"1 shares · commission {commission} ETH · bonus earned 50 SEC · claimable 50 SEC"
    )
    shot(page, "orders-rewards")
    before = suite.token.functions.balanceOf(sharer.address).call()
    page.get_by_role("button", name="Claim rewards").click()
    page.wait_for_selector("#notice:text('Rewards claimed.'), #error:not([hidden])")
    assert page.locator("#error").is_hidden(), page.locator("#error").inner_text()
    assert suite.token.functions.balanceOf(sharer.address).call() == before + BONUS_CAP
    assert suite.shares.functions.claimable(sharer.address).call() == 0


# ── product credit checked in the page, the network on the dashboard, alerts ──────────────
def _tampered(bundle, change):
    data = copy.deepcopy(bundle)
    change(data)
    return data


def _forged(bundle, credit):
    """The bundle for `credit` under a header whose credit_root commits to exactly that:
    its proof folds, but the header is not the anchored one."""
    from sec_offchain.area.block import CREDIT_LEAF
    from sec_offchain.area.merkle import leaf_hash

    product = bytes.fromhex(bundle["product_id"][2:])
    root = "0x" + leaf_hash(CREDIT_LEAF, (product, credit)).hex()
    header = {**bundle["header"], "credit_root": root}
    return {**bundle, "credit": credit, "proof": [], "header": header}


def _digest(header, suite):
    from sec_offchain.encoding.area_header import hash_area_header
    from sec_offchain.gateway.proofs import header_from_json

    return "0x" + hash_area_header(header_from_json(header), 31337, suite.anchor_hub.address).hex()


MERKLE_REFUSAL = (
    "credit proof: the product's credit and the proof do not lead to the header's credit_root"
)


def test_credit__listing_page_checks_it_against_the_anchored_header__tampered_not_verified(
    app, suite, wallet
):
    from sec_offchain.gateway.proofs import BundleError, verify_credit_bundle

    hub = suite.anchor_hub
    code = LINKS["eth"].rsplit("/l/", 1)[1]
    state = httpx.get(f"{app}/v1/signed-listings/{code}").json()["state"]
    digest = decode_code(code).digest
    assert state["listing_id"] == suite.escrow.functions.signed_listing(digest).call()[0]
    product = "0x" + state["listing_id"].to_bytes(32, "big").hex()
    url = f"{app}/v1/products/{product}/credit?area=1"
    # order #1 completed: the bridge wrote its record into area 1, and once final the block
    # was attested and anchored
    started = time.monotonic()
    wait_for(lambda: httpx.get(url).status_code == 200, "order #1's credit anchored", 120)
    anchored_after = time.monotonic() - started

    def python_check(bundle):
        return verify_credit_bundle(
            bundle,
            lambda: int(suite.w3.eth.chain_id),
            lambda a, h: bytes(hub.functions.anchored_hash(a, h).call()),
            str(hub.address),
        )

    served: list[dict] = []
    change = {"to": None}

    def intercept(route):
        response = route.fetch()
        bundle = response.json()
        served.append(bundle)
        if change["to"] is not None:
            bundle = change["to"](bundle)
        route.fulfill(response=response, json=bundle)

    page = wallet(ETH_BUYER, PHONE).new_page()
    page.route("**/v1/products/*/credit?*", intercept)
    opened = time.monotonic()
    page.goto(LINKS["eth"])
    page.wait_for_selector("#credit[data-state='verified'], #credit[data-state='failed']")
    (SHOTS / "listing-credit-timings.txt").write_text(
        f"waited for order #1's credit to be anchored: {anchored_after:.1f} s\n"
        f"listing opened -> credit verified in the page: {time.monotonic() - opened:.2f} s\n"
    )
    bundle = served[-1]
    assert page.locator("#credit").inner_text() == (
        f"✓ Product credit 1: verified at area 1 height {bundle['height']} against the header "
        "anchored on chain (checked in this page)."
    )
    assert python_check(bundle) == {
        "area_id": 1,
        "height": bundle["height"],
        "product_id": product,
        "credit": 1,
        "header_hash": "0x" + bytes(hub.functions.anchored_hash(1, bundle["height"]).call()).hex(),
    }
    shot(page, "listing-credit")

    # The gateway's answer tampered with on its way to the page: a proof node, then a forged
    # header that commits to a higher credit (its proof folds; it is not the anchored one).
    change["to"] = lambda b: _tampered(
        b, lambda d: d.update(proof=["0x" + "ab" * 32] + d["proof"][1:])
    )
    page.reload()
    page.wait_for_selector("#credit[data-state='failed']")
    assert page.locator("#credit").inner_text() == (
        f"✗ Product credit: not verified — {MERKLE_REFUSAL}."
    )
    shot(page, "listing-credit-tampered")
    change["to"] = lambda b: _forged(b, 7)
    page.reload()
    page.wait_for_selector("#credit[data-state='failed']")
    forged = _forged(served[-1], 7)
    height = forged["height"]
    anchored = "0x" + bytes(hub.functions.anchored_hash(1, height).call()).hex()
    hashed = _digest(forged["header"], suite)
    assert page.locator("#credit").inner_text() == (
        f"✗ Product credit: not verified — header: not the one anchored at area 1 height "
        f"{height} (anchored {anchored}, the bundle's hashes to {hashed})."
    )

    # The page's checks against `sec verify`'s, bundle by bundle: the same verdicts.
    cases = [
        lambda d: d.update(credit=2),
        lambda d: d.update(proof=["0x12"] + d["proof"][1:]),
        lambda d: d.update(height=d["height"] + 1),
        lambda d: d.update(kind="record"),
        lambda d: d["header"].pop("tx_root"),
        lambda d: d.update(credit=True),
        lambda d: d["header"].update(parent_hash="0x" + "zz" * 32),
        lambda d: (d.update(height=10**6), d["header"].update(height=10**6)),
    ]
    bundles = [_tampered(bundle, c) for c in cases] + [_forged(bundle, 7), bundle]
    # another product's true proof: the page refuses it (not this listing's); sec verify,
    # told no product, has nothing to compare it with
    other = "0x" + (state["listing_id"] + 1).to_bytes(32, "big").hex()
    swapped = {**bundle, "product_id": other}
    expected = []
    for b in bundles:
        try:
            expected.append(f"verified {python_check(b)['credit']}")
        except BundleError as exc:
            expected.append(str(exc))
    in_page = page.evaluate(
        """async ([bundles, product, hub]) => {
            const { verifyCredit } = await import("/app/credit.js");
            const request = (args) => window.ethereum.request(args);
            const out = [];
            for (const b of bundles) {
              try { out.push(`verified ${(await verifyCredit(b, product, request, hub)).credit}`); }
              catch (e) { out.push(e.message); }
            }
            return out;
        }""",
        [[*bundles, swapped], product, str(hub.address)],
    )
    forged = _forged(bundle, 7)
    anchored = "0x" + bytes(hub.functions.anchored_hash(1, bundle["height"]).call()).hex()
    assert expected == [
        MERKLE_REFUSAL,
        "proof[0]: not a 0x-prefixed 32-byte hex string",
        "area_id/height: do not match the header's",
        'not a credit proof bundle (kind must be "credit")',
        "header: missing tx_root",
        "credit: not an int256",
        "header.parent_hash: not hex",
        "header: nothing is anchored at area 1 height 1000000",
        f"header: not the one anchored at area 1 height {bundle['height']} (anchored {anchored}, "
        f"the bundle's hashes to {_digest(forged['header'], suite)})",
        "verified 1",
    ]
    assert in_page == [
        *expected,
        f"product_id: the proof is for product {other}, not this listing's {product}",
    ]


def test_dashboard__area_nodes_heights_and_peers__relayer_queues_and_processes(
    app, suite, network, wallet
):
    cfg = suite.cfg
    page = wallet(SELLER, PHONE).new_page()
    page.goto(f"{app}/app/dashboard.html")
    page.wait_for_selector("#live:text('live')")
    rows = page.locator("#nodes tr[data-node]")
    expect(rows).to_have_count(AREA_NODES)
    expect(page.locator("#nodes tr[data-up='yes']")).to_have_count(AREA_NODES)
    # one snapshot of the page: the nodes' rows and the area's row come from one answer
    snap = page.evaluate(
        """() => ({
            nodes: [...document.querySelectorAll('#nodes tr[data-node]')]
                .map((r) => [r.dataset.node, ...[...r.cells].map((c) => c.textContent)]),
            area: [...document.getElementById('area-1').cells].map((c) => c.textContent),
            queue: document.querySelector('.anchor-queue[data-area="1"]').textContent,
            duty: document.querySelector('#area-1 td.duty').dataset.slot,
        })"""
    )
    addresses = [n.address for n in cfg.areas[0].nodes]
    assert [n[0] for n in snap["nodes"]] == addresses
    assert [n[2] for n in snap["nodes"]] == [f"{a[:6]}…{a[-4:]}" for a in addresses]
    heights = [int(n[4]) for n in snap["nodes"]]
    finals = [int(n[5]) for n in snap["nodes"]]
    for n in snap["nodes"]:
        assert (n[1], n[3], n[6]) == ("1", "up", str(AREA_NODES - 1))  # area, state, peers
        assert int(n[5]) <= int(n[4]) - 2  # final: two blocks deep at least
    area, head, final, anchored, lag = snap["area"][:5]
    assert (area, int(head), int(final)) == ("1", max(heights), max(finals))
    assert lag == f"{int(final) - int(anchored)} blocks"
    # on duty for the next block: the community of the proof of work for the slot the node
    # with the longest chain named, and exactly its members (all producers if none is in it)
    slot = int(snap["duty"])
    pow_policy = CommunityPoW(tuple(bytes.fromhex(a[2:]) for a in addresses), k=2)
    members = ["0x" + x.hex() for x in pow_policy.producers if pow_policy.on_duty(x, slot)]
    assert members and snap["area"][7] == (
        f"community {slot % 2 + 1}: " + ", ".join(f"{m[:6]}…{m[-4:]}" for m in members)
    )
    assert snap["queue"] == (
        f"Area 1 anchor relayer: {int(final) - int(anchored)} final headers waiting "
        f"(anchored {anchored})."
    )
    relayer = get_dev_account(int(RELAYER.split(":")[1])).address
    # one SEC purchase relayed; two requests refused by the policy (test_relay__...)
    assert page.locator("#relay-gasless").inner_text() == (
        f"Gasless relayer {relayer}: queue 0 queued, 0 pending · 1 mined · failures 0 reverted,"
        " 0 dropped · 2 refused."
    )
    procs = page.locator("table[aria-label='Processes'] tbody tr")
    assert [r.locator("td").all_inner_texts() for r in procs.all()] == [
        [c.name, str(c.proc.pid), "up", "0", "—"] for c in network.children
    ]
    shot(page, "dashboard-nodes")
    page.close()
    metrics = set(httpx.get(f"{app}/metrics").text.splitlines())
    for a in addresses:
        assert f'sec_node_up{{area="1",node="{a}"}} 1.0' in metrics
        assert f'sec_node_peers{{area="1",node="{a}"}} {float(AREA_NODES - 1)}' in metrics
    assert "# TYPE sec_area_anchor_lag_blocks gauge" in metrics


def test_alerts__anchor_relayer_stopped__missed_anchors_raised__cleared_when_it_resumes(
    app, suite, network, wallet
):
    hub = suite.anchor_hub
    page = wallet(SELLER, PHONE).new_page()
    page.goto(f"{app}/app/dashboard.html")
    alerts = page.locator("#alerts li")
    expect(alerts).to_have_text(["No alerts."], timeout=60_000)
    [relayer] = [c.proc for c in network.children if c.name == "anchor-relayer-1"]
    os.kill(relayer.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        alert = page.locator("#alerts li[data-kind='anchor-lag'][data-area='1']")
        alert.wait_for(timeout=90_000)
        raised = time.monotonic() - stopped
        anchored = hub.functions.latest_height(1).call()  # stands still: the relayer is stopped
        text = alert.inner_text()
        found = re.fullmatch(
            r"Area 1: (\d+) final blocks are not anchored \(anchored (\d+), final (\d+); "
            rf"the limit is {ANCHOR_LAG_ALERT}\): missed anchors\.",
            text,
        )
        assert found, text
        lag, at, final = map(int, found.groups())
        assert (at, lag) == (anchored, final - anchored)
        assert lag > ANCHOR_LAG_ALERT
        assert alerts.all_inner_texts() == [text]  # nothing else is wrong
        shot(page, "dashboard-alert")
    finally:
        os.kill(relayer.pid, signal.SIGCONT)
    resumed = time.monotonic()
    # back: it anchors the heights it missed, and the dashboard shows each new anchored
    # height and then no alert, without a reload
    wait_for(lambda: hub.functions.latest_height(1).call() > anchored, "an anchor", 90)
    seen_on_chain = time.monotonic()
    page.wait_for_function(
        f"Number(document.querySelector('#area-1').cells[3].textContent) > {anchored}"
    )
    shown = time.monotonic() - seen_on_chain
    expect(alerts).to_have_text(["No alerts."], timeout=90_000)
    cleared = time.monotonic() - resumed
    (SHOTS / "dashboard-alert-timings.txt").write_text(
        f"anchor relayer stopped -> alert shown: {raised:.1f} s\n"
        f"anchor on chain -> dashboard shows it: {shown:.2f} s\n"
        f"anchor relayer resumed -> alert cleared: {cleared:.1f} s\n"
    )
    page.close()


PAGES = ("index", "post", "orders", "judge", "dashboard")


def test_pages__every_control_labelled__keyboard_order__fits_a_phone(app, browser):
    # a visitor with no wallet at all: every page still shows, and the listing page checks
    # the product's credit through the gateway's public RPC instead of a wallet
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    served: list[dict] = []

    def record(route):
        response = route.fetch()
        served.append(response.json())
        route.fulfill(response=response)

    page.route("**/v1/products/*/credit?*", record)
    try:
        _check_pages(app, page)
        page.wait_for_selector("#credit[data-state='verified'], #credit[data-state='failed']")
        assert page.locator("#credit").inner_text() == (
            f"✓ Product credit 1: verified at area 1 height {served[-1]['height']} against "
            "the header anchored on chain (checked in this page)."
        )
    finally:
        context.close()


def _check_pages(app, page):
    for name in PAGES + ("listing",):
        url = f"{app}/app/{name}.html" if name != "listing" else LINKS["eth"]
        page.goto(url)
        page.wait_for_load_state("load")
        if name == "listing":
            page.wait_for_selector("#product[aria-busy='false']")
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea, button, a')]
                .filter((e) => !e.closest('[hidden]'))
                .filter((e) => ['INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName)
                    ? e.labels.length === 0
                    : !(e.textContent.trim() || e.getAttribute('aria-label')))
                .map((e) => e.outerHTML.slice(0, 80))"""
        )
        assert unlabelled == [], name
        positive = page.evaluate(
            "[...document.querySelectorAll('[tabindex]')].filter(e => e.tabIndex > 0).length"
        )
        assert positive == 0, name  # no focus-order traps: document order is the tab order
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
        if name != "listing":
            shot(page, f"page-{name}")
