"""Use cases for professional challenge: raised by any partner or the scrutineer, answered by
the agency it is addressed to, escalated stage by stage, and resolved on record."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from domain import clock
from domain.action import Action, one_of
from domain.actors import Permission, Scope
from domain.agency import Agency
from domain.application import Context, HistoryEntry, LedgerCore, Outcome
from domain.base import LedgerAggregate
from domain.challenge import Challenge, SubjectType
from domain.errors import Forbidden, InvalidInput
from domain.review import Review


class ChallengeUseCases(LedgerCore):
    def raise_challenge(
        self, ctx: Context, *, subject_type: str, subject_id: UUID,
        subject_version: int | None = None, grounds: str, addressed_to: UUID,
        occurred_on: date | None = None,
    ) -> Outcome:
        ctx.actor.require(Permission.RAISE_CHALLENGE, "raise challenges")
        subject = self._load_subject(one_of(SubjectType, subject_type, "subject_type"),
                                     subject_id)
        if subject_version is not None and subject_version > subject.version:
            raise InvalidInput(
                f"subject {subject_id} has no version {subject_version} "
                f"(it is at version {subject.version})", field="subject_version",
            )
        self._load(Agency, addressed_to, "agency")
        challenge = Challenge.raise_challenge(
            actor=ctx.actor, occurred_on=occurred_on or clock.today(),
            subject_type=subject_type, subject_id=subject_id, subject_version=subject_version,
            grounds=grounds, addressed_to=addressed_to,
        )
        return self._save(ctx, challenge)

    def _load_subject(self, subject_type: str, subject_id: UUID) -> LedgerAggregate:
        if subject_type == SubjectType.ACTION_UPDATE:
            return self._load(Action, subject_id, "action")
        return self._load(Review, subject_id, "review")

    def respond_to_challenge(self, ctx: Context, challenge_id: UUID, *, response: str,
                             occurred_on: date | None = None) -> Outcome:
        ctx.actor.require(Permission.RESPOND_CHALLENGE, "respond to challenges")
        challenge = self._load_for_change(
            Challenge, challenge_id, "challenge", ctx,
            authorize=lambda c: ctx.actor.require_agency(c.addressed_to, "respond to challenges"))
        challenge.respond(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                          response=response)
        return self._save(ctx, challenge)

    def escalate_challenge(self, ctx: Context, challenge_id: UUID, *, to_stage: int,
                           reason: str, occurred_on: date | None = None) -> Outcome:
        ctx.actor.require(Permission.ESCALATE_CHALLENGE, "escalate challenges")
        challenge = self._load_for_change(
            Challenge, challenge_id, "challenge", ctx,
            authorize=lambda c: self._check_addressed(ctx, c, "escalate challenges"))
        challenge.escalate(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                           to_stage=to_stage, reason=reason)
        return self._save(ctx, challenge)

    @staticmethod
    def _check_addressed(ctx: Context, challenge: Challenge, doing: str) -> None:
        if (ctx.actor.scope(Permission.ESCALATE_CHALLENGE) is Scope.ADDRESSED
                and ctx.actor.agency_id != challenge.addressed_to):
            raise Forbidden(f"an agency lead may only {doing} addressed to their agency")

    def resolve_challenge(self, ctx: Context, challenge_id: UUID, *, outcome: str, reason: str,
                          meeting: str | None = None,
                          occurred_on: date | None = None) -> Outcome:
        ctx.actor.require(Permission.RESOLVE_CHALLENGE, "resolve challenges")
        challenge = self._load_for_change(
            Challenge, challenge_id, "challenge", ctx,
            authorize=lambda c: c.check_resolver(ctx.actor, meeting))
        challenge.resolve(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                          outcome=outcome, reason=reason, meeting=meeting)
        return self._save(ctx, challenge)

    def get_challenge(self, challenge_id: UUID, *, version: int | None = None,
                      as_of: datetime | None = None) -> Challenge:
        return self._load_at(Challenge, challenge_id, "challenge", version=version, as_of=as_of)

    def challenge_history(self, challenge_id: UUID) -> list[HistoryEntry]:
        return self._history(Challenge, challenge_id, "challenge")
