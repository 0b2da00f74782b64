"""Professional challenge: raised by a partner or the scrutineer, answered by the agency it is
addressed to, escalated to the Board and resolved; state and history. Agency leads read only
the challenges addressed to their agency or raised by them."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from fastapi import APIRouter, Response

from api.commands import as_left, etag, run_command
from api.deps import ContextDep, LedgerDep, ReaderDep
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.params import AsOfQuery, VersionQuery, aware
from api.routes import board
from api.schemas.challenges import (
    ChallengeIn,
    ChallengeOut,
    EscalationIn,
    ResolutionIn,
    ResponseIn,
)
from api.schemas.common import History, HistoryEntryOut
from domain.actors import Actor, Role
from domain.application import Outcome
from domain.challenge import Challenge
from domain.errors import Forbidden
from domain.ledger import Ledger

router = APIRouter(prefix="/challenges", tags=["challenges"])

# The simple list is the Board's read model under the resource's own path (one endpoint,
# two addresses): filters, CSV, as_of / position / min_position and agency scoping included.
router.add_api_route("", board.board_challenges, methods=["GET"], response_model=board.ChallengesOut,
                     responses=board.responses(), summary="List challenges")


def _render(ledger: Ledger) -> Callable[[Outcome], ChallengeOut]:
    return lambda o: ChallengeOut.of(as_left(o, ledger.get_challenge))


def _readable(actor: Actor, challenge: Challenge, ledger: Ledger | None = None) -> Challenge:
    """An agency lead sees a challenge addressed to its agency or raised by itself (403
    otherwise); every other role reads everything."""
    if actor.role is Role.AGENCY_LEAD and not (
        challenge.addressed_to == actor.agency_id
        or challenge.raised_by.user_id == actor.user_id
    ):
        raise Forbidden("an agency lead may only read challenges addressed to their agency "
                        "or raised by them")
    if actor.partnerships and ledger is not None:
        review_id = (ledger.get_action(challenge.subject_id).review_id
                     if challenge.subject_type == "action_update" else challenge.subject_id)
        actor.require_partnership(ledger.get_review(review_id).partnership,
                                  "read the challenges")
    return challenge


@router.post("", status_code=201, response_model=ChallengeOut, responses=WRITE_ERRORS)
def raise_challenge(body: ChallengeIn, ledger: LedgerDep, ctx: ContextDep) -> Response:
    return run_command(
        ledger, ctx,
        lambda: ledger.raise_challenge(
            ctx, subject_type=body.subject_type.value, subject_id=body.subject_id,
            subject_version=body.subject_version, grounds=body.grounds,
            addressed_to=body.addressed_to, occurred_on=body.occurred_on),
        _render(ledger), status=201, location=lambda o: f"/challenges/{o.id}",
    )


@router.get("/{challenge_id}", response_model=ChallengeOut, responses=READ_ERRORS)
def get_challenge(challenge_id: UUID, ledger: LedgerDep, actor: ReaderDep, response: Response,
                  version: VersionQuery = None, as_of: AsOfQuery = None) -> ChallengeOut:
    challenge = _readable(actor, ledger.get_challenge(challenge_id, version=version,
                                                      as_of=aware(as_of)), ledger)
    response.headers["ETag"] = etag(challenge.version)
    return ChallengeOut.of(challenge)


@router.get("/{challenge_id}/history", response_model=History, responses=READ_ERRORS)
def challenge_history(challenge_id: UUID, ledger: LedgerDep, actor: ReaderDep) -> History:
    _readable(actor, ledger.get_challenge(challenge_id), ledger)
    return History(id=challenge_id, entries=[HistoryEntryOut.of(e) for e in
                                              ledger.challenge_history(challenge_id)])


@router.post("/{challenge_id}/response", response_model=ChallengeOut, responses=WRITE_ERRORS)
def respond_to_challenge(challenge_id: UUID, body: ResponseIn, ledger: LedgerDep,
                         ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.respond_to_challenge(
        ctx, challenge_id, response=body.response, occurred_on=body.occurred_on),
        _render(ledger))


@router.post("/{challenge_id}/escalation", response_model=ChallengeOut,
             responses=WRITE_ERRORS)
def escalate_challenge(challenge_id: UUID, body: EscalationIn, ledger: LedgerDep,
                       ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.escalate_challenge(
        ctx, challenge_id, to_stage=body.to_stage, reason=body.reason,
        occurred_on=body.occurred_on), _render(ledger))


@router.post("/{challenge_id}/resolution", response_model=ChallengeOut,
             responses=WRITE_ERRORS)
def resolve_challenge(challenge_id: UUID, body: ResolutionIn, ledger: LedgerDep,
                      ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.resolve_challenge(
        ctx, challenge_id, outcome=body.outcome.value, reason=body.reason,
        meeting=body.meeting, occurred_on=body.occurred_on), _render(ledger))
