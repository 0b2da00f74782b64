"""Action use cases on every store: who may do what, and what the record shows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain import clock
from domain.application import Context
from domain.errors import Forbidden, InvalidInput, NotFound, StaleVersion, WrongStage
from domain.ledger import Ledger
from tests.principals import AS_AUDITOR, AS_BOARD, AS_MANAGER, AS_SCRUTINEER, as_lead_of
from tests.scenarios import Scenario


def assign(ledger: Ledger, review: Any) -> UUID:
    return ledger.assign_action(
        AS_MANAGER, review_id=review.review_id, recommendation_id=review.recommendation_id,
        agency_id=review.agency_id, description="Deliver bruising protocol training",
        measure_of_success="90% of staff trained", due_on=clock.today() + timedelta(days=90),
        milestones=["Training designed"],
    ).id


def claim(ledger: Ledger, review: Any, action_id: UUID) -> None:
    ledger.claim_completion(as_lead_of(review.agency_id), action_id, narrative="All sessions held",
                            evidence=["Attendance register"])


def test_manager_assigns_an_action_to_a_recommendation(
        ledger: Ledger, commissioned_review: Any) -> None:
    action = ledger.get_action(assign(ledger, commissioned_review))
    assert action.status == "open"
    assert action.recommendation_id == commissioned_review.recommendation_id
    assert action.agency_id == commissioned_review.agency_id


def test_assignment_to_an_unknown_recommendation_is_refused(
        ledger: Ledger, commissioned_review: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        ledger.assign_action(
            AS_MANAGER, review_id=commissioned_review.review_id, recommendation_id=uuid4(),
            agency_id=commissioned_review.agency_id, description="d", measure_of_success="m",
            due_on=clock.today(),
        )
    assert error.value.field == "recommendation_id"


def test_assignment_to_a_retired_agency_is_refused(
        ledger: Ledger, commissioned_review: Any) -> None:
    ledger.retire_agency(AS_MANAGER, commissioned_review.other_agency_id, reason="Dissolved")
    with pytest.raises(WrongStage, match="retired"):
        ledger.assign_action(
            AS_MANAGER, review_id=commissioned_review.review_id,
            recommendation_id=commissioned_review.recommendation_id,
            agency_id=commissioned_review.other_agency_id, description="d",
            measure_of_success="m", due_on=clock.today(),
        )


def test_assignment_before_a_reviewer_is_commissioned_names_the_stage(
        ledger: Ledger, commissioned_review: Any, scenario: Scenario) -> None:
    early = scenario.incident([commissioned_review.agency_id], reference="SSSCB-2025-04")
    with pytest.raises(WrongStage, match="SSSCB-2025-04 is at stage incident_recorded"):
        ledger.assign_action(
            AS_MANAGER, review_id=early, recommendation_id=commissioned_review.recommendation_id,
            agency_id=commissioned_review.agency_id, description="d", measure_of_success="m",
            due_on=clock.today(),
        )


def test_assignment_after_the_review_is_closed_is_refused(
        ledger: Ledger, commissioned_review: Any, scenario: Scenario) -> None:
    closed = scenario.review([commissioned_review.agency_id], reference="SSSCB-2025-05",
                             to="closed")
    with pytest.raises(WrongStage, match="at stage closed"):
        ledger.assign_action(
            AS_MANAGER, review_id=closed.review_id,
            recommendation_id=closed.recommendation_id,
            agency_id=commissioned_review.agency_id, description="d", measure_of_success="m",
            due_on=clock.today(),
        )


def test_agency_lead_reports_progress_on_their_own_action(
        ledger: Ledger, commissioned_review: Any) -> None:
    action_id = assign(ledger, commissioned_review)
    ledger.report_progress(as_lead_of(commissioned_review.agency_id), action_id,
                           narrative="Sessions booked", rag="amber", evidence=["Booking list"])
    action = ledger.get_action(action_id)
    assert (action.last_rag, action.last_progress_on) == ("amber", clock.today())


def test_lead_of_another_agency_cannot_report_and_nothing_is_recorded(
        ledger: Ledger, commissioned_review: Any) -> None:
    action_id = assign(ledger, commissioned_review)
    head = ledger.head_position()
    other = as_lead_of(commissioned_review.other_agency_id)
    with pytest.raises(Forbidden):
        ledger.report_progress(other, action_id, narrative="n", rag="green")
    with pytest.raises(Forbidden):
        ledger.claim_completion(other, action_id, narrative="n")
    assert ledger.head_position() == head


def test_auditor_and_scrutineer_can_never_change_actions(
        ledger: Ledger, commissioned_review: Any) -> None:
    action_id = assign(ledger, commissioned_review)
    head = ledger.head_position()
    attempts = [
        ("report_progress", {"narrative": "n", "rag": "red"}),
        ("claim_completion", {"narrative": "n"}),
        ("assure_completion", {"comments": "c"}),
        ("reject_completion", {"reason": "r"}),
        ("revise_due_date", {"due_on": clock.today(), "reason": "r", "approved_by": "a"}),
        ("escalate_action", {"reason": "r"}),
        ("hold_to_account", {"outcome": "o", "meeting": "m"}),
        ("evaluate_impact", {"impact": "none", "narrative": "n"}),
        ("withdraw_action", {"reason": "r"}),
    ]
    for ctx in (AS_AUDITOR, AS_SCRUTINEER):
        for command, kwargs in attempts:
            with pytest.raises(Forbidden):
                getattr(ledger, command)(ctx, action_id, **kwargs)
        with pytest.raises(Forbidden):
            ledger.assign_action(
                ctx, review_id=commissioned_review.review_id,
                recommendation_id=commissioned_review.recommendation_id,
                agency_id=commissioned_review.agency_id, description="d",
                measure_of_success="m", due_on=clock.today(),
            )
    assert ledger.head_position() == head


def test_agency_lead_cannot_assure_their_own_claim(
        ledger: Ledger, commissioned_review: Any) -> None:
    action_id = assign(ledger, commissioned_review)
    claim(ledger, commissioned_review, action_id)
    with pytest.raises(Forbidden):
        ledger.assure_completion(as_lead_of(commissioned_review.agency_id), action_id,
                                 comments="Done")


def test_assured_completion_then_impact(
        ledger: Ledger, commissioned_review: Any) -> None:
    action_id = assign(ledger, commissioned_review)
    claim(ledger, commissioned_review, action_id)
    ledger.assure_completion(AS_MANAGER, action_id, comments="Register checked")
    ledger.evaluate_impact(AS_MANAGER, action_id, impact="demonstrable",
                           narrative="Audit shows referrals improved")
    action = ledger.get_action(action_id)
    assert (action.status, action.assured_on) == ("assured", clock.today())
    assert action.impact.impact == "demonstrable"


def test_rejected_completion_reopens_for_progress(
        ledger: Ledger, commissioned_review: Any) -> None:
    action_id = assign(ledger, commissioned_review)
    claim(ledger, commissioned_review, action_id)
    ledger.reject_completion(AS_MANAGER, action_id, reason="No evidence staff attended")
    ledger.report_progress(as_lead_of(commissioned_review.agency_id), action_id,
                           narrative="Attendance being collected", rag="amber")
    assert ledger.get_action(action_id).status == "open"


def test_due_date_revision_keeps_previous_due_date(
        ledger: Ledger, commissioned_review: Any) -> None:
    action_id = assign(ledger, commissioned_review)
    first = ledger.get_action(action_id).due_on
    ledger.revise_due_date(AS_MANAGER, action_id, due_on=first + timedelta(days=60),
                           reason="Trainer unavailable", approved_by="Sub-committee")
    action = ledger.get_action(action_id)
    assert action.due_on == first + timedelta(days=60)
    assert action.due_date_revisions[0].previous_due_on == first


def test_escalation_and_holding_to_account(
        ledger: Ledger, commissioned_review: Any) -> None:
    action_id = assign(ledger, commissioned_review)
    ledger.escalate_action(AS_MANAGER, action_id, reason="No progress for 90 days")
    with pytest.raises(Forbidden):
        ledger.hold_to_account(AS_SCRUTINEER, action_id, outcome="o", meeting="m")
    ledger.hold_to_account(AS_BOARD, action_id, outcome="Agency to report monthly",
                           meeting="Board 2025-06-19")
    action = ledger.get_action(action_id)
    assert not action.escalated
    assert [h.outcome for h in action.held_to_account] == ["Agency to report monthly"]


def test_history_shows_actor_and_reason(
        ledger: Ledger, commissioned_review: Any) -> None:
    action_id = assign(ledger, commissioned_review)
    ledger.withdraw_action(AS_MANAGER, action_id, reason="Superseded by a wider action")
    history = ledger.action_history(action_id)
    assert [type(h.event).__name__ for h in history] == ["Assigned", "Withdrawn"]
    last = history[-1]
    assert last.event.actor == AS_MANAGER.actor
    assert last.event.reason == "Superseded by a wider action"
    assert last.position == ledger.head_position()


def test_an_action_read_with_its_history_is_the_action_now(
        ledger: Ledger, commissioned_review: Any) -> None:
    action_id = assign(ledger, commissioned_review)
    ledger.escalate_action(AS_MANAGER, action_id, reason="No progress since March")
    action, history = ledger.action_with_history(action_id)
    assert (action.version, action.escalated) == (2, ledger.get_action(action_id).escalated)
    assert [e.position for e in history] == [
        ledger.positions_of(action_id)[v] for v in (1, 2)]


def test_history_of_an_unknown_or_other_record_is_not_found(
        ledger: Ledger, commissioned_review: Any) -> None:
    with pytest.raises(NotFound):
        ledger.action_with_history(uuid4())
    with pytest.raises(NotFound):
        ledger.action_history(commissioned_review.review_id)


def test_earlier_version_shows_the_earlier_state(
        ledger: Ledger, commissioned_review: Any) -> None:
    action_id = assign(ledger, commissioned_review)
    ledger.withdraw_action(AS_MANAGER, action_id, reason="r")
    assert ledger.get_action(action_id, version=1).status == "open"


def test_stale_expected_version_is_refused(
        ledger: Ledger, commissioned_review: Any) -> None:
    action_id = assign(ledger, commissioned_review)
    ledger.escalate_action(AS_MANAGER, action_id, reason="r")
    with pytest.raises(StaleVersion):
        ledger.withdraw_action(Context(AS_MANAGER.actor, expected_version=1), action_id,
                               reason="r")


def test_unknown_action_is_not_found(ledger: Ledger) -> None:
    with pytest.raises(NotFound):
        ledger.get_action(uuid4())
