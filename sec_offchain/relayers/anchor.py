"""The anchor relayer: takes validator attestations of an area's final headers and anchors
them in `AnchorHub`, in order of height, several at once when several are waiting.

It is untrusted (AnchorHub checks everything) and restartable:
* its position is the chain's: every step starts from `AnchorHub.latest_height`, so a restart
  or a reorg that drops an anchor simply makes it anchor that height again;
* "already anchored" (someone else's relayer got there first) is success, not an error;
* a relayer that fell behind (a kill, an outage) catches up in batches: the final, attested
  heights after the anchored one, up to `MAX_IN_FLIGHT` at a time, go out in one go with
  consecutive nonces. Only the first is gas-estimated (the estimate for h+1 reverts until h
  is mined); the rest carry that estimate plus a margin per extra signature, and each
  header's parent hash is checked against the digest of the one before it here, which is
  what AnchorHub would check;
* every signed transaction is written to SQLite *before* it is sent (a batch in one
  write), so a relayer killed between sending and confirmation finds them on restart and
  waits for them (or re-broadcasts the same bytes, same nonces) instead of submitting
  second ones;
* it waits for `confirmations` blocks before it counts a height as done;
* nonces per key across processes: relayers sharing a key (one per area, or a standby)
  take the next nonces under a file lock beside their database, so two never sign the same
  nonce; a transaction stuck behind a nonce gap (an earlier transaction of the key dropped
  by a reorg or evicted, its relayer gone) is re-signed at the chain's next nonce instead of
  being re-broadcast for ever;
* RPC errors (an outage) end the step; the loop retries with a capped backoff;
* a standby (`grace` > 0; the primary's key or its own, its own database) anchors a height
  only once it has been final and attested for `grace` seconds without the primary
  anchoring it: while the primary lives the standby sends nothing, and when the primary is
  down (or starting after a kill) anchoring goes on after one grace period. No lease
  between the two: `AnchorHub.latest_height` is the only shared state, and an anchor both
  send at once lands once (the other reverts, which counts as "already").
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import rlp
from eth_account.signers.local import LocalAccount
from web3 import Web3

from sec_offchain.contracts.transactor import get_revert_reason, is_revert
from sec_offchain.encoding.area_header import AreaHeader, hash_area_header, recover_signer
from sec_offchain.exceptions import SecError
from sec_offchain.storage import open_db

log = logging.getLogger("sec.relayer.anchor")
SENT_RECHECK = 0.2  # seconds from sending to the first look at the receipt
MAX_IN_FLIGHT = 8  # anchor transactions of one area in flight at once
# gas a batched anchor may take beyond the estimated one per signature more than it has
# (an ecrecover, a cold weight read, 65 bytes of calldata: under 10,000)
GAS_PER_SIGNATURE = 12_000
POLL_FRACTION = 4  # the next height is asked for this many times per area interval

# (header, {validator address: signature}) of an area's final header at a height, or None.
# A source may also offer `many(first, count)`: the same for `count` heights from `first`
# (None where a height is missing), fetched at once.
AttestationSource = Callable[[int], "tuple[AreaHeader, dict[str, bytes]] | None"]


@dataclass
class StepResult:
    action: str  # "sent", "waiting", "confirmed", "already", "no-quorum", "nothing", "error"
    height: int = 0
    detail: str = ""
    heights: tuple[int, ...] = ()  # every height the action concerns (a batch)


class InFlight(NamedTuple):
    height: int
    nonce: int
    tx_hash: bytes
    raw: bytes
    sent_at: float
    digest: bytes | None  # the header's digest (None for a row of an older version)


class Ready(NamedTuple):
    """A verified header with the signatures that count, in AnchorHub's order."""

    header: AreaHeader
    digest: bytes
    signatures: list[bytes]


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
        max_in_flight: int = MAX_IN_FLIGHT,
        grace: float = 0.0,
        clock: Callable[[], float] = time.time,
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
        self.max_in_flight = max(1, max_in_flight)
        self.grace = grace  # > 0: a standby, anchoring what the primary left this long
        self.clock = clock
        self._ready_since: dict[int, float] = {}  # a standby's: when a height was ready
        self.db = open_db(db_path)
        _create_inflight(self.db)
        self.sent = 0  # transactions this instance broadcast (first sends and re-sends)
        self.lock_path = Path(db_path).parent / f"nonce-{account.address.lower()}.lock"
        self._chain_id: int | None = None
        # the last estimate: (gas, signatures of that anchor), the base of a batch's bound
        self._estimate: tuple[int, int] | None = None

    @property
    def chain_id(self) -> int:
        """The chain's id, asked once: every height costs round trips to a distant RPC."""
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    @contextlib.contextmanager
    def _key_lock(self):
        """Held while nonces of this key are chosen, signed, recorded and sent."""
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

    def _rows(self) -> list[InFlight]:
        """This key's transactions in flight for the area, by nonce."""
        return [
            InFlight(*row)
            for row in self.db.execute(
                "SELECT height, nonce, tx_hash, raw, sent_at, digest FROM inflight WHERE"
                " account=? AND area_id=? ORDER BY nonce, height",
                (self.account.address, self.area_id),
            ).fetchall()
        ]

    def _inflight(self) -> tuple[int, int, bytes, bytes, float] | None:
        """The lowest transaction in flight (height, nonce, tx_hash, raw, sent_at), or None."""
        rows = self._rows()
        return tuple(rows[0][:5]) if rows else None  # type: ignore[return-value]

    def _clear(self, height: int) -> None:
        self.db.execute(
            "DELETE FROM inflight WHERE account=? AND area_id=? AND height=?",
            (self.account.address, self.area_id, height),
        )

    def _step(self) -> StepResult:
        rows = self._rows()
        results = self._follow_all(rows) if rows else []
        failed = [r for r in results if r.action == "error"]
        if failed:
            return failed[0]  # the rest of a failed batch fails after it: rebuild next step
        latest = int(self.hub.functions.latest_height(self.area_id).call())
        left = self._rows()
        ahead = sorted(r.height for r in left if r.height > latest)
        room = self.max_in_flight - len(left)
        sent = None
        if room > 0 and ahead == list(range(latest + 1, latest + 1 + len(ahead))):
            if not ahead:
                sent = self._send(latest + 1, None, room)
            else:
                top = max(left, key=lambda r: r.height)
                if top.digest is not None and self._estimate is not None:
                    sent = self._send(top.height + 1, top.digest, room)
        return _summary(results, sent)

    # ------------------------------------------------------------------ sending

    def _fetch(self, first: int, count: int) -> list:
        """The source's headers from `first` on, up to `count`, stopping at the first gap
        (all at once from a source with `many`, else one by one)."""
        many = getattr(self.source, "many", None)
        got = many(first, count) if many is not None else None
        out = []
        for i in range(count):
            item = got[i] if got is not None and i < len(got) else None
            if got is None:
                item = self.source(first + i)
            if item is None:
                break
            out.append(item)
        return out

    def _verify(self, first: int, got: list, parent: bytes | None) -> tuple[list, StepResult]:
        """Each header's valid signatures, while the headers follow each other; what stopped
        the list (a wrong height or area, a header whose parent is not the one before)."""
        out = []
        stop = StepResult("nothing", first + len(got))
        for i, (header, signatures) in enumerate(got):
            height = first + i
            if header.height != height or header.area_id != self.area_id:
                stop = StepResult("nothing", height, "source gave another height")
                break
            digest = hash_area_header(header, self.chain_id, self.hub.address)
            if parent is not None and header.parent_hash != parent:
                stop = StepResult("nothing", height, "header does not follow the one before")
                break
            valid = {}
            for validator, sig in signatures.items():
                try:
                    if recover_signer(digest, sig).lower() == validator.lower():
                        valid[Web3.to_checksum_address(validator)] = sig
                except SecError:
                    continue
            out.append((header, digest, valid))
            parent = digest
        return out, stop

    def _quorate(self, verified: list) -> tuple[list[Ready], StepResult | None]:
        """The headers, in order, whose signers hold more than 2/3 of the area's stake (one
        call for all of them: the stakes are the same moment's), up to the first that does
        not; with that one's "no-quorum"."""
        everyone = sorted({a for _, _, valid in verified for a in valid}, key=lambda a: int(a, 16))
        weights, total = self.staking.functions.quorum_stakes(self.area_id, everyone).call()
        stake_of = dict(zip(everyone, weights, strict=True))
        ready = []
        for header, digest, valid in verified:
            signers = sorted(valid, key=lambda a: int(a, 16))
            stakes = [stake_of[a] for a in signers]
            signed = sum(stakes)
            if total == 0 or signed * 3 <= total * 2:
                return ready, StepResult("no-quorum", header.height, f"{signed} of {total} signed")
            ordered = [valid[a] for a, s in zip(signers, stakes, strict=True) if s > 0]
            ready.append(Ready(header, digest, ordered))
        return ready, None

    def _send(self, first: int, parent: bytes | None, room: int) -> StepResult:
        """Anchors the final, attested heights from `first` on (at most `room`) with
        consecutive nonces. `parent` None: `first` follows the anchored height, and its gas
        estimate also tells whether it is anchored already; else it follows the in-flight
        anchor whose digest `parent` is, and the last estimate is the base."""
        # a source without `many` is asked for the first height alone until its estimate
        # passed: a height anchored meanwhile costs nothing more
        one_by_one = getattr(self.source, "many", None) is None
        got = self._fetch(first, 1 if parent is None and one_by_one else room)
        if not got:
            return StepResult("nothing", first)
        verified, stop = self._verify(first, got, parent)
        if not verified:
            return stop
        ready, short = self._quorate(verified)
        if not ready:
            assert short is not None
            return short
        if parent is None and self.grace:
            left = self._left_to_primary(first)
            if left is not None:
                return left
        if parent is None:
            est = self._estimate_first(ready[0])
            if isinstance(est, StepResult):
                return est
            self._estimate = (est, len(ready[0].signatures))
            if one_by_one and room > 1:
                ready += self._more(ready[-1], room - 1)
        return self._sign_and_send(ready)

    def _left_to_primary(self, height: int) -> StepResult | None:
        """A standby's wait: "nothing" while `height` has been ready for less than the grace
        period (the primary's to anchor), None once the standby anchors it."""
        now = self.clock()
        self._ready_since = {h: t for h, t in self._ready_since.items() if h >= height}
        since = self._ready_since.setdefault(height, now)
        if now - since < self.grace:
            return StepResult("nothing", height, "left to the primary")
        log.info(
            "anchor relayer, area %d: height %d ready %.1f s without an anchor: the standby"
            " anchors",
            self.area_id,
            height,
            now - since,
        )
        return None

    def _more(self, last: Ready, count: int) -> list[Ready]:
        """The heights after an estimated one that are ready too (a source without `many`)."""
        first = last.header.height + 1
        got = self._fetch(first, count)
        verified, _ = self._verify(first, got, last.digest) if got else ([], None)
        return self._quorate(verified)[0] if verified else []

    def _estimate_first(self, first: Ready) -> int | StepResult:
        fn = self.hub.functions.anchor(first.header.as_tuple(), first.signatures)
        try:
            return int(fn.estimate_gas({"from": self.account.address}))
        except Exception as exc:
            if not is_revert(exc):
                raise
            reason = get_revert_reason(exc)
            if self._anchored(first.header, first.digest):
                return StepResult("already", first.header.height)
            return StepResult("error", first.header.height, reason)

    def _gas_for(self, anchor: Ready) -> int:
        assert self._estimate is not None
        gas, signatures = self._estimate
        extra = max(0, len(anchor.signatures) - signatures)
        return int(gas * 1.25) + 10_000 + GAS_PER_SIGNATURE * extra

    def _sign_and_send(self, ready: list[Ready]) -> StepResult:
        with self._key_lock():
            nonce = self.w3.eth.get_transaction_count(self.account.address, "pending")
            price = self.w3.eth.gas_price
            rows = []
            for i, anchor in enumerate(ready):
                fn = self.hub.functions.anchor(anchor.header.as_tuple(), anchor.signatures)
                tx = fn.build_transaction(
                    {
                        "from": self.account.address,
                        "gas": self._gas_for(anchor),
                        "chainId": self.chain_id,
                        "nonce": nonce + i,
                        "gasPrice": price,
                    }
                )
                signed_tx = self.account.sign_transaction(tx)
                rows.append(
                    (
                        self.account.address,
                        self.area_id,
                        anchor.header.height,
                        nonce + i,
                        bytes(signed_tx.hash),
                        bytes(signed_tx.raw_transaction),
                        time.time(),
                        anchor.digest,
                    )
                )
            # recorded before they are sent, in one write: a kill after this line never
            # leads to a second transaction for any of these heights
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany("INSERT INTO inflight VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            for row in rows:
                self._broadcast(row[5])
        heights = tuple(a.header.height for a in ready)
        if len(heights) > 1:
            log.info(
                "anchor relayer, area %d: heights %d-%d sent, nonces %d-%d",
                self.area_id,
                heights[0],
                heights[-1],
                nonce,
                nonce + len(heights) - 1,
            )
        return StepResult("sent", heights[0], "0x" + rows[0][4].hex(), heights)

    def _fill_gap(self, row: InFlight, mined_nonce: int) -> bool:
        """Our transaction waits behind a nonce no pending transaction of the key holds:
        the same call, re-signed at the chain's next nonce. False when that nonce is taken
        after all (another process holds it: its transaction fills the gap)."""
        with self._key_lock():
            if self.w3.eth.get_transaction_count(self.account.address, "latest") != mined_nonce:
                return False  # the chain moved: look again next step
            # legacy transaction: [nonce, gasPrice, gas, to, value, data, v, r, s]
            # at the same gas price: a pending transaction of another process at that nonce
            # is never replaced (a replacement must pay more), only a true gap is filled
            _, price, gas, to, value, data, *_ = rlp.decode(row.raw)
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
                " area_id=? AND height=?",
                (
                    mined_nonce,
                    bytes(signed_tx.hash),
                    bytes(signed_tx.raw_transaction),
                    time.time(),
                    self.account.address,
                    self.area_id,
                    row.height,
                ),
            )
            log.warning(
                "anchor relayer, area %d: nonce %d waited behind a gap at %d; re-signed there",
                self.area_id,
                row.nonce,
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

    # ------------------------------------------------------------------ following

    def _follow_all(self, rows: list[InFlight]) -> list[StepResult]:
        """Every transaction in flight, lowest nonce first (a dropped one is re-broadcast
        before those behind it)."""
        results = []
        mined_nonce: int | None = None
        for row in rows:
            got = self._receipt_result(row)
            if got is None:
                lowest = mined_nonce is None  # the first of ours not mined
                if mined_nonce is None:
                    mined_nonce = self.w3.eth.get_transaction_count(self.account.address, "latest")
                got = self._follow(row, mined_nonce, lowest)
            results.append(got)
        return results

    def _receipt_result(self, row: InFlight) -> StepResult | None:
        height = row.height
        try:
            receipt = self.w3.eth.get_transaction_receipt(row.tx_hash)
        except Exception:  # noqa: BLE001 - TransactionNotFound: not mined (or reorged out)
            receipt = None
        if receipt is None:
            return None
        # a receipt is one confirmation: the head is asked only when more are wanted
        depth = (
            self.w3.eth.block_number - receipt["blockNumber"] + 1 if self.confirmations > 1 else 1
        )
        if depth < self.confirmations:
            return StepResult("waiting", height, f"{depth} of {self.confirmations} confirmations")
        self._clear(height)
        if receipt["status"] != 1:
            if int(self.hub.functions.latest_height(self.area_id).call()) >= height:
                return StepResult("already", height, "anchored by another relayer first")
            return StepResult("error", height, "anchor transaction failed on chain")
        return StepResult("confirmed", height)

    def _follow(self, row: InFlight, mined_nonce: int, lowest: bool) -> StepResult:
        height, nonce = row.height, row.nonce
        if mined_nonce > nonce:
            # the nonce was used by something else (or our tx's receipt is in a dropped
            # block): the chain decides what comes next
            self._clear(height)
            return StepResult("nothing", height, "nonce consumed; rebuilding from the chain")
        stuck = time.time() - row.sent_at >= self.rebroadcast_after
        # only the lowest of ours can wait behind a gap: the nonces below the others are ours
        if stuck and lowest and mined_nonce < nonce and self._fill_gap(row, mined_nonce):
            return StepResult("sent", height, "re-signed at the chain's next nonce", (height,))
        if stuck or not self._in_mempool(row.tx_hash):
            self._broadcast(row.raw)  # the same bytes: same nonce, same hash
            self.db.execute(
                "UPDATE inflight SET sent_at=? WHERE account=? AND area_id=? AND height=?",
                (time.time(), self.account.address, self.area_id, height),
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
        """Steps until `stop`. The next height is asked for `POLL_FRACTION` times per
        `interval` (the area's block interval): once a second, the anchor of a height came
        anywhere up to a second after it was final, and a late block (a producer that is
        down or starting) plus that phase made stalls of well over three intervals."""
        backoff = interval
        # a standby acts a grace period late anyway: it asks once an interval
        poll = interval if self.grace else interval / POLL_FRACTION
        while not stop():
            result = self.step()
            if result.action == "error":
                backoff = min(backoff * 2, 30.0)
            else:
                backoff = interval
            if result.action in ("confirmed", "already"):
                continue  # the next height may be ready already
            if result.action == "sent":
                # a chain that mines at once (anvil) has the receipts now: an area that
                # fell behind (a kill, an outage) catches up a batch at a time
                time.sleep(min(backoff, SENT_RECHECK))
                continue
            time.sleep(backoff if result.action == "error" else min(backoff, poll))


def _summary(results: list[StepResult], sent: StepResult | None) -> StepResult:
    """One step's outcome: what it sent, else what it confirmed, else what is waiting."""
    gap_fills = [r for r in results if r.action == "sent"]
    if sent is not None and sent.action == "sent":
        return sent
    if gap_fills:
        return gap_fills[0]
    for action in ("confirmed", "already"):
        done = [r for r in results if r.action == action]
        if done:
            heights = tuple(r.height for r in done)
            return StepResult(action, max(heights), done[-1].detail, heights)
    if sent is not None and sent.action in ("no-quorum", "error", "already"):
        return sent
    waiting = [r for r in results if r.action == "waiting"]
    if waiting:
        return waiting[0]
    if sent is not None:
        return sent
    cleared = [r for r in results if r.action == "nothing"]
    return cleared[0] if cleared else StepResult("nothing")


def _create_inflight(db: sqlite3.Connection) -> None:
    """The in-flight table, one row per anchor transaction; a table of the version that kept
    one transaction per (account, area) is carried over."""
    row = db.execute(
        "SELECT sql FROM sqlite_master WHERE type='table' AND name='inflight'"
    ).fetchone()
    if row is not None and "digest" in row[0]:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "CREATE TABLE inflight_new (account TEXT NOT NULL, area_id INTEGER NOT NULL,"
            " height INTEGER NOT NULL, nonce INTEGER NOT NULL, tx_hash BLOB NOT NULL,"
            " raw BLOB NOT NULL, sent_at REAL NOT NULL, digest BLOB,"
            " PRIMARY KEY (account, area_id, height))"
        )
        if row is not None:
            db.execute(
                "INSERT INTO inflight_new SELECT account, area_id, height, nonce, tx_hash, raw,"
                " sent_at, NULL FROM inflight"
            )
            db.execute("DROP TABLE inflight")
        db.execute("ALTER TABLE inflight_new RENAME TO inflight")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
