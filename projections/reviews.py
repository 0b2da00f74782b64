"""Review register: every review's stage and key dates, and each statutory deadline with its
due date, status and working days late.

The view stores the (corrected) key dates only; deadlines are computed at query time by the
domain's own pure function (domain.deadlines.review_deadlines), so "pending" becomes
"missed" as the days pass without anything being rewritten, and the arithmetic exists once.
"""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from typing import Any

from domain.deadlines import review_deadlines
from projections.base import Changes, Table, ViewProjection, iso, on, uid
from projections.db import Tx, page_limit

KEY_DATES = ("aware_on", "notified_on", "rapid_review_on", "decided_on", "commissioned_on",
             "submitted_on", "scrutinised_on", "signed_off_on", "sent_on", "published_on",
             "closed_on")

REVIEWS = Table(
    "view_reviews",
    (("review_id", "TEXT"), ("reference", "TEXT NOT NULL"), ("partnership", "TEXT NOT NULL"),
     ("local_authority_area", "TEXT NOT NULL"), ("age_band", "TEXT NOT NULL"),
     ("harm", "TEXT NOT NULL"), ("category", "TEXT NOT NULL"),
     ("legal_status", "TEXT NOT NULL"), ("agencies_involved", "TEXT NOT NULL"),
     ("stage", "TEXT NOT NULL"), *((d, "TEXT") for d in KEY_DATES),
     ("conduct_review", "INTEGER"), ("local_criteria", "TEXT"), ("panel_decided_on", "TEXT"),
     ("national_review", "INTEGER"), ("reviewer", "TEXT"), ("scrutiny_outcome", "TEXT"),
     ("sign_off_meeting", "TEXT"), ("publication_deferred", "INTEGER NOT NULL"),
     ("findings", "INTEGER NOT NULL"), ("recommendations", "INTEGER NOT NULL"),
     ("date_corrections", "INTEGER NOT NULL"), ("recorded_at_version", "INTEGER NOT NULL"),
     ("panel_criteria", "TEXT")),
    key=("review_id",),
    indexes=("reference", "aware_on, review_id", "stage, aware_on, review_id"),
)

# Each review's recommendations (as corrected; retracted ones marked), for the yearly report.
RECOMMENDATIONS = Table(
    "view_recommendations",
    (("recommendation_id", "TEXT"), ("review_id", "TEXT NOT NULL"), ("text", "TEXT NOT NULL"),
     ("recorded_on", "TEXT NOT NULL"), ("correction", "TEXT")),
    key=("recommendation_id",), indexes=("review_id, recorded_on",),
)

REVIEW = "domain.review:Review."


class ReviewRegister(ViewProjection):
    name = "reviews"
    version = 3  # 3: the recommendations' text (view_recommendations), the Panel's criteria
    tables = (REVIEWS, RECOMMENDATIONS)

    def prefetch(self, changes: Changes, events: list[Any]) -> None:
        changes.prefetch(REVIEWS.name, [uid(e.originator_id) for e in events])

    def _set(self, ch: Changes, e: Any, **values: Any) -> None:
        ch.update(REVIEWS.name, uid(e.originator_id), recorded_at_version=e.originator_version,
                  **values)

    def _bump(self, ch: Changes, e: Any, column: str) -> None:
        row = ch.get(REVIEWS.name, uid(e.originator_id))
        if row is not None:
            self._set(ch, e, **{column: row[column] + 1})

    @on(REVIEW + "IncidentRecorded")
    def recorded(self, ch: Changes, e: Any) -> None:
        row: dict[str, Any] = {d: None for d in KEY_DATES}
        row.update({
            "review_id": uid(e.originator_id), "reference": e.reference,
            "partnership": e.partnership, "local_authority_area": e.local_authority_area,
            "age_band": e.age_band, "harm": e.harm, "category": e.category,
            "legal_status": e.legal_status,
            "agencies_involved": json.dumps([uid(a) for a in e.agencies_involved]),
            "stage": "incident_recorded", "aware_on": iso(e.occurred_on),
            "conduct_review": None, "local_criteria": None, "panel_decided_on": None,
            "national_review": None, "reviewer": None, "scrutiny_outcome": None,
            "sign_off_meeting": None, "publication_deferred": 0, "findings": 0,
            "recommendations": 0, "date_corrections": 0, "panel_criteria": None,
            "recorded_at_version": e.originator_version,
        })
        ch.put(REVIEWS.name, row)

    @on(REVIEW + "PanelNotified")
    def notified(self, ch: Changes, e: Any) -> None:
        self._set(ch, e, stage="panel_notified", notified_on=iso(e.occurred_on))

    @on(REVIEW + "RapidReviewCompleted")
    def rapid_review(self, ch: Changes, e: Any) -> None:
        self._set(ch, e, stage="rapid_review_completed", rapid_review_on=iso(e.occurred_on))

    @on(REVIEW + "LocalDecisionMade")
    def decided(self, ch: Changes, e: Any) -> None:
        self._set(ch, e, stage="decided", decided_on=iso(e.occurred_on),
                  conduct_review=int(bool(e.conduct_review)),
                  local_criteria=json.dumps(list(e.criteria)))

    @on(REVIEW + "NationalPanelDecisionRecorded")
    def panel_decided(self, ch: Changes, e: Any) -> None:
        self._set(ch, e, panel_decided_on=iso(e.occurred_on),
                  national_review=int(bool(e.national_review)),
                  panel_criteria=json.dumps(list(e.criteria)))

    @on(REVIEW + "EntryCorrected")
    def entry_corrected(self, ch: Changes, e: Any) -> None:
        # The view keeps the local decision's criteria; the rest is on the record itself.
        if e.entry == "local_decision" and e.field == "criteria":
            self._set(ch, e, local_criteria=json.dumps(list(e.corrected)))
        if e.entry == "panel_decision" and e.field == "criteria":
            self._set(ch, e, panel_criteria=json.dumps(list(e.corrected)))
        if e.entry == "recommendation" and e.field == "text":
            ch.update(RECOMMENDATIONS.name, uid(e.item_id), text=e.corrected,
                      correction="corrected")

    @on(REVIEW + "ReviewerCommissioned")
    def commissioned(self, ch: Changes, e: Any) -> None:
        self._set(ch, e, stage="reviewer_commissioned", commissioned_on=iso(e.occurred_on),
                  reviewer=e.reviewer)

    @on(REVIEW + "FindingRecorded")
    def finding(self, ch: Changes, e: Any) -> None:
        self._bump(ch, e, "findings")

    @on(REVIEW + "RecommendationRecorded")
    def recommendation(self, ch: Changes, e: Any) -> None:
        self._bump(ch, e, "recommendations")
        ch.put(RECOMMENDATIONS.name, {
            "recommendation_id": uid(e.recommendation_id), "review_id": uid(e.originator_id),
            "text": e.text, "recorded_on": iso(e.occurred_on), "correction": None})

    @on(REVIEW + "EntryRetracted")
    def entry_retracted(self, ch: Changes, e: Any) -> None:
        if e.entry == "recommendation":
            ch.update(RECOMMENDATIONS.name, uid(e.item_id), correction="retracted")

    @on(REVIEW + "ReportSubmitted")
    def submitted(self, ch: Changes, e: Any) -> None:
        self._set(ch, e, stage="report_submitted", submitted_on=iso(e.occurred_on))

    @on(REVIEW + "Scrutinised")
    def scrutinised(self, ch: Changes, e: Any) -> None:
        self._set(ch, e, stage="scrutinised", scrutinised_on=iso(e.occurred_on),
                  scrutiny_outcome=e.outcome)

    @on(REVIEW + "SignedOff")
    def signed_off(self, ch: Changes, e: Any) -> None:
        self._set(ch, e, stage="signed_off", signed_off_on=iso(e.occurred_on),
                  sign_off_meeting=e.meeting)

    @on(REVIEW + "SentToPanel")
    def sent(self, ch: Changes, e: Any) -> None:
        self._set(ch, e, stage="sent_to_panel", sent_on=iso(e.occurred_on))

    @on(REVIEW + "Published")
    def published(self, ch: Changes, e: Any) -> None:
        self._set(ch, e, stage="published", published_on=iso(e.occurred_on))

    @on(REVIEW + "PublicationDeferred")
    def deferred(self, ch: Changes, e: Any) -> None:
        self._set(ch, e, publication_deferred=1)

    @on(REVIEW + "DateCorrected")
    def corrected(self, ch: Changes, e: Any) -> None:
        row = ch.get(REVIEWS.name, uid(e.originator_id))
        if row is None:
            return
        values: dict[str, Any] = {"date_corrections": row["date_corrections"] + 1}
        if e.field in KEY_DATES:
            values[e.field] = iso(e.corrected)
        self._set(ch, e, **values)

    @on(REVIEW + "Closed")
    def closed(self, ch: Changes, e: Any) -> None:
        self._set(ch, e, stage="closed", closed_on=iso(e.occurred_on))


# ---- queries --------------------------------------------------------------------------------

def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@lru_cache(maxsize=65_536)
def _deadlines(aware_on: str, notified_on: str | None, rapid_review_on: str | None,
               decided_on: str | None, conduct: int | None, sent_on: str | None,
               published_on: str | None, deferred: int, today: date,
               rapid_review_clock: str) -> tuple[tuple[tuple[str, Any], ...], ...]:
    """The domain's own deadline function on the stored dates (memoised: it is pure, and a
    deadline long missed counts its working days late one day at a time)."""
    found = review_deadlines(
        today=today, aware_on=date.fromisoformat(aware_on), notified_on=_day(notified_on),
        rapid_review_on=_day(rapid_review_on), decided_on=_day(decided_on),
        conduct_review=None if conduct is None else bool(conduct), sent_on=_day(sent_on),
        published_on=_day(published_on), publication_deferred=bool(deferred),
        rapid_review_clock=rapid_review_clock,
    )
    return tuple(tuple({
        "name": d.name, "description": d.description, "due_on": d.due_on.isoformat(),
        "status": str(d.status), "done_on": iso(d.done_on),
        "working_days_late": d.working_days_late}.items()) for d in found)


def deadlines_of(row: dict[str, Any], today: date, rapid_review_clock: str,
                 ) -> list[dict[str, Any]]:
    found = _deadlines(row["aware_on"], row["notified_on"], row["rapid_review_on"],
                       row["decided_on"], row["conduct_review"], row["sent_on"],
                       row["published_on"], row["publication_deferred"], today,
                       rapid_review_clock)
    return [dict(d) for d in found]


def present(row: dict[str, Any], today: date, rapid_review_clock: str) -> dict[str, Any]:
    out = dict(row)
    out["agencies_involved"] = json.loads(row["agencies_involved"])
    out["local_criteria"] = json.loads(row["local_criteria"]) if row["local_criteria"] else None
    out["panel_criteria"] = json.loads(row["panel_criteria"]) if row["panel_criteria"] else None
    for flag in ("conduct_review", "national_review"):
        out[flag] = None if row[flag] is None else bool(row[flag])
    out["publication_deferred"] = bool(row["publication_deferred"])
    out["deadlines"] = deadlines_of(row, today, rapid_review_clock)
    out["deadlines_missed"] = sum(1 for d in out["deadlines"] if d["status"] == "missed")
    return out


def in_list(column: str, values: list[str], params: list[Any]) -> str:
    """SQL keeping the rows whose `column` is one of `values` (none: no rows)."""
    if not values:
        return "1 = 0"
    params += list(values)
    return f"{column} IN ({', '.join('?' for _ in values)})"


def in_partnerships(column: str, partnerships: list[str] | None,
                    params: list[Any]) -> str | None:
    """SQL keeping the rows whose `column` (a review id) is a review of these partnerships."""
    if partnerships is None:
        return None
    if not partnerships:
        return "1 = 0"
    params += list(partnerships)
    marks = ", ".join("?" for _ in partnerships)
    return (f"{column} IN (SELECT review_id FROM {{view_reviews}} "
            f"WHERE partnership IN ({marks}))")


def list_reviews(tx: Tx, *, today: date, rapid_review_clock: str, stage: str | None = None,
                 agency_id: str | None = None, limit: int = 100,
                 after: tuple[str, str] | None = None, partnerships: list[str] | None = None,
                 ) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """A page of reviews, newest incident first, and the cursor of the next page.
    `agency_id` keeps the reviews that agency is involved in (what an agency lead sees)."""
    where: list[str] = []
    params: list[Any] = []
    if stage is not None:
        where.append("stage = ?")
        params.append(stage)
    if agency_id is not None:
        where.append("agencies_involved LIKE ?")
        params.append(f'%"{agency_id}"%')
    if partnerships is not None:
        where.append(in_partnerships("review_id", partnerships, params) or "")
    if after is not None:
        where.append("(aware_on, review_id) < (?, ?)")
        params += list(after)
    sql = ("SELECT * FROM {view_reviews}" + (" WHERE " + " AND ".join(where) if where else "")
           + f" ORDER BY aware_on DESC, review_id DESC {page_limit(limit + 1)}")
    rows = tx.query(sql, params)
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = (rows[-1]["aware_on"], rows[-1]["review_id"]) if more and rows else None
    return [present(r, today, rapid_review_clock) for r in rows], cursor
