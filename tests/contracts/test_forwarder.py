"""The ERC-2771 Forwarder: a signed ForwardRequest (OpenZeppelin's type) relayed to Escrow,
ShareRewards and Court acts for its signer; nonces, deadline, low-s signatures, the trusted
target and the 63/64 gas rule are enforced; a buyer with SEC and no ETH trades through it,
also when someone front-runs the buyer's permit."""

import ape
import pytest
from ape import chain
from eth_account import Account
from eth_account.messages import encode_typed_data

from sec_offchain.crypto.hashing import keccak
from sec_offchain.encoding.area_header import sign_digest
from tests.fixtures.court import by_address, dispute_order, draw, stake_judges
from tests.fixtures.signed import (
    as_tuple,
    calldata,
    high_s,
    key_of,
    make_listing,
    make_request,
    req_tuple,
    sign_listing,
    sign_request,
)
from tests.fixtures.suite import ETH, PRICE, at, new_listing

TRACKING = b"\x02" * 32
SEC = 10**18
GASLESS = Account.from_key(keccak(b"sec gasless buyer"))


@pytest.fixture(scope="module")
def forwarder(project, deployment):
    return project.Forwarder.at(deployment.address_of("Forwarder"))


@pytest.fixture(scope="module")
def other_forwarder(project, deployer):
    """A second forwarder nobody trusts."""
    return project.Forwarder.deploy(sender=deployer)


@pytest.fixture(scope="module")
def probe(project, forwarder, deployer):
    return project.SenderProbe.deploy(forwarder, sender=deployer)


@pytest.fixture
def order(escrow, seller, buyer):
    """A paid ETH order of an on-chain listing."""
    lid = new_listing(escrow, seller)
    tx = escrow.buy(lid, 0, value=PRICE, sender=buyer)
    return tx.events.filter(escrow.OrderPaid)[0].order_id


def relay(forwarder, request, signature, relayer, **kw):
    return forwarder.execute(req_tuple(request), signature, sender=relayer, **kw)


def signed_ship(forwarder, escrow, seller, order_id, **over):
    request = make_request(
        forwarder, seller, calldata(escrow, "ship", order_id, TRACKING), escrow, **over
    )
    return request, sign_request(key_of(seller), request, forwarder)


def test_trusted_forwarder__escrow_shares_court_trust_only_it(
    forwarder, other_forwarder, escrow, shares, court
):
    for target in (escrow, shares, court):
        assert target.isTrustedForwarder(forwarder)
        assert not target.isTrustedForwarder(other_forwarder)
        assert not target.isTrustedForwarder(ETH)
    domain = forwarder.eip712Domain()
    assert (domain[1], domain[2], domain[3], domain[4]) == (
        "SEC Forwarder",
        "1",
        chain.chain_id,
        forwarder.address,
    )


def test_execute__relayed_ship__acts_for_the_signer_and_uses_the_nonce(
    forwarder, escrow, order, seller, stranger
):
    request, signature = signed_ship(forwarder, escrow, seller, order)
    assert forwarder.verify(req_tuple(request), signature)
    tx = relay(forwarder, request, signature, stranger)
    assert escrow.order_status(order) == 2
    assert tx.events.filter(forwarder.ExecutedForwardRequest) == [
        forwarder.ExecutedForwardRequest(signer=seller, nonce=0, success=True)
    ]
    assert forwarder.nonces(seller) == 1
    assert not forwarder.verify(req_tuple(request), signature)  # used


def test_execute__inner_revert__bubbles_and_nonce_stays(forwarder, escrow, order, stranger):
    request, signature = signed_ship(forwarder, escrow, stranger, order)
    with ape.reverts("escrow: caller is not the seller"):
        relay(forwarder, request, signature, stranger)
    assert forwarder.nonces(stranger) == 0


def test_replay__used_nonce__refused(forwarder, escrow, order, seller, stranger):
    request, signature = signed_ship(forwarder, escrow, seller, order)
    relay(forwarder, request, signature, stranger)
    with ape.reverts("forwarder: invalid nonce"):
        relay(forwarder, request, signature, stranger)
    ahead, ahead_sig = signed_ship(forwarder, escrow, seller, order, nonce=5)
    with ape.reverts("forwarder: invalid nonce"):
        relay(forwarder, ahead, ahead_sig, stranger)


def test_replay__another_chain__refused(forwarder, escrow, order, seller, stranger):
    request = make_request(forwarder, seller, calldata(escrow, "ship", order, TRACKING), escrow)
    foreign = sign_request(key_of(seller), request, forwarder, chain_id=chain.chain_id + 1)
    assert not forwarder.verify(req_tuple(request), foreign)
    with ape.reverts("forwarder: signer is not from"):
        relay(forwarder, request, foreign, stranger)


def test_replay__another_forwarder__refused(
    forwarder, other_forwarder, escrow, order, seller, stranger
):
    request, signature = signed_ship(forwarder, escrow, seller, order)
    with ape.reverts("forwarder: signer is not from"):
        relay(other_forwarder, request, signature, stranger)
    # Signed for the other forwarder: valid there, but Escrow does not trust it.
    own = sign_request(key_of(seller), request, other_forwarder)
    assert not other_forwarder.verify(req_tuple(request), own)
    with ape.reverts("forwarder: target does not trust this forwarder"):
        relay(other_forwarder, request, own, stranger)


def test_deadline__last_second_passes_one_after_refused(forwarder, escrow, order, seller, stranger):
    deadline = chain.blocks.head.timestamp + 100
    request, signature = signed_ship(forwarder, escrow, seller, order, deadline=deadline)
    snapshot = chain.snapshot()
    at(deadline + 1)
    with ape.reverts("forwarder: request expired"):
        relay(forwarder, request, signature, stranger)
    chain.restore(snapshot)
    at(deadline)
    relay(forwarder, request, signature, stranger)
    assert escrow.order_status(order) == 2


def test_verify__agrees_with_execute_at_the_deadline(forwarder, escrow, order, seller, stranger):
    """A relayer asks `verify` before it pays for a transaction: at the deadline's own second
    it must say yes (execute passes then), one second later no."""
    deadline = chain.blocks.head.timestamp + 100
    request, signature = signed_ship(forwarder, escrow, seller, order, deadline=deadline)
    snapshot = chain.snapshot()
    chain.mine(timestamp=deadline)
    assert chain.blocks.head.timestamp == deadline
    assert forwarder.verify(req_tuple(request), signature)
    chain.mine(timestamp=deadline + 1)
    assert not forwarder.verify(req_tuple(request), signature)
    chain.restore(snapshot)


@pytest.mark.parametrize(
    "mangle",
    [high_s, lambda sig: sig[:64], lambda sig: sig[:64] + bytes([29]), lambda sig: b""],
    ids=["high s", "64 bytes", "v 29", "empty"],
)
def test_signature__malleable_or_malformed__refused(
    forwarder, escrow, order, seller, stranger, mangle
):
    request, signature = signed_ship(forwarder, escrow, seller, order)
    assert not forwarder.verify(req_tuple(request), mangle(signature))
    with ape.reverts("forwarder: invalid signature"):
        relay(forwarder, request, mangle(signature), stranger)


def test_signature__by_another_key__refused(forwarder, escrow, order, seller, stranger):
    request = make_request(forwarder, seller, calldata(escrow, "ship", order, TRACKING), escrow)
    wrong = sign_request(key_of(stranger), request, forwarder)
    with ape.reverts("forwarder: signer is not from"):
        relay(forwarder, request, wrong, stranger)


def test_value__must_match_request(forwarder, probe, stranger):
    request = make_request(forwarder, stranger, calldata(probe, "who"), probe, value=1)
    signature = sign_request(key_of(stranger), request, forwarder)
    with ape.reverts("forwarder: value mismatch"):
        relay(forwarder, request, signature, stranger)


def test_value__more_than_the_request__refused_not_kept(forwarder, probe, stranger):
    """A relayer that sends more ETH than the request moves would leave it in the
    forwarder, which has no way to pay it out."""
    request = make_request(forwarder, stranger, calldata(probe, "who"), probe)
    signature = sign_request(key_of(stranger), request, forwarder)
    with ape.reverts("forwarder: value mismatch"):
        relay(forwarder, request, signature, stranger, value=1)
    assert forwarder.balance == 0
    assert forwarder.nonces(stranger) == request["nonce"]


def test_starved_inner_call__refused_not_counted_as_done(forwarder, probe, stranger):
    """The probe swallows its sub-call's out-of-gas (as Escrow does with the trust update):
    a relayer that sends too little gas for the requested 1,000,000 cannot make it count."""
    request = make_request(forwarder, stranger, calldata(probe, "burn"), probe, gas=1_000_000)
    signature = sign_request(key_of(stranger), request, forwarder)
    with ape.reverts("forwarder: insufficient gas"):
        relay(forwarder, request, signature, stranger, gas_limit=300_000)
    assert forwarder.nonces(stranger) == 0
    tx = relay(forwarder, request, signature, stranger, gas_limit=1_400_000)
    assert tx.events.filter(probe.Burned) == [probe.Burned(sub_call_ok=False)]
    assert forwarder.nonces(stranger) == 1


def test_sender__forwarder_short_calldata__is_the_forwarder(project, deployer, stranger, buyer):
    """Calldata of fewer than 20 bytes from the trusted forwarder carries no signer."""
    eoa_trusted = project.SenderProbe.deploy(stranger, sender=deployer)
    selector = bytes(eoa_trusted.who.encode_input())
    tx = stranger.transfer(eoa_trusted.address, 0, data=selector)
    assert tx.events.filter(eoa_trusted.Seen) == [eoa_trusted.Seen(sender=stranger)]
    tx = stranger.transfer(eoa_trusted.address, 0, data=selector + b"\x01" * 15)  # 19 bytes
    assert tx.events.filter(eoa_trusted.Seen) == [eoa_trusted.Seen(sender=stranger)]
    # 20 bytes and more: the last 20 are the signer
    tx = stranger.transfer(eoa_trusted.address, 0, data=selector + b"\x01" * 16)
    expected = "0x" + (selector + b"\x01" * 16)[-20:].hex()
    assert tx.events.filter(eoa_trusted.Seen)[0].sender.lower() == expected
    # anyone else appending an address changes nothing
    tx = buyer.transfer(eoa_trusted.address, 0, data=selector + bytes.fromhex(stranger.address[2:]))
    assert tx.events.filter(eoa_trusted.Seen) == [eoa_trusted.Seen(sender=buyer)]


def test_sender__spoofed_inside_a_request__the_signer_counts(
    forwarder, escrow, order, seller, attacker
):
    """An attacker's own request whose data already ends in the seller's address: the
    forwarder appends the attacker, and the last 20 bytes win."""
    data = calldata(escrow, "ship", order, TRACKING) + bytes.fromhex(seller.address[2:])
    request = make_request(forwarder, attacker, data, escrow)
    with ape.reverts("escrow: caller is not the seller"):
        relay(forwarder, request, sign_request(key_of(attacker), request, forwarder), attacker)


def permit_signature(token, owner_key, owner, spender, value, deadline):
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": "Social Ecommerce Chain",
            "version": "1",
            "chainId": chain.chain_id,
            "verifyingContract": token.address,
        },
        "message": {
            "owner": owner,
            "spender": str(spender.address),
            "value": value,
            "nonce": token.nonces(owner),
            "deadline": deadline,
        },
    }
    s = encode_typed_data(full_message=typed)
    sig = sign_digest(owner_key, keccak(b"\x19" + s.version + s.header + s.body))
    return sig[64], sig[:32], sig[32:64]


@pytest.mark.parametrize("front_run", [False, True], ids=["permit", "front-run permit"])
def test_gasless_buyer__permit_and_requests__sec_trade_without_eth(
    forwarder, escrow, shares, token, deployer, seller, stranger, attacker, front_run
):
    """A buyer with SEC and no ETH: signs a permit and requests; the relayer (stranger) pays
    all gas. The relayer submits the permit and proceeds when the allowance suffices, so a
    permit someone else submitted first does not block the purchase."""
    buyer = GASLESS.address
    price = 150 * SEC
    token.transfer(buyer, 1_000 * SEC, sender=deployer)
    assert chain.provider.get_balance(buyer) == 0
    listing = make_listing(seller, token=token.address, price=price)
    listing_sig = sign_listing(key_of(seller), listing, escrow)
    deadline = chain.blocks.head.timestamp + 3_600
    v, r, s = permit_signature(token, bytes(GASLESS.key), buyer, escrow, price, deadline)
    if front_run:
        token.permit(buyer, escrow, price, deadline, v, r, s, sender=attacker)
        with ape.reverts("erc20: invalid signature"):
            token.permit(buyer, escrow, price, deadline, v, r, s, sender=stranger)
    else:
        token.permit(buyer, escrow, price, deadline, v, r, s, sender=stranger)
    assert token.allowance(buyer, escrow) >= price  # the relayer's check before relaying

    def relayed(signer_addr, key, target, method, *args):
        request = make_request(forwarder, signer_addr, calldata(target, method, *args), target)
        return relay(forwarder, request, sign_request(key, request, forwarder), stranger)

    tx = relayed(buyer, bytes(GASLESS.key), escrow, "buy_signed", as_tuple(listing), listing_sig, 0)
    order_id = tx.events.filter(escrow.OrderPaid)[0].order_id
    assert escrow.get_order(order_id).buyer == buyer
    relayed(seller.address, key_of(seller), escrow, "ship", order_id, TRACKING)
    before = token.balanceOf(seller)
    relayed(buyer, bytes(GASLESS.key), escrow, "confirm", order_id)
    assert token.balanceOf(seller) == before + price
    tx = relayed(buyer, bytes(GASLESS.key), shares, "share", order_id)
    assert tx.events.filter(shares.Shared)[0].sharer == buyer
    assert chain.provider.get_balance(buyer) == 0
    assert forwarder.nonces(buyer) == 3


def test_court__relayed_votes_and_execute__count_for_the_signers(
    forwarder, court, escrow, staking, token, accounts, seller, buyer, stranger
):
    stake_judges(staking, token, [accounts[i] for i in (3, 4, 6, 7)])
    lid = new_listing(escrow, seller)
    case_id = dispute_order(escrow, lid, seller, buyer)
    draw(court, case_id, stranger)
    panel = by_address(accounts, court.panel_of(case_id))
    for judge in panel[:2]:
        request = make_request(forwarder, judge, calldata(court, "vote", case_id, 1), court)
        tx = relay(forwarder, request, sign_request(key_of(judge), request, forwarder), stranger)
        assert tx.events.filter(court.Voted) == [
            court.Voted(case_id=case_id, judge=judge, ruling=1)
        ]
        assert court.votes(case_id, judge) == 1
    # execute is anyone's: relayed for the buyer, it applies the majority
    request = make_request(forwarder, buyer, calldata(court, "execute", case_id), court)
    tx = relay(forwarder, request, sign_request(key_of(buyer), request, forwarder), stranger)
    assert [e.ruling for e in tx.events.filter(court.CaseExecuted)] == [1]
    assert escrow.order_status(case_id) == 6


def test_relayed_dispute__sec_order__deposit_pulled_from_the_signer_case_opened(
    forwarder, escrow, court, token, seller, buyer, stranger
):
    listing = make_listing(seller, token=token.address, price=150 * SEC)
    token.approve(escrow, 160 * SEC, sender=buyer)
    tx = escrow.buy_signed(
        as_tuple(listing), sign_listing(key_of(seller), listing, escrow), 0, sender=buyer
    )
    order_id = tx.events.filter(escrow.OrderPaid)[0].order_id
    escrow.ship(order_id, TRACKING, sender=seller)
    deposit = escrow.dispute_deposit(order_id)
    before = token.balanceOf(buyer)
    data = calldata(escrow, "dispute", order_id, b"\x03" * 32)
    request = make_request(forwarder, buyer, data, escrow)
    tx = relay(forwarder, request, sign_request(key_of(buyer), request, forwarder), stranger)
    assert tx.events.filter(escrow.OrderDisputed)[0].buyer == buyer
    assert token.balanceOf(buyer) == before - deposit
    assert court.case_of(order_id) == order_id
