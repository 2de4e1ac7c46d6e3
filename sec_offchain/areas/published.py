"""The published directories, as the processes that place accounts read them: AreaDirectory's
`DirectoryPublished` events (epoch, root, block) from the chain, and the directory files
(`epoch-<N>.json`, `AreaDirectory.dump()`'s JSON, what `sec areas plan --out` writes and the
gateway serves) from a folder.

Each file is checked against the root committed on chain before it is used: a file whose
entries were altered recomputes to another root and is refused, and so is an entry whose
proof does not lead to the committed root. While an epoch is published but its file is
missing or refused, an account's area at a block where that epoch is in force is *unknown*
(`DirectoryUnavailable`): the caller waits rather than guess. Accounts a directory does not
list keep the address-hash area (`hash_area`).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sec_offchain.areas.directory import AreaDirectory, DirectoryProof, verify_entry
from sec_offchain.areas.graph import AreaError
from sec_offchain.areas.lookup import AreaLookup, Publication

log = logging.getLogger("sec.areas")

# Blocks per eth_getLogs request.
LOG_SPAN = 10_000


class DirectoryUnavailable(AreaError):
    """A directory is published but its file is missing or does not match the root."""


@dataclass(frozen=True)
class Placement:
    """Where an account is at a block: its area, and the epoch and proof that say so (epoch 0
    and no proof: the account is in no directory in force then, so its address-hash area)."""

    account: str
    area_id: int
    epoch: int
    proof: DirectoryProof | None


def directory_file(folder: Path, epoch: int) -> Path:
    return Path(folder) / f"epoch-{epoch}.json"


class PublishedDirectories:
    """Account -> area at a main-chain block, from AreaDirectory and a folder of files.

    `contract` is a web3 contract of AreaDirectory's ABI; `start_block` the first block to
    read its events from (the deployment's); `confirmations` how far below the head to read
    (reorg safety, as every other reader of chain events)."""

    def __init__(
        self,
        contract: Any,
        folder: Path,
        area_ids: tuple[int, ...],
        start_block: int = 0,
        confirmations: int = 0,
    ) -> None:
        self.contract = contract
        self.folder = Path(folder)
        self.lookup = AreaLookup(tuple(area_ids))
        self.confirmations = confirmations
        self._next_block = start_block
        self._pending: list[Publication] = []  # published, file not (yet) loaded, in order
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ reading

    def refresh(self) -> None:
        """Reads new publications and loads every file that is now there."""
        with self._lock:
            w3 = self.contract.w3
            head = int(w3.eth.block_number) - self.confirmations
            while self._next_block <= head:
                end = min(self._next_block + LOG_SPAN - 1, head)
                for e in self.contract.events.DirectoryPublished.get_logs(
                    from_block=self._next_block, to_block=end
                ):
                    a = e["args"]
                    self._pending.append(
                        Publication(int(a["epoch"]), bytes(a["root"]), int(e["blockNumber"]))
                    )
                self._next_block = end + 1
            while self._pending:
                publication = self._pending[0]
                try:
                    directory = self._load(publication)
                except DirectoryUnavailable as exc:
                    log.warning("%s", exc)
                    return
                self.lookup.add(publication, directory)
                self._pending.pop(0)

    def _load(self, publication: Publication) -> AreaDirectory:
        path = directory_file(self.folder, publication.epoch)
        try:
            data = json.loads(path.read_text())
            directory = AreaDirectory.load(data)
        except OSError:
            raise DirectoryUnavailable(
                f"the directory of epoch {publication.epoch} is published but {path} is missing"
            ) from None
        except (ValueError, AreaError) as exc:
            raise DirectoryUnavailable(f"{path}: {exc}") from None
        if directory.epoch != publication.epoch or directory.root != publication.root:
            raise DirectoryUnavailable(
                f"{path} is not the directory published for epoch {publication.epoch}: its "
                f"root 0x{directory.root.hex()} is not the committed 0x{publication.root.hex()}"
            )
        return directory

    # ------------------------------------------------------------------ answers

    def placement(self, account: str, block: int) -> Placement:
        """`account`'s area at `block`, with the epoch and proof (checked against the
        committed root); DirectoryUnavailable while a directory in force then is not
        loaded. The chain is read only when `block` is past what was read already (or a
        file is still awaited): the publications up to there are all known."""
        if block >= self._next_block or self._pending:
            self.refresh()
        if self._pending and self._pending[0].block <= block:
            raise DirectoryUnavailable(
                f"the directory of epoch {self._pending[0].epoch} is in force at block {block} "
                f"but not available here ({directory_file(self.folder, self._pending[0].epoch)})"
            )
        directory = self.lookup.directory_at(block)
        if directory is None or account not in directory:
            return Placement(account, self.lookup.area_at(account, block), 0, None)
        entry = directory.get_proof(account)
        if not verify_entry(directory.root, entry.account, entry.area_id, entry.proof):
            raise DirectoryUnavailable(
                f"the entry of {account} does not verify against epoch {directory.epoch}'s root"
            )
        return Placement(account, entry.area_id, directory.epoch, entry)

    def order_area(self, seller: str, paid_block: int) -> int:
        """The area an order paid at `paid_block` lives and finishes in: its seller's then."""
        return self.placement(seller, paid_block).area_id

    def latest(self) -> AreaDirectory | None:
        """The newest loaded directory."""
        self.refresh()
        return self.lookup.directory_at(2**63)
