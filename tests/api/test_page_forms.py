"""The pages' forms that write, over HTTP on each store: each records what the API's use case
records (same events, same actor), is offered only to those whose grant allows it, shows a
refusal beside its field with nothing written, refuses a stale form with what changed, and
records a double submit once."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from uuid import UUID

from tests.api.test_pages import sign_in
from tests.scenarios import Scenario


def form_fields(html: str, command: str) -> dict[str, str]:
    """The hidden fields of the form for `command` on a page."""
    match = re.search(rf'<details class="command"[^>]*id="f-{command}">(.*?)</details>', html,
                      re.DOTALL)
    assert match, f"the page offers the form {command}"
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', match.group(1)))


def an_action(api: Any) -> UUID:
    scenario = Scenario(api.ledger)
    recommended = scenario.review([api.agency_a])
    return scenario.assign(recommended, api.agency_a).id


def kinds(api: Any, action_id: UUID) -> list[str]:
    return [type(e.event).__name__ for e in api.ledger.action_history(action_id)]


def test_a_lead_reports_progress_from_the_page_as_the_api_would(api: Any) -> None:
    action_id = an_action(api)
    client = sign_in(api, "lead_a")
    page = client.get(f"/view/actions/{action_id}")
    assert "Report progress" in page.text and "Assure completion" not in page.text
    sent = client.post(f"/view/actions/{action_id}/do/report_progress", data={
        **form_fields(page.text, "report_progress"), "narrative": "Training held",
        "rag": "amber", "evidence": "Register 3 March\nSlides v2"}, follow_redirects=False)
    assert sent.status_code == 303 and "done=report_progress" in sent.headers["location"]
    last = api.ledger.action_history(action_id)[-1].event
    assert type(last).__name__ == "ProgressReported"
    assert last.evidence == ["Register 3 March", "Slides v2"] and last.rag == "amber"
    assert last.actor.user_id == api.ledger.authenticate(api.tokens["lead_a"]).user_id


def test_bad_input_is_shown_beside_its_field_and_nothing_is_written(api: Any) -> None:
    action_id = an_action(api)
    client = sign_in(api, "lead_a")
    page = client.get(f"/view/actions/{action_id}")
    before = kinds(api, action_id)
    sent = client.post(f"/view/actions/{action_id}/do/report_progress", data={
        **form_fields(page.text, "report_progress"), "narrative": "", "rag": "purple",
        "occurred_on": "2099-01-01"})
    assert sent.status_code == 422
    assert 'data-testid="error-narrative"' in sent.text and "This is needed" in sent.text
    assert 'data-testid="error-rag"' in sent.text and 'aria-invalid="true"' in sent.text
    future = client.post(f"/view/actions/{action_id}/do/report_progress", data={
        **form_fields(page.text, "report_progress"), "narrative": "n", "rag": "green",
        "occurred_on": "2099-01-01"})
    assert future.status_code == 422 and 'data-testid="error-occurred_on"' in future.text
    assert kinds(api, action_id) == before


def test_a_stale_form_is_refused_with_what_changed(api: Any) -> None:
    action_id = an_action(api)
    client = sign_in(api, "lead_a")
    fields = form_fields(client.get(f"/view/actions/{action_id}").text, "report_progress")
    api.post("lead_a", f"/actions/{action_id}/progress",
             {"narrative": "Meanwhile, by the API", "rag": "green"})
    before = kinds(api, action_id)
    sent = client.post(f"/view/actions/{action_id}/do/report_progress", data={
        **fields, "narrative": "Old view", "rag": "red"})
    assert sent.status_code == 409
    assert "changed since you opened the form" in sent.text
    assert "Meanwhile, by the API" in sent.text  # what changed
    assert kinds(api, action_id) == before


def test_a_double_submit_records_once(api: Any) -> None:
    action_id = an_action(api)
    client = sign_in(api, "lead_a")
    data = {**form_fields(client.get(f"/view/actions/{action_id}").text, "report_progress"),
            "narrative": "Once", "rag": "green"}
    for _ in range(2):
        sent = client.post(f"/view/actions/{action_id}/do/report_progress", data=data,
                           follow_redirects=False)
        assert sent.status_code == 303
    assert kinds(api, action_id).count("ProgressReported") == 1


def test_forms_are_offered_by_grant_and_state(api: Any) -> None:
    action_id = an_action(api)
    manager = sign_in(api, "scb_manager").get(f"/view/actions/{action_id}").text
    assert all(f'id="f-{c}"' in manager for c in ("revise_due_date", "escalate_action",
                                                   "withdraw_action", "raise_challenge"))
    assert 'id="f-report_progress"' not in manager  # not the manager's to report
    auditor = sign_in(api, "auditor").get(f"/view/actions/{action_id}").text
    assert "What you can do" not in auditor
    board = sign_in(api, "board_member").get(f"/view/actions/{action_id}").text
    assert 'id="f-hold_to_account"' not in board  # not escalated yet
    refused = sign_in(api, "auditor").post(
        f"/view/actions/{action_id}/do/report_progress",
        data={**form_fields(manager, "withdraw_action"), "narrative": "x", "rag": "red"})
    assert refused.status_code == 403


def test_manager_escalates_board_holds_to_account(api: Any) -> None:
    action_id = an_action(api)
    client = sign_in(api, "scb_manager")
    page = client.get(f"/view/actions/{action_id}").text
    client.post(f"/view/actions/{action_id}/do/escalate_action", data={
        **form_fields(page, "escalate_action"), "reason": "No update"})
    board = sign_in(api, "board_member")
    page = board.get(f"/view/actions/{action_id}").text
    sent = board.post(f"/view/actions/{action_id}/do/hold_to_account", data={
        **form_fields(page, "hold_to_account"), "outcome": "Report in 30 days",
        "meeting": "Board, 4 March"}, follow_redirects=False)
    assert sent.status_code == 303
    assert kinds(api, action_id)[-2:] == ["Escalated", "HeldToAccount"]


def test_scrutineer_raises_a_challenge_and_the_lead_answers_it(api: Any) -> None:
    action_id = an_action(api)
    client = sign_in(api, "scrutineer")
    page = client.get(f"/view/actions/{action_id}").text
    raised = client.post(f"/view/actions/{action_id}/do/raise_challenge", data={
        **form_fields(page, "raise_challenge"), "grounds": "Evidence is thin"},
        follow_redirects=False)
    assert raised.status_code == 303
    path = raised.headers["location"].split("?")[0]
    challenge_id = UUID(path.rsplit("/", 1)[1])
    lead = sign_in(api, "lead_a")
    page = lead.get(path).text
    assert "Evidence is thin" in page
    answered = lead.post(f"{path}/do/respond_to_challenge", data={
        **form_fields(page, "respond_to_challenge"), "response": "Audit attached"},
        follow_redirects=False)
    assert answered.status_code == 303
    assert api.ledger.get_challenge(challenge_id).responses[0].response == "Audit attached"
    assert sign_in(api, "lead_b").get(path).status_code == 403  # not addressed to them


def test_manager_walks_a_review_and_assigns_an_action_from_its_page(api: Any) -> None:
    client = sign_in(api, "scb_manager")
    page = client.get("/view/reviews-new").text
    made = client.post("/view/reviews-new", data={
        **form_fields(page, "record_incident"), "reference": "SSSCB-2026-07",
        "partnership": "Staffordshire", "local_authority_area": "Staffordshire",
        "age_band": "under_1", "harm": "serious_harm", "category": "neglect",
        "legal_status": "none", "agencies_involved": str(api.agency_a)},
        follow_redirects=False)
    assert made.status_code == 303, made.text
    path = made.headers["location"].split("?")[0]
    steps = [("notify_panel", {}), ("complete_rapid_review", {"summary": "Facts gathered"}),
             ("record_local_decision", {"conduct_review": "yes", "rationale": "Two agencies",
                                        "criteria": "multi_agency_concerns"}),
             ("commission_reviewer", {"reviewer": "J. Smith"}),
             ("record_finding", {"text": "Bruising missed", "themes": "bruising\ntraining"})]
    for command, data in steps:
        page = client.get(path).text
        sent = client.post(f"{path}/do/{command}", data={**form_fields(page, command), **data},
                           follow_redirects=False)
        assert sent.status_code == 303, (command, sent.text[:2000])
    review = api.ledger.get_review(UUID(path.rsplit("/", 1)[1]))
    assert str(review.stage) == "reviewer_commissioned"
    assert list(review.findings[0].themes) == ["bruising", "training"]
    page = client.get(path).text
    client.post(f"{path}/do/record_recommendation", data={
        **form_fields(page, "record_recommendation"), "text": "Train staff",
        "finding_ids": str(review.findings[0].id)})
    page = client.get(path).text
    refused = client.post(f"{path}/do/assign_action", data={
        **form_fields(page, "assign_action"), "recommendation_id": "",
        "agency_id": str(api.agency_a), "description": "Train", "measure_of_success": "",
        "due_on": "not a date"})
    assert refused.status_code == 422
    for name in ("recommendation_id", "measure_of_success", "due_on"):
        assert f'data-testid="error-{name}"' in refused.text
    recommendation = api.ledger.get_review(review.id).recommendations[0].id
    assigned = client.post(f"{path}/do/assign_action", data={
        **form_fields(page, "assign_action"), "recommendation_id": str(recommendation),
        "agency_id": str(api.agency_a), "description": "Train", "measure_of_success": "90%",
        "due_on": "2030-01-01", "milestones": "Plan\nDeliver"}, follow_redirects=False)
    assert assigned.status_code == 303, re.findall(r"<strong>([^<]+)<", assigned.text)
    assert "/view/actions/" in assigned.headers["location"]


def test_my_work_lists_what_waits_on_each_person(api: Any) -> None:
    action_id = an_action(api)
    scenario = Scenario(api.ledger)
    challenge = scenario.challenge(action_id, api.agency_a)
    api.post("lead_a", f"/actions/{action_id}/completion-claim", {"narrative": "Done"})
    lead = sign_in(api, "lead_a").get("/view/my-work").text
    assert f"/view/challenges/{challenge}" in lead
    manager = sign_in(api, "scb_manager").get("/view/my-work").text
    section = manager.split('data-testid="queue-to_assure"')[1].split("</section>")[0]
    assert f"/view/actions/{action_id}" in section
    assert sign_in(api, "board_member").get("/view/my-work").status_code == 200


def test_manager_registers_people_and_agencies_sets_an_address_and_revokes_access(
        api: Any) -> None:
    client = sign_in(api, "scb_manager")
    page = client.get("/view/users").text
    made = client.post("/view/users/do/register_agency", data={
        **form_fields(page, "register_agency"), "name": "Midlands Trust", "kind": "health",
        "statutory_partner": "no", "partnerships": "Staffordshire"}, follow_redirects=False)
    assert made.status_code == 303, re.findall(r"<strong>([^<]+)<", made.text)
    refused = client.post("/view/users/do/register_user", data={
        **form_fields(page, "register_user"), "name": "New Lead", "role": "agency_lead"})
    assert refused.status_code == 422 and 'data-testid="error-agency_id"' in refused.text
    registered = client.post("/view/users/do/register_user", data={
        **form_fields(page, "register_user"), "name": "Ann Auditor", "role": "auditor"},
        follow_redirects=False)
    assert registered.status_code == 303
    auditor = UUID(api.ledger.authenticate(api.tokens["auditor"]).user_id)
    page = client.get("/view/users").text
    fields = form_fields(page, f"set_user_email-{auditor}")
    bad = client.post(f"/view/users/{auditor}/do/set_user_email",
                      data={**fields, "email": "nope"})
    assert bad.status_code == 422 and "is not an email address" in bad.text
    client.post(f"/view/users/{auditor}/do/set_user_email",
                data={**fields, "email": "ann@example.org"})
    assert api.ledger.get_user(auditor).email == "ann@example.org"
    page = client.get("/view/users").text
    client.post(f"/view/users/{auditor}/do/deactivate_user", data={
        **form_fields(page, f"deactivate_user-{auditor}"), "reason": "Left the post"})
    assert not api.ledger.get_user(auditor).active
    assert api.get("auditor", "/actions").status_code == 401


def test_manager_corrects_a_mistaken_progress_entry(api: Any) -> None:
    action_id = an_action(api)
    api.post("lead_a", f"/actions/{action_id}/progress",
             {"narrative": "Trainng held", "rag": "green"})
    client = sign_in(api, "scb_manager")
    page = client.get(f"/view/actions/{action_id}").text
    sent = client.post(f"/view/actions/{action_id}/do/correct_action_entry", data={
        **form_fields(page, "correct_action_entry"), "corrects_version": "2",
        "field": "narrative", "corrected": "Training held", "reason": "Typo",
        "approved_by": "Chair"}, follow_redirects=False)
    assert sent.status_code == 303, re.findall(r"<strong>([^<]+)<", sent.text)
    assert kinds(api, action_id)[-1] == "EntryCorrected"
    assert 'id="f-correct_action_entry"' not in sign_in(api, "lead_a").get(
        f"/view/actions/{action_id}").text


def test_scrutineer_escalates_and_the_board_resolves_at_stage_4(api: Any) -> None:
    action_id = an_action(api)
    challenge = Scenario(api.ledger).challenge(action_id, api.agency_a)
    path = f"/view/challenges/{challenge}"
    client = sign_in(api, "scrutineer")
    for stage in (2, 3, 4):
        page = client.get(path).text
        sent = client.post(f"{path}/do/escalate_challenge", data={
            **form_fields(page, "escalate_challenge"), "to_stage": str(stage),
            "reason": "No answer"}, follow_redirects=False)
        assert sent.status_code == 303, re.findall(r"<strong>([^<]+)<", sent.text)
    board = sign_in(api, "board_member")
    page = board.get(path).text
    sent = board.post(f"{path}/do/resolve_challenge", data={
        **form_fields(page, "resolve_challenge"), "outcome": "upheld",
        "reason": "The Board agrees"}, follow_redirects=False)
    assert sent.status_code == 303
    assert api.ledger.get_challenge(challenge).outcome == "upheld"


def test_manager_corrects_a_reviews_key_date_from_its_page(api: Any) -> None:
    review_id = Scenario(api.ledger).incident([api.agency_a])
    client = sign_in(api, "scb_manager")
    path = f"/view/reviews/{review_id}"
    page = client.get(path).text
    aware = api.ledger.get_review(review_id).aware_on
    sent = client.post(f"{path}/do/correct_date", data={
        **form_fields(page, "correct_date"), "field": "aware_on",
        "corrected": (aware - timedelta(days=1)).isoformat(),
        "reason": "Awareness was the day before"}, follow_redirects=False)
    assert sent.status_code == 303, re.findall(r"<strong>([^<]+)<", sent.text)
    assert 'id="f-correct_date"' not in sign_in(api, "board_member").get(path).text


def test_lead_claims_completion_manager_rejects_then_assures(api: Any) -> None:
    action_id = an_action(api)
    path = f"/view/actions/{action_id}"
    lead = sign_in(api, "lead_a")

    def send(client: Any, command: str, **data: str) -> None:
        page = client.get(path).text
        sent = client.post(f"{path}/do/{command}", data={**form_fields(page, command), **data},
                           follow_redirects=False)
        assert sent.status_code == 303, re.findall(r"<strong>([^<]+)<", sent.text)

    send(lead, "claim_completion", narrative="All trained", evidence="Register")
    manager = sign_in(api, "scb_manager")
    send(manager, "reject_completion", reason="No audit yet")
    lead = sign_in(api, "lead_a")
    send(lead, "claim_completion", narrative="Audit done", evidence="Audit report")
    manager = sign_in(api, "scb_manager")
    send(manager, "assure_completion", comments="Evidence seen by the sub-committee")
    assert kinds(api, action_id)[-4:] == ["CompletionClaimed", "CompletionRejected",
                                          "CompletionClaimed", "CompletionAssured"]


def test_the_lead_escalates_a_challenge_addressed_to_their_agency(api: Any) -> None:
    action_id = an_action(api)
    challenge = Scenario(api.ledger).challenge(action_id, api.agency_a)
    path = f"/view/challenges/{challenge}"
    lead = sign_in(api, "lead_a")
    page = lead.get(path).text
    assert all(f'id="f-{c}"' in page for c in ("respond_to_challenge", "escalate_challenge"))
    assert 'id="f-resolve_challenge"' not in page  # raised by the scrutineer, not by them
    refused = lead.post(f"{path}/do/escalate_challenge", data={
        **form_fields(page, "escalate_challenge"), "to_stage": "3", "reason": "Too slow"})
    assert refused.status_code == 422  # one stage at a time: the domain's reason, shown
    sent = lead.post(f"{path}/do/escalate_challenge", data={
        **form_fields(page, "escalate_challenge"), "to_stage": "2", "reason": "Too slow"},
        follow_redirects=False)
    assert sent.status_code == 303 and api.ledger.get_challenge(challenge).stage == 2


def test_the_board_signs_off_at_a_named_meeting_and_the_manager_cannot(api: Any) -> None:
    recommended = Scenario(api.ledger).review([api.agency_a], to="scrutinised")
    path = f"/view/reviews/{recommended.review_id}"
    assert 'id="f-sign_off"' not in sign_in(api, "scb_manager").get(path).text
    board = sign_in(api, "board_member")
    page = board.get(path).text
    refused = board.post(f"{path}/do/sign_off", data={**form_fields(page, "sign_off"),
                                                      "meeting": ""})
    assert refused.status_code == 422 and 'data-testid="error-meeting"' in refused.text
    sent = board.post(f"{path}/do/sign_off", data={
        **form_fields(page, "sign_off"), "meeting": "Full Board, 12 March"},
        follow_redirects=False)
    assert sent.status_code == 303
    assert str(api.ledger.get_review(recommended.review_id).stage) == "signed_off"


def test_manager_revises_a_due_date_then_withdraws(api: Any) -> None:
    action_id = an_action(api)
    client = sign_in(api, "scb_manager")
    path = f"/view/actions/{action_id}"
    due = api.ledger.get_action(action_id).due_on
    page = client.get(path).text
    client.post(f"{path}/do/revise_due_date", data={
        **form_fields(page, "revise_due_date"), "due_on": (due + timedelta(days=30)).isoformat(),
        "reason": "Training venue moved", "approved_by": "Sub-group chair"})
    assert api.ledger.get_action(action_id).due_on == due + timedelta(days=30)
    page = client.get(path).text
    client.post(f"{path}/do/withdraw_action", data={
        **form_fields(page, "withdraw_action"), "reason": "Superseded"})
    assert kinds(api, action_id)[-2:] == ["DueDateRevised", "Withdrawn"]
