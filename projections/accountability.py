"""Agency accountability: the list the Board holds agencies to account from.

Per agency: actions open, overdue, stalled, completed on time (%), escalated, held to account,
and challenges addressed to it that are open. Counts that do not depend on the date are kept
as counters; "overdue" and "stalled" depend on today, so the view keeps, per agency, how many
open actions fall due on each date and were last updated on each date, and sums the dates
before today (or before today - N) at query time. The work of a query is bounded by the
number of distinct dates, not the number of actions.

Withdrawn actions count nowhere. "Open" is every action not yet assured (a claimed completion
is still open until assured); "overdue" and "stalled" count only actions waiting on the agency
(status open), as the RAG of the action view does.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from projections.base import Changes, Table, ViewProjection, iso, later, on, uid
from projections.db import Tx

# Per-action facts this view needs (its own copy: a view never reads another view's tables
# while applying events, so each view can run, stop and rebuild on its own).
ITEMS = Table(
    "view_acc_actions",
    (("action_id", "TEXT"), ("agency_id", "TEXT NOT NULL"), ("status", "TEXT NOT NULL"),
     ("due_on", "TEXT NOT NULL"), ("updated_on", "TEXT NOT NULL"), ("claimed_on", "TEXT"),
     ("escalated", "INTEGER NOT NULL"), ("held", "INTEGER NOT NULL")),
    key=("action_id",),
)
CHALLENGES = Table(
    "view_acc_challenges",
    (("challenge_id", "TEXT"), ("addressed_to", "TEXT NOT NULL"), ("open", "INTEGER NOT NULL")),
    key=("challenge_id",),
)
COUNTS = Table(
    "view_acc_agencies",
    (("agency_id", "TEXT"), ("open", "BIGINT NOT NULL"), ("completed", "BIGINT NOT NULL"),
     ("completed_on_time", "BIGINT NOT NULL"), ("escalated", "BIGINT NOT NULL"),
     ("held_to_account", "BIGINT NOT NULL"), ("challenges_open", "BIGINT NOT NULL"),
     ("challenges_total", "BIGINT NOT NULL")),
    key=("agency_id",),
    counters=("open", "completed", "completed_on_time", "escalated", "held_to_account",
              "challenges_open", "challenges_total"),
)
# Open actions counted by due date and by date of last update, per agency: by day, and again
# by month so that a query sums whole months before the current one and days only within it
# (its work is bounded by agencies x months, however many actions there are).
DUE = Table(
    "view_acc_due", (("agency_id", "TEXT"), ("due_on", "TEXT"), ("n", "BIGINT NOT NULL")),
    key=("agency_id", "due_on"), counters=("n",), indexes=("due_on",),
)
DUE_MONTHS = Table(
    "view_acc_due_months", (("agency_id", "TEXT"), ("month", "TEXT"), ("n", "BIGINT NOT NULL")),
    key=("agency_id", "month"), counters=("n",), indexes=("month",),
)
UPDATED = Table(
    "view_acc_updated", (("agency_id", "TEXT"), ("updated_on", "TEXT"), ("n", "BIGINT NOT NULL")),
    key=("agency_id", "updated_on"), counters=("n",), indexes=("updated_on",),
)
UPDATED_MONTHS = Table(
    "view_acc_updated_months",
    (("agency_id", "TEXT"), ("month", "TEXT"), ("n", "BIGINT NOT NULL")),
    key=("agency_id", "month"), counters=("n",), indexes=("month",),
)

ACTION = "domain.action:Action."
CHALLENGE = "domain.challenge:Challenge."
OPEN, CLAIMED, ASSURED, WITHDRAWN = "open", "completion_claimed", "assured", "withdrawn"


class AccountabilityProjection(ViewProjection):
    name = "accountability"
    version = 2
    tables = (ITEMS, CHALLENGES, COUNTS, DUE, DUE_MONTHS, UPDATED, UPDATED_MONTHS)

    def prefetch(self, changes: Changes, events: list[Any]) -> None:
        ids = [uid(e.originator_id) for e in events]
        changes.prefetch(ITEMS.name, ids)
        changes.prefetch(CHALLENGES.name, ids)

    # While an action is open (waiting on the agency) it is counted by due date and by date
    # of last update.
    def _waiting(self, ch: Changes, row: dict[str, Any], sign: int) -> None:
        self._due(ch, row["agency_id"], row["due_on"], sign)
        self._updated(ch, row["agency_id"], row["updated_on"], sign)

    def _due(self, ch: Changes, agency: str, day: str, sign: int) -> None:
        ch.add(DUE.name, (agency, day), n=sign)
        ch.add(DUE_MONTHS.name, (agency, day[:7]), n=sign)

    def _updated(self, ch: Changes, agency: str, day: str, sign: int) -> None:
        ch.add(UPDATED.name, (agency, day), n=sign)
        ch.add(UPDATED_MONTHS.name, (agency, day[:7]), n=sign)

    def _row(self, ch: Changes, e: Any) -> dict[str, Any] | None:
        row = ch.get(ITEMS.name, uid(e.originator_id))
        return None if row is None or row["status"] == WITHDRAWN else row

    @on(ACTION + "Assigned")
    def assigned(self, ch: Changes, e: Any) -> None:
        row = {"action_id": uid(e.originator_id), "agency_id": uid(e.agency_id), "status": OPEN,
               "due_on": iso(e.due_on), "updated_on": iso(e.occurred_on), "claimed_on": None,
               "escalated": 0, "held": 0}
        ch.put(ITEMS.name, row)
        ch.add(COUNTS.name, row["agency_id"], open=1)
        self._waiting(ch, row, +1)

    @on(ACTION + "ProgressReported")
    def progress(self, ch: Changes, e: Any) -> None:
        row = self._row(ch, e)
        if row is None:
            return
        updated = later(row["updated_on"], iso(e.occurred_on))
        if updated != row["updated_on"] and row["status"] == OPEN:
            self._updated(ch, row["agency_id"], row["updated_on"], -1)
            self._updated(ch, row["agency_id"], updated, 1)
        ch.update(ITEMS.name, row["action_id"], updated_on=updated)

    @on(ACTION + "CompletionClaimed")
    def claimed(self, ch: Changes, e: Any) -> None:
        row = self._row(ch, e)
        if row is None:
            return
        if row["status"] == OPEN:
            self._waiting(ch, row, -1)
        ch.update(ITEMS.name, row["action_id"], status=CLAIMED, claimed_on=iso(e.occurred_on),
                  updated_on=later(row["updated_on"], iso(e.occurred_on)))

    @on(ACTION + "CompletionRejected")
    def rejected(self, ch: Changes, e: Any) -> None:
        row = self._row(ch, e)
        if row is None or row["status"] != CLAIMED:
            return
        row = ch.update(ITEMS.name, row["action_id"], status=OPEN, claimed_on=None)
        assert row is not None
        self._waiting(ch, row, +1)

    @on(ACTION + "CompletionAssured")
    def assured(self, ch: Changes, e: Any) -> None:
        row = self._row(ch, e)
        if row is None or row["status"] == ASSURED:
            return
        if row["status"] == OPEN:
            self._waiting(ch, row, -1)
        done_on = row["claimed_on"] or iso(e.occurred_on)
        ch.add(COUNTS.name, row["agency_id"], open=-1, completed=1,
               completed_on_time=int(done_on <= row["due_on"]))
        ch.update(ITEMS.name, row["action_id"], status=ASSURED)

    @on(ACTION + "DueDateRevised")
    def revised(self, ch: Changes, e: Any) -> None:
        row = self._row(ch, e)
        if row is None:
            return
        if row["status"] == OPEN:
            self._due(ch, row["agency_id"], row["due_on"], -1)
            self._due(ch, row["agency_id"], iso(e.due_on), 1)
        ch.update(ITEMS.name, row["action_id"], due_on=iso(e.due_on))

    @on(ACTION + "EscalatedToBoard")
    def escalated(self, ch: Changes, e: Any) -> None:
        row = self._row(ch, e)
        if row is None or row["escalated"]:
            return
        ch.add(COUNTS.name, row["agency_id"], escalated=1)
        ch.update(ITEMS.name, row["action_id"], escalated=1)

    @on(ACTION + "HeldToAccount")
    def held(self, ch: Changes, e: Any) -> None:
        row = self._row(ch, e)
        if row is None:
            return
        ch.add(COUNTS.name, row["agency_id"], escalated=-row["escalated"],
               held_to_account=1 - row["held"])
        ch.update(ITEMS.name, row["action_id"], escalated=0, held=1)

    @on(ACTION + "Withdrawn")
    def withdrawn(self, ch: Changes, e: Any) -> None:
        row = self._row(ch, e)
        if row is None:
            return
        if row["status"] == OPEN:
            self._waiting(ch, row, -1)
        ch.add(COUNTS.name, row["agency_id"], open=-int(row["status"] != ASSURED),
               escalated=-row["escalated"], held_to_account=-row["held"])
        ch.update(ITEMS.name, row["action_id"], status=WITHDRAWN)

    @on(CHALLENGE + "Raised")
    def challenge_raised(self, ch: Changes, e: Any) -> None:
        agency = uid(e.addressed_to)
        ch.put(CHALLENGES.name, {"challenge_id": uid(e.originator_id), "addressed_to": agency,
                                 "open": 1})
        ch.add(COUNTS.name, agency, challenges_open=1, challenges_total=1)

    @on(CHALLENGE + "Resolved")
    def challenge_resolved(self, ch: Changes, e: Any) -> None:
        row = ch.get(CHALLENGES.name, uid(e.originator_id))
        if row is None or not row["open"]:
            return
        ch.add(COUNTS.name, row["addressed_to"], challenges_open=-1)
        ch.update(CHALLENGES.name, row["challenge_id"], open=0)


# ---- queries --------------------------------------------------------------------------------

def agency_accountability(tx: Tx, *, today: date, stalled_days: int,
                          agency_id: str | None = None) -> list[dict[str, Any]]:
    """One row per agency in the directory (agencies with nothing to answer for show zeros),
    most overdue first."""
    only = " WHERE agency_id = ?" if agency_id else ""
    p: list[Any] = [agency_id] if agency_id else []
    counts = {r["agency_id"]: r for r in tx.query(f"SELECT * FROM {{view_acc_agencies}}{only}", p)}
    overdue = _before(tx, "view_acc_due", "due_on", today.isoformat(), agency_id)
    stale = (today - timedelta(days=stalled_days)).isoformat()
    stalled = _before(tx, "view_acc_updated", "updated_on", stale, agency_id, inclusive=True)
    agencies = tx.query(f"SELECT agency_id, name, kind, status FROM {{view_agencies}}{only}", p)
    known = {a["agency_id"] for a in agencies}
    # An agency with actions but not (yet) in the directory still shows, by id.
    agencies += [{"agency_id": a, "name": None, "kind": None, "status": None}
                 for a in counts if a not in known]
    out = []
    for agency in agencies:
        c = counts.get(agency["agency_id"], {})
        completed = int(c.get("completed", 0))
        on_time = int(c.get("completed_on_time", 0))
        out.append({
            "agency_id": agency["agency_id"], "agency_name": agency["name"],
            "agency_kind": agency["kind"], "agency_status": agency["status"],
            "open": int(c.get("open", 0)),
            "overdue": overdue.get(agency["agency_id"], 0),
            "stalled": stalled.get(agency["agency_id"], 0),
            "stalled_days": stalled_days,
            "completed": completed, "completed_on_time": on_time,
            "completed_on_time_pct": round(100 * on_time / completed, 1) if completed else None,
            "escalated": int(c.get("escalated", 0)),
            "held_to_account": int(c.get("held_to_account", 0)),
            "challenges_open": int(c.get("challenges_open", 0)),
            "challenges_total": int(c.get("challenges_total", 0)),
        })
    out.sort(key=lambda r: (-r["overdue"], -r["stalled"], r["agency_name"] or "",
                            r["agency_id"]))
    return out


def _before(tx: Tx, table: str, column: str, bound: str, agency_id: str | None, *,
            inclusive: bool = False) -> dict[str, int]:
    """Per agency, the open actions whose date is before `bound` (or on it): whole months
    from the monthly table, the bound's own month day by day."""
    month_start = bound[:8] + "01"
    op = "<=" if inclusive else "<"
    only = " AND agency_id = ?" if agency_id else ""
    extra = [agency_id] if agency_id else []
    out: dict[str, int] = {}
    months = (f"SELECT agency_id, SUM(n) AS n FROM {{{table}_months}} WHERE month < ?{only} "
              "GROUP BY agency_id")
    days = (f"SELECT agency_id, SUM(n) AS n FROM {{{table}}} WHERE {column} >= ? "
            f"AND {column} {op} ?{only} GROUP BY agency_id")
    for sql, params in ((months, [bound[:7], *extra]), (days, [month_start, bound, *extra])):
        for row in tx.query(sql, params):
            out[row["agency_id"]] = out.get(row["agency_id"], 0) + int(row["n"])
    return out
