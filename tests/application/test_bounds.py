"""Business dates must be plausible and flags strict: a date before 1 January 1990, an event
dated in the future or a due date more than ten years ahead is refused with the field named,
and nothing is written (on each store)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from domain import clock
from domain.base import latest_due_date
from domain.errors import InvalidInput
from tests.principals import AS_MANAGER
from tests.scenarios import Scenario


def refused(ledger: Any, field: str, call: Any) -> None:
    before = ledger.head_position()
    with pytest.raises(InvalidInput) as caught:
        call()
    assert caught.value.field == field
    assert ledger.head_position() == before


@pytest.mark.parametrize("aware_on", [date(1, 1, 1), date(1989, 12, 31)])
def test_an_awareness_date_before_1990_is_refused(ledger: Any, aware_on: date) -> None:
    scenario = Scenario(ledger)
    agency = scenario.agency("ICB")
    refused(ledger, "occurred_on", lambda: Scenario(ledger, aware_on).incident([agency]))


def test_an_awareness_date_on_1_january_1990_is_accepted(ledger: Any) -> None:
    agency = Scenario(ledger).agency("ICB")
    review = Scenario(ledger, date(1990, 1, 1)).incident([agency])
    assert ledger.get_review(review).aware_on == date(1990, 1, 1)


@pytest.mark.parametrize("due_on", [date(9999, 12, 31), date(1989, 6, 30)])
def test_an_implausible_due_date_is_refused(ledger: Any, due_on: date) -> None:
    scenario = Scenario(ledger)
    agency = scenario.agency("ICB")
    recommended = scenario.review([agency])
    refused(ledger, "due_on", lambda: scenario.assign(recommended, agency, due_on=due_on))


def test_a_due_date_ten_years_ahead_is_the_latest_accepted(ledger: Any) -> None:
    scenario = Scenario(ledger)
    agency = scenario.agency("ICB")
    recommended = scenario.review([agency])
    latest = latest_due_date()
    refused(ledger, "due_on",
            lambda: scenario.assign(recommended, agency, due_on=latest + timedelta(days=1)))
    action = scenario.assign(recommended, agency, due_on=latest).id
    refused(ledger, "due_on", lambda: ledger.revise_due_date(
        AS_MANAGER, action, due_on=date(9999, 12, 31), reason="r", approved_by="Board"))


def test_a_date_correction_before_1990_is_refused(ledger: Any) -> None:
    scenario = Scenario(ledger)
    review = scenario.incident([scenario.agency("ICB")])
    refused(ledger, "corrected", lambda: ledger.correct_date(
        AS_MANAGER, review, field="aware_on", corrected=date(1900, 1, 1), reason="typo"))


@pytest.mark.parametrize("occurred_on", [date(1970, 1, 1), "future"])
def test_an_agency_dated_implausibly_is_refused(ledger: Any, occurred_on: Any) -> None:
    day = clock.today() + timedelta(days=1) if occurred_on == "future" else occurred_on
    refused(ledger, "occurred_on", lambda: Scenario(ledger, day).agency("ICB"))


def test_a_flag_that_is_not_a_boolean_is_refused(ledger: Any) -> None:
    refused(ledger, "statutory_partner", lambda: ledger.register_agency(
        AS_MANAGER, name="ICB", kind="health", statutory_partner="yes",
        partnerships=["SSSCB"]))
    scenario = Scenario(ledger)
    review = scenario.incident([scenario.agency("ICB")])
    scenario.walk(review, "rapid_review_completed")
    refused(ledger, "conduct_review", lambda: ledger.record_local_decision(
        AS_MANAGER, review, conduct_review=1, criteria=["recurrent_themes"], rationale="r"))
