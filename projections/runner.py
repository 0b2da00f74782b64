"""Running the projections against a given Ledger: catch up, then follow new events.

One loop feeds every view: it reads a batch of notifications once
(`recorder.select_notifications`), decodes each once (only if some view wants its topic), and
gives each view the part it has not applied yet, in one transaction per view with its tracking
record. Views advance independently: a view behind the others (after a retry) is fed from its
own position.

Waiting for new events: on PostgreSQL, LISTEN on the channel the recorder NOTIFYs on every
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

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from domain import clock
from domain.actors import Actor
from domain.operations import ProjectionSkip
from projections import VIEW_NAMES
from projections.base import View
from projections.db import PostgresDb
from projections.locks import ViewBusy, ViewLocks
from projections.readside import ProjectionSettings, ReadSide
from projections.tracking import (
    TrackingConflict,
    ViewState,
    advance_many,
    clear_failure,
    mark_failed,
    set_position,
)

log = logging.getLogger("ledger.projections")

LIVE_BATCH = 500
REBUILD_BATCH = 20_000  # catching up batch by batch (the Merkle log; a rebuild that fell back)

Item = tuple[int, str, Any]  # (position, topic, decoded event | None | decoding error)


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
    """Reads and decodes notifications once for every view. While catching up it reads the
    next batch ahead in a thread (the database answers while the views work)."""

    def __init__(self, ledger: Any, views: Sequence[View]) -> None:
        self.ledger = ledger
        self.views = views
        self.reader: ThreadPoolExecutor | None = None
        self._ahead: tuple[int, int, Future[Any]] | None = None

    def _select(self, after: int, limit: int) -> Any:
        return self.ledger.recorder.select_notifications(after, limit, inclusive_of_start=False)

    def read(self, after: int, limit: int) -> tuple[list[Any], list[Item]]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[:2] == (after, limit):
            rows = ahead[2].result()
        else:
            rows = self._select(after, limit)
        if self.reader is not None and len(rows) == limit:
            self._ahead = (rows[-1].id, limit, self.reader.submit(self._select, rows[-1].id,
                                                                  limit))
        return rows, self.decode(rows)

    def close(self) -> None:
        """Nothing to release (the reader thread, if any, is its owner's)."""

    def decode(self, rows: Sequence[Any]) -> list[Item]:
        to_domain_event = self.ledger.mapper.to_domain_event
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


def for_view(view: View, items: Sequence[Item], after: int) -> list[Item]:
    """The items this view has not applied yet and takes (by topic)."""
    # Items are in position order: usually all of them are new, and only the topics count.
    fresh = not items or items[0][0] > after
    if view.projection.all_events:
        if fresh:
            return items if isinstance(items, list) else list(items)
        return [i for i in items if i[0] > after]
    bound = view.projection.handlers
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
        db = read_side.db
        if isinstance(db, PostgresDb):
            channel = read_side.ledger.recorder.channel_name
            self._conn = db.connect()
            self._conn.execute(f'LISTEN "{channel}"')
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
            self._conn.close()
            self._conn = None


@dataclass
class Progress:
    """Where each view is, as this runner knows it."""

    positions: dict[str, int]
    stopped: dict[str, bool]


class Runner:
    """Feeds a set of views from one ledger until stopped.

    Pipelined (PostgreSQL): while one view's batch is being written and committed by a writer
    thread, the main thread runs the next view's handlers (the database works while Python
    does). A view's next batch waits for its previous commit, so what a batch reads is what
    the last one wrote; at most MAX_IN_FLIGHT commits wait at once."""

    MAX_IN_FLIGHT = 2

    def __init__(self, read_side: ReadSide, view_names: Iterable[str] | None = None, *,
                 batch_size: int = LIVE_BATCH, pipelined: bool | None = None) -> None:
        self.read_side = read_side
        self.names = tuple(view_names or read_side.view_names)
        self.views = [read_side.views[n] for n in self.names]
        self.by_name = {v.name: v for v in self.views}
        self.batch_size = batch_size
        self.feed = Feed(read_side.ledger, self.views)
        self.progress = Progress({}, {})
        self.pipelined = read_side.db.pipelined if pipelined is None else pipelined
        self._writer: ThreadPoolExecutor | None = None  # while catching up or running
        # view name -> (commit in flight, its items, position before, position after)
        self._pending: dict[str, tuple[Future[int], list[Item], int, int]] = {}
        self.refresh()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A writer thread for the duration of a catch-up or a run (if pipelined)."""
        if not self.pipelined or self._writer is not None:
            yield
            return
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="ledger-views-writer")
        self.feed.reader = ThreadPoolExecutor(1, thread_name_prefix="ledger-views-reader")
        try:
            yield
            self.drain()
        finally:
            try:
                self.drain()
            finally:
                self._writer.shutdown(wait=True)
                self._writer = None
                self.feed.reader.shutdown(wait=True)
                self.feed.reader = None

    def refresh(self) -> None:
        """Re-read positions and states from the store (an operator may have retried or
        skipped, or another writer moved a view)."""
        self.drain()
        found = self.read_side.states()
        for name in self.names:
            state: ViewState | None = found.get(name)
            self.progress.positions[name] = state.position if state else 0
            self.progress.stopped[name] = bool(state and state.failed)

    def active(self) -> list[View]:
        return [v for v in self.views if not self.progress.stopped[v.name]]

    # ---- commits in flight --------------------------------------------------------------
    def settle(self, name: str) -> None:
        """Wait for the view's commit in flight; if it failed, apply its batch again with
        the failure policy (one event at a time, stopping the view at the bad one)."""
        pending = self._pending.pop(name, None)
        if pending is None:
            return
        future, items, expected, last = pending
        try:
            future.result()
        except TrackingConflict as conflict:
            log.warning("%s; re-reading positions", conflict)
            self.progress.positions[name] = self.read_side.positions([name])[name]
        except Exception as error:
            self.progress.positions[name] = expected
            if is_infrastructure_error(error):
                raise
            self._apply(self.by_name[name], items, expected, last)

    def drain(self) -> None:
        errors: list[BaseException] = []
        for name in list(self._pending):
            try:
                self.settle(name)
            except Exception as error:  # noqa: BLE001 - every view settles; then re-raise
                errors.append(error)
        if errors:
            raise errors[0]

    def _apply(self, view: View, items: list[Item], after: int, last: int) -> None:
        try:
            position, stopped = apply_with_policy(view, items, after, last)
        except TrackingConflict as conflict:
            log.warning("%s; re-reading positions", conflict)
            position, stopped = self.read_side.positions([view.name])[view.name], False
        self.progress.positions[view.name] = position
        self.progress.stopped[view.name] = stopped

    def _submit(self, view: View, items: list[Item], after: int, last: int) -> None:
        assert self._writer is not None
        try:
            prepared = view.prepare(items, after, last)
        except Exception as error:
            if is_infrastructure_error(error):
                raise
            self._apply(view, items, after, last)  # find the event the handlers refuse
            return
        while len(self._pending) >= self.MAX_IN_FLIGHT:
            self.settle(next(iter(self._pending)))  # the oldest
        self._pending[view.name] = (self._writer.submit(prepared.commit), items, after, last)
        self.progress.positions[view.name] = last

    # ---- rounds -------------------------------------------------------------------------
    def step(self, *, limit: int | None = None, stop_at: int | None = None) -> int:
        """One round: read one batch after the furthest-behind active view and apply it to
        every view that needs it (all written when it returns, unless pipelined inside a
        catch-up or a run). Returns the number of notifications read."""
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
            if self.progress.stopped[view.name]:
                continue
            self.settle(view.name)  # its previous batch is written before this one reads
            after = self.progress.positions[view.name]
            if after >= last or self.progress.stopped[view.name]:
                continue
            mine = for_view(view, items, after)
            if not mine and view.pipelinable:
                idle.append(view)
            elif self._writer is not None and view.pipelinable:
                self._submit(view, mine, after, last)
            else:
                self._apply(view, mine, after, last)
        if idle:
            self._advance_idle(idle, last)
        return len(rows)

    def _advance_idle(self, views: list[View], last: int) -> None:
        moves = [(v.name, self.progress.positions[v.name], last) for v in views]
        try:
            with self.read_side.db.transaction() as tx:
                advance_many(tx, moves)
        except TrackingConflict:
            for view in views:  # one at a time, to find who moved
                self._apply(view, [], self.progress.positions[view.name], last)
            return
        for view in views:
            self.progress.positions[view.name] = last

    def catch_up(self, *, stop_at: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 stop: threading.Event | None = None) -> None:
        """Apply everything up to stop_at (default: the head when called)."""
        head = stop_at if stop_at is not None else self.read_side.ledger.head_position()
        with self._writing():
            while not (stop and stop.is_set()):
                if self.step(stop_at=head) == 0:
                    break
                if progress is not None:
                    active = self.active() or self.views
                    progress(min(self.progress.positions[v.name] for v in active), head)

    def run(self, stop: threading.Event, *, poll_interval: float = 0.05) -> None:
        """Follow the ledger until `stop` is set."""
        waker = Waker(self.read_side, poll_interval)
        try:
            with self._writing():
                self._follow(stop, waker)
        finally:
            waker.close()

    def _follow(self, stop: threading.Event, waker: Waker) -> None:
        last_refresh = time.monotonic()
        backoff = 0.1
        while not stop.is_set():
            try:
                read = self.step()
                if read == 0:
                    self.drain()
                backoff = 0.1
            except Exception as error:
                if not is_infrastructure_error(error):
                    raise
                log.warning("projections: store unavailable (%s); retrying in %.1f s",
                            error, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                try:
                    self.refresh()
                except Exception as again:  # noqa: BLE001 - still down: try again later
                    log.debug("projections: refresh failed: %s", again)
                continue
            if read == 0:
                waker.wait(1.0)
            if read == 0 or time.monotonic() - last_refresh > 1.0:
                self.refresh()  # cheap; picks up an operator's retry or skip
                last_refresh = time.monotonic()


# ---- the hooks the CLI and the API call ---------------------------------------------------

def run_projections(settings: ProjectionSettings, ledger: Any, stop_event: threading.Event,
                    *, read_side: ReadSide | None = None,
                    view_names: Iterable[str] | None = None) -> None:
    """Run the projections of `ledger` until stop_event is set (`ledger project`, or a thread
    of the API when settings.projections is in_process). Raises ViewBusy, before doing
    anything, if another worker already runs one of the views."""
    owned = read_side is None
    side = read_side or ReadSide(settings, ledger)
    names = tuple(view_names or side.view_names)
    try:
        with ViewLocks(side.db, names):
            log.info("projections: running %s", ", ".join(names))
            Runner(side, names).run(stop_event, poll_interval=settings.sqlite_poll_interval)
    finally:
        if owned:
            side.close()


class BackgroundProjections:
    """run_projections in a daemon thread of this process (the API's in-process mode)."""

    def __init__(self, settings: ProjectionSettings, ledger: Any, read_side: ReadSide) -> None:
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self._ready = threading.Event()

        def target() -> None:
            try:
                run_projections(settings, ledger, self.stop_event, read_side=read_side)
            except BaseException as error:  # reported by /readyz via .error
                self.error = error
                log.error("in-process projections stopped: %s", error, exc_info=error)

        self.thread = threading.Thread(target=target, name="ledger-projections", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)


def projection_status(settings: ProjectionSettings, ledger: Any, *,
                      read_side: ReadSide | None = None) -> dict[str, Any]:
    """Each view's position, lag, state and (if stopped) failed position and error."""
    side = read_side or ReadSide(settings, ledger)
    try:
        return side.status()
    finally:
        if read_side is None:
            side.close()


def retry_view(settings: ProjectionSettings, ledger: Any, view_name: str, *,
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


def skip_event(settings: ProjectionSettings, ledger: Any, view_name: str, position: int,
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
        log.warning("view %s: event at position %s skipped by %s: %s", view_name, position,
                    actor.user_id, reason)
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
