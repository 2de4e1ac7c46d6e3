"""The node's check of a seller-written trade record's area: a record lives in the area its
seller was in when the order was *paid* (the rule the escrow bridge places its own records
by, `PublishedDirectories.order_area`), so an order open across an epoch change finishes in
the area where it started.

The order's `OrderPaid` event is read `confirmations` blocks below the head (and kept once
found: a confirmed event stays). An order that exists on the Escrow but whose payment is not
confirmed yet is refused for now (the seller sends it again); an order the Escrow does not
know (a trade outside the Escrow) is placed by the directory in force at the confirmed head.
When the seller's area cannot be known here — the directory in force is published but its
file is missing or forged, or the main chain does not answer — the record is refused with
that reason: a record kept in the wrong area cannot be taken back, one refused now can be
sent again.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from web3 import Web3

from sec_offchain.area.records import RecordError, TradeRecord
from sec_offchain.areas.published import DirectoryUnavailable, PublishedDirectories
from sec_offchain.follow import fetch_safe_head

log = logging.getLogger("sec.areas")

PAID_KEPT = 100_000  # orders whose payment block is remembered


class SellerAreaCheck:
    """`check(record)`: None when `record`'s seller is in `area_id` for its order, else
    RecordError with the reason. `escrow` is a web3 contract of Escrow's ABI."""

    def __init__(
        self,
        published: PublishedDirectories,
        escrow: Any,
        area_id: int,
        start_block: int = 0,
        confirmations: int = 0,
    ) -> None:
        self.published = published
        self.escrow = escrow
        self.area_id = area_id
        self.start_block = start_block
        self.confirmations = confirmations
        self._paid: dict[int, int] = {}
        self._lock = threading.Lock()

    def paid_block(self, order_id: int) -> tuple[int | None, int]:
        """(the block of the order's confirmed `OrderPaid` or None, the confirmed head)."""
        safe = fetch_safe_head(self.escrow.w3, self.confirmations)
        head = safe[0] if safe is not None else 0
        with self._lock:
            known = self._paid.get(order_id)
        if known is not None:
            return known, head
        logs = self.escrow.events.OrderPaid().get_logs(
            from_block=self.start_block,
            to_block=head,
            argument_filters={"order_id": order_id},
        )
        if not logs:
            return None, head
        block = int(logs[0]["blockNumber"])
        with self._lock:
            if len(self._paid) >= PAID_KEPT:
                self._paid.pop(next(iter(self._paid)))
            self._paid[order_id] = block
        return block, head

    def __call__(self, record: TradeRecord) -> None:
        seller = "0x" + record.seller.hex()
        try:
            paid, head = self.paid_block(record.order_id)
            if paid is None:
                order = self.escrow.functions.get_order(record.order_id).call()
                if int(str(order[0]), 16):  # a buyer: the order exists
                    raise RecordError(
                        f"order {record.order_id} is not paid on the main chain yet (or not "
                        f"{self.confirmations} blocks deep): the seller's area for it is not "
                        "known yet"
                    )
            home = self.published.order_area(seller, paid if paid is not None else head)
        except DirectoryUnavailable as exc:
            raise RecordError(f"the seller's area is unknown here: {exc}") from None
        except RecordError:
            raise
        except Exception as exc:  # noqa: BLE001 - RPC outage: refused, sent again later
            log.warning("checking the area of order %d: %s", record.order_id, exc)
            raise RecordError(
                "the seller's area cannot be checked: the main chain does not answer"
            ) from None
        if home != self.area_id:
            raise RecordError(
                f"seller {Web3.to_checksum_address(seller)} is in area {home}"
                + (f" (when order {record.order_id} was paid)" if paid is not None else "")
                + f", not {self.area_id}"
            )
