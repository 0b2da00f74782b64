"""Running the projections against a given Ledger: catch up, then follow new events.

One loop feeds every view: it reads a batch of stored events once (the ledger's store),
decodes each once (only if some view wants its topic), and gives each view the part it has
not applied yet, in one transaction per view with its tracking record. Views advance
independently: a view behind the others (after a retry) is fed from its own position. The
Merkle log is one of them (in the worker and with in-process projections): it takes the
stored rows the loop has read, not decoded events, as its leaves hash the stored bytes.

A rebuild (and a point-in-time replay) is the same loop in bulk (`run_in_bulk`): batches of
BULK_BATCH events, every view's batches inside one transaction, the views emptied first and
their secondary indexes made once at the end. The rows appended (audit entries) are written
batch by batch, and the units of work hold at most BULK_ROWS rows together, so its memory
does not grow with the ledger. It commits whole or not at all. On PostgreSQL its writes go
to a thread of their own (projections/write_behind.py), so that the server writes while the
interpreter decodes; the units after the first know which keys the run has written
(`Written`), so a row it never wrote is neither read back nor upserted.

Waiting for new events: on PostgreSQL, LISTEN on the channel the store NOTIFYs on every
insert (the mechanism of the library's own subscription, used here as a wake-up so that reads
stay batched); on SQLite and in memory, a poll every settings.sqlite_poll_interval, cut short
when an in-process reader waits for its own write.

Failure policy: a view whose handler raises stops, loudly. The batch is re-applied one event
at a time to find the event; everything before it is kept; the view's status row names the
view, the position and the error, and it is logged at ERROR. The other views go on. An
operator retries the view after a fix (`retry_view`) or skips the event deliberately
(`skip_event`, recorded as an event in the ledger). Connection trouble is not an event's
fault: the loop backs off and tries again.
"""

from __future__ import annotations

import gc
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from domain import clock
from domain.actors import Actor
from domain.operations import ProjectionSkip
from domain.store import PostgresStore
from projections import VIEW_NAMES
from projections.base import Changes, View, Written
from projections.db import OneTransaction, PostgresDb, Table, Tx
from projections.locks import ViewBusy, ViewLocks
from projections.readside import ProjectionSettings, ReadSide
from projections.tracking import (
    TrackingConflict,
    ViewState,
    advance,
    advance_many,
    clear_failure,
    mark_failed,
    reset,
    set_position,
)
from projections.write_behind import writing_behind

if TYPE_CHECKING:
    from domain.ledger import Ledger
    from projections.merkle_log import MerkleLog

log = logging.getLogger("ledger.projections")

LIVE_BATCH = 500
# A rebuild's batch. Measured at 100k actions (bench/README.md): 20,000 and 50,000 within a
# point of each other; the views' units of work hold one batch's rows at a time.
BULK_BATCH = 20_000
# The most rows a rebuild's units of work hold together (about 600 bytes a row, with their
# text): beyond it, the fullest is written, so memory stays bounded whatever the ledger's size
# (measured: 200,000 rows peaked at 294 MiB at 100k actions, 100,000 at 235 MiB).
BULK_ROWS = 100_000

Item = tuple[int, str, Any]  # (position, topic, decoded event | stored row | decoding error)


def is_infrastructure_error(error: BaseException) -> bool:
    """Trouble reaching a store (retry later), as opposed to an event a view cannot apply."""
    from eventsourcing.persistence import InterfaceError, OperationalError

    if isinstance(error, OperationalError | InterfaceError | TimeoutError | ConnectionError):
        return True
    if isinstance(error, sqlite3.OperationalError):
        return "locked" in str(error) or "busy" in str(error)
    try:
        import psycopg
        from psycopg_pool import PoolTimeout
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError | PoolTimeout)


class Feed:
    """Reads and decodes stored events once for every view."""

    def __init__(self, ledger: Ledger, views: Sequence[View]) -> None:
        self.ledger = ledger
        self.views = views

    def read(self, after: int, limit: int) -> tuple[list[Any], list[Item]]:
        """The stored rows after `after` (at most `limit`), and each as an item."""
        rows = list(self.ledger.store.stored(after, limit))
        return rows, self.decode(rows)

    def decode(self, rows: Sequence[Any]) -> list[Item]:
        to_domain_event = self.ledger.view_mapper.to_domain_event
        wanted: dict[str, bool] = {}
        items: list[Item] = []
        for row in rows:
            topic = row.topic
            want = wanted.get(topic)
            if want is None:
                want = wanted[topic] = any(v.projection.wants(topic) for v in self.views)
            event: Any = None
            if want:
                try:
                    event = to_domain_event(row)
                except Exception as error:  # noqa: BLE001 - the views that want it stop on it
                    event = error
            items.append((row.id, topic, event))
        return items


def for_view(view: View, rows: Sequence[Any], items: Sequence[Item], after: int) -> list[Item]:
    """The items this view has not applied yet and takes (by topic); for a view of stored
    events, the stored rows themselves."""
    projection = view.projection
    if projection.stored:
        return [(r.id, r.topic, r) for r in rows[:len(items)] if r.id > after]
    # Items are in position order: usually all of them are new, and only the topics count.
    fresh = not items or items[0][0] > after
    if projection.all_events:
        if fresh:
            return items if isinstance(items, list) else list(items)
        return [i for i in items if i[0] > after]
    bound = projection.handlers
    if fresh:
        return [i for i in items if i[1] in bound]
    return [i for i in items if i[0] > after and i[1] in bound]


def apply_with_policy(view: View, items: list[Item], expected: int,
                      last: int) -> tuple[int, bool]:
    """Apply a view's items, moving it from `expected` to `last`. Returns (new position,
    stopped). On an event the view cannot apply: keep everything before it, mark the view
    failed there, log at ERROR."""
    try:
        return view.apply_batch(items, expected, last), False
    except TrackingConflict:
        raise
    except Exception as error:
        if is_infrastructure_error(error):
            raise
        first_error: BaseException = error
    position = expected
    for item in items:  # find the event, keeping those before it
        try:
            position = view.apply_batch([item], position)
        except TrackingConflict:
            raise
        except Exception as error:
            if is_infrastructure_error(error):
                raise
            message = f"{type(error).__name__}: {error}"
            mark_failed(view.db, view.name, item[0], message)
            log.error("view %s stopped at position %s (%s): %s", view.name, item[0], item[1],
                      message, exc_info=error)
            return position, True
    position = view.apply_batch([], position, last)
    log.warning("view %s: a batch failed (%s) but each event applied alone", view.name,
                first_error)
    return position, False


class Waker:
    """Sleeps until new events may exist: LISTEN/NOTIFY on PostgreSQL, else a poll interval
    (cut short by `wake`, which in-process readers call when they wait for a write)."""

    def __init__(self, read_side: ReadSide, poll_interval: float) -> None:
        self.event = threading.Event()
        self.poll_interval = poll_interval
        self._conn: Any = None
        db, store = read_side.db, read_side.ledger.store
        if isinstance(db, PostgresDb) and isinstance(store, PostgresStore):
            self._conn = db.connect()
            self._conn.execute(f'LISTEN "{store.channel}"')
        read_side.add_waker(self.event)
        self._read_side = read_side

    def wait(self, timeout: float) -> None:
        if self._conn is not None:
            # A NOTIFY wakes us at once; the timeout bounds how long a stop request waits.
            for _ in self._conn.notifies(timeout=min(timeout, 0.5), stop_after=1):
                pass
            return
        self.event.wait(min(timeout, self.poll_interval))
        self.event.clear()

    def close(self) -> None:
        self._read_side.remove_waker(self.event)
        if self._conn is not None:
            try:
                self._conn.close()  # a broken connection closes too
            finally:
                self._conn = None


@dataclass
class Progress:
    """Where each view is, as this runner knows it."""

    positions: dict[str, int]
    stopped: dict[str, bool]


class Runner:
    """Feeds a set of views from one ledger until stopped: the named views of `read_side`,
    and every view of the read sides in `also` (the Merkle log's, which may live in another
    store)."""

    # Whether a bulk run with this runner may write behind it (projections/write_behind.py).
    # Batch by batch, a write the store refuses must fail its own batch, where the failure
    # policy finds the event: no.
    writes_behind = False

    def __init__(self, read_side: ReadSide, view_names: Iterable[str] | None = None, *,
                 batch_size: int = LIVE_BATCH, also: Sequence[ReadSide] = ()) -> None:
        self.read_side = read_side
        self.sides = [(read_side, tuple(view_names or read_side.view_names)),
                      *((side, side.view_names) for side in also)]
        self.side_of = {name: side for side, names in self.sides for name in names}
        self.views = [side.views[n] for side, names in self.sides for n in names]
        self.names = tuple(v.name for v in self.views)
        self.batch_size = batch_size
        self.feed = Feed(read_side.ledger, self.views)
        self.progress = Progress({}, {})
        self.refresh()

    def refresh(self) -> None:
        """Re-read positions and states from the store (an operator may have retried or
        skipped, or another writer moved a view)."""
        for side, names in self.sides:
            found = side.states()
            for name in names:
                state: ViewState | None = found.get(name)
                self.progress.positions[name] = state.position if state else 0
                self.progress.stopped[name] = bool(state and state.failed)

    def active(self) -> list[View]:
        return [v for v in self.views if not self.progress.stopped[v.name]]

    def _apply(self, view: View, items: list[Item], after: int, last: int) -> None:
        try:
            position, stopped = apply_with_policy(view, items, after, last)
        except TrackingConflict as conflict:
            log.warning("%s; re-reading positions", conflict)
            side = self.side_of[view.name]
            position, stopped = side.positions([view.name])[view.name], False
        self.progress.positions[view.name] = position
        self.progress.stopped[view.name] = stopped

    # ---- rounds -------------------------------------------------------------------------
    def step(self, *, limit: int | None = None, stop_at: int | None = None) -> int:
        """One round: read one batch after the furthest-behind active view and apply it to
        every view that needs it. Returns the number of stored events read."""
        active = self.active()
        if not active:
            return 0
        after = min(self.progress.positions[v.name] for v in active)
        if stop_at is not None and after >= stop_at:
            return 0
        rows, items = self.feed.read(after, limit or self.batch_size)
        if stop_at is not None:
            items = [i for i in items if i[0] <= stop_at]
        if not items:
            return 0
        last = items[-1][0]
        idle: list[View] = []  # nothing to write in this batch: only the position moves
        for view in active:
            after = self.progress.positions[view.name]
            if after >= last:
                continue
            mine = for_view(view, rows, items, after)
            if mine:
                self._apply(view, mine, after, last)
            else:
                idle.append(view)
        if idle:
            self._advance_idle(idle, last)
        return len(rows)

    def _advance_idle(self, views: list[View], last: int) -> None:
        for side, names in self.sides:
            mine = [v for v in views if v.name in names]
            if not mine:
                continue
            moves = [(v.name, self.progress.positions[v.name], last) for v in mine]
            try:
                with side.db.transaction() as tx:
                    advance_many(tx, moves)
            except TrackingConflict:
                for view in mine:  # one at a time, to find who moved
                    self._apply(view, [], self.progress.positions[view.name], last)
                continue
            for view in mine:
                self.progress.positions[view.name] = last

    def catch_up(self, *, stop_at: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 stop: threading.Event | None = None) -> None:
        """Apply everything up to stop_at (default: the head when called)."""
        head = stop_at if stop_at is not None else self.read_side.ledger.head_position()
        while not (stop and stop.is_set()):
            if self.step(stop_at=head) == 0:
                break
            if progress is not None:
                active = self.active() or self.views
                progress(min(self.progress.positions[v.name] for v in active), head)

    def run(self, stop: threading.Event, *, poll_interval: float = 0.05,
            locks: ViewLocks | None = None) -> None:
        """Follow the ledger until `stop` is set. The store going away (a restart, an
        outage) is survived: logged once, retried with a back-off, and on its return the
        LISTEN connection (and the views' locks) are made again and the views resume from
        their tracking records."""
        outage = Outage()
        waker: Waker | None = None
        try:
            while not stop.is_set():
                try:
                    if waker is None:
                        if locks is not None:
                            locks.renew()
                        waker = Waker(self.read_side, poll_interval)
                        self.refresh()
                    self._follow(stop, waker, outage)
                except Exception as error:
                    if not is_infrastructure_error(error):
                        raise
                    outage.failed(error)
                    if waker is not None:
                        waker.close()
                        waker = None
                    stop.wait(outage.backoff)
        finally:
            if waker is not None:
                waker.close()

    def _follow(self, stop: threading.Event, waker: Waker, outage: Outage) -> None:
        last_refresh = time.monotonic()
        while not stop.is_set():
            read = self.step()
            outage.recovered()
            if read == 0:
                waker.wait(1.0)
            if read == 0 or time.monotonic() - last_refresh > 1.0:
                self.refresh()  # cheap; picks up an operator's retry or skip
                last_refresh = time.monotonic()


class Outage:
    """The store being away, as a following runner sees it: one WARNING when it goes, one
    INFO when it is back, and the back-off between tries (0.1 s doubling to 2 s)."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.backoff = 0.1
        self.failures = 0

    def failed(self, error: BaseException) -> None:
        self.failures += 1
        if self.since is None:
            self.since = time.monotonic()
            log.warning("projections: store unavailable (%s: %s); retrying until it is back",
                        type(error).__name__, str(error).strip()[:200])
        else:
            self.backoff = min(self.backoff * 2, 2.0)

    def recovered(self) -> None:
        if self.since is not None:
            log.info("projections: store back after %.1f s (%d failed tries); resumed",
                     time.monotonic() - self.since, self.failures)
            self.since = None
            self.backoff = 0.1
            self.failures = 0


class BulkRunner(Runner):
    """The runner with one unit of work per view over empty tables: each batch is applied to
    it, nothing is read back, and the rows appended (audit entries) are written batch by
    batch. When the units come to hold more than BULK_ROWS rows together, the fullest is
    written and followed by one over its tables as they now are (prefetching and upserting
    the rows the run may have written, `Written`; inserting the others), so a rebuild's
    memory does not grow with the ledger. `catch_up` ends by writing each unit with its
    tracking record, and then what each view derives from its rows (once, from all of them:
    `Changes.bulk`). An event a view cannot apply raises (the caller applies the events
    again batch by batch, where the failure policy stops that view)."""

    writes_behind = True  # a write that fails raises; the caller goes batch by batch

    def __init__(self, read_side: ReadSide, view_names: Iterable[str], *,
                 batch_size: int) -> None:
        super().__init__(read_side, view_names, batch_size=batch_size)
        self.tx = read_side.db.tx  # type: ignore[attr-defined]  # a OneTransaction
        self.written = Written()
        self.units = {v.name: Changes(self.tx, v.projection_class.tables, empty=True,
                                      bulk=True, written=self.written) for v in self.views}
        self.projections = {v.name: v.projection for v in self.views}

    def _apply(self, view: View, items: list[Item], after: int, last: int) -> None:
        unit = self.units[view.name]
        if not unit.empty:  # it reads the rows it will change
            view.projection.prefetch(unit, [e for _, _, e in items])
        view.projection.apply(unit, items)
        self.progress.positions[view.name] = last

    def _advance_idle(self, views: list[View], last: int) -> None:
        for view in views:
            self.progress.positions[view.name] = last

    def step(self, *, limit: int | None = None, stop_at: int | None = None) -> int:
        read = super().step(limit=limit, stop_at=stop_at)
        for unit in self.units.values():
            _insert(self.tx, unit.take_appends())
        held = {name: unit.held() for name, unit in self.units.items()}
        while sum(held.values()) > BULK_ROWS:  # write the fullest unit and start it again
            name = max(held, key=held.__getitem__)
            self.units[name].flush()
            self.units[name] = Changes(self.tx, self.projections[name].tables, bulk=True,
                                       written=self.written)
            held[name] = 0
        return read

    def catch_up(self, *, stop_at: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 stop: threading.Event | None = None) -> None:
        super().catch_up(stop_at=stop_at, progress=progress, stop=stop)
        self.written.final = True
        for view in self.views:
            advance(self.tx, view.name, 0, self.progress.positions[view.name])
            unit = self.units.pop(view.name)
            unit.flush()
            view.projection.flushed(unit)


def _insert(tx: Tx, taken: list[tuple[Table, list[tuple[Any, ...]]]]) -> None:
    for table, rows in taken:
        tx.insert(table, rows)


def run_in_bulk(read_side: ReadSide, names: Sequence[str], *, stop_at: int,
                batch_size: int = BULK_BATCH,
                progress: Callable[[int, int], None] | None = None) -> None:
    """The runner in bulk: the named views emptied (their secondary indexes dropped), fed
    every event up to `stop_at` in large batches and their indexes made again, all in one
    transaction with their tracking records. Any failure rolls it all back (the views are
    left as they were), except an event a view cannot apply: then the same is done batch by
    batch, where the failure policy stops that view at that event and builds the others."""
    collecting = gc.isenabled()
    # The units of work hold up to BULK_ROWS rows: the cyclic collector would walk them all
    # again and again (events and written units are freed by reference counting anyway).
    gc.disable()
    try:
        try:
            _in_one_transaction(read_side, names, BulkRunner, stop_at, batch_size, progress)
        except Exception as error:
            if is_infrastructure_error(error):
                raise
            log.warning("rebuild: a view cannot apply an event (%s: %s); applying the events "
                        "batch by batch", type(error).__name__, error)
            _in_one_transaction(read_side, names, Runner, stop_at, batch_size, progress)
    finally:
        if collecting:
            gc.enable()


def _in_one_transaction(read_side: ReadSide, names: Sequence[str], runner: type[Runner],
                        stop_at: int, batch_size: int,
                        progress: Callable[[int, int], None] | None) -> None:
    db = read_side.db
    behind = db.writes_behind and runner.writes_behind
    with db.transaction() as tx, writing_behind(tx, behind) as run_tx:
        bulk = read_side.within(OneTransaction(db, run_tx))
        views = [bulk.views[n] for n in names]
        for view in views:
            view.clear_tables(run_tx)
            reset(run_tx, view.name)
        runner(bulk, names, batch_size=batch_size).catch_up(stop_at=stop_at,
                                                            progress=progress)
        for view in views:
            for table in view.projection_class.tables:
                for statement in db.after_load(table):
                    run_tx.execute(statement)


# ---- the hooks the CLI and the API call ---------------------------------------------------

def run_projections(settings: ProjectionSettings, ledger: Ledger, stop_event: threading.Event,
                    *, read_side: ReadSide | None = None,
                    view_names: Iterable[str] | None = None,
                    merkle_log: MerkleLog | None = None) -> None:
    """Run the projections of `ledger` until stop_event is set (`ledger project`, or a thread
    of the API when settings.projections is in_process); with `merkle_log`, its view too, fed
    from the same reads (any number of processes may append to it: its tracking record's
    compare-and-set keeps each event one leaf). Raises ViewBusy, before doing anything, if
    another worker already runs one of the views."""
    owned = read_side is None
    side = read_side or ReadSide(settings, ledger)
    names = tuple(view_names or side.view_names)
    also = (merkle_log.side,) if merkle_log is not None else ()
    try:
        with ViewLocks(side.db, names) as locks:
            log.info("projections: running %s%s", ", ".join(names),
                     " and the Merkle log" if also else "")
            Runner(side, names, also=also).run(stop_event,
                                               poll_interval=settings.sqlite_poll_interval,
                                               locks=locks)
    finally:
        if owned:
            side.close()


class BackgroundProjections:
    """run_projections in a daemon thread of this process (the API's in-process mode)."""

    def __init__(self, settings: ProjectionSettings, ledger: Ledger, read_side: ReadSide, *,
                 merkle_log: MerkleLog | None = None) -> None:
        self.stop_event = threading.Event()
        self.error: BaseException | None = None

        def target() -> None:
            try:
                run_projections(settings, ledger, self.stop_event, read_side=read_side,
                                merkle_log=merkle_log)
            except BaseException as error:  # reported by /readyz via .error
                self.error = error
                log.error("in-process projections stopped: %s", error, exc_info=error)

        self.thread = threading.Thread(target=target, name="ledger-projections", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)


def projection_status(settings: ProjectionSettings, ledger: Ledger, *,
                      read_side: ReadSide | None = None) -> dict[str, Any]:
    """Each view's position, lag, state and (if stopped) failed position and error."""
    side = read_side or ReadSide(settings, ledger)
    try:
        return side.status()
    finally:
        if read_side is None:
            side.close()


def retry_view(settings: ProjectionSettings, ledger: Ledger, view_name: str, *,
               read_side: ReadSide | None = None) -> ViewState:
    """Clear a stopped view's failure: the worker applies the event again (after a fix)."""
    side = read_side or ReadSide(settings, ledger)
    try:
        state = _stopped(side, view_name)
        with side.db.transaction() as tx:
            clear_failure(tx, view_name)
        log.warning("view %s: retry requested at position %s", view_name, state.failed_position)
        return side.states()[view_name]
    finally:
        if read_side is None:
            side.close()


def skip_event(settings: ProjectionSettings, ledger: Ledger, view_name: str, position: int,
               actor: Actor, reason: str, *, read_side: ReadSide | None = None) -> ViewState:
    """Deliberately skip the event a stopped view cannot apply. The decision (who, why, which
    view and position, the error) is recorded in the ledger first, then the view moves past
    the event and runs again. Only the event the view stopped at can be skipped."""
    side = read_side or ReadSide(settings, ledger)
    try:
        state = _stopped(side, view_name)
        if state.failed_position != position:
            raise ValueError(f"view {view_name} stopped at position {state.failed_position}, "
                             f"not {position}; only that event can be skipped")
        skip = ProjectionSkip.record(actor=actor, occurred_on=clock.today(), view=view_name,
                                     position=position, error=state.error or "", reason=reason)
        ledger.save(skip)
        with side.db.transaction() as tx:
            set_position(tx, view_name, position)
            clear_failure(tx, view_name)
        # The reason is free text: it is in the ledger, not in the log.
        log.warning("view %s: event at position %s skipped by %s (reason recorded in the "
                    "ledger)", view_name, position, actor.user_id)
        return side.states()[view_name]
    finally:
        if read_side is None:
            side.close()


def _stopped(side: ReadSide, view_name: str) -> ViewState:
    state = side.states().get(view_name)
    if state is None:
        raise KeyError(f"no view named {view_name}; views: {', '.join(VIEW_NAMES)}")
    if not state.failed:
        raise ValueError(f"view {view_name} is {state.state} at position {state.position}; "
                         "only a stopped view can be retried or have an event skipped")
    return state


__all__ = ["BackgroundProjections", "Runner", "ViewBusy", "projection_status",
           "retry_view", "run_projections", "skip_event"]
