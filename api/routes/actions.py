"""Actions: assigned by the SCB manager, reported on by the owning agency, assured or rejected,
escalated to the Board; state and history. Agency leads read only their own agency's actions."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from fastapi import APIRouter, Response

from api.commands import as_left, etag, run_command
from api.deps import ContextDep, LedgerDep, ReaderDep
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.params import AsOfQuery, VersionQuery, aware
from api.routes import board
from api.schemas.actions import (
    ActionIn,
    ActionOut,
    AssuranceIn,
    BoardOutcomeIn,
    ClaimIn,
    DueDateIn,
    EscalationIn,
    EvidenceRetractionIn,
    ImpactIn,
    ProgressIn,
)
from api.schemas.common import DatedReasonIn, EntryCorrectionIn, History, HistoryEntryOut
from domain.action import Action
from domain.actors import Actor
from domain.application import Outcome
from domain.ledger import Ledger

router = APIRouter(prefix="/actions", tags=["actions"])

# The simple list is the Board's read model under the resource's own path (one endpoint,
# two addresses): filters, CSV, as_of / position / min_position and agency scoping included.
router.add_api_route("", board.board_actions, methods=["GET"], response_model=board.ActionsPage,
                     responses=board.responses(), summary="List actions")


def _render(ledger: Ledger) -> Callable[[Outcome], ActionOut]:
    return lambda o: ActionOut.of(as_left(o, ledger.get_action))


def _readable(actor: Actor, action: Action, ledger: Ledger) -> Action:
    """An agency lead sees only its own agency's actions, a user who belongs to partnerships
    only those of their partnerships' reviews (403 otherwise); others see all."""
    actor.require_agency(action.agency_id, "read actions")
    if actor.partnerships:
        actor.require_partnership(ledger.get_review(action.review_id).partnership,
                                  "read the actions")
    return action


@router.post("", status_code=201, response_model=ActionOut, responses=WRITE_ERRORS)
def assign_action(body: ActionIn, ledger: LedgerDep, ctx: ContextDep) -> Response:
    return run_command(
        ledger, ctx,
        lambda: ledger.assign_action(
            ctx, review_id=body.review_id, recommendation_id=body.recommendation_id,
            agency_id=body.agency_id, description=body.description,
            measure_of_success=body.measure_of_success, due_on=body.due_on,
            milestones=body.milestones, occurred_on=body.occurred_on),
        _render(ledger), status=201, location=lambda o: f"/actions/{o.id}",
    )


@router.get("/{action_id}", response_model=ActionOut, responses=READ_ERRORS)
def get_action(action_id: UUID, ledger: LedgerDep, actor: ReaderDep,
               version: VersionQuery = None, as_of: AsOfQuery = None) -> Response:
    action = _readable(actor, ledger.get_action(action_id, version=version, as_of=aware(as_of)),
                       ledger)
    return board.answer(ActionOut.of(action), {"ETag": etag(action.version)})


@router.get("/{action_id}/history", response_model=History, responses=READ_ERRORS)
def action_history(action_id: UUID, ledger: LedgerDep, actor: ReaderDep) -> Response:
    action, history = ledger.action_with_history(action_id)
    _readable(actor, action, ledger)
    return board.answer(History(id=action_id, entries=[HistoryEntryOut.of(e) for e in history]))


@router.post("/{action_id}/progress", response_model=ActionOut, responses=WRITE_ERRORS)
def report_progress(action_id: UUID, body: ProgressIn, ledger: LedgerDep,
                    ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.report_progress(
        ctx, action_id, narrative=body.narrative, rag=body.rag.value, evidence=body.evidence,
        occurred_on=body.occurred_on), _render(ledger))


@router.post("/{action_id}/completion-claim", response_model=ActionOut, responses=WRITE_ERRORS)
def claim_completion(action_id: UUID, body: ClaimIn, ledger: LedgerDep,
                     ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.claim_completion(
        ctx, action_id, narrative=body.narrative, evidence=body.evidence,
        occurred_on=body.occurred_on), _render(ledger))


@router.post("/{action_id}/assurance", response_model=ActionOut, responses=WRITE_ERRORS)
def assure_completion(action_id: UUID, body: AssuranceIn, ledger: LedgerDep,
                      ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.assure_completion(
        ctx, action_id, comments=body.comments, occurred_on=body.occurred_on),
        _render(ledger))


@router.post("/{action_id}/completion-rejection", response_model=ActionOut,
             responses=WRITE_ERRORS)
def reject_completion(action_id: UUID, body: DatedReasonIn, ledger: LedgerDep,
                      ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.reject_completion(
        ctx, action_id, reason=body.reason, occurred_on=body.occurred_on), _render(ledger))


@router.post("/{action_id}/due-date", response_model=ActionOut, responses=WRITE_ERRORS)
def revise_due_date(action_id: UUID, body: DueDateIn, ledger: LedgerDep,
                    ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.revise_due_date(
        ctx, action_id, due_on=body.due_on, reason=body.reason, approved_by=body.approved_by,
        occurred_on=body.occurred_on), _render(ledger))


@router.post("/{action_id}/escalation", response_model=ActionOut, responses=WRITE_ERRORS)
def escalate_action(action_id: UUID, body: EscalationIn, ledger: LedgerDep,
                    ctx: ContextDep) -> Response:
    """One step up the escalation ladder: the sub-group, then the delegated safeguarding
    partners, then the lead safeguarding partners; the Board then holds the agency to
    account (board-outcome)."""
    return run_command(ledger, ctx, lambda: ledger.escalate_action(
        ctx, action_id, reason=body.reason,
        to_level=body.to_level.value if body.to_level else None,
        occurred_on=body.occurred_on), _render(ledger))


@router.post("/{action_id}/board-outcome", response_model=ActionOut, responses=WRITE_ERRORS)
def hold_to_account(action_id: UUID, body: BoardOutcomeIn, ledger: LedgerDep,
                    ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.hold_to_account(
        ctx, action_id, outcome=body.outcome, meeting=body.meeting,
        occurred_on=body.occurred_on), _render(ledger))


@router.post("/{action_id}/impact", response_model=ActionOut, responses=WRITE_ERRORS)
def evaluate_impact(action_id: UUID, body: ImpactIn, ledger: LedgerDep,
                    ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.evaluate_impact(
        ctx, action_id, impact=body.impact.value, narrative=body.narrative,
        occurred_on=body.occurred_on), _render(ledger))


@router.post("/{action_id}/withdrawal", response_model=ActionOut, responses=WRITE_ERRORS)
def withdraw_action(action_id: UUID, body: DatedReasonIn, ledger: LedgerDep,
                    ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.withdraw_action(
        ctx, action_id, reason=body.reason, occurred_on=body.occurred_on), _render(ledger))


@router.post("/{action_id}/corrections", response_model=ActionOut, responses=WRITE_ERRORS)
def correct_entry(action_id: UUID, body: EntryCorrectionIn, ledger: LedgerDep,
                  ctx: ContextDep) -> Response:
    """Correct a progress report's or completion claim's narrative or evidence, naming the
    version of the event that recorded it, why and who approved."""
    return run_command(ledger, ctx, lambda: ledger.correct_action_entry(
        ctx, action_id, corrects_version=body.corrects_version, field=body.field,
        corrected=body.corrected, reason=body.reason, approved_by=body.approved_by,
        occurred_on=body.occurred_on), _render(ledger))


@router.post("/{action_id}/evidence-retractions", response_model=ActionOut,
             responses=WRITE_ERRORS)
def retract_evidence(action_id: UUID, body: EvidenceRetractionIn, ledger: LedgerDep,
                     ctx: ContextDep) -> Response:
    """Retract one evidence reference of a progress report or completion claim."""
    return run_command(ledger, ctx, lambda: ledger.retract_action_evidence(
        ctx, action_id, corrects_version=body.corrects_version, reference=body.reference,
        reason=body.reason, approved_by=body.approved_by, occurred_on=body.occurred_on),
        _render(ledger))
