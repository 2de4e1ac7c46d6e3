"""Signed listings and relayed actions against a deployed suite: buy or cancel a signed
listing directly, read its state, and build what a user with no ETH signs for a relayer (a
forward request for any sponsored call, plus an EIP-2612 permit when SEC is spent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from sec_offchain.contracts.client import ETH, Suite
from sec_offchain.exceptions import ConfigError
from sec_offchain.listings import SignedListing
from sec_offchain.relay.build import build_request, calldata
from sec_offchain.relay.requests import ForwardRequest, Permit, sign_permit, sign_request

PERMIT_VALID_FOR = 3600


@dataclass(frozen=True)
class SignedListingState:
    listing_id: int  # 0 before the first purchase
    sold: int
    cancelled: bool


def get_signed_state(suite: Suite, signed: SignedListing) -> SignedListingState:
    listing_id, sold, cancelled = suite.escrow.functions.signed_listing(signed.digest).call()
    return SignedListingState(int(listing_id), int(sold), bool(cancelled))


def validate_for_suite(suite: Suite, signed: SignedListing) -> None:
    """Raises ConfigError unless the listing was signed for this chain and this Escrow."""
    chain_id = int(suite.w3.eth.chain_id)
    if signed.chain_id != chain_id:
        raise ConfigError(f"the listing is for chain {signed.chain_id}, not chain {chain_id}")
    if signed.escrow.lower() != str(suite.escrow.address).lower():
        raise ConfigError(
            f"the listing is for the Escrow at {signed.escrow}, not {suite.escrow.address}"
        )


def validate_buyable(suite: Suite, signed: SignedListing, buyer: str) -> None:
    """What `buy_signed` asserts, read first so nothing is signed or approved in vain."""
    validate_for_suite(suite, signed)
    listing = signed.listing
    state = get_signed_state(suite, signed)
    if state.cancelled:
        raise ConfigError("the seller cancelled this listing")
    now = int(suite.w3.eth.get_block("latest")["timestamp"])
    if now >= listing.expiry:
        raise ConfigError(f"the listing expired at {listing.expiry}")
    if listing.quantity and state.sold >= listing.quantity:
        raise ConfigError(f"the listing is sold out ({state.sold} of {listing.quantity})")
    if listing.seller.lower() == buyer.lower():
        raise ConfigError(f"{buyer} is the seller of this listing")
    for who, role in ((buyer, "buyer"), (listing.seller, "seller")):
        if suite.escrow.functions.disabled(who).call():
            raise ConfigError(f"the {role} {who} is disabled")
    if listing.token != ETH:
        erc20 = suite.w3.eth.contract(address=listing.token, abi=suite.token.abi)
        have = int(erc20.functions.balanceOf(buyer).call())
        if have < listing.price:
            raise ConfigError(
                f"{buyer} holds {have} of the token, the listing costs {listing.price}"
            )


def buy_signed(
    suite: Suite, buyer: LocalAccount, signed: SignedListing, share_id: int = 0
) -> tuple[int, TxReceipt]:
    """Pays for a signed listing from the buyer's own account (approving exactly the price
    first for an ERC-20 listing); returns the order id and the receipt."""
    listing = signed.listing
    value = listing.price if listing.token == ETH else 0
    if value == 0:
        suite.approve_token(buyer, listing.token, listing.price)
    fn = suite.escrow.functions.buy_signed(listing.as_tuple(), signed.signature, share_id)
    receipt = suite.tx(buyer).transact(fn, value)
    return suite.events(receipt, "Escrow", "OrderPaid")[0]["order_id"], receipt


def cancel_signed(suite: Suite, seller: LocalAccount, signed: SignedListing) -> TxReceipt:
    fn = suite.escrow.functions.cancel_signed_listing(signed.listing.as_tuple())
    return suite.tx(seller).transact(fn)


def sign_relayed(
    suite: Suite, account: LocalAccount, fn: Any, *, nonce: int | None = None
) -> tuple[ForwardRequest, bytes]:
    """A forward request for the bound contract function `fn` (called as `account`), signed
    by `account`. ContractRevert with the contract's reason if the call would fail now."""
    request = build_request(
        suite.w3, suite.forwarder, account.address, fn.address, calldata(fn), nonce=nonce
    )
    signature = sign_request(
        bytes(account.key), request, int(suite.w3.eth.chain_id), str(suite.forwarder.address)
    )
    return request, signature


def sign_buy_permit(suite: Suite, buyer: LocalAccount, signed: SignedListing) -> Permit:
    """The buyer's EIP-2612 permit letting the Escrow take exactly the listing's price."""
    listing = signed.listing
    token = suite.w3.eth.contract(address=listing.token, abi=suite.token.abi)
    name = str(token.functions.name().call())
    nonce = int(token.functions.nonces(buyer.address).call())
    deadline = int(suite.w3.eth.get_block("latest")["timestamp"]) + PERMIT_VALID_FOR
    return sign_permit(
        bytes(buyer.key),
        name,
        int(suite.w3.eth.chain_id),
        listing.token,
        buyer.address,
        str(suite.escrow.address),
        listing.price,
        nonce,
        deadline,
    )


def sign_relayed_buy(
    suite: Suite, buyer: LocalAccount, signed: SignedListing, share_id: int = 0
) -> tuple[ForwardRequest, bytes, Permit]:
    """What a buyer with SEC but no ETH signs: a permit for exactly the price and a forward
    request for `buy_signed` (its gas is a fixed budget: before the permit runs, the call
    cannot be simulated)."""
    listing = signed.listing
    if listing.token == ETH:
        raise ConfigError("an ETH listing is paid in ETH: it cannot be bought without ETH")
    validate_buyable(suite, signed, buyer.address)
    permit = sign_buy_permit(suite, buyer, signed)
    fn = suite.escrow.functions.buy_signed(listing.as_tuple(), signed.signature, share_id)
    request = build_request(
        suite.w3,
        suite.forwarder,
        buyer.address,
        str(suite.escrow.address),
        calldata(fn),
        gas=BUY_SIGNED_GAS,
    )
    signature = sign_request(
        bytes(buyer.key), request, int(suite.w3.eth.chain_id), str(suite.forwarder.address)
    )
    return request, signature, permit


BUY_SIGNED_GAS = 400_000
