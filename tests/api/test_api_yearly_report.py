"""GET /reports/yearly over HTTP: JSON, CSV (a row per action) and a printable HTML page; a
Board member of one partnership gets only theirs; from after to is 422."""

from __future__ import annotations

from typing import Any

from tests.principals import AS_OPERATOR
from tests.scenarios import Scenario


def test_the_yearly_report_in_three_formats(api: Any) -> None:
    scenario = Scenario(api.ledger)
    review = scenario.review([api.agency_a], partnership="Staffordshire")
    action = scenario.assign(review, api.agency_a).id
    position = api.ledger.head_position()
    body = api.get("board_member", "/reports/yearly", min_position=position).json()
    assert body["summary"]["actions"] == 1
    [row] = body["reviews"][0]["recommendations"][0]["actions"]
    assert (row["action_id"], row["little_or_no_evidence"]) == (str(action), True)
    csv = api.client.get("/reports/yearly", params={"format": "csv"},
                         headers=api.headers("auditor"))
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("review,partnership,stage,recommendation")
    assert str(action) in csv.text
    html = api.client.get("/reports/yearly", headers=api.headers("auditor",
                                                                  Accept="text/html"))
    assert html.headers["content-type"].startswith("text/html")
    assert "Little or no evidence of progress" in html.text and "SSSCB-2025-03" in html.text
    bad = api.get("auditor", "/reports/yearly", **{"from": "2026-01-02", "to": "2026-01-01"})
    assert bad.status_code == 422


def test_a_board_member_of_one_partnership_gets_only_theirs(api: Any) -> None:
    scenario = Scenario(api.ledger)
    scenario.review([api.agency_a], reference="STAFFS-01", partnership="Staffordshire")
    scenario.review([api.agency_a], reference="STOKE-01", partnership="Stoke-on-Trent")
    user = api.ledger.register_user(AS_OPERATOR, name="Stoke Board", role="board_member",
                                    partnerships=["Stoke-on-Trent"]).id
    token = api.ledger.issue_token(AS_OPERATOR, user).token
    headers = {"Authorization": f"Bearer {token}"}
    body = api.client.get("/reports/yearly", headers=headers,
                          params={"min_position": api.ledger.head_position()}).json()
    assert [r["reference"] for r in body["reviews"]] == ["STOKE-01"]
    other = api.client.get("/reports/yearly", headers=headers,
                           params={"partnership": "Staffordshire"})
    assert other.status_code == 403
