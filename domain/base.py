"""The base of every aggregate: events stamped by the ledger clock and carrying who and when.

Every event records `actor` (who, in which role, for which agency) and `occurred_on`, the
business date it refers to. The recorded time is the event's `timestamp`; when the two differ
the entry was backdated, and the history shows it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate

from domain import clock
from domain.errors import InvalidInput


class LedgerAggregate(Aggregate):
    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return clock.now()

    class Created(Event, Aggregate.Created):
        pass

    def check_business_date(self, occurred_on: date, *, field: str = "occurred_on") -> None:
        check_not_future(occurred_on, field)


EARLIEST_BUSINESS_DATE = date(1990, 1, 1)
YEARS_AHEAD = 10  # a due date may be set at most this many years after today


def latest_due_date() -> date:
    """The latest plausible due date: today plus ten years (29 February -> 28 February)."""
    today = clock.today()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def _check_not_before_1990(day: Any, field: str) -> date:
    if isinstance(day, datetime) or not isinstance(day, date):
        raise InvalidInput(f"{field} must be a date", field=field)
    if day < EARLIEST_BUSINESS_DATE:
        raise InvalidInput(
            f"{field} {day} is before {EARLIEST_BUSINESS_DATE}: not a plausible date for this "
            "record", field=field,
        )
    return day


def check_not_future(day: Any, field: str = "occurred_on") -> date:
    """A business date (when something happened or became known) may be in the past
    (backdating is visible) but never the future, nor before 1 January 1990."""
    _check_not_before_1990(day, field)
    if day > clock.today():
        raise InvalidInput(f"{field} {day} is in the future", field=field)
    return day


def check_due_date(day: Any, field: str = "due_on") -> date:
    """A due date lies between 1 January 1990 and ten years from today."""
    _check_not_before_1990(day, field)
    latest = latest_due_date()
    if day > latest:
        raise InvalidInput(
            f"{field} {day} is more than {YEARS_AHEAD} years ahead (latest {latest})",
            field=field,
        )
    return day


def check_flag(value: Any, field: str) -> bool:
    """A strict boolean: true or false, never "yes", 1 or "true"."""
    if not isinstance(value, bool):
        raise InvalidInput(f"{field} must be true or false", field=field)
    return value


def one_of(enum: type[StrEnum], value: Any, field: str) -> str:
    """The value as a plain string, or InvalidInput naming the field and the allowed values."""
    if not isinstance(value, str) or value not in {m.value for m in enum}:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidInput(f"{field} must be one of {allowed}", field=field)
    return str(value)


def require_text(value: str, field: str, *, max_length: int = 10_000) -> str:
    """Free text must say something; refuse blanks rather than record an empty reason."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must not be blank", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters", field=field)
    if _CONTROL.search(value):
        # PostgreSQL cannot store a NUL in text: recorded, it stopped the views that copy it.
        raise InvalidInput(f"{field} must not contain control characters", field=field)
    return value.strip()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, newline, return allowed


def event_fields(event: Any) -> dict[str, Any]:
    """The business fields of an event (without the library's bookkeeping)."""
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    return {k: v for k, v in event.__dict__.items() if k not in skip}
