"""Professional challenge: a partner or the scrutineer disagrees with a review decision, an
action update or a report, and the disagreement is answered, escalated and resolved on record.

Stages: 1 practitioner, 2 manager, 3 senior manager, 4 the Board. Escalation moves up exactly
one stage at a time (to_stage = stage + 1), never skipping: the partnership's escalation
procedure goes stage by stage, and each stage's waiting time is what the Board watches.
Responses are allowed at any stage while the challenge is open; Resolved ends it.

Who resolves (DOMAIN.md): at stages 1-3 the one who raised it (accepting the response, or
withdrawing) or the SCB manager recording the agreed outcome; at stage 4 only the Board: a
board member, or the SCB manager recording the Board's decision at a named meeting
(`check_resolver`). Only the agency addressed answers it (the use case checks the agency).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple
from uuid import UUID

from eventsourcing.domain import event

from domain.actors import Actor, Role
from domain.base import LedgerAggregate, check_not_future, one_of, require_text
from domain.errors import Forbidden, InvalidInput, WrongStage

FIRST_STAGE = 1
LAST_STAGE = 4
STAGE_NAMES = {1: "practitioner", 2: "manager", 3: "senior manager", 4: "Board"}


class SubjectType(StrEnum):
    REVIEW_DECISION = "review_decision"
    ACTION_UPDATE = "action_update"
    REPORT = "report"


class ChallengeOutcome(StrEnum):
    UPHELD = "upheld"
    NOT_UPHELD = "not_upheld"
    WITHDRAWN = "withdrawn"


class StageEntry(NamedTuple):
    stage: int
    entered_on: date  # business date
    entered_at: datetime  # recorded time


@dataclass(frozen=True)
class Response:
    stage: int
    occurred_on: date
    response: str
    by: str  # user id
    role: str


class Challenge(LedgerAggregate):
    @event("Raised")
    def __init__(
        self, *, actor: Actor, occurred_on: date, subject_type: str, subject_id: UUID,
        subject_version: int | None, grounds: str, addressed_to: UUID,
    ) -> None:
        self.subject_type = subject_type
        self.subject_id = subject_id
        self.subject_version = subject_version
        self.grounds = grounds
        self.addressed_to = addressed_to
        self.raised_by = actor
        self.raised_on = occurred_on
        self.stage = FIRST_STAGE
        self.stage_history = [StageEntry(FIRST_STAGE, occurred_on, self.created_on)]
        self.responses: list[Response] = []
        self.outcome: str | None = None
        self.resolution_reason: str | None = None
        self.resolved_on: date | None = None
        self.resolution_meeting: str | None = None
        self.addressed_history: list[tuple[UUID, date]] = [(addressed_to, occurred_on)]

    @classmethod
    def raise_challenge(
        cls, *, actor: Actor, occurred_on: date, subject_type: str, subject_id: UUID,
        subject_version: int | None, grounds: str, addressed_to: UUID,
    ) -> Challenge:
        check_not_future(occurred_on)
        if subject_version is not None and (
            isinstance(subject_version, bool) or not isinstance(subject_version, int)
            or subject_version < 1
        ):
            raise InvalidInput("subject_version must be a positive integer",
                               field="subject_version")
        return cls(
            actor=actor, occurred_on=occurred_on,
            subject_type=one_of(SubjectType, subject_type, "subject_type"),
            subject_id=subject_id, subject_version=subject_version,
            grounds=require_text(grounds, "grounds"), addressed_to=addressed_to,
        )

    # ---- state --------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.outcome is None

    @property
    def stage_name(self) -> str:
        return STAGE_NAMES[self.stage]

    @property
    def stage_entered_on(self) -> date:
        """When the current stage began (a view subtracts it from today to show the wait)."""
        return self.stage_history[-1].entered_on

    def allowed_next(self) -> list[str]:
        if not self.is_open:
            return []
        allowed = ["respond_to_challenge"]
        if self.stage < LAST_STAGE:
            allowed.append("escalate_challenge")
        allowed.append("resolve_challenge")
        return allowed

    def check_allowed(self, command: str) -> None:
        allowed = self.allowed_next()
        if command not in allowed:
            state = (f"at stage {self.stage} ({self.stage_name})" if self.is_open
                     else f"resolved ({self.outcome})")
            raise WrongStage(
                f"challenge {self.id} is {state}; it cannot {command.replace('_', ' ')}; "
                f"allowed next: {', '.join(allowed) or 'nothing'}"
            )

    def check_date(self, occurred_on: date) -> None:
        self.check_business_date(occurred_on)
        if occurred_on < self.stage_entered_on:
            raise InvalidInput(
                f"occurred_on {occurred_on} is before stage {self.stage} began "
                f"({self.stage_entered_on})", field="occurred_on",
            )

    # ---- commands -----------------------------------------------------------------------
    def respond(self, *, actor: Actor, occurred_on: date, response: str) -> None:
        self.check_allowed("respond_to_challenge")
        self.check_date(occurred_on)
        self._responded(actor=actor, occurred_on=occurred_on,
                        response=require_text(response, "response"))

    @event("Responded")
    def _responded(self, *, actor: Actor, occurred_on: date, response: str) -> None:
        self.responses = [
            *self.responses,
            Response(self.stage, occurred_on, response, actor.user_id, str(actor.role)),
        ]

    def escalate(self, *, actor: Actor, occurred_on: date, to_stage: int, reason: str) -> None:
        self.check_allowed("escalate_challenge")
        self.check_date(occurred_on)
        if isinstance(to_stage, bool) or not isinstance(to_stage, int) \
                or to_stage != self.stage + 1:
            raise InvalidInput(
                f"a challenge escalates one stage at a time: from stage {self.stage} "
                f"only to stage {self.stage + 1}", field="to_stage",
            )
        self.trigger_event(self.Escalated, actor=actor, occurred_on=occurred_on,
                           to_stage=to_stage, reason=require_text(reason, "reason"))

    class Escalated(LedgerAggregate.Event):
        """Declared as a class (not with @event) because applying it needs the event's recorded
        time, which the body of an @event method cannot see."""

        actor: Actor
        occurred_on: date
        to_stage: int
        reason: str

        def apply(self, aggregate: Challenge) -> None:  # type: ignore[override]
            aggregate.stage = self.to_stage
            aggregate.stage_history = [
                *aggregate.stage_history,
                StageEntry(self.to_stage, self.occurred_on, self.timestamp),
            ]

    def check_resolver(self, actor: Actor, meeting: str | None) -> None:
        """Who may resolve at this stage (DOMAIN.md); the role's grant is checked first."""
        raised_by_them = actor.user_id == self.raised_by.user_id
        if self.stage == LAST_STAGE:
            if actor.role is Role.BOARD_MEMBER:
                return
            if actor.role is Role.SCB_MANAGER:
                if meeting is None or not str(meeting).strip():
                    raise InvalidInput(
                        "at stage 4 the SCB manager records the Board's decision: name the "
                        "Board meeting that took it", field="meeting")
                return
            raise Forbidden("at stage 4 (the Board) only the Board resolves a challenge: a "
                            "board member, or the SCB manager recording its decision")
        if actor.role is Role.SCB_MANAGER or raised_by_them:
            return
        if actor.role is Role.BOARD_MEMBER:
            raise Forbidden(f"the Board resolves challenges at stage 4 only; this one is at "
                            f"stage {self.stage} ({self.stage_name})")
        raise Forbidden(f"at stage {self.stage} a challenge is resolved by the one who raised "
                        "it or by the SCB manager recording the agreed outcome")

    def resolve(self, *, actor: Actor, occurred_on: date, outcome: str, reason: str,
                meeting: str | None = None) -> None:
        self.check_allowed("resolve_challenge")
        self.check_resolver(actor, meeting)
        self.check_date(occurred_on)
        self.trigger_event(
            self.Resolved, actor=actor, occurred_on=occurred_on,
            outcome=one_of(ChallengeOutcome, outcome, "outcome"),
            reason=require_text(reason, "reason"),
            meeting=None if meeting is None else require_text(meeting, "meeting",
                                                              max_length=500),
        )

    class Resolved(LedgerAggregate.Event):
        """Version 2 adds `meeting`: the Board meeting whose decision the SCB manager records
        (None otherwise). Version 1 events (no meeting) load with meeting None."""

        class_version = 2
        actor: Actor
        occurred_on: date
        outcome: str
        reason: str
        meeting: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["meeting"] = None

        def apply(self, aggregate: Challenge) -> None:  # type: ignore[override]
            aggregate.outcome = self.outcome
            aggregate.resolution_reason = self.reason
            aggregate.resolved_on = self.occurred_on
            aggregate.resolution_meeting = self.meeting

    # ---- a merger of the agency addressed ---------------------------------------------
    def readdress(self, *, actor: Actor, occurred_on: date, to_agency_id: UUID,
                  reason: str) -> None:
        """An open challenge passes to the agency its addressee merged into."""
        if not self.is_open:
            raise WrongStage(f"challenge {self.id} is resolved; it stays with its agency")
        if to_agency_id == self.addressed_to:
            raise InvalidInput("the challenge is already addressed to that agency",
                               field="into_agency_id")
        self._readdressed(actor=actor, occurred_on=max(occurred_on, self.raised_on),
                          from_agency_id=self.addressed_to, to_agency_id=to_agency_id,
                          reason=require_text(reason, "reason"))

    @event("Readdressed")
    def _readdressed(self, *, actor: Actor, occurred_on: date, from_agency_id: UUID,
                     to_agency_id: UUID, reason: str) -> None:
        self.addressed_to = to_agency_id
        self.addressed_history = [*self.addressed_history, (to_agency_id, occurred_on)]
