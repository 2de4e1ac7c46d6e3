"""Gasless trade on the embedded chain with the real suite: a seller posts a signed listing for
free, a buyer holding SEC and no ETH buys it through the relayer (permit + relayed
`buy_signed`), the seller ships, the buyer confirms through the relayer; a front-run permit
does not block a purchase; the suite's policy refuses what it must, with its reasons."""

import pytest
from ape import chain
from eth_account import Account

from sec_offchain.contracts.client import Suite
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.listings import Listing, metadata_of, new_salt, sign_listing
from sec_offchain.relay.actions import get_signed_state, sign_relayed, sign_relayed_buy
from sec_offchain.relay.core import FORWARD_OVERHEAD, PERMIT_GAS, RelayerCore
from sec_offchain.relay.requests import build_request_file

SELLER, DONOR, RELAYER = get_dev_account(1), get_dev_account(2), get_dev_account(7)
BUYER = Account.from_key(b"\x33" * 32)  # SEC, never ETH
PRICE = 158 * 10**18
DAY = 86_400


@pytest.fixture(scope="module")
def suite(deployment):
    suite = Suite(chain.provider.web3, deployment)
    suite.tx(DONOR).transact(suite.token.functions.transfer(BUYER.address, 1_000 * 10**18))
    return suite


@pytest.fixture
def core(suite, tmp_path):
    core = RelayerCore.for_suite(suite, RELAYER, tmp_path / "relay.db")
    yield core
    core.close()


def post(suite, quantity=2):
    listing = Listing(
        SELLER.address,
        PRICE,
        str(suite.token.address),
        7 * DAY,
        3 * DAY,
        metadata_of("Handmade leather wallet"),
        quantity,
        suite.w3.eth.get_block("latest")["timestamp"] + 30 * DAY,
        new_salt(),
    )
    return sign_listing(
        bytes(SELLER.key), listing, suite.w3.eth.chain_id, str(suite.escrow.address)
    )


def relay(core, request, signature, permit=None):
    body = build_request_file(request, signature, core.chain_id, core.forwarder.address, permit)
    outcome = core.submit(body["request"], body["signature"], body.get("permit"))
    assert outcome.status == "pending", outcome.reason
    return core.wait(outcome.hash, timeout=60)


def test_gasless_trade__buyer_without_eth__buys_and_confirms_through_the_relayer(suite, core):
    w3, escrow = suite.w3, suite.escrow
    signed = post(suite)
    assert escrow.functions.listing_digest(signed.listing.as_tuple()).call() == signed.digest

    request, sig, permit = sign_relayed_buy(suite, BUYER, signed)
    bought = relay(core, request, sig, permit)
    assert (bought.status, bought.reason) == ("mined", "ok")
    [paid] = suite.events(w3.eth.get_transaction_receipt(bought.tx_hash), "Escrow", "OrderPaid")
    order_id = paid["order_id"]
    order = suite.get_order(order_id)
    assert (order.buyer, order.seller, order.price) == (BUYER.address, SELLER.address, PRICE)
    assert get_signed_state(suite, signed).sold == 1
    assert suite.token.functions.allowance(BUYER.address, escrow.address).call() == 0

    suite.ship(SELLER, order_id, "SF-EXPRESS 1")
    seller_before = suite.sec_balance(SELLER.address)
    confirmed = relay(core, *sign_relayed(suite, BUYER, escrow.functions.confirm(order_id)))
    assert confirmed.status == "mined"
    assert suite.get_order(order_id).status == 3
    assert suite.sec_balance(SELLER.address) - seller_before == PRICE
    assert suite.sec_balance(BUYER.address) == 1_000 * 10**18 - PRICE
    assert w3.eth.get_balance(BUYER.address) == 0
    assert [r for _, ok, r in core.decisions() if r.startswith("permit")] == [
        f"permit sent: allowance {PRICE}"
    ]
    # the permit's gas is charged to the budgets: its estimate up front, what it used once mined
    charge = request.gas + FORWARD_OVERHEAD + PERMIT_GAS
    assert (True, f"sponsored: Escrow.buy_signed for {BUYER.address} ({charge:,} gas)") in [
        (ok, r) for _, ok, r in core.decisions(bought.hash)
    ]
    row = core.store.get(bought.hash)
    assert row.body["permit_gas"] > 0
    assert row.gas_charged == bought.gas_used + row.body["permit_gas"]


def test_gasless_buy__front_run_permit__purchase_still_goes_through(suite, core):
    signed = post(suite)
    request, sig, permit = sign_relayed_buy(suite, BUYER, signed)
    v, r, s = permit.vrs
    attacker = get_dev_account(4)
    suite.tx(attacker).transact(
        suite.token.functions.permit(
            permit.owner, permit.spender, permit.value, permit.deadline, v, r, s
        )
    )
    bought = relay(core, request, sig, permit)
    assert bought.status == "mined"
    assert get_signed_state(suite, signed).sold == 1
    assert f"permit skipped: allowance {PRICE} already covers it" in [
        reason for _, _, reason in core.decisions()
    ]


def test_gasless_policy__suite_refusals__with_reasons(suite, core, deployer, trust):
    escrow = suite.escrow
    # not allow-listed: Escrow.sync_disabled is a keeper's call, not a trade's
    request, sig = sign_relayed_buy_like(suite, escrow.functions.sync_disabled(BUYER.address))
    outcome = core.submit(request.to_json(), "0x" + sig.hex())
    selector = request.data[:4].hex()
    assert outcome.reason == f"refused: {escrow.address} function 0x{selector} is not sponsored"
    # a disabled account (judged offence on a new account)
    victim = Account.from_key(b"\x44" * 32)
    trust.grantRole(trust.WRITER_ROLE(), deployer, sender=deployer)
    trust.penalize(victim.address, 100, 3, sender=deployer)
    request, sig = sign_relayed(suite, victim, suite.shares.functions.claim(), nonce=0)
    outcome = core.submit(request.to_json(), "0x" + sig.hex())
    assert outcome.reason == f"refused: {victim.address} is disabled in the TrustIndex"
    # a call the contract would refuse is not sent
    signed = post(suite)
    request, sig = sign_relayed_buy_like(
        suite, escrow.functions.cancel_signed_listing(signed.listing.as_tuple()), BUYER
    )
    outcome = core.submit(request.to_json(), "0x" + sig.hex())
    assert outcome.reason == "refused: the call would revert: escrow: caller is not the seller"
    # a permit rides only with its owner's request
    _, _, permit = sign_relayed_buy(suite, BUYER, signed)
    request, sig = sign_relayed_buy_like(suite, escrow.functions.confirm(1), SELLER)
    outcome = core.submit(request.to_json(), "0x" + sig.hex(), permit.to_json())
    assert outcome.reason == (
        f"refused: the permit's owner {BUYER.address} is not the request's sender"
    )


def sign_relayed_buy_like(suite, fn, account=BUYER):
    """A signed request for `fn` without the pre-flight simulation (which would refuse it)."""
    from sec_offchain.relay.build import build_request, calldata
    from sec_offchain.relay.requests import sign_request

    request = build_request(
        suite.w3, suite.forwarder, account.address, fn.address, calldata(fn), gas=200_000
    )
    return request, sign_request(
        bytes(account.key), request, suite.w3.eth.chain_id, str(suite.forwarder.address)
    )
