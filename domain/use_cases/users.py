"""Use cases for users and tokens, and authentication by token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
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


class CurrentUsers:
    """The users and token indexes this process has authenticated, kept current by their
    events. A token's index is never changed once recorded, so it is kept as first read; a
    user is checked against the store at every use (one indexed read: any event after the
    version kept) and read again when it has moved. So a token revoked, a user deactivated,
    a role, agency or partnership changed, by any process sharing the store, is seen by the
    next request here, and nothing waits for an entry to expire. Unknown tokens are not
    kept: one issued elsewhere is accepted at once."""

    def __init__(self, ledger: UserUseCases) -> None:
        self.ledger = ledger
        self.tokens: dict[str, tuple[UUID, str]] = {}  # token hash -> (user id, token id)
        self.users: dict[UUID, User] = {}  # shared by threads: read, never changed

    def token(self, token: str) -> tuple[UUID, str] | None:
        """The user id and token id a token was issued as, or None if none was."""
        token_hash = hash_token(token)
        known = self.tokens.get(token_hash)
        if known is None:
            try:
                index = self.ledger.repository.get(token_index_id(token_hash))
            except AggregateNotFoundError:
                return None
            if not isinstance(index, TokenIndex):
                return None
            known = self.tokens[token_hash] = (index.user_id, index.token_id)
        return known

    def user(self, user_id: UUID) -> User | None:
        """The user as the store holds it now, or None if there is none."""
        kept = self.users.get(user_id)
        if kept is not None and not self.ledger.recorder.select_events(
                user_id, gt=kept.version, limit=1):
            return kept
        try:
            user = self.ledger.repository.get(user_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(user, User):
            return None
        self.users[user_id] = user
        return user


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

    def set_user_email(self, ctx: Context, user_id: UUID, *, email: str | None) -> Outcome:
        """The address reminders go to (None or empty: no reminders)."""
        ctx.actor.require(Permission.MANAGE_USERS, "set users' email addresses")
        user = self._load_for_change(User, user_id, "user", ctx)
        user.set_email(actor=ctx.actor, occurred_on=clock.today(), email=email)
        return self._save(ctx, user)

    def record_digest_sent(self, ctx: Context, user_id: UUID, *, period: str,
                           items: int) -> Outcome:
        """Record that the reminder digest for `period` was sent (one per period)."""
        ctx.actor.require(Permission.MANAGE_USERS, "record reminder digests")
        user = self._load_for_change(User, user_id, "user", ctx)
        user.record_digest(actor=ctx.actor, occurred_on=clock.today(), period=period,
                           items=items)
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

    @cached_property
    def current_users(self) -> CurrentUsers:
        return CurrentUsers(self)

    def authenticate(self, token: str) -> Actor | None:
        """The actor a bearer token stands for, or None if unknown, revoked or deactivated
        (as the store holds them now: CurrentUsers)."""
        known = self.current_users.token(token)
        if known is None:
            return None
        user_id, token_id = known
        user = self.current_users.user(user_id)
        if user is None or not user.accepts(token_id):
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
        user = self.current_users.user(user_id)
        if user is None or not user.accepts_session(secret, clock.now()):
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
