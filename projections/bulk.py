"""Bulk loading: views built from the first event into empty tables (a rebuild, or a
point-in-time copy), far cheaper than applying the same events batch by batch.

One transaction per view for the whole load (on SQLite, one for all: a single writer). Each
view has one unit of work for all of it (its rows stay in memory, nothing is read back); rows
that are only ever appended (the audit trail) are written batch by batch, on PostgreSQL by
COPY in the view's writer thread while the next batch's handlers run; at the end every other
row, the rollups a view derives from its final rows instead of event by event, the indexes
and each view's tracking record are written and committed together. An interrupted load
leaves a view as it was (empty at position 0, for a worker to build again). An event a view
cannot apply ends the load, and `load` falls back to the runner's batch-by-batch catch-up,
whose failure policy stops that view at that event and keeps the others going.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from projections.base import Changes, View
from projections.db import Db, Table, Tx
from projections.readside import ReadSide
from projections.runner import REBUILD_BATCH, Feed, Runner, for_view, is_infrastructure_error
from projections.tracking import advance

log = logging.getLogger("ledger.projections")

Progress = Callable[[int, int], None]
# Events read and applied at a time. Small enough that the rows still being copied when the
# last batch is applied (the audit trail's, with its indexes) are a short tail; large enough
# that reads and copies are few. Measured: 5,000 slightly ahead of 10,000 and 20,000.
LOAD_BATCH = 5_000


def load(read_side: ReadSide, names: Sequence[str], *, stop_at: int,
         batch_size: int = LOAD_BATCH, progress: Progress | None = None) -> None:
    """Build the named views, which must be empty at position 0, up to `stop_at`: in bulk,
    or batch by batch if an event stops the bulk load."""
    try:
        bulk_load(read_side, names, stop_at=stop_at, batch_size=batch_size, progress=progress)
    except Exception as error:
        if is_infrastructure_error(error):
            raise
        log.warning("bulk load stopped (%s: %s): applying the events batch by batch",
                    type(error).__name__, error)
        Runner(read_side, names, batch_size=REBUILD_BATCH).catch_up(stop_at=stop_at,
                                                                    progress=progress)
        build_indexes(read_side, names)


def bulk_load(read_side: ReadSide, names: Sequence[str], *, stop_at: int, batch_size: int,
              progress: Progress | None = None) -> int:
    """Load the named (empty) views with every event up to `stop_at`; returns the position
    they reached. Raises, leaving them as they were, on any error."""
    views = [read_side.views[n] for n in names]
    db = read_side.db
    feed = Feed(read_side.ledger, views)
    # Reads stay in this thread: a reader thread ahead of it (as the runner has) only made
    # the two fight over the interpreter lock, and the load was measurably slower.
    analysed = db.tables_with_statistics()
    sinks: dict[str, _Sink] = {}
    # Every row stays in memory until the end: the cyclic collector would walk them all
    # again and again (a third of the time); events are freed by reference counting anyway.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if db.pipelined:  # PostgreSQL: a transaction and a writer thread for each view
            for view in views:
                sinks[view.name] = _Sink(db, analysed, view.name)
        else:  # SQLite has one writer at a time: one transaction, written in this thread
            shared = _Sink(db, analysed)
            sinks = {v.name: shared for v in views}
        units = {v.name: Changes(sinks[v.name].tx, v.projection_class.tables, loading=True)
                 for v in views}
        position = 0
        while position < stop_at:
            _, items = feed.read(position, batch_size)
            items = [i for i in items if i[0] <= stop_at]
            if not items:
                break
            for view in views:
                unit = units[view.name]
                _apply(view, unit, for_view(view, items, position))
                for table, rows in unit.take_appends():
                    sinks[view.name].write(table, rows)
            position = items[-1][0]
            if progress is not None:
                progress(position, stop_at)
        # The end: each table's rows and then its indexes. Each view's writer copies and
        # indexes (the server works, on every core) while this thread prepares the rows of
        # the next.
        for view in views:
            unit, sink = units[view.name], sinks[view.name]
            view.projection.loaded(unit)
            for table, rows in unit.loaded_rows():
                sink.write(table, rows, index=True, queue=True)
        for view in views:
            sink = sinks[view.name]
            sink.finish()
            advance(sink.tx, view.name, 0, position)
    except BaseException:
        _abort(list(dict.fromkeys(sinks.values())))
        raise
    finally:
        if collecting:
            gc.enable()
    order = list(dict.fromkeys(sinks.values()))
    for i, sink in enumerate(order):
        try:
            sink.commit()
        except BaseException:
            _abort(order[i + 1:])  # the views committed so far are whole, the rest empty
            raise
    return position


def _abort(sinks: list[_Sink]) -> None:
    """Roll back every sink, the first error aside: the one already raised matters."""
    for sink in sinks:
        try:
            sink.abort()
        except Exception as error:  # noqa: BLE001 - e.g. the connection is gone: so is its work
            log.warning("bulk load: rolling back failed: %s", error)


class _Sink:
    """Where a bulk load writes one view (or, on SQLite, every view): an open transaction
    and, on PostgreSQL, a writer thread, so rows are copied while the handlers go on."""

    def __init__(self, db: Db, analysed: set[str], thread: str | None = None) -> None:
        self.db = db
        self.analysed = analysed
        self.open_tx = db.begin(own_connection=True) if thread else db.begin()
        self.tx = self.open_tx.tx
        self.writer = (ThreadPoolExecutor(1, thread_name_prefix=f"ledger-load-{thread}")
                       if thread else None)
        self.writes: list[Future[None]] = []

    def write(self, table: Table, rows: list[tuple[Any, ...]], *, index: bool = False,
              queue: bool = False) -> None:
        """Write rows (and then create the table's indexes), in order. While the events
        stream, at most two writes wait at a time, so memory stays bounded; at the end
        (`queue`) the rows are all in memory anyway, and nothing waits."""
        while not queue and len(self.writes) > 1:
            self.writes.pop(0).result()
        after = (self.db.after_load(table, has_statistics=table.name in self.analysed)
                 if index else [])
        if self.writer is None:
            _write(self.tx, table, rows, after)
        else:
            self.writes.append(self.writer.submit(_write, self.tx, table, rows, after))

    def finish(self) -> None:
        while self.writes:
            self.writes.pop(0).result()

    def abort(self) -> None:
        wait(self.writes)  # the writer must be done with the connection first
        self._close()
        self.open_tx.rollback()

    def commit(self) -> None:
        self._close()
        self.open_tx.commit()

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.shutdown(wait=True)


def _apply(view: View, changes: Changes, items: list[tuple[int, str, Any]]) -> None:
    projection = view.projection
    for position, topic, event in items:
        if isinstance(event, BaseException):
            raise event  # the stored event could not even be decoded
        projection.apply(changes, event, topic, position)


def _write(tx: Tx, table: Table, rows: list[tuple[Any, ...]], after: list[str]) -> None:
    if rows:
        tx.insert(table, rows)
    for statement in after:
        tx.execute(statement)


def build_indexes(read_side: ReadSide, names: Sequence[str]) -> None:
    """After a load batch by batch: each table's indexes and statistics. On PostgreSQL on two
    connections at once (index builds of one table may run concurrently), one transaction a
    statement, so that locks go as soon as each ends."""
    statements = [s for n in names for t in read_side.views[n].projection_class.tables
                  for s in read_side.db.after_load(t)]
    lanes = [statements[0::2], statements[1::2]] if read_side.db.pipelined else [statements]

    def run(lane: list[str]) -> None:
        for statement in lane:
            with read_side.db.transaction() as tx:
                tx.execute(statement)

    with ThreadPoolExecutor(len(lanes), thread_name_prefix="ledger-views-index") as pool:
        for future in [pool.submit(run, lane) for lane in lanes if lane]:
            future.result()
