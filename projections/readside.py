"""The views of one ledger in one process: their store, their positions, read-your-writes
waiting, and their status (each view's position and lag behind the head, for /readyz).

Where the views live: a PostgreSQL ledger's views live in the same database and schema as its
events (tables prefixed view_); a ledger on SQLite or in memory has its views in their own
SQLite file (settings.views_sqlite_path, else views.sqlite3 beside the events' file), never
the events' file. In-memory events do not outlive the process, so their views are cleared
when the read side opens.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from copy import copy as copy_of
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self

from domain.errors import InvalidInput
from domain.store import PostgresStore, SqliteStore
from projections import VIEW_NAMES, VIEWS
from projections.actions import Thresholds
from projections.base import View
from projections.db import Db, PostgresDb, SqliteDb
from projections.tracking import DDL, ViewState, ensure_row, positions, reset, states

if TYPE_CHECKING:
    from domain.ledger import Ledger

log = logging.getLogger("ledger.projections")


class ProjectionSettings(Protocol):
    """The settings the read side uses (api.settings.Settings has them all)."""

    views_sqlite_path: Path | None
    sqlite_poll_interval: float
    read_wait_timeout: float
    stalled_days: int
    at_risk_due_within_days: int
    at_risk_no_update_days: int
    rapid_review_clock: str
    views_pool_size: int


class ViewStopped(Exception):
    """A view stopped on an event it could not apply; an operator must retry or skip it."""

    def __init__(self, state: ViewState) -> None:
        super().__init__(
            f"view {state.name} stopped at position {state.failed_position}: {state.error}")
        self.state = state


class ViewBehind(Exception):
    """A view did not reach the asked position within the wait."""


def open_db(settings: ProjectionSettings, ledger: Ledger) -> Db:
    store = ledger.store
    if isinstance(store, PostgresStore):
        size = settings.views_pool_size
        return PostgresDb(store.conninfo, store.connect_kwargs, store.schema, max_size=size)
    if isinstance(store, SqliteStore) and store.path is not None:
        return SqliteDb(views_file(settings, store.path))
    # Events in memory die with the process, and so may their views: a private in-memory
    # database (no file another process or test could share by mistake).
    return SqliteDb(":memory:")


def views_file(settings: ProjectionSettings, events_file: str) -> Path:
    """settings.views_sqlite_path if set, else views.sqlite3 beside the ledger's own SQLite
    file (the same as <data_dir>/views.sqlite3 with the default paths), so views always sit
    with the events they come from."""
    if settings.views_sqlite_path:
        return Path(settings.views_sqlite_path)
    events = Path(events_file)
    if events.name == "views.sqlite3":
        raise ValueError(f"the ledger's own file is {events}: set views_sqlite_path")
    return events.with_name("views.sqlite3")


def thresholds(settings: ProjectionSettings) -> Thresholds:
    return Thresholds(at_risk_due_within_days=settings.at_risk_due_within_days,
                      at_risk_no_update_days=settings.at_risk_no_update_days,
                      stalled_days=settings.stalled_days)


META_DDL = "CREATE TABLE IF NOT EXISTS {view_meta} (name TEXT PRIMARY KEY, value TEXT)"


class ReadSide:
    """Open once per process (the API and the worker each hold one)."""

    def __init__(self, settings: ProjectionSettings, ledger: Ledger, *, db: Db | None = None,
                 view_names: Iterable[str] = VIEW_NAMES) -> None:
        self.settings = settings
        self.ledger = ledger
        self.db = db or open_db(settings, ledger)
        self.view_names = tuple(view_names)
        self.views = {name: View(self.db, VIEWS[name]) for name in self.view_names}
        self._wakers: list[threading.Event] = []
        self.setup()

    # ---- tables -------------------------------------------------------------------------
    def setup(self, *, fresh: bool = False) -> None:
        """Create the tracking table and each view's tables; a view whose stored tables were
        built by another version of its code is dropped and starts again from the first
        event."""
        head = self.ledger.head_position()
        # Which event log this is: views kept for one log are never continued on another.
        fingerprint = self.ledger.store.fingerprint()
        with self.db.transaction() as tx:
            self.db.hold_setup_lock(tx)
            tx.execute(DDL)
            tx.execute(META_DDL)
            stored = tx.one("SELECT value FROM {view_meta} WHERE name = 'log'")
            if stored is not None and stored["value"] and stored["value"] != fingerprint:
                log.error("the views belong to another event log: rebuilding them all")
                fresh = True
            tx.execute("DELETE FROM {view_meta} WHERE name = 'log'")
            tx.execute("INSERT INTO {view_meta} (name, value) VALUES ('log', ?)", (fingerprint,))
            for view in self.views.values():
                if fresh:
                    view.drop_tables(tx)
                    tx.execute("DELETE FROM {view_tracking} WHERE view_name = ?", (view.name,))
                if ensure_row(tx, view.name, view.projection_class.version):
                    log.warning("view %s was built by another version: rebuilding it", view.name)
                    view.drop_tables(tx)
                elif positions(tx, (view.name,))[view.name] > head:
                    # Views of another (or an emptied) log: they would never be right again.
                    log.error("view %s is ahead of the ledger's head (%s): rebuilding it",
                              view.name, head)
                    view.drop_tables(tx)
                    reset(tx, view.name)
                view.create_tables(tx)

    def within(self, db: Db) -> Self:
        """The same views on `db` (a bulk run's one transaction), not set up again."""
        copy = copy_of(self)
        copy.db = db
        copy.views = {name: View(db, view.projection_class)
                      for name, view in self.views.items()}
        copy._wakers = []
        return copy

    def close(self) -> None:
        self.db.close()

    # ---- positions, status, lag ---------------------------------------------------------
    def positions(self, names: Iterable[str] | None = None) -> dict[str, int]:
        with self.db.snapshot() as tx:
            return positions(tx, tuple(names or self.view_names))

    def states(self) -> dict[str, ViewState]:
        return states(self.db)

    def status(self) -> dict[str, Any]:
        """For /readyz and `ledger projections status`: each view's position, lag, state and,
        if it stopped, the position and the error."""
        head = self.ledger.head_position()
        found = self.states()
        views = []
        for name in self.view_names:
            state = found.get(name)
            row = state.as_dict() if state else {"view": name, "position": 0,
                                                 "state": "missing", "failed": False}
            row["lag"] = max(0, head - row["position"])
            views.append(row)
        return {"head_position": head, "views": views,
                "ok": all(v["state"] == "running" for v in views)}

    # ---- read your writes ---------------------------------------------------------------
    def add_waker(self, event: threading.Event) -> None:
        """An in-process runner's wake-up: a reader that waits pokes it instead of waiting
        for the next poll."""
        self._wakers.append(event)

    def remove_waker(self, event: threading.Event) -> None:
        if event in self._wakers:
            self._wakers.remove(event)

    def wait_for(self, position: int | None, names: Iterable[str],
                 timeout: float | None = None) -> dict[str, int]:
        """Block until every named view has applied `position` (polling every few ms, not the
        library's 100 ms back-off), bounded by settings.read_wait_timeout. Raises ViewStopped
        at once if one of them stopped, ViewBehind when the time is up."""
        names = tuple(names)
        found = self.positions(names)
        if position is None or min(found.values()) >= position:
            return found
        head = self.ledger.head_position()
        if position > head:  # no write ever returned this position: waiting cannot help
            raise InvalidInput(f"min_position {position} is beyond the ledger's head {head}",
                               field="min_position")
        timeout = self.settings.read_wait_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        for waker in self._wakers:
            waker.set()
        pause = 0.001
        while True:
            states_ = self.states()
            for name in names:
                state = states_.get(name)
                if state is not None and state.failed and state.position < position:
                    raise ViewStopped(state)
            found = {n: (states_[n].position if n in states_ else 0) for n in names}
            if min(found.values()) >= position:
                return found
            if time.monotonic() >= deadline:
                behind = ", ".join(f"{n} at {p}" for n, p in found.items() if p < position)
                raise ViewBehind(f"views not at position {position} after {timeout:g} s: "
                                 f"{behind}")
            time.sleep(pause)
            pause = min(pause * 2, 0.005)
