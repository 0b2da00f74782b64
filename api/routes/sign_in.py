"""Sign-in for people: a token, or a one-time link an SCB manager issued, exchanged for a
session on the server (the user's SignedIn event) carried by a signed, HttpOnly, SameSite=Lax
cookie (Secure outside development); sign-out ends it on the server (SignedOut). The API
keeps bearer tokens. Not part of the OpenAPI schema."""

from __future__ import annotations

import secrets
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import LedgerDep, PageSessionDep, SessionFormDep, SignerDep, SignInFormDep
from api.sessions import PRE_SESSION_COOKIE, SESSION_COOKIE, SessionSigner
from api.web import Page, PageRoute, When, render
from domain.use_cases.users import Session

router = APIRouter(include_in_schema=False, route_class=PageRoute)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a scheme): no open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _with_pre_session(request: Request, signer: SessionSigner, template: str, *,
                      status: int, **context: object) -> HTMLResponse:
    """A sign-in form, its CSRF token bound to the pre-session cookie (set if missing)."""
    pre = request.cookies.get(PRE_SESSION_COOKIE) or secrets.token_urlsafe(24)
    response = render(Page(request, None, When()), template, http_status=status,
                      csrf=signer.pre_session_token(pre), **context)
    response.set_cookie(PRE_SESSION_COOKIE, pre, max_age=3600, httponly=True,
                        secure=signer.secure, samesite="lax", path="/")
    return response


def _sign_in_page(request: Request, signer: SessionSigner, *, status: int = 200,
                  message: str = "", kind: str = "error", next_: str = "/") -> HTMLResponse:
    hours = signer.lifetime.total_seconds() / 3600
    return _with_pre_session(request, signer, "sign_in.html", status=status, message=message,
                             message_kind=kind, next=_safe_next(next_),
                             idle_minutes=int(signer.idle.total_seconds() // 60),
                             hours=int(hours) if hours == int(hours) else round(hours, 1))


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, signer: SignerDep, actor: PageSessionDep,
                 next: str = "/", signed_out: bool = False) -> Response:
    if actor is not None:
        return RedirectResponse(_safe_next(next), 303)
    message = "You are signed out. Your session has ended on the server." if signed_out else ""
    return _sign_in_page(request, signer, message=message, kind="info", next_=next)


def _signed_in(session: Session, signer: SessionSigner, target: str) -> Response:
    response = RedirectResponse(_safe_next(target), 303)
    response.set_cookie(SESSION_COOKIE, signer.cookie_value(session.user_id, session.secret),
                        max_age=int(signer.idle.total_seconds()), httponly=True,
                        secure=signer.secure, samesite="lax", path="/")
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")
    return response


@router.post("/sign-in")
def sign_in(request: Request, form: SignInFormDep, ledger: LedgerDep,
            signer: SignerDep) -> Response:
    session = ledger.sign_in_with_token(form.get("token", "").strip(),
                                        lifetime=signer.lifetime)
    if session is None:
        return _sign_in_page(request, signer, status=401, next_=form.get("next", "/"),
                             message="That token was not accepted: it is unknown, revoked, "
                                     "or its user is deactivated. Check that you pasted the "
                                     "whole token, or ask the SCB manager for a sign-in link.")
    return _signed_in(session, signer, form.get("next", "/"))


def _link_page(request: Request, signer: SessionSigner, action: str, *, status: int = 200,
               message: str = "") -> HTMLResponse:
    return _with_pre_session(request, signer, "sign_in_link.html", status=status,
                             action=action, message=message)


@router.get("/sign-in/link/{user_id}/{secret}", response_class=HTMLResponse)
def sign_in_link_page(request: Request, user_id: UUID, secret: str,
                      signer: SignerDep) -> Response:
    """A confirmation, not the sign-in itself: a mail scanner that follows the link must not
    use it up."""
    return _link_page(request, signer, request.url.path)


@router.post("/sign-in/link/{user_id}/{secret}")
def sign_in_with_link(request: Request, user_id: UUID, secret: str, form: SignInFormDep,
                      ledger: LedgerDep, signer: SignerDep) -> Response:
    session = ledger.sign_in_with_link(user_id, secret, lifetime=signer.lifetime)
    if session is None:
        return _link_page(request, signer, request.url.path, status=401,
                          message="This sign-in link does not work: it was already used, it "
                                  "expired, or it was mistyped. Ask the SCB manager for a new "
                                  "one.")
    return _signed_in(session, signer, "/")


@router.post("/sign-out")
def sign_out(request: Request, form: SessionFormDep, ledger: LedgerDep) -> Response:
    cookie = request.state.session
    ledger.sign_out(cookie.user_id, cookie.secret)
    request.state.session_cookie = None
    response = RedirectResponse("/sign-in?signed_out=true", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
