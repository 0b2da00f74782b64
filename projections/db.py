"""The one place where SQLite and PostgreSQL differ for the views.

Every view's SQL is written once, with `?` parameters and table names in braces
(`SELECT ... FROM {view_actions}`); a `Db` qualifies the names (PostgreSQL: the ledger's
schema) and translates the parameter style. Rows come back as plain dicts.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, partial
from operator import itemgetter
from pathlib import Path
from typing import Any

_NAME = re.compile(r"\{(view_[a-z_]+)\}")
Row = Sequence[Any]


# The column types the views use, as a binary COPY names them.
_BINARY = {"TEXT": "text", "INTEGER": "int4", "BIGINT": "int8"}


@dataclass(frozen=True)
class Table:
    """A view table. `columns` are (name, SQL type) pairs; the key columns come first.
    `counters` are integer columns changed by increments; a row whose counters are all zero
    is deleted, so a view built incrementally and one rebuilt in other batches are equal."""

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    counters: tuple[str, ...] = ()
    # Column lists, e.g. "agency_id, status, due_on", each optionally with " WHERE " and the
    # rows it holds (a partial index, on both stores).
    indexes: tuple[str, ...] = ()
    # Rows are only ever appended (the audit trail): on PostgreSQL a bulk run keeps its
    # indexes, which the server maintains while the rows stream in behind the run
    # (projections/write_behind.py), instead of making them after it.
    appended: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    @cached_property
    def values_of(self) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
        """A row's values in column order (every table has two columns or more)."""
        return itemgetter(*self.names)

    def binary_types(self, columns: Sequence[str]) -> list[str]:
        """The PostgreSQL type names of some columns, for a binary COPY."""
        types = {name: _BINARY[sql.split()[0]] for name, sql in self.columns}
        return [types[c] for c in columns]

    def ddl(self) -> list[str]:
        cols = ", ".join(f"{c} {t}" for c, t in self.columns)
        key = ", ".join(self.key)
        return [f"CREATE TABLE IF NOT EXISTS {{{self.name}}} ({cols}, PRIMARY KEY ({key}))",
                *self.index_ddl()]

    def index_ddl(self) -> list[str]:
        statements = []
        for i, index in enumerate(self.indexes):
            columns, where, rows = index.partition(" WHERE ")
            statements.append(f"CREATE INDEX IF NOT EXISTS {self.name}_i{i} ON "
                              f"{{{self.name}}} ({columns}){where}{rows}")
        return statements

    def indexed_columns(self) -> list[str]:
        """The key's columns and those of every index, once each."""
        columns = [*self.key, *(c.strip() for i in self.indexes
                                for c in i.partition(" WHERE ")[0].split(","))]
        return list(dict.fromkeys(columns))

    def index_names(self) -> list[str]:
        return [f"{self.name}_i{i}" for i in range(len(self.indexes))]

    def counter_rows(self, deltas: dict[Any, dict[str, int]]) -> list[tuple[Any, ...]]:
        """(key..., counter...) rows of keys whose counters are not all zero."""
        counters = self.counters
        rows = []
        for key, delta in deltas.items():
            values = tuple(delta.get(c, 0) for c in counters)
            if any(values):
                rows.append((*self.key_values(key), *values))
        return rows

    def key_of(self, row: dict[str, Any]) -> Any:
        if len(self.key) == 1:
            return row[self.key[0]]
        return tuple(row[k] for k in self.key)

    def key_values(self, key: Any) -> tuple[Any, ...]:
        return (key,) if len(self.key) == 1 else tuple(key)

    def where_key(self, alias: str = "") -> str:
        prefix = f"{alias}." if alias else ""
        return " AND ".join(f"{prefix}{k} = ?" for k in self.key)

    def upsert_sql(self, source: str | None = None) -> str:
        """INSERT ... ON CONFLICT DO UPDATE of whole rows, from VALUES or a staging table."""
        names = ", ".join(self.names)
        others = [c for c in self.names if c not in self.key]
        action = ("DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in others)
                  if others else "DO NOTHING")
        values = (f"SELECT {names} FROM {source}" if source
                  else f"VALUES ({', '.join('?' * len(self.names))})")
        return (f"INSERT INTO {{{self.name}}} ({names}) {values} "
                f"ON CONFLICT ({', '.join(self.key)}) {action}")

    def increment_sql(self, source: str | None = None) -> str:
        cols = ", ".join((*self.key, *self.counters))
        sets = ", ".join(f"{c} = t.{c} + excluded.{c}" for c in self.counters)
        values = (f"SELECT {cols} FROM {source}" if source
                  else f"VALUES ({', '.join('?' * (len(self.key) + len(self.counters)))})")
        return (f"INSERT INTO {{{self.name}}} AS t ({cols}) {values} "
                f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {sets}")

    @property
    def zero(self) -> str:
        return " AND ".join(f"{c} = 0" for c in self.counters)


def advisory_key(name: str) -> int:
    """A PostgreSQL advisory lock's key (a signed 64-bit number) for a lock's name."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def page_limit(rows: int) -> str:
    """A LIMIT with its number in the statement's text, not a parameter: PostgreSQL's cached
    (generic) plan of a prepared statement cannot know what LIMIT $n is, so it costs the plan
    as if a tenth of the table were wanted, finds it dearer than planning each page and plans
    every execution again (about a millisecond, more on a larger view). A few page sizes are
    a few cached statements."""
    return f"LIMIT {int(rows)}"


class Tx(ABC):
    """A transaction on the views' store."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    @abstractmethod
    def select_in(self, sql: str, column: str, values: Sequence[Any]) -> list[dict[str, Any]]:
        """`sql` with `{in}` standing for "column IN values" (chunked as the dialect needs)."""

    # Bulk writes of one batch (rows are tuples in the table's column order).
    def upsert(self, table: Table, rows: Sequence[Row]) -> None:
        self.executemany(table.upsert_sql(), rows)

    def insert(self, table: Table, rows: Sequence[Row]) -> None:
        names = table.names
        self.executemany(f"INSERT INTO {{{table.name}}} ({', '.join(names)}) "
                         f"VALUES ({', '.join('?' * len(names))})", rows)

    def delete_keys(self, table: Table, keys: Sequence[Row]) -> None:
        self.executemany(f"DELETE FROM {{{table.name}}} WHERE {table.where_key()}", keys)

    def increment(self, table: Table, rows: Sequence[Row]) -> None:
        """Add (key..., deltas...) to the counters; drop the rows that reach all zeros."""
        self.executemany(table.increment_sql(), rows)
        n = len(table.key)
        self.executemany(f"DELETE FROM {{{table.name}}} WHERE {table.where_key()} "
                         f"AND {table.zero}", [r[:n] for r in rows])


class OpenTx:
    """A transaction begun in one thread and possibly committed in another (the runner
    prepares a view's batch while an earlier one commits)."""

    def __init__(self, tx: Tx, commit: Any, rollback: Any) -> None:
        self.tx = tx
        self._commit = commit
        self._rollback = rollback

    def commit(self) -> None:
        self._commit()

    def rollback(self) -> None:
        self._rollback()


class Db(ABC):
    dialect: str
    identity: str  # which store, for lock names: a file path or "schema@database"
    # A bulk run's writes go to a thread of their own (projections/write_behind.py): only
    # where a server works beside the interpreter.
    writes_behind = False

    def __init__(self) -> None:
        self._sql_cache: dict[str, str] = {}

    def sql(self, statement: str) -> str:
        cached = self._sql_cache.get(statement)
        if cached is None:
            cached = self._translate(_NAME.sub(lambda m: self.table(m.group(1)), statement))
            self._sql_cache[statement] = cached
        return cached

    @abstractmethod
    def table(self, name: str) -> str: ...

    def _translate(self, statement: str) -> str:
        return statement

    @abstractmethod
    def begin(self) -> OpenTx:
        """A read-write transaction, committed or rolled back by the caller."""

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A read-write transaction, committed on success."""
        open_tx = self.begin()
        try:
            yield open_tx.tx
        except BaseException:
            open_tx.rollback()
            raise
        open_tx.commit()

    @abstractmethod
    def snapshot(self) -> Any:
        """Context manager: a read-only transaction with one consistent snapshot."""

    @abstractmethod
    def close(self) -> None: ...

    def existing_indexes(self, tx: Tx) -> set[str]:
        """The names of the indexes the views' store holds (SQLite's catalog; PostgreSQL
        overrides)."""
        return {row["name"] for row in tx.query(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}

    def hold_setup_lock(self, tx: Tx) -> None:
        """Make `tx` the only one setting the views up until it ends: processes starting
        together on a new store (the API's and the worker) each create what is missing.
        SQLite: its write transactions already run one at a time."""

    def clear(self, tables: Iterable[Table]) -> list[str]:
        """What empties tables for a rebuild and drops their secondary indexes (their primary
        keys stay); `after_load` makes them again. SQLite: DELETE without WHERE, its fastest
        way to empty a table."""
        tables = list(tables)
        return [*(f"DELETE FROM {{{t.name}}}" for t in tables),
                *(f"DROP INDEX IF EXISTS {i}" for t in tables for i in t.index_names())]

    def after_load(self, table: Table) -> list[str]:
        """What a table filled in bulk needs: its indexes, then planner statistics if it has
        indexes to choose among (the Board's queries need them at once)."""
        return [*table.index_ddl(), *([f"ANALYZE {{{table.name}}}"] if table.indexes else [])]

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.snapshot() as tx:
            return tx.query(sql, params)


class OneTransaction(Db):
    """Every unit of work of a bulk run (a rebuild, a point-in-time replay) inside one open
    transaction `tx` of `db`: each unit is a savepoint (a batch that fails is undone alone,
    as the runner's failure policy needs) and reads see what the run has written. The run
    commits or rolls back as a whole, with its caller's transaction."""

    def __init__(self, db: Db, tx: Tx) -> None:
        super().__init__()
        self.db = db
        self.tx = tx
        self.dialect = db.dialect
        self.identity = db.identity

    def table(self, name: str) -> str:
        return self.db.table(name)

    def sql(self, statement: str) -> str:
        return self.db.sql(statement)

    def begin(self) -> OpenTx:
        tx = self.tx
        tx.execute("SAVEPOINT unit")

        def rollback() -> None:
            tx.execute("ROLLBACK TO SAVEPOINT unit")
            tx.execute("RELEASE SAVEPOINT unit")

        return OpenTx(tx, lambda: tx.execute("RELEASE SAVEPOINT unit"), rollback)

    @contextmanager
    def snapshot(self) -> Iterator[Tx]:
        yield self.tx

    def clear(self, tables: Iterable[Table]) -> list[str]:
        return self.db.clear(tables)

    def existing_indexes(self, tx: Tx) -> set[str]:
        return self.db.existing_indexes(tx)

    def after_load(self, table: Table) -> list[str]:
        return self.db.after_load(table)

    def close(self) -> None:
        """The transaction is its caller's."""


# ---- SQLite ---------------------------------------------------------------------------------


class _SqliteTx(Tx):
    def __init__(self, db: SqliteDb, conn: sqlite3.Connection) -> None:
        self.db = db
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(self.db.sql(sql), params).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.conn.executemany(self.db.sql(sql), rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(self.db.sql(sql), params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def select_in(self, sql: str, column: str, values: Sequence[Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i in range(0, len(values), 500):  # SQLite caps the number of parameters
            chunk = values[i:i + 500]
            marks = ",".join("?" * len(chunk))
            out += self.query(sql.replace("{in}", f"{column} IN ({marks})"), chunk)
        return out


class SqliteDb(Db):
    """Views in their own SQLite file (never the events' file: the library's table names are
    fixed). One connection per thread, WAL so readers never wait for the writer; ":memory:"
    is one shared connection behind a lock (point-in-time copies)."""

    dialect = "sqlite"

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = str(path)
        self.identity = self.path
        self.memory = self.path == ":memory:"
        self._local = threading.local()
        self._lock = threading.RLock()
        self._shared: sqlite3.Connection | None = None
        self._all: list[sqlite3.Connection] = []
        if not self.memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)

    def table(self, name: str) -> str:
        return name

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=30)
        if not self.memory:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA analysis_limit=1000")  # ANALYZE samples rather than reads all
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self.memory:
            if self._shared is None:
                self._shared = self._connect()
            return self._shared
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def begin(self) -> OpenTx:
        if self.memory:
            self._lock.acquire()
        try:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            if self.memory:
                self._lock.release()
            raise

        def end(statement: str) -> None:
            try:
                conn.execute(statement)
            finally:
                if self.memory:
                    self._lock.release()

        return OpenTx(_SqliteTx(self, conn), lambda: end("COMMIT"), lambda: end("ROLLBACK"))

    @contextmanager
    def snapshot(self) -> Iterator[Tx]:
        with self._lock if self.memory else _nolock():
            conn = self._conn()
            conn.execute("BEGIN")
            try:
                yield _SqliteTx(self, conn)
            finally:
                conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
            if self._shared is not None:
                self._shared.close()
                self._shared = None
        self._local = threading.local()


@contextmanager
def _nolock() -> Iterator[None]:
    yield


# ---- PostgreSQL -----------------------------------------------------------------------------


class _PgTx(Tx):
    def __init__(self, db: PostgresDb, conn: Any) -> None:
        self.db = db
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = self.conn.execute(self.db.sql(sql), params or None)
        return cursor.rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self.conn.cursor() as cursor:
                cursor.executemany(self.db.sql(sql), rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(self.db.sql(sql), params or None)
        names = [d.name for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def select_in(self, sql: str, column: str, values: Sequence[Any]) -> list[dict[str, Any]]:
        if not values:
            return []
        return self.query(sql.replace("{in}", f"{column} = ANY(?)"), [list(values)])

    # Many rows go through COPY into a temporary staging table and one set-based statement:
    # a few round trips per table and batch, however many rows (a rebuild writes hundreds of
    # thousands). A handful of rows go as an executemany.
    BULK = 40

    def _copy(self, table: Table, target: str, columns: Sequence[str],
              rows: Iterable[Row]) -> None:
        # Binary: half the client's work of text (no escaping, no number formatting), which
        # in a rebuild is interpreter time taken from the handlers. Values must then be of
        # their column's type exactly (str for TEXT, int for INTEGER and BIGINT).
        with self.conn.cursor() as cursor, cursor.copy(
                f"COPY {target} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(table.binary_types(columns))
            for row in rows:
                copy.write_row(row)

    def _stage(self, table: Table, columns: Sequence[str], kind: str) -> str:
        stage = f"stage_{kind}_{table.name}"
        made = self.db.staged(self.conn)
        if stage not in made:
            self.conn.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
                f"SELECT {', '.join(columns)} FROM {self.db.table(table.name)} WITH NO DATA")
            made.add(stage)
        else:  # rows of an earlier batch of the same transaction (a bulk run's) go first
            self.conn.execute(f"TRUNCATE {stage}")
        return stage

    def insert(self, table: Table, rows: Sequence[Row]) -> None:
        if len(rows) <= self.BULK:
            return super().insert(table, rows)
        self._copy(table, self.db.table(table.name), table.names, rows)

    def upsert(self, table: Table, rows: Sequence[Row]) -> None:
        if len(rows) <= self.BULK:
            return super().upsert(table, rows)
        stage = self._stage(table, table.names, "rows")
        self._copy(table, stage, table.names, rows)
        self.execute(table.upsert_sql(stage))

    def delete_keys(self, table: Table, keys: Sequence[Row]) -> None:
        if len(keys) <= self.BULK:
            return super().delete_keys(table, keys)
        stage = self._stage(table, table.key, "keys")
        self._copy(table, stage, table.key, keys)
        match = " AND ".join(f"t.{k} = s.{k}" for k in table.key)
        self.execute(f"DELETE FROM {{{table.name}}} t USING {stage} s WHERE {match}")

    def increment(self, table: Table, rows: Sequence[Row]) -> None:
        if len(rows) <= self.BULK:
            return super().increment(table, rows)
        columns = (*table.key, *table.counters)
        stage = self._stage(table, columns, "deltas")
        self._copy(table, stage, columns, rows)
        self.execute(table.increment_sql(stage))
        match = " AND ".join(f"t.{k} = s.{k}" for k in table.key)
        zero = " AND ".join(f"t.{c} = 0" for c in table.counters)
        self.execute(f"DELETE FROM {{{table.name}}} t USING {stage} s WHERE {match} AND {zero}")


class PostgresDb(Db):
    """Views beside the events: same database and schema, tables prefixed view_. Its own small
    pool, so a busy projection never starves the ledger's command connections."""

    dialect = "postgres"
    writes_behind = True

    def __init__(self, conninfo: str, kwargs: dict[str, Any], schema: str, *,
                 max_size: int = 4, timeout: float = 1.0) -> None:
        super().__init__()
        from psycopg_pool import ConnectionPool

        self.schema = schema or "public"
        self.kwargs = {k: v for k, v in kwargs.items() if k != "row_factory"}
        # A server that went away must cost a reader about `timeout`, not minutes.
        self.kwargs.setdefault("connect_timeout", 2)
        self.conninfo = conninfo
        self.identity = f"{self.schema}@{self.kwargs.get('dbname', '')}"
        self._staged: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
        # Connections are checked before they are lent (a restarted server leaves every
        # pooled connection broken), and a caller waits at most `timeout` for one.
        self.pool = quick_reconnect(ConnectionPool)(conninfo, kwargs=self.kwargs, min_size=1,
                                   max_size=max_size, open=True, timeout=timeout,
                                   check=ConnectionPool.check_connection,
                                   reconnect_timeout=24 * 3600,
                                   configure=_configure, name="ledger-views")

    def table(self, name: str) -> str:
        return f'"{self.schema}".{name}'

    def existing_indexes(self, tx: Tx) -> set[str]:
        return {row["indexname"] for row in tx.query(
            "SELECT indexname FROM pg_indexes WHERE schemaname = ?", (self.schema,))}

    def hold_setup_lock(self, tx: Tx) -> None:
        # Two CREATE TABLE IF NOT EXISTS at once both create, and one fails on the catalog's
        # unique index (pg_type): a lock for the transaction, per schema and database.
        tx.execute("SELECT pg_advisory_xact_lock(?)",
                   (advisory_key(f"ledger-setup:{self.identity}"),))

    def clear(self, tables: Iterable[Table]) -> list[str]:
        """One TRUNCATE and one DROP INDEX for all the tables (each a round trip and a
        catalog change); a table of appended rows keeps its indexes (`Table.appended`)."""
        tables = list(tables)
        indexes = [f'"{self.schema}".{i}' for t in tables if not t.appended
                   for i in t.index_names()]
        return [f"TRUNCATE {', '.join(self.table(t.name) for t in tables)}",
                *([f"DROP INDEX IF EXISTS {', '.join(indexes)}"] if indexes else [])]

    def after_load(self, table: Table) -> list[str]:
        # A rebuilt table keeps the statistics it had (TRUNCATE leaves them), taken from the
        # same events: autovacuum refreshes them soon after. A new table gets them at once,
        # of the columns queries filter and sort by only (half the time of all of them on
        # the audit trail, whose summaries are long).
        if not table.indexes:
            return []
        columns = ", ".join(table.indexed_columns())
        analyse = (f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_stats WHERE schemaname = "
                     f"'{self.schema}' AND tablename = '{table.name}') THEN ANALYZE "
                     f"{self.table(table.name)} ({columns}); END IF; END$$")
        return [*table.index_ddl(), analyse]

    def _translate(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def connect(self) -> Any:
        """A dedicated connection outside the pool (held for a worker's life: advisory locks,
        LISTEN)."""
        import psycopg

        return psycopg.connect(self.conninfo, autocommit=True, **self.kwargs)

    def staged(self, conn: Any) -> set[str]:
        """The staging tables this connection's session has made (they live as long as it)."""
        return self._staged.setdefault(conn, set())

    def begin(self) -> OpenTx:
        conn = self.pool.getconn()
        done = partial(self.pool.putconn, conn)
        try:
            # A view and its tracking commit together, so a commit lost in a crash is simply
            # applied again: no need to wait for the WAL flush. (One round trip.)
            conn.execute("BEGIN; SET LOCAL synchronous_commit TO OFF")
        except BaseException:
            done()
            raise

        def end(statement: str) -> None:
            try:
                conn.execute(statement)
            finally:
                done()

        return OpenTx(_PgTx(self, conn), lambda: end("COMMIT"), lambda: end("ROLLBACK"))

    @contextmanager
    def snapshot(self) -> Iterator[Tx]:
        with self.pool.connection() as conn:
            # Every answer reads its position and its rows in one snapshot.
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield _PgTx(self, conn)
            finally:
                conn.execute("ROLLBACK")  # read only: nothing to commit

    def close(self) -> None:
        self.pool.close()


def quick_reconnect(pool_class: type) -> type:
    """`pool_class` whose lost connections are tried again every second at most.

    psycopg_pool doubles the delay between tries without bound (1, 2, 4, 8, 16 s...): after
    a ten-second outage the pool waited up to 16 s more before it tried again, and requests
    got 503 long after the server was back. Here the delay stays at most MAX_DELAY."""
    from psycopg_pool.base import AttemptWithBackoff

    class QuickAttempt(AttemptWithBackoff):
        INITIAL_DELAY = 0.25
        MAX_DELAY = 1.0

        def update_delay(self, now: float) -> None:
            super().update_delay(now)
            self.delay = min(self.delay, self.MAX_DELAY)

    class QuickReconnect(pool_class):  # type: ignore[misc, valid-type]
        def _add_connection(self, attempt: Any, growing: bool = False) -> None:
            if attempt is None:
                attempt = QuickAttempt(timeout=self.reconnect_timeout)
            super()._add_connection(attempt, growing)

    QuickReconnect.__name__ = QuickReconnect.__qualname__ = f"QuickReconnect{pool_class.__name__}"
    return QuickReconnect


def _configure(conn: Any) -> None:
    conn.autocommit = True
    # The views are small and hot: their pages are in memory, so a random read costs about
    # what a sequential one does. With the default (4) the planner walked the audit trail in
    # position order filtering by agency (thousands of rows) rather than take the agency's
    # index (a page of rows), and such queries grew with the log.
    conn.execute("SET random_page_cost = 1.1")
