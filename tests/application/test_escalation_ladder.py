"""The escalation ladder (DOMAIN.md), on every store: an overdue or stalled action climbs
one level at a time, the sub-group, then the delegated safeguarding partners, then the lead
safeguarding partners, each step with its date, reason and who took it; the Board then holds
the agency to account. Only the SCB manager escalates; a refusal writes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from domain import clock
from domain.errors import DomainError, Forbidden, InvalidInput, WrongStage
from tests.principals import AS_BOARD, AS_MANAGER, AS_SCRUTINEER, as_lead_of
from tests.scenarios import Scenario

LEVELS = ["sub_group", "delegated_partners", "lead_partners"]


def action_of(ledger: Any) -> tuple[UUID, UUID]:
    scenario = Scenario(ledger, on=clock.today() - timedelta(days=120))
    agency = scenario.agency("Police", "police")
    return scenario.assign(scenario.review([agency]), agency, due_on=clock.today()).id, agency


def refused(ledger: Any, error: type[DomainError], call: Any) -> None:
    before = ledger.head_position()
    with pytest.raises(error):
        call()
    assert ledger.head_position() == before


def test_each_level_in_turn_with_its_date_reason_and_who(ledger: Any) -> None:
    action, _ = action_of(ledger)
    start = clock.today() - timedelta(days=60)
    for i, level in enumerate(LEVELS):
        ledger.escalate_action(AS_MANAGER, action, reason=f"Still no plan ({level})",
                               occurred_on=start + timedelta(days=21 * i))
        assert ledger.get_action(action).escalation_level == level
    steps = ledger.get_action(action).escalation_steps
    assert [(s.level, s.occurred_on, s.by) for s in steps] == [
        (level, start + timedelta(days=21 * i), "u-manager") for i, level in enumerate(LEVELS)]
    assert steps[1].reason == "Still no plan (delegated_partners)"
    refused(ledger, WrongStage, lambda: ledger.escalate_action(AS_MANAGER, action, reason="r"))
    ledger.hold_to_account(AS_BOARD, action, outcome="Recovery plan to the Board",
                           meeting="Full Board")
    after = ledger.get_action(action)
    assert (after.escalated, after.escalation_level) == (False, None)
    ledger.escalate_action(AS_MANAGER, action, reason="Slipped again")
    assert ledger.get_action(action).escalation_level == "sub_group"


def test_no_level_is_skipped_and_no_step_goes_back_in_time(ledger: Any) -> None:
    action, _ = action_of(ledger)
    refused(ledger, InvalidInput, lambda: ledger.escalate_action(
        AS_MANAGER, action, reason="r", to_level="lead_partners"))
    ledger.escalate_action(AS_MANAGER, action, reason="r", to_level="sub_group")
    refused(ledger, InvalidInput, lambda: ledger.escalate_action(
        AS_MANAGER, action, reason="r", occurred_on=clock.today() - timedelta(days=30)))


def test_only_the_scb_manager_escalates(ledger: Any) -> None:
    action, agency = action_of(ledger)
    for ctx in (as_lead_of(agency), AS_BOARD, AS_SCRUTINEER):
        refused(ledger, Forbidden, lambda ctx=ctx: ledger.escalate_action(
            ctx, action, reason="r"))


def test_the_board_holds_to_account_at_any_level_once_escalated(ledger: Any) -> None:
    action, _ = action_of(ledger)
    refused(ledger, WrongStage, lambda: ledger.hold_to_account(
        AS_BOARD, action, outcome="o", meeting="m"))
    ledger.escalate_action(AS_MANAGER, action, reason="Overdue")
    ledger.hold_to_account(AS_BOARD, action, outcome="o", meeting="m")
    assert not ledger.get_action(action).escalated


def test_a_single_level_escalation_recorded_before_the_ladder_loads_as_its_top(
    ledger: Any,
) -> None:
    action, _ = action_of(ledger)
    ledger.escalate_action(AS_MANAGER, action, reason="Overdue")
    event = ledger.action_history(action)[-1].event
    stored = ledger.mapper.to_stored_event(event)
    state = ledger.mapper.transcoder.decode(stored.state)
    del state["level"]
    old = StoredEvent(originator_id=stored.originator_id,
                      originator_version=stored.originator_version,
                      topic="domain.action:Action.EscalatedToBoard",
                      state=ledger.mapper.transcoder.encode(state))
    loaded = ledger.mapper.to_domain_event(old)
    replayed = None
    for e in [*(h.event for h in ledger.action_history(action)[:-1]), loaded]:
        replayed = e.mutate(replayed)
    assert (replayed.escalated, replayed.escalation_level) == (True, "lead_partners")
    assert replayed.next_escalation_level is None
