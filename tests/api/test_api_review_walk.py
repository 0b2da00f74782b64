"""The acceptance walk over HTTP, on every store: one review from incident to publication and
closure, with findings, recommendations, two actions (one assured; one rejected, re-claimed
and assured), and a challenge against the report escalated stage by stage to the Board and
resolved; then the histories show every step with its actor and reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest


@dataclass
class Walk:
    review: str
    actions: list[str]
    challenge: str


def step(api: Any, who: str, path: str, body: Any = None, status: int = 200) -> Any:
    response = api.post(who, path, body)
    assert response.status_code == status, response.text
    return response.json()


def incident(api: Any, reference: str, occurred_on: str) -> str:
    return step(api, "scb_manager", "/reviews", {
        "reference": reference, "partnership": "Stoke-on-Trent",
        "local_authority_area": "Stoke-on-Trent", "age_band": "under_1",
        "harm": "serious_harm", "category": "non_accidental_injury",
        "legal_status": "child_in_need", "agencies_involved": [str(api.agency_a),
                                                               str(api.agency_b)],
        "occurred_on": occurred_on}, status=201)["id"]


def walk_review_to_report(api: Any, r: str) -> str:
    """Notified, rapid review, decisions, reviewer, two findings, one recommendation, report."""
    step(api, "scb_manager", f"{r}/panel-notification", {"occurred_on": "2025-01-08"})
    step(api, "scb_manager", f"{r}/rapid-review",
         {"summary": "Facts gathered; immediate safety actions agreed",
          "occurred_on": "2025-01-24"})
    step(api, "scb_manager", f"{r}/local-decision",
         {"conduct_review": True, "criteria": ["improvements_needed", "multi_agency_concerns"],
          "rationale": "Information was not shared between police and children's services",
          "occurred_on": "2025-02-03"})
    step(api, "scb_manager", f"{r}/panel-decision",
         {"national_review": False, "criteria": ["improvements_needed"],
          "rationale": "A local review is the better place for this learning",
          "occurred_on": "2025-02-10"})
    step(api, "scb_manager", f"{r}/reviewer",
         {"reviewer": "Independent reviewer (commissioned)", "occurred_on": "2025-02-17"})
    findings = [step(api, "scb_manager", f"{r}/findings",
                     {"text": text, "themes": themes, "occurred_on": "2025-03-03"},
                     status=201)["finding"]["id"]
                for text, themes in [("Referrals were not shared", ["information-sharing"]),
                                     ("Bruising in a non-mobile baby was not escalated",
                                      ["bruising-protocol", "escalation"])]]
    recommendation = step(api, "scb_manager", f"{r}/recommendations",
                          {"text": "Adopt a joint bruising protocol", "finding_ids": findings,
                           "occurred_on": "2025-03-03"}, status=201)
    step(api, "scb_manager", f"{r}/report",
         {"summary": "Overarching report", "occurred_on": "2025-04-01"})
    return recommendation["recommendation"]["id"]


def assign(api: Any, review_id: str, recommendation: str, agency: Any) -> str:
    return step(api, "scb_manager", "/actions", {
        "review_id": review_id, "recommendation_id": recommendation, "agency_id": str(agency),
        "description": "Train front-line staff on the bruising protocol",
        "measure_of_success": "90% of staff trained; audit shows referrals made",
        "due_on": "2025-06-30", "milestones": ["protocol drafted", "training delivered"],
        "occurred_on": "2025-03-10"}, status=201)["id"]


def walk_actions(api: Any, a: str, b: str) -> None:
    step(api, "lead_a", f"/actions/{a}/progress",
         {"narrative": "Protocol drafted", "rag": "amber",
          "evidence": ["Protocol v1 (doc ref P-12)"], "occurred_on": "2025-04-02"})
    step(api, "lead_a", f"/actions/{a}/completion-claim",
         {"narrative": "All staff trained", "evidence": ["Training register 2025-05-01"],
          "occurred_on": "2025-05-02"})
    step(api, "scb_manager", f"/actions/{a}/assurance",
         {"comments": "Register and audit seen by the sub-committee",
          "occurred_on": "2025-05-12"})
    step(api, "lead_b", f"/actions/{b}/progress",
         {"narrative": "Training booked", "rag": "green", "evidence": ["Booking ref T-3"],
          "occurred_on": "2025-04-03"})
    step(api, "lead_b", f"/actions/{b}/completion-claim",
         {"narrative": "Training delivered", "occurred_on": "2025-05-02"})
    step(api, "scb_manager", f"/actions/{b}/completion-rejection",
         {"reason": "No evidence of attendance", "occurred_on": "2025-05-12"})
    step(api, "lead_b", f"/actions/{b}/completion-claim",
         {"narrative": "Attendance now evidenced", "evidence": ["Attendance sheet 2025-05-20"],
          "occurred_on": "2025-05-21"})
    step(api, "scb_manager", f"/actions/{b}/assurance",
         {"comments": "Attendance sheet seen", "occurred_on": "2025-05-28"})


def walk_challenge(api: Any, review_id: str) -> str:
    c = step(api, "scrutineer", "/challenges", {
        "subject_type": "report", "subject_id": review_id, "grounds": "The report omits the "
        "council's delay in strategy discussions", "addressed_to": str(api.agency_b),
        "occurred_on": "2025-04-07"}, status=201)["id"]
    step(api, "lead_b", f"/challenges/{c}/response",
         {"response": "The delay is covered in section 4", "occurred_on": "2025-04-09"})
    for stage, on in [(2, "2025-04-14"), (3, "2025-04-22"), (4, "2025-04-29")]:
        step(api, "scrutineer", f"/challenges/{c}/escalation",
             {"to_stage": stage, "reason": f"Not resolved at stage {stage - 1}",
              "occurred_on": on})
    step(api, "board_member", f"/challenges/{c}/resolution",
         {"outcome": "upheld", "reason": "The Board asked for section 4 to be expanded",
          "occurred_on": "2025-05-07"})
    return c


def walk_to_closure(api: Any, r: str, challenge: str) -> None:
    step(api, "scb_manager", f"{r}/scrutiny",
         {"outcome": "challenged", "challenge_id": challenge,
          "notes": "SSSPG challenge, resolved by the Board", "occurred_on": "2025-05-08"})
    step(api, "board_member", f"{r}/sign-off",
         {"meeting": "Full Board meeting, 14 May 2025", "occurred_on": "2025-05-14"})
    step(api, "scb_manager", f"{r}/sent-to-panel", {"occurred_on": "2025-05-20"})
    step(api, "scb_manager", f"{r}/publication",
         {"location": "https://www.ssscb.org.uk/reviews/ssscb-2025-03",
          "occurred_on": "2025-06-02"})
    step(api, "scb_manager", f"{r}/closure",
         {"reason": "Published; actions are tracked to completion", "occurred_on": "2025-06-30"})


@pytest.fixture
def walk(api: Any) -> Walk:
    review_id = incident(api, "SSSCB-2025-03", "2025-01-06")
    r = f"/reviews/{review_id}"
    recommendation = walk_review_to_report(api, r)
    actions = [assign(api, review_id, recommendation, agency)
               for agency in (api.agency_a, api.agency_b)]
    walk_actions(api, *actions)
    challenge = walk_challenge(api, review_id)
    walk_to_closure(api, r, challenge)
    return Walk(review_id, actions, challenge)


def test_review_is_closed_with_every_deadline_met(api, walk):
    response = api.get("auditor", f"/reviews/{walk.review}")
    review = response.json()
    assert review["stage"] == "closed"
    assert response.headers["etag"] == f'"{review["version"]}"'
    assert len(review["findings"]) == 2 and len(review["recommendations"]) == 1
    assert review["sign_off"]["meeting"] == "Full Board meeting, 14 May 2025"
    assert {d["name"]: (d["due_on"], d["status"]) for d in review["deadlines"]} == {
        "panel_notification": ("2025-01-13", "met"), "rapid_review": ("2025-01-27", "met"),
        "publication": ("2025-08-03", "met"), "sent_to_panel": ("2025-05-21", "met")}


def test_one_action_assured_and_one_assured_after_a_rejected_claim(api, walk):
    first, second = (api.get("scb_manager", f"/actions/{a}").json() for a in walk.actions)
    assert first["status"] == second["status"] == "assured"
    assert first["progress"][0]["evidence"] == ["Protocol v1 (doc ref P-12)"]
    assert [c["narrative"] for c in second["claims"]] == ["Training delivered",
                                                          "Attendance now evidenced"]
    assert second["allowed_next"] == ["evaluate_impact"]


def test_challenge_reached_the_board_and_was_resolved(api, walk):
    challenge = api.get("lead_b", f"/challenges/{walk.challenge}").json()
    assert [s["stage"] for s in challenge["stage_history"]] == [1, 2, 3, 4]
    assert challenge["stage_name"] == "Board"
    assert (challenge["outcome"], challenge["is_open"]) == ("upheld", False)
    assert challenge["responses"][0]["role"] == "agency_lead"


def steps(api: Any, path: str) -> list[tuple[str, str | None, str | None]]:
    entries = api.get("auditor", f"{path}/history").json()["entries"]
    return [(e["type"].split(".")[-1], e["actor"]["role"], e["reason"]) for e in entries]


def test_review_history_shows_every_step_with_actor_and_reason(api, walk):
    history = steps(api, f"/reviews/{walk.review}")
    assert [(t, role) for t, role, _ in history] == [
        ("IncidentRecorded", "scb_manager"), ("PanelNotified", "scb_manager"),
        ("RapidReviewCompleted", "scb_manager"), ("LocalDecisionMade", "scb_manager"),
        ("NationalPanelDecisionRecorded", "scb_manager"),
        ("ReviewerCommissioned", "scb_manager"), ("FindingRecorded", "scb_manager"),
        ("FindingRecorded", "scb_manager"), ("RecommendationRecorded", "scb_manager"),
        ("ReportSubmitted", "scb_manager"), ("Scrutinised", "scb_manager"),
        ("SignedOff", "board_member"), ("SentToPanel", "scb_manager"),
        ("Published", "scb_manager"), ("Closed", "scb_manager")]
    reasons = {t: reason for t, _, reason in history if reason}
    assert reasons == {
        "LocalDecisionMade": "Information was not shared between police and children's services",
        "NationalPanelDecisionRecorded": "A local review is the better place for this learning",
        "Closed": "Published; actions are tracked to completion"}


def test_action_history_shows_rejection_and_reclaim_with_actors(api, walk):
    assert steps(api, f"/actions/{walk.actions[1]}") == [
        ("Assigned", "scb_manager", None), ("ProgressReported", "agency_lead", None),
        ("CompletionClaimed", "agency_lead", None),
        ("CompletionRejected", "scb_manager", "No evidence of attendance"),
        ("CompletionClaimed", "agency_lead", None), ("CompletionAssured", "scb_manager", None)]


def test_challenge_history_shows_each_escalation_with_its_reason(api, walk):
    assert steps(api, f"/challenges/{walk.challenge}") == [
        ("Raised", "scrutineer", None), ("Responded", "agency_lead", None),
        ("Escalated", "scrutineer", "Not resolved at stage 1"),
        ("Escalated", "scrutineer", "Not resolved at stage 2"),
        ("Escalated", "scrutineer", "Not resolved at stage 3"),
        ("Resolved", "board_member", "The Board asked for section 4 to be expanded")]


def test_retried_finding_returns_the_same_finding_and_records_nothing(api):
    r = f"/reviews/{incident(api, 'SSSCB-2025-04', '2025-01-06')}"
    for path, body in [("panel-notification", {}), ("rapid-review", {"summary": "s"}),
                       ("local-decision", {"conduct_review": True, "rationale": "r",
                                           "criteria": ["recurrent_themes"]}),
                       ("reviewer", {"reviewer": "R"})]:
        step(api, "scb_manager", f"{r}/{path}", body)
    finding = {"text": "Neglect was normalised", "themes": ["neglect"]}
    first = api.post("scb_manager", f"{r}/findings", finding, **{"Idempotency-Key": "f-1"})
    head = api.ledger.head_position()
    retry = api.post("scb_manager", f"{r}/findings", finding, **{"Idempotency-Key": "f-1"})
    assert retry.status_code == first.status_code == 201
    assert retry.json() == first.json()
    assert api.ledger.head_position() == head
