"""What every read model is made of: tables, a unit of work for one batch of events, and a
Projection whose `process_event` has one branch per event topic.

A batch of events is applied to a view in one transaction together with that view's tracking
record (compare-and-set on its position), so an event is applied exactly once even if two
writers raced. Rows a batch touches are read once (prefetched by key), changed in memory and
written back once at the end: a few statements per batch, not per event. A rebuild goes
further (projections/bulk.py): one unit of work for the whole load, written once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from projections.db import Db, OpenTx, Table, Tx

Key = Any  # a scalar for one-column keys, a tuple otherwise


class Changes:
    """The unit of work of one view for one batch: cached rows, counter deltas, appends."""

    def __init__(self, tx: Tx, tables: Sequence[Table], *, loading: bool = False) -> None:
        """`loading`: one unit of work for a whole bulk load into empty tables (projections/
        bulk.py): every row stays here until `loaded_rows`, nothing is read back, and a
        view may derive its rollups from its rows at the end instead of event by event."""
        self.tx = tx
        self.tables = {t.name: t for t in tables}
        self.loading = loading
        self._rows: dict[str, dict[Key, dict[str, Any] | None]] = {t.name: {} for t in tables}
        self._dirty: dict[str, set[Key]] = {t.name: set() for t in tables}
        self._deltas: dict[str, dict[Key, list[int]]] = {t.name: {} for t in tables}
        self._appends: dict[str, list[tuple[Any, ...]]] = {t.name: [] for t in tables}
        # table -> (position in the key of a column, values of it whose rows are all loaded)
        self._complete: dict[str, tuple[int, set[Any]]] = {}

    # ---- reading ------------------------------------------------------------------------
    def prefetch(self, table: str, keys: Iterable[Key]) -> None:
        """Load many rows with one query (single-column keys); absent keys cache as None."""
        if self.loading:
            return
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

    def prefetch_where(self, table: str, column: str, values: Iterable[Any]) -> None:
        """Load every row whose `column` (part of a composite key) is one of `values`; keys
        with those values that are not found are then known to be absent."""
        if self.loading:
            return
        spec = self.tables[table]
        index, done = self._complete.get(table, (spec.key.index(column), set()))
        wanted = [v for v in set(values) if v not in done]
        if wanted:
            cache = self._rows[table]
            for row in self.tx.select_in(f"SELECT * FROM {{{table}}} WHERE {{in}}", column,
                                         wanted):
                cache.setdefault(spec.key_of(row), row)
        self._complete[table] = (index, done | set(wanted))

    def get(self, table: str, key: Key) -> dict[str, Any] | None:
        cache = self._rows[table]
        if key in cache:
            return cache[key]
        if self.loading:
            return None
        complete = self._complete.get(table)
        if complete is not None and key[complete[0]] in complete[1]:
            cache[key] = None
            return None
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
        row.update(values)  # rows in the cache belong to this unit of work
        self._dirty[table].add(key)
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

    def appender(self, table: str) -> Callable[[tuple[Any, ...]], None]:
        """What adds a new row, never updated later (an audit entry), to `table`: inserted in
        bulk. Bound once for a batch (valid until `take_appends`)."""
        return self._appends[table].append

    # ---- flushing -----------------------------------------------------------------------
    def flush(self) -> None:
        """Write what the batch changed: a few bulk statements per table."""
        tx = self.tx
        for spec in self.tables.values():
            dirty = self._dirty[spec.name]
            if dirty:
                cache = self._rows[spec.name]
                gone = [spec.key_values(k) for k in dirty if cache[k] is None]
                if gone:
                    tx.delete_keys(spec, gone)
                rows = [spec.values_of(row) for row in (cache[k] for k in dirty)
                        if row is not None]
                if rows:
                    tx.upsert(spec, rows)
            deltas = self._deltas[spec.name]
            if deltas:
                rows = [(*spec.key_values(k), *d) for k, d in deltas.items() if any(d)]
                if rows:
                    tx.increment(spec, rows)
            appends = self._appends[spec.name]
            if appends:
                tx.insert(spec, appends)

    def take_appends(self) -> list[tuple[Table, list[tuple[Any, ...]]]]:
        """The appended rows so far, handed over once (a bulk load writes them batch by
        batch while every other row waits for the end)."""
        out = [(self.tables[name], rows) for name, rows in self._appends.items() if rows]
        self._appends = {name: [] for name in self._appends}
        return out

    def rows(self, table: str) -> Iterable[dict[str, Any]]:
        """Every row this unit of work holds of `table` (a bulk load: all of them)."""
        return (row for row in self._rows[table].values() if row is not None)

    def held(self) -> int:
        """How many rows (and counter rows) this unit of work holds."""
        return sum(map(len, self._rows.values())) + sum(map(len, self._deltas.values()))

    def loaded_rows(self, derive: Callable[[], None] | None = None,
                    ) -> Iterator[tuple[Table, list[tuple[Any, ...]]]]:
        """End of a bulk load: every table's rows, the same rows that batch-by-batch flushes
        would have left (appends not yet taken, rows, counter rows that are not all zero).
        Tables of rows come first; then `derive` (the view's `derived` statements, which fill
        the tables its handlers leave empty while loading from those rows); then the other
        tables. Every table is given, empty or not (its indexes are made after its rows)."""
        yield from self.take_appends()
        specs = list(self.tables.values())
        early = [spec for spec in specs if self._rows[spec.name]]
        for spec in early:
            yield spec, list(map(spec.values_of, self.rows(spec.name)))
        if derive is not None:
            derive()
        for spec in specs:
            counters = [(*spec.key_values(k), *d)
                        for k, d in self._deltas[spec.name].items() if any(d)]
            if spec in early:
                if counters:
                    raise ValueError(f"{spec.name}: a table holds rows or counters, not both")
                continue
            rows = list(map(spec.values_of, self.rows(spec.name)))
            if rows and counters:
                raise ValueError(f"{spec.name}: a table holds rows or counters, not both")
            yield spec, rows or counters


# ---- value conversions (one format on both stores, so text order is time order) ------------

_ISO: dict[date, str] = {}


def iso(day: date | None) -> str | None:
    """A date as ISO text. Memoised (the events of a ledger fall on a few thousand days, and
    formatting one costs several times looking it up)."""
    if day is None:
        return None
    text = _ISO.get(day)
    if text is None:
        if len(_ISO) > 100_000:
            _ISO.clear()
        text = _ISO[day] = day.isoformat()
    return text


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """A recorded time as microseconds since 1970 (UTC): what the views store, a number in
    both stores (four times cheaper to make than ISO text, and to index). A naive time is
    taken as local time."""
    if moment.tzinfo is None:
        moment = moment.astimezone(UTC)
    return (moment - _EPOCH) // _MICROSECOND


def moment_of(value: int) -> str:
    """A stored recorded time as ISO 8601 in UTC, as the API gives it."""
    return (_EPOCH + timedelta(microseconds=value)).isoformat()


_UIDS: dict[int, str] = {}


def uid(value: UUID | str | None) -> str | None:
    """An id as text. Memoised by the id's integer (every view of every event asks for the
    same few ids; hashing the UUID object itself costs more than formatting it)."""
    if value is None:
        return None
    try:
        return _UIDS[value.int]  # type: ignore[union-attr]
    except AttributeError:  # already text
        return value  # type: ignore[return-value]
    except KeyError:
        if len(_UIDS) > 200_000:
            _UIDS.clear()
        text = _UIDS[value.int] = str(value)  # type: ignore[union-attr]
        return text


def later(a: str | None, b: str | None) -> str | None:
    """The later of two ISO dates (a backdated entry never moves "last update" backwards)."""
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


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
    # At the end of a bulk load (Changes.loading), SQL that fills the tables the handlers
    # leave empty while loading (rollups) from the view's loaded rows, in its transaction.
    derived: ClassVar[tuple[str, ...]] = ()
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

    def apply(self, changes: Changes, items: Iterable[tuple[int, str, Any]]) -> None:
        """Apply (position, topic, event) items in order, each to its topic's handler; an
        item whose event could not be decoded (an exception in its place) raises it. One
        loop for all of them: a rebuild comes here for every event of every view. A view
        with `all_events` (every event, whatever its topic) overrides this."""
        bound = self._bound
        for _, topic, event in items:
            if isinstance(event, BaseException):
                raise event  # the stored event could not even be decoded
            handler = bound.get(topic)
            if handler is not None:
                handler(changes, event)


    def process_event(self, domain_event: Any, tracking: Tracking) -> None:  # type: ignore[override]
        """The library's entry point: one event, applied with its tracking record in one
        transaction (the runner uses `View.apply_batch` for many at once)."""
        from eventsourcing.utils import get_topic

        position = self.view.max_tracking_id(tracking.application_name) or 0
        if tracking.notification_id <= position:
            return  # applied already
        topic = get_topic(type(domain_event))
        items = [(tracking.notification_id, topic, domain_event)] if self.wants(topic) else []
        self.view.apply_batch(items, position, tracking.notification_id)


@dataclass
class Prepared:
    """A view's batch whose handlers have run, waiting to be written and committed."""

    view: View
    open_tx: OpenTx
    changes: Changes
    expected: int
    last: int

    def commit(self) -> int:
        from projections.tracking import advance

        try:
            # The tracking record first: it locks the view's row, so a second writer of the
            # same batch waits, then finds the position moved and writes nothing.
            advance(self.open_tx.tx, self.view.name, self.expected, self.last)
            self.changes.flush()
        except BaseException:
            self.open_tx.rollback()
            raise
        self.open_tx.commit()
        return self.last

    def rollback(self) -> None:
        self.open_tx.rollback()


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

    @property
    def pipelinable(self) -> bool:
        """Whether the runner may split a batch into prepare and commit (a view that writes
        its own way overrides apply_batch, and is applied in one call)."""
        return type(self).apply_batch is View.apply_batch

    def create_tables(self, tx: Tx) -> None:
        for table in self.projection_class.tables:
            # (and its key, if a bulk load dropped it and stopped before making it again)
            for statement in [*table.ddl(), *self.db.key_ddl(table)]:
                tx.execute(statement)

    def drop_tables(self, tx: Tx) -> None:
        for table in self.projection_class.tables:
            tx.execute(f"DROP TABLE IF EXISTS {{{table.name}}}")

    def clear_tables(self, tx: Tx) -> None:
        """Empty the view's tables for a rebuild, dropping the indexes (and keys) a bulk load
        makes again at its end (Db.clear)."""
        for statement in self.db.clear(self.projection_class.tables):
            tx.execute(statement)

    def apply_batch(self, items: Sequence[tuple[int, str, Any]], expected: int | None = None,
                    last: int | None = None) -> int:
        """Apply (position, topic, event) items for this view in one transaction with its
        tracking record, which moves from `expected` to `last` (default: the last item; a
        batch may end with events this view does not take).

        `expected` is the position the caller believes the view is at (default: read it).
        Raises TrackingConflict if the view is not there (another writer got there first):
        nothing of this batch is then recorded. Returns the new position."""
        from projections.tracking import read_position

        if expected is None:
            expected = read_position(self.db, self.name)
        if last is None:
            if not items:
                return expected
            last = items[-1][0]
        return self.prepare(items, expected, last).commit()

    def prepare(self, items: Sequence[tuple[int, str, Any]], expected: int,
                last: int) -> Prepared:
        """Begin the batch's transaction and run the handlers; `commit` (perhaps in another
        thread) writes the changes and the tracking record. A handler's error rolls back."""
        open_tx = self.db.begin()
        try:
            changes = Changes(open_tx.tx, self.projection_class.tables)
            if items:
                projection = self.projection
                projection.prefetch(changes, [e for _, _, e in items])
                projection.apply(changes, items)
        except BaseException:
            open_tx.rollback()
            raise
        return Prepared(self, open_tx, changes, expected, last)

    # ---- TrackingRecorder ---------------------------------------------------------------
    def insert_tracking(self, tracking: Tracking) -> None:
        from projections.tracking import set_position

        with self.db.transaction() as tx:
            set_position(tx, self.name, tracking.notification_id)

    def max_tracking_id(self, application_name: str) -> int | None:
        from projections.tracking import read_position

        return read_position(self.db, self.name) or None
