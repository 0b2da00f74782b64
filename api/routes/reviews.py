"""Reviews: a serious incident recorded, then each step of the review process as a sub-resource
(POST /reviews/{id}/rapid-review, /sign-off, /publication, ...); state with deadlines, and
history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import UUID

from fastapi import APIRouter, Response

from api.commands import as_left, etag, run_command
from api.deps import ContextDep, IntegrityDep, LedgerDep, ReaderDep, SettingsDep
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.params import AsOfQuery, VersionQuery, aware
from api.routes import board
from api.schemas.common import (
    DatedReasonIn,
    EntryCorrectionIn,
    EntryRetractionIn,
    History,
    HistoryEntryOut,
)
from api.schemas.reviews import (
    DateCorrectionIn,
    DateOnlyIn,
    ErasureIn,
    FindingIn,
    FindingOut,
    IncidentIn,
    LocalDecisionIn,
    PanelDecisionIn,
    PublicationIn,
    RecommendationIn,
    RecommendationOut,
    RecordedFindingOut,
    RecordedRecommendationOut,
    ReviewerIn,
    ReviewOut,
    ScrutinyIn,
    SignOffIn,
    SummaryIn,
)
from api.settings import Settings
from domain import clock
from domain.application import Outcome
from domain.ledger import Ledger
from domain.review import Review

router = APIRouter(prefix="/reviews", tags=["reviews"])

# The simple list is the Board's read model under the resource's own path (one endpoint,
# two addresses): filters, CSV, as_of / position / min_position and agency scoping included.
router.add_api_route("", board.board_reviews, methods=["GET"], response_model=board.ReviewsOut,
                     responses=board.responses(), summary="List reviews")


def _out(review: Review, settings: Settings, today: date | None = None) -> ReviewOut:
    return ReviewOut.of(review, today=today or clock.today(),
                        rapid_review_clock=settings.rapid_review_clock)


def _render(ledger: Ledger, settings: Settings) -> Callable[[Outcome], ReviewOut]:
    return lambda o: _out(as_left(o, ledger.get_review), settings)


@router.post("", status_code=201, response_model=ReviewOut, responses=WRITE_ERRORS)
def record_incident(body: IncidentIn, ledger: LedgerDep, settings: SettingsDep,
                    ctx: ContextDep) -> Response:
    return run_command(
        ledger, ctx,
        lambda: ledger.record_incident(
            ctx, reference=body.reference, partnership=body.partnership,
            local_authority_area=body.local_authority_area, age_band=body.age_band.value,
            harm=body.harm.value, category=body.category.value,
            legal_status=body.legal_status.value, agencies_involved=body.agencies_involved,
            occurred_on=body.occurred_on),
        _render(ledger, settings), status=201, location=lambda o: f"/reviews/{o.id}",
    )


@router.get("/{review_id}", response_model=ReviewOut, responses=READ_ERRORS)
def get_review(review_id: UUID, ledger: LedgerDep, settings: SettingsDep, actor: ReaderDep,
               version: VersionQuery = None, as_of: AsOfQuery = None) -> Response:
    moment = aware(as_of)
    review = ledger.get_review(review_id, version=version, as_of=moment)
    actor.require_partnership(review.partnership, "read the reviews")
    # As of a past moment, the deadlines are assessed as they stood on that day.
    return board.answer(_out(review, settings, moment.date() if moment else None),
                        {"ETag": etag(review.version)})


@router.get("/{review_id}/history", response_model=History, responses=READ_ERRORS)
def review_history(review_id: UUID, ledger: LedgerDep, actor: ReaderDep) -> History:
    actor.require_partnership(ledger.get_review(review_id).partnership, "read the reviews")
    return History(id=review_id, entries=[HistoryEntryOut.of(e) for e in
                                           ledger.review_history(review_id)])


@router.post("/{review_id}/panel-notification", response_model=ReviewOut,
             responses=WRITE_ERRORS)
def notify_panel(review_id: UUID, ledger: LedgerDep, settings: SettingsDep, ctx: ContextDep,
                 body: DateOnlyIn | None = None) -> Response:
    on = body.occurred_on if body else None
    return run_command(ledger, ctx, lambda: ledger.notify_panel(ctx, review_id, occurred_on=on),
                       _render(ledger, settings))


@router.post("/{review_id}/rapid-review", response_model=ReviewOut, responses=WRITE_ERRORS)
def complete_rapid_review(review_id: UUID, body: SummaryIn, ledger: LedgerDep,
                          settings: SettingsDep, ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.complete_rapid_review(
        ctx, review_id, summary=body.summary, occurred_on=body.occurred_on),
        _render(ledger, settings))


@router.post("/{review_id}/local-decision", response_model=ReviewOut, responses=WRITE_ERRORS)
def record_local_decision(review_id: UUID, body: LocalDecisionIn, ledger: LedgerDep,
                          settings: SettingsDep, ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.record_local_decision(
        ctx, review_id, conduct_review=body.conduct_review,
        criteria=[c.value for c in body.criteria], rationale=body.rationale,
        occurred_on=body.occurred_on), _render(ledger, settings))


@router.post("/{review_id}/panel-decision", response_model=ReviewOut, responses=WRITE_ERRORS)
def record_panel_decision(review_id: UUID, body: PanelDecisionIn, ledger: LedgerDep,
                          settings: SettingsDep, ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.record_panel_decision(
        ctx, review_id, national_review=body.national_review,
        criteria=[c.value for c in body.criteria], rationale=body.rationale,
        occurred_on=body.occurred_on), _render(ledger, settings))


@router.post("/{review_id}/reviewer", response_model=ReviewOut, responses=WRITE_ERRORS)
def commission_reviewer(review_id: UUID, body: ReviewerIn, ledger: LedgerDep,
                        settings: SettingsDep, ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.commission_reviewer(
        ctx, review_id, reviewer=body.reviewer, occurred_on=body.occurred_on),
        _render(ledger, settings))


@router.post("/{review_id}/findings", status_code=201, response_model=RecordedFindingOut,
             responses=WRITE_ERRORS)
def record_finding(review_id: UUID, body: FindingIn, ledger: LedgerDep,
                   settings: SettingsDep, ctx: ContextDep) -> Response:
    def command() -> Outcome:
        return ledger.record_finding(ctx, review_id, text=body.text, themes=body.themes,
                                     occurred_on=body.occurred_on).outcome

    def render(o: Outcome) -> RecordedFindingOut:
        # The version a finding was recorded at ends with it, so a replay finds it again.
        review = as_left(o, ledger.get_review)
        return RecordedFindingOut(finding=FindingOut.of(review.findings[-1]),
                                  review=_out(review, settings))

    return run_command(ledger, ctx, command, render, status=201)


@router.post("/{review_id}/recommendations", status_code=201,
             response_model=RecordedRecommendationOut, responses=WRITE_ERRORS)
def record_recommendation(review_id: UUID, body: RecommendationIn, ledger: LedgerDep,
                          settings: SettingsDep, ctx: ContextDep) -> Response:
    def command() -> Outcome:
        return ledger.record_recommendation(ctx, review_id, text=body.text,
                                            finding_ids=body.finding_ids,
                                            occurred_on=body.occurred_on).outcome

    def render(o: Outcome) -> RecordedRecommendationOut:
        review = as_left(o, ledger.get_review)
        return RecordedRecommendationOut(
            recommendation=RecommendationOut.of(review.recommendations[-1]),
            review=_out(review, settings))

    return run_command(ledger, ctx, command, render, status=201)


@router.post("/{review_id}/report", response_model=ReviewOut, responses=WRITE_ERRORS)
def submit_report(review_id: UUID, body: SummaryIn, ledger: LedgerDep,
                  settings: SettingsDep, ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.submit_report(
        ctx, review_id, summary=body.summary, occurred_on=body.occurred_on),
        _render(ledger, settings))


@router.post("/{review_id}/scrutiny", response_model=ReviewOut, responses=WRITE_ERRORS)
def record_scrutiny(review_id: UUID, body: ScrutinyIn, ledger: LedgerDep,
                    settings: SettingsDep, ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.record_scrutiny(
        ctx, review_id, outcome=body.outcome.value, challenge_id=body.challenge_id,
        notes=body.notes, occurred_on=body.occurred_on), _render(ledger, settings))


@router.post("/{review_id}/sign-off", response_model=ReviewOut, responses=WRITE_ERRORS)
def sign_off(review_id: UUID, body: SignOffIn, ledger: LedgerDep, settings: SettingsDep,
             ctx: ContextDep, integrity: IntegrityDep) -> Response:
    """Sign off at a Board meeting. The sign-off records the integrity log's size and root as
    they stand (or an earlier size the body cites, checked), and a checkpoint of exactly that
    size is signed and recorded right after, so the minutes can cite a signed checkpoint."""

    def command() -> Outcome:
        size, root = integrity.cited_tree(body.checkpoint_size, body.checkpoint_root)
        outcome = ledger.sign_off(ctx, review_id, meeting=body.meeting, checkpoint_size=size,
                                  checkpoint_root=root, occurred_on=body.occurred_on)
        integrity.checkpoint_after(ctx.actor, size,
                                   reason=f"review {review_id} signed off at {body.meeting}")
        return outcome

    return run_command(ledger, ctx, command, _render(ledger, settings))


@router.post("/{review_id}/sent-to-panel", response_model=ReviewOut, responses=WRITE_ERRORS)
def send_to_panel(review_id: UUID, ledger: LedgerDep, settings: SettingsDep, ctx: ContextDep,
                  body: DateOnlyIn | None = None) -> Response:
    on = body.occurred_on if body else None
    return run_command(ledger, ctx, lambda: ledger.send_to_panel(ctx, review_id, occurred_on=on),
                       _render(ledger, settings))


@router.post("/{review_id}/publication", response_model=ReviewOut, responses=WRITE_ERRORS)
def publish(review_id: UUID, body: PublicationIn, ledger: LedgerDep, settings: SettingsDep,
            ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.publish(
        ctx, review_id, location=body.location, occurred_on=body.occurred_on),
        _render(ledger, settings))


@router.post("/{review_id}/publication-deferral", response_model=ReviewOut,
             responses=WRITE_ERRORS)
def defer_publication(review_id: UUID, body: DatedReasonIn, ledger: LedgerDep,
                      settings: SettingsDep, ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.defer_publication(
        ctx, review_id, reason=body.reason, occurred_on=body.occurred_on),
        _render(ledger, settings))


@router.post("/{review_id}/date-corrections", response_model=ReviewOut,
             responses=WRITE_ERRORS)
def correct_date(review_id: UUID, body: DateCorrectionIn, ledger: LedgerDep,
                 settings: SettingsDep, ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.correct_date(
        ctx, review_id, field=body.field.value, corrected=body.corrected, reason=body.reason,
        occurred_on=body.occurred_on), _render(ledger, settings))


@router.post("/{review_id}/corrections", response_model=ReviewOut, responses=WRITE_ERRORS)
def correct_entry(review_id: UUID, body: EntryCorrectionIn, ledger: LedgerDep,
                  settings: SettingsDep, ctx: ContextDep) -> Response:
    """Correct a decision's rationale or criteria, or a finding's or recommendation's text,
    naming the version of the event that recorded it, why and who approved."""
    return run_command(ledger, ctx, lambda: ledger.correct_review_entry(
        ctx, review_id, corrects_version=body.corrects_version, field=body.field,
        corrected=body.corrected, reason=body.reason, approved_by=body.approved_by,
        occurred_on=body.occurred_on), _render(ledger, settings))


@router.post("/{review_id}/retractions", response_model=ReviewOut, responses=WRITE_ERRORS)
def retract_entry(review_id: UUID, body: EntryRetractionIn, ledger: LedgerDep,
                  settings: SettingsDep, ctx: ContextDep) -> Response:
    """Retract a finding or recommendation recorded in error (it stays in the history)."""
    return run_command(ledger, ctx, lambda: ledger.retract_review_entry(
        ctx, review_id, corrects_version=body.corrects_version, reason=body.reason,
        approved_by=body.approved_by, occurred_on=body.occurred_on),
        _render(ledger, settings))


@router.post("/{review_id}/erasure", response_model=ReviewOut, responses=WRITE_ERRORS)
def erase_review_text(review_id: UUID, body: ErasureIn, ledger: LedgerDep,
                      settings: SettingsDep, ctx: ContextDep) -> Response:
    """Erase the review's free text (and its actions' and challenges'): records TextErased
    and destroys the review's data key. Counts, stages, dates and every proof are unchanged;
    every read shows the text as "[erased on <date>]"."""
    return run_command(ledger, ctx, lambda: ledger.erase_review_text(
        ctx, review_id, reason=body.reason, basis=body.basis, occurred_on=body.occurred_on),
        _render(ledger, settings))


@router.post("/{review_id}/closure", response_model=ReviewOut, responses=WRITE_ERRORS)
def close_review(review_id: UUID, body: DatedReasonIn, ledger: LedgerDep, settings: SettingsDep,
                 ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.close_review(
        ctx, review_id, reason=body.reason, occurred_on=body.occurred_on),
        _render(ledger, settings))
