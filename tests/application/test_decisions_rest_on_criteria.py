"""Decisions rest on criteria (DOMAIN.md, the process step 3): a local decision to hold a
CSPR cites at least one regulation 11 criterion, and the Panel's decision to hold a national
review at least one of the Panel's; a decision not to review may cite none but must give its
rationale. A refused decision writes nothing (on each store)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain.errors import InvalidInput
from tests.principals import AS_MANAGER
from tests.scenarios import Scenario


def decided_review(ledger: Any) -> UUID:
    scenario = Scenario(ledger)
    review = scenario.incident([scenario.agency("ICB")])
    scenario.walk(review, "rapid_review_completed")
    return review


def refused(ledger: Any, field: str, call: Any) -> str:
    before = ledger.head_position()
    with pytest.raises(InvalidInput) as caught:
        call()
    assert caught.value.field == field
    assert ledger.head_position() == before
    return caught.value.detail


def test_a_decision_to_hold_a_cspr_needs_a_regulation_11_criterion(ledger: Any) -> None:
    review = decided_review(ledger)
    detail = refused(ledger, "criteria", lambda: ledger.record_local_decision(
        AS_MANAGER, review, conduct_review=True, criteria=[], rationale="Needs a review"))
    assert "regulation 11" in detail
    ledger.record_local_decision(AS_MANAGER, review, conduct_review=True,
                                 criteria=["recurrent_themes"], rationale="Needs a review")
    assert ledger.get_review(review).local_decision.criteria == ("recurrent_themes",)


@pytest.mark.parametrize("rationale", ["", "   "])
def test_a_decision_not_to_review_still_needs_its_rationale(ledger: Any,
                                                            rationale: str) -> None:
    review = decided_review(ledger)
    refused(ledger, "rationale", lambda: ledger.record_local_decision(
        AS_MANAGER, review, conduct_review=False, criteria=[], rationale=rationale))
    ledger.record_local_decision(AS_MANAGER, review, conduct_review=False, criteria=[],
                                 rationale="Single-agency learning already captured")
    assert ledger.get_review(review).conduct_review is False


def test_the_panels_decision_for_a_national_review_needs_a_criterion(ledger: Any) -> None:
    review = decided_review(ledger)
    refused(ledger, "criteria", lambda: ledger.record_panel_decision(
        AS_MANAGER, review, national_review=True, criteria=[], rationale="National learning"))
    refused(ledger, "criteria", lambda: ledger.record_panel_decision(
        AS_MANAGER, review, national_review=True, criteria=["multi_agency_concerns"],
        rationale="A regulation 11 criterion is not one of the Panel's"))
    refused(ledger, "rationale", lambda: ledger.record_panel_decision(
        AS_MANAGER, review, national_review=False, criteria=[], rationale=" "))
    ledger.record_panel_decision(AS_MANAGER, review, national_review=True,
                                 criteria=["institutional_settings"],
                                 rationale="Issues in an institutional setting")
    assert ledger.get_review(review).panel_decision.conduct is True


def test_an_unknown_criterion_is_refused(
    ledger: Any,
) -> None:
    review = decided_review(ledger)
    refused(ledger, "criteria", lambda: ledger.record_local_decision(
        AS_MANAGER, review, conduct_review=True, criteria=["not_a_criterion"],
        rationale="r"))
