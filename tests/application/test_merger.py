"""A merger carries the merged agency's open actions and the open challenges addressed to it
to the successor (CCG -> ICB), in the same transaction as the merger, visibly in each record's
history; the successor's lead then reports on them and the predecessor's no longer can.
Assured actions and resolved challenges stay where they were. On every store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain import clock
from domain.errors import Forbidden, WrongStage
from tests.principals import AS_MANAGER, AS_SCRUTINEER, as_lead_of
from tests.scenarios import Scenario


def test_open_actions_and_challenges_pass_to_the_successor(ledger: Any) -> None:
    scenario = Scenario(ledger, on=clock.today() - timedelta(days=30))
    ccg, icb = scenario.agency("North Staffs CCG"), scenario.agency("Staffs ICB")
    recommended = scenario.review([ccg, icb])
    open_action = scenario.assign(recommended, ccg).id
    done = scenario.assign(recommended, ccg).id
    ledger.claim_completion(as_lead_of(ccg), done, narrative="n")
    ledger.assure_completion(AS_MANAGER, done, comments="c")
    open_challenge = scenario.challenge(open_action, ccg)
    closed_challenge = scenario.challenge(open_action, ccg)
    ledger.resolve_challenge(AS_SCRUTINEER, closed_challenge, outcome="withdrawn", reason="r")
    merged_on = clock.today() - timedelta(days=2)
    outcome = ledger.merge_agency(AS_MANAGER, ccg, into_agency_id=icb,
                                  reason="CCGs replaced by ICBs", occurred_on=merged_on)
    action = ledger.get_action(open_action)
    assert action.agency_id == icb
    assert [(o.agency_id, o.from_on) for o in action.owners] == [
        (ccg, scenario.on), (icb, merged_on)]
    last = ledger.action_history(open_action)[-1]
    assert (type(last.event).__name__, last.event.from_agency_id) == ("OwnerTransferred", ccg)
    assert last.position is not None and last.position <= outcome.position  # one save
    assert ledger.get_action(done).agency_id == ccg
    assert ledger.get_challenge(open_challenge).addressed_to == icb
    assert ledger.get_challenge(closed_challenge).addressed_to == ccg
    ledger.report_progress(as_lead_of(icb), open_action, narrative="Picked up by the ICB",
                           rag="amber")
    with pytest.raises(Forbidden):
        ledger.report_progress(as_lead_of(ccg), open_action, narrative="n", rag="red")
    ledger.respond_to_challenge(as_lead_of(icb), open_challenge, response="The ICB answers")


def test_a_refused_merger_carries_nothing(ledger: Any) -> None:
    scenario = Scenario(ledger)
    ccg, icb = scenario.agency("CCG"), scenario.agency("ICB")
    action = scenario.assign(scenario.review([ccg]), ccg).id
    ledger.retire_agency(AS_MANAGER, icb, reason="Closed")
    before = ledger.head_position()
    with pytest.raises(WrongStage):
        ledger.merge_agency(AS_MANAGER, ccg, into_agency_id=icb, reason="r")
    assert ledger.head_position() == before
    assert ledger.get_action(action).agency_id == ccg
