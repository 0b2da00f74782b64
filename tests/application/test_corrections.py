"""Corrections of anything (DOMAIN.md, "Corrections"), on every store: a decision's rationale
and criteria, a finding, a recommendation, a progress narrative and an evidence reference are
corrected or retracted by an event that names the version it corrects, the reason and who
approved. The record shows the corrected value with a marker, the history shows both events,
and the record as of a moment before the correction shows the original. Refusals write
nothing."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain import clock
from domain.errors import DomainError, Forbidden, InvalidInput
from tests.principals import AS_BOARD, AS_MANAGER, as_lead_of
from tests.scenarios import Scenario

HOW = {"reason": "Minuted wrongly", "approved_by": "Significant Incident sub-committee"}


def refused(ledger: Any, error: type[DomainError], call: Any, field: str | None = None) -> None:
    before = ledger.head_position()
    with pytest.raises(error) as caught:
        call()
    if field is not None:
        assert caught.value.field == field
    assert ledger.head_position() == before


def version_of(ledger: Any, history: list[Any], name: str) -> int:
    return next(h.event.originator_version for h in history if type(h.event).__name__ == name)


def reviewed(ledger: Any) -> tuple[UUID, UUID, Any]:
    scenario = Scenario(ledger)
    agency = scenario.agency("Police", "police")
    recommended = scenario.review([agency])
    return recommended.review_id, agency, recommended


def test_a_decision_rationale_corrected_with_as_of_before_it(ledger: Any) -> None:
    review, _, _ = reviewed(ledger)
    decided = version_of(ledger, ledger.review_history(review), "LocalDecisionMade")
    before = clock.now()
    ledger.correct_review_entry(AS_MANAGER, review, corrects_version=decided,
                                field="rationale", corrected="Two agencies did not share "
                                "information about bruising", **HOW)
    now = ledger.get_review(review).local_decision
    assert now.rationale.startswith("Two agencies") and now.corrected_fields == ("rationale",)
    then = ledger.get_review(review, as_of=before).local_decision
    assert then.rationale == "Concerns about information sharing"
    assert then.corrected_fields == ()
    last = ledger.review_history(review)[-1].event
    assert (type(last).__name__, last.corrects_version, last.previous, last.approved_by) == (
        "EntryCorrected", decided, "Concerns about information sharing", HOW["approved_by"])
    assert last.actor == AS_MANAGER.actor


def test_a_decision_resting_on_no_criterion_can_be_corrected(ledger: Any) -> None:
    review, _, _ = reviewed(ledger)
    decided = version_of(ledger, ledger.review_history(review), "LocalDecisionMade")
    refused(ledger, InvalidInput, lambda: ledger.correct_review_entry(
        AS_MANAGER, review, corrects_version=decided, field="criteria", corrected=[], **HOW),
        "criteria")
    ledger.correct_review_entry(AS_MANAGER, review, corrects_version=decided, field="criteria",
                                corrected=["recurrent_themes", "multi_agency_concerns"], **HOW)
    assert ledger.get_review(review).local_decision.criteria == (
        "recurrent_themes", "multi_agency_concerns")


def test_a_finding_corrected_and_a_recommendation_retracted(ledger: Any) -> None:
    review, _, rec = reviewed(ledger)
    history = ledger.review_history(review)
    found = version_of(ledger, history, "FindingRecorded")
    recommended = version_of(ledger, history, "RecommendationRecorded")
    before = clock.now()
    ledger.correct_review_entry(AS_MANAGER, review, corrects_version=found, field="text",
                                corrected="Bruising in a non-mobile baby was not escalated",
                                **HOW)
    ledger.retract_review_entry(AS_MANAGER, review, corrects_version=recommended, **HOW)
    after = ledger.get_review(review)
    [finding], [recommendation] = after.findings, after.recommendations
    assert (finding.text, finding.corrected_fields) == (
        "Bruising in a non-mobile baby was not escalated", ("text",))
    assert recommendation.retracted and recommendation.id == rec.recommendation_id
    assert [c.retracted for c in after.entry_corrections] == [False, True]
    assert ledger.get_review(review, as_of=before).findings[0].text == (
        "Bruising was not escalated")
    refused(ledger, InvalidInput, lambda: ledger.retract_review_entry(
        AS_MANAGER, review, corrects_version=recommended, **HOW), "corrects_version")


def test_a_progress_narrative_corrected_and_an_evidence_reference_retracted(
    ledger: Any,
) -> None:
    _, agency, rec = reviewed(ledger)
    action = Scenario(ledger).assign(rec, agency).id
    ledger.report_progress(as_lead_of(agency), action, narrative="Training delivered to 40",
                           rag="green", evidence=["Register 1 May", "Register of another team"])
    reported = ledger.get_action(action).version
    before = clock.now()
    ledger.correct_action_entry(AS_MANAGER, action, corrects_version=reported,
                                field="narrative", corrected="Training delivered to 14",
                                **HOW)
    ledger.retract_action_evidence(AS_MANAGER, action, corrects_version=reported,
                                   reference="Register of another team", **HOW)
    [progress] = ledger.get_action(action).progress
    assert (progress.narrative, progress.corrected_fields, progress.evidence,
            progress.retracted_evidence) == ("Training delivered to 14", ("narrative",),
                                            ["Register 1 May"], ("Register of another team",))
    [original] = ledger.get_action(action, as_of=before).progress
    assert original.narrative == "Training delivered to 40"
    names = [type(h.event).__name__ for h in ledger.action_history(action)]
    assert names[-3:] == ["ProgressReported", "EntryCorrected", "EntryRetracted"]


def test_bad_corrections_are_refused_and_write_nothing(ledger: Any) -> None:
    review, agency, _ = reviewed(ledger)
    history = ledger.review_history(review)
    decided = version_of(ledger, history, "LocalDecisionMade")
    notified = version_of(ledger, history, "PanelNotified")
    correct = ledger.correct_review_entry
    refused(ledger, InvalidInput, lambda: correct(
        AS_MANAGER, review, corrects_version=notified, field="rationale", corrected="x",
        **HOW), "corrects_version")
    refused(ledger, InvalidInput, lambda: correct(
        AS_MANAGER, review, corrects_version=decided, field="conduct_review",
        corrected="x", **HOW), "field")
    refused(ledger, InvalidInput, lambda: correct(
        AS_MANAGER, review, corrects_version=decided, field="rationale",
        corrected="Concerns about information sharing", **HOW), "corrected")
    refused(ledger, InvalidInput, lambda: correct(
        AS_MANAGER, review, corrects_version=decided, field="rationale", corrected="x",
        reason="r", approved_by=" "), "approved_by")
    refused(ledger, InvalidInput, lambda: ledger.retract_review_entry(
        AS_MANAGER, review, corrects_version=decided, **HOW), "corrects_version")
    for ctx in (AS_BOARD, as_lead_of(agency)):
        refused(ledger, Forbidden, lambda ctx=ctx: correct(
            ctx, review, corrects_version=decided, field="rationale", corrected="x", **HOW))
