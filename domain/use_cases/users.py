"""Use cases for users and tokens, and authentication by token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain import clock
from domain.actors import Actor, Permission
from domain.agency import Agency
from domain.application import Context, HistoryEntry, Outcome
from domain.use_cases.partnerships import PartnershipChecks
from domain.user import TokenIndex, User, hash_token, token_index_id


@dataclass(frozen=True)
class IssuedLink:
    outcome: Outcome
    user_id: UUID
    secret: str  # shown once (in the link), never stored
    link_id: str
    expires_at: datetime


@dataclass(frozen=True)
class Session:
    """A person's session of the pages: the user and the secret their cookie carries."""

    user_id: UUID
    secret: str
    expires_at: datetime
    outcome: Outcome


@dataclass(frozen=True)
class IssuedToken:
    outcome: Outcome
    token: str  # shown once, never stored
    token_id: str


class UserUseCases(PartnershipChecks):
    def register_user(self, ctx: Context, *, name: str, role: str,
                      agency_id: UUID | None = None,
                      partnerships: list[str] | None = None) -> Outcome:
        ctx.actor.require(Permission.MANAGE_USERS, "register users")
        if agency_id is not None:
            self._load(Agency, agency_id, "agency").check_active("take on users")
        user = User.register(actor=ctx.actor, occurred_on=clock.today(), name=name, role=role,
                             agency_id=agency_id)
        if partnerships:
            user.set_partnerships(actor=ctx.actor, occurred_on=clock.today(),
                                  partnerships=partnerships)
            self.check_partnerships(user.partnerships, "partnerships")
        return self._save(ctx, user)

    def set_user_partnerships(self, ctx: Context, user_id: UUID, *,
                              partnerships: list[str]) -> Outcome:
        """The partnerships a user belongs to; a Board member then reads only theirs."""
        ctx.actor.require(Permission.MANAGE_USERS, "set users' partnerships")
        user = self._load_for_change(User, user_id, "user", ctx)
        user.set_partnerships(actor=ctx.actor, occurred_on=clock.today(),
                              partnerships=partnerships)
        self.check_partnerships(user.partnerships, "partnerships")
        return self._save(ctx, user)

    def issue_token(self, ctx: Context, user_id: UUID) -> IssuedToken:
        ctx.actor.require(Permission.MANAGE_USERS, "issue tokens")
        user = self._load_for_change(User, user_id, "user", ctx)
        token, index = user.issue_token(actor=ctx.actor, occurred_on=clock.today())
        outcome = self._save(ctx, user, index)
        return IssuedToken(outcome=outcome, token=token, token_id=index.token_id)

    def revoke_token(self, ctx: Context, user_id: UUID, *, token_id: str,
                     reason: str) -> Outcome:
        ctx.actor.require(Permission.MANAGE_USERS, "revoke tokens")
        user = self._load_for_change(User, user_id, "user", ctx)
        user.revoke_token(actor=ctx.actor, occurred_on=clock.today(), token_id=token_id,
                          reason=reason)
        return self._save(ctx, user)

    def deactivate_user(self, ctx: Context, user_id: UUID, *, reason: str) -> Outcome:
        ctx.actor.require(Permission.MANAGE_USERS, "deactivate users")
        user = self._load_for_change(User, user_id, "user", ctx)
        user.deactivate(actor=ctx.actor, occurred_on=clock.today(), reason=reason)
        return self._save(ctx, user)

    def get_user(self, user_id: UUID, *, version: int | None = None,
                 as_of: datetime | None = None) -> User:
        return self._load_at(User, user_id, "user", version=version, as_of=as_of)

    def user_history(self, user_id: UUID) -> list[HistoryEntry]:
        return self._history(User, user_id, "user")

    def authenticate(self, token: str) -> Actor | None:
        """The actor a bearer token stands for, or None if unknown, revoked or deactivated."""
        try:
            index: TokenIndex = self.repository.get(token_index_id(hash_token(token)))
            user: User = self.repository.get(index.user_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(index, TokenIndex) or not user.accepts(index.token_id):
            return None
        return user.as_actor()

    # ---- sessions of the pages ----------------------------------------------------------
    def sign_in_with_token(self, token: str, *, lifetime: timedelta) -> Session | None:
        """Exchange a bearer token for a session (the user's own SignedIn event); None if the
        token is unknown, revoked or its user deactivated."""
        try:
            index: TokenIndex = self.repository.get(token_index_id(hash_token(token)))
        except AggregateNotFoundError:
            return None
        if not isinstance(index, TokenIndex):
            return None
        return self._open_session(index.user_id, "token", index.token_id, lifetime)

    def issue_sign_in_link(self, ctx: Context, user_id: UUID, *,
                           lifetime: timedelta) -> IssuedLink:
        """A one-time sign-in link for a named user (SCB managers, and the operator)."""
        ctx.actor.require(Permission.MANAGE_USERS, "issue sign-in links")
        user = self._load_for_change(User, user_id, "user", ctx)
        expires_at = clock.now() + lifetime
        secret, link_id = user.issue_sign_in_link(actor=ctx.actor, occurred_on=clock.today(),
                                                  expires_at=expires_at)
        return IssuedLink(self._save(ctx, user), user.id, secret, link_id, expires_at)

    def sign_in_with_link(self, user_id: UUID, secret: str, *,
                          lifetime: timedelta) -> Session | None:
        """Use a one-time link (once); None if it is unknown, used, expired or its user
        deactivated."""
        try:
            user: User = self.repository.get(user_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(user, User):
            return None
        link_id = user.usable_link(secret, clock.now())
        if link_id is None:
            return None
        return self._open_session(user_id, "link", link_id, lifetime)

    def _open_session(self, user_id: UUID, via: str, credential_id: str,
                      lifetime: timedelta) -> Session | None:
        try:
            user: User = self.repository.get(user_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(user, User) or not user.active:
            return None
        if via == "token" and not user.accepts(credential_id):
            return None
        expires_at = clock.now() + lifetime
        secret = user.sign_in(occurred_on=clock.today(), via=via,
                              credential_id=credential_id, expires_at=expires_at)
        outcome = self._save(Context(actor=user.as_actor()), user)
        return Session(user.id, secret, expires_at, outcome)

    def session_actor(self, user_id: UUID, secret: str) -> Actor | None:
        """The actor a page session stands for, or None if it ended, expired or its user
        was deactivated."""
        try:
            user: User = self.repository.get(user_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(user, User) or not user.accepts_session(secret, clock.now()):
            return None
        return user.as_actor()

    def sign_out(self, user_id: UUID, secret: str, *, reason: str = "signed out") -> None:
        """End a session on the server (the user's own SignedOut event); an ended one is
        left as it is."""
        user = self._load(User, user_id, "user")
        if not user.accepts_session(secret, clock.now()) and hash_token(secret) not in \
                user.sessions:
            return
        user.sign_out(occurred_on=clock.today(), secret=secret, reason=reason)
        self._save(Context(actor=user.as_actor()), user)

    def list_users(self) -> list[User]:
        """Every user, from the log's user-registration events (users are few)."""
        topic = f"{User.__module__}:{User.__qualname__}.Registered"
        ids = [n.originator_id for n in self.recorder.select_notifications(
            1, 1_000_000, topics=[topic])]
        return [self.repository.get(i) for i in ids]
