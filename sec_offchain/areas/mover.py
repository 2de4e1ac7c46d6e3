"""Moving balances when an epoch moves accounts: each account whose area changes between
the directory of epoch N-1 (or its address-hash area, where N-1 does not list it) and the
directory of epoch N gets one MOVE in its old area, which debits its whole balance there and
sends it through BGC to the new area (`Ledger.apply_move`).

The mover keeps no state of its own: the source area's ledger records every (account, epoch)
it moved, so a mover killed at any point is simply run again. Each move is looked up first
(already moved: skipped; nothing held: skipped) and a MOVE that lands twice is refused by the
ledger, so a balance leaves once and arrives once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sec_offchain.area.ledger import AreaTx, move_tx
from sec_offchain.areas.cluster import hash_area
from sec_offchain.areas.directory import AreaDirectory
from sec_offchain.areas.graph import AreaError


@dataclass(frozen=True)
class PendingMove:
    """`account` leaves area `src` for area `dst` in `epoch` (`proof`: its entry's proof)."""

    account: str  # lower case
    src: int
    dst: int
    epoch: int
    proof: tuple[bytes, ...]

    def tx(self) -> AreaTx:
        return move_tx(bytes.fromhex(self.account[2:]), self.src, self.dst, self.epoch, self.proof)


def plan_moves(
    current: AreaDirectory, previous: AreaDirectory | None, area_ids: tuple[int, ...]
) -> list[PendingMove]:
    """Every account the directory `current` places in another area than `previous` did (or
    than its address-hash area, where `previous` does not list it), in address order."""
    if previous is not None and previous.epoch != current.epoch - 1:
        raise AreaError(
            f"the previous directory is epoch {previous.epoch}, not {current.epoch - 1}"
        )
    before = previous.entries if previous is not None else {}
    out = []
    for account, dst in sorted(current.entries.items()):
        src = before.get(account)
        if src is None:
            src = hash_area(account, area_ids)
        if src != dst:
            entry = current.get_proof(account)
            out.append(PendingMove(account, src, dst, current.epoch, entry.proof))
    return out


# ledger(area, account) -> the node's ledger view of the account (None: no node answers)
LedgerView = Callable[[int, str], dict[str, Any] | None]
# submit(area, tx) -> (accepted, the node's message)
Submit = Callable[[int, AreaTx], tuple[bool, str]]


def run_moves(
    moves: Iterable[PendingMove], ledger: LedgerView, submit: Submit, pace: float = 0.0
) -> Iterator[tuple[PendingMove, str]]:
    """Submits each move that is still to do; yields (move, outcome): "submitted",
    "already moved", "nothing to move", or "refused: <reason>" / "no node answers"."""
    first = True
    for move in moves:
        view = ledger(move.src, move.account)
        if view is None:
            yield move, "no node answers"
            continue
        if move.epoch in view.get("moved_out_epochs", []):
            yield move, "already moved"
            continue
        if int(view.get("balance", 0)) == 0:
            yield move, "nothing to move"
            continue
        if pace and not first:
            time.sleep(pace)
        first = False
        ok, message = submit(move.src, move.tx())
        if not ok:
            yield move, ("already moved" if "already moved" in message else f"refused: {message}")
        else:
            yield move, "submitted" if message != "duplicate" else "already submitted"
