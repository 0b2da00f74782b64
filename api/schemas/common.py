"""Models shared by every resource: commands' common fields, reasons, actors, history entries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from domain.actors import Actor
from domain.application import HistoryEntry
from domain.base import event_fields

WHEN = "business date it refers to (default today; past dates are visible as backdating)"


class Command(BaseModel):
    """A command's body: unknown fields are refused; `occurred_on` may backdate it."""

    model_config = ConfigDict(extra="forbid")
    occurred_on: date | None = Field(None, description=WHEN)


class DatedReasonIn(Command):
    """Rejecting a claim, escalating or withdrawing an action, deferring publication or
    closing a review: a reason is the record."""

    reason: str = Field(min_length=1)


class EntryCorrectionIn(Command):
    """Correct an entry: the version of the event that recorded it, the field, the corrected
    value, why, and who approved."""

    corrects_version: StrictInt = Field(ge=1, description="the version of the event corrected")
    field: str = Field(min_length=1, max_length=40,
                       description="e.g. rationale, criteria, text, narrative, evidence")
    corrected: str | list[str] = Field(description="the corrected value (a list for criteria "
                                                   "and evidence)")
    reason: str = Field(min_length=1)
    approved_by: str = Field(min_length=1, max_length=200)


class EntryRetractionIn(Command):
    corrects_version: StrictInt = Field(ge=1, description="the version of the event retracted")
    reason: str = Field(min_length=1)
    approved_by: str = Field(min_length=1, max_length=200)


class EntryCorrectionOut(BaseModel):
    corrects_version: int
    entry: str = Field(description="what the corrected event recorded")
    item_id: UUID | None
    field: str
    previous: Any
    corrected: Any = Field(description="None when retracted")
    retracted: bool
    reason: str
    approved_by: str
    occurred_on: date
    by: str = Field(description="user id of who recorded the correction")

    @classmethod
    def of(cls, c: Any) -> EntryCorrectionOut:
        return cls(corrects_version=c.corrects_version, entry=c.entry, item_id=c.item_id,
                   field=c.field, previous=c.previous, corrected=c.corrected,
                   retracted=c.retracted, reason=c.reason, approved_by=c.approved_by,
                   occurred_on=c.occurred_on, by=c.by)


class ReasonIn(BaseModel):
    """Revoking a token or deactivating a user: a reason is the record, dated the day it is
    recorded (these cannot be backdated)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1)


class ActorOut(BaseModel):
    user_id: str
    role: str
    agency_id: UUID | None
    name: str

    @classmethod
    def of(cls, actor: Actor) -> ActorOut:
        return cls(user_id=actor.user_id, role=actor.role.value, agency_id=actor.agency_id,
                   name=actor.name)


class HistoryEntryOut(BaseModel):
    type: str = Field(description="event type, e.g. Action.ProgressReported")
    version: int
    position: int | None = Field(description="position in the ledger's log")
    recorded_at: datetime
    occurred_on: date | None = Field(description="business date; differs when backdated")
    actor: ActorOut | None
    reason: str | None = None
    data: dict[str, Any]

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryEntryOut:
        event = entry.event
        fields = event_fields(event)
        actor = fields.pop("actor", None)
        occurred_on = fields.pop("occurred_on", None)
        return cls(
            type=type(event).__qualname__, version=event.originator_version,
            position=entry.position, recorded_at=event.timestamp, occurred_on=occurred_on,
            actor=ActorOut.of(actor) if isinstance(actor, Actor) else None,
            reason=fields.get("reason") or fields.get("rationale"), data=_plain(fields),
        )


class History(BaseModel):
    id: UUID
    entries: list[HistoryEntryOut]


def _plain(value: Any) -> Any:
    """Event values as JSON-ready data (dataclasses and UUIDs included)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    return value
