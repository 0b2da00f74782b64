"""The base of every aggregate: events stamped by the ledger clock and carrying who and when.

Every event records `actor` (who, in which role, for which agency) and `occurred_on`, the
business date it refers to. The recorded time is the event's `timestamp`; when the two differ
the entry was backdated, and the history shows it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from eventsourcing.domain import Aggregate

from domain import clock
from domain.actors import Actor
from domain.errors import InvalidInput


class LedgerAggregate(Aggregate):
    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return clock.now()

    class Created(Event, Aggregate.Created):
        pass

    # Set by every event's apply; the projection and the API read these.
    last_actor: Actor
    last_occurred_on: date

    def check_business_date(self, occurred_on: date, *, field: str = "occurred_on") -> None:
        """A business date may be in the past (backdating is visible) but never the future."""
        if occurred_on > clock.today():
            raise InvalidInput(f"{field} {occurred_on} is in the future", field=field)


def require_text(value: str, field: str, *, max_length: int = 10_000) -> str:
    """Free text must say something; refuse blanks rather than record an empty reason."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must not be blank", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters", field=field)
    return value.strip()


def event_fields(event: Any) -> dict[str, Any]:
    """The business fields of an event (without the library's bookkeeping)."""
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    return {k: v for k, v in event.__dict__.items() if k not in skip}
