"""Sessions of the pages: the signed cookie a person carries after signing in, and CSRF tokens.

A session lives on the server as events of its user (User.SignedIn / SignedOut, see
domain/user.py): the cookie carries the user id and the session's secret (the ledger keeps
only its hash), plus the time of the last page, signed with HMAC-SHA256 so that the idle
timeout cannot be stretched by editing the cookie. Sign-out records SignedOut, after which the
old cookie is refused even though its signature is still good.

CSRF: the synchroniser-token pattern. Every form that writes carries a token derived (HMAC)
from the session's secret, which only this server and this session know; before sign-in the
sign-in forms use a random pre-session cookie the same way (login CSRF).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

from api.settings import Settings, Store
from domain import clock

SESSION_COOKIE = "ledger_session"
PRE_SESSION_COOKIE = "ledger_signin"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class SessionCookie:
    user_id: UUID
    secret: str
    last_seen: datetime


def _key_from_file(path: Path) -> bytes:
    """A random key in a 0600 file, created once (atomically: racing workers share it)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return bytes.fromhex(path.read_text().strip())


class SessionSigner:
    """Signs and reads the pages' cookies; derives CSRF tokens."""

    def __init__(self, settings: Settings) -> None:
        if settings.session_secret is not None:
            self._key = hashlib.sha256(settings.session_secret.get_secret_value().encode()
                                       ).digest()
        elif settings.store is Store.MEMORY:  # one process, nothing persists: a fresh key
            self._key = secrets.token_bytes(32)
        else:
            self._key = _key_from_file(settings.session_key_file)
        self.lifetime = timedelta(hours=settings.session_hours)
        self.idle = timedelta(minutes=settings.session_idle_minutes)
        self.link_lifetime = timedelta(hours=settings.sign_in_link_hours)
        self.secure = settings.secure_cookies

    def _mac(self, purpose: str, data: bytes) -> str:
        digest = hmac.new(self._key, purpose.encode() + b"\0" + data, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    # ---- the session cookie ---------------------------------------------------------------
    def cookie_value(self, user_id: UUID, secret: str, now: datetime | None = None) -> str:
        body = json.dumps({"u": user_id.hex, "s": secret,
                           "t": int((now or clock.now()).timestamp())}).encode()
        payload = base64.urlsafe_b64encode(body).decode().rstrip("=")
        return f"{payload}.{self._mac('session', payload.encode())}"

    def read_cookie(self, value: str | None) -> SessionCookie | None:
        """The cookie's session if its signature is good and it was used within the idle
        timeout (the ledger still decides whether the session is open)."""
        if not value or value.count(".") != 1:
            return None
        payload, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac("session", payload.encode())):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            cookie = SessionCookie(UUID(data["u"]), str(data["s"]),
                                   datetime.fromtimestamp(int(data["t"]), tz=clock.now().tzinfo))
        except (ValueError, KeyError, TypeError):
            return None
        if clock.now() - cookie.last_seen > self.idle:
            return None
        return cookie

    # ---- CSRF (synchroniser tokens) ----------------------------------------------------------
    def csrf_token(self, secret: str) -> str:
        """The token a session's forms carry."""
        return self._mac("csrf", secret.encode())

    def pre_session_token(self, pre_session: str) -> str:
        """The token the sign-in forms carry, bound to the pre-session cookie."""
        return self._mac("csrf-sign-in", pre_session.encode())

    @staticmethod
    def same(given: str | None, expected: str) -> bool:
        return bool(given) and hmac.compare_digest(str(given), expected)
