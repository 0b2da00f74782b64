"""Users, their role, and their API tokens. Tokens are random and stored only as a SHA-256
hash, in a TokenIndex aggregate keyed by that hash so that authentication is two reads."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.actors import USER_ROLES, Actor, Role
from domain.base import LedgerAggregate, require_text
from domain.errors import AlreadyExists, InvalidInput, WrongStage

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TOKEN_NS = uuid5(NAMESPACE_URL, "urn:safeguarding-ledger:token")
TOKEN_PREFIX = "sgl_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_index_id(token_hash: str) -> UUID:
    return uuid5(_TOKEN_NS, token_hash)


@dataclass(frozen=True)
class SignInLink:
    """A one-time sign-in link an SCB manager issued; only the hash of its secret is kept."""

    link_hash: str
    expires_at: datetime
    used: bool = False


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    issued_on: date
    revoked: bool = False


class User(LedgerAggregate):
    @event("Registered")
    def __init__(
        self, *, actor: Actor, occurred_on: date, name: str, role: str,
        agency_id: UUID | None,
    ) -> None:
        self.name = name
        self.role = Role(role)
        self.agency_id = agency_id
        self.active = True
        self.tokens: dict[str, TokenInfo] = {}
        # Sessions of the pages (hash of the session's secret -> its absolute expiry) and
        # one-time sign-in links (link id -> SignInLink).
        self.sessions: dict[str, datetime] = {}
        self.sign_in_links: dict[str, SignInLink] = {}
        self.partnerships: list[str] = []  # a Board member sees these partnerships' records
        self.email: str | None = None  # where reminders go (none until set)
        self.digests: list[str] = []  # the periods whose reminder digest was sent

    @classmethod
    def register(
        cls, *, actor: Actor, occurred_on: date, name: str, role: str, agency_id: UUID | None,
    ) -> User:
        if role not in {r.value for r in USER_ROLES}:
            allowed = ", ".join(r.value for r in USER_ROLES)
            raise InvalidInput(f"role must be one of {allowed}", field="role")
        if role == Role.AGENCY_LEAD and agency_id is None:
            raise InvalidInput("an agency lead must belong to an agency", field="agency_id")
        if role != Role.AGENCY_LEAD and agency_id is not None:
            raise InvalidInput("only agency leads belong to an agency", field="agency_id")
        return cls(actor=actor, occurred_on=occurred_on,
                   name=require_text(name, "name", max_length=200), role=role,
                   agency_id=agency_id)

    def as_actor(self) -> Actor:
        return Actor(user_id=str(self.id), role=self.role, agency_id=self.agency_id,
                     name=self.name, partnerships=tuple(self.partnerships))

    def set_partnerships(self, *, actor: Actor, occurred_on: date,
                         partnerships: list[str]) -> None:
        """The partnerships the user belongs to (a Board member then sees theirs only)."""
        if isinstance(partnerships, str) or not isinstance(partnerships, list | tuple):
            raise InvalidInput("partnerships must be a list of names", field="partnerships")
        names = [require_text(p, "partnerships", max_length=200) for p in partnerships]
        if names == self.partnerships:
            raise InvalidInput("the user already belongs to exactly these partnerships",
                               field="partnerships")
        self._partnerships_set(actor=actor, occurred_on=occurred_on, partnerships=names)

    @event("PartnershipsSet")
    def _partnerships_set(self, *, actor: Actor, occurred_on: date,
                          partnerships: list[str]) -> None:
        self.partnerships = list(partnerships)

    def set_email(self, *, actor: Actor, occurred_on: date, email: str | None) -> None:
        """The address reminders go to (None: no reminders)."""
        value = (email or "").strip() or None
        if value is not None and (len(value) > 320 or not _EMAIL.fullmatch(value)):
            raise InvalidInput(f"'{value}' is not an email address", field="email")
        if value == self.email:
            raise InvalidInput("the user already has this address", field="email")
        self._email_set(actor=actor, occurred_on=occurred_on, email=value)

    @event("EmailAddressSet")
    def _email_set(self, *, actor: Actor, occurred_on: date, email: str | None) -> None:
        self.email = email

    def record_digest(self, *, actor: Actor, occurred_on: date, period: str,
                      items: int) -> None:
        """A reminder digest was sent for `period` (one per person per period)."""
        if period in self.digests:
            raise AlreadyExists(f"the reminder digest for {period} was already sent to "
                                f"{self.name}", field="period")
        self._digest_sent(actor=actor, occurred_on=occurred_on, period=period, items=items)

    @event("DigestSent")
    def _digest_sent(self, *, actor: Actor, occurred_on: date, period: str,
                     items: int) -> None:
        self.digests = [*self.digests, period]

    def issue_token(self, *, actor: Actor, occurred_on: date) -> tuple[str, TokenIndex]:
        """Issue a token; returns the token (shown once) and its index record to save."""
        if not self.active:
            raise WrongStage(f"user {self.name} is deactivated; no token can be issued")
        token = new_token()
        token_id = secrets.token_hex(6)
        self._token_issued(actor=actor, occurred_on=occurred_on, token_id=token_id)
        index = TokenIndex(actor=actor, occurred_on=occurred_on, token_hash=hash_token(token),
                           user_id=self.id, token_id=token_id)
        return token, index

    @event("TokenIssued")
    def _token_issued(self, *, actor: Actor, occurred_on: date, token_id: str) -> None:
        self.tokens = {**self.tokens, token_id: TokenInfo(token_id, occurred_on)}

    def revoke_token(self, *, actor: Actor, occurred_on: date, token_id: str,
                     reason: str) -> None:
        info = self.tokens.get(token_id)
        if info is None:
            raise InvalidInput(f"user has no token {token_id}", field="token_id")
        if info.revoked:
            raise WrongStage(f"token {token_id} is already revoked")
        self._token_revoked(actor=actor, occurred_on=occurred_on, token_id=token_id,
                            reason=require_text(reason, "reason"))

    @event("TokenRevoked")
    def _token_revoked(self, *, actor: Actor, occurred_on: date, token_id: str,
                       reason: str) -> None:
        old = self.tokens[token_id]
        self.tokens = {**self.tokens,
                       token_id: TokenInfo(old.token_id, old.issued_on, revoked=True)}

    def deactivate(self, *, actor: Actor, occurred_on: date, reason: str) -> None:
        if not self.active:
            raise WrongStage(f"user {self.name} is already deactivated")
        self._deactivated(actor=actor, occurred_on=occurred_on,
                          reason=require_text(reason, "reason"))

    @event("Deactivated")
    def _deactivated(self, *, actor: Actor, occurred_on: date, reason: str) -> None:
        self.active = False

    def accepts(self, token_id: str) -> bool:
        info = self.tokens.get(token_id)
        return self.active and info is not None and not info.revoked

    # ---- sessions of the pages (a person signs in; the API keeps bearer tokens) ----------
    def issue_sign_in_link(self, *, actor: Actor, occurred_on: date,
                           expires_at: datetime) -> tuple[str, str]:
        """A one-time sign-in link's secret (shown once) and its id."""
        if not self.active:
            raise WrongStage(f"user {self.name} is deactivated; no sign-in link can be issued")
        secret = secrets.token_urlsafe(32)
        link_id = secrets.token_hex(6)
        self._sign_in_link_issued(actor=actor, occurred_on=occurred_on, link_id=link_id,
                                  link_hash=hash_token(secret), expires_at=expires_at)
        return secret, link_id

    @event("SignInLinkIssued")
    def _sign_in_link_issued(self, *, actor: Actor, occurred_on: date, link_id: str,
                             link_hash: str, expires_at: datetime) -> None:
        self.sign_in_links = {**self.sign_in_links,
                              link_id: SignInLink(link_hash, expires_at)}

    def usable_link(self, secret: str, now: datetime) -> str | None:
        """The id of the unused, unexpired link this secret opens, if any."""
        if not self.active:
            return None
        digest = hash_token(secret)
        for link_id, link in self.sign_in_links.items():
            if secrets.compare_digest(link.link_hash, digest):
                return link_id if not link.used and now < link.expires_at else None
        return None

    def sign_in(self, *, occurred_on: date, via: str, credential_id: str,
                expires_at: datetime) -> str:
        """Open a session (recorded as the user's own event); returns its secret."""
        if not self.active:
            raise WrongStage(f"user {self.name} is deactivated and may not sign in")
        if via == "link":
            link = self.sign_in_links.get(credential_id)
            if link is None or link.used:
                raise WrongStage("this sign-in link was already used or does not exist")
        elif via != "token" or not self.accepts(credential_id):
            raise WrongStage("this token may not sign in")
        secret = secrets.token_urlsafe(32)
        self._signed_in(actor=self.as_actor(), occurred_on=occurred_on,
                        session_hash=hash_token(secret), via=via,
                        credential_id=credential_id, expires_at=expires_at)
        return secret

    @event("SignedIn")
    def _signed_in(self, *, actor: Actor, occurred_on: date, session_hash: str, via: str,
                   credential_id: str, expires_at: datetime) -> None:
        self.sessions = {**self.sessions, session_hash: expires_at}
        if via == "link":
            old = self.sign_in_links[credential_id]
            self.sign_in_links = {**self.sign_in_links, credential_id: SignInLink(
                old.link_hash, old.expires_at, used=True)}

    def sign_out(self, *, occurred_on: date, secret: str, reason: str) -> None:
        session_hash = hash_token(secret)
        if session_hash not in self.sessions:
            raise WrongStage("this session has already ended")
        self._signed_out(actor=self.as_actor(), occurred_on=occurred_on,
                         session_hash=session_hash, reason=require_text(reason, "reason"))

    @event("SignedOut")
    def _signed_out(self, *, actor: Actor, occurred_on: date, session_hash: str,
                    reason: str) -> None:
        self.sessions = {k: v for k, v in self.sessions.items() if k != session_hash}

    def accepts_session(self, secret: str, now: datetime) -> bool:
        expires_at = self.sessions.get(hash_token(secret))
        return self.active and expires_at is not None and now < expires_at


class TokenIndex(LedgerAggregate):
    """Maps a token's hash to its user. The token itself is never stored. It has no event but
    the first: authentication keeps it as first read (domain/use_cases/users.CurrentUsers)."""

    @staticmethod
    def create_id(*, token_hash: str, **_: Any) -> UUID:
        return token_index_id(token_hash)

    @event("Indexed")
    def __init__(self, *, actor: Actor, occurred_on: date, token_hash: str, user_id: UUID,
                 token_id: str) -> None:
        self.user_id = user_id
        self.token_id = token_id
