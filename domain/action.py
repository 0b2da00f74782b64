"""Actions: the SMART actions an agency owns to implement a review's recommendation.

Status: open -> completion_claimed -> assured. A rejected claim reopens the action; an action
can be withdrawn while open or claimed; nothing happens after withdrawal.

Escalation runs beside the status and climbs the partnership's ladder one level at a time
(DOMAIN.md): the sub-group (the Significant Incident sub-committee), then the delegated
safeguarding partners, then the lead safeguarding partners; each step (`Escalated`) records its
level, date, reason and who took it (the SCB manager, for the body that decided it), and is on
the independent scrutineer's views from the moment it is recorded. The Board then holds the
agency to account (`HeldToAccount`, at any level once escalated), which ends that escalation;
a later escalation starts again at the sub-group. `EscalatedToBoard`, the single level of
ledgers recorded before the ladder, still loads: it stands for the top of the ladder.

A progress report's or completion claim's narrative or evidence may be corrected, and one of
its evidence references retracted, by an event naming its version (domain/corrections.py).

When its agency merges into another, an open (or claimed) action passes to the successor
(`OwnerTransferred`, dated the merger's effective date): `owners` says who owned it when.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.actors import Actor
from domain.base import (
    LedgerAggregate,
    check_due_date,
    check_not_future,
    one_of,
    require_text,
)
from domain.corrections import (
    EntryCorrection,
    check_approval,
    check_changed,
    check_field,
    check_version,
)
from domain.errors import InvalidInput, WrongStage

MAX_REFERENCES = 50
MAX_REFERENCE_LENGTH = 500


class ActionStatus(StrEnum):
    OPEN = "open"
    COMPLETION_CLAIMED = "completion_claimed"
    ASSURED = "assured"
    WITHDRAWN = "withdrawn"


class Rag(StrEnum):
    """The agency's own red / amber / green rating, reported with its progress."""

    RED = "red"
    AMBER = "amber"
    GREEN = "green"


class DerivedRag(StrEnum):
    """An action's rating on a given day, derived from its status, due date and last update;
    reported by no one, and not the agency's own red / amber / green `Rag`."""

    # Derived by projections/actions.py (`rag_of`, and `rag_condition` in SQL); what "at
    # risk" means (days to the due date, days without an update) is in the settings.
    ASSURED = "assured"
    COMPLETE_AWAITING_ASSURANCE = "complete_awaiting_assurance"
    OVERDUE = "overdue"
    AT_RISK = "at_risk"
    ON_TRACK = "on_track"
    WITHDRAWN = "withdrawn"


class EscalationLevel(StrEnum):
    """The rungs of the escalation ladder, lowest first."""

    SUB_GROUP = "sub_group"
    DELEGATED_PARTNERS = "delegated_partners"
    LEAD_PARTNERS = "lead_partners"


LADDER = tuple(EscalationLevel)
LEVEL_NAMES = {
    EscalationLevel.SUB_GROUP: "the sub-group (Significant Incident sub-committee)",
    EscalationLevel.DELEGATED_PARTNERS: "the delegated safeguarding partners",
    EscalationLevel.LEAD_PARTNERS: "the lead safeguarding partners",
}


@dataclass(frozen=True)
class Ownership:
    agency_id: UUID
    from_on: date
    reason: str


@dataclass(frozen=True)
class EscalationStep:
    level: str
    occurred_on: date
    reason: str
    by: str  # user id of who recorded the step


class Impact(StrEnum):
    NONE = "none"
    LIMITED = "limited"
    DEMONSTRABLE = "demonstrable"


@dataclass(frozen=True)
class Progress:
    occurred_on: date
    narrative: str
    rag: str
    evidence: list[str]
    by: str  # user id of the reporter
    corrected_fields: tuple[str, ...] = ()  # the marker: fields corrected since reported
    retracted_evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Claim:
    occurred_on: date
    narrative: str
    evidence: list[str]
    by: str
    corrected_fields: tuple[str, ...] = ()
    retracted_evidence: tuple[str, ...] = ()


CORRECTABLE = ("narrative", "evidence")


@dataclass(frozen=True)
class DueDateRevision:
    occurred_on: date
    previous_due_on: date
    due_on: date
    reason: str
    approved_by: str


@dataclass(frozen=True)
class BoardOutcome:
    occurred_on: date
    outcome: str
    meeting: str
    by: str


@dataclass(frozen=True)
class ImpactEvaluation:
    occurred_on: date
    impact: str
    narrative: str


def references(values: Iterable[str], field: str) -> list[str]:
    """Short references (evidence, milestones): each non-blank, at most 500 characters, at
    most 50 of them. The documents themselves live elsewhere; the ledger records what they are."""
    if isinstance(values, str):
        raise InvalidInput(f"{field} must be a list of references, not one string", field=field)
    items = [require_text(v, field, max_length=MAX_REFERENCE_LENGTH) for v in values]
    if len(items) > MAX_REFERENCES:
        raise InvalidInput(f"{field} has more than {MAX_REFERENCES} items", field=field)
    return items


class Action(LedgerAggregate):
    @event("Assigned")
    def __init__(
        self, *, actor: Actor, occurred_on: date, review_id: UUID, recommendation_id: UUID,
        agency_id: UUID, description: str, measure_of_success: str, due_on: date,
        milestones: list[str],
    ) -> None:
        self.review_id = review_id
        self.recommendation_id = recommendation_id
        self.agency_id = agency_id
        self.description = description
        self.measure_of_success = measure_of_success
        self.due_on = due_on
        self.milestones = list(milestones)
        self.assigned_on = occurred_on
        self.status = ActionStatus.OPEN
        self.progress: list[Progress] = []
        self.claims: list[Claim] = []
        self.last_progress_on: date | None = None
        self.last_rag: str | None = None
        self.claimed_on: date | None = None
        self.assured_on: date | None = None
        self.assurance_comments: str | None = None
        self.due_date_revisions: list[DueDateRevision] = []
        self.escalated = False
        self.escalated_on: date | None = None  # when the current level was reached
        self.escalation_level: str | None = None
        self.escalation_steps: list[EscalationStep] = []  # every step, every escalation
        self.held_to_account: list[BoardOutcome] = []
        self.impact: ImpactEvaluation | None = None
        self.withdrawn_reason: str | None = None
        self.entry_corrections: list[EntryCorrection] = []
        self._entries: dict[int, tuple[str, int]] = {}  # version -> (progress|claim, index)
        self.owners = [Ownership(agency_id, occurred_on, "assigned")]

    @classmethod
    def assign(
        cls, *, actor: Actor, occurred_on: date, review_id: UUID, recommendation_id: UUID,
        agency_id: UUID, description: str, measure_of_success: str, due_on: date,
        milestones: Iterable[str] = (),
    ) -> Action:
        check_not_future(occurred_on)
        check_due_date(due_on)
        if due_on < occurred_on:
            raise InvalidInput(
                f"due_on {due_on} is before the assignment date {occurred_on}", field="due_on"
            )
        return cls(
            actor=actor, occurred_on=occurred_on, review_id=review_id,
            recommendation_id=recommendation_id, agency_id=agency_id,
            description=require_text(description, "description", max_length=2_000),
            measure_of_success=require_text(measure_of_success, "measure_of_success",
                                            max_length=2_000),
            due_on=due_on, milestones=references(milestones, "milestones"),
        )

    # ---- what may happen next -----------------------------------------------------------
    def allowed_next(self) -> list[str]:
        """The commands the current state accepts (a view shows them; refusals name them)."""
        s = self.status
        allowed: list[str] = []
        if s == ActionStatus.OPEN:
            allowed += ["report_progress", "claim_completion"]
        if s == ActionStatus.COMPLETION_CLAIMED:
            allowed += ["assure_completion", "reject_completion"]
        if s in (ActionStatus.OPEN, ActionStatus.COMPLETION_CLAIMED):
            allowed.append("revise_due_date")
            if self.next_escalation_level is not None:
                allowed.append("escalate_action")
        if self.escalated and s != ActionStatus.WITHDRAWN:
            allowed.append("hold_to_account")
        if s == ActionStatus.ASSURED and self.impact is None:
            allowed.append("evaluate_impact")
        if s in (ActionStatus.OPEN, ActionStatus.COMPLETION_CLAIMED):
            allowed.append("withdraw_action")
        return allowed

    def check_allowed(self, command: str) -> None:
        allowed = self.allowed_next()
        if command not in allowed:
            state = str(self.status) + (f" and escalated to {self.escalation_level}"
                                        if self.escalated else "")
            raise WrongStage(
                f"action {self.id} is {state}; it cannot {command.replace('_', ' ')}; "
                f"allowed next: {', '.join(allowed) or 'nothing'}"
            )

    def check_date(self, occurred_on: date) -> None:
        self.check_business_date(occurred_on)
        if occurred_on < self.assigned_on:
            raise InvalidInput(
                f"occurred_on {occurred_on} is before the action was assigned "
                f"({self.assigned_on})", field="occurred_on",
            )

    # ---- progress and completion --------------------------------------------------------
    def report_progress(self, *, actor: Actor, occurred_on: date, narrative: str, rag: str,
                        evidence: Iterable[str] = ()) -> None:
        self.check_allowed("report_progress")
        self.check_date(occurred_on)
        self._progress_reported(
            actor=actor, occurred_on=occurred_on, narrative=require_text(narrative, "narrative"),
            rag=one_of(Rag, rag, "rag"), evidence=references(evidence, "evidence"),
        )

    @event("ProgressReported")
    def _progress_reported(self, *, actor: Actor, occurred_on: date, narrative: str, rag: str,
                           evidence: list[str]) -> None:
        self._note_entry("progress", len(self.progress))
        self.progress = [*self.progress,
                         Progress(occurred_on, narrative, rag, list(evidence), actor.user_id)]
        self.last_rag = rag
        self._touch(occurred_on)

    def claim_completion(self, *, actor: Actor, occurred_on: date, narrative: str,
                         evidence: Iterable[str] = ()) -> None:
        self.check_allowed("claim_completion")
        self.check_date(occurred_on)
        self._completion_claimed(
            actor=actor, occurred_on=occurred_on, narrative=require_text(narrative, "narrative"),
            evidence=references(evidence, "evidence"),
        )

    @event("CompletionClaimed")
    def _completion_claimed(self, *, actor: Actor, occurred_on: date, narrative: str,
                            evidence: list[str]) -> None:
        self._note_entry("claim", len(self.claims))
        self.claims = [*self.claims, Claim(occurred_on, narrative, list(evidence), actor.user_id)]
        self.status = ActionStatus.COMPLETION_CLAIMED
        self.claimed_on = occurred_on
        self._touch(occurred_on)

    def _note_entry(self, entry: str, index: int) -> None:
        # Applied before the library bumps the version: this event is version + 1.
        self._entries = {**self._entries, self.version + 1: (entry, index)}

    def _touch(self, occurred_on: date) -> None:
        # A backdated report must not make the action look more recently updated than it is.
        if self.last_progress_on is None or occurred_on > self.last_progress_on:
            self.last_progress_on = occurred_on

    def assure_completion(self, *, actor: Actor, occurred_on: date, comments: str) -> None:
        self.check_allowed("assure_completion")
        self.check_date(occurred_on)
        self._completion_assured(actor=actor, occurred_on=occurred_on,
                                 comments=require_text(comments, "comments"))

    @event("CompletionAssured")
    def _completion_assured(self, *, actor: Actor, occurred_on: date, comments: str) -> None:
        self.status = ActionStatus.ASSURED
        self.assured_on = occurred_on
        self.assurance_comments = comments

    def reject_completion(self, *, actor: Actor, occurred_on: date, reason: str) -> None:
        self.check_allowed("reject_completion")
        self.check_date(occurred_on)
        self._completion_rejected(actor=actor, occurred_on=occurred_on,
                                  reason=require_text(reason, "reason"))

    @event("CompletionRejected")
    def _completion_rejected(self, *, actor: Actor, occurred_on: date, reason: str) -> None:
        self.status = ActionStatus.OPEN
        self.claimed_on = None

    # ---- due date -----------------------------------------------------------------------
    def revise_due_date(self, *, actor: Actor, occurred_on: date, due_on: date, reason: str,
                        approved_by: str) -> None:
        self.check_allowed("revise_due_date")
        self.check_date(occurred_on)
        check_due_date(due_on)
        if due_on == self.due_on:
            raise InvalidInput(f"the action is already due on {due_on}", field="due_on")
        if due_on < self.assigned_on:
            raise InvalidInput(
                f"due_on {due_on} is before the assignment date {self.assigned_on}",
                field="due_on",
            )
        self._due_date_revised(
            actor=actor, occurred_on=occurred_on, previous_due_on=self.due_on, due_on=due_on,
            reason=require_text(reason, "reason"),
            approved_by=require_text(approved_by, "approved_by", max_length=200),
        )

    @property
    def original_due_on(self) -> date:
        revisions = self.due_date_revisions
        return revisions[0].previous_due_on if revisions else self.due_on

    @event("DueDateRevised")
    def _due_date_revised(self, *, actor: Actor, occurred_on: date, previous_due_on: date,
                          due_on: date, reason: str, approved_by: str) -> None:
        self.due_date_revisions = [
            *self.due_date_revisions,
            DueDateRevision(occurred_on, previous_due_on, due_on, reason, approved_by),
        ]
        self.due_on = due_on

    # ---- escalation and the Board -------------------------------------------------------
    @property
    def next_escalation_level(self) -> EscalationLevel | None:
        """The next rung of the ladder, or None at the top (the Board's turn)."""
        if not self.escalated:
            return LADDER[0]
        index = LADDER.index(EscalationLevel(self.escalation_level))
        return LADDER[index + 1] if index + 1 < len(LADDER) else None

    def escalate(self, *, actor: Actor, occurred_on: date, reason: str,
                 to_level: str | None = None) -> None:
        """One step up the ladder; `to_level`, when given, must be the next rung."""
        self.check_allowed("escalate_action")
        self.check_date(occurred_on)
        level = self.next_escalation_level
        assert level is not None  # check_allowed refuses at the top
        if to_level is not None and to_level != level:
            one_of(EscalationLevel, to_level, "to_level")
            raise InvalidInput(
                f"an action climbs the escalation ladder one level at a time: from "
                f"{self.escalation_level or 'not escalated'} only to {level.value}",
                field="to_level")
        if self.escalated and occurred_on < (self.escalated_on or occurred_on):
            raise InvalidInput(
                f"occurred_on {occurred_on} is before the action reached "
                f"{self.escalation_level} ({self.escalated_on})", field="occurred_on")
        self._escalated(actor=actor, occurred_on=occurred_on, level=level.value,
                        reason=require_text(reason, "reason"))

    def escalate_to_board(self, *, actor: Actor, occurred_on: date, reason: str) -> None:
        """One step up the ladder (the name kept from the single-level escalation)."""
        self.escalate(actor=actor, occurred_on=occurred_on, reason=reason)

    @event("Escalated")
    def _escalated(self, *, actor: Actor, occurred_on: date, level: str, reason: str) -> None:
        self._reach(level, occurred_on, reason, actor.user_id)

    @event("EscalatedToBoard")
    def _escalated_to_board(self, *, actor: Actor, occurred_on: date, reason: str) -> None:
        # Recorded before the ladder: straight to the Board, i.e. the top of the ladder.
        self._reach(EscalationLevel.LEAD_PARTNERS.value, occurred_on, reason, actor.user_id)

    def _reach(self, level: str, occurred_on: date, reason: str, by: str) -> None:
        self.escalated = True
        self.escalated_on = occurred_on
        self.escalation_level = level
        self.escalation_steps = [*self.escalation_steps,
                                 EscalationStep(level, occurred_on, reason, by)]

    def hold_to_account(self, *, actor: Actor, occurred_on: date, outcome: str,
                        meeting: str) -> None:
        self.check_allowed("hold_to_account")
        self.check_date(occurred_on)
        self._held_to_account(
            actor=actor, occurred_on=occurred_on, outcome=require_text(outcome, "outcome"),
            meeting=require_text(meeting, "meeting", max_length=200),
        )

    @event("HeldToAccount")
    def _held_to_account(self, *, actor: Actor, occurred_on: date, outcome: str,
                         meeting: str) -> None:
        self.held_to_account = [
            *self.held_to_account, BoardOutcome(occurred_on, outcome, meeting, actor.user_id)
        ]
        self.escalated = False
        self.escalated_on = None
        self.escalation_level = None

    # ---- impact and withdrawal ----------------------------------------------------------
    def evaluate_impact(self, *, actor: Actor, occurred_on: date, impact: str,
                        narrative: str) -> None:
        self.check_allowed("evaluate_impact")
        self.check_date(occurred_on)
        self._impact_evaluated(actor=actor, occurred_on=occurred_on,
                               impact=one_of(Impact, impact, "impact"),
                               narrative=require_text(narrative, "narrative"))

    @event("ImpactEvaluated")
    def _impact_evaluated(self, *, actor: Actor, occurred_on: date, impact: str,
                          narrative: str) -> None:
        self.impact = ImpactEvaluation(occurred_on, impact, narrative)

    def withdraw(self, *, actor: Actor, occurred_on: date, reason: str) -> None:
        self.check_allowed("withdraw_action")
        self.check_date(occurred_on)
        self._withdrawn(actor=actor, occurred_on=occurred_on,
                        reason=require_text(reason, "reason"))

    @event("Withdrawn")
    def _withdrawn(self, *, actor: Actor, occurred_on: date, reason: str) -> None:
        self.status = ActionStatus.WITHDRAWN
        self.withdrawn_reason = reason

    # ---- corrections of entries ---------------------------------------------------------
    def _entry(self, version: int) -> tuple[str, int, Progress | Claim]:
        entry, index = check_version(self._entries, version,
                                     "a progress report or completion claim")
        items: list[Any] = self.progress if entry == "progress" else self.claims
        return entry, index, items[index]

    def correct_entry(self, *, actor: Actor, occurred_on: date, corrects_version: int,
                      field: str, corrected: Any, reason: str, approved_by: str) -> None:
        """Correct a progress report's or completion claim's narrative or evidence list,
        naming the version of the event that recorded it."""
        self.check_business_date(occurred_on)
        entry, _, item = self._entry(corrects_version)
        field = check_field(field, CORRECTABLE, entry)
        value: Any = (references(corrected, "corrected") if field == "evidence"
                      else require_text(corrected, "corrected"))
        previous = list(item.evidence) if field == "evidence" else item.narrative
        check_changed(previous, value, field)
        why, approver = check_approval(reason, approved_by)
        self._entry_corrected(
            actor=actor, occurred_on=occurred_on, corrects_version=corrects_version,
            entry=entry, field=field, previous=previous, corrected=value, reason=why,
            approved_by=approver)

    @event("EntryCorrected")
    def _entry_corrected(self, *, actor: Actor, occurred_on: date, corrects_version: int,
                         entry: str, field: str, previous: Any, corrected: Any, reason: str,
                         approved_by: str) -> None:
        value = list(corrected) if field == "evidence" else corrected
        self._replace_entry(corrects_version, lambda item: replace(
            item, **{field: value},
            corrected_fields=tuple(dict.fromkeys((*item.corrected_fields, field)))))
        self.entry_corrections = [*self.entry_corrections, EntryCorrection(
            corrects_version, entry, None, field, previous, corrected, False, reason,
            approved_by, occurred_on, actor.user_id)]

    def retract_evidence(self, *, actor: Actor, occurred_on: date, corrects_version: int,
                         reference: str, reason: str, approved_by: str) -> None:
        """Retract one evidence reference of a progress report or completion claim."""
        self.check_business_date(occurred_on)
        entry, _, item = self._entry(corrects_version)
        if reference not in item.evidence:
            raise InvalidInput(
                f"that {entry} has no evidence reference {reference!r}", field="reference")
        why, approver = check_approval(reason, approved_by)
        self._entry_retracted(actor=actor, occurred_on=occurred_on,
                              corrects_version=corrects_version, entry=entry,
                              reference=reference, reason=why, approved_by=approver)

    @event("EntryRetracted")
    def _entry_retracted(self, *, actor: Actor, occurred_on: date, corrects_version: int,
                         entry: str, reference: str, reason: str, approved_by: str) -> None:
        self._replace_entry(corrects_version, lambda item: replace(
            item, evidence=[e for e in item.evidence if e != reference],
            retracted_evidence=(*item.retracted_evidence, reference)))
        self.entry_corrections = [*self.entry_corrections, EntryCorrection(
            corrects_version, entry, None, "evidence", reference, None, True, reason,
            approved_by, occurred_on, actor.user_id)]

    def _replace_entry(self, version: int, change: Any) -> None:
        entry, index = self._entries[version]
        if entry == "progress":
            self.progress = [change(p) if i == index else p for i, p in enumerate(self.progress)]
        else:
            self.claims = [change(c) if i == index else c for i, c in enumerate(self.claims)]

    # ---- a merger of its agency ---------------------------------------------------------
    @property
    def is_live(self) -> bool:
        return self.status in (ActionStatus.OPEN, ActionStatus.COMPLETION_CLAIMED)

    def transfer_to(self, *, actor: Actor, occurred_on: date, to_agency_id: UUID,
                    reason: str) -> None:
        """Pass the action to the agency its owner merged into (from the merger's effective
        date, or the assignment date if that is later)."""
        if not self.is_live:
            raise WrongStage(f"action {self.id} is {self.status}; only an open action passes "
                             "to a successor agency")
        if to_agency_id == self.agency_id:
            raise InvalidInput("the action is already that agency's", field="into_agency_id")
        self._owner_transferred(actor=actor, occurred_on=max(occurred_on, self.assigned_on),
                                from_agency_id=self.agency_id, to_agency_id=to_agency_id,
                                reason=require_text(reason, "reason"))

    @event("OwnerTransferred")
    def _owner_transferred(self, *, actor: Actor, occurred_on: date, from_agency_id: UUID,
                           to_agency_id: UUID, reason: str) -> None:
        self.agency_id = to_agency_id
        self.owners = [*self.owners, Ownership(to_agency_id, occurred_on, reason)]
