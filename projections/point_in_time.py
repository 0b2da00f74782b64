"""The ledger as it stood at a past position or moment, for auditors.

The views are rebuilt by replaying the events up to that point through the same runner in
bulk (projections/runner.py, run_in_bulk), into a throwaway SQLite database in a temporary
file (in memory, a copy of a large ledger's views took its size in RAM: 321 MiB for half
of 300k actions); the same queries then run on it. Cost: O(events up to that point) (see
the benchmark for a figure); the last few copies are kept, so paging through one as_of
answer replays once.

A moment (as_of) is turned into a position by the ledger (Ledger.position_at: a binary search
on the recorded times of the stored events, domain/store.py).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime

from projections.db import SqliteDb
from projections.readside import ReadSide
from projections.runner import run_in_bulk


class PointInTime:
    """Builds and keeps a few throwaway copies of the views at past positions."""

    def __init__(self, read_side: ReadSide, *, keep: int = 2) -> None:
        self.read_side = read_side
        self.keep = keep
        self._copies: OrderedDict[tuple[int, tuple[str, ...]], SqliteDb] = OrderedDict()
        self._lock = threading.Lock()

    def position_at(self, as_of: datetime) -> int:
        return self.read_side.ledger.position_at(as_of)

    def views_at(self, position: int, names: Iterable[str]) -> SqliteDb:
        """A database holding the named views as they stood at `position`."""
        key = (position, tuple(sorted(set(names))))
        with self._lock:
            db = self._copies.get(key)
            if db is not None:
                self._copies.move_to_end(key)
                return db
            db = replay(self.read_side, position, key[1])
            self._copies[key] = db
            while len(self._copies) > self.keep:
                _, old = self._copies.popitem(last=False)
                old.close()
            return db

    def close(self) -> None:
        with self._lock:
            for db in self._copies.values():
                db.close()
            self._copies.clear()


class TemporaryDb(SqliteDb):
    """A SQLite database in a temporary file, removed when it is closed."""

    def __init__(self) -> None:
        handle, path = tempfile.mkstemp(prefix="ledger-views-at-", suffix=".sqlite3")
        os.close(handle)
        super().__init__(path)

    def close(self) -> None:
        super().close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                os.remove(self.path + suffix)


def replay(read_side: ReadSide, position: int, names: Iterable[str]) -> SqliteDb:
    db = TemporaryDb()
    copy = ReadSide(read_side.settings, read_side.ledger, db=db, view_names=tuple(names))
    run_in_bulk(copy, copy.view_names, stop_at=position)
    return db
