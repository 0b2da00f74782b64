"""The read models as one object for a process that serves them (the API): the views' store,
the Board's queries and, in the in-process mode, the runner thread that keeps them current."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from projections.board import Board
from projections.locks import views_without_worker
from projections.readside import ProjectionSettings, ReadSide
from projections.runner import BackgroundProjections

if TYPE_CHECKING:
    from domain.ledger import Ledger
    from projections.merkle_log import MerkleLog


@dataclass
class ReadModels:
    read_side: ReadSide
    board: Board
    background: BackgroundProjections | None = None

    def status(self) -> dict[str, Any]:
        """For /readyz: each view's position, lag, state and any stop; and whether the
        in-process runner itself is alive."""
        status = self.read_side.status()
        if self.background is not None:
            alive = self.background.thread.is_alive()
            status["runner"] = {"mode": "in_process", "alive": alive,
                                "error": str(self.background.error) if self.background.error
                                else None}
            status["ok"] = status["ok"] and alive
        else:
            # The external worker holds a lock per view while it runs (projections/locks.py):
            # a view whose lock nobody holds has no worker.
            unrun = views_without_worker(self.read_side.db, self.read_side.view_names)
            status["runner"] = {"mode": "external", "alive": not unrun,
                                "views_without_worker": unrun}
            status["ok"] = status["ok"] and not unrun
        return status

    def close(self) -> None:
        if self.background is not None:
            self.background.stop()
        self.board.close()
        self.read_side.close()


def open_read_models(settings: ProjectionSettings, ledger: Ledger, *,
                     run_in_process: bool, merkle_log: MerkleLog | None = None) -> ReadModels:
    """Open the views of `ledger`; with run_in_process, also run the projections in a thread
    of this process (a single API worker; with several, run `ledger project` instead), and
    with them `merkle_log`'s view (the caller keeps and closes the log)."""
    read_side = ReadSide(settings, ledger)
    background = (BackgroundProjections(settings, ledger, read_side, merkle_log=merkle_log)
                  if run_in_process else None)
    return ReadModels(read_side, Board(read_side), background)
