"""Action: transitions and refusals, on the aggregate alone."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

import pytest

from domain import clock
from domain.action import Action, ActionStatus
from domain.errors import InvalidInput, WrongStage
from tests.principals import BOARD, LEAD, MANAGER

ASSIGNED = date(2025, 1, 6)
DAY = date(2025, 2, 3)


def new_action(**overrides: object) -> Action:
    fields: dict[str, object] = {
        "actor": MANAGER, "occurred_on": ASSIGNED, "review_id": uuid4(),
        "recommendation_id": uuid4(), "agency_id": LEAD.agency_id,
        "description": "Deliver refresher training on bruising in non-mobile babies",
        "measure_of_success": "90% of health visitors trained", "due_on": date(2025, 6, 30),
        "milestones": ["Training designed", "Training delivered"],
    }
    fields.update(overrides)
    return Action.assign(**fields)  # type: ignore[arg-type]


def claimed() -> Action:
    action = new_action()
    action.claim_completion(actor=LEAD, occurred_on=DAY, narrative="All sessions held",
                            evidence=["Attendance register March 2025"])
    return action


def assured() -> Action:
    action = claimed()
    action.assure_completion(actor=MANAGER, occurred_on=DAY, comments="Register checked")
    return action


def test_assigned_action_is_open_with_its_terms() -> None:
    action = new_action()
    assert action.status == ActionStatus.OPEN
    assert action.assigned_on == ASSIGNED
    assert action.due_on == date(2025, 6, 30)
    assert action.milestones == ["Training designed", "Training delivered"]
    assert action.allowed_next() == ["report_progress", "claim_completion", "revise_due_date",
                                     "escalate_action", "withdraw_action"]


def test_due_date_before_assignment_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        new_action(due_on=ASSIGNED - timedelta(days=1))
    assert error.value.field == "due_on"


def test_assignment_in_the_future_is_refused() -> None:
    tomorrow = clock.today() + timedelta(days=1)
    with pytest.raises(InvalidInput):
        new_action(occurred_on=tomorrow, due_on=tomorrow + timedelta(days=30))


def test_blank_description_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        new_action(description="  ")
    assert error.value.field == "description"


def test_progress_records_rag_evidence_and_reporter() -> None:
    action = new_action()
    action.report_progress(actor=LEAD, occurred_on=DAY, narrative="Sessions booked",
                           rag="amber", evidence=["Booking list 2025-02-01"])
    assert action.last_rag == "amber"
    assert action.last_progress_on == DAY
    entry = action.progress[0]
    assert (entry.rag, entry.evidence, entry.by) == ("amber", ["Booking list 2025-02-01"],
                                                     "u-lead")


def test_backdated_progress_does_not_move_last_progress_back() -> None:
    action = new_action()
    action.report_progress(actor=LEAD, occurred_on=DAY, narrative="Later", rag="green")
    action.report_progress(actor=LEAD, occurred_on=DAY - timedelta(days=10),
                           narrative="Earlier, entered late", rag="amber")
    assert action.last_progress_on == DAY


def test_unknown_rag_is_refused_naming_allowed_values() -> None:
    with pytest.raises(InvalidInput, match="red, amber, green"):
        new_action().report_progress(actor=LEAD, occurred_on=DAY, narrative="n", rag="blue")


@pytest.mark.parametrize("evidence", [[""], ["x" * 501], ["ref"] * 51, "one string"])
def test_bad_evidence_is_refused(evidence: object) -> None:
    with pytest.raises(InvalidInput) as error:
        new_action().report_progress(actor=LEAD, occurred_on=DAY, narrative="n", rag="red",
                                     evidence=evidence)  # type: ignore[arg-type]
    assert error.value.field == "evidence"


def test_event_before_assignment_is_refused() -> None:
    with pytest.raises(InvalidInput):
        new_action().report_progress(actor=LEAD, occurred_on=ASSIGNED - timedelta(days=1),
                                     narrative="n", rag="red")


def test_claim_moves_to_completion_claimed() -> None:
    action = claimed()
    assert action.status == ActionStatus.COMPLETION_CLAIMED
    assert action.claimed_on == DAY
    assert action.last_progress_on == DAY


def test_no_progress_while_completion_is_claimed() -> None:
    with pytest.raises(WrongStage, match="completion_claimed.*allowed next: assure_completion"):
        claimed().report_progress(actor=LEAD, occurred_on=DAY, narrative="n", rag="red")


def test_assurance_completes_the_action() -> None:
    action = assured()
    assert action.status == ActionStatus.ASSURED
    assert action.assured_on == DAY


def test_rejection_reopens_the_action() -> None:
    action = claimed()
    action.reject_completion(actor=MANAGER, occurred_on=DAY, reason="No evidence of impact")
    assert action.status == ActionStatus.OPEN
    assert action.claimed_on is None


def test_rejection_needs_a_reason() -> None:
    with pytest.raises(InvalidInput):
        claimed().reject_completion(actor=MANAGER, occurred_on=DAY, reason=" ")


def test_assurance_needs_a_claim() -> None:
    with pytest.raises(WrongStage, match="is open"):
        new_action().assure_completion(actor=MANAGER, occurred_on=DAY, comments="c")


def test_due_date_revision_keeps_the_previous_date() -> None:
    action = new_action()
    action.revise_due_date(actor=MANAGER, occurred_on=DAY, due_on=date(2025, 9, 30),
                           reason="Trainer unavailable", approved_by="Sub-committee 2025-02")
    assert action.due_on == date(2025, 9, 30)
    assert action.original_due_on == date(2025, 6, 30)
    assert action.due_date_revisions[0].previous_due_on == date(2025, 6, 30)


def test_due_date_revision_to_the_same_date_is_refused() -> None:
    with pytest.raises(InvalidInput):
        new_action().revise_due_date(actor=MANAGER, occurred_on=DAY, due_on=date(2025, 6, 30),
                                     reason="r", approved_by="a")


def test_due_date_revision_before_assignment_is_refused() -> None:
    with pytest.raises(InvalidInput):
        new_action().revise_due_date(actor=MANAGER, occurred_on=DAY,
                                     due_on=ASSIGNED - timedelta(days=1), reason="r",
                                     approved_by="a")


def test_due_date_revision_needs_an_approver() -> None:
    with pytest.raises(InvalidInput) as error:
        new_action().revise_due_date(actor=MANAGER, occurred_on=DAY, due_on=date(2025, 7, 1),
                                     reason="r", approved_by="")
    assert error.value.field == "approved_by"


def test_no_due_date_revision_after_assurance() -> None:
    with pytest.raises(WrongStage):
        assured().revise_due_date(actor=MANAGER, occurred_on=DAY, due_on=date(2025, 7, 1),
                                  reason="r", approved_by="a")


def test_escalation_then_hold_to_account_clears_escalation() -> None:
    action = new_action()
    action.escalate_to_board(actor=MANAGER, occurred_on=DAY, reason="No update in 90 days")
    assert action.escalated
    action.hold_to_account(actor=BOARD, occurred_on=DAY, outcome="Agency to report monthly",
                           meeting="Board 2025-02-20")
    assert not action.escalated
    assert action.held_to_account[0].meeting == "Board 2025-02-20"


def test_escalation_climbs_the_ladder_and_stops_at_the_top() -> None:
    action = new_action()
    for level in ("sub_group", "delegated_partners", "lead_partners"):
        action.escalate(actor=MANAGER, occurred_on=DAY, reason=f"to {level}")
        assert action.escalation_level == level
    with pytest.raises(WrongStage, match="escalated to lead_partners"):
        action.escalate(actor=MANAGER, occurred_on=DAY, reason="r")
    assert [s.level for s in action.escalation_steps] == [
        "sub_group", "delegated_partners", "lead_partners"]


def test_escalation_skips_no_level() -> None:
    action = new_action()
    with pytest.raises(InvalidInput, match="only to sub_group") as error:
        action.escalate(actor=MANAGER, occurred_on=DAY, reason="r", to_level="lead_partners")
    assert error.value.field == "to_level"
    with pytest.raises(InvalidInput):
        action.escalate(actor=MANAGER, occurred_on=DAY, reason="r", to_level="the_king")


def test_hold_to_account_needs_an_escalation() -> None:
    with pytest.raises(WrongStage):
        new_action().hold_to_account(actor=BOARD, occurred_on=DAY, outcome="o", meeting="m")


def test_impact_is_evaluated_once_after_assurance() -> None:
    action = assured()
    action.evaluate_impact(actor=MANAGER, occurred_on=DAY, impact="demonstrable",
                           narrative="Audit shows referrals for bruising doubled")
    assert action.impact is not None and action.impact.impact == "demonstrable"
    with pytest.raises(WrongStage):
        action.evaluate_impact(actor=MANAGER, occurred_on=DAY, impact="limited", narrative="n")


def test_impact_before_assurance_is_refused() -> None:
    with pytest.raises(WrongStage):
        claimed().evaluate_impact(actor=MANAGER, occurred_on=DAY, impact="none", narrative="n")


def test_withdrawn_action_accepts_nothing() -> None:
    action = claimed()
    action.withdraw(actor=MANAGER, occurred_on=DAY, reason="Superseded by action 4")
    assert action.withdrawn_reason == "Superseded by action 4"
    assert action.allowed_next() == []
    with pytest.raises(WrongStage, match="allowed next: nothing"):
        action.escalate_to_board(actor=MANAGER, occurred_on=DAY, reason="r")


def test_assured_action_cannot_be_withdrawn() -> None:
    with pytest.raises(WrongStage):
        assured().withdraw(actor=MANAGER, occurred_on=DAY, reason="r")
