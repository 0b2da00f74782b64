"""The Review aggregate: each step of the process, and each refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import pytest

from domain import clock
from domain.deadlines import DeadlineStatus
from domain.errors import InvalidInput, WrongStage
from domain.review import Review, Stage
from tests.principals import MANAGER

DAY = date(2024, 1, 8)  # every step happens on this day unless a test says otherwise


def incident(**overrides: Any) -> Review:
    fields: dict[str, Any] = {
        "actor": MANAGER, "occurred_on": DAY, "reference": "SSSCB-2024-01",
        "partnership": "SSSCB", "local_authority_area": "Stoke-on-Trent",
        "age_band": "under_1", "harm": "serious_harm", "category": "non_accidental_injury",
        "legal_status": "child_in_need", "agencies_involved": [uuid4()],
    }
    return Review.record(**{**fields, **overrides})


def add_finding(r: Review) -> None:
    r.record_finding(actor=MANAGER, occurred_on=DAY, text="Bruising not escalated",
                     themes=["bruising"])


def add_recommendation(r: Review) -> None:
    r.record_recommendation(actor=MANAGER, occurred_on=DAY, text="Refresh training",
                            finding_ids=[r.findings[0].id if r.findings else uuid4()])


# One call per command, with valid arguments.
COMMANDS: dict[str, Callable[[Review], Any]] = {
    "notify_panel": lambda r: r.notify_panel(actor=MANAGER, occurred_on=DAY),
    "complete_rapid_review": lambda r: r.complete_rapid_review(
        actor=MANAGER, occurred_on=DAY, summary="Facts gathered"),
    "record_local_decision": lambda r: r.record_local_decision(
        actor=MANAGER, occurred_on=DAY, conduct_review=True,
        criteria=["multi_agency_concerns"], rationale="Agencies did not share information"),
    "record_panel_decision": lambda r: r.record_panel_decision(
        actor=MANAGER, occurred_on=DAY, national_review=False, criteria=[],
        rationale="A local review is more appropriate"),
    "commission_reviewer": lambda r: r.commission_reviewer(
        actor=MANAGER, occurred_on=DAY, reviewer="Independent Reviewer"),
    "record_finding": add_finding,
    "record_recommendation": add_recommendation,
    "submit_report": lambda r: r.submit_report(actor=MANAGER, occurred_on=DAY,
                                               summary="Overarching report"),
    "record_scrutiny": lambda r: r.record_scrutiny(actor=MANAGER, occurred_on=DAY,
                                                   outcome="no_challenge", challenge_id=None),
    "sign_off": lambda r: r.sign_off(actor=MANAGER, occurred_on=DAY, meeting="Board 1 Feb"),
    "send_to_panel": lambda r: r.send_to_panel(actor=MANAGER, occurred_on=DAY),
    "publish": lambda r: r.publish(actor=MANAGER, occurred_on=DAY, location="https://x/r.pdf"),
    "defer_publication": lambda r: r.defer_publication(actor=MANAGER, occurred_on=DAY,
                                                       reason="Criminal trial pending"),
    "close_review": lambda r: r.close_review(actor=MANAGER, occurred_on=DAY, reason="Done"),
}

PATH = ["notify_panel", "complete_rapid_review", "record_local_decision",
        "commission_reviewer", "record_finding", "record_recommendation", "submit_report",
        "record_scrutiny", "sign_off", "send_to_panel", "publish", "close_review"]


def at(stage: Stage) -> Review:
    """A review taken along the main path until it reaches `stage`."""
    review = incident()
    for command in PATH:
        if review.stage is stage:
            break
        COMMANDS[command](review)
    assert review.stage is stage
    return review


def no_cspr() -> Review:
    review = at(Stage.RAPID_REVIEW_COMPLETED)
    review.record_local_decision(actor=MANAGER, occurred_on=DAY, conduct_review=False,
                                 criteria=[], rationale="Single-agency learning only")
    return review


# ---- recording an incident --------------------------------------------------------------
def test_an_incident_starts_at_incident_recorded_with_awareness_as_its_date() -> None:
    review = incident()
    assert (review.stage, review.aware_on, review.version) == (
        Stage.INCIDENT_RECORDED, DAY, 1)
    assert review.allowed_next() == ["notify_panel", "correct_date"]


@pytest.mark.parametrize("field", ["age_band", "harm", "category", "legal_status"])
def test_an_enum_outside_the_catalogue_is_refused_naming_the_allowed_values(field: str) -> None:
    with pytest.raises(InvalidInput, match="must be one of") as error:
        incident(**{field: "unknown"})
    assert error.value.field == field


@pytest.mark.parametrize("reference", ["AB", "Child A: born 1/2/2020", " ", "x" * 41])
def test_a_reference_outside_the_pseudonym_pattern_is_refused(reference: str) -> None:
    with pytest.raises(InvalidInput) as error:
        incident(reference=reference)
    assert error.value.field == "reference"


def test_a_pseudonymous_reference_is_accepted_and_trimmed() -> None:
    assert incident(reference=" Child A / SSSCB 24 ").reference == "Child A / SSSCB 24"


def test_agencies_involved_must_be_ids() -> None:
    with pytest.raises(InvalidInput) as error:
        incident(agencies_involved=["Staffordshire Police"])
    assert error.value.field == "agencies_involved"


def test_a_future_awareness_date_is_refused() -> None:
    with pytest.raises(InvalidInput, match="future"):
        incident(occurred_on=clock.today() + timedelta(days=1))


# ---- every transition -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("before", "command", "after"),
    [
        (Stage.INCIDENT_RECORDED, "notify_panel", Stage.PANEL_NOTIFIED),
        (Stage.PANEL_NOTIFIED, "complete_rapid_review", Stage.RAPID_REVIEW_COMPLETED),
        (Stage.RAPID_REVIEW_COMPLETED, "record_local_decision", Stage.DECIDED),
        (Stage.DECIDED, "commission_reviewer", Stage.REVIEWER_COMMISSIONED),
        (Stage.REVIEWER_COMMISSIONED, "record_finding", Stage.REVIEWER_COMMISSIONED),
        (Stage.REPORT_SUBMITTED, "record_scrutiny", Stage.SCRUTINISED),
        (Stage.SCRUTINISED, "sign_off", Stage.SIGNED_OFF),
        (Stage.SIGNED_OFF, "send_to_panel", Stage.SENT_TO_PANEL),
        (Stage.SIGNED_OFF, "defer_publication", Stage.SIGNED_OFF),
        (Stage.SENT_TO_PANEL, "defer_publication", Stage.SENT_TO_PANEL),
        (Stage.SENT_TO_PANEL, "publish", Stage.PUBLISHED),
        (Stage.PUBLISHED, "close_review", Stage.CLOSED),
        (Stage.PANEL_NOTIFIED, "record_panel_decision", Stage.PANEL_NOTIFIED),
        (Stage.PUBLISHED, "record_panel_decision", Stage.PUBLISHED),
    ],
)
def test_each_step_moves_the_stage_as_listed(before: Stage, command: str,
                                             after: Stage) -> None:
    review = at(before)
    COMMANDS[command](review)
    assert review.stage is after


def test_a_recommendation_rests_on_recorded_findings() -> None:
    review = at(Stage.REVIEWER_COMMISSIONED)
    add_finding(review)
    add_recommendation(review)
    assert review.recommendations[0].finding_ids == (review.findings[0].id,)
    assert "submit_report" in review.allowed_next()


def test_submitting_the_report_needs_a_recommendation_and_moves_on() -> None:
    review = at(Stage.REVIEWER_COMMISSIONED)
    add_finding(review)
    add_recommendation(review)
    COMMANDS["submit_report"](review)
    assert review.stage is Stage.REPORT_SUBMITTED


def test_a_decision_not_to_review_allows_only_closing_the_panel_decision_and_corrections(
) -> None:
    review = no_cspr()
    assert review.allowed_next() == ["close_review", "record_panel_decision", "correct_date"]
    COMMANDS["close_review"](review)
    assert review.stage is Stage.CLOSED


def test_each_step_records_its_key_date() -> None:
    review = at(Stage.CLOSED)
    assert all(day == DAY for day in review.key_dates().values())


# ---- refusals ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("stage", "command", "allowed"),
    [
        (Stage.INCIDENT_RECORDED, "complete_rapid_review", "notify_panel, correct_date"),
        (Stage.INCIDENT_RECORDED, "record_panel_decision", "notify_panel, correct_date"),
        (Stage.PANEL_NOTIFIED, "record_local_decision",
         "complete_rapid_review, record_panel_decision, correct_date"),
        (Stage.RAPID_REVIEW_COMPLETED, "commission_reviewer",
         "record_local_decision, record_panel_decision, correct_date"),
        (Stage.DECIDED, "close_review",
         "commission_reviewer, record_panel_decision, correct_date"),
        (Stage.REVIEWER_COMMISSIONED, "submit_report",
         "record_finding, record_panel_decision, correct_date"),
        (Stage.REVIEWER_COMMISSIONED, "record_recommendation",
         "record_finding, record_panel_decision, correct_date"),
        (Stage.REPORT_SUBMITTED, "record_finding",
         "record_scrutiny, record_panel_decision, correct_date"),
        (Stage.SCRUTINISED, "send_to_panel", "sign_off, record_panel_decision, correct_date"),
        (Stage.SIGNED_OFF, "publish",
         "send_to_panel, defer_publication, record_panel_decision, correct_date"),
        (Stage.PUBLISHED, "defer_publication",
         "close_review, record_panel_decision, correct_date"),
        (Stage.CLOSED, "notify_panel", "record_panel_decision, correct_date"),
    ],
)
def test_an_out_of_order_step_names_the_stage_and_what_is_allowed_next(
    stage: Stage, command: str, allowed: str,
) -> None:
    review = at(stage)
    with pytest.raises(WrongStage) as error:
        COMMANDS[command](review)
    assert f"at stage {stage.value}" in error.value.detail
    assert error.value.detail.endswith(f"allowed next: {allowed}")


@pytest.mark.parametrize("command", ["commission_reviewer", "record_finding", "publish"])
def test_a_decision_not_to_review_refuses_the_review_steps(command: str) -> None:
    review = no_cspr()
    with pytest.raises(WrongStage, match="allowed next: close_review"):
        COMMANDS[command](review)


def test_a_refused_command_leaves_the_version_unchanged() -> None:
    review = at(Stage.PANEL_NOTIFIED)
    review.collect_events()
    with pytest.raises(WrongStage):
        COMMANDS["publish"](review)
    assert review.version == 2
    assert review.collect_events() == []


def test_the_panel_decision_is_recorded_once() -> None:
    review = at(Stage.PANEL_NOTIFIED)
    COMMANDS["record_panel_decision"](review)
    with pytest.raises(WrongStage, match="already recorded"):
        COMMANDS["record_panel_decision"](review)
    assert review.panel_decision is not None and review.panel_decision.conduct is False


def test_the_panel_decision_may_arrive_after_a_no_cspr_case_is_closed() -> None:
    review = no_cspr()
    COMMANDS["close_review"](review)
    COMMANDS["record_panel_decision"](review)
    assert review.stage is Stage.CLOSED and review.panel_decision is not None


def test_a_recommendation_naming_an_unknown_finding_is_refused() -> None:
    review = at(Stage.REVIEWER_COMMISSIONED)
    add_finding(review)
    with pytest.raises(InvalidInput) as error:
        review.record_recommendation(actor=MANAGER, occurred_on=DAY, text="t",
                                     finding_ids=[uuid4()])
    assert error.value.field == "finding_ids"


def test_a_recommendation_without_findings_is_refused() -> None:
    review = at(Stage.REVIEWER_COMMISSIONED)
    add_finding(review)
    with pytest.raises(InvalidInput, match="at least one finding"):
        review.record_recommendation(actor=MANAGER, occurred_on=DAY, text="t", finding_ids=[])


@pytest.mark.parametrize("themes", [["Information Sharing"], ["ok", "ok"], "bruising"])
def test_themes_must_be_distinct_lower_case_slugs(themes: Any) -> None:
    review = at(Stage.REVIEWER_COMMISSIONED)
    with pytest.raises(InvalidInput) as error:
        review.record_finding(actor=MANAGER, occurred_on=DAY, text="t", themes=themes)
    assert error.value.field == "themes"


def test_a_challenged_scrutiny_must_name_its_challenge() -> None:
    review = at(Stage.REPORT_SUBMITTED)
    with pytest.raises(InvalidInput) as error:
        review.record_scrutiny(actor=MANAGER, occurred_on=DAY, outcome="challenged",
                               challenge_id=None)
    assert error.value.field == "challenge_id"


def test_a_challenged_scrutiny_records_the_challenge() -> None:
    review = at(Stage.REPORT_SUBMITTED)
    challenge_id = uuid4()
    review.record_scrutiny(actor=MANAGER, occurred_on=DAY, outcome="challenged",
                           challenge_id=challenge_id, notes="Actions not SMART")
    assert review.scrutiny is not None and review.scrutiny.challenge_id == challenge_id


def test_an_unknown_scrutiny_outcome_is_refused() -> None:
    review = at(Stage.REPORT_SUBMITTED)
    with pytest.raises(InvalidInput, match="no_challenge, challenged"):
        review.record_scrutiny(actor=MANAGER, occurred_on=DAY, outcome="fine",
                               challenge_id=None)


def test_a_local_decision_criterion_outside_regulation_11_is_refused() -> None:
    review = at(Stage.RAPID_REVIEW_COMPLETED)
    with pytest.raises(InvalidInput) as error:
        review.record_local_decision(actor=MANAGER, occurred_on=DAY, conduct_review=True,
                                     criteria=["institutional_settings"], rationale="r")
    assert error.value.field == "criteria"


def test_a_blank_rationale_is_refused() -> None:
    review = at(Stage.RAPID_REVIEW_COMPLETED)
    with pytest.raises(InvalidInput) as error:
        review.record_local_decision(actor=MANAGER, occurred_on=DAY, conduct_review=False,
                                     criteria=[], rationale="  ")
    assert error.value.field == "rationale"


def test_a_checkpoint_needs_both_size_and_root() -> None:
    review = at(Stage.SCRUTINISED)
    with pytest.raises(InvalidInput):
        review.sign_off(actor=MANAGER, occurred_on=DAY, meeting="Board", checkpoint_size=4)


def test_a_step_dated_before_the_previous_step_is_refused() -> None:
    review = at(Stage.INCIDENT_RECORDED)
    with pytest.raises(InvalidInput, match="before aware_on"):
        review.notify_panel(actor=MANAGER, occurred_on=DAY - timedelta(days=1))


def test_a_future_step_is_refused() -> None:
    review = at(Stage.INCIDENT_RECORDED)
    with pytest.raises(InvalidInput, match="future"):
        review.notify_panel(actor=MANAGER, occurred_on=clock.today() + timedelta(days=1))


def test_a_deferral_needs_a_reason_and_turns_a_missed_publication_into_deferred() -> None:
    review = at(Stage.SIGNED_OFF)
    with pytest.raises(InvalidInput):
        review.defer_publication(actor=MANAGER, occurred_on=DAY, reason="")
    COMMANDS["defer_publication"](review)
    publication = {d.name: d for d in review.deadlines(date(2024, 9, 1))}["publication"]
    assert publication.status is DeadlineStatus.DEFERRED


# ---- date corrections -------------------------------------------------------------------
def correct(review: Review, field: str, corrected: date, reason: str = "Typed wrongly") -> None:
    review.correct_date(actor=MANAGER, occurred_on=DAY, field=field, corrected=corrected,
                        reason=reason)


def test_a_corrected_date_replaces_the_value_and_names_the_event_it_corrects() -> None:
    review = at(Stage.PANEL_NOTIFIED)
    correct(review, "notified_on", DAY + timedelta(days=1))
    assert review.notified_on == DAY + timedelta(days=1)
    assert review.corrections[0].corrects_version == 2
    assert review.corrections[0].previous == DAY


def test_deadlines_use_the_corrected_date() -> None:
    review = at(Stage.PANEL_NOTIFIED)  # aware and notified Mon 8 Jan 2024: met
    correct(review, "aware_on", date(2024, 1, 2))
    correct(review, "aware_on", date(2023, 12, 22))  # due Wed 3 Jan 2024
    notification = review.deadlines(date(2024, 2, 1))[0]
    assert (notification.due_on, notification.status, notification.working_days_late) == (
        date(2024, 1, 3), DeadlineStatus.MISSED, 3)
    assert review.corrections[1].corrects_version == 3  # the earlier correction


@pytest.mark.parametrize(
    ("field", "corrected", "reason", "message"),
    [
        ("sent_on", DAY, "r", "no sent_on"),  # not recorded yet
        ("closed_on", DAY, "r", "must be one of"),  # not a correctable date
        ("notified_on", DAY, "r", "already"),  # no change
        ("notified_on", DAY - timedelta(days=1), "r", "before aware_on"),
        ("aware_on", DAY + timedelta(days=1), "r", "after notified_on"),
        ("notified_on", date(2099, 1, 1), "r", "future"),
        ("notified_on", DAY + timedelta(days=1), " ", "reason"),
    ],
)
def test_an_invalid_correction_is_refused(field: str, corrected: date, reason: str,
                                          message: str) -> None:
    review = at(Stage.PANEL_NOTIFIED)
    with pytest.raises(InvalidInput, match=message):
        correct(review, field, corrected, reason)
    assert review.version == 2
