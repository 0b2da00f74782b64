"""Action.Assigned version 2 records where an imported action came from (a file's name and
row); version 1 events (before imports) load with source None."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

from domain.action import Action
from tests.principals import MANAGER

MANAGER_ID = uuid4()


def test_version_1_assignments_load_with_no_source() -> None:
    state: dict[str, object] = {"description": "d"}
    Action.Assigned.upcast_v1_v2(state)
    assert state["source"] is None and Action.Assigned.class_version == 2


def test_an_imported_assignment_records_its_source() -> None:
    today = date(2026, 1, 5)
    action = Action.assign(actor=MANAGER, occurred_on=today, review_id=MANAGER_ID,
                           recommendation_id=MANAGER_ID, agency_id=MANAGER_ID,
                           description="Train", measure_of_success="90%",
                           due_on=today + timedelta(days=30), source="plan.xlsx row 7")
    assigned = action.collect_events()[0]
    assert assigned.source == "plan.xlsx row 7"
    copy = Action.assign(actor=MANAGER, occurred_on=today, review_id=MANAGER_ID,
                         recommendation_id=MANAGER_ID, agency_id=MANAGER_ID,
                         description="Train", measure_of_success="90%",
                         due_on=today + timedelta(days=30))
    assert copy.collect_events()[0].source is None

