"""The Board dashboard in a real browser against the real API on the demo ledger: a Board
member sees the agencies behind and the missed deadlines; a bad token sees why, not a blank
page; signing out forgets the token."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

from api.demo import AGENCIES, MERGERS

# One worker runs them all (make test uses --dist loadgroup): one demo server, not one each.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# The demo renames the CCG in 2022; the dashboard shows agencies by their current names.
ICB = "Staffordshire and Stoke-on-Trent Integrated Care Board"
# The CCG shows under its new name (ICB); an agency merged in the demo shows as merged.
DEMO_AGENCIES = {f"{name} (merged)" if key in MERGERS else name
                 for key, name, *_ in AGENCIES if key != "ccg"} | {ICB}


def sign_in(page: Any, token: str) -> None:
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Show the Board's views").click()


def column(page: Any, table: str, index: int) -> list[str]:
    """The text of one column of a table's body (0 is the row header)."""
    cells = page.locator(f"#{table} tbody tr > :nth-child({index + 1})")
    return [text.strip() for text in cells.all_inner_texts()]


def signed_in(page: Any, token: str) -> list[str]:
    """Sign in and wait for the views; returns the page's console errors."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, token)
    page.locator("#position").filter(has_text="log position").wait_for()
    return errors


def test_agencies_table_shows_the_demo_agencies_most_overdue_first(page: Any,
                                                                   demo_server: Any) -> None:
    errors = signed_in(page, demo_server.token)
    names = column(page, "agencies", 0)
    overdue = [int(n) for n in column(page, "agencies", 2)]
    assert set(names) == DEMO_AGENCIES
    assert overdue[0] > 0
    assert overdue == sorted(overdue, reverse=True)
    assert errors == []
    if shot := os.environ.get("DASHBOARD_SCREENSHOT"):  # for a person to look at
        page.screenshot(path=shot, full_page=True)


def test_reviews_table_marks_a_missed_deadline(page: Any, demo_server: Any) -> None:
    signed_in(page, demo_server.token)
    missed = page.locator("#reviews li.missed")
    assert missed.count() > 0
    assert "missed by" in missed.first.inner_text()
    assert "working day" in missed.first.inner_text()


def test_open_challenges_and_recurrent_themes_are_listed(page: Any, demo_server: Any) -> None:
    signed_in(page, demo_server.token)
    assert page.locator("#challenges tbody tr").count() > 0
    assert all(stage.startswith("Stage ") for stage in column(page, "challenges", 3))
    assert page.locator("#themes tbody tr").count() > 0


def test_bad_token_shows_the_error_message(page: Any, demo_server: Any) -> None:
    sign_in(page, "not-a-real-token")
    message = page.locator("#message")
    message.filter(has_text="not accepted").wait_for()
    assert message.is_visible()
    assert page.locator("#views").is_hidden()
    assert page.evaluate("Object.keys(sessionStorage).length") == 0


def test_sign_out_forgets_the_token(page: Any, demo_server: Any) -> None:
    signed_in(page, demo_server.token)
    assert page.evaluate("Object.keys(sessionStorage).length") == 1
    page.get_by_role("button", name="Sign out").click()
    assert page.evaluate("Object.keys(sessionStorage).length") == 0
    assert page.locator("#views").is_hidden()
    assert page.get_by_label("Access token").is_visible()


def test_choosing_a_partnership_filters_the_views(page: Any, demo_server: Any) -> None:
    signed_in(page, demo_server.token)
    everyone = page.locator("#reviews tbody tr").count()
    page.locator("#partnership option[value='Stoke-on-Trent']").wait_for(state="attached")
    page.select_option("#partnership", "Stoke-on-Trent")
    for _ in range(100):  # the page's CSP allows no evaluated script: poll from here
        if 0 < page.locator("#reviews tbody tr").count() < everyone:
            break
        page.wait_for_timeout(50)
    page.locator("#position").filter(has_text="log position").wait_for()
    assert 0 < page.locator("#reviews tbody tr").count() < everyone
    agencies = column(page, "agencies", 0)
    assert "Stoke-on-Trent City Council" in agencies
    assert "Staffordshire County Council" not in agencies
    # The shared police force's counts are of Stoke-on-Trent's actions only (fewer than of
    # both partnerships'), as the API gives them by partnership; the recurrent themes are
    # those of Stoke-on-Trent's reviews.
    police = "Staffordshire Police"
    [ours] = [a for a in api(demo_server, "/board/agencies", partnership="Stoke-on-Trent")
              if a["agency_name"] == police]
    [both] = [a for a in api(demo_server, "/board/agencies") if a["agency_name"] == police]
    assert 0 < ours["open"] < both["open"]
    row = column(page, "agencies", 0).index(police)
    assert [column(page, "agencies", i)[row] for i in range(1, 7)] == [
        str(ours[k]) for k in ("open", "overdue", "stalled", "escalated", "held_to_account",
                               "challenges_open")]
    themes = api(demo_server, "/board/themes", partnership="Stoke-on-Trent", recurrent="true")
    assert [int(n) for n in column(page, "themes", 1)] == [t["review_count"] for t in themes]


def api(server: Any, path: str, **params: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.base_url}{path}", params=params, timeout=10,
                         headers={"Authorization": f"Bearer {server.token}"})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
