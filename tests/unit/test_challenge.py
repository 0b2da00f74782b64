"""Challenge: transitions and refusals, on the aggregate alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from domain import clock
from domain.challenge import Challenge
from domain.errors import InvalidInput, WrongStage
from tests.principals import LEAD, SCRUTINEER

RAISED = date(2025, 3, 3)
DAY = date(2025, 3, 10)


def new_challenge(**overrides: object) -> Challenge:
    fields: dict[str, object] = {
        "actor": SCRUTINEER, "occurred_on": RAISED, "subject_type": "review_decision",
        "subject_id": uuid4(), "subject_version": 4,
        "grounds": "The decision not to hold a CSPR ignores the recurrent theme of neglect",
        "addressed_to": LEAD.agency_id,
    }
    fields.update(overrides)
    return Challenge.raise_challenge(**fields)  # type: ignore[arg-type]


def test_raised_challenge_is_open_at_stage_one() -> None:
    challenge = new_challenge()
    assert challenge.is_open
    assert challenge.stage == 1
    assert challenge.raised_by == SCRUTINEER
    assert challenge.allowed_next() == ["respond_to_challenge", "escalate_challenge",
                                        "resolve_challenge"]


def test_unknown_subject_type_is_refused_naming_allowed_values() -> None:
    with pytest.raises(InvalidInput, match="review_decision, action_update, report"):
        new_challenge(subject_type="meeting")


@pytest.mark.parametrize("version", [0, -1, True])
def test_subject_version_must_be_positive(version: object) -> None:
    with pytest.raises(InvalidInput) as error:
        new_challenge(subject_version=version)
    assert error.value.field == "subject_version"


def test_blank_grounds_are_refused() -> None:
    with pytest.raises(InvalidInput):
        new_challenge(grounds="")


def test_future_raise_is_refused() -> None:
    with pytest.raises(InvalidInput):
        new_challenge(occurred_on=clock.today() + timedelta(days=1))


def test_several_responses_are_recorded_with_their_stage() -> None:
    challenge = new_challenge()
    challenge.respond(actor=LEAD, occurred_on=DAY, response="We will re-examine the criteria")
    challenge.respond(actor=LEAD, occurred_on=DAY, response="Re-examined: decision stands")
    assert [r.stage for r in challenge.responses] == [1, 1]
    assert challenge.responses[1].by == "u-lead"


def test_stage_history_records_business_date_and_recorded_time() -> None:
    moment = datetime(2025, 3, 12, 9, 30, tzinfo=UTC)
    with clock.frozen_at(moment):
        challenge = new_challenge()
        challenge.escalate(actor=SCRUTINEER, occurred_on=DAY, to_stage=2, reason="No answer")
    assert challenge.stage_history == [(1, RAISED, moment), (2, DAY, moment)]
    assert challenge.stage_entered_on == DAY


def test_escalation_goes_up_one_stage_at_a_time() -> None:
    challenge = new_challenge()
    with pytest.raises(InvalidInput, match="only to stage 2") as error:
        challenge.escalate(actor=SCRUTINEER, occurred_on=DAY, to_stage=3, reason="r")
    assert error.value.field == "to_stage"


def test_escalation_cannot_go_back() -> None:
    challenge = new_challenge()
    challenge.escalate(actor=SCRUTINEER, occurred_on=DAY, to_stage=2, reason="r")
    with pytest.raises(InvalidInput):
        challenge.escalate(actor=SCRUTINEER, occurred_on=DAY, to_stage=1, reason="r")


def test_no_escalation_beyond_the_board() -> None:
    challenge = new_challenge()
    for stage in (2, 3, 4):
        challenge.escalate(actor=SCRUTINEER, occurred_on=DAY, to_stage=stage, reason="r")
    assert challenge.stage_name == "Board"
    with pytest.raises(WrongStage, match="stage 4 .Board.; it cannot escalate"):
        challenge.escalate(actor=SCRUTINEER, occurred_on=DAY, to_stage=5, reason="r")


def test_escalation_dated_before_the_current_stage_is_refused() -> None:
    with pytest.raises(InvalidInput):
        new_challenge().escalate(actor=SCRUTINEER, occurred_on=RAISED - timedelta(days=1),
                                 to_stage=2, reason="r")


def test_resolution_ends_the_challenge() -> None:
    challenge = new_challenge()
    challenge.resolve(actor=SCRUTINEER, occurred_on=DAY, outcome="upheld",
                      reason="Panel agreed; decision to be revisited")
    assert not challenge.is_open
    assert (challenge.outcome, challenge.resolved_on) == ("upheld", DAY)
    assert challenge.allowed_next() == []


def test_nothing_after_resolution() -> None:
    challenge = new_challenge()
    challenge.resolve(actor=SCRUTINEER, occurred_on=DAY, outcome="withdrawn", reason="r")
    with pytest.raises(WrongStage, match="resolved .withdrawn.; it cannot respond"):
        challenge.respond(actor=LEAD, occurred_on=DAY, response="late answer")


def test_unknown_outcome_is_refused() -> None:
    with pytest.raises(InvalidInput, match="upheld, not_upheld, withdrawn"):
        new_challenge().resolve(actor=SCRUTINEER, occurred_on=DAY, outcome="maybe", reason="r")


def test_resolution_needs_a_reason() -> None:
    with pytest.raises(InvalidInput) as error:
        new_challenge().resolve(actor=SCRUTINEER, occurred_on=DAY, outcome="upheld", reason="")
    assert error.value.field == "reason"
