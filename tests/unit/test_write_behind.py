"""A bulk run's writes behind it (projections/write_behind.py) and the keys it has written
(projections/base.py, Written): what the rebuild relies on to read what it wrote."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from projections.base import Written
from projections.db import Row, Table, Tx
from projections.write_behind import WriteBehind, writing_behind

T = Table("view_t", (("k", "TEXT"), ("v", "INTEGER")), key=("k",))


class Recording(Tx):
    """A transaction that records what it was asked, in order; a write can be held until
    released (the server still busy) or made to fail."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []
        self.release = threading.Event()
        self.release.set()
        self.fail_on: str | None = None

    def _write(self, what: str, rows: Sequence[Row]) -> None:
        self.release.wait(5)
        if what == self.fail_on:
            raise RuntimeError(f"{what} failed")
        self.log.append((what, list(rows)))

    def insert(self, table: Table, rows: Sequence[Row]) -> None:
        self._write("insert", rows)

    def upsert(self, table: Table, rows: Sequence[Row]) -> None:
        self._write("upsert", rows)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self.log.append(("execute", sql))
        return 1

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.log.append(("executemany", sql))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        self.log.append(("query", sql))
        return []

    def select_in(self, sql: str, column: str, values: Sequence[Any]) -> list[dict[str, Any]]:
        self.log.append(("select_in", sql))
        return []


def test_writes_are_done_in_the_order_asked() -> None:
    tx = Recording()
    with writing_behind(tx, True) as behind:
        behind.insert(T, [("a", 1)])
        behind.upsert(T, [("a", 2)])
        behind.insert(T, [("b", 3)])
    assert tx.log == [("insert", [("a", 1)]), ("upsert", [("a", 2)]), ("insert", [("b", 3)])]


def test_a_read_waits_for_the_writes_asked_before_it() -> None:
    tx = Recording()
    tx.release.clear()  # the server has not written the rows yet
    with writing_behind(tx, True) as behind:
        behind.insert(T, [("a", 1)])
        threading.Timer(0.2, tx.release.set).start()
        behind.select_in("SELECT * FROM {view_t} WHERE {in}", "k", ["a"])
    assert [what for what, _ in tx.log] == ["insert", "select_in"]


def test_a_statement_waits_for_the_writes_asked_before_it() -> None:
    tx = Recording()
    tx.release.clear()
    with writing_behind(tx, True) as behind:
        behind.upsert(T, [("a", 1)])
        threading.Timer(0.2, tx.release.set).start()
        behind.execute("CREATE INDEX ...")
    assert [what for what, _ in tx.log] == ["upsert", "execute"]


def test_a_failed_write_is_raised_to_the_caller_and_the_writes_after_it_are_not_done() -> None:
    tx = Recording()
    tx.fail_on = "upsert"
    with pytest.raises(RuntimeError, match="upsert failed"), writing_behind(tx, True) as behind:
        behind.insert(T, [("a", 1)])
        behind.upsert(T, [("a", 2)])
        behind.insert(T, [("b", 3)])
        behind.query("SELECT 1")
    assert tx.log == [("insert", [("a", 1)])]


def test_writes_not_begun_are_dropped_when_the_run_fails() -> None:
    tx = Recording()
    tx.release.clear()
    with pytest.raises(KeyError), writing_behind(tx, True) as behind:
        behind.insert(T, [("a", 1)])
        behind.insert(T, [("b", 2)])
        threading.Timer(0.2, tx.release.set).start()
        raise KeyError("a view failed")
    assert [rows for _, rows in tx.log] in ([], [[("a", 1)]])  # at most the one begun


def test_the_caller_waits_when_too_many_rows_are_queued() -> None:
    tx = Recording()
    tx.release.clear()
    behind = WriteBehind(tx, queued_rows=3)
    try:
        behind.insert(T, [("a", 1), ("b", 2)])
        asked = threading.Event()

        def more() -> None:
            behind.insert(T, [("c", 3), ("d", 4)])
            asked.set()

        threading.Thread(target=more).start()
        assert not asked.wait(0.2)  # 4 rows would be queued: it waits
        tx.release.set()
        assert asked.wait(5)
    finally:
        behind.close()
    assert [rows for _, rows in tx.log] == [[("a", 1), ("b", 2)], [("c", 3), ("d", 4)]]


def test_without_a_server_beside_the_interpreter_the_transaction_is_used_as_it_is() -> None:
    tx = Recording()
    with writing_behind(tx, False) as same:
        assert same is tx


def test_a_key_never_written_is_known_absent() -> None:
    written = Written()
    written.add("view_t", ["a", ("b", 1)])
    assert written.may_hold("view_t", "a")
    assert written.may_hold("view_t", ("b", 1))
    assert not written.may_hold("view_t", "c")
    assert not written.may_hold("view_other", "a")
