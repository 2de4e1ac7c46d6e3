"""Signed listings off chain: the EIP-712 digest (against eth-account's encoder), signing and
verification (exact signer, low s), and the link codec with its refusals."""

import base64
import json
from dataclasses import replace

import pytest
import rlp
from eth_account import Account
from eth_account.messages import encode_typed_data

from sec_offchain.crypto.hashing import keccak
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.listings import (
    ETH,
    SECP256K1_N,
    Listing,
    ListingError,
    SignedListing,
    build_typed_data,
    decode_code,
    encode_code,
    hash_listing,
    load_listing,
    metadata_of,
    parse_link,
    sign_listing,
)

SELLER, OTHER = get_dev_account(1), get_dev_account(2)
ESCROW = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
SEC = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
TEXT = "Handmade leather wallet, brown"


def make(token=SEC, description=TEXT, **fields) -> SignedListing:
    listing = Listing(
        SELLER.address,
        158 * 10**18,
        token,
        7 * 86400,
        3 * 86400,
        metadata_of(description),
        5,
        1_790_000_000,
        0xDEADBEEF12345678,
    )
    listing = replace(listing, **fields)
    return sign_listing(SELLER.key, listing, 31337, ESCROW, description)


def recode(signed: SignedListing, index: int, value: bytes) -> str:
    code = encode_code(signed)
    items = rlp.decode(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4)))
    items[index] = value
    return base64.urlsafe_b64encode(rlp.encode(items)).rstrip(b"=").decode()


def test_hash_listing__same_as_eth_account_typed_data():
    signed = make()
    signable = encode_typed_data(full_message=build_typed_data(signed.listing, 31337, ESCROW))
    expected = keccak(b"\x19" + signable.version + signable.header + signable.body)
    assert hash_listing(signed.listing, 31337, ESCROW) == expected
    # and a wallet's signature of that typed data is the same signature
    wallet = Account.sign_message(signable, SELLER.key)
    assert wallet.signature == signed.signature


def test_link__round_trip__same_listing_short_enough_for_a_qr_code():
    signed = make()
    link = signed.to_link()
    assert link.startswith("sec://listing/")
    assert len(link) == 282
    assert parse_link(link) == signed
    https = signed.to_link("https://gw.example/")
    assert https == "https://gw.example/l/" + link.removeprefix("sec://listing/")
    assert parse_link(https + "?ref=x") == signed
    assert parse_link(link.removeprefix("sec://listing/")) == signed


def test_link__eth_listing_with_a_long_description__carries_the_hash_only():
    signed = make(token=ETH, description="x" * 97)
    decoded = parse_link(signed.to_link())
    assert decoded.listing == signed.listing
    assert decoded.description == ""
    assert decoded.listing.metadata == keccak(b"x" * 97)


def test_file__json_and_link_files__load(tmp_path):
    signed = make()
    (tmp_path / "l.json").write_text(json.dumps(signed.to_json()))
    (tmp_path / "l.txt").write_text(signed.to_link() + "\n")
    assert load_listing(str(tmp_path / "l.json")) == signed
    assert load_listing(str(tmp_path / "l.txt")) == signed
    with pytest.raises(ListingError, match="no listing file"):
        load_listing(str(tmp_path / "missing.json"))


@pytest.mark.parametrize(
    ("index", "value", "message"),
    [
        (4, (159 * 10**18).to_bytes(9, "big"), "not by its seller"),  # price
        (5, b"", "not by its seller"),  # token SEC -> ETH
        (7, (86400).to_bytes(3, "big"), "not by its seller"),  # ship window
        (1, (1).to_bytes(1, "big"), "not by its seller"),  # another chain
        (2, bytes(19) + b"\1", "not by its seller"),  # another Escrow
        (10, b"", "not by its seller"),  # quantity 5 -> unlimited
        (9, b"Fake leather wallet", "not by its seller"),  # description (so metadata)
        (0, b"\2", "version 2 is not supported"),
        (4, b"\0\1", "price is not a minimal integer"),
        (13, b"\1" * 64, "signature is 64 bytes"),
        (3, b"\1" * 19, "seller is 19 bytes"),
        (8, b"\1" * 32, "both a metadata hash and a description"),
    ],
)
def test_decode__tampered_or_malformed__refused_with_reason(index, value, message):
    with pytest.raises(ListingError, match=message):
        decode_code(recode(make(), index, value))


def test_decode__high_s_twin__refused():
    signed = make()
    sig = signed.signature
    s = int.from_bytes(sig[32:64], "big")
    twin = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    with pytest.raises(ListingError, match="high s"):
        decode_code(recode(signed, 13, twin))


def test_verify__signed_by_someone_else__refused():
    listing = make().listing
    with pytest.raises(ListingError, match=f"signed by {OTHER.address}, not by its seller"):
        sign_listing(OTHER.key, listing, 31337, ESCROW)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sec://listing/", "not base64url"),
        ("sec://listing/ab+c", "not base64url"),
        ("sec://listing/abcde", "truncated"),
        ("sec://listing/" + base64.urlsafe_b64encode(b"\x05").decode().rstrip("="), "flat RLP"),
        ("sec://listing/" + base64.urlsafe_b64encode(b"\xc3\x01\x02").decode(), "not RLP"),
        ("https://gw.example/listing/abc", "no /l/<code>"),
        ("ethereum:0xabc@1/buy", "not a listing link"),
    ],
)
def test_parse_link__malformed__clear_error(text, message):
    with pytest.raises(ListingError, match=message):
        parse_link(text)


def test_decode__truncated_real_link__refused():
    code = encode_code(make())
    with pytest.raises(ListingError, match="not RLP"):
        decode_code(code[:-8])


def test_digests__same_as_the_contract_clients_typed_data():
    from sec_offchain.contracts.client import hash_forward_request
    from sec_offchain.contracts.client import hash_listing as client_hash_listing
    from sec_offchain.relay.requests import ForwardRequest, hash_request

    signed = make()
    fields = dict(zip(LISTING_FIELDS, signed.listing.as_tuple(), strict=True))
    assert client_hash_listing(fields, 31337, ESCROW) == signed.digest
    request = ForwardRequest(SELLER.address, ESCROW, 0, 150_000, 3, 1_790_000_000, b"\x12" * 36)
    as_dict = {"from": request.sender, **{k: getattr(request, k) for k in REQUEST_FIELDS}}
    assert hash_forward_request(as_dict, 31337, SEC) == hash_request(request, 31337, SEC)


LISTING_FIELDS = ("seller", "price", "token", "auto_complete", "ship_window", "metadata")
LISTING_FIELDS += ("quantity", "expiry", "salt")
REQUEST_FIELDS = ("to", "value", "gas", "nonce", "deadline", "data")
