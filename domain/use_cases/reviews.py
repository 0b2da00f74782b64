"""Use cases for reviews: a serious incident and the review process that follows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain import clock
from domain.actors import Permission, Role
from domain.agency import Agency
from domain.application import Context, HistoryEntry, Outcome
from domain.errors import AlreadyExists, ConcurrentWrite, WrongStage
from domain.protection import SEALED_FIELDS, event_name, is_sealed, sealed_fields
from domain.review import Review, ReviewReference, reference_id
from domain.use_cases.partnerships import PartnershipChecks


@dataclass(frozen=True)
class Recorded:
    """The outcome of recording a finding or recommendation, with the new item's id."""

    outcome: Outcome
    item_id: UUID


@dataclass(frozen=True)
class RetentionDue:
    review_id: UUID
    reference: str
    closed_on: date
    retention_ended_on: date
    partnership: str = ""
    years: int = 0


@dataclass(frozen=True)
class StoredInClear:
    position: int
    originator_id: UUID
    event: str
    fields: tuple[str, ...]


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _holds_clear_text(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value) and not is_sealed(value)
    if isinstance(value, list | tuple):
        return any(_holds_clear_text(v) for v in value)
    return False


class ReviewUseCases(PartnershipChecks):
    def record_incident(
        self, ctx: Context, *, reference: str, partnership: str, local_authority_area: str,
        age_band: str, harm: str, category: str, legal_status: str,
        agencies_involved: list[UUID], occurred_on: date | None = None,
    ) -> Outcome:
        ctx.actor.require(Permission.MANAGE_REVIEWS, "record incidents")
        review = Review.record(
            actor=ctx.actor, occurred_on=occurred_on or clock.today(), reference=reference,
            partnership=partnership, local_authority_area=local_authority_area,
            age_band=age_band, harm=harm, category=category, legal_status=legal_status,
            agencies_involved=agencies_involved,
        )
        self.check_partnerships([review.partnership], "partnership")
        self._check_reference_free(review.reference)
        for agency_id in review.agencies_involved:
            self._load(Agency, agency_id, "agency")
        index = ReviewReference(actor=ctx.actor, occurred_on=clock.today(),
                                reference=review.reference, review_id=review.id)
        try:
            return self._save(ctx, review, index)
        except ConcurrentWrite:
            # The index is the only record a new review can collide on: a racing request
            # claimed the same reference first.
            self._check_reference_free(review.reference)
            raise

    def _check_reference_free(self, reference: str) -> None:
        if self.find_review_by_reference(reference) is not None:
            raise AlreadyExists(f"a review with reference {reference} already exists",
                                field="reference")

    def notify_panel(self, ctx: Context, review_id: UUID, *,
                     occurred_on: date | None = None) -> Outcome:
        review = self._review_for("notify the National Panel", ctx, review_id)
        review.notify_panel(actor=ctx.actor, occurred_on=occurred_on or clock.today())
        return self._save(ctx, review)

    def complete_rapid_review(self, ctx: Context, review_id: UUID, *, summary: str,
                              occurred_on: date | None = None) -> Outcome:
        review = self._review_for("complete rapid reviews", ctx, review_id)
        review.complete_rapid_review(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                                     summary=summary)
        return self._save(ctx, review)

    def record_local_decision(
        self, ctx: Context, review_id: UUID, *, conduct_review: bool, criteria: list[str],
        rationale: str, occurred_on: date | None = None,
    ) -> Outcome:
        review = self._review_for("record local decisions", ctx, review_id)
        review.record_local_decision(
            actor=ctx.actor, occurred_on=occurred_on or clock.today(),
            conduct_review=conduct_review, criteria=criteria, rationale=rationale,
        )
        return self._save(ctx, review)

    def record_panel_decision(
        self, ctx: Context, review_id: UUID, *, national_review: bool, criteria: list[str],
        rationale: str, occurred_on: date | None = None,
    ) -> Outcome:
        review = self._review_for("record National Panel decisions", ctx, review_id)
        review.record_panel_decision(
            actor=ctx.actor, occurred_on=occurred_on or clock.today(),
            national_review=national_review, criteria=criteria, rationale=rationale,
        )
        return self._save(ctx, review)

    def commission_reviewer(self, ctx: Context, review_id: UUID, *, reviewer: str,
                            occurred_on: date | None = None) -> Outcome:
        review = self._review_for("commission reviewers", ctx, review_id)
        review.commission_reviewer(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                                   reviewer=reviewer)
        return self._save(ctx, review)

    def record_finding(self, ctx: Context, review_id: UUID, *, text: str, themes: list[str],
                       occurred_on: date | None = None) -> Recorded:
        review = self._review_for("record findings", ctx, review_id)
        finding_id = review.record_finding(
            actor=ctx.actor, occurred_on=occurred_on or clock.today(), text=text, themes=themes,
        )
        return Recorded(self._save(ctx, review), finding_id)

    def record_recommendation(
        self, ctx: Context, review_id: UUID, *, text: str, finding_ids: list[UUID],
        occurred_on: date | None = None,
    ) -> Recorded:
        review = self._review_for("record recommendations", ctx, review_id)
        recommendation_id = review.record_recommendation(
            actor=ctx.actor, occurred_on=occurred_on or clock.today(), text=text,
            finding_ids=finding_ids,
        )
        return Recorded(self._save(ctx, review), recommendation_id)

    def submit_report(self, ctx: Context, review_id: UUID, *, summary: str,
                      occurred_on: date | None = None) -> Outcome:
        review = self._review_for("submit reports", ctx, review_id)
        review.submit_report(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                             summary=summary)
        return self._save(ctx, review)

    def record_scrutiny(
        self, ctx: Context, review_id: UUID, *, outcome: str, challenge_id: UUID | None = None,
        notes: str = "", occurred_on: date | None = None,
    ) -> Outcome:
        review = self._review_for("record scrutiny", ctx, review_id)
        review.record_scrutiny(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                               outcome=outcome, challenge_id=challenge_id, notes=notes)
        return self._save(ctx, review)

    def sign_off(
        self, ctx: Context, review_id: UUID, *, meeting: str,
        checkpoint_size: int | None = None, checkpoint_root: str | None = None,
        occurred_on: date | None = None,
    ) -> Outcome:
        ctx.actor.require(Permission.SIGN_OFF, "sign off reports")
        review = self._load_for_change(Review, review_id, "review", ctx)
        review.sign_off(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                        meeting=meeting, checkpoint_size=checkpoint_size,
                        checkpoint_root=checkpoint_root)
        return self._save(ctx, review)

    def send_to_panel(self, ctx: Context, review_id: UUID, *,
                      occurred_on: date | None = None) -> Outcome:
        review = self._review_for("send reports to the Panel", ctx, review_id)
        review.send_to_panel(actor=ctx.actor, occurred_on=occurred_on or clock.today())
        return self._save(ctx, review)

    def publish(self, ctx: Context, review_id: UUID, *, location: str,
                occurred_on: date | None = None) -> Outcome:
        review = self._review_for("publish reports", ctx, review_id)
        review.publish(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                       location=location)
        return self._save(ctx, review)

    def defer_publication(self, ctx: Context, review_id: UUID, *, reason: str,
                          occurred_on: date | None = None) -> Outcome:
        review = self._review_for("defer publication", ctx, review_id)
        review.defer_publication(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                                 reason=reason)
        return self._save(ctx, review)

    def correct_date(self, ctx: Context, review_id: UUID, *, field: str, corrected: date,
                     reason: str, occurred_on: date | None = None) -> Outcome:
        ctx.actor.require(Permission.CORRECT_ENTRIES, "correct review dates")
        review = self._load_for_change(Review, review_id, "review", ctx)
        review.correct_date(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                            field=field, corrected=corrected, reason=reason)
        return self._save(ctx, review)

    def correct_review_entry(
        self, ctx: Context, review_id: UUID, *, corrects_version: int, field: str,
        corrected: Any, reason: str, approved_by: str, occurred_on: date | None = None,
    ) -> Outcome:
        """Correct a decision's rationale or criteria, or a finding's or recommendation's
        text (the event at `corrects_version`)."""
        ctx.actor.require(Permission.CORRECT_ENTRIES, "correct entries")
        review = self._load_for_change(Review, review_id, "review", ctx)
        review.correct_entry(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                             corrects_version=corrects_version, field=field,
                             corrected=corrected, reason=reason, approved_by=approved_by)
        return self._save(ctx, review)

    def retract_review_entry(
        self, ctx: Context, review_id: UUID, *, corrects_version: int, reason: str,
        approved_by: str, occurred_on: date | None = None,
    ) -> Outcome:
        """Retract a finding or recommendation recorded in error."""
        ctx.actor.require(Permission.CORRECT_ENTRIES, "retract entries")
        review = self._load_for_change(Review, review_id, "review", ctx)
        review.retract_entry(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                             corrects_version=corrects_version, reason=reason,
                             approved_by=approved_by)
        return self._save(ctx, review)

    def close_review(self, ctx: Context, review_id: UUID, *, reason: str,
                     occurred_on: date | None = None) -> Outcome:
        review = self._review_for("close reviews", ctx, review_id)
        review.close_review(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                            reason=reason)
        return self._save(ctx, review)

    def erase_review_text(self, ctx: Context, review_id: UUID, *, reason: str, basis: str,
                          occurred_on: date | None = None) -> Outcome:
        """Make the review's free text (its actions' and challenges' too) unreadable: record
        TextErased, then destroy the review's data key. Counts, stages and dates stay; every
        hash still verifies (they cover the sealed bytes)."""
        if ctx.actor.role is not Role.OPERATOR:  # the CLI's operator runs retention
            ctx.actor.require(Permission.MANAGE_REVIEWS, "erase a review's text")
        if self.text_cipher is None:
            raise WrongStage("text protection is off (LEDGER_PROTECT_TEXT): the review's "
                             "text is stored in clear and cannot be erased by destroying a key")
        review = self._load_for_change(Review, review_id, "review", ctx)
        review.erase_text(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                          reason=reason, basis=basis)
        outcome = self._save(ctx, review)
        self.text_cipher.destroy(review_id, reason)
        return outcome

    def retention_due(self, today: date, years: int,
                      by_partnership: dict[str, int] | None = None) -> list[RetentionDue]:
        """Reviews closed more than `years` years before `today` (or their partnership's own
        period, `by_partnership`, by name regardless of case) whose text is not yet erased,
        from the log (Closed and TextErased events), oldest first."""
        closed: dict[UUID, date] = {}
        erased: set[UUID] = set()
        references: dict[UUID, str] = {}
        partnerships: dict[UUID, str] = {}
        schedule = {k.casefold(): v for k, v in (by_partnership or {}).items()}
        for row in self.iter_notifications():
            name = event_name(row.topic)
            if name not in ("Review.Closed", "Review.TextErased", "Review.IncidentRecorded"):
                continue
            event = self.view_mapper.to_domain_event(row)
            if name == "Review.Closed":
                closed[event.originator_id] = event.occurred_on
            elif name == "Review.TextErased":
                erased.add(event.originator_id)
            else:
                references[event.originator_id] = event.reference
                partnerships[event.originator_id] = event.partnership
        due = []
        for review_id, closed_on in closed.items():
            partnership = partnerships.get(review_id, "")
            period = schedule.get(partnership.casefold(), years)
            ends = _years_after(closed_on, period)
            if review_id not in erased and ends <= today:
                due.append(RetentionDue(review_id, references.get(review_id, ""), closed_on,
                                        ends, partnership, period))
        return sorted(due, key=lambda d: (d.retention_ended_on, d.reference))

    def stored_in_clear(self) -> list[StoredInClear]:
        """Events whose free text is stored in clear (recorded before text protection was
        on, or while it was off): they stay as they were; erasing a key cannot reach them."""
        found = []
        for row in self.iter_notifications():
            if event_name(row.topic) not in SEALED_FIELDS:
                continue
            state = vars(self.view_mapper.to_domain_event(row))
            fields = sealed_fields(event_name(row.topic), state)
            clear = [f for f in fields if _holds_clear_text(state.get(f))]
            if clear:
                found.append(StoredInClear(row.id, row.originator_id,
                                           event_name(row.topic), tuple(clear)))
        return found

    def erased_reviews(self) -> list[tuple[UUID, date]]:
        """Every review whose text was erased, from the log (the destruction list that a
        restored key store is reconciled with)."""
        found: list[tuple[UUID, date]] = []
        for row in self.iter_notifications():
            if row.topic.endswith("Review.TextErased"):
                erased = self.view_mapper.to_domain_event(row)
                found.append((erased.originator_id, erased.occurred_on))
        return found

    # ---- reading ----------------------------------------------------------------------
    def get_review(self, review_id: UUID, *, version: int | None = None,
                   as_of: datetime | None = None) -> Review:
        return self._load_at(Review, review_id, "review", version=version, as_of=as_of)

    def review_history(self, review_id: UUID) -> list[HistoryEntry]:
        return self._history(Review, review_id, "review")

    def find_review_by_reference(self, reference: str) -> UUID | None:
        if not isinstance(reference, str):
            return None
        try:  # an ill-formed reference was never recorded, so it simply finds nothing
            index = self.repository.get(reference_id(reference))
        except AggregateNotFoundError:
            return None
        return index.review_id if isinstance(index, ReviewReference) else None

    def _review_for(self, doing: str, ctx: Context, review_id: UUID) -> Review:
        ctx.actor.require(Permission.MANAGE_REVIEWS, doing)
        return self._load_for_change(Review, review_id, "review", ctx)
