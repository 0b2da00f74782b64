"""On PostgreSQL the in-process runner wakes on NOTIFY: a read waiting for its own write
returns in milliseconds."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest

from api.settings import Settings
from domain.actors import Actor, Role
from domain.application import Context
from domain.ledger import Ledger
from projections.locks import ViewLocks
from projections.readside import ReadSide
from projections.runner import BackgroundProjections
from tests.conftest import PG

pytestmark = pytest.mark.postgres
OPERATOR = Context(Actor("operator:test", Role.OPERATOR, name="op"))


@pytest.fixture(params=["postgres"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_reading_your_own_write_takes_milliseconds(ledger: Ledger, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    side = ReadSide(settings, ledger)
    runner = BackgroundProjections(settings, ledger, side)
    try:
        waits = []
        for i in range(8):
            position = ledger.register_agency(
                OPERATOR, name=f"Agency {i}", kind="police", statutory_partner=True,
                partnerships=["SSSCB"], occurred_on=date(2025, 1, 6)).position
            started = time.perf_counter()
            side.wait_for(position, ["directory", "audit"], timeout=2)
            waits.append(time.perf_counter() - started)
            time.sleep(0.05)  # let the runner go idle, waiting on LISTEN
    finally:
        runner.stop()
        side.close()
    assert runner.error is None
    assert sorted(waits)[4] < 0.05, waits


def test_a_write_that_fails_at_commit_stops_the_view_at_its_event(
        ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pipelined: the bad row only fails when the writer thread flushes it."""
    from projections.directory import AGENCIES, Directory
    from projections.runner import Runner

    agency = ledger.register_agency(OPERATOR, name="Hospital", kind="health",
                                    statutory_partner=False, partnerships=["SSSCB"],
                                    occurred_on=date(2025, 1, 6)).id
    bad = ledger.rename_agency(OPERATOR, agency, name="Trust", reason="merger",
                               occurred_on=date(2025, 1, 7)).position
    head = ledger.register_agency(OPERATOR, name="Police", kind="police",
                                  statutory_partner=True, partnerships=["SSSCB"],
                                  occurred_on=date(2025, 1, 7)).position

    def renamed(self: Any, ch: Any, e: Any) -> None:
        ch.update(AGENCIES.name, str(e.originator_id), name=None)  # NOT NULL: fails at flush

    monkeypatch.setattr(Directory, "renamed", renamed)
    side = ReadSide(Settings(data_dir=tmp_path), ledger)
    try:
        Runner(side).catch_up()
        status = {v["view"]: v for v in side.status()["views"]}
    finally:
        side.close()
    assert (status["directory"]["state"], status["directory"]["failed_position"],
            status["directory"]["position"]) == ("failed", bad, bad - 1)
    assert "null" in status["directory"]["error"].lower()
    assert all(v["position"] == head for n, v in status.items() if n != "directory")


def test_processes_starting_at_once_on_a_new_store_all_start(
        pg_env: dict[str, dict[str, str]], tmp_path: Path) -> None:
    """Several API processes and the worker start together on a fresh database (compose up):
    each creates the ledger's and the views' tables and rows if missing, and none may fail
    on another's."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    processes = [context.Process(target=_start, args=(pg_env["ledger"], str(tmp_path), barrier))
                 for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]


def _start(env: dict[str, str], data_dir: str, barrier: Any) -> None:
    """One process's start, as api/ does it: the ledger, then the views."""
    import os

    from api.composition import build_ledger

    os.environ.update(env)
    settings = Settings(data_dir=Path(data_dir))
    barrier.wait(30)
    ledger = build_ledger(settings)
    ReadSide(settings, ledger).close()
    ledger.close()


def action_page_plans(side: ReadSide) -> list[tuple[int, int]]:
    """(generic plans, custom plans) of each prepared page-of-actions statement, on every
    connection of the views' pool."""
    pool = side.db.pool  # type: ignore[attr-defined]
    with contextlib.ExitStack() as stack:  # every connection of the pool at once
        conns = [stack.enter_context(pool.connection()) for _ in range(pool.max_size)]
        return [row for conn in conns for row in conn.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%view_actions%LIMIT 26%'").fetchall()]


def test_a_page_of_actions_reuses_its_cached_plan(ledger: Ledger, tmp_path: Path) -> None:
    """Read after read, PostgreSQL runs a list query on the plan it cached for the prepared
    statement instead of planning every page again (it did while the LIMIT was a parameter:
    about a millisecond a page)."""
    from projections.board import Board

    agency = ledger.register_agency(OPERATOR, name="Hospital", kind="health",
                                    statutory_partner=True, partnerships=["SSSCB"],
                                    occurred_on=date(2025, 1, 6)).id
    side = ReadSide(Settings(data_dir=tmp_path), ledger)
    try:
        from projections.runner import Runner

        Runner(side).catch_up()
        board = Board(side)
        for _ in range(80):  # prepared after 5 runs on a connection, cached after 5 more
            board.actions(today=date(2025, 3, 3), agency_id=str(agency), limit=25)
        rows = action_page_plans(side)
    finally:
        side.close()
    assert rows and sum(generic for generic, _ in rows) > sum(custom for _, custom in rows)


@pytest.mark.parametrize("filters", [{"rag": "at_risk"}, {"rag": "overdue"},
                                     {"stalled_days": 60}, {"overdue": True}])
def test_a_page_of_actions_filtered_by_days_is_never_planned_again(
        ledger: Ledger, tmp_path: Path, filters: dict[str, Any]) -> None:
    """The days of a RAG, overdue or stalled filter are written into the statement: it has
    no parameters, and PostgreSQL plans it once (with them as parameters, at 100k actions it
    planned "at risk" again at every request, judging its generic plan worse)."""
    from projections.board import Board
    from projections.runner import Runner

    ledger.register_agency(OPERATOR, name="Hospital", kind="health", statutory_partner=True,
                           partnerships=["SSSCB"], occurred_on=date(2025, 1, 6))
    side = ReadSide(Settings(data_dir=tmp_path), ledger)
    try:
        Runner(side).catch_up()
        board = Board(side)
        for _ in range(40):
            board.actions(today=date(2025, 3, 3), limit=25, **filters)
        rows = action_page_plans(side)
    finally:
        side.close()
    assert rows and sum(generic for generic, _ in rows) > 0
    assert sum(custom for _, custom in rows) == 0


def test_view_locks_are_released_before_their_session_ends(
        ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing the session releases its advisory locks only once the server has ended its
    backend, in its own time: a rebuild started just after another was refused meanwhile."""
    import psycopg

    side = ReadSide(Settings(data_dir=tmp_path), ledger)
    held_at_close: list[int] = []
    close = psycopg.Connection.close

    def closing(conn: Any) -> None:
        if getattr(conn, "holds_view_locks", False):
            with side.db.connect() as other:
                held_at_close.append(other.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = %s",
                    (conn.info.backend_pid,)).fetchone()[0])
        close(conn)

    connect = side.db.connect

    def connect_marked() -> Any:
        conn = connect()
        conn.holds_view_locks = True
        return conn

    try:
        locks = ViewLocks(side.db, ["actions", "audit"])
        monkeypatch.setattr(side.db, "connect", connect_marked)
        locks.acquire()
        monkeypatch.setattr(side.db, "connect", connect)
        monkeypatch.setattr(psycopg.Connection, "close", closing)
        locks.release()
    finally:
        monkeypatch.undo()
        side.close()
    assert held_at_close == [0]


def test_a_process_starting_beside_a_batch_being_applied_does_not_wait_for_it(
        ledger: Ledger, tmp_path: Path, pg_schema: str) -> None:
    """A worker applying a batch holds its views' tables (the rollups before the actions'
    rows); an API process starting meanwhile must not queue behind it for a lock on a table
    it only needs to find (two of them once deadlocked at startup)."""
    settings = Settings(data_dir=tmp_path)
    ReadSide(settings, ledger).close()  # the views exist
    with psycopg.connect(host=PG["host"], port=PG["port"], dbname=PG["dbname"],
                         user=PG["user"], password=PG["password"]) as writer:
        writer.execute(f'LOCK TABLE "{pg_schema}".view_actions IN ROW EXCLUSIVE MODE')
        started = threading.Thread(target=lambda: ReadSide(settings, ledger).close(),
                                   daemon=True)
        started.start()
        started.join(timeout=20)
        finished = not started.is_alive()
        writer.rollback()  # lets a waiting setup go on, so the test ends either way
    started.join(timeout=20)
    assert finished, "setting the views up waited for a transaction writing them"
