"""The gasless relayer's rules as functions, without a chain: the sponsorship policy at each of
its limits (value, allow-list, trust gate, 20 requests an hour, daily gas budgets) with its
exact reasons, the permit checks, the request's JSON checks at the edges of each field's range,
the EIP-712 digests against eth-account's encoder, and the store's counts that feed the
policy."""

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from sec_offchain.relay.policy import SponsorshipPolicy, Usage
from sec_offchain.relay.requests import (
    MAX_UINT48,
    MAX_UINT256,
    ForwardRequest,
    Permit,
    RequestError,
    hash_permit,
    hash_request,
    sign_permit,
)
from sec_offchain.relay.store import RelayStore

USER = Account.from_key(b"\x11" * 32)
OTHER = Account.from_key(b"\x22" * 32)
TARGET = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
FORWARDER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
TOKEN = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
ESCROW = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9"
PING = bytes.fromhex("5c36b186")
CHAIN = 31337


def request(sender=USER.address, to=TARGET, value=0, data=PING + b"\x00" * 32, **kw):
    fields = dict(gas=100_000, nonce=0, deadline=1_800_003_600)
    fields.update(kw)
    return ForwardRequest(
        sender, to, value, fields["gas"], fields["nonce"], fields["deadline"], data
    )


def policy(**limits):
    return SponsorshipPolicy(
        allowed={(TARGET.lower(), PING): "Target.ping"},
        permit_tokens=frozenset({TOKEN.lower()}),
        permit_spenders=frozenset({ESCROW.lower()}),
        **limits,
    )


def usage(recent=0, account=0, total=0):
    return Usage(recent, account, total)


# ── the policy ─────────────────────────────────────────────────────────────────────────────
def test_policy__defaults__20_an_hour_3m_gas_a_day_each_100m_in_all():
    p = policy()
    assert (p.rate_limit, p.rate_window) == (20, 3600)
    assert (p.account_gas_per_day, p.global_gas_per_day) == (3_000_000, 100_000_000)


def test_policy__rate_limit__19_recent_allowed_20_refused():
    p, req = policy(), request()
    assert p.decide(req, 160_000, usage(recent=19)).allowed
    decision = p.decide(req, 160_000, usage(recent=20))
    assert (decision.allowed, decision.reason) == (
        False,
        f"refused: rate limit, 20 requests from {USER.address} in the last 3600 s (limit 20)",
    )


def test_policy__account_budget__exactly_spent_allowed_one_more_refused():
    p, req = policy(), request()
    ok = p.decide(req, 160_000, usage(account=3_000_000 - 160_000))
    assert (ok.allowed, ok.reason) == (
        True,
        f"sponsored: Target.ping for {USER.address} (160,000 gas)",
    )
    over = p.decide(req, 160_000, usage(account=3_000_000 - 159_999))
    assert (over.allowed, over.reason) == (
        False,
        f"refused: {USER.address}'s gas budget for today is spent "
        "(2,840,001 used + 160,000 > 3,000,000)",
    )
    # the request's own gas counts: nothing used yet, but more than the budget asked for
    assert p.decide(req, 3_000_001, usage()).reason == (
        f"refused: {USER.address}'s gas budget for today is spent (0 used + 3,000,001 > 3,000,000)"
    )


def test_policy__global_budget__exactly_spent_allowed_one_more_refused():
    p, req = policy(), request()
    assert p.decide(req, 160_000, usage(total=100_000_000 - 160_000)).allowed
    assert p.decide(req, 160_000, usage(total=100_000_000 - 159_999)).reason == (
        "refused: the relayer's gas budget for today is spent "
        "(99,840,001 used + 160,000 > 100,000,000)"
    )


def test_policy__value_or_unlisted_function__refused_with_the_reason():
    p = policy()
    assert p.decide(request(value=1), 1, usage()).reason == (
        "refused: the request carries ETH (value must be 0)"
    )
    other = request(data=bytes.fromhex("deadbeef"))
    assert p.decide(other, 1, usage()).reason == (
        f"refused: {TARGET} function 0xdeadbeef is not sponsored"
    )


def test_policy__trust_gate__asks_about_the_sender_only():
    asked = []

    def is_disabled(address):
        asked.append(address)
        return address == OTHER.address

    p = policy(is_disabled=is_disabled)
    assert p.decide(request(), 1, usage()).allowed
    assert p.decide(request(sender=OTHER.address), 1, usage()).reason == (
        f"refused: {OTHER.address} is disabled in the TrustIndex"
    )
    assert asked == [USER.address, OTHER.address]


def test_policy__permit__token_spender_and_owner_each_checked():
    p, req = policy(), request()
    good = Permit(TOKEN, USER.address, ESCROW, 5, 0, 2**40, b"\x01" * 65)
    assert p.check_permit(good, req).allowed
    cases = [
        (Permit(ESCROW, USER.address, ESCROW, 5, 0, 2**40, b"\x01" * 65),
         f"refused: permits for token {ESCROW} are not relayed"),
        (Permit(TOKEN, USER.address, TARGET, 5, 0, 2**40, b"\x01" * 65),
         f"refused: permit spender {TARGET} is not the Escrow"),
        (Permit(TOKEN, OTHER.address, ESCROW, 5, 0, 2**40, b"\x01" * 65),
         f"refused: the permit's owner {OTHER.address} is not the request's sender"),
    ]  # fmt: skip
    for permit, reason in cases:
        decision = p.check_permit(permit, req)
        assert (decision.allowed, decision.reason) == (False, reason)


# ── requests and permits ───────────────────────────────────────────────────────────────────
def test_request_json__largest_values__taken_one_more__refused():
    top = dict(
        request().to_json(), value=str(MAX_UINT256), gas=str(MAX_UINT256), deadline=MAX_UINT48
    )
    req = ForwardRequest.from_json(top)
    assert (req.value, req.gas, req.deadline) == (MAX_UINT256, MAX_UINT256, MAX_UINT48)
    with pytest.raises(RequestError, match=rf"^deadline is out of range: {MAX_UINT48 + 1}$"):
        ForwardRequest.from_json(dict(top, deadline=MAX_UINT48 + 1))
    with pytest.raises(RequestError, match=r"^value is out of range: '"):
        ForwardRequest.from_json(dict(top, value=str(MAX_UINT256 + 1)))
    with pytest.raises(RequestError, match=r"^nonce is not an integer: True$"):
        ForwardRequest.from_json(dict(top, nonce=True))


def test_hash_request__equals_eth_account_typed_data():
    req = request(nonce=7, gas=123_456, deadline=MAX_UINT48 - 1, data=PING + b"\x05" * 40)
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "ForwardRequest": [
                {"name": "from", "type": "address"},
                {"name": "to", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "gas", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint48"},
                {"name": "data", "type": "bytes"},
            ],
        },
        "primaryType": "ForwardRequest",
        "domain": {
            "name": "SEC Forwarder",
            "version": "1",
            "chainId": CHAIN,
            "verifyingContract": FORWARDER,
        },
        "message": {
            "from": req.sender,
            "to": req.to,
            "value": req.value,
            "gas": req.gas,
            "nonce": req.nonce,
            "deadline": req.deadline,
            "data": req.data,
        },
    }
    expected = _digest(typed)
    assert hash_request(req, CHAIN, FORWARDER) == expected
    assert hash_request(req, CHAIN + 1, FORWARDER) != expected


def test_hash_permit__equals_eth_account_typed_data__signed_by_the_owner():
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
        "domain": {"name": "SEC", "version": "1", "chainId": CHAIN, "verifyingContract": TOKEN},
        "message": {
            "owner": USER.address,
            "spender": ESCROW,
            "value": 158 * 10**18,
            "nonce": 3,
            "deadline": 1_900_000_000,
        },
    }
    args = ("SEC", CHAIN, TOKEN, USER.address, ESCROW, 158 * 10**18, 3, 1_900_000_000)
    assert hash_permit(*args) == _digest(typed)
    permit = sign_permit(USER.key, *args)
    signer = Account._recover_hash(hash_permit(*args), signature=permit.signature)
    assert signer == USER.address


def test_permit_json__round_trip__short_signature_refused():
    permit = sign_permit(USER.key, "SEC", CHAIN, TOKEN, USER.address, ESCROW, 5, 0, 2**40)
    assert Permit.from_json(permit.to_json()) == permit
    short = dict(permit.to_json(), signature="0x" + permit.signature[:64].hex())
    with pytest.raises(RequestError, match=r"^permit signature is not 65 bytes$"):
        Permit.from_json(short)


def _digest(typed):
    from eth_utils import keccak

    signable = encode_typed_data(full_message=typed)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


# ── the store's counts ─────────────────────────────────────────────────────────────────────
@pytest.fixture
def store(tmp_path):
    store = RelayStore(tmp_path / "relay.db")
    yield store
    store.close()


def test_store__recent_count__a_request_exactly_one_window_old_still_counts(store):
    store.insert("0x01", USER.address, 0, {}, 100, 20_000, 1_000.0)
    store.insert("0x02", USER.address, 1, {}, 100, 20_000, 1_500.0)
    store.insert("0x03", OTHER.address, 0, {}, 100, 20_000, 1_500.0)
    assert store.recent_count(USER.address, 1_000.0) == 2
    assert store.recent_count(USER.address, 1_000.5) == 1
    assert store.recent_count(USER.address, 1_500.5) == 0


def test_store__gas_on__per_account_and_in_all_on_that_day_only(store):
    store.insert("0x01", USER.address, 0, {}, 100, 20_000, 1.0)
    store.insert("0x02", OTHER.address, 0, {}, 30, 20_000, 1.0)
    store.insert("0x03", USER.address, 1, {}, 7, 20_001, 2.0)
    assert (store.gas_on(20_000, USER.address), store.gas_on(20_000, OTHER.address)) == (100, 30)
    assert (store.gas_on(20_000), store.gas_on(20_001), store.gas_on(20_001, OTHER.address)) == (
        130,
        7,
        0,
    )


def test_store__open_count__queued_and_pending_until_final(store):
    for n, h in enumerate(("0x01", "0x02", "0x03")):
        store.insert(h, USER.address, n, {}, 1, 1, 1.0)
    store.set_sent("0x02", "0xaa", b"raw", 2.0)
    store.set_sent("0x03", "0xbb", b"raw", 2.0)
    store.set_final("0x03", "mined", "ok", 21_000, 3.0)
    assert store.open_count(USER.address) == 2
    assert store.open_count(OTHER.address) == 0
