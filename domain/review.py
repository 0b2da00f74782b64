"""A serious incident and the whole child safeguarding practice review that may follow it.

Stages, in order (docs/events.md): incident_recorded -> panel_notified ->
rapid_review_completed -> decided -> (no CSPR: closed) | reviewer_commissioned ->
report_submitted -> scrutinised -> signed_off -> sent_to_panel -> published -> closed.
Besides the stage-moving steps: findings and recommendations are recorded while the reviewer
is commissioned; the National Panel's decision is recorded once, from panel_notified on (closed
included: the Panel decides independently and may answer after a no-CSPR case is closed);
publication may be deferred, with a reason, once signed off and until published; a recorded
date may be corrected at any stage, and so may a decision's rationale or criteria, a finding's
or a recommendation's text (EntryCorrected); a finding or recommendation may be retracted
(EntryRetracted). Each names the version of the event it corrects (domain/corrections.py).

Privacy: a case is known only by a pseudonymous reference ("Child A", "SSSCB-2025-03") and
non-identifying facts. The reference pattern (letters, digits, spaces, hyphens, slashes; 3 to
40 characters) keeps free-form text out of it but cannot tell a pseudonym from a real name:
choosing a pseudonym, and keeping the mapping from pseudonym to child, happens outside the
product.

Key dates must stay in process order (aware_on <= notified_on <= ... <= closed_on), both when a
step is recorded and when a date is corrected, so the deadlines computed from them mean
something.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import event

from domain.actors import Actor
from domain.base import LedgerAggregate, check_flag, check_not_future, one_of, require_text
from domain.corrections import (
    EntryCorrection,
    check_approval,
    check_changed,
    check_field,
    check_version,
)
from domain.deadlines import Deadline, RapidReviewClock, review_deadlines
from domain.errors import InvalidInput, WrongStage


class Stage(StrEnum):
    INCIDENT_RECORDED = "incident_recorded"
    PANEL_NOTIFIED = "panel_notified"
    RAPID_REVIEW_COMPLETED = "rapid_review_completed"
    DECIDED = "decided"
    REVIEWER_COMMISSIONED = "reviewer_commissioned"
    REPORT_SUBMITTED = "report_submitted"
    SCRUTINISED = "scrutinised"
    SIGNED_OFF = "signed_off"
    SENT_TO_PANEL = "sent_to_panel"
    PUBLISHED = "published"
    CLOSED = "closed"


class AgeBand(StrEnum):
    UNDER_1 = "under_1"
    AGED_1_TO_4 = "1_to_4"
    AGED_5_TO_9 = "5_to_9"
    AGED_10_TO_15 = "10_to_15"
    AGED_16_TO_17 = "16_to_17"


class Harm(StrEnum):
    DEATH = "death"
    SERIOUS_HARM = "serious_harm"


class Category(StrEnum):
    NON_ACCIDENTAL_INJURY = "non_accidental_injury"
    SUDDEN_UNEXPECTED_DEATH_IN_INFANCY = "sudden_unexpected_death_in_infancy"
    SUSPECTED_SUICIDE = "suspected_suicide"
    EXPLOITATION = "exploitation"
    NEGLECT = "neglect"
    OTHER = "other"


class LegalStatus(StrEnum):
    NONE = "none"
    CHILD_IN_NEED = "child_in_need"
    CHILD_PROTECTION_PLAN = "child_protection_plan"
    LOOKED_AFTER = "looked_after"
    CARE_LEAVER = "care_leaver"


class LocalCriterion(StrEnum):
    """Regulation 11 of the 2018 Regulations."""

    IMPROVEMENTS_NEEDED = "improvements_needed"
    RECURRENT_THEMES = "recurrent_themes"
    MULTI_AGENCY_CONCERNS = "multi_agency_concerns"
    PANEL_CONSIDERED_LOCAL_MORE_APPROPRIATE = "panel_considered_local_more_appropriate"


class PanelCriterion(StrEnum):
    IMPROVEMENTS_NEEDED = "improvements_needed"
    LEGISLATIVE_OR_GUIDANCE_CHANGE = "legislative_or_guidance_change"
    RECURRENT_THEMES = "recurrent_themes"
    INSTITUTIONAL_SETTINGS = "institutional_settings"


class ScrutinyOutcome(StrEnum):
    NO_CHALLENGE = "no_challenge"
    CHALLENGED = "challenged"


class CorrectableDate(StrEnum):
    AWARE_ON = "aware_on"
    NOTIFIED_ON = "notified_on"
    RAPID_REVIEW_ON = "rapid_review_on"
    DECIDED_ON = "decided_on"
    SENT_ON = "sent_on"
    PUBLISHED_ON = "published_on"


# Key dates in process order; each stage-moving step records one of them.
KEY_DATES = (
    "aware_on", "notified_on", "rapid_review_on", "decided_on", "commissioned_on",
    "submitted_on", "scrutinised_on", "signed_off_on", "sent_on", "published_on", "closed_on",
)

REFERENCE_PATTERN = re.compile(r"[A-Za-z0-9 /-]{3,40}")
THEME_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SHORT = 500  # names of people, meetings, places
_LOCATION = 2000  # may be a URL


@dataclass(frozen=True)
class Finding:
    id: UUID
    text: str
    themes: tuple[str, ...]
    corrected_fields: tuple[str, ...] = ()  # the marker: fields corrected since recorded
    retracted: bool = False


@dataclass(frozen=True)
class Recommendation:
    id: UUID
    text: str
    finding_ids: tuple[UUID, ...]
    corrected_fields: tuple[str, ...] = ()
    retracted: bool = False


@dataclass(frozen=True)
class Decision:
    """The local decision (criteria: LocalCriterion) or the Panel's (PanelCriterion)."""

    conduct: bool  # conduct a local review / a national review
    criteria: tuple[str, ...]
    rationale: str
    decided_on: date
    corrected_fields: tuple[str, ...] = ()


# What each kind of entry lets be corrected; findings and recommendations may be retracted.
CORRECTABLE = {
    "local_decision": ("rationale", "criteria"),
    "panel_decision": ("rationale", "criteria"),
    "finding": ("text",),
    "recommendation": ("text",),
}
RETRACTABLE = ("finding", "recommendation")


@dataclass(frozen=True)
class Scrutiny:
    outcome: str
    challenge_id: UUID | None
    notes: str


@dataclass(frozen=True)
class SignOff:
    meeting: str
    checkpoint_size: int | None
    checkpoint_root: str | None


class ErasureBasis(StrEnum):
    """The UK GDPR ground on which a review's free text is made unreadable."""

    RETENTION_ENDED = "retention_ended"  # storage limitation, Art. 5(1)(e)
    RIGHT_TO_ERASURE = "right_to_erasure"  # Art. 17
    NO_LONGER_NECESSARY = "no_longer_necessary"  # Art. 17(1)(a)
    UNLAWFUL_PROCESSING = "unlawful_processing"  # Art. 17(1)(d)
    LEGAL_OBLIGATION = "legal_obligation"  # Art. 17(1)(e)


@dataclass(frozen=True)
class Erasure:
    erased_on: date
    reason: str
    basis: str
    by: str


@dataclass(frozen=True)
class DateCorrection:
    field: str
    previous: date
    corrected: date
    reason: str
    corrects_version: int
    occurred_on: date


# ---- validation helpers -----------------------------------------------------------------
def check_reference(reference: str) -> str:
    value = reference.strip() if isinstance(reference, str) else ""
    if not REFERENCE_PATTERN.fullmatch(value) or not any(c.isalnum() for c in value):
        raise InvalidInput(
            "reference must be a pseudonymous reference of 3 to 40 letters, digits, spaces, "
            "hyphens or slashes (e.g. SSSCB-2025-03)", field="reference",
        )
    return value


def many_of(values: Any, allowed: type[StrEnum], field: str) -> list[str]:
    if not isinstance(values, list | tuple):
        raise InvalidInput(f"{field} must be a list", field=field)
    checked = [one_of(allowed, v, field) for v in values]
    if len(set(checked)) != len(checked):
        raise InvalidInput(f"{field} lists a value twice", field=field)
    return checked


def check_criteria(values: Any, allowed: type[StrEnum], conduct: bool, review: str,
                   whose: str) -> list[str]:
    """A decision to hold a review rests on at least one criterion; a decision not to may cite
    none (its rationale, always required, says why)."""
    checked = many_of(values, allowed, "criteria")
    if conduct and not checked:
        names = ", ".join(m.value for m in allowed)
        raise InvalidInput(
            f"a decision to hold {review} must rest on at least one of {whose} criteria "
            f"({names})", field="criteria",
        )
    return checked


def check_ids(values: Any, field: str) -> list[UUID]:
    if not isinstance(values, list | tuple) or not all(isinstance(v, UUID) for v in values):
        raise InvalidInput(f"{field} must be a list of ids", field=field)
    if len(set(values)) != len(values):
        raise InvalidInput(f"{field} lists an id twice", field=field)
    return list(values)


def check_themes(themes: Any) -> list[str]:
    if not isinstance(themes, list | tuple):
        raise InvalidInput("themes must be a list", field="themes")
    for theme in themes:
        if not isinstance(theme, str) or len(theme) > 60 or not THEME_PATTERN.fullmatch(theme):
            raise InvalidInput(
                f"theme {theme!r} is not a lower-case slug (e.g. information-sharing)",
                field="themes",
            )
    if len(set(themes)) != len(themes):
        raise InvalidInput("themes lists a theme twice", field="themes")
    return list(themes)


def _key_date(field: str) -> Any:
    return property(lambda self: self._dates.get(field), doc=f"The {field} date, if recorded.")


class Review(LedgerAggregate):
    @event("IncidentRecorded")
    def __init__(
        self, *, actor: Actor, occurred_on: date, reference: str, partnership: str,
        local_authority_area: str, age_band: str, harm: str, category: str,
        legal_status: str, agencies_involved: list[UUID],
    ) -> None:
        self.reference = reference
        self.partnership = partnership
        self.local_authority_area = local_authority_area
        self.age_band = age_band
        self.harm = harm
        self.category = category
        self.legal_status = legal_status
        self.agencies_involved = list(agencies_involved)
        self.stage = Stage.INCIDENT_RECORDED
        self._dates: dict[str, date] = {"aware_on": occurred_on}
        self._date_versions: dict[str, int] = {"aware_on": 1}
        self.rapid_review_summary: str | None = None
        self.local_decision: Decision | None = None
        self.panel_decision: Decision | None = None
        self.reviewer: str | None = None
        self.findings: list[Finding] = []
        self.recommendations: list[Recommendation] = []
        self.report_summary: str | None = None
        self.scrutiny: Scrutiny | None = None
        self.sign_off_record: SignOff | None = None
        self.publication_location: str | None = None
        self.publication_deferrals: list[str] = []
        self.corrections: list[DateCorrection] = []
        self.entry_corrections: list[EntryCorrection] = []
        self._entries: dict[int, tuple[str, UUID | None]] = {}  # version -> (entry, item id)
        self.close_reason: str | None = None
        self.erasure: Erasure | None = None

    @classmethod
    def record(
        cls, *, actor: Actor, occurred_on: date, reference: str, partnership: str,
        local_authority_area: str, age_band: str, harm: str, category: str,
        legal_status: str, agencies_involved: list[UUID],
    ) -> Review:
        return cls(
            actor=actor,
            occurred_on=check_not_future(occurred_on),
            reference=check_reference(reference),
            partnership=require_text(partnership, "partnership", max_length=200),
            local_authority_area=require_text(
                local_authority_area, "local_authority_area", max_length=200
            ),
            age_band=one_of(AgeBand, age_band, "age_band"),
            harm=one_of(Harm, harm, "harm"),
            category=one_of(Category, category, "category"),
            legal_status=one_of(LegalStatus, legal_status, "legal_status"),
            agencies_involved=check_ids(agencies_involved, "agencies_involved"),
        )

    # ---- reading ----------------------------------------------------------------------
    aware_on = _key_date("aware_on")
    notified_on = _key_date("notified_on")
    rapid_review_on = _key_date("rapid_review_on")
    decided_on = _key_date("decided_on")
    commissioned_on = _key_date("commissioned_on")
    submitted_on = _key_date("submitted_on")
    scrutinised_on = _key_date("scrutinised_on")
    signed_off_on = _key_date("signed_off_on")
    sent_on = _key_date("sent_on")
    published_on = _key_date("published_on")
    closed_on = _key_date("closed_on")

    def key_dates(self) -> dict[str, date | None]:
        return {name: self._dates.get(name) for name in KEY_DATES}

    @property
    def conduct_review(self) -> bool | None:
        return None if self.local_decision is None else self.local_decision.conduct

    @property
    def publication_deferred(self) -> bool:
        return bool(self.publication_deferrals)

    def allowed_next(self) -> list[str]:
        """The commands this review accepts now, by name (the use-case method names)."""
        stage = self.stage
        allowed: list[str] = []
        if stage is Stage.INCIDENT_RECORDED:
            allowed.append("notify_panel")
        elif stage is Stage.PANEL_NOTIFIED:
            allowed.append("complete_rapid_review")
        elif stage is Stage.RAPID_REVIEW_COMPLETED:
            allowed.append("record_local_decision")
        elif stage is Stage.DECIDED:
            allowed.append("commission_reviewer" if self.conduct_review else "close_review")
        elif stage is Stage.REVIEWER_COMMISSIONED:
            allowed.append("record_finding")
            if self.findings:
                allowed.append("record_recommendation")
            if self.recommendations:
                allowed.append("submit_report")
        elif stage is Stage.REPORT_SUBMITTED:
            allowed.append("record_scrutiny")
        elif stage is Stage.SCRUTINISED:
            allowed.append("sign_off")
        elif stage is Stage.SIGNED_OFF:
            allowed += ["send_to_panel", "defer_publication"]
        elif stage is Stage.SENT_TO_PANEL:
            allowed += ["publish", "defer_publication"]
        elif stage is Stage.PUBLISHED:
            allowed.append("close_review")
        if stage is not Stage.INCIDENT_RECORDED and self.panel_decision is None:
            allowed.append("record_panel_decision")
        allowed.append("correct_date")
        return allowed

    def deadlines(
        self, today: date,
        rapid_review_clock: RapidReviewClock | str = RapidReviewClock.AWARENESS,
    ) -> list[Deadline]:
        """The statutory deadlines that apply now, from the (corrected) key dates."""
        return review_deadlines(
            today=today, aware_on=self._dates["aware_on"], notified_on=self.notified_on,
            rapid_review_on=self.rapid_review_on, decided_on=self.decided_on,
            conduct_review=self.conduct_review, sent_on=self.sent_on,
            published_on=self.published_on, publication_deferred=self.publication_deferred,
            rapid_review_clock=rapid_review_clock,
        )

    # ---- checks -----------------------------------------------------------------------
    def _why_not(self, command: str) -> str:
        if command == "record_panel_decision" and self.panel_decision is not None:
            return " and the National Panel's decision is already recorded"
        if command == "submit_report" and self.stage is Stage.REVIEWER_COMMISSIONED:
            return " and has no recommendations yet (a report needs at least one)"
        if command == "record_recommendation" and self.stage is Stage.REVIEWER_COMMISSIONED:
            return " and has no findings yet (a recommendation rests on findings)"
        if command == "commission_reviewer" and self.stage is Stage.DECIDED:
            return " with a decision not to conduct a review"
        if command == "close_review" and self.stage is Stage.DECIDED:
            return " with a decision to conduct a review (it closes once published)"
        return ""

    def check_allowed(self, command: str) -> None:
        allowed = self.allowed_next()
        if command not in allowed:
            raise WrongStage(
                f"review {self.reference} is at stage {self.stage.value}"
                f"{self._why_not(command)}; cannot {command}; "
                f"allowed next: {', '.join(allowed)}"
            )

    def check_date_order(self, field: str, day: date, *, input_field: str) -> None:
        """Keep the key dates in process order around `field` set to `day`."""
        index = KEY_DATES.index(field)
        for earlier in KEY_DATES[:index]:
            recorded = self._dates.get(earlier)
            if recorded is not None and day < recorded:
                raise InvalidInput(
                    f"{field} {day} would be before {earlier} {recorded}", field=input_field
                )
        for later in KEY_DATES[index + 1:]:
            recorded = self._dates.get(later)
            if recorded is not None and day > recorded:
                raise InvalidInput(
                    f"{field} {day} would be after {later} {recorded}", field=input_field
                )

    def check_step_date(self, occurred_on: date, not_before: str) -> None:
        """A step that records no key date still cannot precede the one it follows."""
        self.check_business_date(occurred_on)
        recorded = self._dates.get(not_before)
        if recorded is not None and occurred_on < recorded:
            raise InvalidInput(
                f"occurred_on {occurred_on} is before {not_before} {recorded}",
                field="occurred_on",
            )

    def _check_stage_step(self, command: str, field: str, occurred_on: date) -> None:
        self.check_allowed(command)
        check_not_future(occurred_on)
        self.check_date_order(field, occurred_on, input_field="occurred_on")

    def _note_entry(self, entry: str, item_id: UUID | None) -> None:
        # Applied before the library bumps the version: this event is version + 1.
        self._entries = {**self._entries, self.version + 1: (entry, item_id)}

    def _set_date(self, field: str, day: date) -> None:
        # Applied before the library bumps the version: this event is version + 1.
        self._dates = {**self._dates, field: day}
        self._date_versions = {**self._date_versions, field: self.version + 1}

    # ---- commands ---------------------------------------------------------------------
    def notify_panel(self, *, actor: Actor, occurred_on: date) -> None:
        self._check_stage_step("notify_panel", "notified_on", occurred_on)
        self._panel_notified(actor=actor, occurred_on=occurred_on)

    @event("PanelNotified")
    def _panel_notified(self, *, actor: Actor, occurred_on: date) -> None:
        self._set_date("notified_on", occurred_on)
        self.stage = Stage.PANEL_NOTIFIED

    def complete_rapid_review(self, *, actor: Actor, occurred_on: date, summary: str) -> None:
        self._check_stage_step("complete_rapid_review", "rapid_review_on", occurred_on)
        self._rapid_review_completed(actor=actor, occurred_on=occurred_on,
                                     summary=require_text(summary, "summary"))

    @event("RapidReviewCompleted")
    def _rapid_review_completed(self, *, actor: Actor, occurred_on: date, summary: str) -> None:
        self._set_date("rapid_review_on", occurred_on)
        self.rapid_review_summary = summary
        self.stage = Stage.RAPID_REVIEW_COMPLETED

    def record_local_decision(
        self, *, actor: Actor, occurred_on: date, conduct_review: bool, criteria: list[str],
        rationale: str,
    ) -> None:
        self._check_stage_step("record_local_decision", "decided_on", occurred_on)
        conduct = check_flag(conduct_review, "conduct_review")
        self._local_decision_made(
            actor=actor, occurred_on=occurred_on, conduct_review=conduct,
            criteria=check_criteria(criteria, LocalCriterion, conduct,
                                    "a local child safeguarding practice review",
                                    "regulation 11"),
            rationale=require_text(rationale, "rationale"),
        )

    @event("LocalDecisionMade")
    def _local_decision_made(
        self, *, actor: Actor, occurred_on: date, conduct_review: bool, criteria: list[str],
        rationale: str,
    ) -> None:
        self._set_date("decided_on", occurred_on)
        self._note_entry("local_decision", None)
        self.local_decision = Decision(conduct_review, tuple(criteria), rationale, occurred_on)
        self.stage = Stage.DECIDED

    def record_panel_decision(
        self, *, actor: Actor, occurred_on: date, national_review: bool, criteria: list[str],
        rationale: str,
    ) -> None:
        self.check_allowed("record_panel_decision")
        self.check_step_date(occurred_on, "notified_on")
        national = check_flag(national_review, "national_review")
        self._national_panel_decision_recorded(
            actor=actor, occurred_on=occurred_on, national_review=national,
            criteria=check_criteria(criteria, PanelCriterion, national, "a national review",
                                    "the Panel's"),
            rationale=require_text(rationale, "rationale"),
        )

    @event("NationalPanelDecisionRecorded")
    def _national_panel_decision_recorded(
        self, *, actor: Actor, occurred_on: date, national_review: bool, criteria: list[str],
        rationale: str,
    ) -> None:
        self._note_entry("panel_decision", None)
        self.panel_decision = Decision(national_review, tuple(criteria), rationale, occurred_on)

    def commission_reviewer(self, *, actor: Actor, occurred_on: date, reviewer: str) -> None:
        self._check_stage_step("commission_reviewer", "commissioned_on", occurred_on)
        self._reviewer_commissioned(actor=actor, occurred_on=occurred_on,
                                    reviewer=require_text(reviewer, "reviewer",
                                                          max_length=_SHORT))

    @event("ReviewerCommissioned")
    def _reviewer_commissioned(self, *, actor: Actor, occurred_on: date, reviewer: str) -> None:
        self._set_date("commissioned_on", occurred_on)
        self.reviewer = reviewer
        self.stage = Stage.REVIEWER_COMMISSIONED

    def record_finding(
        self, *, actor: Actor, occurred_on: date, text: str, themes: list[str],
    ) -> UUID:
        self.check_allowed("record_finding")
        self.check_step_date(occurred_on, "commissioned_on")
        finding_id = uuid4()
        self._finding_recorded(actor=actor, occurred_on=occurred_on, finding_id=finding_id,
                               text=require_text(text, "text"), themes=check_themes(themes))
        return finding_id

    @event("FindingRecorded")
    def _finding_recorded(
        self, *, actor: Actor, occurred_on: date, finding_id: UUID, text: str,
        themes: list[str],
    ) -> None:
        self._note_entry("finding", finding_id)
        self.findings = [*self.findings, Finding(finding_id, text, tuple(themes))]

    def record_recommendation(
        self, *, actor: Actor, occurred_on: date, text: str, finding_ids: list[UUID],
    ) -> UUID:
        self.check_allowed("record_recommendation")
        self.check_step_date(occurred_on, "commissioned_on")
        ids = check_ids(finding_ids, "finding_ids")
        if not ids:
            raise InvalidInput("a recommendation must rest on at least one finding",
                               field="finding_ids")
        known = {f.id for f in self.findings}
        unknown = [str(i) for i in ids if i not in known]
        if unknown:
            raise InvalidInput(f"review {self.reference} has no finding {', '.join(unknown)}",
                               field="finding_ids")
        recommendation_id = uuid4()
        self._recommendation_recorded(
            actor=actor, occurred_on=occurred_on, recommendation_id=recommendation_id,
            text=require_text(text, "text"), finding_ids=ids,
        )
        return recommendation_id

    @event("RecommendationRecorded")
    def _recommendation_recorded(
        self, *, actor: Actor, occurred_on: date, recommendation_id: UUID, text: str,
        finding_ids: list[UUID],
    ) -> None:
        self._note_entry("recommendation", recommendation_id)
        self.recommendations = [
            *self.recommendations, Recommendation(recommendation_id, text, tuple(finding_ids))
        ]

    def submit_report(self, *, actor: Actor, occurred_on: date, summary: str) -> None:
        self._check_stage_step("submit_report", "submitted_on", occurred_on)
        self._report_submitted(actor=actor, occurred_on=occurred_on,
                               summary=require_text(summary, "summary"))

    @event("ReportSubmitted")
    def _report_submitted(self, *, actor: Actor, occurred_on: date, summary: str) -> None:
        self._set_date("submitted_on", occurred_on)
        self.report_summary = summary
        self.stage = Stage.REPORT_SUBMITTED

    def record_scrutiny(
        self, *, actor: Actor, occurred_on: date, outcome: str, challenge_id: UUID | None,
        notes: str = "",
    ) -> None:
        self._check_stage_step("record_scrutiny", "scrutinised_on", occurred_on)
        outcome = one_of(ScrutinyOutcome, outcome, "outcome")
        if outcome == ScrutinyOutcome.CHALLENGED and not isinstance(challenge_id, UUID):
            raise InvalidInput("a challenged outcome must name its challenge_id",
                               field="challenge_id")
        if outcome == ScrutinyOutcome.NO_CHALLENGE and challenge_id is not None:
            raise InvalidInput("an outcome of no_challenge has no challenge_id",
                               field="challenge_id")
        if not isinstance(notes, str) or len(notes) > 10_000:
            raise InvalidInput("notes must be text of at most 10000 characters", field="notes")
        self._scrutinised(actor=actor, occurred_on=occurred_on, outcome=outcome,
                          challenge_id=challenge_id, notes=notes.strip())

    @event("Scrutinised")
    def _scrutinised(
        self, *, actor: Actor, occurred_on: date, outcome: str, challenge_id: UUID | None,
        notes: str,
    ) -> None:
        self._set_date("scrutinised_on", occurred_on)
        self.scrutiny = Scrutiny(outcome, challenge_id, notes)
        self.stage = Stage.SCRUTINISED

    def sign_off(
        self, *, actor: Actor, occurred_on: date, meeting: str,
        checkpoint_size: int | None = None, checkpoint_root: str | None = None,
    ) -> None:
        self._check_stage_step("sign_off", "signed_off_on", occurred_on)
        if (checkpoint_size is None) != (checkpoint_root is None):
            raise InvalidInput("a checkpoint needs both its size and its root",
                               field="checkpoint_root")
        if checkpoint_size is not None and (
            isinstance(checkpoint_size, bool) or not isinstance(checkpoint_size, int)
            or checkpoint_size < 0
        ):
            raise InvalidInput("checkpoint_size must be a whole number, at least 0",
                               field="checkpoint_size")
        root = (None if checkpoint_root is None
                else require_text(checkpoint_root, "checkpoint_root", max_length=200))
        self._signed_off(actor=actor, occurred_on=occurred_on,
                         meeting=require_text(meeting, "meeting", max_length=_SHORT),
                         checkpoint_size=checkpoint_size, checkpoint_root=root)

    @event("SignedOff")
    def _signed_off(
        self, *, actor: Actor, occurred_on: date, meeting: str, checkpoint_size: int | None,
        checkpoint_root: str | None,
    ) -> None:
        self._set_date("signed_off_on", occurred_on)
        self.sign_off_record = SignOff(meeting, checkpoint_size, checkpoint_root)
        self.stage = Stage.SIGNED_OFF

    def send_to_panel(self, *, actor: Actor, occurred_on: date) -> None:
        self._check_stage_step("send_to_panel", "sent_on", occurred_on)
        self._sent_to_panel(actor=actor, occurred_on=occurred_on)

    @event("SentToPanel")
    def _sent_to_panel(self, *, actor: Actor, occurred_on: date) -> None:
        self._set_date("sent_on", occurred_on)
        self.stage = Stage.SENT_TO_PANEL

    def publish(self, *, actor: Actor, occurred_on: date, location: str) -> None:
        self._check_stage_step("publish", "published_on", occurred_on)
        self._published(actor=actor, occurred_on=occurred_on,
                        location=require_text(location, "location", max_length=_LOCATION))

    @event("Published")
    def _published(self, *, actor: Actor, occurred_on: date, location: str) -> None:
        self._set_date("published_on", occurred_on)
        self.publication_location = location
        self.stage = Stage.PUBLISHED

    def defer_publication(self, *, actor: Actor, occurred_on: date, reason: str) -> None:
        self.check_allowed("defer_publication")
        self.check_step_date(occurred_on, "signed_off_on")
        self._publication_deferred(actor=actor, occurred_on=occurred_on,
                                   reason=require_text(reason, "reason"))

    @event("PublicationDeferred")
    def _publication_deferred(self, *, actor: Actor, occurred_on: date, reason: str) -> None:
        self.publication_deferrals = [*self.publication_deferrals, reason]

    def correct_date(
        self, *, actor: Actor, occurred_on: date, field: str, corrected: date, reason: str,
    ) -> None:
        self.check_allowed("correct_date")
        self.check_business_date(occurred_on)
        field = one_of(CorrectableDate, field, "field")
        previous = self._dates.get(field)
        if previous is None:
            raise InvalidInput(f"review {self.reference} has no {field} to correct",
                               field="field")
        check_not_future(corrected, "corrected")
        if corrected == previous:
            raise InvalidInput(f"{field} is already {previous}", field="corrected")
        self.check_date_order(field, corrected, input_field="corrected")
        self._date_corrected(
            actor=actor, occurred_on=occurred_on, corrects_version=self._date_versions[field],
            field=field, previous=previous, corrected=corrected,
            reason=require_text(reason, "reason"),
        )

    @event("DateCorrected")
    def _date_corrected(
        self, *, actor: Actor, occurred_on: date, corrects_version: int, field: str,
        previous: date, corrected: date, reason: str,
    ) -> None:
        self._set_date(field, corrected)
        self.corrections = [
            *self.corrections,
            DateCorrection(field, previous, corrected, reason, corrects_version, occurred_on),
        ]

    # ---- corrections of entries ------------------------------------------------------
    def _entry_value(self, entry: str, item_id: UUID | None, field: str) -> Any:
        if entry == "local_decision":
            return getattr(self.local_decision, field)
        if entry == "panel_decision":
            return getattr(self.panel_decision, field)
        items = self.findings if entry == "finding" else self.recommendations
        return getattr(next(i for i in items if i.id == item_id), field)

    def _item(self, entry: str, item_id: UUID | None) -> Finding | Recommendation | None:
        items = {"finding": self.findings, "recommendation": self.recommendations}.get(entry)
        return next((i for i in items if i.id == item_id), None) if items else None

    def _themes_of(self, entry: str, item_id: UUID | None) -> list[str]:
        item = self._item(entry, item_id)
        return list(item.themes) if isinstance(item, Finding) else []

    def correct_entry(
        self, *, actor: Actor, occurred_on: date, corrects_version: int, field: str,
        corrected: Any, reason: str, approved_by: str,
    ) -> None:
        """Correct a decision's rationale or criteria, or a finding's or recommendation's
        text, naming the version of the event that recorded it."""
        self.check_business_date(occurred_on)
        entry, item_id = check_version(self._entries, corrects_version,
                                       "a decision, finding or recommendation")
        field = check_field(field, CORRECTABLE[entry], entry)
        item = self._item(entry, item_id)
        if item is not None and item.retracted:
            raise WrongStage(f"that {entry} was retracted; it cannot be corrected")
        previous = self._entry_value(entry, item_id, field)
        if field == "criteria":
            decision = self.local_decision if entry == "local_decision" else self.panel_decision
            assert decision is not None
            local = entry == "local_decision"
            value: Any = check_criteria(
                corrected, LocalCriterion if local else PanelCriterion, decision.conduct,
                "a local child safeguarding practice review" if local else "a national review",
                "regulation 11" if local else "the Panel's")
            previous = list(previous)
        else:
            value = require_text(corrected, "corrected")
        check_changed(previous, value, field)
        why, approver = check_approval(reason, approved_by)
        self._entry_corrected(
            actor=actor, occurred_on=occurred_on, corrects_version=corrects_version,
            entry=entry, item_id=item_id, field=field, previous=previous, corrected=value,
            reason=why, approved_by=approver, themes=self._themes_of(entry, item_id))

    @event("EntryCorrected")
    def _entry_corrected(
        self, *, actor: Actor, occurred_on: date, corrects_version: int, entry: str,
        item_id: UUID | None, field: str, previous: Any, corrected: Any, reason: str,
        approved_by: str, themes: list[str],
    ) -> None:
        value = tuple(corrected) if field == "criteria" else corrected

        def fix(item: Any) -> Any:
            return replace(item, **{field: value},
                           corrected_fields=tuple(dict.fromkeys(
                               (*item.corrected_fields, field))))

        if entry == "local_decision":
            self.local_decision = fix(self.local_decision)
        elif entry == "panel_decision":
            self.panel_decision = fix(self.panel_decision)
        elif entry == "finding":
            self.findings = [fix(f) if f.id == item_id else f for f in self.findings]
        else:
            self.recommendations = [fix(r) if r.id == item_id else r
                                    for r in self.recommendations]
        self.entry_corrections = [*self.entry_corrections, EntryCorrection(
            corrects_version, entry, item_id, field, previous, corrected, False, reason,
            approved_by, occurred_on, actor.user_id)]

    def retract_entry(
        self, *, actor: Actor, occurred_on: date, corrects_version: int, reason: str,
        approved_by: str,
    ) -> None:
        """Retract a finding or recommendation recorded in error (it stays in the history,
        marked retracted)."""
        self.check_business_date(occurred_on)
        entry, item_id = check_version(self._entries, corrects_version,
                                       "a finding or recommendation")
        if entry not in RETRACTABLE:
            raise InvalidInput(
                f"a {entry.replace('_', ' ')} is corrected, not retracted (the review's stage "
                "rests on it)", field="corrects_version")
        item = self._item(entry, item_id)
        assert item is not None
        if item.retracted:
            raise InvalidInput(f"that {entry} is already retracted", field="corrects_version")
        why, approver = check_approval(reason, approved_by)
        self._entry_retracted(
            actor=actor, occurred_on=occurred_on, corrects_version=corrects_version,
            entry=entry, item_id=item_id, previous=item.text, reason=why,
            approved_by=approver, themes=self._themes_of(entry, item_id))

    @event("EntryRetracted")
    def _entry_retracted(
        self, *, actor: Actor, occurred_on: date, corrects_version: int, entry: str,
        item_id: UUID | None, previous: str, reason: str, approved_by: str,
        themes: list[str],
    ) -> None:
        if entry == "finding":
            self.findings = [replace(f, retracted=True) if f.id == item_id else f
                             for f in self.findings]
        else:
            self.recommendations = [replace(r, retracted=True) if r.id == item_id else r
                                    for r in self.recommendations]
        self.entry_corrections = [*self.entry_corrections, EntryCorrection(
            corrects_version, entry, item_id, "entry", previous, None, True, reason,
            approved_by, occurred_on, actor.user_id)]

    def close_review(self, *, actor: Actor, occurred_on: date, reason: str) -> None:
        self._check_stage_step("close_review", "closed_on", occurred_on)
        self._closed(actor=actor, occurred_on=occurred_on, reason=require_text(reason, "reason"))

    @event("Closed")
    def _closed(self, *, actor: Actor, occurred_on: date, reason: str) -> None:
        self._set_date("closed_on", occurred_on)
        self.close_reason = reason
        self.stage = Stage.CLOSED


    def erase_text(self, *, actor: Actor, occurred_on: date, reason: str, basis: str) -> None:
        """Record that the review's free text (and its actions' and challenges') is made
        unreadable: the use case then destroys the review's data key. At any stage, once."""
        self.check_business_date(occurred_on)
        if self.erasure is not None:
            raise WrongStage(f"review {self.reference}'s text was already erased on "
                             f"{self.erasure.erased_on}")
        self._text_erased(actor=actor, occurred_on=occurred_on,
                          reason=require_text(reason, "reason", max_length=2000),
                          basis=one_of(ErasureBasis, basis, "basis"))

    @event("TextErased")
    def _text_erased(self, *, actor: Actor, occurred_on: date, reason: str,
                     basis: str) -> None:
        self.erasure = Erasure(occurred_on, reason, basis, actor.user_id)


# ---- the reference index ----------------------------------------------------------------
_REFERENCE_NS = uuid5(NAMESPACE_URL, "urn:safeguarding-ledger:review-reference")


def reference_id(reference: str) -> UUID:
    """References are unique regardless of case and surrounding spaces."""
    return uuid5(_REFERENCE_NS, reference.strip().casefold())


class ReviewReference(LedgerAggregate):
    """Claims a reference for one review. Saved with the review, so a second review with the
    same reference cannot be recorded even when two requests race."""

    @staticmethod
    def create_id(*, reference: str, **_: Any) -> UUID:
        return reference_id(reference)

    @event("Indexed")
    def __init__(self, *, actor: Actor, occurred_on: date, reference: str,
                 review_id: UUID) -> None:
        self.reference = reference
        self.review_id = review_id
