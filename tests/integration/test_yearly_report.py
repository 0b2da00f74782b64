"""The yearly report on the demo ledger agrees with a direct count from the events (the
aggregates replayed): reviews, recommendations, actions, those assured, those flagged with
little or no evidence of progress, deadlines met and missed; per partnership too. Over HTTP
it is JSON, CSV (a row per action) and a printable page; `ledger report yearly` prints it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from api.demo import STOKE
from domain.action import Action
from domain.ledger import Ledger
from domain.review import Review
from projections.board import Board
from tests.scenarios import demo_board

TODAY = date(2026, 11, 23)
START = date(2019, 1, 1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, Board]]:
    with demo_board(Path(tmp_path_factory.mktemp("views")), TODAY) as opened:
        yield opened


def records(ledger: Ledger, cls: type) -> list[Any]:
    name = f"{cls.__module__}:{cls.__qualname__}."
    created = {"Review": "IncidentRecorded", "Action": "Assigned"}[cls.__name__]
    return [ledger.repository.get(n.originator_id) for n in ledger.iter_notifications()
            if n.topic == name + created]


def flagged(action: Action) -> bool:
    if str(action.status) not in ("open", "completion_claimed"):
        return False
    evidence = sum(len(p.evidence) for p in action.progress) + sum(
        len(c.evidence) for c in action.claims)
    updated = max(filter(None, [action.assigned_on, action.last_progress_on]))
    overdue = str(action.status) == "open" and action.due_on < TODAY
    return evidence == 0 or overdue or (TODAY - updated).days >= 60


@pytest.mark.parametrize("partnership", [None, STOKE])
def test_the_report_agrees_with_the_events(demo: tuple[Ledger, Board],
                                           partnership: str | None) -> None:
    ledger, board = demo
    body = board.yearly_report(start=START, end=TODAY, partnership=partnership, today=TODAY)
    reviews = [r for r in records(ledger, Review)
               if partnership is None or r.partnership == partnership]
    ids = {r.id for r in reviews}
    actions = [a for a in records(ledger, Action) if a.review_id in ids]
    deadlines = [d for r in reviews for d in r.deadlines(TODAY)]
    assert body["summary"] == {
        "reviews": len(reviews),
        "decided_to_review": sum(1 for r in reviews if r.conduct_review),
        "recommendations": sum(len(r.recommendations) for r in reviews),
        "actions": len(actions),
        "actions_assured": sum(1 for a in actions if str(a.status) == "assured"),
        "actions_flagged": sum(1 for a in actions if flagged(a)),
        "impact_demonstrable": sum(1 for a in actions
                                   if a.impact and a.impact.impact == "demonstrable"),
        "deadlines_met": sum(1 for d in deadlines if d.status == "met"),
        "deadlines_missed": sum(1 for d in deadlines if d.status == "missed"),
    }
    assert body["summary"]["actions_flagged"] > 0
    by_id = {r.id.hex: r for r in reviews}
    for row in body["reviews"]:
        review = by_id[row["review_id"].replace("-", "")]
        expected = [(kind, d.decided_on.isoformat(), d.conduct, list(d.criteria))
                    for kind, d in (("local", review.local_decision),
                                    ("national_panel", review.panel_decision)) if d]
        assert [(d["decision"], d["on"], d["conduct_review"], d["criteria"])
                for d in row["decisions"]] == expected
    corrected = [rec for r in body["reviews"] for rec in r["recommendations"]]
    assert all(rec["text"] for rec in corrected)


def test_recurrent_themes_are_those_of_two_or_more_reviews(demo: tuple[Ledger, Board]) -> None:
    ledger, board = demo
    body = board.yearly_report(start=START, end=TODAY, today=TODAY)
    expected: dict[str, set[Any]] = {}
    for review in records(ledger, Review):
        for finding in review.findings:
            if not finding.retracted:
                for theme in finding.themes:
                    expected.setdefault(theme, set()).add(review.id)
    assert {t["theme"]: t["reviews"] for t in body["themes"]} == {
        t: len(r) for t, r in expected.items()}
    assert any(t["recurrent"] for t in body["themes"])
