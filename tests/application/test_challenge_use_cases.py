"""Challenge use cases on every store: who may raise, answer, escalate and resolve."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain import clock
from domain.actors import Actor, Role
from domain.application import Context
from domain.errors import Forbidden, InvalidInput, NotFound, WrongStage
from domain.ledger import Ledger
from tests.principals import AS_AUDITOR, AS_BOARD, AS_MANAGER, AS_SCRUTINEER, as_lead_of


def raise_on_review(ledger: Ledger, review: Any, ctx: Context = AS_SCRUTINEER) -> UUID:
    return ledger.raise_challenge(
        ctx, subject_type="review_decision", subject_id=review.review_id, subject_version=4,
        grounds="Information sharing was not considered", addressed_to=review.agency_id,
    ).id


def test_scrutineer_raises_a_challenge_on_a_review_decision(
        ledger: Ledger, commissioned_review: Any) -> None:
    challenge = ledger.get_challenge(raise_on_review(ledger, commissioned_review))
    assert challenge.is_open and challenge.stage == 1
    assert challenge.raised_by == AS_SCRUTINEER.actor
    assert challenge.addressed_to == commissioned_review.agency_id


def test_challenge_on_an_action_update_needs_an_action(
        ledger: Ledger, commissioned_review: Any) -> None:
    with pytest.raises(NotFound, match="no action"):
        ledger.raise_challenge(
            AS_SCRUTINEER, subject_type="action_update", subject_id=commissioned_review.review_id,
            grounds="g", addressed_to=commissioned_review.agency_id,
        )


def test_challenge_on_an_action_update(ledger: Ledger, commissioned_review: Any) -> None:
    action_id = ledger.assign_action(
        AS_MANAGER, review_id=commissioned_review.review_id,
        recommendation_id=commissioned_review.recommendation_id,
        agency_id=commissioned_review.agency_id, description="d", measure_of_success="m",
        due_on=clock.today() + timedelta(days=30),
    ).id
    outcome = ledger.raise_challenge(
        as_lead_of(commissioned_review.other_agency_id), subject_type="action_update",
        subject_id=action_id, subject_version=1, grounds="The RAG is too optimistic",
        addressed_to=commissioned_review.agency_id,
    )
    assert ledger.get_challenge(outcome.id).subject_type == "action_update"


def test_subject_version_beyond_the_subject_is_refused(
        ledger: Ledger, commissioned_review: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        ledger.raise_challenge(
            AS_SCRUTINEER, subject_type="report", subject_id=commissioned_review.review_id,
            subject_version=999, grounds="g", addressed_to=commissioned_review.agency_id,
        )
    assert error.value.field == "subject_version"


def test_challenge_addressed_to_an_unknown_agency_is_refused(
        ledger: Ledger, commissioned_review: Any) -> None:
    with pytest.raises(NotFound, match="no agency"):
        ledger.raise_challenge(AS_SCRUTINEER, subject_type="report",
                               subject_id=commissioned_review.review_id, grounds="g",
                               addressed_to=uuid4())


def test_auditor_cannot_raise_a_challenge(ledger: Ledger, commissioned_review: Any) -> None:
    head = ledger.head_position()
    with pytest.raises(Forbidden):
        raise_on_review(ledger, commissioned_review, AS_AUDITOR)
    assert ledger.head_position() == head


def test_addressed_agency_lead_responds(ledger: Ledger, commissioned_review: Any) -> None:
    challenge_id = raise_on_review(ledger, commissioned_review)
    ledger.respond_to_challenge(as_lead_of(commissioned_review.agency_id), challenge_id,
                                response="We shared what we held at the time")
    assert len(ledger.get_challenge(challenge_id).responses) == 1


def test_lead_of_another_agency_cannot_respond_and_nothing_is_recorded(
        ledger: Ledger, commissioned_review: Any) -> None:
    challenge_id = raise_on_review(ledger, commissioned_review)
    head = ledger.head_position()
    with pytest.raises(Forbidden):
        ledger.respond_to_challenge(as_lead_of(commissioned_review.other_agency_id), challenge_id,
                                    response="Not ours to answer")
    assert ledger.head_position() == head


def test_scb_manager_does_not_respond_for_an_agency(
        ledger: Ledger, commissioned_review: Any) -> None:
    challenge_id = raise_on_review(ledger, commissioned_review)
    with pytest.raises(Forbidden):
        ledger.respond_to_challenge(AS_MANAGER, challenge_id, response="r")


def test_addressed_lead_escalates_to_the_next_stage(
        ledger: Ledger, commissioned_review: Any) -> None:
    challenge_id = raise_on_review(ledger, commissioned_review)
    ledger.escalate_challenge(as_lead_of(commissioned_review.agency_id), challenge_id,
                              to_stage=2, reason="Needs a manager's view")
    challenge = ledger.get_challenge(challenge_id)
    assert [e.stage for e in challenge.stage_history] == [1, 2]


def test_lead_who_raised_a_challenge_against_another_agency_does_not_escalate_it(
        ledger: Ledger, commissioned_review: Any) -> None:
    # DOMAIN.md: an agency lead escalates challenges addressed to its agency; the scrutineer
    # escalates any.
    raiser = as_lead_of(commissioned_review.other_agency_id)
    challenge_id = raise_on_review(ledger, commissioned_review, raiser)
    with pytest.raises(Forbidden, match="addressed to their agency"):
        ledger.escalate_challenge(raiser, challenge_id, to_stage=2, reason="No answer")
    ledger.escalate_challenge(AS_SCRUTINEER, challenge_id, to_stage=2, reason="No answer")
    assert ledger.get_challenge(challenge_id).stage == 2


def test_unrelated_agency_lead_cannot_escalate(ledger: Ledger, commissioned_review: Any) -> None:
    challenge_id = raise_on_review(ledger, commissioned_review)
    head = ledger.head_position()
    with pytest.raises(Forbidden):
        ledger.escalate_challenge(as_lead_of(commissioned_review.other_agency_id), challenge_id,
                                  to_stage=2, reason="r")
    assert ledger.head_position() == head


def test_raiser_may_withdraw_without_resolving_rights(
        ledger: Ledger, commissioned_review: Any) -> None:
    challenge_id = raise_on_review(ledger, commissioned_review)
    ledger.resolve_challenge(AS_SCRUTINEER, challenge_id, outcome="withdrawn",
                             reason="Answered informally")
    assert ledger.get_challenge(challenge_id).outcome == "withdrawn"


def test_raiser_accepts_the_response_at_stages_1_to_3(
        ledger: Ledger, commissioned_review: Any) -> None:
    challenge_id = raise_on_review(ledger, commissioned_review)
    ledger.resolve_challenge(AS_SCRUTINEER, challenge_id, outcome="not_upheld",
                             reason="The response answers the grounds")
    assert ledger.get_challenge(challenge_id).outcome == "not_upheld"


def test_board_resolves_and_nothing_follows(ledger: Ledger, commissioned_review: Any) -> None:
    challenge_id = raise_on_review(ledger, commissioned_review)
    for stage in (2, 3, 4):
        ledger.escalate_challenge(AS_SCRUTINEER, challenge_id, to_stage=stage, reason="r")
    ledger.resolve_challenge(AS_BOARD, challenge_id, outcome="upheld",
                             reason="Decision to be revisited at the next Board")
    with pytest.raises(WrongStage, match="resolved .upheld."):
        ledger.respond_to_challenge(as_lead_of(commissioned_review.agency_id), challenge_id,
                                    response="late")


def test_history_shows_actor_and_reason(ledger: Ledger, commissioned_review: Any) -> None:
    challenge_id = raise_on_review(ledger, commissioned_review)
    ledger.escalate_challenge(AS_SCRUTINEER, challenge_id, to_stage=2, reason="No answer")
    history = ledger.challenge_history(challenge_id)
    assert [type(h.event).__name__ for h in history] == ["Raised", "Escalated"]
    assert history[-1].event.actor == AS_SCRUTINEER.actor
    assert history[-1].event.reason == "No answer"
    assert history[-1].position == ledger.head_position()


def test_only_the_raiser_may_withdraw_without_resolving_rights(
        ledger: Ledger, commissioned_review: Any) -> None:
    challenge_id = raise_on_review(ledger, commissioned_review)
    other_scrutineer = Context(Actor(user_id="u-scrutineer-2", role=Role.SCRUTINEER))
    with pytest.raises(Forbidden, match="resolved by the one who raised it"):
        ledger.resolve_challenge(other_scrutineer, challenge_id, outcome="withdrawn",
                                 reason="r")
