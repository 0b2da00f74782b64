"""The Board's views: actions, agencies (accountability), reviews, challenges, themes.

Every answer says the log position it reflects. `min_position` waits (bounded) until the
views have caught up, so a client reads its own write (commands return X-Ledger-Position);
`as_of` or `position` answer as the ledger stood then. Each view is also CSV with
`Accept: text/csv`. Agency leads see only their own agency's rows.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import ReaderDep
from api.errors import READ_ERRORS, ServiceUnavailable
from api.routes.params import AsOfQuery, aware
from api.settings import ProjectionMode
from domain.actors import Actor, Role
from domain.errors import Forbidden, InvalidInput
from projections.board import At, Board
from projections.readside import ViewBehind, ViewStopped
from projections.service import ReadModels, open_read_models

router = APIRouter(prefix="/board", tags=["board"])
_open_lock = threading.Lock()


# ---- where the read models come from ---------------------------------------------------------

def get_read_models(request: Request) -> ReadModels:
    """The app's read models (opened by the lifespan; opened here on first use otherwise)."""
    state = request.app.state
    models = getattr(state, "read_models", None)
    if models is None:
        with _open_lock:
            models = getattr(state, "read_models", None)
            if models is None:
                models = open_read_models(
                    state.settings, state.ledger,
                    run_in_process=state.settings.projections is ProjectionMode.IN_PROCESS)
                state.read_models = models
    return models


def get_board(models: Annotated[ReadModels, Depends(get_read_models)]) -> Board:
    return models.board


BoardDep = Annotated[Board, Depends(get_board)]

PositionQuery = Annotated[int | None, Query(
    ge=0, le=2**62, description="answer as the ledger stood just after this log position")]
MinPositionQuery = Annotated[int | None, Query(
    ge=0, le=2**62, description="wait (bounded) until the views have applied this position, "
                                "e.g. the X-Ledger-Position a command returned")]


def at_params(as_of: AsOfQuery = None, position: PositionQuery = None,
              min_position: MinPositionQuery = None) -> At:
    """Which state of the ledger to answer from: now (after min_position), or the past."""
    if as_of is not None and position is not None:
        raise InvalidInput("give as_of or position, not both", field="as_of")
    return At(min_position=min_position, position=position, as_of=aware(as_of))


AtDep = Annotated[At, Depends(at_params)]


@contextmanager
def answering() -> Iterator[None]:
    """A stopped or lagging view is a 503 that names it, never a stale answer."""
    try:
        yield
    except ViewStopped as error:
        raise ServiceUnavailable(str(error)) from error
    except ViewBehind as error:
        raise ServiceUnavailable(str(error)) from error


LimitQuery = Annotated[int, Query(ge=1, le=100_000, description="rows per page")]
CursorQuery = Annotated[str | None, Query(max_length=200,
                                          description="next_cursor of the previous page")]


@contextmanager
def paging() -> Iterator[None]:
    with answering():
        try:
            yield
        except ValueError as error:
            raise InvalidInput(str(error), field="cursor") from error


def scope(actor: Actor, agency: UUID | None) -> str | None:
    """The agency filter an actor may use: agency leads only their own."""
    if actor.role is Role.AGENCY_LEAD:
        if agency is not None and agency != actor.agency_id:
            raise Forbidden("an agency lead may only read their own agency's rows")
        return str(actor.agency_id)
    return str(agency) if agency is not None else None


# ---- CSV ------------------------------------------------------------------------------------

def wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "")


def csv_response(items: list[dict[str, Any]], columns: list[str], position: int,
                 filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for item in items:
        writer.writerow([_cell(item.get(c)) for c in columns])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "X-Ledger-Position": str(position),
        "Content-Disposition": f'attachment; filename="{filename}.csv"'})


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def respond(request: Request, model: type[BaseModel], body: dict[str, Any],
            row_model: type[BaseModel], filename: str) -> Any:
    if wants_csv(request):
        return csv_response(body["items"], list(row_model.model_fields), body["position"],
                            filename)
    return model.model_validate(body)


CSV = {"text/csv": {"schema": {"type": "string"}, "description": "the same rows as CSV"}}


def responses() -> dict[int | str, dict[str, Any]]:
    return {**READ_ERRORS, 200: {"content": CSV}}


# ---- response models ------------------------------------------------------------------------

class Rag(StrEnum):
    ASSURED = "assured"
    COMPLETE_AWAITING_ASSURANCE = "complete_awaiting_assurance"
    OVERDUE = "overdue"
    AT_RISK = "at_risk"
    ON_TRACK = "on_track"
    WITHDRAWN = "withdrawn"


class ActionStatus(StrEnum):
    OPEN = "open"
    COMPLETION_CLAIMED = "completion_claimed"
    ASSURED = "assured"
    WITHDRAWN = "withdrawn"


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
    rag: Rag = Field(description="derived for today: assured, complete awaiting assurance, "
                                 "overdue, at risk, on track (or withdrawn)")
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
    escalated: bool = Field(description="escalated to the Board, awaiting its outcome")
    escalated_on: date | None
    held_to_account: int = Field(description="times the Board held the agency to account")
    impact: str | None
    withdrawn_on: date | None


class ActionsPage(BaseModel):
    position: int = Field(description="the last log position this answer reflects")
    today: date
    items: list[ActionRow]
    next_cursor: str | None = Field(description="pass as cursor for the next page")


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
    escalated: int = Field(description="actions escalated to the Board, awaiting its outcome")
    held_to_account: int = Field(description="actions the Board held the agency to account on")
    challenges_open: int = Field(description="open challenges addressed to the agency")
    challenges_total: int


class AgenciesOut(BaseModel):
    position: int
    today: date
    stalled_days: int
    items: list[AgencyRow]


class DeadlineOut(BaseModel):
    name: str
    description: str
    due_on: date
    status: str = Field(description="pending, met, missed or deferred")
    done_on: date | None
    working_days_late: int | None


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
    text: str
    recorded_on: date


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


# ---- routes ---------------------------------------------------------------------------------

@router.get("/actions", response_model=ActionsPage, responses=responses())
def board_actions(
    request: Request, board: BoardDep, actor: ReaderDep, at: AtDep,
    agency: UUID | None = None, review: UUID | None = None, status: ActionStatus | None = None,
    rag: Rag | None = None, overdue: bool | None = None,
    stalled_days: Annotated[int | None, Query(ge=0, le=36_500, description=(
        "open actions with no update for at least this many days"))] = None,
    limit: LimitQuery = 100, cursor: CursorQuery = None,
) -> Any:
    """Every action: state, owner agency (current name), review, due date, last update and a
    RAG derived for today. Most urgent due date first; `cursor` pages."""
    with paging():
        body = board.actions(
            at=at, agency_id=scope(actor, agency), review_id=str(review) if review else None,
            status=status.value if status else None, rag=rag.value if rag else None,
            overdue=overdue, stalled_days=stalled_days, limit=limit, cursor=cursor)
    return respond(request, ActionsPage, body, ActionRow, "actions")


@router.get("/agencies", response_model=AgenciesOut, responses=responses())
def board_agencies(
    request: Request, board: BoardDep, actor: ReaderDep, at: AtDep,
    stalled_days: Annotated[int | None, Query(ge=0, le=36_500, description=(
        "what 'stalled' means (default: the setting, 60)"))] = None,
) -> Any:
    """Per agency: actions open, overdue, stalled, completed on time, escalated, held to
    account; challenges addressed to it and open. The list the Board works from."""
    with answering():
        body = board.agencies(at=at, stalled_days=stalled_days, agency_id=scope(actor, None))
    return respond(request, AgenciesOut, body, AgencyRow, "agencies")


@router.get("/reviews", response_model=ReviewsOut, responses=responses())
def board_reviews(request: Request, board: BoardDep, actor: ReaderDep, at: AtDep,
                  stage: Annotated[str | None, Query(max_length=40)] = None,
                  limit: LimitQuery = 100, cursor: CursorQuery = None) -> Any:
    """Every review, newest first: stage, key dates, and each statutory deadline with its due
    date, status and working days late. Agency leads see the reviews their agency is in."""
    with paging():
        body = board.reviews(at=at, stage=stage, agency_id=scope(actor, None), limit=limit,
                             cursor=cursor)
    return respond(request, ReviewsOut, body, ReviewRow, "reviews")


@router.get("/challenges", response_model=ChallengesOut, responses=responses())
def board_challenges(
    request: Request, board: BoardDep, actor: ReaderDep, at: AtDep,
    status: Annotated[str | None, Query(pattern="^(open|resolved)$")] = None,
    agency: UUID | None = None, stage: Annotated[int | None, Query(ge=1, le=4)] = None,
    limit: LimitQuery = 100, cursor: CursorQuery = None,
) -> Any:
    """Open challenges first, then closed: stage, addressed-to agency, age and the current
    stage's wait, in working days. Agency leads see those addressed to their agency."""
    with paging():
        body = board.challenges(at=at, status=status, agency_id=scope(actor, agency),
                                stage=stage, limit=limit, cursor=cursor)
    return respond(request, ChallengesOut, body, ChallengeRow, "challenges")


@router.get("/themes", response_model=ThemesOut, responses=responses())
def board_themes(
    request: Request, board: BoardDep, _: ReaderDep, at: AtDep,
    theme: Annotated[str | None, Query(max_length=60, description=(
        "one theme, with its reviews and findings"))] = None,
    recurrent: bool = False,
) -> Any:
    """Each theme with the reviews and findings that carry it; recurrent in 2+ reviews."""
    with answering():
        body = board.themes(at=at, theme=theme, recurrent_only=recurrent)
    return respond(request, ThemesOut, body, ThemeRow, "themes")
