"""The partners' yearly report (Working Together 2023: the decisions and the actions taken to
implement every review's recommendations, and where there is little or no evidence of
progress; Staffordshire's "lessons learned and impact tracker"), built from the views.

For a partnership (or all) and a period [start, end]: every review active in it (aware on or
before the end, not closed before the start) with its decisions and dates, the statutory
deadlines met or missed, each recommendation (as corrected) with its actions, their status,
evidence, escalation and impact; an action is flagged "little or no evidence of progress"
when it is still open (or claimed) and has no evidence at all, or no update for the stalled
threshold, or is overdue. The themes are those of the period's findings; recurrent when two
or more of the partnership's reviews carry them. Nothing is replayed: it reads the reviews,
actions, themes and directory views (as of any point, through the Board's `At`).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from projections.actions import Thresholds
from projections.actions import present as present_action
from projections.db import Tx
from projections.reviews import deadlines_of


def yearly_report(tx: Tx, *, today: date, start: date, end: date, partnership: str | None,
                  rapid_review_clock: str, thresholds: Thresholds) -> dict[str, Any]:
    where = ["aware_on <= ?", "(closed_on IS NULL OR closed_on >= ?)"]
    params: list[Any] = [end.isoformat(), start.isoformat()]
    if partnership is not None:
        where.append("partnership = ?")
        params.append(partnership)
    rows = tx.query("SELECT * FROM {view_reviews} WHERE " + " AND ".join(where)
                    + " ORDER BY aware_on, review_id", params)
    ids = [r["review_id"] for r in rows]
    recommendations = _by_review(tx.select_in(
        "SELECT * FROM {view_recommendations} WHERE {in} ORDER BY recorded_on, "
        "recommendation_id", "review_id", ids) if ids else [])
    actions = _by_review(tx.select_in(
        "SELECT a.*, g.name AS agency_name FROM {view_actions} a LEFT JOIN {view_agencies} g "
        "ON g.agency_id = a.agency_id WHERE {in} ORDER BY a.due_on, a.action_id",
        "a.review_id", ids) if ids else [])
    reviews = [_review(r, recommendations.get(r["review_id"], []),
                       actions.get(r["review_id"], []), today, rapid_review_clock, thresholds)
               for r in rows]
    every_action = [a for r in reviews for rec in r["recommendations"] for a in rec["actions"]]
    deadlines = [d for r in reviews for d in r["deadlines"]]
    return {
        "partnership": partnership, "from": start.isoformat(), "to": end.isoformat(),
        "today": today.isoformat(),
        "summary": {
            "reviews": len(reviews),
            "decided_to_review": sum(1 for r in reviews if r["conduct_review"]),
            "recommendations": sum(len(r["recommendations"]) for r in reviews),
            "actions": len(every_action),
            "actions_assured": sum(1 for a in every_action if a["status"] == "assured"),
            "actions_flagged": sum(1 for a in every_action if a["little_or_no_evidence"]),
            "impact_demonstrable": sum(1 for a in every_action
                                       if a["impact"] == "demonstrable"),
            "deadlines_met": sum(1 for d in deadlines if d["status"] == "met"),
            "deadlines_missed": sum(1 for d in deadlines if d["status"] == "missed"),
        },
        "reviews": reviews,
        "themes": _themes(tx, ids, start, end),
    }


def _by_review(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["review_id"], []).append(row)
    return out


def _review(row: dict[str, Any], recommendations: list[dict[str, Any]],
            actions: list[dict[str, Any]], today: date, clock_: str,
            thresholds: Thresholds) -> dict[str, Any]:
    decisions = []
    if row["decided_on"]:
        decisions.append({"decision": "local", "on": row["decided_on"],
                          "conduct_review": bool(row["conduct_review"]),
                          "criteria": json.loads(row["local_criteria"] or "[]")})
    if row["panel_decided_on"]:
        decisions.append({"decision": "national_panel", "on": row["panel_decided_on"],
                          "conduct_review": bool(row["national_review"]),
                          "criteria": json.loads(row["panel_criteria"] or "[]")})
    by_rec: dict[str, list[dict[str, Any]]] = {}
    for action in actions:
        by_rec.setdefault(action["recommendation_id"], []).append(
            _action(action, today, thresholds))
    return {
        "review_id": row["review_id"], "reference": row["reference"],
        "partnership": row["partnership"], "stage": row["stage"], "aware_on": row["aware_on"],
        "conduct_review": None if row["conduct_review"] is None
        else bool(row["conduct_review"]),
        "decisions": decisions, "signed_off_on": row["signed_off_on"],
        "published_on": row["published_on"],
        "deadlines": deadlines_of(row, today, clock_),
        "recommendations": [{
            "recommendation_id": rec["recommendation_id"], "text": rec["text"],
            "correction": rec["correction"], "recorded_on": rec["recorded_on"],
            "actions": by_rec.get(rec["recommendation_id"], []),
        } for rec in recommendations],
    }


def _action(row: dict[str, Any], today: date, thresholds: Thresholds) -> dict[str, Any]:
    a = present_action(dict(row), today, thresholds)
    live = a["status"] in ("open", "completion_claimed")
    flagged = live and (a["evidence_items"] == 0 or a["overdue"]
                        or a["days_since_update"] >= thresholds.stalled_days)
    return {
        "action_id": a["action_id"], "agency_id": a["agency_id"],
        "agency_name": a["agency_name"], "description": a["description"],
        "status": a["status"], "rag": a["rag"], "due_on": a["due_on"],
        "assured_on": a["assured_on"], "progress_reports": a["progress_reports"],
        "last_progress_on": a["last_progress_on"], "evidence_items": a["evidence_items"],
        "escalation_level": a["escalation_level"], "impact": a["impact"],
        "little_or_no_evidence": flagged,
    }


def _themes(tx: Tx, review_ids: list[str], start: date, end: date) -> list[dict[str, Any]]:
    if not review_ids:
        return []
    rows = tx.select_in(
        "SELECT theme, review_id, finding_id, recorded_on, correction FROM "
        "{view_theme_findings} WHERE {in}", "review_id", review_ids)
    counts: dict[str, tuple[set[str], set[str]]] = {}
    for r in rows:
        if r["correction"] == "retracted" or not (
                start.isoformat() <= r["recorded_on"] <= end.isoformat()):
            continue
        reviews, findings = counts.setdefault(r["theme"], (set(), set()))
        reviews.add(r["review_id"])
        findings.add(r["finding_id"])
    out = [{"theme": t, "reviews": len(rv), "findings": len(fd), "recurrent": len(rv) >= 2}
           for t, (rv, fd) in counts.items()]
    return sorted(out, key=lambda t: (-t["reviews"], -t["findings"], t["theme"]))
