"""Action requests and responses: assignment, progress with evidence, completion, assurance,
due dates, escalation to the Board, impact and withdrawal."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field, StrictInt

from api.schemas.common import Command, DatedReasonIn, EntryCorrectionOut
from domain import clock
from domain.action import Action, ActionStatus, EscalationLevel, Impact, Rag


class EscalationIn(DatedReasonIn):
    to_level: EscalationLevel | None = Field(
        None, description="the next rung of the ladder (sub_group, delegated_partners, "
                          "lead_partners); default: the next one")


class EvidenceRetractionIn(Command):
    corrects_version: StrictInt = Field(
        ge=1, description="the version of the progress report or claim")
    reference: str = Field(min_length=1, max_length=500, description="the reference retracted")
    reason: str = Field(min_length=1)
    approved_by: str = Field(min_length=1, max_length=200)


class ActionIn(Command):
    review_id: UUID
    recommendation_id: UUID = Field(description="the review's recommendation it implements")
    agency_id: UUID = Field(description="the agency that owns the action")
    description: str = Field(min_length=1, max_length=2_000)
    measure_of_success: str = Field(min_length=1, max_length=2_000)
    due_on: date
    milestones: list[str] = Field(default_factory=list, max_length=50)


class ProgressIn(Command):
    narrative: str = Field(min_length=1)
    rag: Rag = Field(description="the agency's own red / amber / green rating")
    evidence: list[str] = Field(default_factory=list, max_length=50,
                                description="references: training dates, documents, audits")


class ClaimIn(Command):
    narrative: str = Field(min_length=1)
    evidence: list[str] = Field(default_factory=list, max_length=50)


class AssuranceIn(Command):
    comments: str = Field(min_length=1)


class DueDateIn(Command):
    due_on: date
    reason: str = Field(min_length=1)
    approved_by: str = Field(min_length=1, max_length=200, description="who approved it")


class BoardOutcomeIn(Command):
    outcome: str = Field(min_length=1, description="what the Board decided")
    meeting: str = Field(min_length=1, max_length=200, description="the named Board meeting")


class ImpactIn(Command):
    impact: Impact
    narrative: str = Field(min_length=1)


class ProgressOut(BaseModel):
    occurred_on: date
    narrative: str
    rag: str
    evidence: list[str]
    by: str = Field(description="user id of the reporter")
    corrected_fields: list[str] = Field(default_factory=list,
                                        description="marker: fields corrected since reported")
    retracted_evidence: list[str] = Field(default_factory=list)


class ClaimOut(BaseModel):
    occurred_on: date
    narrative: str
    evidence: list[str]
    by: str
    corrected_fields: list[str] = Field(default_factory=list)
    retracted_evidence: list[str] = Field(default_factory=list)


class AssuranceOut(BaseModel):
    assured_on: date
    comments: str | None


class RevisionOut(BaseModel):
    occurred_on: date
    previous_due_on: date
    due_on: date
    reason: str
    approved_by: str


class OwnerOut(BaseModel):
    agency_id: UUID
    from_on: date = Field(description="owned from this date")
    reason: str


class EscalationStepOut(BaseModel):
    level: str
    occurred_on: date
    reason: str
    by: str = Field(description="user id of who recorded the step")


class EscalationOut(BaseModel):
    escalated: bool = Field(description="awaiting the Board's outcome")
    escalated_on: date | None = Field(description="when the current level was reached")
    level: str | None = Field(
        None, description="sub_group, delegated_partners or lead_partners (the ladder)")
    days_at_level: int | None = Field(None, description="calendar days waited at the level")
    next_level: str | None = Field(None, description="the next rung, if any")
    steps: list[EscalationStepOut] = Field(default_factory=list,
                                           description="every step, oldest first")

    @classmethod
    def of(cls, action: Action) -> EscalationOut:
        waited = ((clock.today() - action.escalated_on).days
                  if action.escalated and action.escalated_on else None)
        following = (action.next_escalation_level if action.status in (
            ActionStatus.OPEN, ActionStatus.COMPLETION_CLAIMED) else None)
        return cls(
            escalated=action.escalated, escalated_on=action.escalated_on,
            level=action.escalation_level, days_at_level=waited,
            next_level=following.value if following else None,
            steps=[EscalationStepOut(level=s.level, occurred_on=s.occurred_on,
                                     reason=s.reason, by=s.by)
                   for s in action.escalation_steps])


class BoardOutcomeOut(BaseModel):
    occurred_on: date
    outcome: str
    meeting: str
    by: str


class ImpactOut(BaseModel):
    occurred_on: date
    impact: str
    narrative: str


class ActionOut(BaseModel):
    id: UUID
    version: int
    status: str
    agency_id: UUID
    review_id: UUID
    recommendation_id: UUID
    description: str
    measure_of_success: str
    milestones: list[str]
    assigned_on: date
    due_on: date
    original_due_on: date
    last_rag: str | None
    last_progress_on: date | None
    progress: list[ProgressOut]
    claims: list[ClaimOut]
    claimed_on: date | None = Field(description="the open claim's date, if one awaits assurance")
    assurance: AssuranceOut | None
    revisions: list[RevisionOut] = Field(description="due-date revisions, oldest first")
    escalation: EscalationOut
    held_to_account: list[BoardOutcomeOut]
    impact: ImpactOut | None
    withdrawn_reason: str | None
    entry_corrections: list[EntryCorrectionOut] = Field(
        default_factory=list, description="corrections and retractions of entries")
    owners: list[OwnerOut] = Field(default_factory=list,
                                   description="who owned it when (mergers), oldest first")
    allowed_next: list[str]

    @classmethod
    def of(cls, action: Action) -> ActionOut:
        assurance = (AssuranceOut(assured_on=action.assured_on,
                                  comments=action.assurance_comments)
                     if action.assured_on is not None else None)
        impact = action.impact
        return cls(
            id=action.id, version=action.version, status=str(action.status),
            agency_id=action.agency_id, review_id=action.review_id,
            recommendation_id=action.recommendation_id, description=action.description,
            measure_of_success=action.measure_of_success, milestones=action.milestones,
            assigned_on=action.assigned_on, due_on=action.due_on,
            original_due_on=action.original_due_on, last_rag=action.last_rag,
            last_progress_on=action.last_progress_on,
            progress=[ProgressOut(occurred_on=p.occurred_on, narrative=p.narrative, rag=p.rag,
                                  evidence=p.evidence, by=p.by,
                                  corrected_fields=list(p.corrected_fields),
                                  retracted_evidence=list(p.retracted_evidence))
                      for p in action.progress],
            claims=[ClaimOut(occurred_on=c.occurred_on, narrative=c.narrative,
                             evidence=c.evidence, by=c.by,
                             corrected_fields=list(c.corrected_fields),
                             retracted_evidence=list(c.retracted_evidence))
                    for c in action.claims],
            claimed_on=action.claimed_on, assurance=assurance,
            revisions=[RevisionOut(occurred_on=r.occurred_on, previous_due_on=r.previous_due_on,
                                   due_on=r.due_on, reason=r.reason, approved_by=r.approved_by)
                       for r in action.due_date_revisions],
            escalation=EscalationOut.of(action),
            held_to_account=[BoardOutcomeOut(occurred_on=b.occurred_on, outcome=b.outcome,
                                             meeting=b.meeting, by=b.by)
                             for b in action.held_to_account],
            impact=(ImpactOut(occurred_on=impact.occurred_on, impact=impact.impact,
                              narrative=impact.narrative) if impact is not None else None),
            withdrawn_reason=action.withdrawn_reason,
            entry_corrections=[EntryCorrectionOut.of(c) for c in action.entry_corrections],
            owners=[OwnerOut(agency_id=o.agency_id, from_on=o.from_on, reason=o.reason)
                    for o in action.owners],
            allowed_next=action.allowed_next(),
        )
