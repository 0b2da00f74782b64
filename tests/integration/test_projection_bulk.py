"""A rebuild bulk loads the views (projections/bulk.py): one unit of work per view, written at
the end with the indexes. These tests pin what that must not change: the failure policy, the
indexes, and that an interrupted load leaves nothing half written."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from api.settings import Settings
from domain.actors import Actor, Role
from domain.application import Context
from projections import VIEWS, bulk
from projections.directory import Directory
from projections.readside import ReadSide
from projections.rebuild import rebuild
from projections.runner import Runner

OPERATOR = Context(Actor("operator:test", Role.OPERATOR, name="Test Operator"))


def history(ledger: Any) -> tuple[int, int]:
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


def rows(side: ReadSide) -> dict[str, list[dict[str, Any]]]:
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
    """The view tables that have their primary key (on PostgreSQL a load drops it, and
    makes it again with the other indexes)."""
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
        ledger: Any, settings: Settings, side: ReadSide) -> None:
    history(ledger)
    Runner(side, batch_size=1).catch_up()
    before = rows(side)
    rebuild(settings, ledger, read_side=side)
    assert rows(side) == before


def test_a_rebuild_leaves_every_index_in_place(ledger: Any, settings: Settings,
                                               side: ReadSide) -> None:
    history(ledger)
    wanted = {name for cls in VIEWS.values() for t in cls.tables for name in t.index_names()}
    assert wanted <= indexes(side)
    rebuild(settings, ledger, read_side=side)
    assert wanted <= indexes(side)


def test_a_rebuild_leaves_every_view_table_its_primary_key(ledger: Any, settings: Settings,
                                                           side: ReadSide) -> None:
    history(ledger)
    assert ALL_TABLES <= keyed(side)
    rebuild(settings, ledger, read_side=side)
    assert ALL_TABLES <= keyed(side)


def test_a_rebuild_stops_a_view_at_the_event_it_cannot_apply_and_builds_the_others(
        ledger: Any, settings: Settings, side: ReadSide,
        monkeypatch: pytest.MonkeyPatch) -> None:
    rename, head = history(ledger)

    def broken(self: Any, ch: Any, e: Any) -> None:
        raise RuntimeError("cannot apply this rename")

    monkeypatch.setattr(Directory, "renamed", broken)
    side.views["directory"].projection = Directory(side.views["directory"])
    status = {v["view"]: v for v in rebuild(settings, ledger, read_side=side).values()}
    assert (status["directory"]["state"], status["directory"]["failed_position"],
            status["directory"]["position"]) == ("failed", rename, rename - 1)
    assert all(v["position"] == head and v["state"] == "running"
               for name, v in status.items() if name != "directory")


def test_a_bulk_load_cut_short_by_the_store_leaves_the_views_empty_at_the_first_event(
        ledger: Any, settings: Settings, side: ReadSide,
        monkeypatch: pytest.MonkeyPatch) -> None:
    history(ledger)
    Runner(side).catch_up()

    def unavailable(self: Any, ch: Any, e: Any) -> None:
        raise sqlite3.OperationalError("database is locked")  # trouble with a store, not an event

    monkeypatch.setattr(Directory, "renamed", unavailable)
    side.views["directory"].projection = Directory(side.views["directory"])
    with pytest.raises(sqlite3.OperationalError):
        rebuild(settings, ledger, read_side=side)
    assert set(side.positions().values()) == {0}
    assert not any(rows(side).values())
    wanted = {name for cls in VIEWS.values() for t in cls.tables for name in t.index_names()}
    assert wanted <= indexes(side)  # for the worker that will fill them batch by batch
    assert ALL_TABLES <= keyed(side)  # its upserts find their rows by it


def test_a_store_failure_while_a_load_writes_its_rows_leaves_each_view_whole_or_empty(
        ledger: Any, settings: Settings, side: ReadSide,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL each view commits on its own as soon as its rows are written, so the
    views written before the failure may be whole; none is ever half written."""
    _, head = history(ledger)
    Runner(side).catch_up()
    before = rows(side)
    write = bulk._write

    def failing(tx: Any, table: Any, written: Any, after: Any) -> None:
        if table.name == "view_agencies":
            raise sqlite3.OperationalError("database is locked")
        write(tx, table, written, after)

    monkeypatch.setattr(bulk, "_write", failing)
    with pytest.raises(sqlite3.OperationalError):
        rebuild(settings, ledger, read_side=side)
    positions, after = side.positions(), rows(side)
    assert positions["directory"] == 0
    for name, cls in VIEWS.items():
        tables = [t.name for t in cls.tables]
        if positions[name] == head:
            assert all(after[t] == before[t] for t in tables), name
        else:
            assert positions[name] == 0 and not any(after[t] for t in tables), name
    wanted = {name for cls in VIEWS.values() for t in cls.tables for name in t.index_names()}
    assert wanted <= indexes(side)
    assert ALL_TABLES <= keyed(side)


def test_a_rebuild_that_cannot_empty_the_views_raises_and_leaves_them_as_they_were(
        ledger: Any, settings: Settings, side: ReadSide,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The views are emptied while the first events are read: an error there is the
    rebuild's error, not an event to fall back to applying batch by batch over full views."""
    _, head = history(ledger)
    Runner(side).catch_up()
    before = rows(side)

    def refused(tables: Any) -> list[str]:
        raise ValueError("no emptying today")

    monkeypatch.setattr(side.db, "clear", refused)
    with pytest.raises(ValueError, match="no emptying today"):
        rebuild(settings, ledger, read_side=side)
    assert set(side.positions().values()) == {head}
    assert rows(side) == before


@pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_rebuild_needs_no_more_pooled_connections_than_the_smallest_pool(
        ledger: Any, tmp_path: Path) -> None:
    """Each view's load holds its own transaction for the whole load: on PostgreSQL (the only
    store that loads views in parallel transactions) each on a connection of its own, not the
    pool's (two connections, six views)."""
    _, head = history(ledger)
    small = ReadSide(Settings(data_dir=tmp_path, postgres_pool_size=2), ledger)
    try:
        rebuild(small.settings, ledger, read_side=small)
        assert set(small.positions().values()) == {head}
    finally:
        small.close()
