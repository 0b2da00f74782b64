"""A rebuild is the runner in bulk (projections/runner.py, run_in_bulk): the views emptied,
every event applied in large batches, the indexes made again, all in one transaction. These
tests pin what that must keep: the same views as batch by batch, every index and key, the
failure policy, and that a rebuild that fails leaves the views as they were."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from api.settings import Settings
from domain.actors import Actor, Role
from domain.application import Context
from domain.ledger import Ledger
from projections import VIEWS, runner
from projections.base import Changes
from projections.directory import Directory
from projections.readside import ReadSide
from projections.rebuild import rebuild
from projections.runner import Runner

OPERATOR = Context(Actor("operator:test", Role.OPERATOR, name="Test Operator"))


def history(ledger: Ledger) -> tuple[int, int]:
    """Three agencies, one renamed: (position of the rename, head)."""
    agency = ledger.register_agency(OPERATOR, name="Hospital", kind="health",
                                    statutory_partner=False, partnerships=["SSSCB"],
                                    occurred_on=date(2025, 1, 6)).id
    rename = ledger.rename_agency(OPERATOR, agency, name="Hospital Trust", reason="renamed",
                                  occurred_on=date(2025, 1, 7)).position
    for name in ("Police", "Council"):
        head = ledger.register_agency(OPERATOR, name=name, kind="police",
                                      statutory_partner=True, partnerships=["SSSCB"],
                                      occurred_on=date(2025, 1, 8)).position
    return rename, head


def rows(side: ReadSide) -> dict[str, list[dict[str, object]]]:
    out = {}
    for cls in VIEWS.values():
        for table in cls.tables:
            out[table.name] = side.db.query(
                f"SELECT * FROM {{{table.name}}} ORDER BY {', '.join(table.key)}")
    return out


def indexes(side: ReadSide) -> set[str]:
    if side.db.dialect == "postgres":
        found = side.db.query("SELECT indexname AS name FROM pg_indexes WHERE schemaname = ?",
                              (side.db.schema,))  # type: ignore[attr-defined]
    else:
        found = side.db.query("SELECT name FROM sqlite_master WHERE type = 'index'")
    return {r["name"] for r in found}


def keyed(side: ReadSide) -> set[str]:
    """The view tables that have their primary key."""
    if side.db.dialect == "postgres":
        found = side.db.query(
            "SELECT c.relname AS name FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE k.contype = 'p' "
            "AND n.nspname = ?", (side.db.schema,))  # type: ignore[attr-defined]
    else:
        found = side.db.query("SELECT DISTINCT m.name FROM sqlite_master m, "
                              "pragma_table_info(m.name) p WHERE m.type = 'table' AND p.pk > 0")
    return {r["name"] for r in found}


ALL_TABLES = {t.name for cls in VIEWS.values() for t in cls.tables}


def test_a_rebuild_leaves_every_view_as_the_events_applied_one_batch_at_a_time(
        ledger: Ledger, settings: Settings, side: ReadSide) -> None:
    history(ledger)
    Runner(side, batch_size=1).catch_up()
    before = rows(side)
    rebuild(settings, ledger, read_side=side)
    assert rows(side) == before


def test_a_rebuild_leaves_every_index_in_place(ledger: Ledger, settings: Settings,
                                               side: ReadSide) -> None:
    history(ledger)
    wanted = {name for cls in VIEWS.values() for t in cls.tables for name in t.index_names()}
    assert wanted <= indexes(side)
    rebuild(settings, ledger, read_side=side)
    assert wanted <= indexes(side)


def test_a_rebuild_leaves_every_view_table_its_primary_key(ledger: Ledger, settings: Settings,
                                                           side: ReadSide) -> None:
    history(ledger)
    assert ALL_TABLES <= keyed(side)
    rebuild(settings, ledger, read_side=side)
    assert ALL_TABLES <= keyed(side)


def raises(self: object, ch: Changes, e: object) -> None:
    raise RuntimeError("cannot apply this rename")


def nameless(self: object, ch: Changes, e: object) -> None:
    """A row the store refuses: the failure comes from the write (on PostgreSQL, on the bulk
    run's writer thread), not the handler."""
    ch.update("view_agencies", str(e.originator_id), name=None)  # type: ignore[attr-defined]


@pytest.mark.parametrize("renamed", [raises, nameless], ids=["handler-raises", "row-refused"])
def test_a_rebuild_stops_a_view_at_the_event_it_cannot_apply_and_builds_the_others(
        ledger: Ledger, settings: Settings, side: ReadSide, monkeypatch: pytest.MonkeyPatch,
        renamed: object) -> None:
    rename, head = history(ledger)
    monkeypatch.setattr(Directory, "renamed", renamed)
    side.views["directory"].projection = Directory(side.views["directory"])
    status = {v["view"]: v for v in rebuild(settings, ledger, read_side=side).values()}
    assert (status["directory"]["state"], status["directory"]["failed_position"],
            status["directory"]["position"]) == ("failed", rename, rename - 1)
    assert all(v["position"] == head and v["state"] == "running"
               for name, v in status.items() if name != "directory")


def assert_as_they_were(side: ReadSide, head: int, before: dict[str, list[dict[str, object]]],
                        ) -> None:
    assert set(side.positions().values()) == {head}
    assert rows(side) == before
    wanted = {name for cls in VIEWS.values() for t in cls.tables for name in t.index_names()}
    assert wanted <= indexes(side)
    assert ALL_TABLES <= keyed(side)


def test_a_rebuild_cut_short_by_the_store_leaves_the_views_as_they_were(
        ledger: Ledger, settings: Settings, side: ReadSide,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, head = history(ledger)
    Runner(side).catch_up()
    before = rows(side)

    def unavailable(self: object, ch: object, e: object) -> None:
        raise sqlite3.OperationalError("database is locked")  # trouble with a store, not an event

    monkeypatch.setattr(Directory, "renamed", unavailable)
    with pytest.raises(sqlite3.OperationalError):
        rebuild(settings, ledger, read_side=side)
    assert_as_they_were(side, head, before)


def test_a_store_failure_while_a_rebuild_writes_its_rows_leaves_the_views_as_they_were(
        ledger: Ledger, settings: Settings, side: ReadSide,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, head = history(ledger)
    Runner(side).catch_up()
    before = rows(side)
    flush = Changes.flush

    def failing(self: Changes) -> None:
        if "view_agencies" in self.tables:
            raise sqlite3.OperationalError("database is locked")
        flush(self)

    monkeypatch.setattr(Changes, "flush", failing)
    with pytest.raises(sqlite3.OperationalError):
        rebuild(settings, ledger, read_side=side)
    monkeypatch.undo()
    assert_as_they_were(side, head, before)


def test_a_store_failure_writing_a_batchs_audit_rows_leaves_the_views_as_they_were(
        ledger: Ledger, settings: Settings, side: ReadSide,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows appended in a batch are written after it, in the rebuild's transaction."""
    _, head = history(ledger)
    Runner(side).catch_up()
    before = rows(side)
    written: list[int] = []

    def failing(tx: object, taken: object) -> None:
        written.append(1)
        if len(written) == 2:
            raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(runner, "_insert", failing)
    with pytest.raises(sqlite3.OperationalError):
        rebuild(settings, ledger, read_side=side, batch_size=1)
    monkeypatch.undo()
    assert_as_they_were(side, head, before)


def test_a_rebuild_reads_each_event_once_and_decodes_it_at_most_once(
        ledger: Ledger, settings: Settings, side: ReadSide,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, head = history(ledger)
    read: list[int] = []
    stored = type(ledger.store).stored

    def counted(self: object, after: int, limit: int, stop: int | None = None) -> object:
        found = stored(self, after, limit, stop)  # type: ignore[arg-type]
        read.extend(row.id for row in found)
        return found

    monkeypatch.setattr(type(ledger.store), "stored", counted)
    rebuild(settings, ledger, read_side=side)
    assert sorted(read) == sorted(set(read)) and read[-1] == head


def test_a_rebuild_that_cannot_empty_the_views_raises_and_leaves_them_as_they_were(
        ledger: Ledger, settings: Settings, side: ReadSide,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An error emptying the views is the rebuild's error, not an event to fall back to
    applying batch by batch over full views."""
    _, head = history(ledger)
    Runner(side).catch_up()
    before = rows(side)

    def refused(tables: object) -> list[str]:
        raise ValueError("no emptying today")

    monkeypatch.setattr(side.db, "clear", refused)
    with pytest.raises(ValueError, match="no emptying today"):
        rebuild(settings, ledger, read_side=side)
    assert set(side.positions().values()) == {head}
    assert rows(side) == before


@pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_rebuild_needs_no_more_pooled_connections_than_the_smallest_pool(
        ledger: Ledger, tmp_path: Path) -> None:
    """A rebuild is one transaction: one connection of the pool, whatever its size."""
    _, head = history(ledger)
    small = ReadSide(Settings(data_dir=tmp_path, api_threads=2), ledger)  # a views pool of 2
    try:
        rebuild(small.settings, ledger, read_side=small)
        assert set(small.positions().values()) == {head}
    finally:
        small.close()
