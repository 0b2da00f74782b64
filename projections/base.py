"""What every read model is made of: tables, a unit of work for one batch of events, and a
Projection whose `process_event` has one branch per event topic.

A batch of events is applied to a view in one transaction together with that view's tracking
record (compare-and-set on its position), so an event is applied exactly once even if two
writers raced. Rows a batch touches are read once (prefetched by key), changed in memory and
written back once at the end: a rebuild costs a few statements per batch, not per event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.projection import Projection
from eventsourcing.persistence import Tracking, TrackingRecorder

from projections.db import Db, Tx

Key = Any  # a scalar for one-column keys, a tuple otherwise


@dataclass(frozen=True)
class Table:
    """A view table. `columns` are (name, SQL type) pairs; the key columns come first.
    `counters` are integer columns changed by increments; a row whose counters are all zero
    is deleted, so a view built incrementally and one rebuilt in other batches are equal."""

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    counters: tuple[str, ...] = ()
    indexes: tuple[str, ...] = ()  # column lists, e.g. "agency_id, status, due_on"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    def ddl(self) -> list[str]:
        cols = ", ".join(f"{c} {t}" for c, t in self.columns)
        out = [f"CREATE TABLE IF NOT EXISTS {{{self.name}}} ({cols}, "
               f"PRIMARY KEY ({', '.join(self.key)}))"]
        for i, index in enumerate(self.indexes):
            out.append(f"CREATE INDEX IF NOT EXISTS {self.name}_i{i} ON {{{self.name}}} "
                       f"({index})")
        return out

    def key_of(self, row: dict[str, Any]) -> Key:
        if len(self.key) == 1:
            return row[self.key[0]]
        return tuple(row[k] for k in self.key)

    def key_values(self, key: Key) -> tuple[Any, ...]:
        return (key,) if len(self.key) == 1 else tuple(key)


class Changes:
    """The unit of work of one view for one batch: cached rows, counter deltas, appends."""

    def __init__(self, tx: Tx, tables: Sequence[Table]) -> None:
        self.tx = tx
        self.tables = {t.name: t for t in tables}
        self._rows: dict[str, dict[Key, dict[str, Any] | None]] = {t.name: {} for t in tables}
        self._dirty: dict[str, set[Key]] = {t.name: set() for t in tables}
        self._deltas: dict[str, dict[Key, list[int]]] = {t.name: {} for t in tables}
        self._appends: dict[str, list[tuple[Any, ...]]] = {t.name: [] for t in tables}

    # ---- reading ------------------------------------------------------------------------
    def prefetch(self, table: str, keys: Iterable[Key]) -> None:
        """Load many rows with one query (single-column keys); absent keys cache as None."""
        spec = self.tables[table]
        cache = self._rows[table]
        wanted = [k for k in set(keys) if k not in cache]
        if not wanted:
            return
        for k in wanted:
            cache[k] = None
        (column,) = spec.key
        for row in self.tx.select_in(f"SELECT * FROM {{{table}}} WHERE {{in}}", column, wanted):
            cache[row[column]] = row

    def get(self, table: str, key: Key) -> dict[str, Any] | None:
        cache = self._rows[table]
        if key in cache:
            return cache[key]
        spec = self.tables[table]
        where = " AND ".join(f"{k} = ?" for k in spec.key)
        row = self.tx.one(f"SELECT * FROM {{{table}}} WHERE {where}", spec.key_values(key))
        cache[key] = row
        return row

    # ---- writing ------------------------------------------------------------------------
    def put(self, table: str, row: dict[str, Any]) -> None:
        key = self.tables[table].key_of(row)
        self._rows[table][key] = row
        self._dirty[table].add(key)

    def update(self, table: str, key: Key, **values: Any) -> dict[str, Any] | None:
        """Change some columns of an existing row; None (and nothing) if there is no row."""
        row = self.get(table, key)
        if row is None:
            return None
        row = {**row, **values}
        self.put(table, row)
        return row

    def delete(self, table: str, key: Key) -> None:
        self._rows[table][key] = None
        self._dirty[table].add(key)

    def add(self, table: str, key: Key, **deltas: int) -> None:
        """Increment counters of a row (created at zero if absent)."""
        spec = self.tables[table]
        current = self._deltas[table].get(key)
        if current is None:
            current = self._deltas[table][key] = [0] * len(spec.counters)
        for i, name in enumerate(spec.counters):
            if name in deltas:
                current[i] += deltas[name]

    def append(self, table: str, values: tuple[Any, ...]) -> None:
        """A new row, never updated later (an audit entry): inserted in bulk."""
        self._appends[table].append(values)

    # ---- flushing -----------------------------------------------------------------------
    def flush(self) -> None:
        for spec in self.tables.values():
            self._flush_rows(spec)
            self._flush_counters(spec)
            rows = self._appends[spec.name]
            if rows:
                bulk_insert(self.tx, spec, rows)

    def _flush_rows(self, spec: Table) -> None:
        dirty = self._dirty[spec.name]
        if not dirty:
            return
        cache = self._rows[spec.name]
        names = spec.names
        upserts = [tuple(cache[k][c] for c in names)  # type: ignore[index]
                   for k in dirty if cache[k] is not None]
        deletes = [spec.key_values(k) for k in dirty if cache[k] is None]
        if deletes:
            where = " AND ".join(f"{k} = ?" for k in spec.key)
            self.tx.executemany(f"DELETE FROM {{{spec.name}}} WHERE {where}", deletes)
        if upserts:
            self.tx.executemany(upsert_sql(spec), upserts)

    def _flush_counters(self, spec: Table) -> None:
        deltas = self._deltas[spec.name]
        if not deltas:
            return
        rows = [(*spec.key_values(k), *d) for k, d in deltas.items() if any(d)]
        if not rows:
            return
        cols = (*spec.key, *spec.counters)
        sets = ", ".join(f"{c} = t.{c} + excluded.{c}" for c in spec.counters)
        self.tx.executemany(
            f"INSERT INTO {{{spec.name}}} AS t ({', '.join(cols)}) "
            f"VALUES ({', '.join('?' * len(cols))}) "
            f"ON CONFLICT ({', '.join(spec.key)}) DO UPDATE SET {sets}", rows)
        where = " AND ".join(f"{k} = ?" for k in spec.key)
        zero = " AND ".join(f"{c} = 0" for c in spec.counters)
        self.tx.executemany(f"DELETE FROM {{{spec.name}}} WHERE {where} AND {zero}",
                            [r[:len(spec.key)] for r in rows])


def upsert_sql(spec: Table) -> str:
    names = spec.names
    others = [c for c in names if c not in spec.key]
    action = ("DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in others)
              if others else "DO NOTHING")
    return (f"INSERT INTO {{{spec.name}}} ({', '.join(names)}) "
            f"VALUES ({', '.join('?' * len(names))}) "
            f"ON CONFLICT ({', '.join(spec.key)}) {action}")


def bulk_insert(tx: Tx, spec: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    copy = getattr(tx, "copy_rows", None)
    if copy is not None and len(rows) > 20:
        copy(spec.name, spec.names, rows)
    else:
        names = spec.names
        tx.executemany(f"INSERT INTO {{{spec.name}}} ({', '.join(names)}) "
                       f"VALUES ({', '.join('?' * len(names))})", rows)


# ---- value conversions (one format on both stores, so text order is time order) ------------

def iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def uid(value: UUID | str | None) -> str | None:
    return str(value) if value is not None else None


def later(a: str | None, b: str | None) -> str | None:
    """The later of two ISO dates (a backdated entry never moves "last update" backwards)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if a >= b else b


# ---- projections ----------------------------------------------------------------------------

Handler = Callable[[Any, Changes, Any], None]


def on(*topics: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a method as the branch of `process_event` for these event topics."""

    def mark(fn: Callable[..., None]) -> Callable[..., None]:
        fn.__dict__.setdefault("_topics", []).extend(topics)
        return fn

    return mark


class ViewProjection(Projection["View"]):
    """A read model: its tables, and one handler per event topic it cares about.

    `topics` is empty for a view that takes every event (the audit trail)."""

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1  # bump when tables or handlers change: the view is rebuilt
    tables: ClassVar[tuple[Table, ...]] = ()
    all_events: ClassVar[bool] = False
    handlers: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                for topic in getattr(value, "_topics", ()):
                    handlers[topic] = attr
        cls.handlers = handlers
        cls.topics = () if cls.all_events else tuple(handlers)

    def __init__(self, view: View | None = None) -> None:
        super().__init__(view)  # type: ignore[arg-type]
        self._bound: dict[str, Callable[[Changes, Any], None]] = {
            topic: getattr(self, attr) for topic, attr in self.handlers.items()
        }

    def wants(self, topic: str) -> bool:
        return self.all_events or topic in self._bound

    def prefetch(self, changes: Changes, events: Sequence[Any]) -> None:
        """Load the rows this batch will touch, in a few queries (override per view)."""

    def apply(self, changes: Changes, event: Any, topic: str, position: int) -> None:
        handler = self._bound.get(topic)
        if handler is not None:
            handler(changes, event)
        elif self.all_events:
            self.fallback(changes, event, topic, position)

    def fallback(self, changes: Changes, event: Any, topic: str, position: int) -> None:
        """Events without a branch (only views with all_events get them)."""

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:  # type: ignore[override]
        """The library's entry point: one event, applied with its tracking record in one
        transaction (the runner uses `View.apply_batch` for many at once)."""
        from eventsourcing.utils import get_topic

        self.view.apply_batch([(tracking.notification_id, get_topic(type(domain_event)),
                                domain_event)])


@dataclass
class View(TrackingRecorder):
    """One projection on one store: creates its tables, applies batches with its tracking
    record, and reports its position (the library's TrackingRecorder interface)."""

    db: Db
    projection_class: type[ViewProjection]
    projection: ViewProjection = field(init=False)

    def __post_init__(self) -> None:
        self.projection = self.projection_class(self)

    @property
    def name(self) -> str:
        return self.projection_class.name

    def create_tables(self, tx: Tx) -> None:
        for table in self.projection_class.tables:
            for statement in table.ddl():
                tx.execute(statement)

    def drop_tables(self, tx: Tx) -> None:
        for table in self.projection_class.tables:
            tx.execute(f"DROP TABLE IF EXISTS {{{table.name}}}")

    def clear_tables(self, tx: Tx) -> None:
        for table in self.projection_class.tables:
            tx.execute(f"DELETE FROM {{{table.name}}}")

    def apply_batch(self, items: Sequence[tuple[int, str, Any]],
                    expected: int | None = None) -> int:
        """Apply (position, topic, event) items in one transaction with the tracking record.

        `expected` is the position the caller believes the view is at (default: just before
        the first item). Returns the new position. Raises TrackingConflict if the view's
        position is not `expected` (another writer got there first): nothing of this batch is
        then recorded. Items whose event is None are not for this view; the position still
        moves past them."""
        from projections.tracking import advance, read_position

        if not items:
            return read_position(self.db, self.name)
        if expected is None:
            expected = read_position(self.db, self.name)
        with self.db.transaction() as tx:
            changes = Changes(tx, self.projection_class.tables)
            projection = self.projection
            projection.prefetch(changes, [e for _, _, e in items if e is not None])
            for position, topic, event in items:
                if event is None:
                    continue
                if isinstance(event, BaseException):
                    raise event  # the stored event could not even be decoded
                projection.apply(changes, event, topic, position)
            changes.flush()
            last = items[-1][0]
            advance(tx, self.name, expected, last)
        return last

    # ---- TrackingRecorder ---------------------------------------------------------------
    def insert_tracking(self, tracking: Tracking) -> None:
        from projections.tracking import set_position

        with self.db.transaction() as tx:
            set_position(tx, self.name, tracking.notification_id)

    def max_tracking_id(self, application_name: str) -> int | None:
        from projections.tracking import read_position

        return read_position(self.db, self.name) or None
