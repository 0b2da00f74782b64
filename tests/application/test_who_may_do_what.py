"""DOMAIN.md's rules for challenges and the Board's outcomes, on every store: any partner
agency's lead, the SCB manager and the scrutineer raise a challenge; at stages 1-3 it is
resolved by the one who raised it or by the SCB manager recording the agreed outcome; at
stage 4 only by the Board (a board member, or the SCB manager recording the Board's decision
at a named meeting). The SCB manager records the Board's outcome on an escalated action.
Every refusal writes nothing."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from domain.errors import DomainError, Forbidden, InvalidInput
from tests.principals import AS_BOARD, AS_MANAGER, AS_SCRUTINEER, as_lead_of
from tests.scenarios import Scenario


def world(ledger: Any) -> tuple[UUID, UUID, UUID]:
    """(action of agency A, agency A, agency B)."""
    scenario = Scenario(ledger)
    a, b = scenario.agency("Police", "police"), scenario.agency("City Council", "other")
    action = scenario.assign(scenario.review([a, b]), a).id
    return action, a, b


def refused(ledger: Any, error: type[DomainError], call: Any, match: str | None = None) -> None:
    before = ledger.head_position()
    with pytest.raises(error, match=match):
        call()
    assert ledger.head_position() == before


def at_stage(ledger: Any, challenge: UUID, stage: int) -> None:
    for to in range(2, stage + 1):
        ledger.escalate_challenge(AS_SCRUTINEER, challenge, to_stage=to, reason="No answer")


def test_partner_leads_the_manager_and_the_scrutineer_raise_challenges_the_board_does_not(
    ledger: Any,
) -> None:
    action, a, b = world(ledger)
    for ctx in (as_lead_of(b), AS_MANAGER, AS_SCRUTINEER):
        Scenario(ledger).challenge(action, a, by=ctx)
    refused(ledger, Forbidden, lambda: Scenario(ledger).challenge(action, a, by=AS_BOARD))


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_the_raiser_resolves_at_stages_1_to_3(ledger: Any, stage: int) -> None:
    action, a, b = world(ledger)
    raiser = as_lead_of(b)
    challenge = Scenario(ledger).challenge(action, a, by=raiser)
    at_stage(ledger, challenge, stage)
    refused(ledger, Forbidden, lambda: ledger.resolve_challenge(
        AS_BOARD, challenge, outcome="upheld", reason="r"), match="stage 4 only")
    refused(ledger, Forbidden, lambda: ledger.resolve_challenge(
        as_lead_of(a), challenge, outcome="not_upheld", reason="r"))
    ledger.resolve_challenge(raiser, challenge, outcome="withdrawn", reason="Answered")
    assert ledger.get_challenge(challenge).outcome == "withdrawn"


def test_the_manager_records_the_agreed_outcome_at_stages_1_to_3(ledger: Any) -> None:
    action, a, _ = world(ledger)
    challenge = Scenario(ledger).challenge(action, a)
    at_stage(ledger, challenge, 3)
    ledger.resolve_challenge(AS_MANAGER, challenge, outcome="upheld",
                             reason="Agreed at the senior managers' meeting")
    assert ledger.get_challenge(challenge).resolution_meeting is None


def test_at_stage_4_only_the_board_resolves(ledger: Any) -> None:
    action, a, b = world(ledger)
    raiser = as_lead_of(b)
    challenge = Scenario(ledger).challenge(action, a, by=raiser)
    at_stage(ledger, challenge, 4)
    for ctx in (raiser, AS_SCRUTINEER, as_lead_of(a)):
        refused(ledger, Forbidden, lambda ctx=ctx: ledger.resolve_challenge(
            ctx, challenge, outcome="withdrawn", reason="r"), match="only the Board")
    refused(ledger, InvalidInput, lambda: ledger.resolve_challenge(
        AS_MANAGER, challenge, outcome="upheld", reason="r"), match="Board meeting")
    ledger.resolve_challenge(AS_MANAGER, challenge, outcome="upheld",
                             reason="The Board upheld the challenge",
                             meeting="Full Board 12 March 2026")
    assert ledger.get_challenge(challenge).resolution_meeting == "Full Board 12 March 2026"


def test_a_board_member_resolves_at_stage_4(ledger: Any) -> None:
    action, a, _ = world(ledger)
    challenge = Scenario(ledger).challenge(action, a)
    at_stage(ledger, challenge, 4)
    ledger.resolve_challenge(AS_BOARD, challenge, outcome="not_upheld", reason="Board decided")
    assert ledger.get_challenge(challenge).outcome == "not_upheld"


def test_only_the_lead_of_the_agency_addressed_answers_and_escalates(ledger: Any) -> None:
    action, a, b = world(ledger)
    challenge = Scenario(ledger).challenge(action, a)
    for ctx in (as_lead_of(b), AS_MANAGER, AS_BOARD, AS_SCRUTINEER):
        refused(ledger, Forbidden, lambda ctx=ctx: ledger.respond_to_challenge(
            ctx, challenge, response="r"))
    for ctx in (as_lead_of(b), AS_MANAGER, AS_BOARD):
        refused(ledger, Forbidden, lambda ctx=ctx: ledger.escalate_challenge(
            ctx, challenge, to_stage=2, reason="r"))
    ledger.respond_to_challenge(as_lead_of(a), challenge, response="Our answer")
    ledger.escalate_challenge(as_lead_of(a), challenge, to_stage=2, reason="Not agreed")
    assert ledger.get_challenge(challenge).stage == 2


def test_the_manager_records_the_boards_outcome_on_an_escalated_action(ledger: Any) -> None:
    action, a, _ = world(ledger)
    ledger.escalate_action(AS_MANAGER, action, reason="Overdue")
    for ctx in (as_lead_of(a), AS_SCRUTINEER):
        refused(ledger, Forbidden, lambda ctx=ctx: ledger.hold_to_account(
            ctx, action, outcome="o", meeting="m"))
    ledger.hold_to_account(AS_MANAGER, action, outcome="Recovery plan to the next Board",
                           meeting="Full Board 12 March 2026")
    [outcome] = ledger.get_action(action).held_to_account
    assert (outcome.meeting, outcome.by) == ("Full Board 12 March 2026", "u-manager")


def test_a_resolution_recorded_before_meetings_were_named_still_loads(ledger: Any) -> None:
    action, a, _ = world(ledger)
    challenge = Scenario(ledger).challenge(action, a)
    ledger.resolve_challenge(AS_SCRUTINEER, challenge, outcome="withdrawn", reason="r")
    event = ledger.challenge_history(challenge)[-1].event
    stored = ledger.mapper.to_stored_event(event)
    state = ledger.mapper.transcoder.decode(stored.state)
    assert state.pop("class_version") == 2
    del state["meeting"]  # as version 1 stored it
    old = StoredEvent(originator_id=stored.originator_id,
                      originator_version=stored.originator_version, topic=stored.topic,
                      state=ledger.mapper.transcoder.encode(state))
    loaded = ledger.mapper.to_domain_event(old)
    assert (loaded.outcome, loaded.meeting) == ("withdrawn", None)
