"""Query parameters shared by the GET routes and the dependencies of api/deps.py."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator

# A moment the ledger can have been in: from 1970 (no safeguarding record is older than the
# Unix epoch) to the year 2999. Outside that a date is a mistake, and at the ends of the
# calendar (0001-01-01, 9999-12-31) arithmetic on it overflows.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)


def plausible_moment(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    aware_moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if not EARLIEST <= aware_moment <= LATEST:
        raise ValueError("must be between 1970-01-01 and 2999-12-31")
    return moment


Moment = Annotated[datetime, AfterValidator(plausible_moment)]


def plausible_day(day: date | None) -> date | None:
    if day is not None and not EARLIEST.date() <= day <= LATEST.date():
        raise ValueError("must be between 1970-01-01 and 2999-12-31")
    return day


Day = Annotated[date, AfterValidator(plausible_day)]  # a query's date (a report's period)

VersionQuery = Annotated[int | None, Query(ge=1, le=2_000_000_000,
                                              description="the state at this version")]
AsOfQuery = Annotated[Moment | None, Query(
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
