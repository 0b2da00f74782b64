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


def check_not_future(day: Any, field: str = "occurred_on") -> date:
    """A business date may be in the past (backdating is visible) but never the future."""
    if not isinstance(day, date):
        raise InvalidInput(f"{field} must be a date", field=field)
    if day > clock.today():
        raise InvalidInput(f"{field} {day} is in the future", field=field)
    return day


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
