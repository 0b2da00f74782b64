"""The Board's answers: a page of actions, the agencies' accountability, reviews with their
deadlines, challenges and themes. Each answer says the log position it reflects; each row
model's fields are also its CSV columns (api/routes/board.py serves both)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.reviews import DeadlineOut
from domain.action import ActionStatus, DerivedRag


class ActionRow(BaseModel):
    action_id: UUID
    review_id: UUID
    review_reference: str | None
    recommendation_id: UUID
    agency_id: UUID
    agency_name: str | None = Field(description="the owner agency's current name")
    agency_status: str | None
    description: str
    status: ActionStatus
    rag: DerivedRag = Field(description="derived for today: assured, complete awaiting "
                                        "assurance, overdue, at risk, on track (or withdrawn)")
    assigned_on: date
    due_on: date
    original_due_on: date
    due_revisions: int
    overdue: bool
    days_overdue: int
    last_progress_on: date | None = Field(description="business date of the last update")
    days_since_update: int = Field(description="days since the last update (or assignment)")
    last_rag: str | None = Field(description="the agency's own last RAG rating")
    progress_reports: int
    claimed_on: date | None
    assured_on: date | None
    escalated: bool = Field(description="escalated, awaiting the Board's outcome")
    escalated_on: date | None = Field(description="when it reached its escalation level")
    escalation_level: str | None = Field(
        None, description="sub_group, delegated_partners or lead_partners")
    days_at_escalation_level: int | None = Field(
        None, description="calendar days it has waited at its level")
    held_to_account: int = Field(description="times the Board held the agency to account")
    impact: str | None
    withdrawn_on: date | None


class ActionsPage(BaseModel):
    position: int = Field(description="the last log position this answer reflects")
    today: date
    items: list[ActionRow]
    next_cursor: str | None = Field(description="pass as cursor for the next page")


class EscalationWait(BaseModel):
    level: str = Field(description="sub_group, delegated_partners or lead_partners")
    actions: int = Field(description="escalated actions waiting at this level")
    since: date = Field(description="when the longest-waiting of them reached it")
    days_waiting: int = Field(description="calendar days the longest has waited at it")


class AgencyRow(BaseModel):
    agency_id: UUID
    agency_name: str | None
    agency_kind: str | None
    agency_status: str | None
    open: int = Field(description="actions not yet assured (withdrawn ones count nowhere)")
    overdue: int = Field(description="open actions past their due date")
    stalled: int = Field(description="open actions with no update for stalled_days")
    stalled_days: int
    completed: int = Field(description="actions assured complete")
    completed_on_time: int
    completed_on_time_pct: float | None
    escalated: int = Field(description="actions escalated, awaiting the Board's outcome")
    escalations: list[EscalationWait] = Field(
        default_factory=list,
        description="the escalated actions by the level they have reached, longest wait first")
    held_to_account: int = Field(description="actions the Board held the agency to account on")
    challenges_open: int = Field(description="open challenges addressed to the agency")
    challenges_total: int


class AgenciesOut(BaseModel):
    position: int
    today: date
    stalled_days: int
    items: list[AgencyRow]


class ReviewRow(BaseModel):
    review_id: UUID
    reference: str
    partnership: str
    local_authority_area: str
    age_band: str
    harm: str
    category: str
    legal_status: str
    agencies_involved: list[UUID]
    stage: str
    aware_on: date
    notified_on: date | None
    rapid_review_on: date | None
    decided_on: date | None
    conduct_review: bool | None
    local_criteria: list[str] | None
    panel_criteria: list[str] | None = None
    panel_decided_on: date | None
    national_review: bool | None
    reviewer: str | None
    commissioned_on: date | None
    submitted_on: date | None
    scrutinised_on: date | None
    scrutiny_outcome: str | None
    signed_off_on: date | None
    sign_off_meeting: str | None
    sent_on: date | None
    published_on: date | None
    publication_deferred: bool
    closed_on: date | None
    findings: int
    recommendations: int
    date_corrections: int
    deadlines: list[DeadlineOut]
    deadlines_missed: int


class ReviewsOut(BaseModel):
    position: int
    today: date
    items: list[ReviewRow]
    next_cursor: str | None


class ChallengeRow(BaseModel):
    challenge_id: UUID
    subject_type: str
    subject_id: UUID
    subject_version: int | None
    addressed_to: UUID
    addressed_to_name: str | None
    raised_by: str
    raised_by_name: str
    raised_by_role: str
    raised_on: date
    status: str = Field(description="open or resolved")
    stage: int
    stage_name: str
    stage_entered_on: date
    stage_responded_on: date | None
    awaiting_response: bool
    stage_waited_working_days: int = Field(
        description="working days the current stage waited for a response (so far)")
    age_working_days: int
    responses: int
    escalations: int
    outcome: str | None
    resolved_on: date | None


class ChallengesOut(BaseModel):
    position: int
    today: date
    items: list[ChallengeRow]
    next_cursor: str | None


class ThemeReview(BaseModel):
    review_id: UUID
    reference: str | None
    findings: int
    first_on: date


class ThemeFinding(BaseModel):
    finding_id: UUID
    review_id: UUID
    text: str = Field(description="as corrected")
    recorded_on: date
    correction: str | None = Field(None, description="marker: corrected or retracted")


class ThemeRow(BaseModel):
    theme: str
    review_count: int
    finding_count: int
    recurrent: bool = Field(description="carried by two or more reviews")
    reviews: list[ThemeReview] | None = Field(None, description="with ?theme= only")
    findings: list[ThemeFinding] | None = Field(None, description="with ?theme= only")


class ThemesOut(BaseModel):
    position: int
    items: list[ThemeRow]
