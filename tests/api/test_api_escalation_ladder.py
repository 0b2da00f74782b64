"""The escalation ladder over HTTP: each step up by the SCB manager, the level reached and how
long the action has waited there on the action, on the Board's action list, and per agency
on /board/agencies (the agency's own view included)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain import clock
from tests.scenarios import Scenario


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response


def test_the_level_and_its_wait_are_shown_everywhere(api: Any) -> None:
    on = clock.today() - timedelta(days=200)
    scenario = Scenario(api.ledger, on=on)
    action = scenario.assign(scenario.review([api.agency_a]), api.agency_a,
                             due_on=on + timedelta(days=30)).id
    steps = [("sub_group", 60), ("delegated_partners", 30), ("lead_partners", 9)]
    for level, days_ago in steps:
        ok(api.post("scb_manager", f"/actions/{action}/escalation", {
            "reason": f"No recovery plan ({level})", "to_level": level,
            "occurred_on": (clock.today() - timedelta(days=days_ago)).isoformat()}))
    refusal = api.post("scb_manager", f"/actions/{action}/escalation", {"reason": "r"})
    assert refusal.status_code == 409
    response = ok(api.get("board_member", f"/actions/{action}"))
    escalation = response.json()["escalation"]
    assert (escalation["level"], escalation["days_at_level"], escalation["next_level"]) == (
        "lead_partners", 9, None)
    assert [s["level"] for s in escalation["steps"]] == [s[0] for s in steps]
    position = api.ledger.head_position()
    [row] = ok(api.get("board_member", "/board/actions", agency=str(api.agency_a),
                       min_position=position)).json()["items"]
    assert (row["escalation_level"], row["days_at_escalation_level"]) == ("lead_partners", 9)
    for who in ("board_member", "lead_a"):
        agencies = ok(api.get(who, "/board/agencies", min_position=position)).json()["items"]
        [mine] = [a for a in agencies if a["agency_id"] == str(api.agency_a)]
        assert [(e["level"], e["actions"], e["days_waiting"])
                for e in mine["escalations"]] == [("lead_partners", 1, 9)]


def test_a_skipped_level_is_422_naming_to_level(api: Any) -> None:
    scenario = Scenario(api.ledger)
    action = scenario.assign(scenario.review([api.agency_a]), api.agency_a).id
    before = api.ledger.head_position()
    response = api.post("scb_manager", f"/actions/{action}/escalation",
                        {"reason": "r", "to_level": "delegated_partners"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "to_level"
    assert api.ledger.head_position() == before
