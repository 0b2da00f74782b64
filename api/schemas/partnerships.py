"""Partnership requests and responses."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.partnership import Partnership


class PartnershipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, description='e.g. "Stoke-on-Trent"')
    areas: list[str] = Field(min_length=1, description="the local authority areas it covers")
    safeguarding_partners: list[UUID] = Field(
        description="its statutory safeguarding partners (agency ids)")
    occurred_on: date | None = Field(None, description="date registered (default today)")


class UserPartnershipsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partnerships: list[str] = Field(description="the partnerships the user belongs to")


class PartnershipOut(BaseModel):
    id: UUID
    version: int
    name: str
    areas: list[str]
    safeguarding_partners: list[UUID]
    registered_on: date

    @classmethod
    def of(cls, p: Partnership) -> PartnershipOut:
        return cls(id=p.id, version=p.version, name=p.name, areas=p.areas,
                   safeguarding_partners=p.safeguarding_partners,
                   registered_on=p.registered_on)


class PartnershipList(BaseModel):
    items: list[PartnershipOut]
