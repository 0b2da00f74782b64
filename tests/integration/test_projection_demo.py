"""On the demo ledger, the Board's views agree with a direct count from the events (the
aggregates replayed), and an as_of before an assurance shows the action unassured."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.ledger import Ledger
from projections.board import At, Board
from tests.scenarios import demo_board

TODAY = date(2026, 11, 23)
STALLED = 60


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, Board]]:
    with demo_board(Path(tmp_path_factory.mktemp("views")), TODAY) as opened:
        yield opened


def ids_of(ledger: Ledger, event: str) -> list[Any]:
    return [n.originator_id for n in ledger.iter_notifications() if n.topic.endswith(event)]


def expected_rag(action: Any) -> str:
    status = str(action.status)
    if status == "withdrawn":
        return "withdrawn"
    if status == "assured":
        return "assured"
    if status == "completion_claimed":
        return "complete_awaiting_assurance"
    if action.due_on < TODAY:
        return "overdue"
    updated = max(filter(None, [action.assigned_on, action.last_progress_on]))
    if action.due_on <= TODAY + timedelta(days=14) and (TODAY - updated).days >= 30:
        return "at_risk"
    return "on_track"


def test_action_list_agrees_with_the_events(demo: tuple[Ledger, Board]) -> None:
    ledger, board = demo
    listed = {i["action_id"]: i for i in board.actions(today=TODAY, limit=10_000)["items"]}
    actions = [ledger.get_action(i) for i in ids_of(ledger, "Action.Assigned")]
    assert len(listed) == len(actions) > 50
    for action in actions:
        row = listed[str(action.id)]
        assert (row["status"], row["due_on"], row["agency_id"], row["rag"]) == (
            str(action.status), action.due_on.isoformat(), str(action.agency_id),
            expected_rag(action))
    assert Counter(r["rag"] for r in listed.values())["overdue"] > 0


def test_agency_accountability_agrees_with_the_events(demo: tuple[Ledger, Board]) -> None:
    ledger, board = demo
    expected: dict[str, Counter[str]] = {}
    for action in (ledger.get_action(i) for i in ids_of(ledger, "Action.Assigned")):
        count = expected.setdefault(str(action.agency_id), Counter())
        status = str(action.status)
        if status == "withdrawn":
            continue
        updated = max(filter(None, [action.assigned_on, action.last_progress_on]))
        count["open"] += status != "assured"
        count["overdue"] += status == "open" and action.due_on < TODAY
        count["stalled"] += status == "open" and (TODAY - updated).days >= STALLED
        count["completed"] += status == "assured"
        count["escalated"] += action.escalated
        count["held_to_account"] += bool(action.held_to_account)
    for challenge in (ledger.get_challenge(i) for i in ids_of(ledger, "Challenge.Raised")):
        count = expected.setdefault(str(challenge.addressed_to), Counter())
        count["challenges_open"] += challenge.is_open
    rows = {r["agency_id"]: r for r in board.agencies(today=TODAY,
                                                      stalled_days=STALLED)["items"]}
    for agency, count in expected.items():
        assert {k: rows[agency][k] for k in count} == dict(count), agency


def test_as_of_before_an_assurance_shows_the_action_unassured(
        demo: tuple[Ledger, Board]) -> None:
    ledger, board = demo
    notification = next(n for n in ledger.iter_notifications()
                        if n.topic.endswith("Action.CompletionAssured"))
    assured_at = ledger.mapper.to_domain_event(notification).timestamp
    action_id = str(notification.originator_id)

    def status(moment: Any) -> str:
        items = board.actions(at=At(as_of=moment), limit=10_000)["items"]
        return next(i["status"] for i in items if i["action_id"] == action_id)

    assert status(assured_at - timedelta(seconds=1)) == "completion_claimed"
    assert status(assured_at) == "assured"
    before = board.audit(at=At(as_of=assured_at - timedelta(seconds=1)), entity_id=action_id)
    assert "Action.CompletionAssured" not in [e["event_type"] for e in before["items"]]
