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
The work is bounded by agencies x partnerships x (months ahead + 16): neither the history's
length nor the number of actions.

By partnership: the rollups are kept per agency and partnership (an action belongs to its
review's partnership, a challenge to its subject's), so a Board member of one partnership
sees a shared agency's counts of their partnership's actions only, read from the same rows;
the list of all partnerships sums each agency's rows (one per partnership it has actions in).

Withdrawn actions count nowhere. "Open" is every action not yet assured (a claimed completion
is still open until assured); "overdue" and "stalled" count only actions waiting on the agency
(status open), as the RAG of the action list does.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from projections.db import Tx
from projections.reviews import in_list


def agency_accountability(tx: Tx, *, today: date, stalled_days: int,
                          agency_id: str | None = None,
                          partnerships: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per agency in the directory (agencies with nothing to answer for show zeros),
    most overdue first. With `partnerships`: the agencies serving them (or with actions or
    challenges in them), and counts of their actions and challenges only (an action belongs
    to its review's partnership, a challenge to its subject's)."""
    params: list[Any] = []
    only = _only(agency_id, partnerships, params)
    # Every agency in the directory, and by id one with actions or challenges that is not
    # (yet) in it, with its rollups (summed over partnerships): one statement.
    sums = ", ".join(f"SUM({c}) AS {c}" for c in (
        "open", "waiting", "completed", "completed_on_time", "escalated", "held_to_account"))
    agencies = tx.query(
        "SELECT i.agency_id, g.name, g.kind, g.status, g.partnerships, c.open, c.waiting, "
        "c.completed, c.completed_on_time, c.escalated, c.held_to_account, "
        "ch.open AS challenges_open, ch.total AS challenges_total FROM (SELECT agency_id "
        "FROM {view_agencies} UNION SELECT agency_id FROM {view_agency_actions} UNION "
        "SELECT agency_id FROM {view_agency_challenges}) AS i "
        "LEFT JOIN {view_agencies} AS g USING (agency_id) "
        f"LEFT JOIN (SELECT agency_id, {sums} FROM {{view_agency_actions}}{only} "
        "GROUP BY agency_id) AS c USING (agency_id) "
        "LEFT JOIN (SELECT agency_id, SUM(open) AS open, SUM(total) AS total FROM "
        f"{{view_agency_challenges}}{only} GROUP BY agency_id) AS ch USING (agency_id)"
        + (" WHERE i.agency_id = ?" if agency_id else ""),
        params * 2 + ([agency_id] if agency_id else []))
    due_ahead, updated_since = _waiting_from(tx, today, today - timedelta(days=stalled_days),
                                             agency_id, partnerships)
    ladder = _escalations(tx, today, agency_id, partnerships)
    wanted = set(partnerships) if partnerships is not None else None
    out = []
    for a in agencies:
        key = a["agency_id"]
        if wanted is not None and a["open"] is None and a["challenges_total"] is None and not (
                set(json.loads(a["partnerships"] or "[]")) & wanted):
            continue  # neither serving these partnerships nor answering for anything in them
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
    out.sort(key=lambda r: (-r["overdue"], -r["stalled"], r["agency_name"] or "",
                            r["agency_id"]))
    return out


def _only(agency_id: str | None, partnerships: list[str] | None, params: list[Any],
          where: str = " WHERE ") -> str:
    """The condition on a rollup's (or the actions') rows for one agency and/or some
    partnerships, its values added to `params` ("" when neither)."""
    conditions = []
    if agency_id:
        conditions.append("agency_id = ?")
        params.append(agency_id)
    if partnerships is not None:
        conditions.append(in_list("partnership", partnerships, params))
    return where + " AND ".join(conditions) if conditions else ""


def _escalations(tx: Tx, today: date, agency_id: str | None,
                 partnerships: list[str] | None) -> dict[str, list[dict[str, Any]]]:
    """Per agency, the escalated actions waiting on it by the ladder's level they have
    reached: how many, and how long (calendar days) the longest has waited there; the
    longest wait first. Read from the escalations rollup: a few rows per agency."""
    params: list[Any] = []
    only = _only(agency_id, partnerships, params)
    rows = tx.query(
        "SELECT agency_id, level, SUM(n) AS n, MIN(since) AS since FROM "
        "{view_agency_escalations}" + only + " GROUP BY agency_id, level", params)
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["agency_id"], []).append({
            "level": r["level"], "actions": int(r["n"]), "since": r["since"],
            "days_waiting": (today - date.fromisoformat(r["since"])).days,
        })
    for items in out.values():
        items.sort(key=lambda i: (-i["days_waiting"], i["level"]))
    return out


def _waiting_from(tx: Tx, today: date, stale: date, agency_id: str | None,
                  partnerships: list[str] | None = None,
                  ) -> tuple[dict[str, int], dict[str, int]]:
    """Per agency, the actions waiting on it that are due on `today` or later (not overdue),
    and those last updated after `stale` (not stalled), in one statement (one round trip).

    Each is the months after the bound's month plus the part of its month from the bound on;
    that part is either its days from the bound to the month's end, or the whole month less
    its days before the bound, whichever are fewer (at most half a month of daily rows)."""
    extra: list[Any] = []
    only = _only(agency_id, partnerships, extra, " AND ")
    parts: list[str] = []
    params: list[Any] = []
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
