"""Action plans in and out of Excel on the pages: the SCB manager uploads a review's plan,
sees every row previewed (what it will record, every problem), and records it only when the
whole file is clean (api/action_plan.py); a review's plan and the Board's list of actions go
out as .xlsx beside their CSV."""

from __future__ import annotations

import base64
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.action_plan import (
    COLUMNS,
    TITLES,
    agency_lookup,
    plan_rows,
    read_preview,
    record,
    save_mapping,
    saved_mapping,
    to_xlsx,
)
from api.deps import BoardDep, LedgerDep, PageDep, SessionUploadDep, SettingsDep
from api.routes.board import answering
from api.routes.page_data import agency_names, all_actions
from api.web import PageRoute, render
from domain.actors import Permission

router = APIRouter(include_in_schema=False, route_class=PageRoute)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/view/reviews/{review_id}/import", response_class=HTMLResponse)
def import_form(review_id: UUID, page: PageDep, ledger: LedgerDep) -> Response:
    page.section = "reviews"
    page.actor.require(Permission.ASSIGN_ACTIONS, "import action plans")  # type: ignore[union-attr]
    review = ledger.get_review(review_id)
    return render(page, "pages/import.html", title=f"Import an action plan: {review.reference}",
                  review=review, preview=None)


@router.post("/view/reviews/{review_id}/import", response_class=HTMLResponse)
def import_upload(review_id: UUID, upload: SessionUploadDep, page: PageDep, ledger: LedgerDep,
                  board: BoardDep, settings: SettingsDep) -> Response:
    """Preview the file; with `confirm`, record it if (and only if) it is clean."""
    page.section = "reviews"
    actor = page.actor
    assert actor is not None
    actor.require(Permission.ASSIGN_ACTIONS, "import action plans")
    review = ledger.get_review(review_id)
    if not upload.data:
        return render(page, "pages/import.html", http_status=422,
                      title=f"Import an action plan: {review.reference}", review=review,
                      preview=None, error="Choose an .xlsx file to upload.")
    with answering():
        agencies = agency_lookup(board.agency_directory()["items"])
    mapping_file = settings.data_dir / "import-mapping.json"
    given = {upload.fields[f"heading_{n}"]: upload.fields[f"column_{n}"]
             for n in range(50) if upload.fields.get(f"column_{n}") in COLUMNS
             and upload.fields.get(f"heading_{n}")}
    if given and upload.fields.get("save_mapping") == "yes":
        save_mapping(mapping_file, given)
    mapping = {**saved_mapping(mapping_file), **given}
    preview = read_preview(upload.data, upload.file_name, review, review.reference, agencies,
                           actor, ledger, mapping=mapping)
    if upload.fields.get("confirm") == "yes" and preview.clean:
        made = record(ledger, actor, preview)
        return RedirectResponse(page.url(f"/view/reviews/{review_id}",
                                         done=f"imported {len(made)} actions"), 303)
    return render(page, "pages/import.html", http_status=200 if preview.clean else 422,
                  title=f"Import an action plan: {review.reference}", review=review,
                  preview=preview, file_data=base64.b64encode(upload.data).decode(),
                  titles=TITLES, mapping=mapping)


@router.get("/view/reviews/{review_id}/action-plan.xlsx")
def review_plan_xlsx(review_id: UUID, page: PageDep, ledger: LedgerDep,
                     board: BoardDep) -> Response:
    """The review's action plan (every action of the review, the ledger's current state)."""
    review = ledger.get_review(review_id)
    page.actor.require_partnership(review.partnership, "read the reviews")  # type: ignore[union-attr]
    actions, _ = all_actions(board, page, review_id=str(review_id))
    rows = plan_rows(ledger, [UUID(str(a["action_id"])) for a in actions],
                     agency_names(board, page))
    return Response(to_xlsx(rows, f"Action plan {review.reference}"), media_type=XLSX,
                    headers={"Content-Disposition":
                             f'attachment; filename="action-plan-{review.reference}.xlsx"'})


@router.get("/view/xlsx/actions.xlsx")
def actions_xlsx(page: PageDep, ledger: LedgerDep, board: BoardDep,
                 agency: UUID | None = None, review: UUID | None = None,
                 status: str | None = None, overdue: bool | None = None) -> Response:
    """The Board's list of actions (as filtered) in the action plan's columns."""
    actions, _ = all_actions(board, page, agency=agency,
                             review_id=str(review) if review else None,
                             status=status or None, overdue=overdue)
    rows = plan_rows(ledger, [UUID(str(a["action_id"])) for a in actions],
                     agency_names(board, page))
    return Response(to_xlsx(rows, "Actions"), media_type=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="actions.xlsx"'})
