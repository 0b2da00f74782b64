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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from api.deps import AtDep, BoardDep, ReaderDep
from api.errors import READ_ERRORS, ServiceUnavailable
from api.schemas.board import (
    ActionRow,
    ActionsPage,
    AgenciesOut,
    AgencyRow,
    ChallengeRow,
    ChallengesOut,
    ReviewRow,
    ReviewsOut,
    ThemeRow,
    ThemesOut,
)
from domain.action import ActionStatus, DerivedRag
from domain.actors import Actor, Role
from domain.errors import Forbidden, InvalidInput
from projections.readside import ViewBehind, ViewStopped

router = APIRouter(prefix="/board", tags=["board"])


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


PartnershipQuery = Annotated[str | None, Query(
    max_length=200, description="only this partnership's rows (a Board member who belongs to "
                                "partnerships sees only theirs)")]


def partnerships_for(actor: Actor, partnership: str | None) -> list[str] | None:
    """The partnership filter of a read: a user who belongs to partnerships reads only theirs
    (one of them if asked); others read all, or the one asked for."""
    mine = list(actor.partnerships)
    if mine:
        if partnership is None:
            return mine
        if partnership.strip().casefold() not in {p.casefold() for p in mine}:
            raise Forbidden(f"you read only the partnerships you belong to: {', '.join(mine)}")
        return [p for p in mine if p.casefold() == partnership.strip().casefold()]
    return [partnership] if partnership is not None else None


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


def answer(model: BaseModel, headers: dict[str, str] | None = None) -> Response:
    """A read's JSON, made in the route's thread from the model it was validated into. A
    model returned by a plain `def` route, FastAPI validates again, in another hop to the
    thread pool, before it serializes it; a Response it sends as it is. (The route keeps its
    response_model for the API's schema.)"""
    return Response(model.model_dump_json(by_alias=True), media_type="application/json",
                    headers=headers)


def respond(request: Request, model: type[BaseModel], body: dict[str, Any],
            row_model: type[BaseModel], filename: str) -> Response:
    if wants_csv(request):
        return csv_response(body["items"], list(row_model.model_fields), body["position"],
                            filename)
    return answer(model.model_validate(body))


CSV = {"text/csv": {"schema": {"type": "string"}, "description": "the same rows as CSV"}}


def responses() -> dict[int | str, dict[str, Any]]:
    return {**READ_ERRORS, 200: {"content": CSV}}


# ---- routes ---------------------------------------------------------------------------------

@router.get("/actions", response_model=ActionsPage, responses=responses())
def board_actions(
    request: Request, board: BoardDep, actor: ReaderDep, at: AtDep,
    agency: UUID | None = None, review: UUID | None = None, status: ActionStatus | None = None,
    rag: DerivedRag | None = None, overdue: bool | None = None,
    stalled_days: Annotated[int | None, Query(ge=0, le=36_500, description=(
        "open actions with no update for at least this many days"))] = None,
    limit: LimitQuery = 100, cursor: CursorQuery = None, partnership: PartnershipQuery = None,
) -> Any:
    """Every action: state, owner agency (current name), review, due date, last update and a
    RAG derived for today. Most urgent due date first; `cursor` pages."""
    with paging():
        body = board.actions(
            at=at, agency_id=scope(actor, agency), review_id=str(review) if review else None,
            status=status.value if status else None, rag=rag.value if rag else None,
            overdue=overdue, stalled_days=stalled_days, limit=limit, cursor=cursor,
            partnerships=partnerships_for(actor, partnership))
    return respond(request, ActionsPage, body, ActionRow, "actions")


@router.get("/agencies", response_model=AgenciesOut, responses=responses())
def board_agencies(
    request: Request, board: BoardDep, actor: ReaderDep, at: AtDep,
    stalled_days: Annotated[int | None, Query(ge=0, le=36_500, description=(
        "what 'stalled' means (default: the setting, 60)"))] = None,
    partnership: PartnershipQuery = None,
) -> Any:
    """Per agency: actions open, overdue, stalled, completed on time, escalated, held to
    account; challenges addressed to it and open. The list the Board works from."""
    with answering():
        body = board.agencies(at=at, stalled_days=stalled_days, agency_id=scope(actor, None),
                              partnerships=partnerships_for(actor, partnership))
    return respond(request, AgenciesOut, body, AgencyRow, "agencies")


@router.get("/reviews", response_model=ReviewsOut, responses=responses())
def board_reviews(request: Request, board: BoardDep, actor: ReaderDep, at: AtDep,
                  stage: Annotated[str | None, Query(max_length=40)] = None,
                  limit: LimitQuery = 100, cursor: CursorQuery = None,
                  partnership: PartnershipQuery = None) -> Any:
    """Every review, newest first: stage, key dates, and each statutory deadline with its due
    date, status and working days late. Agency leads see the reviews their agency is in."""
    with paging():
        body = board.reviews(at=at, stage=stage, agency_id=scope(actor, None), limit=limit,
                             cursor=cursor, partnerships=partnerships_for(actor, partnership))
    return respond(request, ReviewsOut, body, ReviewRow, "reviews")


@router.get("/challenges", response_model=ChallengesOut, responses=responses())
def board_challenges(
    request: Request, board: BoardDep, actor: ReaderDep, at: AtDep,
    status: Annotated[str | None, Query(pattern="^(open|resolved)$")] = None,
    agency: UUID | None = None, stage: Annotated[int | None, Query(ge=1, le=4)] = None,
    limit: LimitQuery = 100, cursor: CursorQuery = None, partnership: PartnershipQuery = None,
) -> Any:
    """Open challenges first, then closed: stage, addressed-to agency, age and the current
    stage's wait, in working days. Agency leads see those addressed to their agency."""
    with paging():
        body = board.challenges(at=at, status=status, agency_id=scope(actor, agency),
                                stage=stage, limit=limit, cursor=cursor,
                                partnerships=partnerships_for(actor, partnership))
    return respond(request, ChallengesOut, body, ChallengeRow, "challenges")


@router.get("/themes", response_model=ThemesOut, responses=responses())
def board_themes(
    request: Request, board: BoardDep, actor: ReaderDep, at: AtDep,
    theme: Annotated[str | None, Query(max_length=60, description=(
        "one theme, with its reviews and findings"))] = None,
    recurrent: bool = False, partnership: PartnershipQuery = None,
) -> Any:
    """Each theme with the reviews and findings that carry it; recurrent in 2+ reviews. By
    partnership: the themes of its reviews only, counted over them."""
    with answering():
        body = board.themes(at=at, theme=theme, recurrent_only=recurrent,
                            partnerships=partnerships_for(actor, partnership))
    return respond(request, ThemesOut, body, ThemeRow, "themes")
