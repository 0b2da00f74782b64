"""The audit trail: every event, who, when (recorded and business date), what, and about
which entity and agency; filtered, paged by log position, as of any past point, or as CSV."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from api.deps import AtDep, BoardDep, ReaderDep
from api.params import Moment, aware
from api.routes.board import answering, respond, responses, scope

router = APIRouter(tags=["audit"])


class AuditEntry(BaseModel):
    position: int = Field(description="position in the ledger's log")
    recorded_at: datetime = Field(description="when it was recorded (UTC)")
    occurred_on: date | None = Field(description="the business date it refers to")
    actor_user_id: str | None
    actor_name: str | None
    actor_role: str | None
    actor_agency_id: UUID | None
    entity_type: str = Field(description="e.g. action, review, challenge, agency")
    entity_id: UUID
    entity_version: int
    event_type: str = Field(description="e.g. Action.ProgressReported")
    agency_id: UUID | None = Field(description="the agency the entity concerns, if one")
    agency_name: str | None = Field(description="that agency's current name")
    summary: str = Field(description="one line, from structured fields only")


class AuditPage(BaseModel):
    position: int = Field(description="the last log position this answer reflects")
    items: list[AuditEntry]
    next_cursor: int | None = Field(description="pass as cursor for the next page")


@router.get("/audit", response_model=AuditPage, responses=responses())
def audit_trail(
    request: Request, board: BoardDep, actor: ReaderDep, at: AtDep,
    entity: Annotated[UUID | None, Query(description="one record's events")] = None,
    by: Annotated[str | None, Query(alias="actor", max_length=200,
                                    description="events by this user id")] = None,
    agency: Annotated[UUID | None, Query(
        description="events concerning or by this agency")] = None,
    event_type: Annotated[str | None, Query(max_length=100, description=(
        "e.g. Action.CompletionAssured"))] = None,
    since: Annotated[Moment | None, Query(description="recorded at or after (ISO 8601)")]
    = None,
    until: Annotated[Moment | None, Query(description="recorded at or before (ISO 8601)")]
    = None,
    cursor: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    newest_first: bool = False,
) -> Any:
    """Every event in log order (or newest first). Agency leads see the events that concern
    their agency or were done by its staff."""
    with answering():
        body = board.audit(
            at=at, entity_id=str(entity) if entity else None, actor=by,
            agency_id=scope(actor, agency), event_type=event_type, since=aware(since),
            until=aware(until), cursor=cursor, limit=limit, descending=newest_first)
    return respond(request, AuditPage, body, AuditEntry, "audit")
