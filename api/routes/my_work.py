"""My work: what waits on the signed-in person, from the Board's read models (scoped as the
API scopes them).

- an agency lead: their agency's open actions overdue, due within N working days, or without
  an update for N days; challenges addressed to their agency awaiting its answer;
- the SCB manager: completions to assure, deadlines within N working days, escalated actions
  awaiting the Board, challenges at stages 1-3 awaiting an agreed outcome;
- a Board member: items for the next Board meeting: escalated actions awaiting the Board's
  outcome, reports scrutinised and awaiting sign-off, challenges at stage 4.

`ledger remind` sends the same lists as a weekly digest (api/reminders.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from api.deps import BoardDep, PageDep, SettingsDep
from api.routes.board import paging, scope
from api.routes.page_data import all_actions, all_reviews, partnerships
from api.web import Page, PageRoute, render
from domain import clock
from domain.actors import Role
from domain.deadlines import add_working_days
from projections.board import Board

router = APIRouter(include_in_schema=False, route_class=PageRoute)

DUE_SOON_WORKING_DAYS = 10


@dataclass
class Queue:
    """One list of what waits: a heading, its rows (the Board's rows) and their kind."""

    key: str
    heading: str
    kind: str  # action, challenge, review
    items: list[dict[str, Any]] = field(default_factory=list)


def work_for(board: Board, page: Page, stalled_days: int,
             due_in: int = DUE_SOON_WORKING_DAYS) -> list[Queue]:
    actor = page.actor
    assert actor is not None
    today = page.when.as_of.date() if page.when.as_of else clock.today()
    horizon = add_working_days(today, due_in)
    actions, _ = all_actions(board, page)
    live = [a for a in actions if a["status"] in ("open", "completion_claimed")]
    with paging():
        challenges = board.challenges(at=page.when.at, status="open",
                                      partnerships=partnerships(page),
                                      agency_id=scope(actor, None), limit=100_000)["items"]
    due_soon = [a for a in live if a["status"] == "open"
                and today <= _day(a["due_on"]) <= horizon]
    if actor.role is Role.AGENCY_LEAD:
        mine = [a for a in live if str(a["agency_id"]) == str(actor.agency_id)]
        return [
            Queue("overdue", "Overdue", "action", [a for a in mine if a["overdue"]]),
            Queue("due_soon", f"Due within {due_in} working days (by {horizon:%-d %b %Y})",
                  "action", [a for a in due_soon if a in mine]),
            Queue("stalled", f"No update for {stalled_days} days or more", "action",
                  [a for a in mine if a["status"] == "open"
                   and a["days_since_update"] >= stalled_days]),
            Queue("challenges", "Challenges waiting on your agency's answer", "challenge",
                  [c for c in challenges if c["awaiting_response"]
                   and str(c["addressed_to"]) == str(actor.agency_id)]),
        ]
    if actor.role is Role.SCB_MANAGER:
        return [
            Queue("to_assure", "Completions to assure", "action",
                  [a for a in live if a["status"] == "completion_claimed"]),
            Queue("due_soon", f"Deadlines within {due_in} working days (by "
                  f"{horizon:%-d %b %Y})", "action", due_soon),
            Queue("overdue", "Overdue, not escalated", "action",
                  [a for a in live if a["overdue"] and not a["escalated"]]),
            Queue("escalated", "Escalations waiting on the Board", "action",
                  [a for a in live if a["escalated"]]),
            Queue("challenges", "Challenges at stages 1-3 to bring to an agreed outcome",
                  "challenge", [c for c in challenges if c["stage"] < 4]),
        ]
    if actor.role is Role.BOARD_MEMBER:
        reviews, _ = all_reviews(board, page)
        return [
            Queue("escalated", "Escalated actions awaiting the Board's outcome", "action",
                  [a for a in actions if a["escalated"] and a["status"] != "withdrawn"]),
            Queue("sign_off", "Reports scrutinised, awaiting sign-off", "review",
                  [r for r in reviews if r["stage"] == "scrutinised"]),
            Queue("challenges", "Challenges at stage 4 (the Board)", "challenge",
                  [c for c in challenges if c["stage"] == 4]),
        ]
    return [Queue("challenges", "Open challenges", "challenge", challenges)]


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


@router.get("/view/my-work", response_class=HTMLResponse)
def my_work(page: PageDep, board: BoardDep, settings: SettingsDep,
            stalled_days: int | None = None) -> Response:
    page.section = "my-work"
    days = stalled_days if stalled_days is not None else settings.stalled_days
    queues = work_for(board, page, days)
    return render(page, "pages/my_work.html", title="My work", queues=queues,
                  stalled_days=days, total=sum(len(q.items) for q in queues))
