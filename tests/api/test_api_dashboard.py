"""The dashboard shell: served without a token, with its token form, its own static files,
and kept out of the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from domain.ledger import Ledger


@pytest.fixture
def client() -> Iterator[TestClient]:
    # The page touches no store, so one in-memory ledger is enough.
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        with TestClient(create_app(Settings(store="memory"), ledger=ledger)) as test_client:
            yield test_client
    finally:
        ledger.close()


def test_root_serves_the_page_with_a_token_form_without_a_token(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<form id="signin"' in response.text
    assert '<label for="token">' in response.text
    assert 'id="token" name="token" type="password"' in response.text


def test_page_loads_only_its_own_script_and_style(client: TestClient) -> None:
    response = client.get("/")
    assert 'src="/static/dashboard.js' in response.text
    assert 'href="/static/dashboard.css' in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_static_script_is_served(client: TestClient) -> None:
    response = client.get("/static/dashboard.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "sessionStorage" in response.text


def test_static_stylesheet_is_served(client: TestClient) -> None:
    response = client.get("/static/dashboard.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


def test_page_is_not_in_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths
    assert not any(path.startswith("/static") for path in paths)
