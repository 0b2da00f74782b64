"""Bulk loading: views built from the first event into empty tables (a rebuild, or a
point-in-time copy), far cheaper than applying the same events batch by batch.

One transaction per view for the whole load (on SQLite, one for all: a single writer). Each
view has one unit of work for all of it (its rows stay in memory, nothing is read back); rows
that are only ever appended (the audit trail) are written batch by batch, on PostgreSQL by
binary COPY in the view's writer thread while the other views take the batch. Each view
finishes as soon as it has taken the last batch: every other row, the rollups it derives
from its final rows in SQL (ViewProjection.derived) instead of event by event, and its
tracking record are written and committed together. On SQLite the indexes are made in that
transaction; on PostgreSQL each view commits as soon as its rows are written, and its
indexes are made just after, two at a time on other connections. An
interrupted load leaves each view whole or as it was (empty at position 0, for a worker to
build again). An event a view cannot apply ends the load, and `load` falls back to the
runner's batch-by-batch catch-up, whose failure policy stops that view at that event and
keeps the others going.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from projections.base import Changes, View
from projections.db import Db, Table, Tx
from projections.read_ahead import ReadAheadFeed
from projections.readside import ReadSide
from projections.runner import REBUILD_BATCH, Feed, Runner, for_view, is_infrastructure_error
from projections.tracking import advance

log = logging.getLogger("ledger.projections")

Progress = Callable[[int, int], None]
# Events read and applied at a time. Small enough that the rows still being copied when the
# last batch is applied (the audit trail's, with its indexes) are a short tail; large enough
# that reads and copies are few. Measured: 5,000 slightly ahead of 10,000 and 20,000.
LOAD_BATCH = 5_000


class PrepareFailed(Exception):
    """A load's `prepare` failed: the views were not emptied, so there is nothing to fall
    back on; `load` raises its error."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def load(read_side: ReadSide, names: Sequence[str], *, stop_at: int,
         batch_size: int = LOAD_BATCH, progress: Progress | None = None,
         prepare: Callable[[], None] | None = None) -> None:
    """Build the named views, which must be empty at position 0 (or be emptied by `prepare`,
    which runs while the first events are read), up to `stop_at`: in bulk, or batch by batch
    if an event stops the bulk load."""
    try:
        bulk_load(read_side, names, stop_at=stop_at, batch_size=batch_size, progress=progress,
                  prepare=prepare)
    except PrepareFailed as failed:
        raise failed.error from None
    except Exception as error:
        if is_infrastructure_error(error):
            raise
        log.warning("bulk load stopped (%s: %s): applying the events batch by batch",
                    type(error).__name__, error)
        # Batch by batch, rows are found by their key (upserts): the keys the load dropped
        # first, the other indexes after.
        db = read_side.db
        _run_lanes(db, [s for n in names for t in read_side.views[n].projection_class.tables
                        for s in db.key_ddl(t)])
        Runner(read_side, names, batch_size=REBUILD_BATCH).catch_up(stop_at=stop_at,
                                                                    progress=progress)
        build_indexes(read_side, names)


def bulk_load(read_side: ReadSide, names: Sequence[str], *, stop_at: int, batch_size: int,
              progress: Progress | None = None,
              prepare: Callable[[], None] | None = None) -> int:
    """Load the named (empty, or emptied by `prepare`) views with every event up to
    `stop_at`; returns the position they reached. Raises, leaving them as they were (or as
    `prepare` left them), on any error."""
    # Views that write their rows as the events stream (the audit trail) take each batch
    # first, so that the server copies them while the other views take it: at the end of
    # the load, only the last batch's rows of theirs are left to copy.
    views = sorted((read_side.views[n] for n in names), key=lambda v: not _streams(v))
    db = read_side.db
    # Rows become objects in this thread: a reader thread doing that too (as the runner's
    # catch-up has) only made the two fight over the interpreter lock. On PostgreSQL the
    # server runs the next batch's query meanwhile (projections/read_ahead.py).
    feed = (ReadAheadFeed(read_side.ledger, views, db, stop_at=stop_at) if db.pipelined
            else Feed(read_side.ledger, views))
    try:
        return _bulk_load(read_side, feed, views, stop_at=stop_at, batch_size=batch_size,
                          progress=progress, prepare=prepare)
    finally:
        feed.close()


def _bulk_load(read_side: ReadSide, feed: Feed, views: list[View], *, stop_at: int,
               batch_size: int, progress: Progress | None,
               prepare: Callable[[], None] | None) -> int:
    db = read_side.db
    analysed = db.tables_with_statistics()
    # The first events are read and decoded while `prepare` empties the views (a server's
    # work, mostly: TRUNCATE makes new files for every table and index).
    first = _read_while(prepare, lambda: feed.read(0, batch_size)[1])
    sinks: dict[str, _Sink] = {}
    # Every row stays in memory until the end: the cyclic collector would walk them all
    # again and again (a third of the time); events are freed by reference counting anyway.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if db.pipelined:  # PostgreSQL: a transaction and a writer thread for each view
            # (Not while the first batch is decoded: each of the round trips of opening a
            # connection then waited for the interpreter lock, and it took longer.)
            sinks = _open_sinks(db, analysed, [v.name for v in views])
        else:  # SQLite has one writer at a time: one transaction, written in this thread
            shared = _Sink(db, analysed)
            sinks = {v.name: shared for v in views}
        units = {v.name: Changes(sinks[v.name].tx, v.projection_class.tables, loading=True)
                 for v in views}

        # The end of a view: each table's rows, then its tracking record; its writer copies
        # while this thread goes on. On SQLite each table's indexes follow its rows, in the
        # one transaction. On PostgreSQL each view commits as soon as its rows are written,
        # and its indexes are then built two at a time on other connections while the
        # views after it still write: in its own transaction they would be built one after
        # the other, on one core, the largest view's setting the end of the load.
        indexer = _Indexer(db) if db.pipelined else None

        def finish(view: View) -> None:
            unit, sink = units.pop(view.name), sinks[view.name]
            statements: list[str] = []
            derived = view.projection.derived
            for table, rows in unit.loaded_rows(
                    (lambda: _derive(sink, derived)) if derived else None):
                if db.pipelined and not table.append_only:
                    sink.write(table, rows, queue=True)
                    statements += sink.after_load(table)
                else:
                    sink.write(table, rows, index=True, queue=True)
            sink.call(advance, view.name, 0, position)
            if indexer is not None:
                indexer.after(sink.queue_commit(), statements)

        try:
            position = 0
            while position < stop_at:
                items = first if position == 0 else feed.read(position, batch_size)[1]
                first = []  # not kept for the whole load
                if items and items[-1][0] > stop_at:  # (rarely: only a load that stops short)
                    items = [i for i in items if i[0] <= stop_at]
                if not items:
                    break
                after, position = position, items[-1][0]
                last = position >= stop_at
                for view in _last_batch_order(views, units) if last else views:
                    unit = units[view.name]
                    view.projection.apply(unit, for_view(view, items, after))
                    for table, rows in unit.take_appends():
                        sinks[view.name].write(table, rows)
                    if last and not _streams(view):
                        finish(view)
                if progress is not None:
                    progress(position, stop_at)
            for view in sorted((v for v in views if v.name in units),
                               key=lambda v: (not _streams(v), units[v.name].held()),
                               reverse=True):
                finish(view)
        except BaseException:
            if indexer is not None:
                indexer.wait()  # its error, if any, is this one's or came of it
            raise
        if indexer is not None and (error := indexer.wait()) is not None:
            raise error
        for sink in dict.fromkeys(sinks.values()):
            sink.finish()
    except BaseException:
        _abort(list(dict.fromkeys(sinks.values())))
        raise
    finally:
        if collecting:
            gc.enable()
    for sink in dict.fromkeys(sinks.values()):
        if not sink.committed:
            sink.commit()
        sink.close()
    return position


def _read_while(prepare: Callable[[], None] | None, read: Callable[[], list[Any]],
                ) -> list[Any]:
    """read(), while prepare() runs in another thread; raises PrepareFailed if it failed
    (once both are done, whichever failed)."""
    if prepare is None:
        return read()
    with ThreadPoolExecutor(1, thread_name_prefix="ledger-load-prepare") as helper:
        preparing = helper.submit(prepare)
        try:
            items = read()
        finally:
            wait([preparing])
    error = preparing.exception()
    if error is not None:
        raise PrepareFailed(error)
    return items


def _last_batch_order(views: list[View], units: dict[str, Changes]) -> list[View]:
    """The order views take the last batch in, each finished (rows written) as soon as it
    has it: the view with the most rows first (it will be the last to commit and index),
    then the streaming views (their writers copy the batch meanwhile, and they are
    finished last), then the others."""
    held = sorted((v for v in views if not _streams(v)), key=lambda v: units[v.name].held(),
                  reverse=True)
    return [*held[:1], *(v for v in views if _streams(v)), *held[1:]]


class _Indexer:
    """Builds each view's indexes (its deferred statements) as soon as it has committed,
    two at a time on connections of the pool."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self.lanes = ThreadPoolExecutor(2, thread_name_prefix="ledger-views-index")
        self.commits: list[Future[None]] = []
        self.scheduled: list[Future[None]] = []  # each commit's builds submitted (or not)
        self.builds: list[Future[None]] = []

    def after(self, commit: Future[None], statements: list[str]) -> None:
        scheduled: Future[None] = Future()

        def committed(done: Future[None]) -> None:  # in the view's writer thread
            try:
                if done.exception() is None:
                    self.builds += [self.lanes.submit(_execute, self.db, statement)
                                    for statement in statements]
            finally:
                scheduled.set_result(None)

        self.commits.append(commit)
        self.scheduled.append(scheduled)
        commit.add_done_callback(committed)

    def wait(self) -> BaseException | None:
        """Once every commit and build started is done: the first error, if any."""
        wait(self.scheduled)
        self.lanes.shutdown(wait=True)
        errors = [e for f in (*self.commits, *self.builds) if (e := f.exception()) is not None]
        return errors[0] if errors else None


def _derive(sink: _Sink, statements: Sequence[str]) -> None:
    for statement in statements:
        sink.call(_run, statement)


def _run(tx: Tx, statement: str) -> None:
    tx.execute(statement)


def _execute(db: Db, statement: str) -> None:
    with db.transaction() as tx:
        tx.execute(statement)


def _streams(view: View) -> bool:
    return any(t.append_only for t in view.projection_class.tables)


def _open_sinks(db: Db, analysed: set[str], names: list[str]) -> dict[str, _Sink]:
    """A sink for each view, their connections opened at once (each a round trip or more)."""
    with ThreadPoolExecutor(len(names), thread_name_prefix="ledger-load-open") as pool:
        futures = [pool.submit(_Sink, db, analysed, name) for name in names]
    opened: dict[str, _Sink] = {}
    errors: list[BaseException] = []
    for name, future in zip(names, futures, strict=True):
        try:
            opened[name] = future.result()
        except BaseException as error:  # noqa: BLE001 - raised below, once the rest are closed
            errors.append(error)
    if errors:
        _abort(list(opened.values()))
        raise errors[0]
    return opened


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
        self.analysed = analysed  # tables that have planner statistics
        self.open_tx = db.begin(own_connection=True) if thread else db.begin()
        self.tx = self.open_tx.tx
        self.writer = (ThreadPoolExecutor(1, thread_name_prefix=f"ledger-load-{thread}")
                       if thread else None)
        if self.writer is not None:
            # Its thread started now, by the thread opening the sink: started by its first
            # write, a view that writes only at the end had the loading thread wait for it
            # then, when it was the last to finish.
            self.writer.submit(_nothing).result()
        self.writes: list[Future[None]] = []
        self.failed: BaseException | None = None  # in the writer: nothing runs after it
        self.committed = False

    def write(self, table: Table, rows: list[tuple[Any, ...]], *, index: bool = False,
              queue: bool = False) -> None:
        """Write rows (and then create the table's indexes), in order. While the events
        stream, at most two writes wait at a time, so memory stays bounded; at the end
        (`queue`) the rows are all in memory anyway, and nothing waits."""
        while not queue and len(self.writes) > 1:
            self.writes.pop(0).result()
        self.call(_write, table, rows, self.after_load(table) if index else [])

    def after_load(self, table: Table) -> list[str]:
        """What the table needs once its rows are written (Db.after_load)."""
        return self.db.after_load(table, has_statistics=table.name in self.analysed)

    def call(self, fn: Callable[..., None], *args: Any) -> Future[None]:
        """fn(tx, *args) in this sink's transaction, after what was written before (in
        the writer thread, if there is one: not at all if something before it failed)."""
        if self.writer is None:
            fn(self.tx, *args)
            done: Future[None] = Future()
            done.set_result(None)
            return done
        done = self.writer.submit(self._after_the_rest, fn, args)
        self.writes.append(done)
        return done

    def _after_the_rest(self, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        if self.failed is not None:
            raise self.failed
        try:
            fn(self.tx, *args)
        except BaseException as error:
            self.failed = error
            raise

    def queue_commit(self) -> Future[None]:
        """Commit once everything before is written (in the writer thread, if any)."""
        return self.call(lambda _tx: self.commit())

    def commit(self) -> None:
        self.open_tx.commit()
        self.committed = True

    def finish(self) -> None:
        while self.writes:
            self.writes.pop(0).result()

    def abort(self) -> None:
        wait(self.writes)  # the writer must be done with the connection first
        self.close()
        if not self.committed:
            self.open_tx.rollback()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.shutdown(wait=True)


def _nothing() -> None:
    pass


def _write(tx: Tx, table: Table, rows: list[tuple[Any, ...]], after: list[str]) -> None:
    if rows:
        tx.insert(table, rows)
    for statement in after:
        tx.execute(statement)


def build_indexes(read_side: ReadSide, names: Sequence[str]) -> None:
    """After a load batch by batch: each table's indexes and statistics."""
    _run_lanes(read_side.db, [s for n in names for t in read_side.views[n].projection_class.tables
                              for s in read_side.db.after_load(t)])


def _run_lanes(db: Db, statements: list[str]) -> None:
    """Index and statistics statements, in order; on PostgreSQL two at a time (index builds
    of one table may run concurrently), one transaction a statement, so that locks go as
    soon as each ends."""
    with ThreadPoolExecutor(2 if db.pipelined else 1,
                            thread_name_prefix="ledger-views-index") as lanes:
        for future in [lanes.submit(_execute, db, statement) for statement in statements]:
            future.result()
