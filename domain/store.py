"""The one place that reaches past eventsourcing's public recorder interface.

The library's recorders give events by aggregate and notifications by position; the ledger
also needs a few things they do not offer: the log position of each version of an aggregate
(the library's `select_events` returns no notification ids), which store this is (a file, a
database and schema), where a PostgreSQL store's views live, the trigger that makes its
events table append-only, and the channel its inserts NOTIFY on. Each backend has one small
class here, chosen by the recorder's class (`store_of`); nothing else touches a recorder's
datastore, table names or private attributes.

Reading stored rows (notifications with their raw state: what the Merkle log hashes) and the
position of a moment (binary search on recorded times) are the same on every backend and
live in the base class, on the recorder's public `select_notifications`.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Notification, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

log = logging.getLogger("ledger.store")

GUARD_FUNCTION = "sgl_refuse_change"
INSUFFICIENT_PRIVILEGE = "42501"  # PostgreSQL's SQLSTATE


class EventStore(ABC):
    """One ledger's event store, as the ledger and its read side need it."""

    kind: str  # "memory", "sqlite" or "postgres"

    def __init__(self, recorder: ApplicationRecorder) -> None:
        self.recorder = recorder

    # ---- the same on every backend ------------------------------------------------------
    def head_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def stored(self, after: int, limit: int, stop: int | None = None) -> Sequence[Notification]:
        """Up to `limit` stored events after position `after` (up to `stop`), in log order,
        as stored (never decoded)."""
        return self.recorder.select_notifications(after, limit, stop=stop,
                                                  inclusive_of_start=False)

    def iter_stored(self, start: int = 1, batch: int = 1000,
                    stop: int | None = None) -> Iterator[Notification]:
        """Every stored event from `start` in log order, read in batches."""
        after = start - 1
        while True:
            rows = self.stored(after, batch, stop)
            if not rows:
                return
            yield from rows
            after = rows[-1].id

    def position_at(self, as_of: datetime, timestamp_of: Callable[[Notification], datetime],
                    head: int | None = None) -> int:
        """The position of the last event recorded at or before `as_of` (0 if none), by
        binary search on recorded times (one event read per step). Recorded times follow log
        order, except for writers racing within the same few milliseconds."""
        lo, hi = 0, self.head_position() if head is None else head
        # Invariant: events at positions <= lo were recorded by as_of; those > hi were not.
        while lo < hi:
            mid = (lo + hi + 1) // 2
            rows = self.stored(mid - 1, 1)  # the first event at or after mid
            if not rows or rows[0].id > hi:
                hi = mid - 1  # only a gap (a rolled-back insert) between mid and hi
            elif timestamp_of(rows[0]) <= as_of:
                lo = rows[0].id
            else:
                hi = mid - 1
        return lo

    def fingerprint(self) -> str:
        """Which event log this is by its content: its first event's id, version and topic
        ("" while empty)."""
        rows = self.stored(0, 1)
        if not rows:
            return ""
        return f"{rows[0].originator_id}:{rows[0].originator_version}:{rows[0].topic}"

    def install_append_only_guard(self) -> bool:
        """Make the events table refuse UPDATE, DELETE and TRUNCATE (PostgreSQL only); False
        when there is nothing to guard or the role may not."""
        return False

    def events_of(self, aggregate_id: UUID) -> list[tuple[StoredEvent, int | None]]:
        """Every stored event of one aggregate in version order, each with its log position
        (PostgreSQL: in one read)."""
        positions = self.positions_of(aggregate_id)
        return [(row, positions.get(row.originator_version))
                for row in self.recorder.select_events(aggregate_id)]

    # ---- per backend --------------------------------------------------------------------
    @abstractmethod
    def identity(self) -> str:
        """Names the store (a file, or a database and schema), not its content."""

    @abstractmethod
    def positions_of(self, aggregate_id: UUID) -> dict[int, int]:
        """The log position of each version of one aggregate."""


class MemoryStore(EventStore):
    kind = "memory"

    def identity(self) -> str:
        return f"memory:{id(self.recorder)}"

    def positions_of(self, aggregate_id: UUID) -> dict[int, int]:
        # Events in memory are few (tests, demos): a scan of the log is enough.
        return {row.originator_version: row.id for row in self.iter_stored(batch=10_000)
                if row.originator_id == aggregate_id}


class SqliteStore(EventStore):
    kind = "sqlite"
    recorder: SQLiteApplicationRecorder

    @property
    def path(self) -> str | None:
        """The events' file (None for an in-memory SQLite database)."""
        pool = self.recorder.datastore.pool
        return None if pool.is_sqlite_memory_mode else str(pool.db_name)

    def identity(self) -> str:
        return "sqlite:" + os.path.realpath(str(self.recorder.datastore.pool.db_name))

    def positions_of(self, aggregate_id: UUID) -> dict[int, int]:
        recorder = self.recorder
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT originator_version, rowid FROM {recorder.events_table_name} "
                           "WHERE originator_id = ?", (aggregate_id.hex,))
            return {row[0]: row[1] for row in cursor.fetchall()}


class PostgresStore(EventStore):
    kind = "postgres"
    recorder: Any  # eventsourcing.postgres.PostgresApplicationRecorder (needs psycopg)

    @property
    def schema(self) -> str:
        return self.recorder.datastore.schema or "public"

    @property
    def conninfo(self) -> str:
        return self.recorder.datastore.pool.conninfo or ""

    @property
    def connect_kwargs(self) -> dict[str, Any]:
        return dict(self.recorder.datastore.pool.kwargs or {})

    @property
    def channel(self) -> str:
        """The channel the recorder NOTIFYs on every insert."""
        return str(self.recorder.channel_name)

    def identity(self) -> str:
        kwargs = self.connect_kwargs
        return (f"postgres:{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('dbname')}/"
                f"{self.recorder.datastore.schema}")

    def _table(self) -> str:
        return f"{_quoted(self.schema)}.{_quoted(self.recorder.events_table_name)}"

    def positions_of(self, aggregate_id: UUID) -> dict[int, int]:
        statement = (f"SELECT originator_version, notification_id FROM {self._table()} "
                     "WHERE originator_id = %s")
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, (aggregate_id,))
            return {row["originator_version"]: row["notification_id"] for row in cursor}

    def events_of(self, aggregate_id: UUID) -> list[tuple[StoredEvent, int | None]]:
        statement = (f"SELECT originator_version, topic, state, notification_id FROM "
                     f"{self._table()} WHERE originator_id = %s ORDER BY originator_version")
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, (aggregate_id,), prepare=True)
            return [(StoredEvent(originator_id=aggregate_id,
                                 originator_version=row["originator_version"],
                                 topic=row["topic"], state=bytes(row["state"])),
                     row["notification_id"]) for row in cursor]

    def install_append_only_guard(self) -> bool:
        """A trigger (and revoked privileges) stop the application, a bug, or a careless
        operator from changing history. They do not stop a superuser or the table's owner
        (docs/integrity.md): the evidence is the signed checkpoints held outside."""
        table = self._table()
        function = f"{_quoted(self.schema)}.{_quoted(GUARD_FUNCTION)}"
        statements = [
            (f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql "
            "AS $$BEGIN RAISE EXCEPTION 'the ledger is append-only: % on % refused', "
            "TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END$$"),
            (f"CREATE OR REPLACE TRIGGER sgl_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"),
            (f"CREATE OR REPLACE TRIGGER sgl_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"),
            f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC",
        ]
        try:
            with self.recorder.datastore.get_connection() as conn, conn.transaction():
                # Serialise installers (CREATE OR REPLACE TRIGGER is not concurrency-safe).
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (GUARD_FUNCTION,))
                for statement in statements:
                    conn.execute(statement)
        except Exception as error:
            if getattr(error, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
                raise
            # Only the table's owner can add the trigger: say so, and run without the guard.
            log.warning("the append-only guard could not be installed (%s); run `ledger init` "
                        "as the owner of the events table", error)
            return False
        return True


def _quoted(name: str) -> str:
    """A PostgreSQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def store_of(recorder: ApplicationRecorder) -> EventStore:
    """The adapter for a recorder, by its class."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        return SqliteStore(recorder)
    if isinstance(recorder, POPOApplicationRecorder):
        return MemoryStore(recorder)
    try:
        from eventsourcing.postgres import PostgresApplicationRecorder
    except ImportError:  # psycopg not installed: not a PostgreSQL store
        pass
    else:
        if isinstance(recorder, PostgresApplicationRecorder):
            return PostgresStore(recorder)
    raise TypeError(f"no store adapter for {type(recorder).__name__}")
