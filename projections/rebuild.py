"""`ledger rebuild [VIEW]`: views built again from the first event.

Refused while a worker runs any of the views (their locks). The views' tables are emptied and
most of their indexes dropped (Db.clear; on PostgreSQL their primary keys too), while the first
events are read; then the events are bulk loaded (projections/bulk.py), which builds the
indexes and keys again at the end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from projections import VIEW_NAMES
from projections.bulk import LOAD_BATCH, build_indexes, load
from projections.locks import ViewLocks
from projections.readside import ProjectionSettings, ReadSide
from projections.tracking import reset

log = logging.getLogger("ledger.projections")


def rebuild(settings: ProjectionSettings, ledger: Any, view_names: Iterable[str] | None = None,
            progress_callback: Callable[[int, int], None] | None = None, *,
            read_side: ReadSide | None = None,
            batch_size: int = LOAD_BATCH) -> dict[str, Any]:
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
            def clear() -> None:
                with side.db.transaction() as tx:
                    for statement in side.db.clear(
                            t for n in names for t in side.views[n].projection_class.tables):
                        tx.execute(statement)
                    for name in names:
                        reset(tx, name)
            try:
                load(side, names, stop_at=ledger.head_position(), batch_size=batch_size,
                     progress=progress_callback, prepare=clear)
            except BaseException:
                _restore_indexes(side, names)
                raise
            return {v["view"]: v for v in side.status()["views"] if v["view"] in names}
    finally:
        if owned:
            side.close()


def _restore_indexes(side: ReadSide, names: Sequence[str]) -> None:
    """After a failed load, the indexes it dropped, for the worker that will fill the views
    batch by batch (or, if the store is down, for ReadSide.setup when it is back)."""
    try:
        build_indexes(side, names)
    except Exception as error:  # noqa: BLE001 - the load's own error is the one to raise
        log.warning("could not restore the views' indexes: %s", error)
