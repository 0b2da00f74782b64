"""Over HTTP, implausible business dates and non-boolean flags are 422 naming the field, and
nothing is written: a due date of 9999-12-31, an awareness date of 0001-01-01,
`statutory_partner: "yes"` (pydantic's StrictBool: no coercion)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scenarios import Scenario


def refused_naming(api: Any, path: str, body: dict[str, Any], field: str) -> None:
    before = api.ledger.head_position()
    response = api.post("scb_manager", path, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(e["field"].split(".")[-1] == field for e in response.json()["errors"])
    assert api.ledger.head_position() == before


INCIDENT = {"reference": "SSSCB-2024-09", "partnership": "SSSCB",
            "local_authority_area": "Staffordshire", "age_band": "5_to_9", "harm": "death",
            "category": "neglect", "legal_status": "none"}


@pytest.mark.parametrize("aware_on", ["0001-01-01", "1989-12-31", "2999-01-01"])
def test_an_implausible_awareness_date_is_422(api: Any, aware_on: str) -> None:
    refused_naming(api, "/reviews", {**INCIDENT, "occurred_on": aware_on}, "occurred_on")


@pytest.mark.parametrize("due_on", ["9999-12-31", "1900-01-01"])
def test_an_implausible_due_date_is_422(api: Any, due_on: str) -> None:
    recommended = Scenario(api.ledger).review([api.agency_a])
    body = {"review_id": str(recommended.review_id),
            "recommendation_id": str(recommended.recommendation_id),
            "agency_id": str(api.agency_a), "description": "d", "measure_of_success": "m",
            "due_on": due_on}
    refused_naming(api, "/actions", body, "due_on")


@pytest.mark.parametrize("flag", ["yes", "true", 1, None])
def test_statutory_partner_must_be_a_json_boolean(api: Any, flag: Any) -> None:
    body = {"name": "Probation", "kind": "other", "statutory_partner": flag,
            "partnerships": ["SSSCB"]}
    refused_naming(api, "/agencies", body, "statutory_partner")


def test_conduct_review_must_be_a_json_boolean(api: Any) -> None:
    scenario = Scenario(api.ledger)
    review = scenario.incident([api.agency_a])
    scenario.walk(review, "rapid_review_completed")
    refused_naming(api, f"/reviews/{review}/local-decision",
                   {"conduct_review": "yes", "criteria": ["recurrent_themes"],
                    "rationale": "r"}, "conduct_review")


def test_to_stage_must_be_a_json_integer(api: Any) -> None:
    scenario = Scenario(api.ledger)
    recommended = scenario.review([api.agency_a])
    action = scenario.assign(recommended, api.agency_a).id
    challenge = scenario.challenge(action, api.agency_a)
    refused_naming(api, f"/challenges/{challenge}/escalation",
                   {"to_stage": "2", "reason": "no answer"}, "to_stage")


def test_a_decision_to_hold_a_cspr_with_no_criteria_is_422(api: Any) -> None:
    scenario = Scenario(api.ledger)
    review = scenario.incident([api.agency_a])
    scenario.walk(review, "rapid_review_completed")
    refused_naming(api, f"/reviews/{review}/local-decision",
                   {"conduct_review": True, "criteria": [], "rationale": "r"}, "criteria")
    refused_naming(api, f"/reviews/{review}/panel-decision",
                   {"national_review": True, "criteria": [], "rationale": "r"}, "criteria")
