"""Professional challenge requests and responses: raised, answered, escalated stage by stage
(1 practitioner, 2 manager, 3 senior manager, 4 Board) and resolved."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field, StrictInt

from api.schemas.common import ActorOut, Command
from domain.challenge import STAGE_NAMES, Challenge, ChallengeOutcome, SubjectType


class ChallengeIn(Command):
    subject_type: SubjectType
    subject_id: UUID = Field(description="the review (decision or report) or action challenged")
    subject_version: StrictInt | None = Field(None, ge=1,
                                        description="the version of the subject challenged")
    grounds: str = Field(min_length=1)
    addressed_to: UUID = Field(description="the agency expected to answer")


class ResponseIn(Command):
    response: str = Field(min_length=1)


class EscalationIn(Command):
    to_stage: StrictInt = Field(ge=2, le=4, description="the next stage (one at a time)")
    reason: str = Field(min_length=1)


class ResolutionIn(Command):
    outcome: ChallengeOutcome
    reason: str = Field(min_length=1)
    meeting: str | None = Field(
        None, min_length=1, max_length=500,
        description="at stage 4, the Board meeting whose decision the SCB manager records")


class AddressedOut(BaseModel):
    agency_id: UUID
    from_on: date


class SubjectOut(BaseModel):
    type: str
    id: UUID
    version: int | None


class StageOut(BaseModel):
    stage: int
    name: str
    entered_on: date = Field(description="business date the stage began")
    entered_at: datetime = Field(description="when it was recorded")


class ResponseOut(BaseModel):
    stage: int
    occurred_on: date
    response: str
    by: str = Field(description="user id")
    role: str


class ChallengeOut(BaseModel):
    id: UUID
    version: int
    stage: int
    stage_name: str
    stage_entered_on: date
    stage_history: list[StageOut]
    raised_by: ActorOut
    raised_on: date
    addressed_to: UUID
    subject: SubjectOut
    grounds: str
    responses: list[ResponseOut]
    outcome: str | None = Field(description="upheld, not_upheld or withdrawn once resolved")
    resolution_reason: str | None
    resolved_on: date | None
    addressed_history: list[AddressedOut] = Field(
        default_factory=list, description="the agencies it was addressed to, and from when")
    resolution_meeting: str | None = Field(
        description="the Board meeting whose decision was recorded (stage 4)")
    is_open: bool
    allowed_next: list[str]

    @classmethod
    def of(cls, challenge: Challenge) -> ChallengeOut:
        return cls(
            id=challenge.id, version=challenge.version, stage=challenge.stage,
            stage_name=challenge.stage_name, stage_entered_on=challenge.stage_entered_on,
            stage_history=[StageOut(stage=s.stage, name=STAGE_NAMES[s.stage],
                                    entered_on=s.entered_on, entered_at=s.entered_at)
                           for s in challenge.stage_history],
            raised_by=ActorOut.of(challenge.raised_by), raised_on=challenge.raised_on,
            addressed_to=challenge.addressed_to,
            subject=SubjectOut(type=challenge.subject_type, id=challenge.subject_id,
                               version=challenge.subject_version),
            grounds=challenge.grounds,
            responses=[ResponseOut(stage=r.stage, occurred_on=r.occurred_on,
                                   response=r.response, by=r.by, role=r.role)
                       for r in challenge.responses],
            outcome=challenge.outcome, resolution_reason=challenge.resolution_reason,
            resolved_on=challenge.resolved_on,
            resolution_meeting=challenge.resolution_meeting,
            addressed_history=[AddressedOut(agency_id=a, from_on=on)
                               for a, on in challenge.addressed_history],
            is_open=challenge.is_open,
            allowed_next=challenge.allowed_next(),
        )
