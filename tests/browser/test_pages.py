"""The pages in a real browser against the real API on the demo ledger: a Board member signs
in, reads an agency's overdue count (the API's, at the same position), opens the agency, an
action and its history; the time machine shows an action unassured before its assurance; the
CSV and the Board pack PDF download (the PDF holds the checkpoint's root); an agency lead sees
only their agency and a 403 page elsewhere; a signed-out cookie no longer works; a form
without its CSRF token is refused; a one-time sign-in link works once. Every page type is
screenshotted under tests/artifacts/screens (not committed) and checked with axe-core."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ARTIFACTS, AXE

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def api(server: Any, path: str, role: str = "board_member", **params: Any) -> Any:
    response = httpx.get(server.base_url + path, params=params, timeout=30, headers={
        "Authorization": f"Bearer {server.tokens[role]}"})
    response.raise_for_status()
    return response.json()


def sign_in(context: Any, server: Any, role: str = "board_member") -> Any:
    page = context.new_page()
    page.goto(server.base_url + "/")
    assert "/sign-in" in page.url  # no session: sent to sign in
    page.get_by_label("Your access token").fill(server.tokens[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.base_url + "/")
    return page


def position_of(page: Any) -> int:
    match = re.search(r"up to log position (\d+)", page.locator("footer").inner_text())
    assert match, "the page says which log position it reflects"
    return int(match.group(1))


def cell(page: Any, agency_id: str, column: str) -> int:
    return int(page.locator(f'#agencies tr[data-agency="{agency_id}"] '
                            f'td[data-col="{column}"] a').first.inner_text().strip())


def no_serious_violations(page: Any) -> None:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{page.url}: {bad}"


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# ---- the Board member -----------------------------------------------------------------------

def test_overview_numbers_are_the_apis_at_the_same_position(person: Any,
                                                            pages_server: Any) -> None:
    page = sign_in(person, pages_server)
    assert "Board member" in page.locator(".who").inner_text()
    position = position_of(page)
    rows = api(pages_server, "/board/agencies", position=position)["items"]
    behind = [r for r in rows if r["overdue"] > 0]
    assert behind, "the demo has an agency with overdue actions"
    for row in rows:
        agency = row["agency_id"]
        for column in ("overdue", "stalled", "escalated", "held", "challenges_open",
                       "completed"):
            key = {"held": "held_to_account"}.get(column, column)
            assert cell(page, agency, column) == row[key], (row["agency_name"], column)
        levels = page.locator(f'#agencies tr[data-agency="{agency}"] td[data-col="escalated"]')
        for e in row["escalations"]:
            count, level = e["actions"], e["level"]
            assert f"{count} {level.replace('_', ' ').replace('sub group', 'sub-group')}" in \
                levels.inner_text()
    # the overdue number links to the list behind it, which holds exactly that many
    agency = behind[0]
    page.locator(f'#agencies tr[data-agency="{agency["agency_id"]}"] '
                 'td[data-col="overdue"] a').click()
    assert page.locator("#actions tbody tr").count() == agency["overdue"]


def test_agency_then_action_and_its_history(person: Any, pages_server: Any) -> None:
    page = sign_in(person, pages_server)
    rows = api(pages_server, "/board/agencies")["items"]
    agency = max(rows, key=lambda r: r["overdue"])
    page.locator(f'#agencies tr[data-agency="{agency["agency_id"]}"] th a').click()
    assert page.locator("h1").inner_text() == agency["agency_name"]
    summary = page.locator("#agency-summary")
    assert summary.locator('dd[data-col="overdue"]').inner_text().strip() == str(
        agency["overdue"])
    assert summary.locator('dd[data-col="open"]').inner_text().strip() == str(agency["open"])
    page.locator("#agency-actions tbody th a").first.click()
    assert page.locator("h1").inner_text().startswith("Action: ")
    action_id = page.url.rsplit("/", 1)[1].split("?")[0]
    history = api(pages_server, f"/actions/{action_id}/history")["entries"]
    rows_shown = page.locator("#history tbody tr")
    assert rows_shown.count() == len(history)
    first = rows_shown.first.inner_text()
    assert "Assigned" in first and history[0]["actor"]["name"] in first


def test_as_of_before_an_assurance_shows_the_action_unassured(person: Any,
                                                              pages_server: Any) -> None:
    page = sign_in(person, pages_server)
    assured = api(pages_server, "/board/actions", status="assured", limit=1)["items"][0]
    history = api(pages_server, f"/actions/{assured['action_id']}/history")["entries"]
    when = next(datetime.fromisoformat(e["recorded_at"]) for e in history
                if e["type"].endswith("CompletionAssured"))
    page.goto(f"{pages_server.base_url}/view/actions/{assured['action_id']}")
    assert "Assured" in page.get_by_test_id("action-status").inner_text()
    before = when - timedelta(minutes=1)
    page.get_by_label("Show the ledger as of (UTC)").fill(before.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Show", exact=True).click()
    page.wait_for_url(re.compile(r"as_of="))
    assert "Time machine" in page.locator(".banner").inner_text()
    assert "Assured" not in page.get_by_test_id("action-status").inner_text()
    # links keep the point in time
    href = page.locator("nav.nav a", has_text="Overview").get_attribute("href")
    assert "as_of=" in href


def test_csv_and_board_pack_pdf_hold_the_apis_rows_and_the_checkpoint_root(
        person: Any, pages_server: Any) -> None:
    from pypdf import PdfReader

    page = sign_in(person, pages_server)
    with page.expect_download() as csv_download:
        page.locator("a[data-csv]").first.click()
    with open(csv_download.value.path()) as downloaded:
        rows = list(csv.DictReader(io.StringIO(downloaded.read())))
    api_rows = api(pages_server, "/board/agencies")["items"]
    assert {r["agency_id"] for r in rows} == {r["agency_id"] for r in api_rows}
    page.locator("nav.nav a", has_text="Board pack").click()
    assert page.locator("#contents-h").is_visible()
    root = page.get_by_test_id("pack-root").inner_text().strip()
    assert root == pages_server.checkpoint_root
    shot(page, "board-pack")
    with page.expect_download() as pdf_download:
        page.locator("a[data-pdf]").click()
    reader = PdfReader(pdf_download.value.path())
    text = "".join(p.extract_text() for p in reader.pages)
    assert pages_server.checkpoint_root in re.sub(r"\s+", "", text)
    assert len(reader.pages) > 3


# ---- scope, sessions and CSRF ---------------------------------------------------------------

def test_agency_lead_sees_only_their_agency_and_a_403_page_elsewhere(person: Any,
                                                                    pages_server: Any) -> None:
    page = sign_in(person, pages_server, "agency_lead")
    mine = api(pages_server, "/board/agencies", role="agency_lead")["items"]
    assert len(mine) == 1
    assert page.locator("#agencies tbody tr").count() == 1
    assert page.locator("h1").inner_text() == "Your agency's actions"
    others = [r for r in api(pages_server, "/board/agencies")["items"]
              if r["agency_id"] != mine[0]["agency_id"]]
    response = page.goto(f"{pages_server.base_url}/view/agencies/{others[0]['agency_id']}")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "Not yours to see"
    assert "Traceback" not in page.content()
    shot(page, "403")
    no_serious_violations(page)
    response = page.goto(f"{pages_server.base_url}/view/actions?agency="
                         f"{others[0]['agency_id']}")
    assert response.status == 403


def test_sign_out_ends_the_session_so_the_old_cookie_no_longer_works(
        browser: Any, person: Any, pages_server: Any) -> None:
    page = sign_in(person, pages_server)
    cookies = person.cookies()
    assert any(c["name"] == "ledger_session" and c["httpOnly"] and c["sameSite"] == "Lax"
               for c in cookies)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"))
    assert "signed out" in page.locator(".notice").inner_text()
    replay = browser.new_context()
    try:
        replay.add_cookies(cookies)  # the cookie as it was before signing out
        again = replay.new_page()
        again.goto(pages_server.base_url + "/view/actions")
        assert "/sign-in" in again.url
    finally:
        replay.close()


def test_a_form_post_without_its_csrf_token_is_refused(person: Any, pages_server: Any) -> None:
    page = sign_in(person, pages_server)
    refused = person.request.post(pages_server.base_url + "/sign-out", form={},
                                  max_redirects=0)
    assert refused.status == 403
    forged = person.request.post(pages_server.base_url + "/sign-out",
                                 form={"csrf_token": "forged"}, max_redirects=0)
    assert forged.status == 403
    page.reload()  # still signed in: the refused posts ended nothing
    assert page.locator(".who").is_visible()
    no_token = httpx.post(pages_server.base_url + "/sign-in",
                          data={"token": pages_server.tokens["auditor"]}, timeout=10)
    assert no_token.status_code == 403


def test_a_one_time_sign_in_link_works_once(browser: Any, person: Any,
                                            pages_server: Any) -> None:
    page = sign_in(person, pages_server, "scb_manager")
    page.locator("nav.nav a", has_text="People").click()
    row = page.locator("#users tbody tr", has_text="Auditor").first
    row.get_by_role("button").click()
    link = page.locator("#sign-in-link").inner_text().strip()
    shot(page, "people-and-links")
    no_serious_violations(page)
    for attempt in (1, 2):
        other = browser.new_context()
        try:
            visitor = other.new_page()
            visitor.goto(link)
            visitor.get_by_role("button", name="Sign in").click()
            if attempt == 1:
                visitor.wait_for_url(pages_server.base_url + "/")
                assert "Auditor" in visitor.locator(".who").inner_text()
            else:
                assert "does not work" in visitor.locator(".notice").inner_text()
        finally:
            other.close()


# ---- every page type: screenshots, accessibility, numbers -----------------------------------

def test_every_page_type_is_accessible_and_screenshotted(person: Any,
                                                         pages_server: Any) -> None:
    page = sign_in(person, pages_server)
    base = pages_server.base_url
    shot(page, "overview")
    no_serious_violations(page)
    agency = api(pages_server, "/board/agencies")["items"][0]["agency_id"]
    review = next(r["review_id"] for r in api(pages_server, "/board/reviews", limit=100)["items"]
                  if r["recommendations"] and r["deadlines_missed"])
    action = api(pages_server, "/board/actions", limit=1)["items"][0]["action_id"]
    for name, path in [("actions", "/view/actions?overdue=true"),
                       ("action", f"/view/actions/{action}"),
                       ("agency", f"/view/agencies/{agency}"),
                       ("reviews", "/view/reviews"), ("review", f"/view/reviews/{review}"),
                       ("challenges", "/view/challenges"), ("themes", "/view/themes"),
                       ("audit", "/view/audit"), ("integrity", "/view/integrity"),
                       ("overview-as-of", "/?as_of=2024-01-01T00:00"),
                       ("board-pack", "/board/pack"), ("404", "/view/agencies/" + "0" * 32)]:
        page.goto(base + path)
        shot(page, name)
        no_serious_violations(page)
    page.context.clear_cookies()
    page.goto(base + "/sign-in")
    shot(page, "sign-in")
    no_serious_violations(page)


def test_list_and_record_pages_show_the_apis_numbers(person: Any, pages_server: Any) -> None:
    page = sign_in(person, pages_server)
    base = pages_server.base_url
    position = position_of(page)
    reviews = api(pages_server, "/board/reviews", position=position, limit=1000)["items"]
    page.goto(base + "/view/reviews")
    shown = page.locator("#reviews tbody tr")
    assert shown.count() == len(reviews)
    for i, review in enumerate(reviews):
        assert shown.nth(i).locator("td.num").inner_text().strip() == str(
            review["deadlines_missed"])
    challenges = api(pages_server, "/board/challenges", status="open", limit=1000)["items"]
    page.goto(base + "/view/challenges?status=open")
    assert page.locator("#challenges tbody tr").count() == len(challenges)
    page.get_by_role("link", name="An action update").first.click()
    assert page.locator("h1").inner_text().startswith("Action: ")
    themes = api(pages_server, "/board/themes")["items"]
    page.goto(base + "/view/themes")
    counts = {t["theme"]: t["review_count"] for t in themes}
    for row in page.locator("#themes tbody tr").all():
        slug = row.locator("th a").get_attribute("href").split("theme=")[1].split("&")[0]
        assert int(row.locator("td.num").first.inner_text()) == counts[slug]
    review = reviews[0]
    page.goto(f"{base}/view/reviews/{review['review_id']}")
    missed = page.locator("#timeline .status.missed").count()
    assert missed == review["deadlines_missed"]


def test_the_integrity_page_gives_what_verifies_offline(person: Any, pages_server: Any,
                                                        tmp_path: Any) -> None:
    from ledger_verifier.cli import main as ledger_verify

    page = sign_in(person, pages_server, "scrutineer")
    page.locator("nav.nav a", has_text="Integrity").click()
    assert page.get_by_test_id("checkpoint-root").inner_text() == pages_server.checkpoint_root
    command = page.get_by_test_id("verify-command").inner_text()
    assert "pip install ./ledger_verifier" in command
    key = re.search(r"--public-key '([^']+)'", command).group(1)
    with page.expect_download() as export:
        page.locator("a[data-export]").click()
    bundle = tmp_path / "ledger.sglb"
    export.value.save_as(bundle)
    assert ledger_verify(["bundle", str(bundle), "--public-key", key, "--jobs", "1"]) == 0
    page.get_by_label("Event position (from the audit trail)").fill("5")
    with page.expect_download() as proof:
        page.get_by_role("button", name="Download its proof file").click()
    proof_file = tmp_path / "event-5.tlog-proof"
    proof.value.save_as(proof_file)
    assert ledger_verify(["proof", str(proof_file), "--public-key", key]) == 0
    page.get_by_role("button", name="Run the self-check now").click()
    page.locator(".notice").filter(has_text="Last self-check").wait_for()
    assert "passed" in page.locator(".notice").inner_text()


def test_the_audit_trail_filters_pages_and_opens_the_record_around_an_event(
        person: Any, pages_server: Any) -> None:
    page = sign_in(person, pages_server, "auditor")
    page.locator("nav.nav a", has_text="Audit trail").click()
    first_page = page.locator("#audit tbody tr td.num").all_inner_texts()
    page.get_by_role("link", name="Next page").click()
    second_page = page.locator("#audit tbody tr td.num").all_inner_texts()
    assert int(second_page[0]) < int(first_page[-1])  # newest first, no overlap
    page.goto(pages_server.base_url + "/view/audit")
    page.get_by_label("Event type").fill("Action.CompletionAssured")
    page.get_by_role("button", name="Show", exact=True).last.click()
    rows = page.locator("#audit tbody tr")
    assert rows.count() > 0
    assert all("Action.CompletionAssured" in t for t in rows.locator("th").all_inner_texts())
    rows.first.get_by_role("link", name=re.compile("just before")).click()
    assert "Time machine" in page.locator(".banner").inner_text()
    assert "Assured" not in page.get_by_test_id("action-status").inner_text()
    page.go_back()
    rows.first.get_by_role("link", name=re.compile("just after")).click()
    assert "Assured" in page.get_by_test_id("action-status").inner_text()


def test_the_actions_filters_sort_and_count_as_the_api_does(person: Any,
                                                            pages_server: Any) -> None:
    page = sign_in(person, pages_server)
    agency = max(api(pages_server, "/board/agencies")["items"], key=lambda r: r["overdue"])
    page.locator("nav.nav a", has_text="Actions").click()
    page.get_by_label("Agency").select_option(agency["agency_id"])
    page.get_by_label("Overdue").select_option("true")
    page.get_by_label("Sort by").select_option("stale")
    page.get_by_role("button", name="Show", exact=True).last.click()
    shown = page.locator("#actions tbody tr")
    expected = api(pages_server, "/board/actions", agency=agency["agency_id"], overdue="true",
                   limit=1000)["items"]
    assert shown.count() == len(expected) == agency["overdue"]
    days = [int(row.locator("td.num").nth(1).inner_text()) for row in shown.all()]
    assert days == sorted(days, reverse=True)
    assert days == sorted((a["days_since_update"] for a in expected), reverse=True)
