"""The pages for the people who read the ledger: the overview, lists of actions, reviews,
challenges and themes, one page per action, agency and review, the audit trail and the
integrity page. Server-rendered; not part of the OpenAPI schema.

Every number comes from the query the API's route calls (the Board's read models, scoped by
api/routes/board.scope as the API scopes them; records and histories through the Ledger as
GET /actions/{id} and .../history read them), at the page's point in time (`as_of` or
`position`, kept by every link).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.charts import RAG_ORDER, stacked_bars
from api.deps import (
    BoardDep,
    IntegrityDep,
    LedgerDep,
    PageDep,
    SessionFormDep,
    SettingsDep,
    SignerDep,
)
from api.forms import (
    ASSIGN_ACTION,
    RAISE_CHALLENGE,
    RAISE_ON_REVIEW,
    REGISTER_AGENCY,
    REGISTER_USER,
    USER_FORMS,
    FormState,
    new_token,
    offered,
)
from api.params import EARLIEST, LATEST
from api.routes.board import answering, paging, scope
from api.routes.page_data import (
    agency_names,
    all_actions,
    all_reviews,
    history_until,
    latest_checkpoint,
    partnerships,
    rag_counts,
    version_at,
)
from api.schemas.actions import ActionOut
from api.schemas.reviews import ReviewOut
from api.settings import Settings
from api.web import DomainErrorPage, Page, PageRoute, When, render, words
from domain import clock
from domain.action import ActionStatus, DerivedRag
from domain.actors import Actor, Permission, Role
from domain.application import Context
from domain.errors import Forbidden, NotFound
from domain.ledger import Ledger
from ledger_verifier.bundle import key_fingerprint
from projections.board import Board

router = APIRouter(include_in_schema=False, route_class=PageRoute)

PAGE_SIZE = 50


def today_of(when: When) -> date:
    return when.as_of.date() if when.as_of else clock.today()


# ---- the overview ---------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def overview(page: PageDep, board: BoardDep, integrity: IntegrityDep) -> Response:
    """Per agency (of the partnership chosen, or the person's own), its actions by status;
    the reviews and their deadlines; the latest checkpoint."""
    page.section = "overview"
    with answering():
        agencies = board.agencies(at=page.when.at, agency_id=scope(page.actor, None),
                                  partnerships=partnerships(page))
    actions, _ = all_actions(board, page)
    counts = rag_counts(actions)
    rows = sorted(agencies["items"], key=lambda a: (-a["overdue"], -a["stalled"],
                                                     a["agency_name"] or ""))
    chart = stacked_bars(
        [(a["agency_name"] or str(a["agency_id"]), {rag: counts.get(str(a["agency_id"]),
                                                                     Counter())[rag]
                                                    for rag in RAG_ORDER},
          {rag: page.url("/view/actions", agency=a["agency_id"], rag=rag)
           for rag in RAG_ORDER}) for a in rows])
    reviews, _ = all_reviews(board, page)
    return render(page, "pages/overview.html", title=_overview_title(page.actor),
                  agencies=rows, counts=counts, chart=chart, reviews=reviews[:12],
                  reviews_total=len(reviews), stalled_days=agencies["stalled_days"],
                  today=agencies["today"], position=agencies["position"],
                  checkpoint=latest_checkpoint(integrity, board, page), rag_order=RAG_ORDER)


def _overview_title(actor: Actor | None) -> str:
    if actor is not None and actor.role is Role.AGENCY_LEAD:
        return "Your agency's actions"
    return "Overview: are agencies acting on the learning?"


# ---- actions --------------------------------------------------------------------------------

SORTS = {"due": ("due_on", False), "due_desc": ("due_on", True),
         "stale": ("days_since_update", True), "fresh": ("days_since_update", False)}


@router.get("/view/actions", response_class=HTMLResponse)
def actions_list(page: PageDep, board: BoardDep, agency: UUID | None = None,
                 review: UUID | None = None, status: str | None = None,
                 rag: str | None = None, overdue: bool | None = None,
                 stalled_days: int | None = None, sort: str = "due",
                 cursor: str | None = None) -> Response:
    page.section = "actions"
    filters = {"review_id": str(review) if review else None, "status": status or None,
               "rag": rag or None, "overdue": overdue, "stalled_days": stalled_days}
    if sort not in SORTS:
        raise DomainErrorPage(422, "Not understood", f"'{sort}' is not a way to sort actions.")
    if status and status not in {s.value for s in ActionStatus}:
        raise DomainErrorPage(422, "Not understood", f"'{status}' is not an action status.")
    if rag and rag not in {r.value for r in DerivedRag}:
        raise DomainErrorPage(422, "Not understood", f"'{rag}' is not a status of the day.")
    with paging():
        if sort == "due":  # the API's own order: one page at a time with its cursor
            body = board.actions(at=page.when.at, agency_id=scope(page.actor, agency),
                                 partnerships=partnerships(page),
                                 limit=PAGE_SIZE, cursor=cursor or None, **filters)
            items, position, nxt = body["items"], body["position"], body["next_cursor"]
            total = None
        else:  # another order: every matching action, sorted here
            items, position = all_actions(board, page, agency=agency, **filters)
            key, reverse = SORTS[sort]
            items.sort(key=lambda a: (a[key], str(a["action_id"])), reverse=reverse)
            total, nxt = len(items), None
    names = agency_names(board, page)
    references = {str(r["review_id"]): r["reference"] for r in all_reviews(board, page)[0]}
    params = {"agency": agency, "review": review, "status": status, "rag": rag,
              "overdue": overdue, "stalled_days": stalled_days}
    return render(page, "pages/actions.html", title="Actions", items=items, position=position,
                  next_cursor=nxt, total=total, params=params, sort=sort, names=names,
                  references=references,
                  agency_name=names.get(str(agency)) if agency else None,
                  csv_url=page.url("/view/csv/actions.csv", **params))


@router.get("/view/actions/{action_id}", response_class=HTMLResponse)
def action_page(action_id: UUID, page: PageDep, ledger: LedgerDep, board: BoardDep) -> Response:
    return render_action(page, ledger, board, action_id)


def render_action(page: Page, ledger: Ledger, board: Board, action_id: UUID,
                  state: FormState | None = None, http_status: int = 200) -> Response:
    """The action's page; with `state`, a refused form shown back with its reasons."""
    page.section = "actions"
    current = ledger.get_action(action_id)
    page.actor.require_agency(current.agency_id, "read actions")  # type: ignore[union-attr]
    if page.actor.partnerships:  # type: ignore[union-attr]  (as GET /actions/{id})
        page.actor.require_partnership(  # type: ignore[union-attr]
            ledger.get_review(current.review_id).partnership, "read the actions")
    action = ledger.get_action(action_id, version=version_at(ledger, action_id, page.when),
                               as_of=page.when.as_of)
    out = ActionOut.of(action)
    history = history_until(ledger.action_history(action_id), page.when)
    review = ledger.get_review(action.review_id)
    recommendation = next((r for r in review.recommendations
                           if r.id == action.recommendation_id), None)
    names = agency_names(board, page)
    forms = [] if page.when.past else offered(
        "action", action.allowed_next(), page.actor, action.agency_id)
    may_challenge = not page.when.past and page.actor is not None and \
        page.actor.may_command("raise_challenge")
    return render(page, "pages/action.html", http_status=http_status,
                  title=f"Action: {out.description[:60]}",
                  action=out, history=history, review=review, recommendation=recommendation,
                  agency_name=names.get(str(action.agency_id), str(action.agency_id)),
                  today=today_of(page.when), forms=forms, state=state or FormState(),
                  raise_form=RAISE_CHALLENGE if may_challenge else None,
                  new_token=new_token, done=page.request.query_params.get("done"))


# ---- agencies -------------------------------------------------------------------------------

@router.get("/view/agencies/{agency_id}", response_class=HTMLResponse)
def agency_page(agency_id: UUID, page: PageDep, ledger: LedgerDep, board: BoardDep) -> Response:
    page.section = "overview"
    page.actor.require_agency(agency_id, "read agencies")  # type: ignore[union-attr]
    ledger.get_agency(agency_id)  # 404 for an unknown id
    with answering():
        rows = board.agencies(at=page.when.at, agency_id=str(agency_id),
                              partnerships=partnerships(page))
        if not rows["items"]:
            if board.agencies(at=page.when.at, agency_id=str(agency_id))["items"]:
                raise Forbidden("this agency serves in none of the partnerships you read")
            raise NotFound(f"agency {agency_id} was not registered at this point in time")
    row = rows["items"][0]
    actions, _ = all_actions(board, page, agency=agency_id)
    counts = rag_counts(actions).get(str(agency_id), Counter())
    chart = stacked_bars([(row["agency_name"] or str(agency_id),
                           {rag: counts[rag] for rag in RAG_ORDER},
                           {rag: page.url("/view/actions", agency=agency_id, rag=rag)
                            for rag in RAG_ORDER})])
    with paging():
        challenges = board.challenges(at=page.when.at, agency_id=str(agency_id), limit=200,
                                      partnerships=partnerships(page))
    names = [e for e in history_until(ledger.agency_history(agency_id), page.when)]
    open_actions = [a for a in actions if a["status"] in ("open", "completion_claimed")]
    escalated = [a for a in actions if a["escalated"] or a["held_to_account"]]
    return render(page, "pages/agency.html", title=row["agency_name"] or "Agency", row=row,
                  chart=chart, actions=open_actions, escalated=escalated,
                  challenges=challenges["items"], history=names,
                  stalled_days=rows["stalled_days"], position=rows["position"],
                  today=rows["today"], counts=counts, rag_order=RAG_ORDER)


# ---- reviews --------------------------------------------------------------------------------

@router.get("/view/reviews", response_class=HTMLResponse)
def reviews_list(page: PageDep, board: BoardDep, cursor: str | None = None) -> Response:
    page.section = "reviews"
    with paging():
        body = board.reviews(at=page.when.at, agency_id=scope(page.actor, None),
                             limit=PAGE_SIZE, cursor=cursor or None,
                             partnerships=partnerships(page))
    return render(page, "pages/reviews.html", title="Reviews and statutory deadlines",
                  items=body["items"], position=body["position"], next_cursor=body["next_cursor"],
                  csv_url=page.url("/view/csv/reviews.csv"))


@router.get("/view/reviews/{review_id}", response_class=HTMLResponse)
def review_page(review_id: UUID, page: PageDep, ledger: LedgerDep, board: BoardDep,
                settings: SettingsDep) -> Response:
    return render_review(page, ledger, board, settings, review_id)


def render_review(page: Page, ledger: Ledger, board: Board, settings: Settings,
                  review_id: UUID, state: FormState | None = None,
                  http_status: int = 200) -> Response:
    """The review's page; the steps its stage allows, as forms for those who may take them."""
    page.section = "reviews"
    current = ledger.get_review(review_id)
    actor = page.actor
    assert actor is not None
    if actor.role is Role.AGENCY_LEAD and actor.agency_id not in current.agencies_involved:
        raise Forbidden("an agency lead may only read the reviews their agency is in")
    actor.require_partnership(current.partnership, "read the reviews")  # as GET /reviews/{id}
    review = ledger.get_review(review_id, version=version_at(ledger, review_id, page.when),
                               as_of=page.when.as_of)
    actions, position = all_actions(board, page, review_id=str(review_id))
    out = ReviewOut.of(review, today=_today_at(board, page),
                       rapid_review_clock=settings.rapid_review_clock)
    by_recommendation: dict[str, list[dict[str, Any]]] = {}
    for a in actions:
        by_recommendation.setdefault(str(a["recommendation_id"]), []).append(a)
    numbers = {str(f.id): n for n, f in enumerate(out.findings, 1)}
    names = agency_names(board, page)
    live = not page.when.past
    forms = offered("review", review.allowed_next(), actor, None) if live else []
    assign = (ASSIGN_ACTION if live and review.recommendations
              and actor.may_command("assign_action") else None)
    choices = {
        "findings": [(str(f.id), f"Finding {numbers[str(f.id)]}: {f.text[:80]}")
                     for f in out.findings if not f.retracted],
        "recommendations": [(str(r.id), r.text[:90]) for r in out.recommendations
                            if not r.retracted],
        "agencies": sorted(names.items(), key=lambda kv: kv[1]),
    }
    return render(page, "pages/review.html", http_status=http_status,
                  title=f"Review {out.reference}", review=out,
                  by_recommendation=by_recommendation, finding_numbers=numbers,
                  timeline=timeline(out), names=names, position=position,
                  forms=forms, assign_form=assign, choices=choices,
                  raise_form=RAISE_ON_REVIEW if live and review.local_decision is not None
                  and actor.may_command("raise_challenge") else None,
                  state=state or FormState(), new_token=new_token,
                  done=page.request.query_params.get("done"))


STEPS = (("Partners became aware", "aware_on"), ("National Panel notified", "notified_on"),
         ("Rapid review completed", "rapid_review_on"), ("Local decision", "decided_on"),
         ("National Panel's decision", "panel_decided_on"),
         ("Reviewer commissioned", "commissioned_on"), ("Report submitted", "submitted_on"),
         ("Scrutinised", "scrutinised_on"), ("Signed off by the Board", "signed_off_on"),
         ("Sent to the Panel and the Secretary of State", "sent_on"),
         ("Published", "published_on"), ("Closed", "closed_on"))


def timeline(review: ReviewOut) -> list[dict[str, Any]]:
    """The statutory process in date order: each step done (its date) and each statutory
    deadline (due, met or missed by how many working days, or still to come)."""
    dates = review.dates.model_dump()
    rows: list[dict[str, Any]] = [
        {"label": label, "on": dates[key], "deadline": None}
        for label, key in STEPS if dates.get(key)]
    rows += [{"label": d.description or words(d.name), "on": d.done_on or d.due_on,
              "deadline": d} for d in review.deadlines]
    return sorted(rows, key=lambda r: (r["on"], r["deadline"] is not None))


def _today_at(board: Board, page: Page) -> date:
    """'Today' as the Board's views take it at this point in time."""
    with answering():
        return date.fromisoformat(board.agencies(at=page.when.at,
                                                 agency_id=scope(page.actor, None))["today"])


# ---- challenges and themes ------------------------------------------------------------------

@router.get("/view/challenges", response_class=HTMLResponse)
def challenges_list(page: PageDep, board: BoardDep, status: str = "open",
                    agency: UUID | None = None, stage: int | None = None,
                    cursor: str | None = None) -> Response:
    page.section = "challenges"
    if status not in ("open", "resolved", "all"):
        raise DomainErrorPage(422, "Not understood", f"'{status}' is not a challenge status.")
    with paging():
        body = board.challenges(at=page.when.at, status=None if status == "all" else status,
                                partnerships=partnerships(page),
                                agency_id=scope(page.actor, agency), stage=stage,
                                limit=PAGE_SIZE, cursor=cursor or None)
    return render(page, "pages/challenges.html", title="Professional challenges",
                  items=body["items"], position=body["position"],
                  next_cursor=body["next_cursor"], status=status, agency=agency,
                  stage=stage, csv_url=page.url("/view/csv/challenges.csv",
                                                status=None if status == "all" else status,
                                                agency=agency, stage=stage))


@router.get("/view/themes", response_class=HTMLResponse)
def themes_list(page: PageDep, board: BoardDep, theme: str | None = None) -> Response:
    page.section = "themes"
    with answering():
        body = board.themes(at=page.when.at, theme=theme or None,
                            partnerships=partnerships(page))
        items = sorted(body["items"], key=lambda t: (not t["recurrent"], -t["review_count"],
                                                     t["theme"]))
        for item in items:  # the reviews behind each recurrent theme (GET ...?theme=)
            if item["recurrent"] and not item.get("reviews"):
                detail = board.themes(at=page.when.at, theme=item["theme"],
                                      partnerships=partnerships(page))["items"]
                item["reviews"] = detail[0]["reviews"] if detail else []
    return render(page, "pages/themes.html", title="Themes", items=items, theme=theme,
                  position=body["position"], csv_url=page.url("/view/csv/themes.csv"))


# ---- the audit trail ------------------------------------------------------------------------

@router.get("/view/audit", response_class=HTMLResponse)
def audit_page(request: Request, page: PageDep, board: BoardDep, entity: UUID | None = None,
               actor: str | None = None, agency: UUID | None = None,
               event_type: str | None = None, since: str | None = None,
               until: str | None = None,
               cursor: Annotated[int | None, Query(ge=0, le=2**62)] = None,
               newest_first: bool = True) -> Response:
    page.section = "audit"
    moments = {}
    for name, raw in (("since", since), ("until", until)):
        if raw:
            try:
                moment = datetime.fromisoformat(raw)
            except ValueError:
                raise DomainErrorPage(422, "Not understood",
                                      f"'{raw}' is not a date and time.") from None
            moment = moment if moment.tzinfo else moment.replace(tzinfo=clock.now().tzinfo)
            if not EARLIEST <= moment <= LATEST:  # the API's bounds (api/params.py)
                raise DomainErrorPage(422, "That date is out of range",
                                      f"'{raw}' is not between 1970 and 2999.")
            moments[name] = moment
    with answering():
        body = board.audit(at=page.when.at, entity_id=str(entity) if entity else None,
                           actor=actor or None, agency_id=scope(page.actor, agency),
                           event_type=event_type or None, since=moments.get("since"),
                           until=moments.get("until"), cursor=cursor, limit=PAGE_SIZE,
                           descending=newest_first)
    params = {"entity": entity, "actor": actor, "agency": agency, "event_type": event_type,
              "since": since, "until": until, "newest_first": newest_first}
    return render(page, "pages/audit.html", title="Audit trail", items=body["items"],
                  position=body["position"], next_cursor=body["next_cursor"], params=params,
                  names=agency_names(board, page),
                  csv_url=page.url("/view/csv/audit.csv", agency=agency))


# ---- integrity ------------------------------------------------------------------------------

@router.get("/view/integrity", response_class=HTMLResponse)
def integrity_page(request: Request, page: PageDep, integrity: IntegrityDep,
                   board: BoardDep) -> Response:
    page.section = "integrity"
    check = getattr(request.app.state, "last_self_check", None)
    return render(page, "pages/integrity.html", title="Integrity",
                  checkpoint=latest_checkpoint(integrity, board, page), origin=integrity.origin,
                  vkey=integrity.vkey, fingerprint=key_fingerprint(integrity.vkey),
                  guarded=integrity.guarded, check=check,
                  may_export=page.actor is not None and page.actor.may(Permission.EXPORT),
                  head=integrity.ledger.head_position())


@router.post("/view/integrity/self-check")
def run_self_check(request: Request, form: SessionFormDep, integrity: IntegrityDep,
                   page: PageDep) -> Response:
    """Verify the live log against its signed checkpoints now, and keep the result."""
    page.actor.require(Permission.EXPORT, "verify the ledger's integrity")  # type: ignore[union-attr]
    verdict = integrity.verify_live()
    request.app.state.last_self_check = {
        "at": clock.now(), "by": page.actor.name if page.actor else "",
        "ok": bool(getattr(verdict, "ok", False)),
        "summary": _verdict_text(verdict)}
    return RedirectResponse("/view/integrity", 303)


def _verdict_text(verdict: Any) -> str:
    for name in ("summary", "message", "detail"):
        value = getattr(verdict, name, None)
        if isinstance(value, str) and value:
            return value
    return str(verdict)


# ---- people (SCB managers) ------------------------------------------------------------------

@router.get("/view/users", response_class=HTMLResponse)
def users_page(page: PageDep, ledger: LedgerDep, board: BoardDep) -> Response:
    return render_users(page, ledger, board)


def render_users(page: Page, ledger: Ledger, board: Board, link: dict[str, Any] | None = None,
                 state: FormState | None = None, http_status: int = 200) -> Response:
    """People and agencies: register them, a person's address and access, sign-in links."""
    page.section = "users"
    page.actor.require(Permission.MANAGE_USERS, "issue sign-in links")  # type: ignore[union-attr]
    with answering():
        users = board.user_directory(at=page.when.at)
    names = agency_names(board, page)
    records = {str(u.id): u for u in ledger.list_users()}
    choices = {"agencies": sorted(names.items(), key=lambda kv: kv[1]),
               "partnerships": [(p, p) for p in page.partnership_choices]}
    return render(page, "pages/users.html", http_status=http_status,
                  title="People and sign-in links", users=users["items"], names=names,
                  link=link, records=records, choices=choices, state=state or FormState(),
                  new_token=new_token, user_forms=list(USER_FORMS.values()),
                  register_forms=[REGISTER_USER, REGISTER_AGENCY],
                  done=page.request.query_params.get("done"))


@router.post("/view/users/{user_id}/sign-in-link", response_class=HTMLResponse)
def issue_link(user_id: UUID, request: Request, form: SessionFormDep, page: PageDep,
               ledger: LedgerDep, board: BoardDep, signer: SignerDep) -> Response:
    """A one-time sign-in link for a named user, shown once (the SCB manager sends it)."""
    issued = ledger.issue_sign_in_link(Context(page.actor), user_id,  # type: ignore[arg-type]
                                       lifetime=signer.link_lifetime)
    user = ledger.get_user(user_id)
    link = {"url": str(request.base_url).rstrip("/") + f"/sign-in/link/{user_id}/{issued.secret}",
            "name": user.name, "expires_at": issued.expires_at}
    return render_users(page, ledger, board, link=link)


# ---- CSV downloads (the API's CSV writer and columns, for a person with a session) ---------

@router.get("/view/csv/{name}.csv")
def csv_download(name: str, page: PageDep, board: BoardDep, agency: UUID | None = None,
                 review: UUID | None = None, status: str | None = None,
                 rag: str | None = None, overdue: bool | None = None,
                 stalled_days: int | None = None, stage: int | None = None) -> Response:
    """What `Accept: text/csv` gives on the API's list (every page), for a link."""
    from api.routes.audit import AuditEntry
    from api.routes.board import csv_response
    from api.schemas.board import ActionRow, AgencyRow, ChallengeRow, ReviewRow, ThemeRow

    if name == "actions":
        items, position = all_actions(board, page, agency=agency,
                                      review_id=str(review) if review else None,
                                      status=status or None, rag=rag or None, overdue=overdue,
                                      stalled_days=stalled_days)
        return csv_response(items, list(ActionRow.model_fields), position, "actions")
    if name == "agencies":
        with answering():
            body = board.agencies(at=page.when.at, agency_id=scope(page.actor, agency),
                                  partnerships=partnerships(page))
        return csv_response(body["items"], list(AgencyRow.model_fields), body["position"],
                            "agencies")
    if name == "reviews":
        items, position = all_reviews(board, page)
        return csv_response(items, list(ReviewRow.model_fields), position, "reviews")
    if name == "challenges":
        with paging():
            body = board.challenges(at=page.when.at, status=status or None,
                                    partnerships=partnerships(page),
                                    agency_id=scope(page.actor, agency), stage=stage,
                                    limit=100_000)
        return csv_response(body["items"], list(ChallengeRow.model_fields), body["position"],
                            "challenges")
    if name == "themes":
        with answering():
            body = board.themes(at=page.when.at, partnerships=partnerships(page))
        return csv_response(body["items"], list(ThemeRow.model_fields), body["position"],
                            "themes")
    if name == "audit":
        with answering():
            body = board.audit(at=page.when.at, agency_id=scope(page.actor, agency),
                               limit=10_000)
        return csv_response(body["items"], list(AuditEntry.model_fields), body["position"],
                            "audit")
    raise NotFound(f"there is no CSV called {name}")


@router.get("/view/integrity/export")
def export_download(page: PageDep, integrity: IntegrityDep) -> Response:
    """The export bundle, as GET /integrity/export gives it, for a person with a session."""
    from fastapi.responses import StreamingResponse

    from projections.integrity import chunked, read_ahead

    page.actor.require(Permission.EXPORT, "export the ledger")  # type: ignore[union-attr]
    return StreamingResponse(read_ahead(chunked(integrity.export_lines())),
                             media_type="text/plain; charset=utf-8", headers={
                                 "Content-Disposition": 'attachment; filename="ledger.sglb"'})


@router.get("/view/integrity/proof")
def proof_download(page: PageDep, integrity: IntegrityDep, position: int) -> Response:
    """One event's tlog-proof file, as GET /integrity/events/{position}/tlog-proof gives it."""
    from fastapi.responses import PlainTextResponse

    if not 1 <= position <= 2**62:
        raise DomainErrorPage(422, "Not understood", "A log position is a whole number from 1.")
    return PlainTextResponse(integrity.tlog_proof(position), headers={
        "Content-Disposition": f'attachment; filename="event-{position}.tlog-proof"'})
