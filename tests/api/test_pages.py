"""The pages over HTTP on each store: sign-in exchanges a token for a session recorded as
the user's events, sign-out ends it on the server, forms without their CSRF token are refused,
an agency lead's pages are scoped to their agency (403 page elsewhere), unknown pages are a
404 page, and a one-time sign-in link works once."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from api.sessions import SESSION_COOKIE
from domain.application import Context
from domain.errors import Forbidden
from tests.principals import AS_OPERATOR
from tests.scenarios import Scenario


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def sign_in(api: Any, who: str) -> Any:
    client = api.client
    client.cookies.clear()
    form = client.get("/sign-in")
    answer = client.post("/sign-in", data={"token": api.tokens[who], "next": "/",
                                           "csrf_token": csrf(form.text)},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and SESSION_COOKIE in cookie
    return client


def user_id_of(api: Any, who: str) -> Any:
    return api.ledger.authenticate(api.tokens[who]).user_id


def test_a_page_without_a_session_goes_to_sign_in(api: Any) -> None:
    answer = api.client.get("/view/actions?overdue=true", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in?next=%2Fview%2Factions")


def test_sign_in_and_out_are_the_users_events_and_sign_out_ends_the_session(api: Any) -> None:
    client = sign_in(api, "board_member")
    assert client.get("/").status_code == 200
    old = client.cookies.get(SESSION_COOKIE)
    page = client.get("/view/actions")
    out = client.post("/sign-out", data={"csrf_token": csrf(page.text)},
                      follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set(SESSION_COOKIE, old)  # the old cookie, kept by someone
    assert client.get("/", follow_redirects=False).status_code == 303
    history = api.ledger.user_history(UUID(user_id_of(api, "board_member")))
    kinds = [type(e.event).__name__ for e in history]
    assert kinds[-2:] == ["SignedIn", "SignedOut"]


def test_forms_without_their_csrf_token_are_refused(api: Any) -> None:
    client = sign_in(api, "auditor")
    assert client.post("/sign-out", data={}).status_code == 403
    assert client.post("/sign-out", data={"csrf_token": "forged"}).status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in
    client.cookies.clear()
    refused = client.post("/sign-in", data={"token": api.tokens["auditor"]})
    assert refused.status_code == 403 and "refused" in refused.text


def test_a_bad_token_is_a_message_not_a_session(api: Any) -> None:
    client = api.client
    form = client.get("/sign-in")
    answer = client.post("/sign-in", data={"token": "sgl_nothing", "csrf_token": csrf(form.text)})
    assert answer.status_code == 401 and "not accepted" in answer.text
    assert SESSION_COOKIE not in answer.cookies


def test_an_agency_lead_sees_their_agency_and_a_403_page_for_another(api: Any) -> None:
    client = sign_in(api, "lead_a")
    assert client.get(f"/view/agencies/{api.agency_a}").status_code == 200
    other = client.get(f"/view/agencies/{api.agency_b}")
    assert other.status_code == 403
    assert other.headers["content-type"].startswith("text/html")
    assert "Not yours to see" in other.text
    assert client.get(f"/view/actions?agency={api.agency_b}").status_code == 403
    overview = client.get("/")
    assert "Stoke-on-Trent City Council" not in overview.text


def test_unknown_pages_and_records_are_a_404_page(api: Any) -> None:
    client = sign_in(api, "board_member")
    answer = client.get("/view/agencies/" + "0" * 32)
    assert answer.status_code == 404 and "Not found" in answer.text
    nowhere = client.get("/nowhere", headers={"Accept": "text/html"})
    assert nowhere.status_code == 404 and "<h1>Not found</h1>" in nowhere.text
    assert client.get("/nowhere").headers["content-type"] == "application/problem+json"


def test_a_one_time_link_from_the_scb_manager_works_once(api: Any) -> None:
    client = sign_in(api, "scb_manager")
    people = client.get("/view/users")
    user = user_id_of(api, "auditor")
    issued = client.post(f"/view/users/{user}/sign-in-link",
                         data={"csrf_token": csrf(people.text)})
    link = re.search(r'id="sign-in-link">([^<]+)<', issued.text).group(1)
    path = link.split("://", 1)[1].split("/", 1)[1]
    client.cookies.clear()
    for expected in (303, 401):
        confirm = client.get("/" + path)
        used = client.post("/" + path, data={"csrf_token": csrf(confirm.text)},
                           follow_redirects=False)
        assert used.status_code == expected
        client.cookies.clear()


def test_only_scb_managers_issue_sign_in_links(api: Any) -> None:
    client = sign_in(api, "board_member")
    assert client.get("/view/users").status_code == 403
    board = Context(api.ledger.authenticate(api.tokens["board_member"]))
    with pytest.raises(Forbidden):
        api.ledger.issue_sign_in_link(board, UUID(user_id_of(api, "auditor")),
                                      lifetime=timedelta(hours=1))


def test_the_board_pack_for_one_partnership_holds_only_its_agencies(api: Any) -> None:
    client = sign_in(api, "board_member")
    whole = client.get("/board/pack")
    assert whole.status_code == 200
    assert "Staffordshire Police" in whole.text and "Stoke-on-Trent City Council" in whole.text
    one = client.get("/board/pack", params={"partnership": "Staffordshire"})
    assert "Staffordshire Police" in one.text
    assert "Stoke-on-Trent City Council" not in one.text.split("</select>", 1)[1]
    assert "Staffordshire partnership" in one.text


def test_a_view_that_cannot_answer_is_a_503_page(api: Any, monkeypatch: Any) -> None:
    from api.errors import ServiceUnavailable

    client = sign_in(api, "board_member")
    board = client.app.state.services.read_models.board

    def stopped(**_: Any) -> Any:
        raise ServiceUnavailable("view actions stopped at position 7: a test")

    monkeypatch.setattr(board, "agencies", stopped)
    answer = client.get("/")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert "Not available just now" in answer.text and "view actions stopped" in answer.text
    assert client.get("/board/agencies", headers=api.headers("board_member")).headers[
        "content-type"] == "application/problem+json"  # the API keeps problem details


def test_list_filters_refuse_what_they_do_not_know_with_a_page(api: Any) -> None:
    client = sign_in(api, "board_member")
    assert client.get("/view/challenges?status=all").status_code == 200
    assert client.get("/view/challenges?status=&stage=").status_code == 200  # empty = any
    for bad in ("/view/challenges?status=closed", "/view/actions?rag=purple",
                "/view/actions?status=done", "/view/actions?sort=random",
                "/view/actions?agency=not-an-id", "/?as_of=yesterday"):
        answer = client.get(bad)
        assert answer.status_code == 422, bad
        assert answer.headers["content-type"].startswith("text/html"), bad


def test_the_overview_for_one_partnership_holds_only_its_agencies(api: Any) -> None:
    client = sign_in(api, "board_member")
    one = client.get("/", params={"partnership": "Stoke-on-Trent"})
    rows = re.findall(r'<tr data-agency="([0-9a-f-]+)"', one.text)
    assert rows == [str(api.agency_b)]
    assert 'name="partnership" value="Stoke-on-Trent"' not in one.text  # a select instead
    assert "partnership=Stoke-on-Trent" in one.text  # links keep it
    assert len(re.findall(r'<tr data-agency=', client.get("/").text)) == 2


def test_a_board_member_of_one_partnership_reads_only_its_pages(api: Any) -> None:
    user = api.ledger.register_user(AS_OPERATOR, name="Board Stoke", role="board_member",
                                    partnerships=["Stoke-on-Trent"]).id
    api.tokens["board_stoke"] = api.ledger.issue_token(AS_OPERATOR, user).token
    stoke = Scenario(api.ledger).review([api.agency_a, api.agency_b], reference="STOKE-09",
                                        partnership="Stoke-on-Trent")
    staffs = Scenario(api.ledger).review([api.agency_a], reference="STAFFS-09",
                                         partnership="Staffordshire")
    client = sign_in(api, "board_stoke")
    overview = client.get("/")
    assert re.findall(r'<tr data-agency="([0-9a-f-]+)"', overview.text) == [str(api.agency_b)]
    assert "STOKE-09" in overview.text and "STAFFS-09" not in overview.text
    assert "You read the records of Stoke-on-Trent" in overview.text
    assert client.get(f"/view/reviews/{stoke.review_id}").status_code == 200
    assert client.get(f"/view/reviews/{staffs.review_id}").status_code == 403
    assert client.get(f"/view/agencies/{api.agency_a}").status_code == 403
    assert client.get("/", params={"partnership": "Staffordshire"}).status_code == 403
    pack = client.get("/board/pack")
    assert "STOKE-09" in pack.text and "STAFFS-09" not in pack.text


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00-01:00",
                                    "0001-01-01"])
def test_a_page_as_of_the_ends_of_the_calendar_is_a_422_page(api: Any, moment: str) -> None:
    client = sign_in(api, "board_member")
    answer = client.get("/", params={"as_of": moment})
    assert answer.status_code == 422, answer.status_code
    assert "out of range" in answer.text


def test_the_audit_page_bounds_its_cursor_and_moments(api: Any) -> None:
    client = sign_in(api, "auditor")
    assert client.get("/view/audit", params={"cursor": str(2**64)}).status_code == 422
    assert client.get("/view/audit", params={"since": "0001-01-01T00:00:00"}).status_code == 422
    assert client.get("/view/audit", params={"until": "9999-12-31T23:59:59"}).status_code == 422


def test_the_export_page_fails_before_its_status_line(api: Any, monkeypatch: Any) -> None:
    import psycopg

    def lines():
        raise psycopg.OperationalError("consuming input failed")
        yield b""  # pragma: no cover - a generator

    monkeypatch.setattr(api.client.app.state.services.integrity, "export_lines", lines)
    client = sign_in(api, "auditor")
    answer = client.get("/view/integrity/export")
    assert answer.status_code == 503 and answer.headers["Retry-After"]
