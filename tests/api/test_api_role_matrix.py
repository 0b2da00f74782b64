"""Every role against every endpoint: a role that may not act gets 403 problem+json and
nothing is written; a role that may act is never refused for its role (it may still meet
a domain rule: 409/422). Agency leads act for their own agency only. The expectations are
DOMAIN.md's table, written here from it (not from domain/actors.py's grants)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.principals import AS_MANAGER, as_lead_of
from tests.scenarios import Scenario

ROLES = ["scb_manager", "lead_a", "lead_b", "board_member", "scrutineer", "auditor"]
EVERYONE = set(ROLES)
MANAGER = {"scb_manager"}
# Any partner agency's lead, the SCB manager and the scrutineer raise challenges; the Board
# does not (it resolves them at stage 4).
RAISERS = {"scb_manager", "lead_a", "lead_b", "scrutineer"}
DAY = (date.today() - timedelta(days=20)).isoformat()


def world(api):
    """A review with a finding and recommendation, an action of agency A, a challenge to A."""
    scenario = Scenario(api.ledger, on=date.today() - timedelta(days=40))
    review = scenario.review([api.agency_a], reference="MATRIX-01")
    action = scenario.assign(review, api.agency_a).id
    challenge = scenario.challenge(action, api.agency_a)
    api.ledger.report_progress(as_lead_of(api.agency_a), action, narrative="n", rag="green",
                               evidence=["Register"], occurred_on=scenario.on)
    user = api.ledger.register_user(AS_MANAGER, name="Someone", role="auditor").id
    token_id = api.ledger.issue_token(AS_MANAGER, user).token_id
    return {"review": review.review_id, "finding": review.finding_id,
            "rec": review.recommendation_id, "action": action, "challenge": challenge,
            "user": user, "token": token_id, "agency": api.agency_a,
            "other_agency": api.agency_b}


def endpoints(w):
    """(method, path, body, roles allowed)."""
    r, a, c, g = f"/reviews/{w['review']}", f"/actions/{w['action']}", \
        f"/challenges/{w['challenge']}", f"/agencies/{w['agency']}"
    u = f"/users/{w['user']}"
    reason = {"reason": "because"}
    approved = {"reason": "because", "approved_by": "sub-committee"}
    return [
        ("GET", g, None, EVERYONE), ("GET", f"{g}/history", None, EVERYONE),
        ("GET", r, None, EVERYONE), ("GET", f"{r}/history", None, EVERYONE),
        ("GET", a, None, EVERYONE - {"lead_b"}), ("GET", f"{a}/history", None,
                                                  EVERYONE - {"lead_b"}),
        ("GET", c, None, EVERYONE - {"lead_b"}), ("GET", u, None, EVERYONE),
        ("POST", "/agencies", {"name": "New", "kind": "other", "statutory_partner": False,
                               "partnerships": ["Staffordshire"]}, MANAGER),
        ("POST", f"{g}/rename", {"name": "Renamed", "reason": "r"}, MANAGER),
        ("POST", f"{g}/merger", {"into_agency_id": str(w["other_agency"]), "reason": "r"},
         MANAGER),
        ("POST", f"{g}/retirement", reason, MANAGER),
        ("POST", "/users", {"name": "N", "role": "auditor"}, MANAGER),
        ("POST", f"{u}/tokens", None, MANAGER),
        ("POST", f"{u}/tokens/{w['token']}/revocation", reason, MANAGER),
        ("POST", f"{u}/deactivation", reason, MANAGER),
        ("POST", "/reviews", {"reference": "MATRIX-02", "partnership": "Staffordshire",
                              "local_authority_area": "Staffordshire", "age_band": "1_to_4",
                              "harm": "death", "category": "other", "legal_status": "none",
                              "agencies_involved": [], "occurred_on": DAY}, MANAGER),
        ("POST", f"{r}/panel-notification", None, MANAGER),
        ("POST", f"{r}/rapid-review", {"summary": "s"}, MANAGER),
        ("POST", f"{r}/local-decision", {"conduct_review": True, "criteria": ["recurrent_themes"],
                                         "rationale": "r"}, MANAGER),
        ("POST", f"{r}/panel-decision", {"national_review": False, "criteria": [],
                                         "rationale": "r"}, MANAGER),
        ("POST", f"{r}/reviewer", {"reviewer": "R2"}, MANAGER),
        ("POST", f"{r}/findings", {"text": "f2", "themes": ["t"]}, MANAGER),
        ("POST", f"{r}/recommendations", {"text": "r2", "finding_ids": [str(w["finding"])]},
         MANAGER),
        ("POST", f"{r}/report", {"summary": "s"}, MANAGER),
        ("POST", f"{r}/scrutiny", {"outcome": "no_challenge"}, MANAGER),
        ("POST", f"{r}/sign-off", {"meeting": "Full Board"}, {"board_member"}),
        ("POST", f"{r}/sent-to-panel", None, MANAGER),
        ("POST", f"{r}/publication", {"location": "website"}, MANAGER),
        ("POST", f"{r}/publication-deferral", reason, MANAGER),
        ("POST", f"{r}/date-corrections", {"field": "aware_on", "corrected": DAY,
                                           "reason": "r"}, MANAGER),
        ("POST", f"{r}/closure", reason, MANAGER),
        ("POST", "/actions", {"review_id": str(w["review"]), "recommendation_id": str(w["rec"]),
                              "agency_id": str(w["agency"]), "description": "d",
                              "measure_of_success": "m",
                              "due_on": (date.today() + timedelta(days=60)).isoformat()},
         MANAGER),
        ("POST", f"{a}/progress", {"narrative": "n", "rag": "green"}, {"lead_a"}),
        ("POST", f"{a}/completion-claim", {"narrative": "n"}, {"lead_a"}),
        ("POST", f"{a}/assurance", {"comments": "c"}, MANAGER),
        ("POST", f"{a}/completion-rejection", reason, MANAGER),
        ("POST", f"{a}/due-date", {"due_on": (date.today() + timedelta(days=99)).isoformat(),
                                   "reason": "r", "approved_by": "sub-committee"}, MANAGER),
        ("POST", f"{a}/escalation", reason, MANAGER),
        ("POST", f"{a}/board-outcome", {"outcome": "o", "meeting": "m"},
         {"board_member", "scb_manager"}),  # the manager minutes the Board
        ("POST", f"{a}/impact", {"impact": "limited", "narrative": "n"}, MANAGER),
        ("POST", f"{a}/withdrawal", reason, MANAGER),
        ("POST", "/challenges", {"subject_type": "action_update", "subject_id": str(w["action"]),
                                 "grounds": "g", "addressed_to": str(w["agency"])}, RAISERS),
        ("POST", f"{c}/response", {"response": "r"}, {"lead_a"}),
        ("POST", f"{c}/escalation", {"to_stage": 2, "reason": "r"}, {"lead_a", "scrutineer"}),
        # At stage 2 (after the escalation above, or 1 if it was refused): the raiser (another
        # scrutineer user here) or the SCB manager; the Board only at stage 4.
        ("POST", f"{c}/resolution", {"outcome": "upheld", "reason": "r"}, MANAGER),
        # Corrections (versions: the local decision is the review's 4th event, the progress
        # report the action's 2nd) and partnerships, last: they change what came before.
        ("POST", f"{a}/corrections", {"corrects_version": 2, "field": "narrative",
                                      "corrected": "n2", **approved}, MANAGER),
        ("POST", f"{a}/evidence-retractions", {"corrects_version": 2, "reference": "Register",
                                               **approved}, MANAGER),
        ("POST", f"{r}/corrections", {"corrects_version": 4, "field": "rationale",
                                      "corrected": "r2", **approved}, MANAGER),
        ("POST", f"{u}/partnerships", {"partnerships": ["Staffordshire"]}, MANAGER),
        ("GET", "/reports/yearly", None, EVERYONE), ("GET", "/partnerships", None, EVERYONE),
        ("POST", "/partnerships", {"name": "Staffordshire", "areas": ["Staffordshire"],
                                   "safeguarding_partners": [str(w["agency"])]}, MANAGER),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(api, role):
    w = world(api)
    wrong = []
    for method, path, body, allowed in endpoints(w):
        before = api.ledger.head_position()
        if method == "GET":
            response = api.get(role, path)
        else:
            response = api.post(role, path, body)
        status = response.status_code
        if role in allowed:
            if status in (401, 403) or status >= 500:
                wrong.append(f"{role} {method} {path}: {status} {response.text[:200]}")
        else:
            problem = response.headers.get("content-type") == "application/problem+json"
            if status != 403 or not problem or api.ledger.head_position() != before:
                wrong.append(f"{role} {method} {path}: expected 403, got {status}")
    assert wrong == []
