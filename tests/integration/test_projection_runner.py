"""Running the projections: following the ledger, reading your own writes, and what happens
when a view cannot apply an event."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from api.settings import Settings
from domain.actors import Actor, Role
from domain.application import Context
from domain.ledger import Ledger
from projections.actions import ActionStatusProjection
from projections.locks import ViewBusy, ViewLocks
from projections.readside import ReadSide, ViewStopped
from projections.rebuild import rebuild
from projections.runner import (
    BackgroundProjections,
    Runner,
    retry_view,
    run_projections,
    skip_event,
)

OPERATOR = Context(Actor("operator:test", Role.OPERATOR, name="Test Operator"))


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, sqlite_poll_interval=0.05)


def add_agency(ledger: Ledger, name: str = "Hospital") -> Any:
    return ledger.register_agency(OPERATOR, name=name, kind="health", statutory_partner=False,
                                  partnerships=["SSSCB"], occurred_on=date(2025, 1, 6))


def rename(ledger: Ledger, agency: Any, name: str) -> Any:
    return ledger.rename_agency(OPERATOR, agency, name=name, reason="renamed",
                                occurred_on=date(2025, 1, 7))


def test_background_runner_follows_new_events(ledger: Ledger, settings: Settings,
                                              side: ReadSide) -> None:
    runner = BackgroundProjections(settings, ledger, side)
    try:
        outcome = add_agency(ledger)
        side.wait_for(outcome.position, side.view_names, timeout=5)
        assert min(side.positions().values()) >= outcome.position
    finally:
        runner.stop()
    assert runner.error is None


def test_reading_your_own_write_waits_milliseconds(ledger: Ledger, settings: Settings,
                                                   side: ReadSide) -> None:
    runner = BackgroundProjections(settings, ledger, side)
    try:
        side.wait_for(add_agency(ledger, "Warm-up").position, ["directory"], timeout=5)
        time.sleep(0.2)  # the runner is now idle, waiting for its next poll (50 ms)
        waits = []
        for i in range(5):
            position = add_agency(ledger, f"Agency {i}").position
            started = time.perf_counter()
            side.wait_for(position, ["directory", "audit"], timeout=2)
            waits.append(time.perf_counter() - started)
    finally:
        runner.stop()
    assert sorted(waits)[2] < 0.03, waits  # median well under the 50 ms poll (and 100 ms)


def failing_history(ledger: Ledger, side: ReadSide,
                    monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """Agency renamed twice; the directory view breaks on renames. Returns (bad, head)."""
    agency = add_agency(ledger).id
    bad = rename(ledger, agency, "Hospital Trust").position

    def broken(self: Any, ch: Any, e: Any) -> None:
        raise RuntimeError("cannot apply this rename")

    from projections.directory import Directory
    monkeypatch.setattr(Directory, "renamed", broken)
    side.views["directory"].projection = Directory(side.views["directory"])
    head = add_agency(ledger, "Police").position
    Runner(side).catch_up()
    return bad, head


def test_a_failing_view_stops_at_its_event_and_the_others_go_on(
        ledger: Ledger, side: ReadSide, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    bad, head = failing_history(ledger, side, monkeypatch)
    status = {v["view"]: v for v in side.status()["views"]}
    assert (status["directory"]["state"], status["directory"]["failed_position"],
            status["directory"]["position"]) == ("failed", bad, bad - 1)
    assert "RuntimeError: cannot apply this rename" in status["directory"]["error"]
    assert all(v["position"] == head for n, v in status.items() if n != "directory")
    assert any(r.levelname == "ERROR" and "directory" in r.getMessage() for r in caplog.records)
    with pytest.raises(ViewStopped, match="directory stopped at position"):
        side.wait_for(head, ["directory"], timeout=1)


def test_retry_after_a_fix_applies_the_event(ledger: Ledger, settings: Settings, side: ReadSide,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    failing_history(ledger, side, monkeypatch)
    monkeypatch.undo()  # the fix is deployed
    from projections.directory import Directory
    side.views["directory"].projection = Directory(side.views["directory"])
    retry_view(settings, ledger, "directory", read_side=side)
    Runner(side).catch_up()
    assert {a["name"] for a in _agencies(side)} == {"Hospital Trust", "Police"}
    assert side.states()["directory"].state == "running"


def _agencies(side: ReadSide) -> list[dict[str, Any]]:
    return side.db.query("SELECT name FROM {view_agencies}")


def test_skipping_an_event_is_recorded_in_the_ledger(ledger: Ledger, settings: Settings,
                                                    side: ReadSide,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    bad, _ = failing_history(ledger, side, monkeypatch)
    operator = Actor("operator:alice", Role.OPERATOR, name="alice")
    state = skip_event(settings, ledger, "directory", bad, operator,
                       "rename event malformed; correction to follow", read_side=side)
    Runner(side).catch_up()
    assert (state.state, state.position) == ("running", bad)
    assert {a["name"] for a in _agencies(side)} == {"Hospital", "Police"}
    (entry,) = [e for e in _audit(side) if e["event_type"] == "ProjectionSkip.Skipped"]
    assert (entry["actor_user_id"], entry["summary"]) == (
        "operator:alice", f"view directory deliberately skipped the event at position {bad}")


def _audit(side: ReadSide) -> list[dict[str, Any]]:
    return side.db.query("SELECT * FROM {view_audit} ORDER BY position")


def test_only_the_event_a_view_stopped_at_can_be_skipped(
        ledger: Ledger, settings: Settings, side: ReadSide,
        monkeypatch: pytest.MonkeyPatch) -> None:
    bad, _ = failing_history(ledger, side, monkeypatch)
    with pytest.raises(ValueError, match=f"stopped at position {bad}"):
        skip_event(settings, ledger, "directory", bad + 1, OPERATOR.actor, "oops",
                   read_side=side)


def test_a_second_worker_for_the_same_view_is_refused(ledger: Ledger, settings: Settings,
                                                      side: ReadSide, store: str) -> None:
    if store == "memory":
        pytest.skip("a ledger in memory is seen by one process only")
    with ViewLocks(side.db, ["actions"]), pytest.raises(ViewBusy, match="actions"):
        import threading
        run_projections(settings, ledger, threading.Event(), read_side=side)


def test_rebuild_equals_the_incremental_views(ledger: Ledger, settings: Settings,
                                              side: ReadSide) -> None:
    agency = add_agency(ledger).id
    rename(ledger, agency, "Trust")
    Runner(side).catch_up()
    before = _agencies(side)
    seen: list[tuple[int, int]] = []
    rebuild(settings, ledger, ["directory"], lambda done, total: seen.append((done, total)),
            read_side=side)
    assert _agencies(side) == before and seen[-1] == (2, 2)


def test_a_view_built_by_another_version_starts_again(ledger: Ledger, settings: Settings,
                                                      side: ReadSide,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    add_agency(ledger)
    Runner(side).catch_up()
    monkeypatch.setattr(ActionStatusProjection, "version", 99)
    again = ReadSide(settings, ledger, db=side.db)
    assert again.positions()["actions"] == 0 and again.positions()["directory"] == 1


def test_views_of_another_log_are_never_continued(ledger: Ledger, settings: Settings,
                                                  store: str, tmp_path: Path) -> None:
    if store == "memory":
        pytest.skip("views of a ledger in memory live in memory")
    add_agency(ledger)
    first = ReadSide(settings, ledger)
    Runner(first).catch_up()
    first.close()
    from domain.ledger import Ledger

    other = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                        "SQLITE_DBNAME": str(tmp_path / "other.sqlite3")})
    try:
        for name in ("Police", "Council", "Trust"):
            add_agency(other, name)
        again = ReadSide(settings, other)  # the same views file: a longer, different log
        assert set(again.positions().values()) == {0}
        Runner(again).catch_up()
        assert {a["name"] for a in _agencies(again)} == {"Police", "Council", "Trust"}
        again.close()
    finally:
        other.close()


def test_process_event_applies_each_event_once(ledger: Ledger, side: ReadSide) -> None:
    from eventsourcing.persistence import Tracking

    add_agency(ledger)
    (row,) = ledger.store.stored(0, 1)
    event = ledger.mapper.to_domain_event(row)
    projection = side.views["directory"].projection
    projection.process_event(event, Tracking("Ledger", row.id))
    projection.process_event(event, Tracking("Ledger", row.id))  # a redelivery
    assert len(_agencies(side)) == 1 and side.positions()["directory"] == row.id
