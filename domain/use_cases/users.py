"""Use cases for users and tokens, and authentication by token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain import clock
from domain.actors import Actor, Permission
from domain.agency import Agency
from domain.application import Context, HistoryEntry, Outcome
from domain.use_cases.partnerships import PartnershipChecks
from domain.user import TokenIndex, User, hash_token, token_index_id


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

    def list_users(self) -> list[User]:
        """Every user, from the log's user-registration events (users are few)."""
        topic = f"{User.__module__}:{User.__qualname__}.Registered"
        ids = [n.originator_id for n in self.recorder.select_notifications(
            1, 1_000_000, topics=[topic])]
        return [self.repository.get(i) for i in ids]
