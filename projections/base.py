"""What every read model is made of: tables, a unit of work for one batch of events, and a
Projection whose `process_event` has one branch per event topic.

A batch of events is applied to a view in one transaction together with that view's tracking
record (compare-and-set on its position), so an event is applied exactly once even if two
writers raced. Rows a batch touches are read once (prefetched by key), changed in memory and
written back once at the end: a few statements per batch, not per event. A rebuild is the
same runner with larger batches, all in one transaction (projections/runner.py, run_in_bulk).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from projections.db import Db, Table, Tx

Key = Any  # a scalar for one-column keys, a tuple otherwise


class Written:
    """The keys a bulk run has written to each table, kept as a filter of fixed size (a bitmap
    of their hashes, 512 KiB a table): a key it has not seen was never written, so a unit of
    work after the run's first knows that row is absent without reading it, and inserts it
    rather than upserting. A key it has seen was probably written: that row is read."""

    BITS = 1 << 22

    def __init__(self) -> None:
        self._bits: dict[str, bytearray] = {}
        self.final = False  # the run's last writes: nothing reads after them

    def add(self, table: str, keys: Iterable[Key]) -> None:
        if self.final:
            return
        bits = self._bits.get(table)
        if bits is None:
            bits = self._bits[table] = bytearray(self.BITS // 8)
        mask = self.BITS - 1
        for key in keys:
            h = hash(key) & mask
            bits[h >> 3] |= 1 << (h & 7)

    def may_hold(self, table: str, key: Key) -> bool:
        bits = self._bits.get(table)
        if bits is None:
            return False
        h = hash(key) & (self.BITS - 1)
        return bool(bits[h >> 3] & (1 << (h & 7)))


class Changes:
    """The unit of work of one view for one batch (or, in a rebuild, for many): cached
    rows, counter deltas, appends."""

    def __init__(self, tx: Tx, tables: Sequence[Table], *, empty: bool = False,
                 bulk: bool = False, written: Written | None = None) -> None:
        """`empty`: the tables held no rows when this unit of work began: a row not in the
        cache is absent, nothing is read back, and `flush` inserts. `bulk`: one of a bulk
        run's units (a rebuild's), whose run began by emptying the tables: what a view
        derives from its rows in SQL is derived once, when the run ends (`View.flushed` is
        called only then), not kept up to date by each unit. `written`: the keys the bulk run
        has written so far (and records those this unit writes): a key it has not seen is
        absent without a read."""
        self.tx = tx
        self.tables = {t.name: t for t in tables}
        self.empty = empty
        self.bulk = bulk
        self.written = written
        self._rows: dict[str, dict[Key, dict[str, Any] | None]] = {t.name: {} for t in tables}
        self._dirty: dict[str, set[Key]] = {t.name: set() for t in tables}
        self._deltas: dict[str, dict[Key, dict[str, int]]] = {t.name: {} for t in tables}
        self._appends: dict[str, list[tuple[Any, ...]]] = {t.name: [] for t in tables}
        # table -> (position in the key of a column, values of it whose rows are all loaded)
        self._complete: dict[str, tuple[int, set[Any]]] = {}

    # ---- reading ------------------------------------------------------------------------
    def prefetch(self, table: str, keys: Iterable[Key]) -> None:
        """Load many rows with one query (single-column keys); absent keys cache as None."""
        if self.empty:
            return
        spec = self.tables[table]
        cache = self._rows[table]
        wanted = [k for k in set(keys) if k not in cache]
        for k in wanted:
            cache[k] = None
        written = self.written
        if written is not None:
            wanted = [k for k in wanted if written.may_hold(table, k)]
        if not wanted:
            return
        (column,) = spec.key
        for row in self.tx.select_in(f"SELECT * FROM {{{table}}} WHERE {{in}}", column, wanted):
            cache[row[column]] = row

    def prefetch_where(self, table: str, column: str, values: Iterable[Any]) -> None:
        """Load every row whose `column` (part of a composite key) is one of `values`; keys
        with those values that are not found are then known to be absent."""
        if self.empty:
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
        if self.empty:
            return None
        complete = self._complete.get(table)
        if (complete is not None and key[complete[0]] in complete[1]) or (
                self.written is not None and not self.written.may_hold(table, key)):
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
        current = self._deltas[table].get(key)
        if current is None:
            self._deltas[table][key] = deltas
            return
        for name, delta in deltas.items():
            current[name] = current.get(name, 0) + delta

    def appender(self, table: str) -> Callable[[tuple[Any, ...]], None]:
        """What adds a new row, never updated later (an audit entry), to `table`: inserted in
        bulk. Bound once for a batch."""
        return self._appends[table].append

    def held(self) -> int:
        """How many rows and counter rows this unit of work holds (a bulk run bounds it)."""
        return (sum(len(rows) for rows in self._rows.values())
                + sum(len(deltas) for deltas in self._deltas.values()))

    def take_appends(self) -> list[tuple[Table, list[tuple[Any, ...]]]]:
        """The new rows appended since the last call, each table's to be inserted as they
        are (a bulk run writes them batch by batch); the unit of work forgets them."""
        taken = [(self.tables[name], rows) for name, rows in self._appends.items() if rows]
        for table, _ in taken:
            self._appends[table.name] = []
        return taken

    def changed(self, table: str) -> Iterator[dict[str, Any]]:
        """The rows of `table` this unit of work put or changed (and did not delete)."""
        cache = self._rows[table]
        return (row for row in (cache[k] for k in self._dirty[table]) if row is not None)

    # ---- flushing -----------------------------------------------------------------------
    def flush(self) -> None:
        """Write what the batch changed: a few bulk statements per table."""
        tx = self.tx
        if self.empty:
            self._insert_all()
            return
        written = self.written
        for spec in self.tables.values():
            dirty = self._dirty[spec.name]
            if dirty:
                cache = self._rows[spec.name]
                gone = [spec.key_values(k) for k in dirty if cache[k] is None]
                if gone:
                    tx.delete_keys(spec, gone)
                # Rows the run never wrote (`written`) are inserted, the others upserted.
                new: list[Key] = []
                present: list[Key] = []
                for k in dirty:
                    if cache[k] is not None:
                        unseen = written is not None and not written.may_hold(spec.name, k)
                        (new if unseen else present).append(k)
                if written is not None and new:
                    tx.insert(spec, [spec.values_of(cache[k]) for k in new])
                    written.add(spec.name, new)
                if present:
                    tx.upsert(spec, [spec.values_of(cache[k]) for k in present])
            deltas = self._deltas[spec.name]
            if deltas:
                rows = spec.counter_rows(deltas)
                if rows:
                    tx.increment(spec, rows)
                    if written is not None:
                        written.add(spec.name, deltas)
            appends = self._appends[spec.name]
            if appends:
                tx.insert(spec, appends)

    def _insert_all(self) -> None:
        """Into empty tables: every row held, every counter row not all zero, the appends (what
        batch-by-batch flushes would have left, each table written once)."""
        for spec in self.tables.values():
            held = self._rows[spec.name]
            rows = [spec.values_of(row) for row in held.values() if row is not None]
            rows += spec.counter_rows(self._deltas[spec.name])
            rows += self._appends[spec.name]
            if rows:
                self.tx.insert(spec, rows)
            if self.written is not None:
                self.written.add(spec.name, held)
                self.written.add(spec.name, self._deltas[spec.name])


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
    # Takes every event as stored (the recorder's Notification, never decoded) in place of
    # the domain event: the Merkle log, whose leaves hash the stored bytes.
    stored: ClassVar[bool] = False
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
        """Whether this projection needs events of `topic` decoded."""
        return not self.stored and (self.all_events or topic in self._bound)

    def prefetch(self, changes: Changes, events: Sequence[Any]) -> None:
        """Load the rows this batch will touch, in a few queries (override per view)."""

    def flushed(self, changes: Changes) -> None:
        """After the batch's rows are written, in its transaction: what a view derives from
        them in SQL (override per view)."""

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
        """Create the tables and indexes that are missing. An index that exists is not named
        again: PostgreSQL's CREATE INDEX IF NOT EXISTS takes its table's SHARE lock before it
        looks, so a process starting beside a worker applying a batch (which writes the
        rollups before the actions' rows) could deadlock with it."""
        existing = self.db.existing_indexes(tx)
        for table in self.projection_class.tables:
            create, *indexes = table.ddl()
            tx.execute(create)
            for name, statement in zip(table.index_names(), indexes, strict=True):
                if name not in existing:
                    tx.execute(statement)

    def drop_tables(self, tx: Tx) -> None:
        for table in self.projection_class.tables:
            tx.execute(f"DROP TABLE IF EXISTS {{{table.name}}}")

    def clear_tables(self, tx: Tx) -> None:
        """Empty the view's tables and drop their secondary indexes (a rebuild makes them
        again at its end: Db.after_load)."""
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
        from projections.tracking import advance, read_position

        if expected is None:
            expected = read_position(self.db, self.name)
        if last is None:
            if not items:
                return expected
            last = items[-1][0]

        with self.db.transaction() as tx:
            # The tracking record first: it locks the view's row, so a second writer of the
            # same batch waits, then finds the position moved and reads and writes nothing.
            advance(tx, self.name, expected, last)
            changes = Changes(tx, self.projection_class.tables)
            if items:
                self.projection.prefetch(changes, [e for _, _, e in items])
                self.projection.apply(changes, items)
            changes.flush()
            self.projection.flushed(changes)
        return last

    # ---- TrackingRecorder ---------------------------------------------------------------
    def insert_tracking(self, tracking: Tracking) -> None:
        from projections.tracking import set_position

        with self.db.transaction() as tx:
            set_position(tx, self.name, tracking.notification_id)

    def max_tracking_id(self, application_name: str) -> int | None:
        from projections.tracking import read_position

        return read_position(self.db, self.name) or None
