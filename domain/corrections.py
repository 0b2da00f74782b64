"""Corrections and retractions of recorded entries (DOMAIN.md, "Corrections").

Nothing is ever edited: a mistaken entry (a decision's rationale or criteria, a finding, a
recommendation, a progress narrative, an evidence reference) is corrected or retracted by a
later event of the same record that names the event it corrects by its aggregate version, the
field, the value before and after, the reason and who approved it; the actor who recorded it
is on the event as always. The record then shows the corrected value with a marker (the fields
corrected, or retracted), its history shows both events, and the record as of a moment before
the correction shows the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from domain.base import require_text
from domain.errors import InvalidInput


@dataclass(frozen=True)
class EntryCorrection:
    """One correction (retracted False) or retraction (True) of an entry."""

    corrects_version: int
    entry: str  # what the corrected event recorded: local_decision, finding, progress ...
    item_id: UUID | None  # the finding's or recommendation's id, if the entry has one
    field: str
    previous: Any
    corrected: Any  # None when retracted
    retracted: bool
    reason: str
    approved_by: str
    occurred_on: date
    by: str  # user id of who recorded it


def check_version(entries: dict[int, Any], version: Any, what: str) -> Any:
    """The entry recorded at `version` of this record, or InvalidInput naming the field."""
    if isinstance(version, bool) or not isinstance(version, int) or version not in entries:
        known = ", ".join(str(v) for v in sorted(entries)) or "none yet"
        raise InvalidInput(
            f"corrects_version must be the version of {what} recorded on this record "
            f"(versions: {known})", field="corrects_version")
    return entries[version]


def check_field(field: Any, allowed: tuple[str, ...], entry: str) -> str:
    if field not in allowed:
        raise InvalidInput(f"of a {entry.replace('_', ' ')} only {', '.join(allowed)} may be "
                           "corrected", field="field")
    return str(field)


def check_approval(reason: Any, approved_by: Any) -> tuple[str, str]:
    return (require_text(reason, "reason"),
            require_text(approved_by, "approved_by", max_length=200))


def check_changed(previous: Any, corrected: Any, field: str) -> None:
    if previous == corrected:
        raise InvalidInput(f"{field} is already {previous!r}", field="corrected")
