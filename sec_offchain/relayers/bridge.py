"""The escrow bridge: turns `OrderCompleted` / `OrderRuled` events into trade records in the
seller's area, signed with the bridge's key and encrypted to the buyer.

Bridges run as a primary and standbys. The primary sends a signed UDP heartbeat to each
standby every `heartbeat` seconds (10 s by default). A standby becomes active when it has
heard nothing for `takeover_after` heartbeats (3) and steps back after hearing 10 in a row
from the returned primary. Only an active bridge submits records. Records are keyed by
order, so what two bridges both submit around a hand-over is a harmless duplicate, and a
pooled standby record is replaced by the primary's (nodes rank writers: the primary wins).
Each bridge keeps its own cursor (last block scanned) in SQLite and rescans from it when it
becomes active, so a hand-over leaves no gap.

Reorgs: a bridge reads `confirmations` blocks below the head, remembers the hashes of the
blocks it scanned up to, and rewinds its cursor to the last one still on the chain when a
reorg replaced them, so the cursor is never ahead of the chain. Right before it submits a
record it checks that the event's block is still on the chain and that the order's status
is still the one the event announced: a confirm that a reorg removed never becomes a record.

The buyer's public key, needed for the encryption, is recovered from the signature of the
buyer's own `buy` transaction.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import rlp
from coincurve import PublicKey
from eth_account._utils.legacy_transactions import Transaction, vrs_from
from eth_account._utils.signing import hash_of_signed_transaction
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes
from web3 import Web3

from sec_offchain.area.records import (
    STATUS_COMPLETED,
    STATUS_RULED,
    RecordError,
    TradeRecord,
    address_of_public_key,
    make_record,
    recover_address,
)
from sec_offchain.areas.graph import AreaError
from sec_offchain.crypto.hashing import keccak
from sec_offchain.encoding.area_header import sign_digest
from sec_offchain.follow import BlockTrail, fetch_safe_head, is_still_canonical
from sec_offchain.storage import open_db

log = logging.getLogger("sec.bridge")

RULING_BUYER, RULING_SELLER = 1, 2
ORDER_STATUS_INDEX = 5  # Order.status in `get_order`'s tuple
STATUS_OF_EVENT = {"OrderCompleted": 3, "OrderRuled": 6}  # Escrow STATUS_COMPLETED, STATUS_RULED
CREDIT_OF_RULING = {0: 0, RULING_BUYER: -1, RULING_SELLER: 1}

# submit(record) -> True once an area node acknowledged it (accepted or duplicate)
Submit = Callable[[TradeRecord], bool]


def public_key_of_transaction(w3: Web3, tx_hash: bytes) -> bytes:
    """The 65-byte public key that signed transaction `tx_hash` (from its raw bytes)."""
    result = w3.provider.make_request("eth_getRawTransactionByHash", ["0x" + bytes(tx_hash).hex()])
    raw = HexBytes(result.get("result") or b"")
    if not raw:
        raise RecordError("the node does not serve raw transactions")
    if raw[0] <= 0x7F:
        typed = TypedTransaction.from_bytes(raw)
        msg_hash, (v, r, s) = typed.hash(), typed.vrs()
    else:
        txn = Transaction.from_bytes(raw)
        msg_hash, (v, r, s) = hash_of_signed_transaction(txn), vrs_from(txn)
        v = v - 27 if v in (27, 28) else (v - 35) % 2
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])
    return PublicKey.from_signature_and_message(sig, msg_hash, hasher=None).format(False)


@dataclass
class BridgeConfig:
    key: bytes
    index: int  # 0 = primary
    heartbeat: float = 10.0
    takeover_after: int = 3
    step_back_after: int = 10
    listen_port: int = 0  # standbys: where heartbeats arrive
    standby_ports: tuple[int, ...] = ()  # primary: where heartbeats go
    standby_hosts: tuple[str, ...] = ()  # their hosts (default: this machine)
    listen_host: str = "127.0.0.1"
    confirmations: int = 0
    poll: float = 1.0


class EscrowBridge:
    def __init__(
        self,
        w3: Web3,
        escrow_address: str,
        escrow_abi: list,
        config: BridgeConfig,
        primary: bytes,
        separator: bytes,
        area_of: Callable[[str], int],
        submit: Submit,
        db_path: Path,
        start_block: int = 0,
        order_area: Callable[[str, int], int] | None = None,
    ) -> None:
        """`area_of(seller)` places a record when `order_area` is not given;
        `order_area(seller, paid_block)` (the published directories, `PublishedDirectories`)
        places it in the area its seller was in when the order was paid, and may raise
        `AreaError` while that is not known (the bridge then waits at that event)."""
        self.w3 = w3
        self.order_area = order_area
        self.escrow = w3.eth.contract(
            address=Web3.to_checksum_address(escrow_address), abi=escrow_abi
        )
        self.cfg = config
        self.primary = primary
        self.address = address_of_public_key(PublicKey.from_secret(config.key).format(False))
        self.separator = separator
        self.area_of = area_of
        self.submit = submit
        self.db = open_db(db_path, shared=True)
        self.db.execute("CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY, block INTEGER)")
        if self.db.execute("SELECT block FROM cursor WHERE id=0").fetchone() is None:
            self.db.execute("INSERT INTO cursor VALUES (0, ?)", (start_block,))
        self.start_block = start_block
        self.trail = BlockTrail(self.db, "escrow")
        self.active = config.index == 0
        self.last_heard = time.time()
        self.heard_in_row = 0
        self.submitted: list[tuple[int, bytes]] = []  # (order id, writer) this bridge submitted
        self.stop_event = threading.Event()
        self._sock: socket.socket | None = None
        self._seq = 0

    @property
    def cursor(self) -> int:
        return int(self.db.execute("SELECT block FROM cursor WHERE id=0").fetchone()[0])

    # ------------------------------------------------------------------ heartbeats

    def _send_heartbeats(self) -> None:
        self._seq += 1
        body = rlp.encode([self.address, self._seq, int(time.time() * 1000)])
        frame = rlp.encode([body, sign_digest(self.cfg.key, keccak(body))])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            hosts = self.cfg.standby_hosts or ("127.0.0.1",) * len(self.cfg.standby_ports)
            for host, port in zip(hosts, self.cfg.standby_ports, strict=True):
                s.sendto(frame, (host, port))

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((self.cfg.listen_host, self.cfg.listen_port))
        sock.settimeout(0.05)
        self._sock = sock
        while not self.stop_event.is_set():
            try:
                frame, _ = sock.recvfrom(2048)
            except (TimeoutError, OSError):
                self._check_silence()
                continue
            try:
                body, sig = rlp.decode(frame)
                sender = rlp.decode(body)[0]
                if sender != self.primary or recover_address(keccak(body), sig) != sender:
                    continue
            except Exception:  # noqa: BLE001 - not a heartbeat
                continue
            self.last_heard = time.time()
            self.heard_in_row += 1
            if self.active and self.heard_in_row >= self.cfg.step_back_after:
                log.info("bridge %d: primary is back, stepping back", self.cfg.index)
                self.active = False
        sock.close()

    def _check_silence(self) -> None:
        silent = time.time() - self.last_heard
        if silent > self.cfg.heartbeat * 1.5:
            self.heard_in_row = 0
        if not self.active and silent > self.cfg.heartbeat * self.cfg.takeover_after:
            log.info("bridge %d: no heartbeat for %.1f s, taking over", self.cfg.index, silent)
            self.active = True

    # ------------------------------------------------------------------ events

    def scan_once(self) -> int:
        """Turns the events after the cursor into records (if active); returns how many
        records were acknowledged. The cursor moves only past what was handled."""
        if not self.active:
            return 0
        fork = self.trail.fetch_fork_point(self.w3)
        if fork is not None:
            rewound = max(fork, self.start_block)
            log.warning("bridge %d: reorg, cursor back to block %d", self.cfg.index, rewound)
            self.db.execute("UPDATE cursor SET block=? WHERE id=0 AND block>?", (rewound, rewound))
        safe = fetch_safe_head(self.w3, self.cfg.confirmations)
        start = self.cursor + 1
        if safe is None or safe[0] < start:
            return 0
        head, head_hash = safe
        done = 0
        events = []
        for ev in (self.escrow.events.OrderCompleted, self.escrow.events.OrderRuled):
            events += ev().get_logs(from_block=start, to_block=head)
        events.sort(key=lambda e: (e["blockNumber"], e["logIndex"]))
        for e in events:
            if not self.is_current(e):
                # a reorg under our feet: nothing after this point is trusted this round
                log.warning("bridge %d: block %d left the chain", self.cfg.index, e["blockNumber"])
                return done
            try:
                record = self.record_for(e)
            except AreaError as exc:
                # the seller's area is not known yet (a directory file to come): wait here
                log.warning("bridge %d: %s", self.cfg.index, exc)
                self.db.execute("UPDATE cursor SET block=? WHERE id=0", (e["blockNumber"] - 1,))
                return done
            if record is None:
                continue
            if not self.submit(record):
                # not acknowledged: stop before this block so it is retried
                self.db.execute("UPDATE cursor SET block=? WHERE id=0", (e["blockNumber"] - 1,))
                return done
            self.submitted.append((record.order_id, self.address))
            done += 1
        if not is_still_canonical(self.w3, head, head_hash):
            return done  # the scanned range changed while we read it: read it again
        self.db.execute("UPDATE cursor SET block=? WHERE id=0", (head,))
        self.trail.remember(head, head_hash)
        return done

    def is_current(self, event) -> bool:
        """The event's block is still on the chain and the order still has the status the
        event announced (a reorg can remove a confirm after it was read)."""
        if not is_still_canonical(self.w3, event["blockNumber"], event["blockHash"]):
            return False
        order = self.escrow.functions.get_order(int(event["args"]["order_id"])).call()
        return int(order[ORDER_STATUS_INDEX]) == STATUS_OF_EVENT[event["event"]]

    def record_for(self, event) -> TradeRecord | None:
        order_id = int(event["args"]["order_id"])
        order = self.escrow.functions.get_order(order_id).call()
        buyer, seller, listing_id, price, token = order[0], order[1], order[2], order[3], order[4]
        if event["event"] == "OrderCompleted":
            status, credit = STATUS_COMPLETED, 1
        else:
            ruling = int(event["args"]["ruling"])
            status, credit = STATUS_RULED, CREDIT_OF_RULING.get(ruling, 0)
        paid = self.escrow.events.OrderPaid().get_logs(
            from_block=0, to_block=event["blockNumber"], argument_filters={"order_id": order_id}
        )
        if not paid:
            log.warning("order %d has no OrderPaid event", order_id)
            return None
        buy_tx = paid[0]["transactionHash"]
        # an order finishes in the area where it started: its seller's when it was paid
        if self.order_area is not None:
            area_id = self.order_area(seller, int(paid[0]["blockNumber"]))
        else:
            area_id = self.area_of(seller)
        details = {
            "order_id": order_id,
            "listing_id": int(listing_id),
            "price": str(price),
            "token": token,
            "buy_tx": "0x" + bytes(buy_tx).hex(),
            "event_tx": "0x" + bytes(event["transactionHash"]).hex(),
            "status": event["event"],
        }
        return make_record(
            writer_key=self.cfg.key,
            separator=self.separator,
            area_id=area_id,
            seller=bytes.fromhex(seller[2:]),
            buyer=bytes.fromhex(buyer[2:]),
            buyer_public_key=public_key_of_transaction(self.w3, buy_tx),
            listing_id=int(listing_id),
            order_id=order_id,
            status=status,
            credit_delta=credit,
            details=details,
        )

    # ------------------------------------------------------------------ loop

    def run(self) -> None:
        if self.cfg.index != 0:
            threading.Thread(target=self._listen, daemon=True).start()
        else:  # its own thread: a slow RPC call during a scan never delays a heartbeat
            threading.Thread(target=self._beat, daemon=True).start()
        while not self.stop_event.is_set():
            try:
                self.scan_once()
            except Exception as exc:  # noqa: BLE001 - RPC outage: retry next poll
                log.warning("bridge %d: %s", self.cfg.index, exc)
            self.stop_event.wait(self.cfg.poll)

    def _beat(self) -> None:
        while not self.stop_event.is_set():
            self._send_heartbeats()
            self.stop_event.wait(self.cfg.heartbeat)

    def stop(self) -> None:
        self.stop_event.set()
