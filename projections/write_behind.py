"""A bulk run's transaction whose bulk writes run on a thread of their own.

On PostgreSQL a rebuild spends about a third of its time waiting for the server (the COPYs of
each batch's rows, the server maintaining indexes). Handing those writes to one thread that
owns them, in the order they were asked, lets the server write while the interpreter reads,
decodes and applies the next batch (measured in bench/README.md). Everything else (a read, a
statement) first waits until the writes asked before it are done, so the run reads what it
wrote, as it would inline.

The rows handed over are tuples built for the write, which nobody changes afterwards.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from projections.db import Row, Table, Tx

# The rows waiting for the thread at most (beyond one write that alone is larger): a unit of
# work written at a rebuild's bound and a batch's trail rows, so that memory stays bounded
# when the server is slower than the interpreter.
QUEUED_ROWS = 150_000


class WriteBehind(Tx):
    """`tx` with its bulk writes (insert, upsert, delete_keys, increment) done in order by a
    writer thread; reads and other statements wait for them. A write that fails is raised to
    the caller at its next call (or at `close`), and the writes after it are not done."""

    def __init__(self, tx: Tx, queued_rows: int = QUEUED_ROWS) -> None:
        self.tx = tx
        self.queued_rows = queued_rows
        self._changed = threading.Condition()
        self._jobs: deque[tuple[Callable[[], None], int]] = deque()
        self._rows = 0  # rows of the writes not done yet
        self._pending = 0  # writes not done yet (queued or being written)
        self._closing = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write, name="ledger-bulk-writer",
                                        daemon=True)
        self._thread.start()

    def _write(self) -> None:
        while True:
            with self._changed:
                while not self._jobs and not self._closing:
                    self._changed.wait()
                if not self._jobs:
                    return
                job, rows = self._jobs.popleft()
            try:
                if self._error is None:
                    job()
            except BaseException as error:  # noqa: BLE001 - raised in the caller's thread
                self._error = error
            with self._changed:
                self._rows -= rows
                self._pending -= 1
                self._changed.notify_all()

    def _behind(self, write: Callable[..., None], table: Table, rows: Sequence[Row]) -> None:
        self._check()
        with self._changed:
            while self._rows and self._rows + len(rows) > self.queued_rows:
                self._changed.wait()
            self._jobs.append((partial(write, table, rows), len(rows)))
            self._rows += len(rows)
            self._pending += 1
            self._changed.notify_all()

    def wait(self) -> None:
        """Until every write asked so far is done; raises the first that failed."""
        with self._changed:
            while self._pending:
                self._changed.wait()
        self._check()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def close(self, *, cancel: bool = False) -> None:
        """Stop the thread after the writes asked (or, with `cancel`, skipping those not
        begun: the transaction is about to be rolled back)."""
        with self._changed:
            if cancel and self._error is None:
                self._error = RuntimeError("bulk run cancelled")
            self._closing = True
            self._changed.notify_all()
        self._thread.join()

    # ---- writes behind ------------------------------------------------------------------
    def insert(self, table: Table, rows: Sequence[Row]) -> None:
        self._behind(self.tx.insert, table, rows)

    def upsert(self, table: Table, rows: Sequence[Row]) -> None:
        self._behind(self.tx.upsert, table, rows)

    def delete_keys(self, table: Table, keys: Sequence[Row]) -> None:
        self._behind(self.tx.delete_keys, table, keys)

    def increment(self, table: Table, rows: Sequence[Row]) -> None:
        self._behind(self.tx.increment, table, rows)

    # ---- after them ---------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self.wait()
        return self.tx.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.wait()
        self.tx.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        self.wait()
        return self.tx.query(sql, params)

    def select_in(self, sql: str, column: str, values: Sequence[Any]) -> list[dict[str, Any]]:
        self.wait()
        return self.tx.select_in(sql, column, values)


@contextmanager
def writing_behind(tx: Tx, enabled: bool) -> Iterator[Tx]:
    """`tx` as a WriteBehind for the block when `enabled` (a store whose server works beside
    the interpreter), else `tx` itself. Every write is done when the block ends; if the block
    raises, the writes not begun are dropped (the caller rolls back)."""
    if not enabled:
        yield tx
        return
    behind = WriteBehind(tx)
    try:
        yield behind
    except BaseException:
        behind.close(cancel=True)
        raise
    behind.close()
    behind.wait()
