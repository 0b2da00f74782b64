"""The Board's views and the audit trail over HTTP: positions, reading your own write, agency
scoping for agency leads, CSV, the past, and a stopped view answering 503."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest

from projections.tracking import mark_failed
from tests.scenarios import Scenario

# Not yet due for years (a due date may be at most ten years ahead).
FAR = date(date.today().year + 9, 1, 1)

ON = date(2025, 1, 6)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def board_api(api: Any) -> Any:
    """The shared `api` client: its lifespan opened the views (in this test's directory) and
    runs the projections in-process."""
    return api


def assign(api: Any, agency: Any, due: date) -> Any:
    """An action for `agency` due on `due`, on a review of its own (all recorded on ON)."""
    scenario = Scenario(api.ledger, on=ON)
    review = scenario.review([agency], reference=f"SSSCB-{agency.hex[:6]}")
    return scenario.assign(review, agency, due_on=due)


def test_a_read_with_min_position_sees_the_write(board_api: Any) -> None:
    response = board_api.post("scb_manager", f"/agencies/{board_api.agency_a}/rename",
                              {"name": "Staffordshire Police Service", "reason": "new name"})
    position = int(response.headers["X-Ledger-Position"])
    body = board_api.get("board_member", "/board/agencies", min_position=position).json()
    assert body["position"] >= position
    names = {r["agency_name"] for r in body["items"]}
    assert "Staffordshire Police Service" in names


def test_actions_list_with_filters(board_api: Any) -> None:
    position = assign(board_api, board_api.agency_a, date(2025, 2, 1)).position
    assign(board_api, board_api.agency_b, FAR)
    body = board_api.get("scrutineer", "/board/actions", min_position=position,
                         rag="overdue").json()
    assert [i["agency_id"] for i in body["items"]] == [str(board_api.agency_a)]
    assert body["items"][0]["review_reference"].startswith("SSSCB-")


def test_an_agency_lead_sees_only_their_agency(board_api: Any) -> None:
    assign(board_api, board_api.agency_a, FAR)
    position = assign(board_api, board_api.agency_b, FAR).position
    body = board_api.get("lead_a", "/board/actions", min_position=position).json()
    assert {i["agency_id"] for i in body["items"]} == {str(board_api.agency_a)}
    other = board_api.get("lead_a", "/board/actions", agency=str(board_api.agency_b))
    assert other.status_code == 403
    agencies = board_api.get("lead_a", "/board/agencies", min_position=position).json()
    assert [r["agency_id"] for r in agencies["items"]] == [str(board_api.agency_a)]


def test_every_board_view_answers_as_csv(board_api: Any) -> None:
    position = assign(board_api, board_api.agency_a, FAR).position
    for path in ("/board/actions", "/board/agencies", "/board/reviews", "/board/challenges",
                 "/board/themes", "/audit"):
        response = board_api.client.get(
            path, params={"min_position": position},
            headers=board_api.headers("auditor", Accept="text/csv"))
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"].startswith("text/csv")
        assert int(response.headers["X-Ledger-Position"]) >= position
        rows = list(csv.reader(io.StringIO(response.text)))
        assert len(rows) >= 2 or path == "/board/challenges", path


def test_audit_by_entity_and_as_of_a_position(board_api: Any) -> None:
    outcome = assign(board_api, board_api.agency_a, FAR)
    trail = board_api.get("auditor", "/audit", entity=str(outcome.id),
                          min_position=outcome.position).json()
    assert [e["event_type"] for e in trail["items"]] == ["Action.Assigned"]
    past = board_api.get("auditor", "/board/actions", position=outcome.position - 1).json()
    assert (past["position"], past["items"]) == (outcome.position - 1, [])


def test_as_of_and_position_together_are_refused(board_api: Any) -> None:
    response = board_api.get("auditor", "/board/reviews", position=1,
                             as_of="2025-01-01T00:00:00Z")
    assert response.status_code == 422


def test_a_stopped_view_answers_503_naming_it(board_api: Any) -> None:
    models = board_api.client.app.state.services.read_models
    models.background.stop()
    position = assign(board_api, board_api.agency_a, FAR).position
    mark_failed(models.read_side.db, "actions", position, "RuntimeError: broken")
    response = board_api.get("board_member", "/board/actions", min_position=position)
    assert response.status_code == 503
    assert "view actions stopped at position" in response.json()["detail"]


def test_a_min_position_beyond_the_log_is_refused_at_once(board_api: Any) -> None:
    response = board_api.get("auditor", "/board/themes", min_position=10**9)
    assert response.status_code == 422
    assert "beyond the ledger's head" in response.json()["detail"]
