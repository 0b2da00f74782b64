"""Query parameters shared by the GET routes and the dependencies of api/deps.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

VersionQuery = Annotated[int | None, Query(ge=1, le=2_000_000_000,
                                              description="the state at this version")]
AsOfQuery = Annotated[datetime | None, Query(
    description="the state as recorded at this moment (ISO 8601; UTC if no offset)")]
PositionQuery = Annotated[int | None, Query(
    ge=0, le=2**62, description="answer as the ledger stood just after this log position")]
MinPositionQuery = Annotated[int | None, Query(
    ge=0, le=2**62, description="wait (bounded) until the views have applied this position, "
                                "e.g. the X-Ledger-Position a command returned")]


def aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
