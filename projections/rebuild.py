"""`ledger rebuild [VIEW]`: views built again from the first event.

Refused while a worker runs any of the views (their locks). The rebuild is the runner in bulk
(projections/runner.py, run_in_bulk): in one transaction the views are emptied and their
secondary indexes dropped, every event up to the head as it is now is applied in large
batches, and the indexes are made again. It commits whole; if anything fails, the views are
left as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from projections import VIEW_NAMES
from projections.locks import ViewLocks
from projections.readside import ProjectionSettings, ReadSide
from projections.runner import BULK_BATCH, run_in_bulk

if TYPE_CHECKING:
    from domain.ledger import Ledger


def rebuild(settings: ProjectionSettings, ledger: Ledger,
            view_names: Iterable[str] | None = None,
            progress_callback: Callable[[int, int], None] | None = None, *,
            read_side: ReadSide | None = None,
            batch_size: int = BULK_BATCH) -> dict[str, Any]:
    """Rebuild views up to the head as it is now. Raises ViewBusy while a worker runs any of
    them. progress_callback(done, total) is called after each batch. Returns each view's
    status afterwards."""
    owned = read_side is None
    side = read_side or ReadSide(settings, ledger)
    names = tuple(view_names or side.view_names)
    unknown = [n for n in names if n not in side.views]
    if unknown:
        raise KeyError(f"no view named {', '.join(unknown)}; views: {', '.join(VIEW_NAMES)}")
    try:
        with ViewLocks(side.db, names, purpose="rebuild"):
            run_in_bulk(side, names, stop_at=ledger.head_position(), batch_size=batch_size,
                        progress=progress_callback)
            return {v["view"]: v for v in side.status()["views"] if v["view"] in names}
    finally:
        if owned:
            side.close()
