"""One worker per view: a second worker for the same view is refused with a clear message.

PostgreSQL: a session advisory lock per view (keyed by schema and view name), held on a
dedicated connection for the worker's life; if the worker dies, its session ends and the lock
goes with it. SQLite: an exclusive flock on a file beside the views' file, released by the OS
when the process dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterable
from typing import Any, Self

from projections.db import Db, PostgresDb, SqliteDb, advisory_key

log = logging.getLogger("ledger.projections")


class ViewBusy(Exception):
    """Another worker is already running this view."""


def _key(identity: str, view: str) -> int:
    return advisory_key(f"ledger-view:{identity}:{view}")


class ViewLocks:
    """Locks for a set of views, all or nothing."""

    def __init__(self, db: Db, views: Iterable[str], *, purpose: str = "worker") -> None:
        self.db = db
        self.views = tuple(views)
        self.purpose = purpose
        self._conn: Any = None
        self._pg = False  # whether locks are to be held on a PostgreSQL session
        self._files: list[int] = []

    def acquire(self) -> Self:
        try:
            if isinstance(self.db, PostgresDb):
                self._acquire_pg(self.db)
            elif isinstance(self.db, SqliteDb) and not self.db.memory:
                self._acquire_files(self.db)
        except BaseException:
            self.release()
            raise
        return self

    def _acquire_pg(self, db: PostgresDb) -> None:
        self._pg = True
        self._conn = db.connect()
        busy = []
        for view in self.views:
            key = _key(db.identity, view)
            got = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]
            if not got:
                row = self._conn.execute(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND classid = %s AND objid = %s",
                    ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF)).fetchone()
                busy.append(f"{view} (PostgreSQL backend pid {row[0] if row else '?'})")
        if busy:
            raise ViewBusy(self._message(busy))

    def renew(self) -> None:
        """After the store went away: if the locks' session is gone, take the locks again on
        a new one (ViewBusy if another worker took a view meanwhile). Nothing to do on
        SQLite, where the locks are files."""
        if not self._pg or not isinstance(self.db, PostgresDb):
            return
        if self._conn is not None:
            try:
                self._conn.execute("SELECT 1")
                return
            except Exception as error:  # noqa: BLE001 - the session is gone: take them again
                log.warning("the views' locks were lost with their session (%s); taking "
                            "them again", type(error).__name__)
            try:
                self._conn.close()
            finally:
                self._conn = None
        try:
            self._acquire_pg(self.db)
        except BaseException:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            raise

    def _acquire_files(self, db: SqliteDb) -> None:
        busy = []
        for view in self.views:
            path = f"{db.path}.{view}.lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = _read_holder(path)
                busy.append(f"{view} (process {holder})" if holder else view)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            self._files.append(fd)
        if busy:
            raise ViewBusy(self._message(busy))

    def _message(self, busy: list[str]) -> str:
        return (f"refusing to start a second {self.purpose}: another worker is already running "
                f"view(s) {', '.join(busy)}. Stop it first (or use `ledger projections "
                "status` to see what runs).")

    def release(self) -> None:
        if self._conn is not None:
            try:
                # Unlocked before the session ends: the server ends it after the client has
                # gone, and a rebuild started just after this one was refused meanwhile.
                self._conn.execute("SELECT pg_advisory_unlock_all()")
            except Exception as error:  # noqa: BLE001 - a broken session ends with its locks
                log.warning("could not unlock the views before closing: %s", error)
            finally:
                try:
                    self._conn.close()
                finally:
                    self._conn = None
        for fd in self._files:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        self._files.clear()

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip() or None
    except OSError:
        return None


def views_without_worker(db: Db, views: Iterable[str]) -> list[str]:
    """The views whose lock no worker holds now (none for views in memory, which only an
    in-process runner feeds)."""
    views = list(views)
    if isinstance(db, PostgresDb):
        keys = {_key(db.identity, v): v for v in views}
        with db.pool.connection() as conn:
            rows = conn.execute(
                "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted AND objsubid = 1").fetchall()
        held = {int(r[0]) for r in rows}
        return [v for k, v in keys.items() if k not in held]
    if isinstance(db, SqliteDb) and not db.memory:
        free = []
        for view in views:
            path = f"{db.path}.{view}.lock"
            if not os.path.exists(path):
                free.append(view)
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a worker holds it
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                free.append(view)
            finally:
                os.close(fd)
        return free
    return []
