"""Users, their role, and their API tokens. Tokens are random and stored only as a SHA-256
hash, in a TokenIndex aggregate keyed by that hash so that authentication is two reads."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.actors import USER_ROLES, Actor, Role
from domain.base import LedgerAggregate, require_text
from domain.errors import InvalidInput, WrongStage

_TOKEN_NS = uuid5(NAMESPACE_URL, "urn:safeguarding-ledger:token")
TOKEN_PREFIX = "sgl_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_index_id(token_hash: str) -> UUID:
    return uuid5(_TOKEN_NS, token_hash)


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
        self.partnerships: list[str] = []  # a Board member sees these partnerships' records

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


class TokenIndex(LedgerAggregate):
    """Maps a token's hash to its user. The token itself is never stored."""

    @staticmethod
    def create_id(*, token_hash: str, **_: Any) -> UUID:
        return token_index_id(token_hash)

    @event("Indexed")
    def __init__(self, *, actor: Actor, occurred_on: date, token_hash: str, user_id: UUID,
                 token_id: str) -> None:
        self.user_id = user_id
        self.token_id = token_id
