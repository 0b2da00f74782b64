"""Action status: every action with its state, owner agency (current name, joined at query
time), review, due date, last progress update, and a RAG derived at QUERY time.

Stored facts never depend on "today"; RAG, overdue, at-risk and days since the last update
are computed from the stored dates and the date of the query, by comparing ISO dates (so the
filters use the indexes on both stores).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from projections.base import Changes, Table, ViewProjection, iso, later, on, uid
from projections.db import Tx, page_limit
from projections.reviews import in_partnerships

ACTIONS = Table(
    "view_actions",
    (("action_id", "TEXT"), ("review_id", "TEXT NOT NULL"),
     ("recommendation_id", "TEXT NOT NULL"), ("agency_id", "TEXT NOT NULL"),
     ("description", "TEXT NOT NULL"), ("status", "TEXT NOT NULL"),
     ("assigned_on", "TEXT NOT NULL"), ("due_on", "TEXT NOT NULL"),
     ("original_due_on", "TEXT NOT NULL"), ("due_revisions", "INTEGER NOT NULL"),
     ("last_progress_on", "TEXT"), ("last_rag", "TEXT"), ("updated_on", "TEXT NOT NULL"),
     ("progress_reports", "INTEGER NOT NULL"), ("claimed_on", "TEXT"), ("assured_on", "TEXT"),
     ("escalated", "INTEGER NOT NULL"), ("escalated_on", "TEXT"),
     ("held_to_account", "INTEGER NOT NULL"), ("impact", "TEXT"), ("withdrawn_on", "TEXT"),
     ("escalation_level", "TEXT"), ("evidence_items", "INTEGER NOT NULL"),
     ("partnership", "TEXT NOT NULL")),
    key=("action_id",),
    indexes=("due_on, action_id", "status, due_on, action_id",
             "agency_id, due_on, action_id", "agency_id, status, due_on, action_id",
             "review_id, due_on, action_id", "escalated, agency_id"),
)

# Each review's partnership (a review's partnership never changes), so that an action is
# stored with its review's partnership: the events of an action do not name it.
REVIEW_PARTNERSHIPS = Table(
    "view_action_review_partnerships",
    (("review_id", "TEXT"), ("partnership", "TEXT NOT NULL")),
    key=("review_id",),
)

# The agency accountability rollup (projections/accountability.py queries it): per agency and
# partnership (an action belongs to its review's partnership), counts that do not depend on
# the date, among them the actions waiting on the agency; and those waiting actions by month
# and by day due and last updated. "Overdue" on any day is the waiting ones less those due
# from that day on, "stalled" less those updated since: whole months after the day's month
# plus some days of one month, a few rows a month ahead (or since) per agency and partnership
# it has actions in, never the whole history and never the number of actions. The list of all
# partnerships sums an agency's rows (one per partnership it has actions in).
AGENCY_ACTIONS = Table(
    "view_agency_actions",
    (("agency_id", "TEXT"), ("partnership", "TEXT"), ("open", "BIGINT NOT NULL"),
     ("waiting", "BIGINT NOT NULL"), ("completed", "BIGINT NOT NULL"),
     ("completed_on_time", "BIGINT NOT NULL"), ("escalated", "BIGINT NOT NULL"),
     ("held_to_account", "BIGINT NOT NULL")),
    key=("agency_id", "partnership"),
)
DUE_MONTHS = Table(
    "view_agency_due_months",
    (("agency_id", "TEXT"), ("partnership", "TEXT"), ("month", "TEXT"),
     ("n", "BIGINT NOT NULL")),
    key=("agency_id", "partnership", "month"), indexes=("month",),
)
UPDATED_MONTHS = Table(
    "view_agency_updated_months",
    (("agency_id", "TEXT"), ("partnership", "TEXT"), ("month", "TEXT"),
     ("n", "BIGINT NOT NULL")),
    key=("agency_id", "partnership", "month"), indexes=("month",),
)
DUE_DAYS = Table(
    "view_agency_due_days",
    (("agency_id", "TEXT"), ("partnership", "TEXT"), ("day", "TEXT"),
     ("n", "BIGINT NOT NULL")),
    key=("agency_id", "partnership", "day"), indexes=("day",),
)
UPDATED_DAYS = Table(
    "view_agency_updated_days",
    (("agency_id", "TEXT"), ("partnership", "TEXT"), ("day", "TEXT"),
     ("n", "BIGINT NOT NULL")),
    key=("agency_id", "partnership", "day"), indexes=("day",),
)
# The escalated actions waiting on each agency, by the ladder's level they have reached: how
# many, and since when the longest has waited there (a few rows per agency, whatever the
# number of actions).
ESCALATIONS = Table(
    "view_agency_escalations",
    (("agency_id", "TEXT"), ("partnership", "TEXT"), ("level", "TEXT"),
     ("n", "BIGINT NOT NULL"), ("since", "TEXT NOT NULL")),
    key=("agency_id", "partnership", "level"),
)

ACTION = "domain.action:Action."
REVIEW = "domain.review:Review."

# Statuses (stored) and RAG values (derived at query time).
OPEN, CLAIMED, ASSURED, WITHDRAWN = "open", "completion_claimed", "assured", "withdrawn"
RAGS = ("assured", "complete_awaiting_assurance", "overdue", "at_risk", "on_track", "withdrawn")


def _counted() -> list[tuple[Table, str]]:
    """Each counted rollup table and the SELECT of its rows for some actions (`{in}`), per
    agency and partnership, each action counting `{sign}`: 1 to derive the rows, -1 to take
    out what a batch's actions counted before it, 1 to add what they count after. In the order
    the agency list reads them (a range of days or months, every agency): in the order a hash
    aggregate gave, each row was on a page of its own."""
    counts = (f"SELECT agency_id, partnership, "
              f"SUM(CASE WHEN status = '{ASSURED}' THEN 0 ELSE {{sign}} END), "
              f"SUM(CASE WHEN status = '{OPEN}' THEN {{sign}} ELSE 0 END), "
              f"SUM(CASE WHEN status = '{ASSURED}' THEN {{sign}} ELSE 0 END), "
              f"SUM(CASE WHEN status = '{ASSURED}' AND COALESCE(claimed_on, assured_on) <= "
              f"due_on THEN {{sign}} ELSE 0 END), SUM(escalated * {{sign}}), "
              f"SUM(CASE WHEN held_to_account > 0 THEN {{sign}} ELSE 0 END) "
              f"FROM {{{ACTIONS.name}}} "
              f"WHERE status <> '{WITHDRAWN}' AND {{in}} GROUP BY agency_id, partnership")
    return [(AGENCY_ACTIONS, counts), *(
        (table, (f"SELECT agency_id, partnership, {value}, SUM({{sign}}) "
                 f"FROM {{{ACTIONS.name}}} WHERE status = '{OPEN}' AND {{in}} "
                 f"GROUP BY agency_id, partnership, {value} ORDER BY 3, 1, 2"))
        for table, value in ((DUE_DAYS, "due_on"), (DUE_MONTHS, "SUBSTR(due_on, 1, 7)"),
                             (UPDATED_DAYS, "updated_on"),
                             (UPDATED_MONTHS, "SUBSTR(updated_on, 1, 7)")))]


COUNTED = _counted()
# The escalations rollup keeps since when the longest has waited (a minimum, which cannot be
# taken out again): derived again for the agencies whose escalated actions a batch touched.
ESCALATED = (f"SELECT agency_id, partnership, COALESCE(escalation_level, 'lead_partners'), "
             f"COUNT(*), MIN(escalated_on) FROM {{{ACTIONS.name}}} "
             f"WHERE escalated = 1 AND status <> '{WITHDRAWN}' AND {{in}} "
             f"GROUP BY agency_id, partnership, COALESCE(escalation_level, 'lead_partners')")


@dataclass
class _Counted:
    """What a unit of work took out of the rollups before its actions changed: the actions
    whose stored rows it took out of the counted rollups, their agencies, and those of them
    with an escalated action among them."""

    actions: set[str] = field(default_factory=set)
    agencies: set[str] = field(default_factory=set)
    escalating: set[str] = field(default_factory=set)


def _counted_of(changes: Changes) -> _Counted:
    counted: _Counted = changes.__dict__.setdefault("counted", _Counted())
    return counted


def _chunks(keys: set[str]) -> Iterator[tuple[str, list[str]]]:
    """`column IN (?, ...)` conditions over at most 500 keys each (SQLite caps the number of
    parameters), with their keys."""
    ordered = sorted(keys)
    for i in range(0, len(ordered), 500):
        chunk = ordered[i:i + 500]
        yield f"IN ({', '.join('?' * len(chunk))})", chunk


def _add_counts(tx: Tx, table: Table, select: str, actions: set[str], sign: int) -> None:
    """Add what these actions count (times `sign`) to a counted rollup's rows."""
    key, counts = table.names[:len(table.key)], table.names[len(table.key):]
    upsert = (f"INSERT INTO {{{table.name}}} AS t ({', '.join(table.names)}) {{select}} "
              f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
              + ", ".join(f"{c} = t.{c} + excluded.{c}" for c in counts))
    for within, chunk in _chunks(actions):
        rows = select.replace("{sign}", str(sign)).replace("{in}", f"action_id {within}")
        tx.execute(upsert.replace("{select}", rows), chunk)


class ActionStatusProjection(ViewProjection):
    name = "actions"
    # 4: the agency rollup counts the actions waiting on the agency; 5: the rollups are
    # derived in SQL from the actions' rows; 6: the escalation ladder's level and the
    # evidence items (the yearly report); 7: each action's partnership (its review's), and
    # the rollups per agency and partnership; 8: the escalated actions by level, a rollup
    version = 8
    tables = (ACTIONS, AGENCY_ACTIONS, DUE_MONTHS, UPDATED_MONTHS, DUE_DAYS, UPDATED_DAYS,
              ESCALATIONS, REVIEW_PARTNERSHIPS)

    def prefetch(self, changes: Changes, events: list[Any]) -> None:
        """Read the rows the batch will change, and take what they count now out of the
        rollups (flushed adds back what they count after)."""
        actions = [uid(e.originator_id) for e in events]
        changes.prefetch(ACTIONS.name, actions)
        changes.prefetch(REVIEW_PARTNERSHIPS.name, [
            uid(e.review_id) for e in events if getattr(e, "review_id", None) is not None])
        if changes.bulk:  # the rollups are derived when the run ends
            return
        counted = _counted_of(changes)
        stored = {a for a in actions if a not in counted.actions
                  and changes.get(ACTIONS.name, a) is not None}
        if not stored:
            return
        rows = [row for row in (changes.get(ACTIONS.name, a) for a in stored) if row]
        counted.agencies |= {row["agency_id"] for row in rows}
        counted.escalating |= {row["agency_id"] for row in rows if row["escalated"]}
        for table, select in COUNTED:  # before any row of the unit of work is written
            _add_counts(changes.tx, table, select, stored, -1)
        counted.actions |= stored

    @on(REVIEW + "IncidentRecorded")
    def review_recorded(self, ch: Changes, e: Any) -> None:
        ch.put(REVIEW_PARTNERSHIPS.name, {"review_id": uid(e.originator_id),
                                          "partnership": e.partnership})

    def _change(self, ch: Changes, e: Any, values: Callable[[dict[str, Any]], dict[str, Any]],
                ) -> None:
        row = ch.get(ACTIONS.name, uid(e.originator_id))
        if row is not None:
            ch.update(ACTIONS.name, row["action_id"], **values(row))

    def flushed(self, changes: Changes) -> None:
        """The rollups after the batch's rows are written. At the end of a bulk run (whose
        tables were emptied when it began), every row is derived from all the actions;
        otherwise what the changed actions count now is added (prefetch took out what they
        counted before), rows that count nothing any more are removed, and the escalations
        of the agencies with an escalated action among them derived again."""
        tx = changes.tx
        if changes.bulk:
            for table, select in (*COUNTED, (ESCALATIONS, ESCALATED)):
                tx.execute(f"INSERT INTO {{{table.name}}} ({', '.join(table.names)}) "
                           + select.replace("{sign}", "1").replace("{in}", "1 = 1"))
            return
        changed = list(changes.changed(ACTIONS.name))
        counted = _counted_of(changes)
        actions = counted.actions | {row["action_id"] for row in changed}
        agencies = counted.agencies | {row["agency_id"] for row in changed}
        for table, select in COUNTED:
            _add_counts(tx, table, select, actions, 1)
            counts = table.names[len(table.key):]
            nothing = " AND ".join(f"{c} = 0" for c in counts)
            for within, chunk in _chunks(agencies):
                tx.execute(f"DELETE FROM {{{table.name}}} WHERE agency_id {within} "
                           f"AND {nothing}", chunk)
        escalating = counted.escalating | {
            row["agency_id"] for row in changed if row["escalated"]}
        for within, chunk in _chunks(escalating):
            condition = f"agency_id {within}"
            tx.execute(f"DELETE FROM {{{ESCALATIONS.name}}} WHERE {condition}", chunk)
            tx.execute(f"INSERT INTO {{{ESCALATIONS.name}}} ({', '.join(ESCALATIONS.names)}) "
                       + ESCALATED.replace("{in}", condition), chunk)
        changes.__dict__.pop("counted", None)  # a unit of work is flushed once

    @on(ACTION + "Assigned")
    def assigned(self, ch: Changes, e: Any) -> None:
        on_ = iso(e.occurred_on)
        review = ch.get(REVIEW_PARTNERSHIPS.name, uid(e.review_id))
        row = {
            "action_id": uid(e.originator_id), "review_id": uid(e.review_id),
            "recommendation_id": uid(e.recommendation_id), "agency_id": uid(e.agency_id),
            "description": e.description, "status": OPEN, "assigned_on": on_,
            "due_on": iso(e.due_on), "original_due_on": iso(e.due_on), "due_revisions": 0,
            "last_progress_on": None, "last_rag": None, "updated_on": on_,
            "progress_reports": 0, "claimed_on": None, "assured_on": None, "escalated": 0,
            "escalated_on": None, "held_to_account": 0, "impact": None, "withdrawn_on": None,
            "escalation_level": None, "evidence_items": 0,
            "partnership": review["partnership"] if review else "",
        }
        ch.put(ACTIONS.name, row)

    @on(ACTION + "ProgressReported")
    def progress(self, ch: Changes, e: Any) -> None:
        def values(row: dict[str, Any]) -> dict[str, Any]:
            last = later(row["last_progress_on"], iso(e.occurred_on))
            return {"last_progress_on": last, "last_rag": e.rag,
                    "updated_on": later(row["updated_on"], last),
                    "progress_reports": row["progress_reports"] + 1,
                    "evidence_items": row["evidence_items"] + len(e.evidence)}
        self._change(ch, e, values)

    @on(ACTION + "CompletionClaimed")
    def claimed(self, ch: Changes, e: Any) -> None:
        def values(row: dict[str, Any]) -> dict[str, Any]:
            last = later(row["last_progress_on"], iso(e.occurred_on))
            return {"status": CLAIMED, "claimed_on": iso(e.occurred_on),
                    "last_progress_on": last, "updated_on": later(row["updated_on"], last),
                    "evidence_items": row["evidence_items"] + len(e.evidence)}
        self._change(ch, e, values)

    @on(ACTION + "CompletionAssured")
    def assured(self, ch: Changes, e: Any) -> None:
        self._change(ch, e, lambda row: {"status": ASSURED, "assured_on": iso(e.occurred_on)})

    @on(ACTION + "CompletionRejected")
    def rejected(self, ch: Changes, e: Any) -> None:
        self._change(ch, e, lambda row: {"status": OPEN, "claimed_on": None})

    @on(ACTION + "DueDateRevised")
    def revised(self, ch: Changes, e: Any) -> None:
        self._change(ch, e, lambda row: {"due_on": iso(e.due_on),
                                         "due_revisions": row["due_revisions"] + 1})

    @on(ACTION + "Escalated")
    def escalated(self, ch: Changes, e: Any) -> None:
        self._change(ch, e, lambda row: {"escalated": 1, "escalated_on": iso(e.occurred_on),
                                         "escalation_level": e.level})

    @on(ACTION + "EscalatedToBoard")
    def escalated_to_board(self, ch: Changes, e: Any) -> None:
        # Recorded before the ladder: the top of it (the Board's turn).
        self._change(ch, e, lambda row: {"escalated": 1, "escalated_on": iso(e.occurred_on),
                                         "escalation_level": "lead_partners"})

    @on(ACTION + "HeldToAccount")
    def held(self, ch: Changes, e: Any) -> None:
        self._change(ch, e, lambda row: {"escalated": 0, "escalated_on": None,
                                         "escalation_level": None,
                                         "held_to_account": row["held_to_account"] + 1})

    @on(ACTION + "EntryCorrected")
    def entry_corrected(self, ch: Changes, e: Any) -> None:
        if e.field == "evidence":
            change = len(e.corrected) - len(e.previous)
            self._change(ch, e, lambda row: {"evidence_items": row["evidence_items"] + change})

    @on(ACTION + "EntryRetracted")
    def evidence_retracted(self, ch: Changes, e: Any) -> None:
        self._change(ch, e, lambda row: {"evidence_items": row["evidence_items"] - 1})

    @on(ACTION + "OwnerTransferred")
    def transferred(self, ch: Changes, e: Any) -> None:
        """A merger: the action moves to the successor (the rollups follow it: prefetch took
        it out of the agency it left)."""
        ch.update(ACTIONS.name, uid(e.originator_id), agency_id=uid(e.to_agency_id))

    @on(ACTION + "ImpactEvaluated")
    def impact(self, ch: Changes, e: Any) -> None:
        ch.update(ACTIONS.name, uid(e.originator_id), impact=e.impact)

    @on(ACTION + "Withdrawn")
    def withdrawn(self, ch: Changes, e: Any) -> None:
        self._change(ch, e, lambda row: {"status": WITHDRAWN,
                                         "withdrawn_on": iso(e.occurred_on)})


# ---- queries --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Thresholds:
    """What "at risk" and "stalled" mean; from settings, applied at query time."""

    at_risk_due_within_days: int = 14
    at_risk_no_update_days: int = 30
    stalled_days: int = 60


@lru_cache(maxsize=16)
def _bounds(today: date, t: Thresholds) -> tuple[str, str, str]:
    """Today, the at-risk due horizon and the staleness bound as ISO dates (worked out once
    per query day, not once per row of a page)."""
    return (today.isoformat(), (today + timedelta(days=t.at_risk_due_within_days)).isoformat(),
            (today - timedelta(days=t.at_risk_no_update_days)).isoformat())


def rag_of(row: dict[str, Any], today: date, t: Thresholds) -> str:
    """The derived RAG of one action on `today` (the SQL filters below say the same)."""
    status = row["status"]
    if status == WITHDRAWN:
        return "withdrawn"
    if status == ASSURED:
        return "assured"
    if status == CLAIMED:
        return "complete_awaiting_assurance"
    today_s, due_soon, stale = _bounds(today, t)
    if row["due_on"] < today_s:
        return "overdue"
    if row["due_on"] <= due_soon and row["updated_on"] <= stale:
        return "at_risk"
    return "on_track"


def rag_condition(rag: str, today: date, t: Thresholds) -> str:
    """SQL (on view_actions aliased a) selecting the actions with this derived RAG.

    Its days and statuses are written into the SQL, not passed as parameters: with them the
    planner sees the range a page will walk, and the statement's plan is made once a day and
    kept. As parameters, PostgreSQL judged its generic plan worse than one made for the
    values, and planned "at risk" again at every request (a third of its time at 100k
    actions, where the 10k ledger's estimates had it keep the generic plan). The values are
    dates and this module's constants, never a client's text."""
    today_s = _day(today)
    due_soon = _day(today + timedelta(days=t.at_risk_due_within_days))
    stale = _day(today - timedelta(days=t.at_risk_no_update_days))
    if rag == "withdrawn":
        return f"a.status = '{WITHDRAWN}'"
    if rag == "assured":
        return f"a.status = '{ASSURED}'"
    if rag == "complete_awaiting_assurance":
        return f"a.status = '{CLAIMED}'"
    if rag == "overdue":
        return f"a.status = '{OPEN}' AND a.due_on < {today_s}"
    if rag == "at_risk":
        return (f"a.status = '{OPEN}' AND a.due_on >= {today_s} AND a.due_on <= {due_soon} "
                f"AND a.updated_on <= {stale}")
    if rag == "on_track":
        return (f"a.status = '{OPEN}' AND a.due_on >= {today_s} AND (a.due_on > {due_soon} "
                f"OR a.updated_on > {stale})")
    raise ValueError(f"rag must be one of {', '.join(RAGS)}")


def _day(day: date) -> str:
    """A day as an SQL literal (ISO text, as the views store days)."""
    return f"'{date.isoformat(day)}'"


def days_between(earlier: str, later_day: date) -> int:
    return (later_day - date.fromisoformat(earlier)).days


ACTION_COLUMNS = (
    "a.*, g.name AS agency_name, g.status AS agency_status, r.reference AS review_reference"
)


def list_actions(
    tx: Tx, *, today: date, thresholds: Thresholds, agency_id: str | None = None,
    review_id: str | None = None, status: str | None = None, rag: str | None = None,
    overdue: bool | None = None, stalled_days: int | None = None, limit: int = 100,
    after: tuple[str, str] | None = None, partnerships: list[str] | None = None,
) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """A page of actions, most urgent due date first, and the cursor of the next page.

    Filters combine with AND. `overdue` and `stalled_days` apply to open actions only
    (a claimed completion is waiting on assurance, not on the agency)."""
    where: list[str] = []
    params: list[Any] = []
    if agency_id is not None:
        where.append("a.agency_id = ?")
        params.append(agency_id)
    if review_id is not None:
        where.append("a.review_id = ?")
        params.append(review_id)
    if status is not None:
        where.append("a.status = ?")
        params.append(status)
    if partnerships is not None:  # the actions of these partnerships' reviews
        where.append(in_partnerships("a.review_id", partnerships, params) or "")
    if rag is not None:
        where.append(rag_condition(rag, today, thresholds))
    if overdue is not None:
        overdue_sql = rag_condition("overdue", today, thresholds)
        where.append(overdue_sql if overdue else f"NOT ({overdue_sql})")
    if stalled_days is not None:  # (days as literals, as in rag_condition)
        where.append(f"a.status = '{OPEN}' AND a.updated_on <= "
                     f"{_day(today - timedelta(days=stalled_days))}")
    if after is not None:
        where.append("(a.due_on, a.action_id) > (?, ?)")
        params += list(after)
    # The page first, then its names: joined before the LIMIT, the planner (which cannot see
    # that near due dates are mostly open ones) joined and sorted every matching action.
    order = f"ORDER BY a.due_on, a.action_id {page_limit(limit + 1)}"
    sql = (f"SELECT {ACTION_COLUMNS} FROM (SELECT * FROM {{view_actions}} a"
           + (" WHERE " + " AND ".join(where) if where else "") + f" {order}) a "
           "LEFT JOIN {view_agencies} g ON g.agency_id = a.agency_id "
           f"LEFT JOIN {{view_reviews}} r ON r.review_id = a.review_id {order}")
    rows = tx.query(sql, params)
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = (rows[-1]["due_on"], rows[-1]["action_id"]) if more and rows else None
    return [present(r, today, thresholds) for r in rows], cursor


def get_action(tx: Tx, action_id: str, *, today: date,
               thresholds: Thresholds) -> dict[str, Any] | None:
    row = tx.one(f"SELECT {ACTION_COLUMNS} FROM {{view_actions}} a "
                 "LEFT JOIN {view_agencies} g ON g.agency_id = a.agency_id "
                 "LEFT JOIN {view_reviews} r ON r.review_id = a.review_id "
                 "WHERE a.action_id = ?", (action_id,))
    return present(row, today, thresholds) if row else None


def present(row: dict[str, Any], today: date, t: Thresholds) -> dict[str, Any]:
    """The row as the API gives it (the row itself, fresh from the query, is completed)."""
    out = row
    out["escalated"] = bool(row["escalated"])
    out["days_at_escalation_level"] = (days_between(row["escalated_on"], today)
                                       if row["escalated"] and row["escalated_on"] else None)
    out["rag"] = rag_of(row, today, t)
    open_ = row["status"] == OPEN
    out["overdue"] = open_ and row["due_on"] < _bounds(today, t)[0]
    out["days_since_update"] = days_between(row["updated_on"], today)
    out["days_overdue"] = days_between(row["due_on"], today) if out["overdue"] else 0
    return out
