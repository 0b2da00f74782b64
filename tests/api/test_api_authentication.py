"""Two API workers on one store (two apps, each with its Ledger and so its own cache of users):
what one records about a token or a user, the other applies to the very next request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from domain.ledger import Ledger
from tests.conftest import store_env
from tests.principals import bearer_token

SHARED = [pytest.param("sqlite", id="sqlite"),
          pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@dataclass
class Workers:
    first: TestClient
    second: TestClient
    manager: dict[str, str]  # a manager's Authorization header

    def reads(self, client: TestClient, token: str) -> int:
        """The status of an authenticated read (404: an unknown review; 401: refused)."""
        return client.get(f"/reviews/{uuid4()}",
                          headers={"Authorization": f"Bearer {token}"}).status_code

    def issue(self, client: TestClient, name: str = "Scrutineer") -> tuple[str, dict]:
        user = client.post("/users", json={"name": name, "role": "scrutineer"},
                           headers=self.manager).json()
        return user["id"], client.post(f"/users/{user['id']}/tokens",
                                       headers=self.manager).json()


@pytest.fixture(params=SHARED)
def workers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workers]:
    env = store_env(request.param, tmp_path, request)
    ledgers = [Ledger(env=env), Ledger(env=env)]
    manager = bearer_token(ledgers[0], "scb_manager")
    settings = Settings(store=request.param, data_dir=tmp_path, projections="external")
    try:
        with ExitStack() as stack:
            first, second = (stack.enter_context(TestClient(create_app(settings, ledger=ledger)))
                             for ledger in ledgers)
            yield Workers(first, second, {"Authorization": f"Bearer {manager}"})
    finally:
        for ledger in ledgers:
            ledger.close()


def test_a_token_revoked_through_one_worker_is_refused_by_the_other_at_once(workers):
    user_id, issued = workers.issue(workers.first)
    assert workers.reads(workers.second, issued["token"]) == 404
    revoked = workers.first.post(f"/users/{user_id}/tokens/{issued['token_id']}/revocation",
                                 json={"reason": "lost laptop"}, headers=workers.manager)
    assert revoked.status_code == 200
    assert workers.reads(workers.second, issued["token"]) == 401


def test_a_user_deactivated_through_one_worker_is_refused_by_the_other_at_once(workers):
    user_id, issued = workers.issue(workers.first)
    assert workers.reads(workers.second, issued["token"]) == 404
    deactivated = workers.first.post(f"/users/{user_id}/deactivation",
                                     json={"reason": "left the partnership"},
                                     headers=workers.manager)
    assert deactivated.status_code == 200
    assert workers.reads(workers.second, issued["token"]) == 401


def test_a_token_issued_through_one_worker_is_accepted_by_the_other_at_once(workers):
    _, issued = workers.issue(workers.first)
    assert workers.reads(workers.second, issued["token"]) == 404
