"""The work itself in a real browser, on the demo ledger: an agency lead reports progress from
their work list and the overview's numbers change; the SCB manager records a serious incident
and walks it through the rapid review and the decision to an assigned action; a scrutineer
raises a challenge on an action and the agency lead answers it; a stale form is refused with
what changed; a double submit records once; an action plan with two bad rows is refused with
both rows named, then imported once fixed. Every form is checked with axe-core and every step
screenshotted under tests/artifacts/screens (work-*.png)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.action_plan import generated_plan
from tests.browser.test_pages import api, no_serious_violations, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def open_forms(page: Any) -> None:
    page.evaluate("() => document.querySelectorAll('details.command')"
                  ".forEach(d => d.open = true)")


def checked(page: Any, name: str) -> None:
    """Every form open, no serious axe violation, a screenshot."""
    open_forms(page)
    no_serious_violations(page)
    shot(page, f"work-{name}")


def overview_cell(page: Any, agency_id: str, column: str) -> int:
    return int(page.locator(f'#agencies tr[data-agency="{agency_id}"] '
                            f'td[data-col="{column}"] a').first.inner_text().strip())


def eventually(check: Any, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.3)


def opened(page: Any, command: str) -> Any:
    form = page.locator(f"#f-{command}")
    if form.get_attribute("open") is None:
        form.locator("summary").click()
    return form


def step(page: Any, command: str, fills: dict[str, str], button: str,
         done: bool = True) -> None:
    """Fill the command's form (its labels, exactly) and send it."""
    form = opened(page, command)
    for label, value in fills.items():
        form.get_by_label(re.compile(rf"^{re.escape(label)}( \(optional\))?$")).fill(value)
    with page.expect_navigation():  # the answer is a new page (a redirect, or the refusal)
        form.get_by_role("button", name=button).click()
    if done:
        assert page.locator('[data-testid="done"]').count() == 1, page.locator(
            '[role="alert"], .field-error').all_inner_texts()


def police(server: Any) -> str:
    rows = api(server, "/board/agencies")["items"]
    return next(r["agency_id"] for r in rows if r["agency_name"] == "Staffordshire Police")


def test_lead_reports_progress_from_my_work_and_the_overview_changes(
        person: Any, pages_server: Any) -> None:
    page = sign_in(person, pages_server, "agency_lead")
    agency = police(pages_server)
    before = overview_cell(page, agency, "stalled")
    assert before > 0, "the demo has stalled police actions"
    page.get_by_role("link", name="My work").click()
    page.wait_for_url("**/view/my-work*")
    checked(page, "lead-my-work")
    page.locator('[data-testid="queue-stalled"] li a').first.click()
    page.wait_for_url("**/view/actions/**")
    page.get_by_text("Report progress", exact=True).click()
    checked(page, "lead-action-forms")
    form = page.locator("#f-report_progress")
    form.get_by_label("What has been done").fill("Training held for 40 staff")
    form.get_by_label("Your agency's rating").select_option("amber")
    form.get_by_label("Evidence references").fill("Register 3 March\nSlides v2")
    form.get_by_role("button", name="Record progress").click()
    assert "Recorded: Report progress" in page.locator('[data-testid="done"]').inner_text()
    shot(page, "work-lead-recorded")

    def changed() -> bool:
        page.goto(pages_server.base_url + "/")
        return overview_cell(page, agency, "stalled") == before - 1
    assert eventually(changed), "the overview's stalled count fell by one"
    shot(page, "work-lead-overview-after")


def test_bad_input_is_shown_beside_the_field_and_a_stale_form_is_refused(
        person: Any, pages_server: Any) -> None:
    page = sign_in(person, pages_server, "agency_lead")
    page.get_by_role("link", name="My work").click()
    page.locator('[data-testid="queue-overdue"] li a, [data-testid="queue-stalled"] li a'
                 ).first.click()
    page.wait_for_url("**/view/actions/**")
    url = page.url
    page.get_by_text("Report progress", exact=True).click()
    page.get_by_role("button", name="Record progress").click()  # nothing filled in
    assert "This is needed." in page.locator('[data-testid="error-narrative"]').inner_text()
    checked(page, "lead-refused-beside-field")
    other = person.new_page()  # the same form, open in a second tab
    other.goto(url)
    other.get_by_text("Report progress", exact=True).click()
    page.goto(url)
    page.get_by_text("Report progress", exact=True).click()
    page.get_by_label("What has been done").fill("First tab's report")
    page.get_by_label("Your agency's rating").select_option("green")
    with page.expect_navigation():  # recorded before the second tab sends its form
        page.get_by_role("button", name="Record progress").click()
    other.get_by_label("What has been done").fill("Second tab's stale report")
    other.get_by_label("Your agency's rating").select_option("red")
    other.get_by_role("button", name="Record progress").click()
    message = other.locator('[data-testid="form-message"]').inner_text()
    assert "changed since you opened the form" in message and "First tab's report" in message
    checked(other, "lead-stale-form")
    other.goto(url)
    assert "Second tab's stale report" not in other.locator("#history").inner_text()


def test_a_double_submit_records_once(person: Any, pages_server: Any) -> None:
    page = sign_in(person, pages_server, "agency_lead")
    page.get_by_role("link", name="My work").click()
    page.locator('[data-testid="queue-stalled"] li a, [data-testid="queue-overdue"] li a'
                 ).first.click()
    page.wait_for_url("**/view/actions/**")
    action_id = page.url.split("/view/actions/")[1].split("?")[0]
    page.get_by_text("Report progress", exact=True).click()
    page.get_by_label("What has been done").fill("Sent twice")
    page.get_by_label("Your agency's rating").select_option("green")
    fields = page.evaluate("() => Object.fromEntries(new FormData("
                           "document.querySelector('#f-report_progress form')))")
    target = f"{pages_server.base_url}/view/actions/{action_id}/do/report_progress"
    for _ in range(2):  # the browser's form, sent twice (a double click, a retry)
        sent = person.request.post(target, form=fields, max_redirects=0)
        assert sent.status == 303
    history = api(pages_server, f"/actions/{action_id}/history")["entries"]
    assert [e["data"].get("narrative") for e in history].count("Sent twice") == 1


def test_manager_records_a_rapid_review_decides_and_assigns_an_action(
        person: Any, pages_server: Any) -> None:
    page = sign_in(person, pages_server, "scb_manager")
    page.goto(pages_server.base_url + "/view/reviews")
    page.get_by_role("link", name="Record a serious incident").click()
    page.wait_for_url("**/view/reviews-new*")
    checked(page, "manager-incident-form")
    form = page.locator("#f-record_incident")
    form.get_by_label("Pseudonymous reference").fill("SSSCB-2026-91")
    form.get_by_label("Partnership", exact=True).select_option(index=1)
    form.get_by_label("Local authority area").fill("Stoke-on-Trent")
    form.get_by_label("Age band").select_option("under_1")
    form.get_by_label("Harm", exact=True).select_option("serious_harm")
    form.get_by_label("Category").select_option("non_accidental_injury")
    form.get_by_label("Legal status").select_option("child_in_need")
    form.get_by_label("Staffordshire Police").check()
    with page.expect_navigation():
        form.get_by_role("button", name="Record the incident").click()
    assert "Review SSSCB-2026-91" in page.locator("h1").inner_text()
    step(page, "notify_panel", {}, "Record notification")
    step(page, "complete_rapid_review", {"What the rapid review found and decided":
                                         "Bruising to a non-mobile baby not escalated"},
         "Record the rapid review")
    checked(page, "manager-decision-forms")
    form = opened(page, "record_local_decision")
    form.get_by_label("Yes").check()
    form.get_by_label("Multi agency concerns").check()
    step(page, "record_local_decision",
         {"Rationale": "Two agencies did not share the bruising concern"}, "Record the decision")
    step(page, "commission_reviewer", {"Reviewer": "Independent reviewer A"},
         "Record commission")
    step(page, "record_finding", {"Finding": "Bruising was not escalated",
                                  "Themes": "bruising-in-non-mobile-babies"},
         "Record the finding")
    opened(page, "record_recommendation").get_by_label(
        "Finding 1: Bruising was not escalated").check()
    step(page, "record_recommendation", {"Recommendation": "Refresh bruising training"},
         "Record the recommendation")
    assert "Reviewer commissioned" in page.locator('[data-testid="review-stage"]').inner_text()
    opened(page, "assign_action")
    checked(page, "manager-assign-form")
    form = page.locator("#f-assign_action")
    form.get_by_label("Recommendation", exact=True).select_option(index=1)
    form.get_by_label("Lead agency").select_option(label="Staffordshire Police")
    step(page, "assign_action", {
        "The action (specific)": "Deliver bruising protocol training",
        "How success is measured": "90% of front-line staff trained",
        "Due on": "2027-06-30"}, "Assign the action", done=False)
    assert page.locator("h1").inner_text() == "Action: Deliver bruising protocol training"
    shot(page, "work-manager-assigned")


def test_scrutineer_raises_a_challenge_and_the_lead_answers_it(
        person: Any, browser: Any, pages_server: Any) -> None:
    agency = police(pages_server)
    action = next(a for a in api(pages_server, "/board/actions", agency=agency,
                                 status="open")["items"])
    page = sign_in(person, pages_server, "scrutineer")
    page.goto(f"{pages_server.base_url}/view/actions/{action['action_id']}")
    page.get_by_text("Raise a challenge", exact=True).click()
    checked(page, "scrutineer-raise-form")
    page.get_by_label("Grounds of the challenge").fill("The evidence does not show impact")
    with page.expect_navigation():
        page.get_by_role("button", name="Raise the challenge").click()
    assert "Open at stage 1" in page.locator('[data-testid="challenge-status"]').inner_text()
    challenge_url = page.url.split("?")[0]
    lead_context = browser.new_context(viewport={"width": 1280, "height": 900},
                                       bypass_csp=True)
    try:
        lead = sign_in(lead_context, pages_server, "agency_lead")
        lead.get_by_role("link", name="My work").click()
        assert eventually(lambda: lead.reload() or challenge_url.split("/")[-1] in
                          lead.locator('[data-testid="queue-challenges"]').inner_html())
        lead.goto(challenge_url)
        lead.get_by_text("Answer the challenge", exact=True).click()
        checked(lead, "lead-answer-form")
        lead.get_by_label("Your agency's answer").fill("The audit of March is attached")
        lead.get_by_role("button", name="Send the answer").click()
        assert "The audit of March is attached" in lead.locator(
            '[data-testid="responses"]').inner_text()
        shot(lead, "work-lead-answered")
    finally:
        lead_context.close()


def test_an_action_plan_with_two_bad_rows_is_refused_then_imported_once_fixed(
        person: Any, pages_server: Any, tmp_path: Path) -> None:
    reviews = api(pages_server, "/board/reviews")["items"]
    review = next(r for r in reviews if r["stage"] in (
        "reviewer_commissioned", "report_submitted", "scrutinised", "signed_off",
        "sent_to_panel", "published") and httpx.get(
        f"{pages_server.base_url}/reviews/{r['review_id']}", timeout=10, headers={
            "Authorization": f"Bearer {pages_server.tokens['board_member']}"}
    ).json()["recommendations"])
    names = [a["agency_name"] for a in api(pages_server, "/board/agencies")["items"]
             if a["agency_status"] == "active"][:3]
    bad, good = tmp_path / "action-plan.xlsx", tmp_path / "action-plan-fixed.xlsx"
    bad.write_bytes(generated_plan(names, 12, recommendations=1,
                                   bad={3: "agency", 8: "date"}))
    good.write_bytes(generated_plan(names, 12, recommendations=1))
    page = sign_in(person, pages_server, "scb_manager")
    page.goto(f"{pages_server.base_url}/view/reviews/{review['review_id']}/import")
    checked(page, "manager-import-form")
    page.get_by_label("Action plan (.xlsx)").set_input_files(str(bad))
    with page.expect_navigation():
        page.get_by_role("button", name="Preview").click()
    problems = page.locator('[data-testid="import-problems"]').inner_text()
    assert "Row 6:" in problems and "unknown agency" in problems
    assert "Row 11:" in problems and "not a date" in problems
    checked(page, "manager-import-refused")
    page.get_by_label("Action plan (.xlsx)").set_input_files(str(good))
    with page.expect_navigation():
        page.get_by_role("button", name="Preview").click()
    checked(page, "manager-import-preview")
    page.get_by_role("button", name="Record 12 actions").click()
    assert "Imported 12 actions" in page.locator('[data-testid="done"]').inner_text()
    shot(page, "work-manager-imported")


def test_the_people_page_and_the_board_forms_are_accessible(
        person: Any, browser: Any, pages_server: Any) -> None:
    page = sign_in(person, pages_server, "scb_manager")
    page.goto(pages_server.base_url + "/view/users")
    checked(page, "manager-people-forms")
    page.goto(pages_server.base_url + "/view/my-work")
    checked(page, "manager-my-work")
    board_context = browser.new_context(viewport={"width": 1280, "height": 900},
                                        bypass_csp=True)
    try:
        board = sign_in(board_context, pages_server, "board_member")
        board.goto(pages_server.base_url + "/view/my-work")
        checked(board, "board-my-work")
        escalated = board.locator('[data-testid="queue-escalated"] li a')
        if escalated.count():
            escalated.first.click()
            board.wait_for_url("**/view/actions/**")
            checked(board, "board-action-forms")
            assert board.locator("#f-hold_to_account").count() == 1
    finally:
        board_context.close()
