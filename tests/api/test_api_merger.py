"""Over HTTP, a merger moves the merged agency's open action and its open challenge to the
successor: /board/agencies counts them under the successor from the merger on, and the
successor's lead reports on the action (403 before the merger)."""

from __future__ import annotations

from typing import Any

from tests.scenarios import Scenario


def row_of(api: Any, agency: Any, position: int) -> dict[str, Any]:
    items = api.get("board_member", "/board/agencies", min_position=position).json()["items"]
    return next(i for i in items if i["agency_id"] == str(agency))


def test_a_merger_moves_actions_and_counts_to_the_successor(api: Any) -> None:
    scenario = Scenario(api.ledger)
    action = scenario.assign(scenario.review([api.agency_a]), api.agency_a).id
    scenario.challenge(action, api.agency_a)
    progress = {"narrative": "Picked up", "rag": "amber"}
    assert api.post("lead_b", f"/actions/{action}/progress", progress).status_code == 403
    response = api.post("scb_manager", f"/agencies/{api.agency_a}/merger",
                        {"into_agency_id": str(api.agency_b), "reason": "Merged"})
    assert response.status_code == 200, response.text
    position = int(response.headers["X-Ledger-Position"])
    before, after = row_of(api, api.agency_a, position), row_of(api, api.agency_b, position)
    assert (before["open"], before["challenges_open"]) == (0, 0)
    assert (after["open"], after["challenges_open"]) == (1, 1)
    assert api.post("lead_b", f"/actions/{action}/progress", progress).status_code == 200
    owners = api.get("auditor", f"/actions/{action}").json()["owners"]
    assert [o["agency_id"] for o in owners] == [str(api.agency_a), str(api.agency_b)]
    types = [e["type"] for e in api.get("auditor", f"/actions/{action}/history").json()[
        "entries"]]
    assert "Action.OwnerTransferred" in types
