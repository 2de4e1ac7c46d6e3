"""The relayer core: takes a user's signed forward request (and, for an SEC purchase, their
permit), decides whether to sponsor it, sends it through `Forwarder.execute` and follows it to
its end (mined, reverted with the reason, or dropped).

* Idempotent: a request is named by its EIP-712 digest; submitting it again returns what the
  first submission became and sends nothing.
* Durable: the request, then the signed transaction, are written to SQLite before anything is
  broadcast, so a restarted core finds its queue (`process` sends what was queued, `poll`
  follows what was sent and re-broadcasts the same bytes when a node lost them).
* Honest: nothing is sent that an `eth_call` shows would revert; every decision, with its
  reason, is logged (`logging`) and stored (`decisions`).
* A front-run permit does not block a purchase: when the allowance already covers the permit,
  the permit is skipped; when the permit transaction fails, the allowance is read again and the
  purchase goes on if it suffices.

The gateway serves `submit`/`get` over HTTP; `sec relay submit` drives it from scripts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from sec_offchain.contracts.transactor import get_revert_reason, is_revert
from sec_offchain.relay.build import simulate_as_forwarder
from sec_offchain.relay.policy import Decision, SponsorshipPolicy, Usage
from sec_offchain.relay.requests import (
    ForwardRequest,
    Permit,
    RequestError,
    _hex_bytes,
    hash_request,
    validate_request_signature,
)
from sec_offchain.relay.store import Outcome, RelayStore, Row

log = logging.getLogger("sec.relay")

# What the forwarder adds around the inner call (signature check, nonce, event), charged to
# the budget before the real figure is known.
FORWARD_OVERHEAD = 60_000
PERMIT_GAS = 90_000
GAS_MARGIN = 1.2
RECEIPT_TIMEOUT = 120.0

PERMIT_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "allowance",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "type": "function",
        "name": "permit",
        "stateMutability": "nonpayable",
        "inputs": [
            {"name": "owner", "type": "address"},
            {"name": "spender", "type": "address"},
            {"name": "amount", "type": "uint256"},
            {"name": "deadline", "type": "uint256"},
            {"name": "v", "type": "uint8"},
            {"name": "r", "type": "bytes32"},
            {"name": "s", "type": "bytes32"},
        ],
        "outputs": [],
    },
]

# ABI component names of the forwarder's request tuple -> ForwardRequest fields.
_FIELD_OF = {"from": "sender", "sender": "sender", "signer": "sender"}


@dataclass(frozen=True)
class Verdict:
    """What checking a request decided: sponsored or not, the gas charged to the budgets,
    the gas of the `execute` transaction, and the gas a permit transaction already used."""

    decision: Decision
    charge: int = 0
    tx_gas: int = 0
    permit_gas: int = 0


class RelayerCore:
    """One relayer key in front of one Forwarder, with a sponsorship policy and a SQLite file."""

    def __init__(
        self,
        w3: Web3,
        forwarder: str,
        forwarder_abi: list[dict[str, Any]],
        relayer: LocalAccount,
        policy: SponsorshipPolicy,
        db_path: Path,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.w3 = w3
        self.forwarder = w3.eth.contract(
            address=Web3.to_checksum_address(forwarder), abi=forwarder_abi
        )
        self.relayer = relayer
        self.policy = policy
        self.store = RelayStore(db_path)
        self.clock = clock
        # One request at a time (the gateway calls from several threads): the nonce and
        # budget checks and the insert that follows them must not interleave.
        self._lock = threading.RLock()
        self.chain_id = int(w3.eth.chain_id)
        execute = [
            i for i in forwarder_abi if i.get("type") == "function" and i.get("name") == "execute"
        ]
        if not execute:
            raise RequestError("the forwarder ABI has no execute function")
        self._execute_inputs = execute[0]["inputs"]

    @classmethod
    def for_suite(
        cls, suite: Any, relayer: LocalAccount, db_path: Path, **limits: Any
    ) -> RelayerCore:
        """A core over a deployed suite (`contracts.client.Suite`) with the default policy."""
        forwarder = suite.contract("Forwarder")
        return cls(
            suite.w3,
            str(forwarder.address),
            forwarder.abi,
            relayer,
            SponsorshipPolicy.for_suite(suite, **limits),
            db_path,
        )

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ the public API

    def submit(
        self,
        request: dict[str, Any] | ForwardRequest,
        signature: str | bytes,
        permit: dict[str, Any] | Permit | None = None,
        *,
        send: bool = True,
    ) -> Outcome:
        """Takes a signed request (JSON form or object) and its signature, and an EIP-2612
        permit when the call spends the sender's tokens. Returns the outcome: "refused" with
        the reason, or the request's state ("pending" once sent; "queued" with send=False).
        The same request twice returns the first one's state and sends nothing more."""
        with self._lock:
            return self._submit(request, signature, permit, send)

    def _submit(
        self,
        request: dict[str, Any] | ForwardRequest,
        signature: str | bytes,
        permit: dict[str, Any] | Permit | None,
        send: bool,
    ) -> Outcome:
        now = self.clock()
        try:
            req = (
                request
                if isinstance(request, ForwardRequest)
                else ForwardRequest.from_json(request)
            )
            sig = _hex_bytes(signature, "signature")
            validate_request_signature(req, sig, self.chain_id, self.forwarder.address)
            perm = (
                permit if permit is None or isinstance(permit, Permit) else Permit.from_json(permit)
            )
        except RequestError as exc:
            sender = (
                request.get("from", "")
                if isinstance(request, dict)
                else getattr(request, "sender", "")
            )
            return self._refuse(now, "", str(sender), f"refused: {exc}")
        digest = "0x" + hash_request(req, self.chain_id, self.forwarder.address).hex()
        known = self.store.outcome(digest)
        if known is not None:
            self._log(now, digest, req.sender, True, f"duplicate: already {known.status}")
            return known
        verdict = self._check(req, sig, perm, now, digest)
        if not verdict.decision.allowed:
            return self._refuse(now, digest, req.sender, verdict.decision.reason)
        body = {
            "request": req.to_json(),
            "signature": "0x" + sig.hex(),
            "tx_gas": verdict.tx_gas,
            "permit_gas": verdict.permit_gas,
        }
        day = int(now // 86400)
        self.store.insert(digest, req.sender, req.nonce, body, verdict.charge, day, now)
        self._log(now, digest, req.sender, True, verdict.decision.reason)
        if send:
            self._send(digest)
        return self.store.outcome(digest) or Outcome(digest, "queued")

    def get(self, request_hash: str) -> Outcome | None:
        """What became of a request (None: never accepted)."""
        return self.store.outcome(request_hash.lower())

    def decisions(self, request_hash: str | None = None) -> list[tuple[str, bool, str]]:
        return self.store.decisions(request_hash)

    def process(self) -> list[Outcome]:
        """Sends every queued request (after a restart, or those submitted with send=False)."""
        with self._lock:
            return self._process()

    def _process(self) -> list[Outcome]:
        out = []
        for row in self.store.with_status("queued"):
            req = ForwardRequest.from_json(row.body["request"])
            if int(self.forwarder.functions.nonces(req.sender).call()) > req.nonce:
                reason = "dropped: its nonce was used by another transaction"
                self.store.set_final(row.hash, "dropped", reason, 0, self.clock())
                self._log(self.clock(), row.hash, req.sender, False, reason)
            else:
                self._send(row.hash)
            out.append(self.store.outcome(row.hash) or row.outcome())
        return out

    def poll(self) -> list[Outcome]:
        """Follows every sent request one step: mined, reverted (with the reason), dropped
        (its nonce used by another transaction, or its deadline passed unmined), or still
        pending (re-broadcast when the node no longer knows the transaction)."""
        with self._lock:
            self._process()
            return [self._follow(row) for row in self.store.with_status("pending")]

    def wait(self, request_hash: str, timeout: float = RECEIPT_TIMEOUT) -> Outcome:
        """Polls until the request is final (or `timeout` seconds pass)."""
        end = time.monotonic() + timeout
        while True:
            self.poll()
            outcome = self.get(request_hash)
            if outcome is None or outcome.final or time.monotonic() >= end:
                return outcome or Outcome(request_hash, "refused", "unknown request")
            time.sleep(0.2)

    # ------------------------------------------------------------------ checks

    def _check(
        self, req: ForwardRequest, sig: bytes, permit: Permit | None, now: float, digest: str
    ) -> Verdict:
        block_time = int(self.w3.eth.get_block("latest")["timestamp"])
        if req.deadline <= block_time:
            return Verdict(Decision(False, f"refused: the request expired at {req.deadline}"))
        on_chain = int(self.forwarder.functions.nonces(req.sender).call())
        if req.nonce < on_chain:
            return Verdict(Decision(False, f"refused: nonce {req.nonce} of {req.sender} is used"))
        ahead = on_chain + self.store.open_count(req.sender)
        if req.nonce > ahead:
            reason = f"refused: nonce {req.nonce} skips ahead (next is {ahead})"
            return Verdict(Decision(False, reason))
        charge = req.gas + FORWARD_OVERHEAD + (PERMIT_GAS if permit else 0)
        day = int(now // 86400)
        usage = Usage(
            self.store.recent_count(req.sender, now - self.policy.rate_window),
            self.store.gas_on(day, req.sender),
            self.store.gas_on(day),
        )
        decision = self.policy.decide(req, charge, usage)
        if not decision.allowed:
            return Verdict(decision)
        permit_gas = 0
        if permit is not None:
            verdict = self.policy.check_permit(permit, req)
            if not verdict.allowed:
                return Verdict(verdict)
            verdict, permit_gas = self._apply_permit(permit, block_time)
            if not verdict.allowed:
                return Verdict(verdict)
            self._log(now, digest, req.sender, True, verdict.reason)
        inner = {
            "from": self.forwarder.address,
            "to": req.to,
            "data": "0x" + (req.data + bytes.fromhex(req.sender[2:])).hex(),
            "value": req.value,
        }
        reason, _ = simulate_as_forwarder(self.w3, inner)
        if reason is None:
            try:
                estimate = self._execute(req, sig).estimate_gas({"from": self.relayer.address})
            except Exception as exc:
                if not is_revert(exc):
                    raise
                reason = get_revert_reason(exc)
        if reason is not None:
            return Verdict(Decision(False, f"refused: the call would revert: {reason}"))
        return Verdict(decision, charge, int(estimate * GAS_MARGIN) + 10_000, permit_gas)

    def _apply_permit(self, permit: Permit, block_time: int) -> tuple[Decision, int]:
        """Makes the permit's allowance exist: skipped when it already does (a front-run or
        earlier permit), otherwise sent and waited for; a failed permit is fine when the
        allowance is there afterwards. Returns the decision and the gas the permit used."""
        token = self.w3.eth.contract(address=permit.token, abi=PERMIT_ABI)
        allowance = int(token.functions.allowance(permit.owner, permit.spender).call())
        if allowance >= permit.value:
            return Decision(True, f"permit skipped: allowance {allowance} already covers it"), 0
        if permit.deadline < block_time:
            return Decision(False, f"refused: the permit expired at {permit.deadline}"), 0
        v, r, s = permit.vrs
        fn = token.functions.permit(
            permit.owner, permit.spender, permit.value, permit.deadline, v, r, s
        )
        try:
            gas = fn.estimate_gas({"from": self.relayer.address})
        except Exception as exc:
            if not is_revert(exc):
                raise
            reason = get_revert_reason(exc)
            return Decision(False, f"refused: the permit would revert: {reason}"), 0
        failure, used = "", 0
        try:
            tx = fn.build_transaction(self._tx_fields(int(gas * GAS_MARGIN) + 10_000))
            signed = self.relayer.sign_transaction(tx)
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT)
            used = int(receipt["gasUsed"])
            if receipt["status"] != 1:
                failure = "the permit transaction failed"
        except Exception as exc:
            if not is_revert(exc):
                raise
            failure = f"the permit reverted: {get_revert_reason(exc)}"
        allowance = int(token.functions.allowance(permit.owner, permit.spender).call())
        if allowance >= permit.value:
            if failure:
                return Decision(True, f"{failure}, but the allowance {allowance} covers it"), used
            return Decision(True, f"permit sent: allowance {allowance}"), used
        return Decision(False, f"refused: {failure or 'the permit set no allowance'}"), used

    # ------------------------------------------------------------------ sending, following

    def _execute(self, req: ForwardRequest, sig: bytes) -> Any:
        """`Forwarder.execute` bound to the request, its tuple built by the ABI's names."""
        first = self._execute_inputs[0]
        values = {
            "sender": req.sender,
            "to": req.to,
            "value": req.value,
            "gas": req.gas,
            "nonce": req.nonce,
            "deadline": req.deadline,
            "data": req.data,
            "signature": sig,
        }
        fields = [
            _FIELD_OF.get(c["name"].strip("_"), c["name"].strip("_")) for c in first["components"]
        ]
        struct = tuple(values[f] for f in fields)
        args = [struct] if len(self._execute_inputs) == 1 else [struct, sig]
        return self.forwarder.functions.execute(*args)

    def _tx_fields(self, gas: int) -> dict[str, Any]:
        return {
            "from": self.relayer.address,
            "nonce": self.w3.eth.get_transaction_count(self.relayer.address, "pending"),
            "gas": gas,
            "gasPrice": self.w3.eth.gas_price,
            "chainId": self.chain_id,
        }

    def _send(self, digest: str) -> None:
        row = self.store.get(digest)
        assert row is not None
        req = ForwardRequest.from_json(row.body["request"])
        sig = _hex_bytes(row.body["signature"], "signature")
        tx = self._execute(req, sig).build_transaction(self._tx_fields(int(row.body["tx_gas"])))
        signed = self.relayer.sign_transaction(tx)
        tx_hash = "0x" + bytes(signed.hash).hex()
        self.store.set_sent(digest, tx_hash, bytes(signed.raw_transaction), self.clock())
        log.info("relay: sent %s as %s", digest, tx_hash)
        self._broadcast(row.hash, bytes(signed.raw_transaction))

    def _broadcast(self, digest: str, raw: bytes) -> None:
        try:
            self.w3.eth.send_raw_transaction(raw)
        except Exception as exc:
            if is_revert(exc):  # a chain that runs transactions as they arrive
                self.store.set_final(digest, "reverted", get_revert_reason(exc), None, self.clock())
                self._log(self.clock(), digest, "", False, f"reverted: {get_revert_reason(exc)}")
                return
            if "already known" in str(exc) or "nonce too low" in str(exc):
                return  # the node has it, or mined it: `poll` finds out which
            log.warning("relay: broadcasting %s failed (%s); poll retries", digest, exc)

    def _follow(self, row: Row) -> Outcome:
        from web3.exceptions import TransactionNotFound

        assert row.tx_hash is not None
        req = ForwardRequest.from_json(row.body["request"])
        now = self.clock()
        try:
            receipt = self.w3.eth.get_transaction_receipt(row.tx_hash)
        except TransactionNotFound:
            receipt = None
        if receipt is not None:
            gas_used = int(receipt["gasUsed"])
            charged = gas_used + int(row.body.get("permit_gas", 0))
            if receipt["status"] == 1:
                self.store.set_final(row.hash, "mined", "ok", gas_used, now, charged)
                self._log(now, row.hash, req.sender, True, f"mined ok ({gas_used:,} gas)")
            else:
                reason = self._replay_reason(row, int(receipt["blockNumber"]))
                self.store.set_final(row.hash, "reverted", reason, gas_used, now, charged)
                self._log(now, row.hash, req.sender, False, f"reverted: {reason}")
            return self.store.outcome(row.hash) or row.outcome()
        try:
            self.w3.eth.get_transaction(row.tx_hash)
            return row.outcome()  # known to the node, not mined yet
        except TransactionNotFound:
            pass
        block_time = int(self.w3.eth.get_block("latest")["timestamp"])
        if int(self.forwarder.functions.nonces(req.sender).call()) > req.nonce:
            reason = "dropped: its nonce was used by another transaction"
        elif req.deadline <= block_time:
            reason = "dropped: the deadline passed before it was mined"
        else:
            assert row.raw_tx is not None
            self._broadcast(row.hash, row.raw_tx)
            return row.outcome()
        self.store.set_final(row.hash, "dropped", reason, 0, now)
        self._log(now, row.hash, req.sender, False, reason)
        return self.store.outcome(row.hash) or row.outcome()

    def _replay_reason(self, row: Row, block: int) -> str:
        """The revert reason of a mined, failed execute, by running it again on the state
        before its block."""
        req = ForwardRequest.from_json(row.body["request"])
        sig = _hex_bytes(row.body["signature"], "signature")
        try:
            self._execute(req, sig).call({"from": self.relayer.address}, block_identifier=block - 1)
        except Exception as exc:  # noqa: BLE001 - any failure is the best reason we have
            return get_revert_reason(exc) if is_revert(exc) else f"unknown ({exc})"
        return "reverted on chain (the replay on the previous block succeeds)"

    def _refuse(self, now: float, digest: str, sender: str, reason: str) -> Outcome:
        self._log(now, digest, sender, False, reason)
        return Outcome(digest, "refused", reason, sender=sender)

    def _log(self, now: float, digest: str, sender: str, allowed: bool, reason: str) -> None:
        log.info("relay: %s %s %s", digest or "-", sender or "-", reason)
        self.store.log_decision(now, digest, sender, allowed, reason)
