"""Sessions of the pages: the User aggregate opens and ends them (SignedIn / SignedOut, the
one-time link's SignInLinkIssued), and the signed cookie carries them with an idle timeout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from api.sessions import SessionSigner
from api.settings import Settings
from domain import clock
from domain.errors import WrongStage
from domain.user import User
from tests.principals import MANAGER, OPERATOR

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def user_with_token() -> tuple[User, str]:
    user = User.register(actor=OPERATOR, occurred_on=NOW.date(), name="Board Member",
                         role="board_member", agency_id=None)
    _, index = user.issue_token(actor=OPERATOR, occurred_on=NOW.date())
    return user, index.token_id


def test_a_session_is_open_until_it_expires_or_is_signed_out() -> None:
    user, token_id = user_with_token()
    secret = user.sign_in(occurred_on=NOW.date(), via="token", credential_id=token_id,
                          expires_at=NOW + timedelta(hours=8))
    assert user.accepts_session(secret, NOW + timedelta(hours=7))
    assert not user.accepts_session(secret, NOW + timedelta(hours=8))
    assert not user.accepts_session("another secret", NOW)
    user.sign_out(occurred_on=NOW.date(), secret=secret, reason="signed out")
    assert not user.accepts_session(secret, NOW)
    events = [type(e).__name__ for e in user.collect_events()]
    assert events[-2:] == ["SignedIn", "SignedOut"]
    with pytest.raises(WrongStage):
        user.sign_out(occurred_on=NOW.date(), secret=secret, reason="again")


def test_the_session_secret_is_not_recorded_only_its_hash() -> None:
    user, token_id = user_with_token()
    secret = user.sign_in(occurred_on=NOW.date(), via="token", credential_id=token_id,
                          expires_at=NOW + timedelta(hours=8))
    signed_in = user.collect_events()[-1]
    assert secret not in repr(signed_in.__dict__)
    assert signed_in.actor.user_id == str(user.id)  # the user's own event


def test_a_one_time_link_signs_in_once_and_not_after_it_expires() -> None:
    user, _ = user_with_token()
    secret, link_id = user.issue_sign_in_link(actor=MANAGER, occurred_on=NOW.date(),
                                              expires_at=NOW + timedelta(hours=72))
    assert user.usable_link("a guess", NOW) is None
    assert user.usable_link(secret, NOW + timedelta(hours=73)) is None
    assert user.usable_link(secret, NOW) == link_id
    user.sign_in(occurred_on=NOW.date(), via="link", credential_id=link_id,
                 expires_at=NOW + timedelta(hours=8))
    assert user.usable_link(secret, NOW) is None
    with pytest.raises(WrongStage):
        user.sign_in(occurred_on=NOW.date(), via="link", credential_id=link_id,
                     expires_at=NOW + timedelta(hours=8))


def test_a_deactivated_user_can_neither_sign_in_nor_keep_a_session() -> None:
    user, token_id = user_with_token()
    secret = user.sign_in(occurred_on=NOW.date(), via="token", credential_id=token_id,
                          expires_at=NOW + timedelta(hours=8))
    user.deactivate(actor=OPERATOR, occurred_on=NOW.date(), reason="left the partnership")
    assert not user.accepts_session(secret, NOW)
    with pytest.raises(WrongStage):
        user.sign_in(occurred_on=NOW.date(), via="token", credential_id=token_id,
                     expires_at=NOW + timedelta(hours=8))


def signer(**settings: object) -> SessionSigner:
    return SessionSigner(Settings(store="memory", **settings))  # type: ignore[arg-type]


def test_the_cookie_is_signed_and_idles_out() -> None:
    sessions = signer(session_idle_minutes=30)
    user_id = uuid4()
    with clock.frozen_at(NOW):
        value = sessions.cookie_value(user_id, "s3cret")
        read = sessions.read_cookie(value)
    assert read is not None and read.user_id == user_id and read.secret == "s3cret"
    with clock.frozen_at(NOW + timedelta(minutes=31)):
        assert sessions.read_cookie(value) is None  # idle too long
    payload, mac = value.split(".")
    with clock.frozen_at(NOW):
        assert sessions.read_cookie(payload[:-2] + "AA." + mac) is None  # edited
        assert signer().read_cookie(value) is None  # another server's key
        assert sessions.read_cookie("not a cookie") is None


def test_csrf_tokens_belong_to_one_session() -> None:
    sessions = signer()
    token = sessions.csrf_token("session one")
    assert SessionSigner.same(token, sessions.csrf_token("session one"))
    assert not SessionSigner.same(token, sessions.csrf_token("session two"))
    assert not SessionSigner.same(None, token)
    assert not SessionSigner.same(token, sessions.pre_session_token("session one"))


def test_cookies_are_secure_outside_development() -> None:
    assert not signer().secure
    assert signer(environment="production").secure
