"""Review requests and responses: a serious incident and the review that follows it, with its
key dates and statutory deadlines (working days in England)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool, StrictInt

from api.schemas.common import Command, EntryCorrectionOut
from domain.deadlines import Deadline
from domain.review import (
    AgeBand,
    Category,
    CorrectableDate,
    Decision,
    Finding,
    Harm,
    LegalStatus,
    LocalCriterion,
    PanelCriterion,
    Recommendation,
    Review,
    ScrutinyOutcome,
)


class IncidentIn(Command):
    reference: str = Field(min_length=3, max_length=40,
                           description='pseudonymous reference, e.g. "SSSCB-2025-03"')
    partnership: str = Field(min_length=1, max_length=200)
    local_authority_area: str = Field(min_length=1, max_length=200)
    age_band: AgeBand
    harm: Harm
    category: Category
    legal_status: LegalStatus
    agencies_involved: list[UUID] = Field(default_factory=list)
    occurred_on: date | None = Field(
        None, description="the date the partners became aware (default today)")


class DateOnlyIn(Command):
    """A step whose record is its date (Panel notified; sent to the Panel)."""


class SummaryIn(Command):
    summary: str = Field(min_length=1)


class LocalDecisionIn(Command):
    conduct_review: StrictBool = Field(description="conduct a local CSPR or not")
    criteria: list[LocalCriterion] = Field(description="regulation 11 criteria it rests on")
    rationale: str = Field(min_length=1)


class PanelDecisionIn(Command):
    national_review: StrictBool = Field(description="the Panel will conduct a national review")
    criteria: list[PanelCriterion]
    rationale: str = Field(min_length=1)


class ReviewerIn(Command):
    reviewer: str = Field(min_length=1, max_length=500,
                          description="name of the independent reviewer")


class FindingIn(Command):
    text: str = Field(min_length=1)
    themes: list[str] = Field(default_factory=list,
                              description='lower-case slugs, e.g. "information-sharing"')


class RecommendationIn(Command):
    text: str = Field(min_length=1)
    finding_ids: list[UUID] = Field(min_length=1, description="the findings it rests on")


class ScrutinyIn(Command):
    outcome: ScrutinyOutcome
    challenge_id: UUID | None = Field(None, description="required when challenged")
    notes: str = ""


class SignOffIn(Command):
    meeting: str = Field(min_length=1, max_length=500, description="the named Board meeting")
    checkpoint_size: StrictInt | None = Field(None, ge=0)
    checkpoint_root: str | None = None


class PublicationIn(Command):
    location: str = Field(min_length=1, max_length=2000, description="where published")


class DateCorrectionIn(Command):
    field: CorrectableDate
    corrected: date
    reason: str = Field(min_length=1)


class KeyDatesOut(BaseModel):
    aware_on: date
    notified_on: date | None
    rapid_review_on: date | None
    decided_on: date | None
    commissioned_on: date | None
    submitted_on: date | None
    scrutinised_on: date | None
    signed_off_on: date | None
    sent_on: date | None
    published_on: date | None
    closed_on: date | None


class DeadlineOut(BaseModel):
    name: str
    description: str
    due_on: date
    status: str = Field(description="pending, met, missed or deferred")
    done_on: date | None
    working_days_late: int | None

    @classmethod
    def of(cls, deadline: Deadline) -> DeadlineOut:
        return cls(name=deadline.name, description=deadline.description,
                   due_on=deadline.due_on, status=str(deadline.status),
                   done_on=deadline.done_on, working_days_late=deadline.working_days_late)


class DecisionOut(BaseModel):
    conduct: bool = Field(description="conduct a (local or national) review")
    criteria: list[str]
    rationale: str
    decided_on: date
    corrected_fields: list[str] = Field(default_factory=list,
                                        description="marker: fields corrected since recorded")

    @classmethod
    def of(cls, decision: Decision | None) -> DecisionOut | None:
        if decision is None:
            return None
        return cls(conduct=decision.conduct, criteria=list(decision.criteria),
                   rationale=decision.rationale, decided_on=decision.decided_on,
                   corrected_fields=list(decision.corrected_fields))


class FindingOut(BaseModel):
    id: UUID
    text: str
    themes: list[str]
    corrected_fields: list[str] = Field(default_factory=list)
    retracted: bool = False

    @classmethod
    def of(cls, finding: Finding) -> FindingOut:
        return cls(id=finding.id, text=finding.text, themes=list(finding.themes),
                   corrected_fields=list(finding.corrected_fields),
                   retracted=finding.retracted)


class RecommendationOut(BaseModel):
    id: UUID
    text: str
    finding_ids: list[UUID]
    corrected_fields: list[str] = Field(default_factory=list)
    retracted: bool = False

    @classmethod
    def of(cls, recommendation: Recommendation) -> RecommendationOut:
        return cls(id=recommendation.id, text=recommendation.text,
                   finding_ids=list(recommendation.finding_ids),
                   corrected_fields=list(recommendation.corrected_fields),
                   retracted=recommendation.retracted)


class ScrutinyOut(BaseModel):
    outcome: str
    challenge_id: UUID | None
    notes: str


class SignOffOut(BaseModel):
    meeting: str
    checkpoint_size: int | None
    checkpoint_root: str | None


class CorrectionOut(BaseModel):
    field: str
    previous: date
    corrected: date
    reason: str
    corrects_version: int
    occurred_on: date


class ErasureIn(Command):
    """Make a review's free text unreadable (its data key is destroyed): why, and on which
    legal basis (UK GDPR)."""

    reason: str = Field(min_length=1)
    basis: str = Field(description="retention_ended, right_to_erasure, no_longer_necessary, "
                                   "unlawful_processing or legal_obligation")


class ErasureOut(BaseModel):
    erased_on: date
    reason: str
    basis: str
    by: str


class ReviewOut(BaseModel):
    id: UUID
    version: int
    reference: str
    partnership: str
    local_authority_area: str
    age_band: str
    harm: str
    category: str
    legal_status: str
    agencies_involved: list[UUID]
    stage: str
    allowed_next: list[str]
    dates: KeyDatesOut = Field(description="key dates, as corrected")
    deadlines: list[DeadlineOut]
    rapid_review_summary: str | None
    local_decision: DecisionOut | None
    panel_decision: DecisionOut | None
    reviewer: str | None
    findings: list[FindingOut]
    recommendations: list[RecommendationOut]
    report_summary: str | None
    scrutiny: ScrutinyOut | None
    sign_off: SignOffOut | None
    publication_location: str | None
    publication_deferrals: list[str] = Field(description="recorded reasons not to publish yet")
    corrections: list[CorrectionOut]
    entry_corrections: list[EntryCorrectionOut] = Field(
        default_factory=list, description="corrections and retractions of entries")
    close_reason: str | None
    erasure: ErasureOut | None = Field(
        None, description="when and why the review's free text was made unreadable")

    @classmethod
    def of(cls, review: Review, *, today: date, rapid_review_clock: str) -> ReviewOut:
        """The review as plain data; its deadlines are assessed on `today`."""
        scrutiny, sign_off = review.scrutiny, review.sign_off_record
        return cls(
            id=review.id, version=review.version, reference=review.reference,
            partnership=review.partnership, local_authority_area=review.local_authority_area,
            age_band=review.age_band, harm=review.harm, category=review.category,
            legal_status=review.legal_status, agencies_involved=review.agencies_involved,
            stage=str(review.stage), allowed_next=review.allowed_next(),
            dates=KeyDatesOut(**review.key_dates()),
            deadlines=[DeadlineOut.of(d) for d in review.deadlines(today, rapid_review_clock)],
            rapid_review_summary=review.rapid_review_summary,
            local_decision=DecisionOut.of(review.local_decision),
            panel_decision=DecisionOut.of(review.panel_decision), reviewer=review.reviewer,
            findings=[FindingOut.of(f) for f in review.findings],
            recommendations=[RecommendationOut.of(r) for r in review.recommendations],
            report_summary=review.report_summary,
            scrutiny=(ScrutinyOut(outcome=scrutiny.outcome, challenge_id=scrutiny.challenge_id,
                                  notes=scrutiny.notes) if scrutiny else None),
            sign_off=(SignOffOut(meeting=sign_off.meeting,
                                 checkpoint_size=sign_off.checkpoint_size,
                                 checkpoint_root=sign_off.checkpoint_root)
                      if sign_off else None),
            publication_location=review.publication_location,
            publication_deferrals=review.publication_deferrals,
            corrections=[CorrectionOut(field=c.field, previous=c.previous, corrected=c.corrected,
                                       reason=c.reason, corrects_version=c.corrects_version,
                                       occurred_on=c.occurred_on) for c in review.corrections],
            entry_corrections=[EntryCorrectionOut.of(c) for c in review.entry_corrections],
            close_reason=review.close_reason,
            erasure=(ErasureOut(erased_on=review.erasure.erased_on, reason=review.erasure.reason,
                                basis=review.erasure.basis, by=review.erasure.by)
                     if review.erasure else None),
        )


class RecordedFindingOut(BaseModel):
    finding: FindingOut
    review: ReviewOut


class RecordedRecommendationOut(BaseModel):
    recommendation: RecommendationOut
    review: ReviewOut
