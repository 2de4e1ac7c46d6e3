"""`ChainEvents` from a real chain: BorderGateway's `DepositedToArea` and `MessageDelivered`
logs, polled (at most once a second) up to `confirmations` blocks below the head."""

from __future__ import annotations

import logging
import threading
import time

from web3 import Web3

from sec_offchain.area.ledger import Deposit, Ingress

log = logging.getLogger("sec.events")


class Web3Events:
    def __init__(
        self,
        w3: Web3,
        gateway_address: str,
        gateway_abi: list,
        start_block: int = 0,
        confirmations: int = 0,
        min_interval: float = 1.0,
    ) -> None:
        self.w3 = w3
        self.gateway = w3.eth.contract(
            address=Web3.to_checksum_address(gateway_address), abi=gateway_abi
        )
        self.next_block = start_block
        self.confirmations = confirmations
        self.min_interval = min_interval
        self._last = 0.0
        self._lock = threading.Lock()
        self._deposits: dict[tuple[bytes, int], tuple[int, bytes, int]] = {}
        self._delivered: dict[tuple[int, int, int], tuple[bytes, bytes, int, bytes]] = {}

    def refresh(self, force: bool = False) -> None:
        with self._lock:
            if not force and time.time() - self._last < self.min_interval:
                return
            self._last = time.time()
            try:
                head = self.w3.eth.block_number - self.confirmations
                if head < self.next_block:
                    return
                ev = self.gateway.events
                for e in ev.DepositedToArea().get_logs(from_block=self.next_block, to_block=head):
                    a = e["args"]
                    self._deposits[(bytes(e["transactionHash"]), int(e["logIndex"]))] = (
                        int(a["area_id"]),
                        bytes.fromhex(a["account"][2:]),
                        int(a["amount"]),
                    )
                for e in ev.MessageDelivered().get_logs(from_block=self.next_block, to_block=head):
                    a = e["args"]
                    self._delivered[(int(a["src_area"]), int(a["dst_area"]), int(a["nonce"]))] = (
                        bytes.fromhex(a["sender"][2:]),
                        bytes.fromhex(a["recipient"][2:]),
                        int(a["amount"]),
                        bytes(a["payload_hash"]),
                    )
                self.next_block = head + 1
            except Exception as exc:  # noqa: BLE001 - RPC outage: what we have stays
                log.warning("reading BorderGateway events: %s", exc)

    def deposit(self, tx_hash: bytes, log_index: int):
        self.refresh()
        return self._deposits.get((tx_hash, log_index))

    def delivered(self, src: int, dst: int, nonce: int):
        self.refresh()
        return self._delivered.get((src, dst, nonce))

    def deposits_for(self, area_id: int) -> list[Deposit]:
        self.refresh()
        return [
            Deposit(h, i, acct, amount)
            for (h, i), (area, acct, amount) in sorted(self._deposits.items())
            if area == area_id
        ]

    def ingress_for(self, area_id: int) -> list[Ingress]:
        self.refresh()
        return [
            Ingress(src, nonce, *value)
            for (src, dst, nonce), value in sorted(self._delivered.items())
            if dst == area_id
        ]
