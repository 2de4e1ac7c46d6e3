"""The area epoch daemon (`sec areas run --config FILE`): each epoch it computes the next
account -> area directory from the chain's completed trades, writes its file where the nodes,
the bridge and the gateway read it, publishes its root on AreaDirectory (its key must hold
PUBLISHER_ROLE), and moves the balances of the accounts the epoch moved (one MOVE each in
the old area, `areas.mover`).

It keeps no state of its own, so it can be killed at any instant and started again:

* **The epoch clock is the chain's.** Epoch N+1 is due when the confirmed head's timestamp
  is `epoch_seconds` past the block that published epoch N (the deployment's start block for
  epoch 1). A restarted daemon reads `latest_epoch` and finds the next epoch not due, so it
  never publishes twice; AreaDirectory refuses an epoch out of order anyway.
* **The file is written before the root is published**, and an unpublished file found at
  start is published as it is if the chain recomputes to it (the same transaction the killed
  daemon may have sent), else replaced by a plan at the current confirmed head.
* **A directory is a function of the chain**: the trades up to its `source_block` (the
  confirmed head when it was planned), that block's time, the previous directory, the area
  ids and the seed. A published epoch whose file is missing or does not match is computed
  again from AreaDirectory's `source_block_of` and written when it recomputes to the root.
* **Moves are stateless**: the old area's ledger remembers every (account, epoch) it moved
  (`run_moves` asks it first and a second MOVE is refused), so a move is submitted again
  until every moved account is "already moved" or holds nothing there; the root is proven
  against `confirmations` blocks below the head, so moves wait until the publication is
  that deep.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sec_offchain.areas import AreaDirectory, AreaParams, build_relation_graph, plan_areas
from sec_offchain.areas.events import fetch_trades
from sec_offchain.areas.graph import AreaError
from sec_offchain.areas.mover import LedgerView, Submit, plan_moves, run_moves
from sec_offchain.areas.published import directory_file
from sec_offchain.contracts.transactor import Transactor
from sec_offchain.exceptions import ContractRevert
from sec_offchain.follow import fetch_safe_head

log = logging.getLogger("sec.areas")

SETTLED = ("already moved", "nothing to move")


@dataclass(frozen=True)
class EpochParams:
    epoch_seconds: int
    area_ids: tuple[int, ...]
    seed: int = 0
    confirmations: int = 2
    start_block: int = 0
    pace: float = 0.0  # seconds between two submitted moves


class EpochDaemon:
    """One step at a time (`step`), so a test or the run loop drives it. `escrow`,
    `directory` and `trust` are web3 contracts of Escrow, AreaDirectory and TrustIndex."""

    def __init__(
        self,
        escrow: Any,
        directory: Any,
        trust: Any,
        account: Any,
        folder: Path,
        params: EpochParams,
        ledger: LedgerView,
        submit: Submit,
        say: Callable[[str], None] = log.info,
    ) -> None:
        self.w3 = directory.w3
        self.escrow, self.directory, self.trust = escrow, directory, trust
        self.tx = Transactor(self.w3, account)
        self.folder = Path(folder)
        self.params = params
        self.ledger, self.submit = ledger, submit
        self.say = say
        self._moved: set[int] = set()  # epochs whose moves are all settled (this run)
        self._published_at: dict[int, int] = {}  # epoch -> the block that published it

    # ------------------------------------------------------------------ checks

    def is_publisher(self) -> bool:
        fn = self.directory.functions
        return bool(fn.hasRole(fn.PUBLISHER_ROLE().call(), self.tx.address).call())

    # ------------------------------------------------------------------ planning

    def build(
        self, epoch: int, source_block: int, previous: AreaDirectory | None
    ) -> AreaDirectory | None:
        """The directory of `epoch` from the trades up to `source_block` (None: nobody has
        traded yet and there is no previous directory)."""
        now = int(self.w3.eth.get_block(source_block)["timestamp"])
        trades = fetch_trades(self.escrow, self.params.start_block, source_block)
        parties = {t.seller for t in trades} | {t.buyer for t in trades}
        if not parties and previous is None:
            return None
        period = int(self.trust.functions.relation_period().call())
        graph = build_relation_graph(trades, now, period)
        plan = plan_areas(
            graph,
            previous.entries if previous is not None else None,
            AreaParams(area_ids=self.params.area_ids, seed=self.params.seed),
            parties,
        )
        return AreaDirectory(epoch, plan.assignment, source_block)  # type: ignore[arg-type]

    def _read_file(self, epoch: int) -> AreaDirectory | None:
        try:
            return AreaDirectory.load(json.loads(directory_file(self.folder, epoch).read_text()))
        except (OSError, ValueError, AreaError):
            return None

    def _write_file(self, directory: AreaDirectory) -> None:
        """Written whole or not at all (a reader never sees half a file)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = directory_file(self.folder, directory.epoch)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(directory.dump(), indent=1))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        tmp.replace(path)

    def published(self, epoch: int) -> AreaDirectory | None:
        """The directory of the published `epoch`, from its file, or computed again from the
        chain and written when the file is missing or does not match (None when even that
        does not give the published root: someone else's plan)."""
        root = bytes(self.directory.functions.root_of(epoch).call())
        directory = self._read_file(epoch)
        if directory is not None and directory.epoch == epoch and directory.root == root:
            return directory
        previous = self.published(epoch - 1) if epoch > 1 else None
        if epoch > 1 and previous is None:
            return None
        source = int(self.directory.functions.source_block_of(epoch).call())
        again = self.build(epoch, source, previous)
        if again is None or again.root != root:
            log.error(
                "epoch %d is published with root 0x%s, which the chain does not recompute to "
                "(another publisher's seed or parameters?): its file is left as it is",
                epoch,
                root.hex(),
            )
            return None
        self._write_file(again)
        self.say(f"epoch {epoch}: directory file written again ({len(again)} accounts)")
        return again

    # ------------------------------------------------------------------ one step

    def step(self) -> None:
        """Moves of the latest epoch still to do, then the next epoch when it is due."""
        safe = fetch_safe_head(self.w3, self.params.confirmations)
        if safe is None:
            return
        head = safe[0]
        latest = int(self.directory.functions.latest_epoch().call())
        current = self.published(latest) if latest else None
        if latest and current is None:
            return  # nothing to plan from: said in the log
        if current is not None and latest not in self._moved:
            self.move(current, head)
        if not self.is_due(latest, head):
            return
        self.publish_next(latest + 1, current, head)

    def publication_block(self, epoch: int) -> int | None:
        if epoch not in self._published_at:
            logs = self.directory.events.DirectoryPublished().get_logs(
                from_block=self.params.start_block, argument_filters={"epoch": epoch}
            )
            if not logs:
                return None
            self._published_at[epoch] = int(logs[0]["blockNumber"])
        return self._published_at[epoch]

    def is_due(self, latest: int, head: int) -> bool:
        since = self.publication_block(latest) if latest else self.params.start_block
        if since is None or since > head:
            return False  # the latest publication is not confirmed yet
        then = int(self.w3.eth.get_block(since)["timestamp"])
        now = int(self.w3.eth.get_block(head)["timestamp"])
        return now - then >= self.params.epoch_seconds

    def publish_next(self, epoch: int, previous: AreaDirectory | None, head: int) -> None:
        candidate = self._read_file(epoch)
        directory = None
        if (
            candidate is not None
            and candidate.epoch == epoch
            and (previous is None or previous.source_block <= candidate.source_block <= head)
            and candidate.source_block <= head
        ):
            again = self.build(epoch, candidate.source_block, previous)
            if again is not None and again.root == candidate.root:
                directory = candidate  # written before a kill: publish it as it is
        if directory is None:
            directory = self.build(epoch, head, previous)
            if directory is None:
                return  # nobody to place yet
            self._write_file(directory)
        fn = self.directory.functions.publish(
            epoch, directory.root, len(directory), len(self.params.area_ids), directory.source_block
        )
        try:
            receipt = self.tx.transact(fn)
        except ContractRevert as exc:
            if "epoch out of order" in str(exc):
                return  # published meanwhile (a transaction of an earlier run): read next step
            raise
        self._published_at[epoch] = int(receipt["blockNumber"])
        moves = plan_moves(directory, previous, self.params.area_ids)
        self.say(
            f"published epoch {epoch}: root 0x{directory.root.hex()}, source block "
            f"{directory.source_block}, {len(directory)} accounts, {len(moves)} change area"
        )

    def move(self, current: AreaDirectory, head: int) -> None:
        """Submits the moves of `current`'s epoch still to do (once its root is confirmed)."""
        epoch = current.epoch
        at = self.publication_block(epoch)
        if at is None or at > head:
            return
        previous = self.published(epoch - 1) if epoch > 1 else None
        if epoch > 1 and previous is None:
            return
        moves = plan_moves(current, previous, self.params.area_ids)
        settled = 0
        for move, outcome in run_moves(moves, self.ledger, self.submit, self.params.pace):
            if outcome in SETTLED:
                settled += 1
            else:
                self.say(
                    f"epoch {epoch}: {move.account}: area {move.src} -> area {move.dst}: {outcome}"
                )
        if settled == len(moves):
            self._moved.add(epoch)
            self.say(f"epoch {epoch}: every move done ({len(moves)} accounts changed area)")
