"""`ChainEvents` from a real chain: BorderGateway's `DepositedToArea` and `MessageDelivered`
logs, polled (at most once a second) up to `confirmations` blocks below the head.

A reorg that replaces blocks already read is noticed by their hashes (`BlockTrail`): the
events of the replaced blocks are dropped and the blocks read again, so an area never
credits a deposit or a delivery the main chain no longer has."""

from __future__ import annotations

import logging
import threading
import time

from web3 import Web3

from sec_offchain.area.ledger import Deposit, Ingress
from sec_offchain.follow import BlockTrail, fetch_safe_head

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
        directory: tuple[str, list] | None = None,
    ) -> None:
        """`directory`: AreaDirectory's (address, ABI), where the roots that moves are proven
        against are read (without it no move is valid)."""
        self.w3 = w3
        self.directory = (
            w3.eth.contract(address=Web3.to_checksum_address(directory[0]), abi=directory[1])
            if directory
            else None
        )
        self._roots: dict[int, bytes] = {}
        self.gateway = w3.eth.contract(
            address=Web3.to_checksum_address(gateway_address), abi=gateway_abi
        )
        self.start_block = start_block
        self.next_block = start_block
        self.confirmations = confirmations
        self.min_interval = min_interval
        self.trail = BlockTrail()
        self._last = 0.0
        self._lock = threading.Lock()
        # each event with the main-chain block it is in (dropped when a reorg removes it)
        self._deposits: dict[tuple[bytes, int], tuple[int, bytes, int, int]] = {}
        self._delivered: dict[tuple[int, int, int], tuple[bytes, bytes, int, bytes, int]] = {}

    def refresh(self, force: bool = False) -> None:
        with self._lock:
            if not force and time.time() - self._last < self.min_interval:
                return
            self._last = time.time()
            try:
                self._refresh()
            except Exception as exc:  # noqa: BLE001 - RPC outage: what we have stays
                log.warning("reading BorderGateway events: %s", exc)

    def _rewind(self, fork: int) -> None:
        fork = max(fork, self.start_block - 1)
        self._deposits = {k: v for k, v in self._deposits.items() if v[3] <= fork}
        self._delivered = {k: v for k, v in self._delivered.items() if v[4] <= fork}
        self.next_block = min(self.next_block, fork + 1)

    def _refresh(self) -> None:
        fork = self.trail.fetch_fork_point(self.w3)
        if fork is not None:
            self._rewind(fork)
        safe = fetch_safe_head(self.w3, self.confirmations)
        if safe is None or safe[0] < self.next_block:
            return
        head, head_hash = safe
        ev = self.gateway.events
        deposits = ev.DepositedToArea().get_logs(from_block=self.next_block, to_block=head)
        delivered = ev.MessageDelivered().get_logs(from_block=self.next_block, to_block=head)
        if bytes(self.w3.eth.get_block(head)["hash"]) != head_hash:
            return  # a reorg while reading: read again next time
        for e in deposits:
            a = e["args"]
            self._deposits[(bytes(e["transactionHash"]), int(e["logIndex"]))] = (
                int(a["area_id"]),
                bytes.fromhex(a["account"][2:]),
                int(a["amount"]),
                int(e["blockNumber"]),
            )
        for e in delivered:
            a = e["args"]
            self._delivered[(int(a["src_area"]), int(a["dst_area"]), int(a["nonce"]))] = (
                bytes.fromhex(a["sender"][2:]),
                bytes.fromhex(a["recipient"][2:]),
                int(a["amount"]),
                bytes(a["payload_hash"]),
                int(e["blockNumber"]),
            )
        self.trail.remember(head, head_hash)
        self.next_block = head + 1

    def deposit(self, tx_hash: bytes, log_index: int):
        self.refresh()
        got = self._deposits.get((tx_hash, log_index))
        return got[:3] if got else None

    def delivered(self, src: int, dst: int, nonce: int):
        self.refresh()
        got = self._delivered.get((src, dst, nonce))
        return got[:4] if got else None

    def deposits_for(self, area_id: int) -> list[Deposit]:
        self.refresh()
        return [
            Deposit(h, i, acct, amount)
            for (h, i), (area, acct, amount, _) in sorted(self._deposits.items())
            if area == area_id
        ]

    def ingress_for(self, area_id: int) -> list[Ingress]:
        self.refresh()
        return [
            Ingress(src, nonce, *value[:4])
            for (src, dst, nonce), value in sorted(self._delivered.items())
            if dst == area_id
        ]

    def directory_root(self, epoch: int) -> bytes | None:
        """AreaDirectory's root of `epoch` as of `confirmations` blocks below the head (a
        root is never overwritten, so a confirmed one is kept); None while unpublished."""
        if self.directory is None or epoch < 1:
            return None
        root = self._roots.get(epoch)
        if root is not None:
            return root
        try:
            safe = fetch_safe_head(self.w3, self.confirmations)
            if safe is None:
                return None
            got = bytes(self.directory.functions.root_of(epoch).call(block_identifier=safe[0]))
        except Exception as exc:  # noqa: BLE001 - RPC outage: not known yet
            log.warning("reading AreaDirectory: %s", exc)
            return None
        if got == bytes(32):
            return None
        self._roots[epoch] = got
        return got
