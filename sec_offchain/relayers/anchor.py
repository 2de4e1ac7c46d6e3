"""The anchor relayer: takes validator attestations of an area's final headers and anchors
them in `AnchorHub`, one height after the other.

It is untrusted (AnchorHub checks everything) and restartable:
* its position is the chain's: every step starts from `AnchorHub.latest_height`, so a restart
  or a reorg that drops an anchor simply makes it anchor that height again;
* "already anchored" (someone else's relayer got there first) is success, not an error;
* one transaction in flight per key: the signed transaction is written to SQLite *before* it
  is sent, so a relayer killed between sending and confirmation finds it on restart and waits
  for it (or re-broadcasts the same bytes, same nonce) instead of submitting a second one;
* it waits for `confirmations` blocks before it counts a height as done;
* nonces per key across processes: relayers sharing a key (one per area) take the next
  nonce under a file lock beside their database, so two never sign the same nonce; a
  transaction stuck behind a nonce gap (an earlier transaction of the key dropped by a reorg
  or evicted, its relayer gone) is re-signed at the chain's next nonce instead of being
  re-broadcast for ever;
* RPC errors (an outage) end the step; the loop retries with a capped backoff.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import rlp
from eth_account.signers.local import LocalAccount
from web3 import Web3

from sec_offchain.contracts.transactor import get_revert_reason, is_revert
from sec_offchain.encoding.area_header import AreaHeader, hash_area_header, recover_signer
from sec_offchain.exceptions import SecError
from sec_offchain.storage import open_db

log = logging.getLogger("sec.relayer.anchor")
SENT_RECHECK = 0.2  # seconds from sending to the first look at the receipt

# (header, {validator address: signature}) of an area's final header at a height, or None
AttestationSource = Callable[[int], "tuple[AreaHeader, dict[str, bytes]] | None"]


@dataclass
class StepResult:
    action: str  # "sent", "waiting", "confirmed", "already", "no-quorum", "nothing", "error"
    height: int = 0
    detail: str = ""


class AnchorRelayer:
    def __init__(
        self,
        w3: Web3,
        hub_address: str,
        hub_abi: list,
        staking_address: str,
        staking_abi: list,
        account: LocalAccount,
        area_id: int,
        source: AttestationSource,
        db_path: Path,
        confirmations: int = 1,
        rebroadcast_after: float = 30.0,
    ) -> None:
        self.w3 = w3
        self.hub = w3.eth.contract(address=Web3.to_checksum_address(hub_address), abi=hub_abi)
        self.staking = w3.eth.contract(
            address=Web3.to_checksum_address(staking_address), abi=staking_abi
        )
        self.account = account
        self.area_id = area_id
        self.source = source
        self.confirmations = confirmations
        self.rebroadcast_after = rebroadcast_after
        self.db = open_db(db_path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS inflight (account TEXT NOT NULL, area_id INTEGER NOT NULL,"
            " height INTEGER NOT NULL, nonce INTEGER NOT NULL, tx_hash BLOB NOT NULL,"
            " raw BLOB NOT NULL, sent_at REAL NOT NULL, PRIMARY KEY (account, area_id))"
        )
        self.sent = 0  # transactions this instance broadcast (first sends and re-sends)
        self.lock_path = Path(db_path).parent / f"nonce-{account.address.lower()}.lock"
        self._chain_id: int | None = None

    @property
    def chain_id(self) -> int:
        """The chain's id, asked once: every height costs round trips to a distant RPC."""
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    @contextlib.contextmanager
    def _key_lock(self):
        """Held while a nonce of this key is chosen, signed, recorded and sent."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ the step

    def step(self) -> StepResult:
        try:
            return self._step()
        except SecError:
            raise
        except Exception as exc:  # noqa: BLE001 - RPC outage, timeouts: retry later
            if is_revert(exc):
                raise
            log.warning("anchor relayer, area %d: %s", self.area_id, exc)
            return StepResult("error", detail=str(exc))

    def _inflight(self) -> tuple[int, int, bytes, bytes, float] | None:
        return self.db.execute(
            "SELECT height, nonce, tx_hash, raw, sent_at FROM inflight WHERE account=? AND"
            " area_id=?",
            (self.account.address, self.area_id),
        ).fetchone()

    def _clear(self) -> None:
        self.db.execute(
            "DELETE FROM inflight WHERE account=? AND area_id=?",
            (self.account.address, self.area_id),
        )

    def _step(self) -> StepResult:
        inflight = self._inflight()
        if inflight is not None:
            return self._follow(*inflight)
        latest = int(self.hub.functions.latest_height(self.area_id).call())
        height = latest + 1
        got = self.source(height)
        if got is None:
            return StepResult("nothing", height)
        header, signatures = got
        if header.height != height or header.area_id != self.area_id:
            return StepResult("nothing", height, "source gave another height")
        digest = hash_area_header(header, self.chain_id, self.hub.address)
        valid = {}
        for validator, sig in signatures.items():
            try:
                if recover_signer(digest, sig).lower() == validator.lower():
                    valid[Web3.to_checksum_address(validator)] = sig
            except SecError:
                continue
        signers = sorted(valid, key=lambda a: int(a, 16))
        stakes, total = self.staking.functions.quorum_stakes(self.area_id, signers).call()
        signed = sum(stakes)
        if total == 0 or signed * 3 <= total * 2:
            return StepResult("no-quorum", height, f"{signed} of {total} signed")
        ordered = [valid[a] for a, s in zip(signers, stakes, strict=True) if s > 0]
        fn = self.hub.functions.anchor(header.as_tuple(), ordered)
        try:
            gas = fn.estimate_gas({"from": self.account.address})
        except Exception as exc:
            if not is_revert(exc):
                raise
            reason = get_revert_reason(exc)
            if self._anchored(header, digest):
                return StepResult("already", height)
            return StepResult("error", height, reason)
        base = {
            "from": self.account.address,
            "gas": int(gas * 1.25) + 10_000,
            "chainId": self.chain_id,
        }
        with self._key_lock():
            nonce = self.w3.eth.get_transaction_count(self.account.address, "pending")
            tx = fn.build_transaction({**base, "nonce": nonce, "gasPrice": self.w3.eth.gas_price})
            signed_tx = self.account.sign_transaction(tx)
            # recorded before it is sent: a kill after this line never leads to a second tx
            self.db.execute(
                "INSERT INTO inflight VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self.account.address,
                    self.area_id,
                    height,
                    nonce,
                    bytes(signed_tx.hash),
                    bytes(signed_tx.raw_transaction),
                    time.time(),
                ),
            )
            self._broadcast(bytes(signed_tx.raw_transaction))
        return StepResult("sent", height, "0x" + bytes(signed_tx.hash).hex())

    def _fill_gap(self, nonce: int, raw: bytes, mined_nonce: int) -> bool:
        """Our transaction waits behind a nonce no pending transaction of the key holds:
        the same call, re-signed at the chain's next nonce. False when that nonce is taken
        after all (another process holds it: its transaction fills the gap)."""
        with self._key_lock():
            if self.w3.eth.get_transaction_count(self.account.address, "latest") != mined_nonce:
                return False  # the chain moved: look again next step
            # legacy transaction: [nonce, gasPrice, gas, to, value, data, v, r, s]
            # at the same gas price: a pending transaction of another process at that nonce
            # is never replaced (a replacement must pay more), only a true gap is filled
            _, price, gas, to, value, data, *_ = rlp.decode(raw)
            tx = {
                "nonce": mined_nonce,
                "gasPrice": int.from_bytes(price, "big"),
                "gas": int.from_bytes(gas, "big"),
                "to": Web3.to_checksum_address(to),
                "value": int.from_bytes(value, "big"),
                "data": bytes(data),
                "chainId": self.chain_id,
            }
            signed_tx = self.account.sign_transaction(tx)
            try:
                self.w3.eth.send_raw_transaction(bytes(signed_tx.raw_transaction))
            except Exception as exc:  # noqa: BLE001 - "underpriced" / "known": nonce is held
                log.info("nonce %d of %s is held: %s", mined_nonce, self.account.address, exc)
                return False
            self.sent += 1
            self.db.execute(
                "UPDATE inflight SET nonce=?, tx_hash=?, raw=?, sent_at=? WHERE account=? AND"
                " area_id=?",
                (
                    mined_nonce,
                    bytes(signed_tx.hash),
                    bytes(signed_tx.raw_transaction),
                    time.time(),
                    self.account.address,
                    self.area_id,
                ),
            )
            log.warning(
                "anchor relayer, area %d: nonce %d waited behind a gap at %d; re-signed there",
                self.area_id,
                nonce,
                mined_nonce,
            )
            return True

    def _broadcast(self, raw: bytes) -> None:
        try:
            self.w3.eth.send_raw_transaction(raw)
            self.sent += 1
        except Exception as exc:  # noqa: BLE001 - "already known" / "nonce too low" are fine
            text = str(exc).lower()
            if "already" not in text and "known" not in text and "nonce too low" not in text:
                raise

    def _follow(
        self, height: int, nonce: int, tx_hash: bytes, raw: bytes, sent_at: float
    ) -> StepResult:
        try:
            receipt = self.w3.eth.get_transaction_receipt(tx_hash)
        except Exception:  # noqa: BLE001 - TransactionNotFound: not mined (or reorged out)
            receipt = None
        if receipt is not None:
            # a receipt is one confirmation: the head is asked only when more are wanted
            depth = (
                self.w3.eth.block_number - receipt["blockNumber"] + 1
                if self.confirmations > 1
                else 1
            )
            if depth < self.confirmations:
                return StepResult(
                    "waiting", height, f"{depth} of {self.confirmations} confirmations"
                )
            self._clear()
            if receipt["status"] != 1:
                if int(self.hub.functions.latest_height(self.area_id).call()) >= height:
                    return StepResult("already", height, "anchored by another relayer first")
                return StepResult("error", height, "anchor transaction failed on chain")
            return StepResult("confirmed", height)
        mined_nonce = self.w3.eth.get_transaction_count(self.account.address, "latest")
        if mined_nonce > nonce:
            # the nonce was used by something else (or our tx's receipt is in a dropped
            # block): the chain decides what comes next
            self._clear()
            return StepResult("nothing", height, "nonce consumed; rebuilding from the chain")
        stuck = time.time() - sent_at >= self.rebroadcast_after
        if stuck and mined_nonce < nonce and self._fill_gap(nonce, raw, mined_nonce):
            return StepResult("sent", height, "re-signed at the chain's next nonce")
        if stuck or not self._in_mempool(tx_hash):
            self._broadcast(raw)  # the same bytes: same nonce, same hash
            self.db.execute(
                "UPDATE inflight SET sent_at=? WHERE account=? AND area_id=?",
                (time.time(), self.account.address, self.area_id),
            )
        return StepResult("waiting", height, "pending")

    def _in_mempool(self, tx_hash: bytes) -> bool:
        try:
            return self.w3.eth.get_transaction(tx_hash) is not None
        except Exception:  # noqa: BLE001 - TransactionNotFound
            return False

    def _anchored(self, header: AreaHeader, digest: bytes) -> bool:
        stored = bytes(self.hub.functions.anchored_hash(header.area_id, header.height).call())
        return stored == digest

    # ------------------------------------------------------------------ the loop

    def run(self, stop: Callable[[], bool], interval: float = 1.0) -> None:
        backoff = interval
        while not stop():
            result = self.step()
            if result.action == "error":
                backoff = min(backoff * 2, 30.0)
            else:
                backoff = interval
            if result.action in ("confirmed", "already"):
                continue  # the next height may be ready already
            if result.action == "sent":
                # a chain that mines at once (anvil) has the receipt now: an area that
                # fell behind (a kill, an outage) catches up at several heights a second
                time.sleep(min(backoff, SENT_RECHECK))
                continue
            time.sleep(backoff)
