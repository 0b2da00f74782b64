"""Every refused request gets application/problem+json and writes nothing (the log head does
not move): bad JSON, missing field, unknown id, wrong stage, wrong role, another agency's
lead, stale If-Match. And the review deadlines over HTTP across Christmas."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain import clock
from tests.principals import AS_MANAGER
from tests.scenarios import Scenario

NOBODY = "00000000-0000-0000-0000-000000000000"


@dataclass
class Case:
    """A review at reviewer_commissioned with a recommendation, an open action for agency A,
    and an open challenge (raised by the scrutineer) addressed to agency A."""

    review: str
    action: str
    challenge: str

    def path(self, template: str) -> str:
        return template.format(review=self.review, action=self.action,
                               challenge=self.challenge, nobody=NOBODY)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def record_incident(api: Any, aware_on: str, reference: str = "SSSCB-2024-09") -> str:
    return ok(api.post("scb_manager", "/reviews", {
        "reference": reference, "partnership": "Staffordshire",
        "local_authority_area": "Staffordshire", "age_band": "5_to_9", "harm": "death",
        "category": "neglect", "legal_status": "child_protection_plan",
        "occurred_on": aware_on}), 201)["id"]


@pytest.fixture
def case(api: Any) -> Case:
    scenario = Scenario(api.ledger, on=date(2025, 1, 6))
    review = scenario.review([api.agency_a], reference="SSSCB-2024-09")
    action = str(scenario.assign(review, api.agency_a, due_on=date(2025, 12, 31)).id)
    challenge = ok(api.post("scrutineer", "/challenges", {  # theirs: they may withdraw it
        "subject_type": "action_update", "subject_id": action, "grounds": "g",
        "addressed_to": str(api.agency_a)}), 201)["id"]
    return Case(str(review.review_id), action, challenge)


def refused(api: Any, status: int, send: Callable[[], Any]) -> dict[str, Any]:
    before = api.ledger.head_position()
    response = send()
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert api.ledger.head_position() == before
    return response.json()


@pytest.mark.parametrize("template", ["/reviews/{review}/findings", "/actions/{action}/progress"])
def test_bad_json_is_400(api, case, template):
    headers = api.headers("scb_manager", **{"content-type": "application/json"})
    problem = refused(api, 400, lambda: api.client.post(case.path(template), content=b'{"x":',
                                                        headers=headers))
    assert problem["errors"] == [{"field": "body", "reason": "not valid JSON"}]


@pytest.mark.parametrize(("who", "template", "body", "field"), [
    ("scb_manager", "/reviews/{review}/rapid-review", {}, "body.summary"),
    ("scb_manager", "/reviews/{review}/recommendations", {"text": "t"}, "body.finding_ids"),
    ("lead_a", "/actions/{action}/progress", {"narrative": "n"}, "body.rag"),
    ("scrutineer", "/challenges/{challenge}/escalation", {"reason": "r"}, "body.to_stage"),
])
def test_missing_field_is_422_naming_it(api, case, who, template, body, field):
    problem = refused(api, 422, lambda: api.post(who, case.path(template), body))
    assert [e["field"] for e in problem["errors"]] == [field]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", f"/reviews/{NOBODY}", None),
    ("get", f"/actions/{NOBODY}/history", None),
    ("post", f"/challenges/{NOBODY}/resolution", {"outcome": "upheld", "reason": "r"}),
    ("post", f"/reviews/{NOBODY}/closure", {"reason": "r"}),
])
def test_unknown_id_is_404(api, method, path, body):
    send = getattr(api, method)
    args = (body,) if method == "post" else ()
    assert refused(api, 404, lambda: send("scb_manager", path, *args))["status"] == 404


@pytest.mark.parametrize(("template", "body", "names"), [
    ("/reviews/{review}/publication", {"location": "https://example.org"},
     ["reviewer_commissioned", "allowed next: record_finding, record_recommendation"]),
    ("/actions/{action}/assurance", {"comments": "c"},
     ["is open", "allowed next: report_progress, claim_completion"]),
    ("/challenges/{challenge}/response", {"response": "r"},
     ["resolved (withdrawn)", "allowed next: nothing"]),
])
def test_wrong_stage_is_409_naming_stage_and_allowed_next(api, case, template, body, names):
    who = "scb_manager"
    if template.startswith("/challenges"):  # a resolved challenge takes no response
        ok(api.post("scb_manager", case.path("/challenges/{challenge}/resolution"),
                    {"outcome": "withdrawn", "reason": "raised in error"}))
        who = "lead_a"
    detail = refused(api, 409, lambda: api.post(who, case.path(template), body))["detail"]
    assert all(name in detail for name in names), detail


@pytest.mark.parametrize(("who", "template", "body"), [
    ("auditor", "/reviews", {}),
    ("scrutineer", "/reviews/{review}/findings", {"text": "t", "themes": []}),
    ("agency_lead", "/reviews/{review}/sign-off", {"meeting": "m"}),
    ("scrutineer", "/actions/{action}/progress", {"narrative": "n", "rag": "red"}),
    ("auditor", "/challenges/{challenge}/escalation", {"to_stage": 2, "reason": "r"}),
    ("scrutineer", "/challenges/{challenge}/response", {"response": "r"}),
])
def test_wrong_role_is_403(api, case, who, template, body):
    if template == "/reviews":  # a complete body: the refusal is the role's, not the body's
        body = {"reference": "SSSCB-2026-01", "partnership": "p", "local_authority_area": "a",
                "age_band": "under_1", "harm": "death", "category": "other",
                "legal_status": "none"}
    assert "may not" in refused(api, 403, lambda: api.post(who, case.path(template), body))[
        "detail"]


@pytest.mark.parametrize(("method", "template", "body"), [
    ("post", "/actions/{action}/progress", {"narrative": "n", "rag": "red"}),
    ("get", "/actions/{action}/history", None),
    ("post", "/challenges/{challenge}/response", {"response": "r"}),
    ("get", "/challenges/{challenge}", None),
])
def test_other_agencys_lead_is_403(api, case, method, template, body):
    send = getattr(api, method)
    args = (body,) if method == "post" else ()
    problem = refused(api, 403, lambda: send("lead_b", case.path(template), *args))
    assert "own agency" in problem["detail"] or "their agency" in problem["detail"]


@pytest.mark.parametrize("template", ["/actions/{action}", "/challenges/{challenge}"])
def test_own_agencys_lead_may_read(api, case, template):
    assert api.get("lead_a", case.path(template)).status_code == 200


@pytest.mark.parametrize(("who", "record", "command", "body"), [
    ("scb_manager", "/reviews/{review}", "/findings", {"text": "t", "themes": []}),
    ("lead_a", "/actions/{action}", "/progress", {"narrative": "n", "rag": "red"}),
    ("scrutineer", "/challenges/{challenge}", "/escalation", {"to_stage": 2, "reason": "r"}),
])
def test_stale_if_match_is_412(api, case, who, record, command, body):
    path = case.path(record)
    read = {"If-Match": api.get(who, path).headers["etag"]}
    assert api.post(who, path + command, body, **read).status_code in (200, 201)
    problem = refused(api, 412, lambda: api.post(who, path + command, body, **read))
    assert problem["errors"][0]["field"] == "If-Match"


# ---- deadlines across Christmas: aware on Friday 20 December 2024; 25, 26 December and
# 1 January are bank holidays, so 5 working days end on 31 December and 15 on 15 January.
@pytest.mark.parametrize(("step", "body", "name", "due", "status", "late"), [
    ("panel-notification", {"occurred_on": "2024-12-31"}, "panel_notification", "2024-12-31",
     "met", None),
    ("panel-notification", {"occurred_on": "2025-01-02"}, "panel_notification", "2024-12-31",
     "missed", 1),
    ("rapid-review", {"summary": "s", "occurred_on": "2025-01-15"}, "rapid_review",
     "2025-01-15", "met", None),
    ("rapid-review", {"summary": "s", "occurred_on": "2025-01-16"}, "rapid_review",
     "2025-01-15", "missed", 1),
])
def test_deadlines_across_christmas(api, step, body, name, due, status, late):
    review = record_incident(api, "2024-12-20")
    if step == "rapid-review":
        ok(api.post("scb_manager", f"/reviews/{review}/panel-notification",
                    {"occurred_on": "2024-12-23"}))
    ok(api.post("scb_manager", f"/reviews/{review}/{step}", body))
    deadlines = {d["name"]: d for d in api.get("auditor", f"/reviews/{review}").json()[
        "deadlines"]}
    assert (deadlines[name]["due_on"], deadlines[name]["status"],
            deadlines[name]["working_days_late"]) == (due, status, late)


def test_deadlines_as_of_a_past_moment_are_assessed_on_that_day(api):
    with clock.frozen_at(datetime(2024, 12, 20, 10, tzinfo=UTC)):
        review = api.ledger.record_incident(
            AS_MANAGER, reference="SSSCB-2024-12", partnership="p", local_authority_area="a",
            age_band="under_1", harm="death", category="other", legal_status="none",
            agencies_involved=[]).id
    path = f"/reviews/{review}"
    then = api.get("auditor", path, as_of="2024-12-27T12:00:00Z").json()["deadlines"][0]
    now = api.get("auditor", path).json()["deadlines"][0]
    assert (then["status"], now["status"]) == ("pending", "missed")
