"""The partners' yearly report: JSON, CSV (one row per action) or a printable HTML page.

GET /reports/yearly?partnership=&from=&to= (default: the last twelve months), as of any point
(`as_of`, `position`) like the Board's views; built from the views (projections/yearly.py).
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import AtDep, BoardDep, ReaderDep
from api.errors import READ_ERRORS
from api.params import Day
from api.routes.board import PartnershipQuery, answering, partnerships_for
from api.routes.dashboard import templates
from domain import clock
from domain.errors import InvalidInput

router = APIRouter(prefix="/reports", tags=["reports"])

CSV_COLUMNS = ("review", "partnership", "stage", "recommendation", "recommendation_correction",
               "action_id", "agency", "action", "status", "due_on", "progress_reports",
               "last_progress_on", "evidence_items", "escalation_level", "impact",
               "little_or_no_evidence")


def report_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per action (a recommendation without actions gets one row of its own)."""
    rows = []
    for review in body["reviews"]:
        for rec in review["recommendations"]:
            base = {"review": review["reference"], "partnership": review["partnership"],
                    "stage": review["stage"], "recommendation": rec["text"],
                    "recommendation_correction": rec["correction"]}
            for a in rec["actions"] or [None]:
                rows.append({**base, **({
                    "action_id": a["action_id"], "agency": a["agency_name"],
                    "action": a["description"], "status": a["status"], "due_on": a["due_on"],
                    "progress_reports": a["progress_reports"],
                    "last_progress_on": a["last_progress_on"],
                    "evidence_items": a["evidence_items"],
                    "escalation_level": a["escalation_level"], "impact": a["impact"],
                    "little_or_no_evidence": a["little_or_no_evidence"]} if a else {})})
    return rows


def to_csv(body: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in report_rows(body):
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return out.getvalue()


FORMATS = {200: {"content": {
    "application/json": {"schema": {"type": "object"}},
    "text/csv": {"schema": {"type": "string"}, "description": "a row per action"},
    "text/html": {"schema": {"type": "string"}, "description": "a printable page"},
}}}


@router.get("/yearly", responses={**READ_ERRORS, **FORMATS})
def yearly(
    request: Request, board: BoardDep, actor: ReaderDep, at: AtDep,
    partnership: PartnershipQuery = None,
    start: Annotated[Day | None, Query(alias="from", description="first day (default: a "
                                                                   "year before `to`)")] = None,
    end: Annotated[Day | None, Query(alias="to", description="last day (default today)")] = None,
    format: Annotated[str | None, Query(pattern="^(json|csv|html)$", description=(
        "json, csv or html (default: by the Accept header, else json)"))] = None,
) -> Response:
    """Per review: its decisions with dates, the deadlines met or missed, each recommendation
    with its actions, status, evidence, escalation and impact evaluation, those with little
    or no evidence of progress flagged; and the period's recurrent themes."""
    end = end or clock.today()
    start = start or end - timedelta(days=364)
    if start > end:
        raise InvalidInput("from must not be after to", field="from")
    scoped = partnerships_for(actor, partnership)
    if scoped is not None and len(scoped) > 1:
        raise InvalidInput("you belong to several partnerships: name one with ?partnership=",
                           field="partnership")
    with answering():
        body = board.yearly_report(start=start, end=end, at=at,
                                   partnership=scoped[0] if scoped else None)
    accept = request.headers.get("accept", "")
    kind = format or ("csv" if "text/csv" in accept else
                      "html" if "text/html" in accept else "json")
    headers = {"X-Ledger-Position": str(body["position"])}
    if kind == "csv":
        return Response(to_csv(body), media_type="text/csv; charset=utf-8", headers={
            **headers, "Content-Disposition": 'attachment; filename="yearly-report.csv"'})
    if kind == "html":
        page: HTMLResponse = templates.TemplateResponse(request, "yearly.html",
                                                        {"report": body})
        page.headers.update(headers)
        return page
    return JSONResponse(body, headers=headers)
