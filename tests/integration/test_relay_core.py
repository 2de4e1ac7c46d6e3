"""The relayer core on the embedded chain, against a minimal test forwarder and an ERC-2771
target: a user with no ETH acts through it; every refusal has its reason; the same request
twice is one transaction; a restarted core keeps its queue."""

import pytest
from ape import chain
from eth_account import Account

from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.relay.build import build_request, calldata
from sec_offchain.relay.core import FORWARD_OVERHEAD, RelayerCore
from sec_offchain.relay.policy import SponsorshipPolicy
from sec_offchain.relay.requests import ForwardRequest, build_request_file, sign_request

RELAYER = get_dev_account(7)
USER = Account.from_key(b"\x11" * 32)  # never funded: 0 ETH
OTHER = Account.from_key(b"\x22" * 32)
NOW = 1_800_000_000.0


def abi_of(contract) -> list[dict]:
    return [item.model_dump(mode="json", by_alias=True) for item in contract.contract_type.abi]


@pytest.fixture(scope="module")
def forwarder(project, deployer):
    return project.RelayTestForwarder.deploy(sender=deployer)


@pytest.fixture(scope="module")
def target(project, deployer, forwarder):
    return project.RelayTestTarget.deploy(forwarder, sender=deployer)


@pytest.fixture
def w3():
    return chain.provider.web3


def make_core(w3, forwarder, target, path, clock=lambda: NOW, **limits):
    policy = SponsorshipPolicy.from_contracts(
        [("Target", target.address, abi_of(target))], {"Target": ("ping",)}, **limits
    )
    return RelayerCore(w3, forwarder.address, abi_of(forwarder), RELAYER, policy, path, clock=clock)


@pytest.fixture
def core(w3, forwarder, target, tmp_path):
    core = make_core(w3, forwarder, target, tmp_path / "relay.db")
    yield core
    core.close()


def signed(w3, forwarder, target, fn_name="ping", *args, account=USER, nonce=None, **kw):
    fn = getattr(w3.eth.contract(address=target.address, abi=abi_of(target)).functions, fn_name)
    fwd = w3.eth.contract(address=forwarder.address, abi=abi_of(forwarder))
    req = build_request(
        w3, fwd, account.address, target.address, calldata(fn(*args)), nonce=nonce, **kw
    )
    sig = sign_request(account.key, req, w3.eth.chain_id, forwarder.address)
    body = build_request_file(req, sig, w3.eth.chain_id, forwarder.address)
    return body["request"], body["signature"], body["hash"]


def test_submit__user_without_eth__call_runs_as_the_user(w3, core, forwarder, target):
    assert w3.eth.get_balance(USER.address) == 0
    request, sig, digest = signed(w3, forwarder, target, "ping", 5)
    outcome = core.submit(request, sig)
    assert (outcome.hash, outcome.status) == (digest, "pending")
    final = core.wait(digest, timeout=30)
    assert (final.status, final.reason, final.tx_hash) == ("mined", "ok", outcome.tx_hash)
    receipt = w3.eth.get_transaction_receipt(final.tx_hash)
    assert final.gas_used == receipt["gasUsed"]
    assert target.last_sender() == USER.address
    assert target.total() == 5
    assert forwarder.nonces(USER.address) == 1
    assert [(a, r) for _, a, r in core.decisions(digest)] == [
        (
            True,
            f"sponsored: Target.ping for {USER.address} "
            f"({int(request['gas']) + FORWARD_OVERHEAD:,} gas)",
        ),
        (True, f"mined ok ({final.gas_used:,} gas)"),
    ]


def test_submit__same_request_twice__one_transaction(w3, core, forwarder, target):
    request, sig, digest = signed(w3, forwarder, target, "ping", 2)
    first = core.wait(core.submit(request, sig).hash, timeout=30)
    sent = w3.eth.get_transaction_count(RELAYER.address)
    again = core.submit(request, sig)
    assert again == first
    assert w3.eth.get_transaction_count(RELAYER.address) == sent
    assert target.total() == 2
    assert core.decisions(digest)[-1] == (digest, True, "duplicate: already mined")


def test_submit__refusals__each_with_its_reason(w3, forwarder, target, tmp_path):
    disabled = {OTHER.address}
    core = make_core(
        w3,
        forwarder,
        target,
        tmp_path / "r.db",
        rate_limit=1,
        is_disabled=lambda a: a in disabled,
    )
    cases = []
    req, sig, _ = signed(w3, forwarder, target, "other")
    cases.append((req, sig, f"refused: {target.address} function 0x"))
    req, sig, _ = signed(w3, forwarder, target, "ping", 1, account=OTHER)
    cases.append((req, sig, f"refused: {OTHER.address} is disabled in the TrustIndex"))
    req, sig, _ = signed(w3, forwarder, target, "ping", 13, gas=100_000)
    cases.append((req, sig, "refused: the call would revert: target: unlucky"))
    latest = w3.eth.get_block("latest")["timestamp"]
    req, sig, _ = signed(w3, forwarder, target, "ping", 1, deadline=latest)
    cases.append((req, sig, f"refused: the request expired at {latest}"))
    req, sig, _ = signed(w3, forwarder, target, "ping", 1, nonce=3)
    cases.append((req, sig, "refused: nonce 3 skips ahead (next is 0)"))
    req, _, _ = signed(w3, forwarder, target, "ping", 1)
    _, other_sig, _ = signed(w3, forwarder, target, "ping", 2)
    cases.append((req, other_sig, "refused: request signed by 0x"))
    tampered = dict(req, data=req["data"][:-1] + "2")
    cases.append(
        (tampered, signed(w3, forwarder, target, "ping", 1)[1], "refused: request signed by")
    )
    other_chain = sign_request(
        USER.key, ForwardRequest.from_json(req), w3.eth.chain_id + 1, forwarder.address
    )
    cases.append((req, other_chain, "refused: request signed by 0x"))
    other_forwarder = sign_request(
        USER.key, ForwardRequest.from_json(req), w3.eth.chain_id, target.address
    )
    cases.append((req, other_forwarder, "refused: request signed by 0x"))
    with_value = ForwardRequest.from_json(dict(req, value="1"))
    value_sig = sign_request(USER.key, with_value, w3.eth.chain_id, forwarder.address)
    cases.append(
        (with_value.to_json(), value_sig, "refused: the request carries ETH (value must be 0)")
    )
    high_s = "0x" + "11" * 32 + "ff" * 32 + "1b"
    cases.append((req, high_s, "refused: bad request signature: high s"))
    for request, signature, reason in cases:
        outcome = core.submit(request, signature)
        assert outcome.status == "refused", reason
        assert outcome.reason.startswith(reason), (outcome.reason, reason)
        if "signed by" in reason:
            assert outcome.reason.endswith(
                f", not by its sender {USER.address} (tampered with, or signed for another "
                "chain or forwarder)"
            )
    assert "not sponsored" in core.submit(*signed(w3, forwarder, target, "other")[:2]).reason
    # malformed input (what the gateway turns into a 4xx)
    assert core.submit([1, 2], "0x").reason == "refused: a request is a JSON object"
    assert core.submit({"from": USER.address}, "0x").reason == (
        "refused: request lacks to, value, gas, nonce, deadline, data"
    )
    assert core.submit(dict(req, gas="-1"), "0x").reason == "refused: gas is out of range: '-1'"
    assert core.submit(req, "nothex").reason == "refused: signature is not 0x-hex: 'nothex'"
    # rate limit: one request per window, the second is refused
    first = core.submit(*signed(w3, forwarder, target, "ping", 1)[:2])
    assert first.status == "pending"
    second = core.submit(*signed(w3, forwarder, target, "ping", 1, nonce=1)[:2])
    assert second.reason == (
        f"refused: rate limit, 1 requests from {USER.address} in the last 3600 s (limit 1)"
    )
    assert target.total() == 1
    core.close()


def test_submit__gas_budgets__refused_when_spent(w3, forwarder, target, tmp_path):
    req, sig, _ = signed(w3, forwarder, target, "ping", 1, gas=100_000)
    need = 100_000 + FORWARD_OVERHEAD
    core = make_core(w3, forwarder, target, tmp_path / "a.db", account_gas_per_day=need - 1)
    assert core.submit(req, sig).reason == (
        f"refused: {USER.address}'s gas budget for today is spent "
        f"(0 used + {need:,} > {need - 1:,})"
    )
    core.close()
    core = make_core(w3, forwarder, target, tmp_path / "g.db", global_gas_per_day=need + 1000)
    assert core.wait(core.submit(req, sig).hash, timeout=30).status == "mined"
    used = core.get(core.submit(req, sig).hash).gas_used
    req2, sig2, _ = signed(w3, forwarder, target, "ping", 1, gas=100_000, account=OTHER)
    assert core.submit(req2, sig2).reason == (
        f"refused: the relayer's gas budget for today is spent ({used:,} used + {need:,} > "
        f"{need + 1000:,})"
    )
    core.close()


def test_submit__rate_window__a_request_one_window_old_counts__one_second_later_not(
    w3, forwarder, target, tmp_path
):
    now = [NOW]
    core = make_core(w3, forwarder, target, tmp_path / "w.db", clock=lambda: now[0], rate_limit=1)
    assert core.submit(*signed(w3, forwarder, target, "ping", 1)[:2], send=False).status == (
        "queued"
    )
    second = signed(w3, forwarder, target, "ping", 2)[:2]  # the same nonce: only one will run
    now[0] = NOW + 3600
    assert core.submit(*second, send=False).reason == (
        f"refused: rate limit, 1 requests from {USER.address} in the last 3600 s (limit 1)"
    )
    now[0] = NOW + 3601
    assert core.submit(*second, send=False).status == "queued"
    core.close()


def test_submit__nonce_past_a_queued_request__refused_naming_the_next_free_nonce(
    w3, core, forwarder, target
):
    assert core.submit(*signed(w3, forwarder, target, "ping", 1)[:2], send=False).status == (
        "queued"
    )
    # nonce 0 is taken by the queued request: the next free one is 1, not the chain's 0
    skipping = signed(w3, forwarder, target, "ping", 1, nonce=2)[:2]
    assert core.submit(*skipping).reason == "refused: nonce 2 skips ahead (next is 1)"


def test_restart__queued_request__sent_by_the_next_core_once(w3, forwarder, target, tmp_path):
    path = tmp_path / "relay.db"
    core = make_core(w3, forwarder, target, path)
    request, sig, digest = signed(w3, forwarder, target, "ping", 7)
    assert core.submit(request, sig, send=False).status == "queued"
    core.close()
    assert target.total() == 0

    core = make_core(w3, forwarder, target, path)
    assert core.get(digest).status == "queued"
    assert core.submit(request, sig).status == "queued"  # a duplicate, not a second entry
    [sent] = core.process()
    assert sent.status == "pending"
    core.close()

    core = make_core(w3, forwarder, target, path)
    final = core.wait(digest, timeout=30)
    assert (final.status, final.tx_hash) == ("mined", sent.tx_hash)
    assert target.total() == 7
    assert core.process() == []
    core.close()


def test_process__nonce_used_by_someone_else__dropped_not_sent(
    w3, core, forwarder, target, attacker
):
    request, sig, digest = signed(w3, forwarder, target, "ping", 4)
    assert core.submit(request, sig, send=False).status == "queued"
    # anyone may relay a signed request: an attacker sends it first, through the forwarder
    req = ForwardRequest.from_json(request)
    fields = (req.sender, req.to, req.value, req.gas, req.nonce, req.deadline, req.data)
    forwarder.execute(fields, bytes.fromhex(sig[2:]), sender=attacker)
    sent = w3.eth.get_transaction_count(RELAYER.address)
    [outcome] = core.process()
    assert (outcome.status, outcome.reason) == (
        "dropped",
        "dropped: its nonce was used by another transaction",
    )
    assert w3.eth.get_transaction_count(RELAYER.address) == sent
    assert target.total() == 4
