"""The pages' shell: without a session every page leads to the sign-in page (a token form
with its CSRF token, and a pre-session cookie); the token dashboard (/dashboard) is served
without a token with its own script and style; the pages load only this origin's style; none
is in the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.sessions import PRE_SESSION_COOKIE
from api.settings import Settings
from domain.ledger import Ledger


@pytest.fixture
def client() -> Iterator[TestClient]:
    # The sign-in page reads no view, so one in-memory ledger is enough.
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        with TestClient(create_app(Settings(store="memory"), ledger=ledger)) as test_client:
            yield test_client
    finally:
        ledger.close()


def test_root_without_a_session_leads_to_the_sign_in_page(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2F"
    page = client.get("/sign-in")
    assert page.headers["content-type"].startswith("text/html")
    assert '<label for="token">' in page.text
    assert 'id="token" name="token" type="password"' in page.text
    assert 'name="csrf_token" value="' in page.text
    assert PRE_SESSION_COOKIE in page.cookies


def test_the_token_dashboard_is_served_without_a_token(client: TestClient) -> None:
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert '<form id="signin"' in response.text
    assert 'id="token" name="token" type="password"' in response.text
    assert 'src="/static/dashboard.js' in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    script = client.get("/static/dashboard.js")
    assert "javascript" in script.headers["content-type"] and "sessionStorage" in script.text
    assert client.get("/static/dashboard.css").headers["content-type"].startswith("text/css")


def test_pages_load_only_this_origins_style(client: TestClient) -> None:
    response = client.get("/sign-in")
    assert 'href="/static/pages.css"' in response.text
    assert "<script" not in response.text
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "form-action 'self'" in policy
    assert client.get("/static/pages.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/print.css").status_code == 200


def test_pages_are_not_in_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths
    assert not any(path.startswith(("/static", "/view", "/sign-", "/board/pack", "/dashboard"))
                   for path in paths)
