"""Agency accountability: the list the Board holds agencies to account from.

Per agency: actions open, overdue, stalled, completed on time (%), escalated, held to account;
challenges addressed to it and open. A query, not a projection of its own: it reads the
rollups the action and challenge projections keep beside their rows (view_agency_actions,
view_agency_due_months, view_agency_updated_months, view_agency_challenges), so a rollup
always moves in the same transaction as the rows it sums.

"Today" is applied here. Overdue = open actions due before today: whole months before this
one from the monthly counts, plus this month's days from the daily counts. Stalled = open
actions last updated on or before today - N days, the same way. The work is bounded by
agencies x (months + 31), not by the number of actions.

Withdrawn actions count nowhere. "Open" is every action not yet assured (a claimed completion
is still open until assured); "overdue" and "stalled" count only actions waiting on the agency
(status open), as the RAG of the action list does.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from projections.db import Tx


def agency_accountability(tx: Tx, *, today: date, stalled_days: int,
                          agency_id: str | None = None) -> list[dict[str, Any]]:
    """One row per agency in the directory (agencies with nothing to answer for show zeros),
    most overdue first."""
    only = " WHERE agency_id = ?" if agency_id else ""
    p: list[Any] = [agency_id] if agency_id else []
    counts = {r["agency_id"]: r for r in tx.query(f"SELECT * FROM {{view_agency_actions}}{only}",
                                                  p)}
    challenges = {r["agency_id"]: r for r in tx.query(
        f"SELECT * FROM {{view_agency_challenges}}{only}", p)}
    stale = (today - timedelta(days=stalled_days)).isoformat()
    overdue, stalled = _open_before(tx, today.isoformat(), stale, agency_id)
    agencies = tx.query(f"SELECT agency_id, name, kind, status FROM {{view_agencies}}{only}", p)
    known = {a["agency_id"] for a in agencies}
    # An agency with actions but not (yet) in the directory still shows, by id.
    agencies += [{"agency_id": a, "name": None, "kind": None, "status": None}
                 for a in sorted((counts.keys() | challenges.keys()) - known)]
    out = []
    for agency in agencies:
        key = agency["agency_id"]
        c, ch = counts.get(key, {}), challenges.get(key, {})
        completed = int(c.get("completed", 0))
        on_time = int(c.get("completed_on_time", 0))
        out.append({
            "agency_id": key, "agency_name": agency["name"], "agency_kind": agency["kind"],
            "agency_status": agency["status"], "open": int(c.get("open", 0)),
            "overdue": overdue.get(key, 0), "stalled": stalled.get(key, 0),
            "stalled_days": stalled_days, "completed": completed,
            "completed_on_time": on_time,
            "completed_on_time_pct": round(100 * on_time / completed, 1) if completed else None,
            "escalated": int(c.get("escalated", 0)),
            "held_to_account": int(c.get("held_to_account", 0)),
            "challenges_open": int(ch.get("open", 0)),
            "challenges_total": int(ch.get("total", 0)),
        })
    out.sort(key=lambda r: (-r["overdue"], -r["stalled"], r["agency_name"] or "",
                            r["agency_id"]))
    return out


def _open_before(tx: Tx, today: str, stale: str, agency_id: str | None
                 ) -> tuple[dict[str, int], dict[str, int]]:
    """Per agency, the open actions due before `today` (overdue), and those last updated on
    or before `stale` (stalled): whole months from the monthly counts plus the days of the
    bound's month from the daily ones, in one statement (one round trip, not four)."""
    only = " AND agency_id = ?" if agency_id else ""
    extra = [agency_id] if agency_id else []
    parts, params = [], []
    for kind, bound, inclusive in (("due", today, False), ("updated", stale, True)):
        parts.append(f"SELECT '{kind}' AS kind, agency_id, SUM(n) AS n "
                     f"FROM {{view_agency_{kind}_months}} WHERE month < ?{only} GROUP BY agency_id")
        params += [bound[:7], *extra]
        parts.append(f"SELECT '{kind}' AS kind, agency_id, SUM(n) AS n "
                     f"FROM {{view_agency_{kind}_days}} WHERE day >= ? AND day "
                     f"{'<=' if inclusive else '<'} ?{only} GROUP BY agency_id")
        params += [bound[:8] + "01", bound, *extra]
    out: dict[str, dict[str, int]] = {"due": {}, "updated": {}}
    for row in tx.query(" UNION ALL ".join(parts), params):
        counts = out[row["kind"]]
        counts[row["agency_id"]] = counts.get(row["agency_id"], 0) + int(row["n"])
    return out["due"], out["updated"]
