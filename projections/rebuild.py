"""`ledger rebuild [VIEW]`: views built again from the first event.

Refused while a worker runs any of the views (their locks). The views' tables are emptied and
their secondary indexes dropped (loading first and indexing after is several times faster
than maintaining the indexes row by row), the events are bulk loaded (projections/bulk.py),
then the indexes are built again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from projections import VIEW_NAMES
from projections.bulk import load
from projections.locks import ViewLocks
from projections.readside import ProjectionSettings, ReadSide
from projections.runner import REBUILD_BATCH
from projections.tracking import reset


def rebuild(settings: ProjectionSettings, ledger: Any, view_names: Iterable[str] | None = None,
            progress_callback: Callable[[int, int], None] | None = None, *,
            read_side: ReadSide | None = None,
            batch_size: int = REBUILD_BATCH) -> dict[str, Any]:
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
            with side.db.transaction() as tx:
                for name in names:
                    side.views[name].clear_tables(tx)
                    reset(tx, name)
            try:
                load(side, names, stop_at=ledger.head_position(), batch_size=batch_size,
                     progress=progress_callback)
            finally:
                build_indexes(side, names)
            return {v["view"]: v for v in side.status()["views"] if v["view"] in names}
    finally:
        if owned:
            side.close()


def build_indexes(side: ReadSide, names: Sequence[str]) -> None:
    """Create the rebuilt views' indexes and planner statistics. On PostgreSQL, on two
    connections at once (index builds of one table may run concurrently): the server then
    uses both cores while this process waits."""
    statements = [s for n in names for s in side.views[n].index_statements()]
    lanes = [statements[0::2], statements[1::2]] if side.db.pipelined else [statements]

    def run(lane: list[str]) -> None:
        for statement in lane:  # one transaction each: locks go as soon as a statement ends
            with side.db.transaction() as tx:
                tx.execute(statement)

    with ThreadPoolExecutor(len(lanes), thread_name_prefix="ledger-views-index") as pool:
        for future in [pool.submit(run, lane) for lane in lanes if lane]:
            future.result()
