"""Each view's tracking record and status, one row per view in `view_tracking`.

The library's tracking table is keyed by application name, and several views track the same
application, so the views keep their own: position (the last event applied), the version of
the view's code that built it, and whether it stopped on an event it could not apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from projections.db import Db, Tx

RUNNING = "running"
FAILED = "failed"

DDL = (
    "CREATE TABLE IF NOT EXISTS {view_tracking} ("
    "view_name TEXT PRIMARY KEY, position BIGINT NOT NULL, version INTEGER NOT NULL, "
    "state TEXT NOT NULL, failed_position BIGINT, error TEXT, changed_at TEXT NOT NULL)"
)


class TrackingConflict(Exception):
    """The view's position moved under a writer: another worker applied these events."""


@dataclass(frozen=True)
class ViewState:
    name: str
    position: int
    version: int
    state: str
    failed_position: int | None
    error: str | None
    changed_at: str

    @property
    def failed(self) -> bool:
        return self.state == FAILED

    def as_dict(self) -> dict[str, Any]:
        return {"view": self.name, "position": self.position, "state": self.state,
                "failed": self.failed, "failed_position": self.failed_position,
                "error": self.error, "changed_at": self.changed_at}


def _now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="seconds")


def ensure_row(tx: Tx, name: str, version: int) -> bool:
    """Create the view's tracking row if missing. Returns True when the view's stored tables
    were built by another version of its code (and so must be dropped and rebuilt)."""
    row = tx.one("SELECT version FROM {view_tracking} WHERE view_name = ?", (name,))
    if row is None:
        tx.execute("INSERT INTO {view_tracking} (view_name, position, version, state, "
                   "changed_at) VALUES (?, 0, ?, ?, ?)", (name, version, RUNNING, _now()))
        return False
    if row["version"] != version:
        tx.execute("UPDATE {view_tracking} SET position = 0, version = ?, state = ?, "
                   "failed_position = NULL, error = NULL, changed_at = ? WHERE view_name = ?",
                   (version, RUNNING, _now(), name))
        return True
    return False


def read_position(db: Db, name: str) -> int:
    rows = db.query("SELECT position FROM {view_tracking} WHERE view_name = ?", (name,))
    return int(rows[0]["position"]) if rows else 0


def positions(tx: Tx, names: list[str] | tuple[str, ...]) -> dict[str, int]:
    rows = tx.query("SELECT view_name, position FROM {view_tracking}")
    found = {r["view_name"]: int(r["position"]) for r in rows}
    return {n: found.get(n, 0) for n in names}


def states(db: Db) -> dict[str, ViewState]:
    rows = db.query("SELECT * FROM {view_tracking}")
    return {r["view_name"]: ViewState(
        name=r["view_name"], position=int(r["position"]), version=int(r["version"]),
        state=r["state"], failed_position=r["failed_position"], error=r["error"],
        changed_at=r["changed_at"]) for r in rows}


def advance(tx: Tx, name: str, expected: int, position: int) -> None:
    """Move the view from `expected` to `position` in the caller's transaction (compare and
    set: if another writer moved it, this transaction must not commit)."""
    changed = tx.execute(
        "UPDATE {view_tracking} SET position = ? "
        "WHERE view_name = ? AND position = ? AND state = ?",
        (position, name, expected, RUNNING))
    if changed != 1:
        raise TrackingConflict(
            f"view {name} is no longer at position {expected} (another worker applied these "
            "events, or the view was stopped); nothing of this batch was recorded")


def advance_many(tx: Tx, moves: list[tuple[str, int, int]]) -> None:
    """Move several views (name, expected, position) that have nothing else to write in this
    batch, in one transaction; TrackingConflict if any of them had moved."""
    for name, expected, position in moves:
        advance(tx, name, expected, position)


def set_position(tx: Tx, name: str, position: int) -> None:
    tx.execute("UPDATE {view_tracking} SET position = ?, changed_at = ? WHERE view_name = ?",
               (position, _now(), name))


def mark_failed(db: Db, name: str, position: int, error: str) -> None:
    with db.transaction() as tx:
        tx.execute("UPDATE {view_tracking} SET state = ?, failed_position = ?, error = ?, "
                   "changed_at = ? WHERE view_name = ?",
                   (FAILED, position, error[:2000], _now(), name))


def clear_failure(tx: Tx, name: str) -> None:
    tx.execute("UPDATE {view_tracking} SET state = ?, failed_position = NULL, error = NULL, "
               "changed_at = ? WHERE view_name = ?", (RUNNING, _now(), name))


def reset(tx: Tx, name: str) -> None:
    """Back to before the first event (a rebuild), running."""
    tx.execute("UPDATE {view_tracking} SET position = 0, state = ?, failed_position = NULL, "
               "error = NULL, changed_at = ? WHERE view_name = ?", (RUNNING, _now(), name))
