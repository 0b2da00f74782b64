"""Authentication from each process's cache of users (domain/use_cases/users.CurrentUsers)
sees at once what another process sharing the store recorded: two Ledgers on one store stand
for two API workers. (In memory each Ledger has its own store: nothing is shared.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from domain.actors import Role
from domain.ledger import Ledger
from tests.conftest import store_env
from tests.principals import AS_OPERATOR

SHARED = [pytest.param("sqlite", id="sqlite"),
          pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=SHARED)
def processes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Ledger, Ledger]]:
    """Two Ledgers on one store: `writer` records, `reader` authenticates."""
    env = store_env(request.param, tmp_path, request)
    writer, reader = Ledger(env=env), Ledger(env=env)
    try:
        yield writer, reader
    finally:
        writer.close()
        reader.close()


def _user_with_token(ledger: Ledger, role: str = "board_member") -> tuple[object, str, str]:
    user = ledger.register_user(AS_OPERATOR, name="Reader", role=role)
    issued = ledger.issue_token(AS_OPERATOR, user.id)
    return user.id, issued.token, issued.token_id


def test_a_token_revoked_by_another_process_is_refused_at_once(processes):
    writer, reader = processes
    user_id, token, token_id = _user_with_token(writer)
    assert reader.authenticate(token) is not None  # now kept by the reader
    writer.revoke_token(AS_OPERATOR, user_id, token_id=token_id, reason="lost laptop")
    assert reader.authenticate(token) is None


def test_a_user_deactivated_by_another_process_is_refused_at_once(processes):
    writer, reader = processes
    user_id, token, _ = _user_with_token(writer)
    assert reader.authenticate(token) is not None
    writer.deactivate_user(AS_OPERATOR, user_id, reason="left the partnership")
    assert reader.authenticate(token) is None


def test_a_token_issued_by_another_process_is_accepted_at_once(processes):
    writer, reader = processes
    user_id, first, _ = _user_with_token(writer)
    assert reader.authenticate(first) is not None  # the user is kept at its version then
    second = writer.issue_token(AS_OPERATOR, user_id).token
    assert reader.authenticate(second) is not None


def test_partnerships_set_by_another_process_are_the_actors_at_once(processes):
    writer, reader = processes
    user_id, token, _ = _user_with_token(writer)
    assert reader.authenticate(token).partnerships == ()
    writer.set_user_partnerships(AS_OPERATOR, user_id, partnerships=["Staffordshire"])
    actor = reader.authenticate(token)
    assert actor.partnerships == ("Staffordshire",) and actor.role is Role.BOARD_MEMBER


def test_a_session_signed_out_in_another_process_is_refused_at_once(processes):
    writer, reader = processes
    _, token, _ = _user_with_token(writer)
    session = writer.sign_in_with_token(token, lifetime=timedelta(hours=1))
    assert reader.session_actor(session.user_id, session.secret) is not None
    writer.sign_out(session.user_id, session.secret)
    assert reader.session_actor(session.user_id, session.secret) is None
