"""Use cases for actions: assignment by the SCB manager, progress and completion by the owning
agency, assurance by the sub-committee, escalation and holding to account by the Board."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain import clock
from domain.action import Action
from domain.actors import Permission
from domain.agency import Agency
from domain.application import Context, HistoryEntry, LedgerCore, Outcome
from domain.errors import InvalidInput, WrongStage
from domain.review import Review, Stage

# Actions follow from recommendations, which exist once a reviewer is commissioned; a closed
# review takes no new actions.
ASSIGNABLE_STAGES = (Stage.REVIEWER_COMMISSIONED, Stage.REPORT_SUBMITTED, Stage.SCRUTINISED,
                     Stage.SIGNED_OFF, Stage.SENT_TO_PANEL, Stage.PUBLISHED)


class ActionUseCases(LedgerCore):
    def assign_action(
        self, ctx: Context, *, review_id: UUID, recommendation_id: UUID, agency_id: UUID,
        description: str, measure_of_success: str, due_on: date,
        milestones: Iterable[str] = (), occurred_on: date | None = None,
        source: str | None = None,
    ) -> Outcome:
        """`source`: where the fact came from when imported (a file's name and row)."""
        ctx.actor.require(Permission.ASSIGN_ACTIONS, "assign actions")
        self._load(Agency, agency_id, "agency").check_active("be assigned actions")
        review = self._load(Review, review_id, "review")
        stage = str(review.stage)
        if stage not in ASSIGNABLE_STAGES:
            raise WrongStage(
                f"review {review.reference} is at stage {stage}; actions can be assigned from "
                f"reviewer_commissioned until the review is closed"
            )
        if not any(r.id == recommendation_id for r in review.recommendations):
            raise InvalidInput(
                f"review {review.reference} has no recommendation {recommendation_id}",
                field="recommendation_id",
            )
        action = Action.assign(
            actor=ctx.actor, occurred_on=occurred_on or clock.today(), review_id=review_id,
            recommendation_id=recommendation_id, agency_id=agency_id, description=description,
            measure_of_success=measure_of_success, due_on=due_on, milestones=milestones,
            source=source,
        )
        return self._save(ctx, action)

    def report_progress(
        self, ctx: Context, action_id: UUID, *, narrative: str, rag: str,
        evidence: Iterable[str] = (), occurred_on: date | None = None,
    ) -> Outcome:
        action = self._load_for_report(ctx, action_id)
        action.report_progress(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                               narrative=narrative, rag=rag, evidence=evidence)
        return self._save(ctx, action)

    def claim_completion(
        self, ctx: Context, action_id: UUID, *, narrative: str,
        evidence: Iterable[str] = (), occurred_on: date | None = None,
    ) -> Outcome:
        action = self._load_for_report(ctx, action_id)
        action.claim_completion(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                                narrative=narrative, evidence=evidence)
        return self._save(ctx, action)

    def _load_for_report(self, ctx: Context, action_id: UUID) -> Action:
        ctx.actor.require(Permission.REPORT_PROGRESS, "report on actions")
        return self._load_for_change(
            Action, action_id, "action", ctx,
            authorize=lambda a: ctx.actor.require_agency(a.agency_id, "report on actions"))

    def assure_completion(self, ctx: Context, action_id: UUID, *, comments: str,
                          occurred_on: date | None = None) -> Outcome:
        ctx.actor.require(Permission.ASSURE_ACTIONS, "assure completion of actions")
        action = self._load_for_change(Action, action_id, "action", ctx)
        action.assure_completion(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                                 comments=comments)
        return self._save(ctx, action)

    def reject_completion(self, ctx: Context, action_id: UUID, *, reason: str,
                          occurred_on: date | None = None) -> Outcome:
        ctx.actor.require(Permission.ASSURE_ACTIONS, "reject completion of actions")
        action = self._load_for_change(Action, action_id, "action", ctx)
        action.reject_completion(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                                 reason=reason)
        return self._save(ctx, action)

    def revise_due_date(self, ctx: Context, action_id: UUID, *, due_on: date, reason: str,
                        approved_by: str, occurred_on: date | None = None) -> Outcome:
        ctx.actor.require(Permission.ASSIGN_ACTIONS, "revise due dates")
        action = self._load_for_change(Action, action_id, "action", ctx)
        action.revise_due_date(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                               due_on=due_on, reason=reason, approved_by=approved_by)
        return self._save(ctx, action)

    def escalate_action(self, ctx: Context, action_id: UUID, *, reason: str,
                        to_level: str | None = None,
                        occurred_on: date | None = None) -> Outcome:
        """One step up the escalation ladder (sub_group -> delegated_partners ->
        lead_partners); `to_level`, if given, must be the next one."""
        ctx.actor.require(Permission.ESCALATE_ACTIONS, "escalate actions")
        action = self._load_for_change(Action, action_id, "action", ctx)
        action.escalate(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                        reason=reason, to_level=to_level)
        return self._save(ctx, action)

    def hold_to_account(self, ctx: Context, action_id: UUID, *, outcome: str, meeting: str,
                        occurred_on: date | None = None) -> Outcome:
        ctx.actor.require(Permission.HOLD_TO_ACCOUNT, "hold agencies to account")
        action = self._load_for_change(Action, action_id, "action", ctx)
        action.hold_to_account(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                               outcome=outcome, meeting=meeting)
        return self._save(ctx, action)

    def evaluate_impact(self, ctx: Context, action_id: UUID, *, impact: str, narrative: str,
                        occurred_on: date | None = None) -> Outcome:
        ctx.actor.require(Permission.ASSURE_ACTIONS, "evaluate the impact of actions")
        action = self._load_for_change(Action, action_id, "action", ctx)
        action.evaluate_impact(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                               impact=impact, narrative=narrative)
        return self._save(ctx, action)

    def withdraw_action(self, ctx: Context, action_id: UUID, *, reason: str,
                        occurred_on: date | None = None) -> Outcome:
        ctx.actor.require(Permission.ASSIGN_ACTIONS, "withdraw actions")
        action = self._load_for_change(Action, action_id, "action", ctx)
        action.withdraw(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                        reason=reason)
        return self._save(ctx, action)

    def correct_action_entry(
        self, ctx: Context, action_id: UUID, *, corrects_version: int, field: str,
        corrected: Any, reason: str, approved_by: str, occurred_on: date | None = None,
    ) -> Outcome:
        """Correct a progress report's or completion claim's narrative or evidence (the event
        at `corrects_version`)."""
        ctx.actor.require(Permission.CORRECT_ENTRIES, "correct entries")
        action = self._load_for_change(Action, action_id, "action", ctx)
        action.correct_entry(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                             corrects_version=corrects_version, field=field,
                             corrected=corrected, reason=reason, approved_by=approved_by)
        return self._save(ctx, action)

    def retract_action_evidence(
        self, ctx: Context, action_id: UUID, *, corrects_version: int, reference: str,
        reason: str, approved_by: str, occurred_on: date | None = None,
    ) -> Outcome:
        """Retract one evidence reference of a progress report or completion claim."""
        ctx.actor.require(Permission.CORRECT_ENTRIES, "retract entries")
        action = self._load_for_change(Action, action_id, "action", ctx)
        action.retract_evidence(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                                corrects_version=corrects_version, reference=reference,
                                reason=reason, approved_by=approved_by)
        return self._save(ctx, action)

    def get_action(self, action_id: UUID, *, version: int | None = None,
                   as_of: datetime | None = None) -> Action:
        return self._load_at(Action, action_id, "action", version=version, as_of=as_of)

    def action_history(self, action_id: UUID) -> list[HistoryEntry]:
        return self._history(Action, action_id, "action")

    def action_with_history(self, action_id: UUID) -> tuple[Action, list[HistoryEntry]]:
        """The action now and its history, from one read."""
        return self._with_history(Action, action_id, "action")
