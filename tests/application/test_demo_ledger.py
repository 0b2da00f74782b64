"""The demo ledger is deterministic, realistic, and its recorded times follow the log."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from api.demo import load_demo
from domain.ledger import Ledger

TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo_ledger():
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    load_demo(ledger, today=TODAY)
    return ledger


def topics(ledger: Ledger) -> list[str]:
    return [n.topic for n in ledger.iter_notifications()]


def test_demo_has_the_promised_shape(demo_ledger):
    counts = Counter(t.split(":")[1] for t in topics(demo_ledger))
    assert 9 <= counts["Agency.Registered"] <= 12
    assert counts["Agency.Renamed"] == 1
    assert 8 <= counts["Review.IncidentRecorded"] <= 10
    assert 70 <= counts["Action.Assigned"] <= 90
    assert 10 <= counts["Challenge.Raised"] <= 14
    assert counts["Action.CompletionAssured"] and counts["Action.CompletionRejected"]
    assert counts["Action.HeldToAccount"] and counts["Challenge.Resolved"]


def test_demo_is_deterministic(demo_ledger):
    again = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    load_demo(again, today=TODAY)
    assert topics(again) == topics(demo_ledger)


def test_demo_recorded_times_never_go_backwards(demo_ledger):
    stamps = [demo_ledger.mapper.to_domain_event(n).timestamp
              for n in demo_ledger.iter_notifications()]
    assert stamps == sorted(stamps)


def test_demo_reviews_cover_every_stage_band(demo_ledger):
    stages = set()
    for n in demo_ledger.iter_notifications():
        if n.topic.endswith("Review.IncidentRecorded"):
            stages.add(str(demo_ledger.get_review(n.originator_id).stage))
    assert {"incident_recorded", "panel_notified", "reviewer_commissioned", "report_submitted",
            "scrutinised", "sent_to_panel", "published", "closed"} <= stages
