"""The one place where SQLite and PostgreSQL differ for the views.

Every view's SQL is written once, with `?` parameters and table names in braces
(`SELECT ... FROM {view_actions}`); a `Db` qualifies the names (PostgreSQL: the ledger's
schema) and translates the parameter style. Rows come back as plain dicts.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_NAME = re.compile(r"\{(view_[a-z_]+)\}")


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


class Db(ABC):
    dialect: str
    identity: str  # which store, for lock names: a file path or "schema@database"

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
    def transaction(self) -> Any:
        """Context manager: a read-write transaction, committed on success."""

    @abstractmethod
    def snapshot(self) -> Any:
        """Context manager: a read-only transaction with one consistent snapshot."""

    @abstractmethod
    def close(self) -> None: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.snapshot() as tx:
            return tx.query(sql, params)

    def script(self, statements: Iterable[str]) -> None:
        with self.transaction() as tx:
            for statement in statements:
                tx.execute(statement)


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

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock if self.memory else _nolock():
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(self, conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

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

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Bulk insert with COPY (many times faster than INSERTs for append-only rows)."""
        statement = f"COPY {self.db.table(table)} ({', '.join(columns)}) FROM STDIN"
        with self.conn.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)


class PostgresDb(Db):
    """Views beside the events: same database and schema, tables prefixed view_. Its own small
    pool, so a busy projection never starves the ledger's command connections."""

    dialect = "postgres"

    def __init__(self, conninfo: str, kwargs: dict[str, Any], schema: str, *,
                 max_size: int = 4) -> None:
        super().__init__()
        from psycopg_pool import ConnectionPool

        self.schema = schema or "public"
        self.kwargs = {k: v for k, v in kwargs.items() if k != "row_factory"}
        self.conninfo = conninfo
        self.identity = f"{self.schema}@{self.kwargs.get('dbname', '')}"
        self.pool = ConnectionPool(conninfo, kwargs=self.kwargs, min_size=1,
                                   max_size=max_size, open=True, timeout=10,
                                   configure=_autocommit, name="ledger-views")

    def table(self, name: str) -> str:
        return f'"{self.schema}".{name}'

    def _translate(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def connect(self) -> Any:
        """A dedicated connection outside the pool (held for a worker's life: advisory locks,
        LISTEN)."""
        import psycopg

        return psycopg.connect(self.conninfo, autocommit=True, **self.kwargs)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.pool.connection() as conn, conn.transaction():
            yield _PgTx(self, conn)

    @contextmanager
    def snapshot(self) -> Iterator[Tx]:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield _PgTx(self, conn)

    def close(self) -> None:
        self.pool.close()


def _autocommit(conn: Any) -> None:
    conn.autocommit = True
