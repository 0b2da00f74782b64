"""The pages' forms that write (api/forms.py): a form posts to its thing's page; a refusal
shows the page again with the reason beside the field (422, 409, 412) and nothing written; a
success goes back to the page (303) with what was recorded.

Also the challenge's own page, where it is answered, escalated and resolved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import BoardDep, LedgerDep, PageDep, SessionFormDep, SettingsDep
from api.forms import (
    ACTION_FORMS,
    ASSIGN_ACTION,
    CHALLENGE_FORMS,
    RAISE_CHALLENGE,
    RAISE_ON_REVIEW,
    RECORD_INCIDENT,
    REGISTER_AGENCY,
    REGISTER_USER,
    REVIEW_FORMS,
    USER_FORMS,
    Form,
    FormState,
    context,
    new_token,
    offered,
    parse,
)
from api.routes.challenges import _readable as readable_challenge
from api.routes.page_data import agency_names, history_until
from api.routes.pages import render_action, render_review, render_users
from api.schemas.challenges import ChallengeOut
from api.web import Page, PageRoute, render
from domain.actors import Permission
from domain.application import Outcome
from domain.errors import (
    ConcurrentWrite,
    DomainError,
    IdempotencyKeyReused,
    NotFound,
    StaleVersion,
)
from domain.ledger import Ledger
from projections.board import Board

router = APIRouter(include_in_schema=False, route_class=PageRoute)

STALE = ("This record changed since you opened the form: here is what changed. Nothing was "
         "recorded; read the changes, then send the form again if it still stands.")


def submit(page: Page, ledger: Ledger, form: Form, thing_id: UUID, raw: dict[str, str],
           history: Callable[[], list[Any]], show: Callable[[FormState, int], Response],
           back: str | Callable[[Outcome], str], hidden: dict[str, Any] | None = None) -> Response:
    """Validate as the API does, run the use case with the form's version and one-use token,
    and show the page again with the reasons if it is refused."""
    state = FormState(command=form.command, thing=str(thing_id), values=raw)
    body, state.errors = parse(form, raw, hidden)
    if body is None:
        return show(state, 422)
    ctx = context(page.actor, raw, page.request.url.path, form.versioned)  # type: ignore[arg-type]
    try:
        replayed = (ledger.replay_idempotent(ctx.actor, ctx.idempotency)
                    if ctx.idempotency else None)
        outcome = replayed or form.call(ledger, ctx, thing_id, body)
    except (StaleVersion, ConcurrentWrite):
        state.message, state.opened_version = STALE, ctx.expected_version
        state.changes = [e for e in history()
                         if ctx.expected_version is None or e.version > ctx.expected_version]
        return show(state, 409)
    except IdempotencyKeyReused:
        state.message = ("This form was already sent with other values. Reload the page to "
                         "open a fresh form.")
        return show(state, 422)
    except DomainError as error:
        if error.status in (403, 404):
            raise
        names = {i.name for i in form.inputs}
        if error.field in names:
            state.errors[error.field] = error.detail  # type: ignore[index]
        else:
            state.message = error.detail
        return show(state, error.status)
    target = back if isinstance(back, str) else back(outcome)
    return RedirectResponse(page.url(target, done=form.command), 303)


# ---- actions --------------------------------------------------------------------------------

@router.post("/view/actions/{action_id}/do/{command}", response_class=HTMLResponse)
def action_command(action_id: UUID, command: str, form: SessionFormDep, page: PageDep,
                   ledger: LedgerDep, board: BoardDep) -> Response:
    action = ledger.get_action(action_id)
    page.actor.require_agency(action.agency_id, "act on actions")  # type: ignore[union-attr]
    if command == RAISE_CHALLENGE.command:
        spec = RAISE_CHALLENGE
    elif command in ACTION_FORMS:
        spec = ACTION_FORMS[command]  # the use case checks the grant and scope again
    else:
        raise NotFound(f"there is no form '{command}' on an action")
    hidden = ({"subject_type": "action_update", "subject_id": str(action_id),
               "subject_version": action.version, "addressed_to": str(action.agency_id)}
              if spec is RAISE_CHALLENGE else None)
    return submit(
        page, ledger, spec, action_id, form,
        lambda: history_until(ledger.action_history(action_id), page.when),
        lambda state, status: render_action(page, ledger, board, action_id, state, status),
        (lambda o: f"/view/challenges/{o.id}") if spec is RAISE_CHALLENGE
        else f"/view/actions/{action_id}", hidden)


# ---- challenges -----------------------------------------------------------------------------

@router.get("/view/challenges/{challenge_id}", response_class=HTMLResponse)
def challenge_page(challenge_id: UUID, page: PageDep, ledger: LedgerDep,
                   board: BoardDep) -> Response:
    return render_challenge(page, ledger, board, challenge_id)


def render_challenge(page: Page, ledger: Ledger, board: Board, challenge_id: UUID,
                     state: FormState | None = None, http_status: int = 200) -> Response:
    page.section = "challenges"
    challenge = readable_challenge(page.actor, ledger.get_challenge(challenge_id), ledger)  # type: ignore[arg-type]
    out = ChallengeOut.of(challenge)
    forms = [f for f in offered("challenge", challenge.allowed_next(), page.actor,
                                challenge.addressed_to)
             if f.command != "resolve_challenge" or _may_resolve(challenge, page.actor)]
    subject_url = (f"/view/actions/{challenge.subject_id}"
                   if challenge.subject_type == "action_update"
                   else f"/view/reviews/{challenge.subject_id}")
    return render(page, "pages/challenge.html", http_status=http_status,
                  title=f"Challenge: {out.grounds[:60]}", challenge=out,
                  names=agency_names(board, page), subject_url=page.url(subject_url),
                  history=history_until(ledger.challenge_history(challenge_id), page.when),
                  forms=forms, state=state or FormState(), new_token=new_token,
                  done=page.request.query_params.get("done"))


def _may_resolve(challenge: Any, actor: Any) -> bool:
    """The domain's own rule for who resolves at this stage (Challenge.check_resolver); the
    meeting is asked for on the form, so it is taken as given here."""
    try:
        challenge.check_resolver(actor, "the Board meeting")
    except DomainError:
        return False
    return True


@router.post("/view/challenges/{challenge_id}/do/{command}", response_class=HTMLResponse)
def challenge_command(challenge_id: UUID, command: str, form: SessionFormDep, page: PageDep,
                      ledger: LedgerDep, board: BoardDep) -> Response:
    readable_challenge(page.actor, ledger.get_challenge(challenge_id), ledger)  # type: ignore[arg-type]
    if command not in CHALLENGE_FORMS:
        raise NotFound(f"there is no form '{command}' on a challenge")
    return submit(
        page, ledger, CHALLENGE_FORMS[command], challenge_id, form,
        lambda: history_until(ledger.challenge_history(challenge_id), page.when),
        lambda state, status: render_challenge(page, ledger, board, challenge_id, state,
                                               status),
        f"/view/challenges/{challenge_id}")


# ---- reviews --------------------------------------------------------------------------------

@router.post("/view/reviews/{review_id}/do/{command}", response_class=HTMLResponse)
def review_command(review_id: UUID, command: str, form: SessionFormDep, page: PageDep,
                   ledger: LedgerDep, board: BoardDep, settings: SettingsDep) -> Response:
    review = ledger.get_review(review_id)
    page.actor.require_partnership(review.partnership, "act on the reviews")  # type: ignore[union-attr]
    hidden: dict[str, Any] | None = None
    back: str | Callable[[Outcome], str] = f"/view/reviews/{review_id}"
    if command == ASSIGN_ACTION.command:
        spec, hidden = ASSIGN_ACTION, {"review_id": str(review_id)}
        back = lambda o: f"/view/actions/{o.id}"
    elif command == RAISE_ON_REVIEW.command:
        spec = RAISE_ON_REVIEW
        hidden = {"subject_id": str(review_id), "subject_version": review.version}
        back = lambda o: f"/view/challenges/{o.id}"
    elif command in REVIEW_FORMS:
        spec = REVIEW_FORMS[command]  # the use case checks the grant and the stage again
    else:
        raise NotFound(f"there is no form '{command}' on a review")
    return submit(
        page, ledger, spec, review_id, form,
        lambda: history_until(ledger.review_history(review_id), page.when),
        lambda state, status: render_review(page, ledger, board, settings, review_id, state,
                                            status),
        back, hidden)


@router.get("/view/reviews-new", response_class=HTMLResponse)
def incident_page(page: PageDep, board: BoardDep) -> Response:
    return render_incident(page, board)


def render_incident(page: Page, board: Board, state: FormState | None = None,
                    http_status: int = 200) -> Response:
    page.section = "reviews"
    page.actor.require(Permission.MANAGE_REVIEWS, "record incidents")  # type: ignore[union-attr]
    names = agency_names(board, page)
    choices = {"agencies": sorted(names.items(), key=lambda kv: kv[1]),
               "partnerships": [(p, p) for p in page.partnership_choices]}
    return render(page, "pages/incident.html", http_status=http_status,
                  title="Record a serious incident", form=RECORD_INCIDENT, choices=choices,
                  state=state or FormState(), new_token=new_token)


@router.post("/view/reviews-new", response_class=HTMLResponse)
def record_incident(form: SessionFormDep, page: PageDep, ledger: LedgerDep,
                    board: BoardDep) -> Response:
    return submit(page, ledger, RECORD_INCIDENT, UUID(int=0), form, list,
                  lambda state, status: render_incident(page, board, state, status),
                  lambda o: f"/view/reviews/{o.id}")


# ---- people and agencies (SCB managers) -----------------------------------------------------

@router.post("/view/users/do/{command}", response_class=HTMLResponse)
def register_command(command: str, form: SessionFormDep, page: PageDep, ledger: LedgerDep,
                     board: BoardDep) -> Response:
    specs = {REGISTER_USER.command: REGISTER_USER, REGISTER_AGENCY.command: REGISTER_AGENCY}
    if command not in specs:
        raise NotFound(f"there is no form '{command}' on the people page")
    return submit(page, ledger, specs[command], UUID(int=0), form, list,
                  lambda state, status: render_users(page, ledger, board, state=state,
                                                     http_status=status),
                  "/view/users")


@router.post("/view/users/{user_id}/do/{command}", response_class=HTMLResponse)
def user_command(user_id: UUID, command: str, form: SessionFormDep, page: PageDep,
                 ledger: LedgerDep, board: BoardDep) -> Response:
    if command not in USER_FORMS:
        raise NotFound(f"there is no form '{command}' for a person")
    return submit(page, ledger, USER_FORMS[command], user_id, form,
                  lambda: history_until(ledger.user_history(user_id), page.when),
                  lambda state, status: render_users(page, ledger, board, state=state,
                                                     http_status=status),
                  "/view/users")
