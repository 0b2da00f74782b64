"""The questions the Board, scrutineers and auditors ask, answered from the views.

Every answer is a plain dict with `position`: the last event the answer reflects. A read may
ask for `min_position` (wait, bounded, until the views have caught up: read your own write),
or for `position` / `as_of` (the ledger as it stood then, replayed into a throwaway copy).
"Today" and the thresholds are applied here, at query time; for a past point, "today" is the
date of that point.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain import clock
from projections import (
    accountability,
    actions,
    audit,
    challenges,
    directory,
    reviews,
    themes,
    yearly,
)
from projections.db import Db, Tx
from projections.point_in_time import PointInTime
from projections.readside import ReadSide, thresholds
from projections.tracking import positions


@dataclass(frozen=True)
class At:
    """Which state of the ledger a read is about."""

    min_position: int | None = None  # now, once the views have applied this position
    position: int | None = None  # as it stood just after this event
    as_of: datetime | None = None  # as it stood at this moment

    @property
    def past(self) -> bool:
        return self.position is not None or self.as_of is not None


NOW = At()

# The views each answer reads (the answer's position is the least of theirs).
NEEDS = {
    "actions": ("actions", "directory", "reviews"),
    "agencies": ("actions", "challenges", "directory"),
    "reviews": ("reviews",),
    "challenges": ("challenges", "directory", "reviews", "actions"),
    "themes": ("themes", "reviews"),
    "audit": ("audit", "directory"),
    "directory": ("directory",),
    "yearly": ("reviews", "actions", "themes", "directory"),
}


class Board:
    def __init__(self, read_side: ReadSide) -> None:
        self.read_side = read_side
        self.settings = read_side.settings
        self.point_in_time = PointInTime(read_side)

    def close(self) -> None:
        self.point_in_time.close()

    # ---- where to read ------------------------------------------------------------------
    def _past_position(self, at: At) -> int:
        head = self.read_side.ledger.head_position()
        if at.position is not None:
            return max(0, min(at.position, head))
        assert at.as_of is not None
        return self.point_in_time.position_at(at.as_of)

    def _today(self, at: At, position: int | None, today: date | None) -> date:
        if today is not None:
            return today
        if at.as_of is not None:
            return at.as_of.date()
        if at.position is not None and position:
            rows = self.read_side.ledger.store.stored(position - 1, 1)
            if rows:
                return self.read_side.ledger.view_mapper.to_domain_event(rows[0]).timestamp.date()
        return clock.today()

    @contextmanager
    def _read(self, answer: str, at: At) -> Iterator[tuple[Tx, int]]:
        names = NEEDS[answer]
        if at.past:
            position = self._past_position(at)
            db: Db = self.point_in_time.views_at(position, names)
            with db.snapshot() as tx:
                yield tx, position
            return
        if at.min_position is not None:  # otherwise nothing to wait for: skip the read
            self.read_side.wait_for(at.min_position, names)
        with self.read_side.db.snapshot() as tx:
            yield tx, min(positions(tx, names).values())

    # ---- answers ------------------------------------------------------------------------
    def actions(self, *, at: At = NOW, today: date | None = None, agency_id: str | None = None,
                review_id: str | None = None, status: str | None = None,
                rag: str | None = None, overdue: bool | None = None,
                stalled_days: int | None = None, limit: int = 100,
                cursor: str | None = None,
                partnerships: list[str] | None = None) -> dict[str, Any]:
        after = _split_cursor(cursor, 2)
        with self._read("actions", at) as (tx, position):
            day = self._today(at, position, today)
            items, nxt = actions.list_actions(
                tx, today=day, thresholds=thresholds(self.settings), agency_id=agency_id,
                review_id=review_id, status=status, rag=rag, overdue=overdue,
                stalled_days=stalled_days, limit=limit, after=after,  # type: ignore[arg-type]
                partnerships=partnerships)
        return {"position": position, "today": day.isoformat(), "items": items,
                "next_cursor": _join_cursor(nxt)}

    def agencies(self, *, at: At = NOW, today: date | None = None,
                 stalled_days: int | None = None,
                 agency_id: str | None = None,
                 partnerships: list[str] | None = None) -> dict[str, Any]:
        days = stalled_days if stalled_days is not None else self.settings.stalled_days
        with self._read("agencies", at) as (tx, position):
            day = self._today(at, position, today)
            items = accountability.agency_accountability(tx, today=day, stalled_days=days,
                                                         agency_id=agency_id,
                                                         partnerships=partnerships)
        return {"position": position, "today": day.isoformat(), "stalled_days": days,
                "items": items}

    def reviews(self, *, at: At = NOW, today: date | None = None, stage: str | None = None,
                agency_id: str | None = None, limit: int = 100,
                cursor: str | None = None,
                partnerships: list[str] | None = None) -> dict[str, Any]:
        after = _split_cursor(cursor, 2)
        with self._read("reviews", at) as (tx, position):
            day = self._today(at, position, today)
            items, nxt = reviews.list_reviews(
                tx, today=day, rapid_review_clock=self.settings.rapid_review_clock,
                stage=stage, agency_id=agency_id, limit=limit, after=after,  # type: ignore[arg-type]
                partnerships=partnerships)
        return {"position": position, "today": day.isoformat(), "items": items,
                "next_cursor": _join_cursor(nxt)}

    def challenges(self, *, at: At = NOW, today: date | None = None, status: str | None = None,
                   agency_id: str | None = None, stage: int | None = None, limit: int = 100,
                   cursor: str | None = None,
                   partnerships: list[str] | None = None) -> dict[str, Any]:
        after = _split_cursor(cursor, 3)
        with self._read("challenges", at) as (tx, position):
            day = self._today(at, position, today)
            items, nxt = challenges.list_challenges(
                tx, today=day, status=status, agency_id=agency_id, stage=stage, limit=limit,
                after=after, partnerships=partnerships)  # type: ignore[arg-type]
        return {"position": position, "today": day.isoformat(), "items": items,
                "next_cursor": _join_cursor(nxt)}

    def themes(self, *, at: At = NOW, theme: str | None = None,
               recurrent_only: bool = False,
               partnerships: list[str] | None = None) -> dict[str, Any]:
        with self._read("themes", at) as (tx, position):
            if theme is not None:
                detail = themes.theme_detail(tx, theme, partnerships=partnerships)
                return {"position": position, "items": [detail] if detail else []}
            items = themes.list_themes(tx, recurrent_only=recurrent_only,
                                       partnerships=partnerships)
        return {"position": position, "items": items}

    def audit(self, *, at: At = NOW, entity_id: str | None = None, actor: str | None = None,
              agency_id: str | None = None, event_type: str | None = None,
              since: datetime | None = None, until: datetime | None = None,
              cursor: int | None = None, limit: int = 100,
              descending: bool = False) -> dict[str, Any]:
        up_to = None
        if at.past:
            # Audit rows are never updated, so the trail as it stood at P is the live trail
            # cut at P, once the live view has reached P; otherwise replay like the others.
            up_to = self._past_position(at)
            live = self.read_side.positions(["audit"])["audit"]
            at = NOW if live >= up_to else At(position=up_to)
        with self._read("audit", at) as (tx, position):
            items, nxt = audit.audit_page(
                tx, entity_id=entity_id, actor=actor, agency_id=agency_id,
                event_type=event_type, since=since, until=until, after=cursor, limit=limit,
                up_to=up_to, descending=descending)
            names = _agency_names(tx, items)
        for item in items:
            item["agency_name"] = names.get(item["agency_id"])
        return {"position": up_to if up_to is not None else position, "items": items,
                "next_cursor": nxt}

    def yearly_report(self, *, start: date, end: date, partnership: str | None = None,
                      at: At = NOW, today: date | None = None) -> dict[str, Any]:
        """The partners' yearly report for [start, end] (projections/yearly.py)."""
        with self._read("yearly", at) as (tx, position):
            day = self._today(at, position, today)
            body = yearly.yearly_report(
                tx, today=day, start=start, end=end, partnership=partnership,
                rapid_review_clock=self.settings.rapid_review_clock,
                thresholds=thresholds(self.settings))
        return {"position": position, **body}

    def agency_directory(self, *, at: At = NOW,
                         agency_id: str | None = None) -> dict[str, Any]:
        with self._read("directory", at) as (tx, position):
            items = directory.list_agencies(tx, agency_id=agency_id)
        return {"position": position, "items": items}

    def user_directory(self, *, at: At = NOW, agency_id: str | None = None) -> dict[str, Any]:
        with self._read("directory", at) as (tx, position):
            items = directory.list_users(tx, agency_id=agency_id)
        return {"position": position, "items": items}


def _split_cursor(cursor: str | None, parts: int) -> tuple[str, ...] | None:
    """A page cursor is the sort key of the last row given, joined with "~"."""
    if not cursor:
        return None
    values = tuple(cursor.split("~"))
    if len(values) != parts or not all(values):
        raise ValueError("cursor is not one this API gave")
    return values


def _join_cursor(values: tuple[str, ...] | None) -> str | None:
    return "~".join(values) if values else None


def _agency_names(tx: Tx, items: list[dict[str, Any]]) -> dict[str, str]:
    ids = sorted({i["agency_id"] for i in items if i["agency_id"]})
    if not ids:
        return {}
    rows = tx.select_in("SELECT agency_id, name FROM {view_agencies} WHERE {in}",
                        "agency_id", ids)
    return {r["agency_id"]: r["name"] for r in rows}
