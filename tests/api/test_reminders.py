"""Reminders by email, on each store, against a local SMTP server the test starts: each person
with an address and something waiting gets one digest per week, with links to the pages; a
second run sends nothing; a failing server is retried, logged and not recorded; --dry-run
sends and records nothing."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from typing import Any
from uuid import UUID

import pytest
from aiosmtpd.controller import Controller

from api.reminders import send_all
from domain import clock
from tests.principals import AS_OPERATOR
from tests.scenarios import Scenario


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def an_overdue_action(api: Any) -> UUID:
    scenario = Scenario(api.ledger, on=clock.today() - timedelta(days=120))
    return scenario.assign(scenario.review([api.agency_a]), api.agency_a).id


def lead_a(api: Any) -> UUID:
    return UUID(api.ledger.authenticate(api.tokens["lead_a"]).user_id)


def parts(api: Any, **smtp: Any) -> tuple[Any, Any]:
    services = api.client.app.state.services
    settings = services.settings.model_copy(update={"smtp_host": "127.0.0.1", **smtp})
    return services.read_models.board, settings


def test_one_digest_per_week_with_links_to_the_pages(api: Any, smtp: Any) -> None:
    inbox, port = smtp
    action = an_overdue_action(api)
    api.ledger.set_user_email(AS_OPERATOR, lead_a(api), email="lead.a@example.org")
    board, settings = parts(api, smtp_port=port)
    first = send_all(api.ledger, board, settings, AS_OPERATOR)
    assert [(d.email, r) for d, r in first] == [("lead.a@example.org", "sent")]
    assert len(inbox.messages) == 1
    body = inbox.messages[0].get_payload()
    assert "Overdue (1)" in body and f"http://localhost:8000/view/actions/{action}" in body
    assert send_all(api.ledger, board, settings, AS_OPERATOR) == []  # recorded: once a week
    assert len(inbox.messages) == 1
    assert api.ledger.get_user(lead_a(api)).digests == [first[0][0].period]


def test_a_failing_server_is_retried_logged_and_not_recorded(
        api: Any, caplog: pytest.LogCaptureFixture) -> None:
    an_overdue_action(api)
    api.ledger.set_user_email(AS_OPERATOR, lead_a(api), email="lead.a@example.org")
    board, settings = parts(api, smtp_port=free_port(), smtp_attempts=3)
    waits: list[float] = []
    with caplog.at_level(logging.WARNING, logger="ledger.reminders"):
        results = send_all(api.ledger, board, settings, AS_OPERATOR, sleep=waits.append)
    assert results[0][1].startswith("failed: ")
    assert waits == [0.5, 1.0]  # three attempts, backing off
    assert "not sent after 3 attempts" in caplog.text
    assert api.ledger.get_user(lead_a(api)).digests == []


def test_dry_run_sends_and_records_nothing(api: Any, smtp: Any) -> None:
    inbox, port = smtp
    an_overdue_action(api)
    api.ledger.set_user_email(AS_OPERATOR, lead_a(api), email="lead.a@example.org")
    board, settings = parts(api, smtp_port=port)
    results = send_all(api.ledger, board, settings, AS_OPERATOR, dry_run=True)
    assert [r for _, r in results] == ["would send"] and inbox.messages == []
    assert api.ledger.get_user(lead_a(api)).digests == []


def test_an_address_must_look_like_one(api: Any) -> None:
    from domain.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        api.ledger.set_user_email(AS_OPERATOR, lead_a(api), email="not an address")
    assert refused.value.field == "email"


def test_the_api_sets_and_shows_a_users_address(api: Any) -> None:
    user = lead_a(api)
    set_ = api.post("scb_manager", f"/users/{user}/email", {"email": "lead.a@example.org"})
    assert set_.status_code == 200 and set_.json()["email"] == "lead.a@example.org"
    assert api.post("lead_a", f"/users/{user}/email", {"email": "x@example.org"}
                    ).status_code == 403
