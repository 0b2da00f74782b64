"""Review use cases on every store: the whole process, who may do it, and what is recorded."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from domain import clock
from domain.application import Context
from domain.deadlines import DeadlineStatus
from domain.errors import AlreadyExists, Forbidden, NotFound, StaleVersion, WrongStage
from domain.ledger import Ledger
from tests.principals import AS_BOARD, AS_LEAD, AS_MANAGER
from tests.scenarios import Scenario

AWARE = date(2024, 1, 8)


def incident(ledger: Ledger, reference: str = "SSSCB-2024-01",
             agencies: list[UUID] | None = None) -> UUID:
    """An incident the partners became aware of on AWARE (by default involving a new police
    force)."""
    if agencies is None:
        agencies = [Scenario(ledger).agency("Staffordshire Police", "police",
                                            statutory_partner=True)]
    return Scenario(ledger, on=AWARE).incident(agencies, reference)


def to_commissioned(ledger: Ledger, review_id: UUID) -> None:
    ledger.notify_panel(AS_MANAGER, review_id, occurred_on=date(2024, 1, 10))
    ledger.complete_rapid_review(AS_MANAGER, review_id, summary="Facts gathered",
                                 occurred_on=date(2024, 1, 26))
    ledger.record_local_decision(AS_MANAGER, review_id, conduct_review=True,
                                 criteria=["multi_agency_concerns"],
                                 rationale="Agencies did not share information",
                                 occurred_on=date(2024, 2, 1))
    ledger.record_panel_decision(AS_MANAGER, review_id, national_review=False,
                                 criteria=["improvements_needed"],
                                 rationale="A local review is more appropriate",
                                 occurred_on=date(2024, 2, 5))
    ledger.commission_reviewer(AS_MANAGER, review_id, reviewer="Independent Reviewer",
                               occurred_on=date(2024, 2, 12))


def to_signed_off(ledger: Ledger, review_id: UUID) -> None:
    to_commissioned(ledger, review_id)
    finding = ledger.record_finding(AS_MANAGER, review_id, text="Neglect was not recognised",
                                    themes=["neglect-recognition"],
                                    occurred_on=date(2024, 4, 1))
    ledger.record_recommendation(AS_MANAGER, review_id, text="Roll out the neglect toolkit",
                                 finding_ids=[finding.item_id], occurred_on=date(2024, 4, 2))
    ledger.submit_report(AS_MANAGER, review_id, summary="Overarching report",
                         occurred_on=date(2024, 5, 1))
    ledger.record_scrutiny(AS_MANAGER, review_id, outcome="no_challenge", notes="Read in full",
                           occurred_on=date(2024, 5, 15))
    ledger.sign_off(AS_BOARD, review_id, meeting="Full Board, 1 June 2024",
                    occurred_on=date(2024, 6, 3))


def test_a_review_walks_from_incident_to_closed_meeting_every_deadline(ledger: Ledger) -> None:
    review_id = incident(ledger)
    to_signed_off(ledger, review_id)
    ledger.send_to_panel(AS_MANAGER, review_id, occurred_on=date(2024, 6, 10))
    ledger.publish(AS_MANAGER, review_id, location="https://ssscb.org.uk/cspr/2024-01",
                   occurred_on=date(2024, 7, 1))
    ledger.close_review(AS_MANAGER, review_id, reason="Published; actions tracked",
                        occurred_on=date(2024, 7, 2))
    review = ledger.get_review(review_id)
    assert review.stage == "closed"
    assert review.version == 14
    assert {d.name: d.status for d in review.deadlines(date(2024, 8, 1))} == {
        "panel_notification": DeadlineStatus.MET, "rapid_review": DeadlineStatus.MET,
        "publication": DeadlineStatus.MET, "sent_to_panel": DeadlineStatus.MET,
    }


def test_a_decision_not_to_review_closes_the_case(ledger: Ledger) -> None:
    review_id = incident(ledger)
    ledger.notify_panel(AS_MANAGER, review_id)
    ledger.complete_rapid_review(AS_MANAGER, review_id, summary="Facts gathered")
    ledger.record_local_decision(AS_MANAGER, review_id, conduct_review=False, criteria=[],
                                 rationale="Learning is single-agency")
    ledger.close_review(AS_MANAGER, review_id, reason="No CSPR")
    assert ledger.get_review(review_id).stage == "closed"


def test_findings_and_recommendations_return_their_new_ids(ledger: Ledger) -> None:
    review_id = incident(ledger)
    to_commissioned(ledger, review_id)
    finding = ledger.record_finding(AS_MANAGER, review_id, text="Neglect was not recognised",
                                    themes=["neglect-recognition", "supervision"])
    recommendation = ledger.record_recommendation(
        AS_MANAGER, review_id, text="Roll out the neglect toolkit", finding_ids=[finding.item_id])
    review = ledger.get_review(review_id)
    assert recommendation.outcome.version == review.version
    assert review.findings[0].id == finding.item_id
    assert review.findings[0].themes == ("neglect-recognition", "supervision")
    assert review.recommendations[0].id == recommendation.item_id
    assert review.recommendations[0].finding_ids == (finding.item_id,)


def test_a_duplicate_reference_is_refused_whatever_its_case(ledger: Ledger) -> None:
    incident(ledger, "SSSCB-2024-01")
    head = ledger.head_position()
    with pytest.raises(AlreadyExists) as error:
        incident(ledger, "ssscb-2024-01", agencies=[])
    assert error.value.field == "reference"
    assert ledger.head_position() == head


def test_a_review_is_found_by_its_reference(ledger: Ledger) -> None:
    review_id = incident(ledger, "Child A")
    assert ledger.find_review_by_reference(" child a ") == review_id
    assert ledger.find_review_by_reference("Child B") is None


def test_an_unknown_agency_is_refused(ledger: Ledger) -> None:
    head = ledger.head_position()
    with pytest.raises(NotFound, match="agency"):
        incident(ledger, agencies=[uuid4()])
    assert ledger.head_position() == head
    assert ledger.find_review_by_reference("SSSCB-2024-01") is None


def test_an_agency_lead_may_not_record_an_incident(ledger: Ledger) -> None:
    head = ledger.head_position()
    with pytest.raises(Forbidden):
        ledger.record_incident(
            AS_LEAD, reference="SSSCB-2024-09", partnership="SSSCB",
            local_authority_area="Staffordshire", age_band="under_1", harm="death",
            category="other", legal_status="none", agencies_involved=[],
        )
    assert ledger.head_position() == head


def test_only_a_board_member_signs_off(ledger: Ledger) -> None:
    review_id = incident(ledger)
    to_signed_off(ledger, review_id)  # signed off by AS_BOARD
    second = incident(ledger, "SSSCB-2024-02")
    with pytest.raises(Forbidden, match="sign off"):
        ledger.sign_off(AS_MANAGER, second, meeting="Full Board")
    with pytest.raises(Forbidden):
        ledger.notify_panel(AS_BOARD, second)


def test_an_out_of_order_step_records_nothing(ledger: Ledger) -> None:
    review_id = incident(ledger)
    head = ledger.head_position()
    with pytest.raises(WrongStage, match="allowed next: notify_panel"):
        ledger.publish(AS_MANAGER, review_id, location="https://example.org")
    assert ledger.head_position() == head
    assert ledger.get_review(review_id).version == 1


def test_a_stale_if_match_version_is_refused(ledger: Ledger) -> None:
    review_id = incident(ledger)
    ledger.notify_panel(AS_MANAGER, review_id)
    stale = Context(AS_MANAGER.actor, expected_version=1)
    with pytest.raises(StaleVersion):
        ledger.complete_rapid_review(stale, review_id, summary="Facts")


def test_history_lists_every_step_with_its_actor_and_rising_positions(ledger: Ledger) -> None:
    review_id = incident(ledger)
    to_signed_off(ledger, review_id)
    history = ledger.review_history(review_id)
    names = [type(entry.event).__name__ for entry in history]
    assert names == [
        "IncidentRecorded", "PanelNotified", "RapidReviewCompleted", "LocalDecisionMade",
        "NationalPanelDecisionRecorded", "ReviewerCommissioned", "FindingRecorded",
        "RecommendationRecorded", "ReportSubmitted", "Scrutinised", "SignedOff",
    ]
    assert [e.event.actor.user_id for e in history][-2:] == ["u-manager", "u-board"]
    positions = [e.position for e in history]
    assert all(isinstance(p, int) for p in positions)
    assert positions == sorted(positions) and len(set(positions)) == len(positions)


def test_a_date_correction_is_in_the_history_and_the_deadlines(ledger: Ledger) -> None:
    review_id = incident(ledger)
    ledger.notify_panel(AS_MANAGER, review_id, occurred_on=date(2024, 1, 10))
    ledger.correct_date(AS_MANAGER, review_id, field="notified_on", corrected=date(2024, 1, 17),
                        reason="The notification form was sent a week later")
    review = ledger.get_review(review_id)
    notification = review.deadlines(date(2024, 2, 1))[0]
    assert (notification.status, notification.working_days_late) == (
        DeadlineStatus.MISSED, 2)
    correction = ledger.review_history(review_id)[-1].event
    assert (correction.corrects_version, correction.previous) == (2, date(2024, 1, 10))


def test_a_review_reads_as_it_stood_at_a_version_or_a_moment(ledger: Ledger) -> None:
    with clock.frozen_at(datetime(2024, 1, 8, 9, tzinfo=UTC)):
        review_id = incident(ledger)
    with clock.frozen_at(datetime(2024, 1, 10, 9, tzinfo=UTC)):
        ledger.notify_panel(AS_MANAGER, review_id)
    assert ledger.get_review(review_id, version=1).stage == "incident_recorded"
    as_of = datetime(2024, 1, 9, tzinfo=UTC)
    assert ledger.get_review(review_id, as_of=as_of).stage == "incident_recorded"
    assert ledger.get_review(review_id).stage == "panel_notified"
    with pytest.raises(NotFound):
        ledger.get_review(review_id, version=3)
