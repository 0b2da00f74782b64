"""Agency requests and responses."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from domain.agency import Agency, AgencyKind


class AgencyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    kind: AgencyKind
    statutory_partner: StrictBool = Field(
        description="a safeguarding partner, or a relevant agency (true or false, strictly)")
    partnerships: list[str] = Field(min_length=1, description="partnerships it serves")
    occurred_on: date | None = Field(None, description="date registered (default today)")


class RenameIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1)
    occurred_on: date | None = Field(None, description="date the new name takes effect")


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    into_agency_id: UUID
    reason: str = Field(min_length=1)
    occurred_on: date | None = None


class RetireIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1)
    occurred_on: date | None = None


class NameSpanOut(BaseModel):
    name: str
    effective_from: date


class AgencyOut(BaseModel):
    id: UUID
    version: int
    name: str
    kind: str
    statutory_partner: bool
    partnerships: list[str]
    status: str
    merged_into: UUID | None
    registered_on: date
    names: list[NameSpanOut] = Field(description="every name the agency has had, oldest first")

    @classmethod
    def of(cls, agency: Agency) -> AgencyOut:
        return cls(
            id=agency.id, version=agency.version, name=agency.name, kind=agency.kind.value,
            statutory_partner=agency.statutory_partner, partnerships=agency.partnerships,
            status=agency.status.value, merged_into=agency.merged_into,
            registered_on=agency.registered_on,
            names=[NameSpanOut(name=n.name, effective_from=n.effective_from)
                   for n in agency.names],
        )


class AgencyListItem(BaseModel):
    agency_id: UUID
    name: str = Field(description="the current name")
    kind: str
    statutory_partner: bool
    partnerships: list[str]
    status: str
    merged_into: UUID | None
    registered_on: date
    named_on: date = Field(description="when the current name took effect")


class AgencyList(BaseModel):
    position: int = Field(description="the log position this list reflects")
    items: list[AgencyListItem]
