"""Agency accountability: the list the Board holds agencies to account from.

Per agency: actions open, overdue, stalled, completed on time (%), escalated, held to account;
challenges addressed to it and open. A query, not a projection of its own: it reads the
rollups the action and challenge projections keep beside their rows (view_agency_actions,
view_agency_due_months, view_agency_updated_months, view_agency_challenges), so a rollup
always moves in the same transaction as the rows it sums.

"Today" is applied here. Overdue = open actions due before today: those waiting on the agency
less those due today or later. Stalled = open actions last updated on or before today - N
days: those waiting less those updated since. "Due today or later" is the monthly counts of
the months after this one plus this month from today on (its daily counts to the month's end,
or the month less its days before today, whichever are fewer), and "updated since" the same.
The work is bounded by agencies x (months ahead + 16): neither the history's length nor the
number of actions.

Withdrawn actions count nowhere. "Open" is every action not yet assured (a claimed completion
is still open until assured); "overdue" and "stalled" count only actions waiting on the agency
(status open), as the RAG of the action list does.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from projections.db import Tx


def agency_accountability(tx: Tx, *, today: date, stalled_days: int,
                          agency_id: str | None = None,
                          partnerships: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per agency in the directory (agencies with nothing to answer for show zeros),
    most overdue first."""
    # Every agency in the directory, and by id one with actions or challenges that is not
    # (yet) in it, with its rollups: one statement.
    agencies = tx.query(
        "SELECT i.agency_id, g.name, g.kind, g.status, c.open, c.waiting, c.completed, "
        "c.completed_on_time, c.escalated, c.held_to_account, ch.open AS challenges_open, "
        "ch.total AS challenges_total FROM (SELECT agency_id FROM {view_agencies} UNION "
        "SELECT agency_id FROM {view_agency_actions} UNION "
        "SELECT agency_id FROM {view_agency_challenges}) AS i "
        "LEFT JOIN {view_agencies} AS g USING (agency_id) "
        "LEFT JOIN {view_agency_actions} AS c USING (agency_id) "
        "LEFT JOIN {view_agency_challenges} AS ch USING (agency_id)"
        + (" WHERE i.agency_id = ?" if agency_id else ""), [agency_id] if agency_id else [])
    due_ahead, updated_since = _waiting_from(tx, today, today - timedelta(days=stalled_days),
                                             agency_id)
    ladder = _escalations(tx, today, agency_id)
    out = []
    for a in agencies:
        key = a["agency_id"]
        completed, on_time = int(a["completed"] or 0), int(a["completed_on_time"] or 0)
        waiting = int(a["waiting"] or 0)
        out.append({
            "agency_id": key, "agency_name": a["name"], "agency_kind": a["kind"],
            "agency_status": a["status"], "open": int(a["open"] or 0),
            "overdue": waiting - due_ahead.get(key, 0),
            "stalled": waiting - updated_since.get(key, 0),
            "stalled_days": stalled_days, "completed": completed,
            "completed_on_time": on_time,
            "completed_on_time_pct": round(100 * on_time / completed, 1) if completed else None,
            "escalated": int(a["escalated"] or 0),
            "escalations": ladder.get(key, []),
            "held_to_account": int(a["held_to_account"] or 0),
            "challenges_open": int(a["challenges_open"] or 0),
            "challenges_total": int(a["challenges_total"] or 0),
        })
    if partnerships is not None:  # the agencies serving these partnerships
        serving = {r["agency_id"] for r in tx.query(
            "SELECT agency_id, partnerships FROM {view_agencies}")
            if set(json.loads(r["partnerships"])) & set(partnerships)}
        out = [r for r in out if r["agency_id"] in serving]
    out.sort(key=lambda r: (-r["overdue"], -r["stalled"], r["agency_name"] or "",
                            r["agency_id"]))
    return out


def _escalations(tx: Tx, today: date, agency_id: str | None) -> dict[str, list[dict[str, Any]]]:
    """Per agency, each escalated action with the ladder's level it has reached and how long
    (calendar days) it has waited there; longest wait first. Escalated actions are few."""
    rows = tx.query(
        "SELECT agency_id, action_id, escalation_level, escalated_on FROM {view_actions} "
        "WHERE escalated = 1" + (" AND agency_id = ?" if agency_id else ""),
        [agency_id] if agency_id else [])
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["agency_id"], []).append({
            "action_id": r["action_id"], "level": r["escalation_level"] or "lead_partners",
            "since": r["escalated_on"],
            "days_waiting": (today - date.fromisoformat(r["escalated_on"])).days,
        })
    for items in out.values():
        items.sort(key=lambda i: (-i["days_waiting"], i["action_id"]))
    return out


def _waiting_from(tx: Tx, today: date, stale: date, agency_id: str | None
                  ) -> tuple[dict[str, int], dict[str, int]]:
    """Per agency, the actions waiting on it that are due on `today` or later (not overdue),
    and those last updated after `stale` (not stalled), in one statement (one round trip).

    Each is the months after the bound's month plus the part of its month from the bound on;
    that part is either its days from the bound to the month's end, or the whole month less
    its days before the bound, whichever are fewer (at most half a month of daily rows)."""
    only = " AND agency_id = ?" if agency_id else ""
    extra = [agency_id] if agency_id else []
    parts, params = [], []
    for kind, first in (("due", today), ("updated", stale + timedelta(days=1))):
        month = first.replace(day=1)
        following = (month + timedelta(days=31)).replace(day=1)
        early = (first - month).days < (following - first).days
        months, sign, days = ((">=", "-", (month, first)) if early else
                              (">", "", (first, following)))
        parts.append(f"SELECT '{kind}' AS kind, agency_id, SUM(n) AS n FROM "
                     f"{{view_agency_{kind}_months}} WHERE month {months} ?{only} "
                     f"GROUP BY agency_id")
        params += [month.isoformat()[:7], *extra]
        parts.append(f"SELECT '{kind}' AS kind, agency_id, {sign}SUM(n) AS n FROM "
                     f"{{view_agency_{kind}_days}} WHERE day >= ? AND day < ?{only} "
                     f"GROUP BY agency_id")
        params += [days[0].isoformat(), days[1].isoformat(), *extra]
    out: dict[str, dict[str, int]] = {"due": {}, "updated": {}}
    for row in tx.query(" UNION ALL ".join(parts), params):
        counts = out[row["kind"]]
        counts[row["agency_id"]] = counts.get(row["agency_id"], 0) + int(row["n"])
    return out["due"], out["updated"]
