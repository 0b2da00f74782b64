"""The Board pack: one printable document for a Board meeting, as HTML (GET /board/pack) and
as PDF (GET /board/pack.pdf, `ledger pack`), made from the same queries as the pages and the
API at one point in time: the overview, each agency's overdue, stalled and escalated actions,
open challenges, deadline compliance, recurrent themes and the checkpoint to be minuted."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from api.charts import RAG_ORDER, stacked_bars
from api.deps import BoardDep, IntegrityDep, PageDep
from api.reveal import reveal
from api.routes.board import paging, scope
from api.routes.page_data import (
    all_actions,
    all_reviews,
    latest_checkpoint,
    partnerships,
    rag_counts,
)
from api.web import HERE, SECURITY_HEADERS, Page, PageRoute, templates
from domain import clock
from projections.board import Board

router = APIRouter(include_in_schema=False, route_class=PageRoute)


def pack_context(board: Board, integrity: Any, page: Page) -> dict[str, Any]:
    """Everything in the pack, for the page's partnership (chosen, or the person's own) as
    the API's queries scope it (recurrent themes: those of its reviews, counted over them)."""
    at = page.when.at
    agencies = board.agencies(at=at, agency_id=scope(page.actor, None),
                              partnerships=partnerships(page))
    actions = all_actions(board, page)[0]
    counts = rag_counts(actions)
    rows = sorted(agencies["items"], key=lambda a: (-a["overdue"], -a["stalled"],
                                                     a["agency_name"] or ""))
    stalled_days = agencies["stalled_days"]
    today = date.fromisoformat(agencies["today"])
    # "stalled" as the API's stalled_days filter answers it (GET /board/actions?stalled_days=)
    stalled_ids = {str(x["action_id"])
                   for x in all_actions(board, page, stalled_days=stalled_days)[0]}
    per_agency = []
    for a in rows:
        mine = [x for x in actions if str(x["agency_id"]) == str(a["agency_id"])]
        flagged = []
        for x in mine:
            stalled = str(x["action_id"]) in stalled_ids
            if x["rag"] == "overdue" or stalled or x["escalated"] or x["held_to_account"]:
                flagged.append({**x, "stalled": stalled})
        if flagged:
            per_agency.append({"row": a, "actions": flagged})
    reviews = all_reviews(board, page)[0]
    challenges = board.challenges(at=at, status="open", agency_id=scope(page.actor, None),
                                  limit=100_000, partnerships=partnerships(page))["items"]
    themes = board.themes(at=at, recurrent_only=True, partnerships=partnerships(page))["items"]
    themes.sort(key=lambda t: (-t["review_count"], t["theme"]))
    chart = stacked_bars([(a["agency_name"] or str(a["agency_id"]),
                           {rag: counts.get(str(a["agency_id"]), Counter())[rag]
                            for rag in RAG_ORDER}, {}) for a in rows])
    return {"agencies": rows, "counts": counts, "chart": chart, "per_agency": per_agency,
            "reviews": reviews, "challenges": challenges, "themes": themes,
            "checkpoint": latest_checkpoint(integrity, board, page),
            "stalled_days": stalled_days, "today": today, "position": agencies["position"],
            "made_at": clock.now(), "rag_order": RAG_ORDER, "partnership": page.partnership,
            "partnerships": page.partnership_choices}


def render_pack_html(context: dict[str, Any], page: Page, *, inline_css: bool) -> str:
    css = ""
    if inline_css:
        css = "\n".join((HERE / "static" / name).read_text()
                        for name in ("pages.css", "print.css"))
    return templates.get_template("pages/pack.html").render(
        page=page, inline_css=css, title="Board pack", **context)


def render_pack_pdf(context: dict[str, Any], page: Page) -> bytes:
    from weasyprint import HTML  # imported here: only the PDF needs Pango

    html = render_pack_html(context, page, inline_css=True)
    return HTML(string=html, base_url=str(HERE)).write_pdf()  # type: ignore[no-any-return]


@router.get("/board/pack", response_class=HTMLResponse)
def board_pack(page: PageDep, board: BoardDep, integrity: IntegrityDep) -> Response:
    """The printable Board pack (contents, page breaks), at the page's point in time."""
    page.section = "pack"
    with paging():
        context = pack_context(board, integrity, page)
    return HTMLResponse(render_pack_html(context, page, inline_css=False),
                        headers=SECURITY_HEADERS)


@router.get("/board/pack.pdf")
def board_pack_pdf(page: PageDep, board: BoardDep, integrity: IntegrityDep) -> Response:
    """The same pack as PDF (WeasyPrint)."""
    with paging():
        context = pack_context(board, integrity, page)
    context = reveal(context)  # the PDF is rendered here, not by the middleware
    day = context["today"].isoformat()
    return Response(render_pack_pdf(context, page), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="board-pack-{day}.pdf"',
        "X-Ledger-Position": str(context["position"]), "Cache-Control": "no-store"})
