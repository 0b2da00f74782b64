"""Typed dependencies: the parts the lifespan opened (settings, ledger, read models, Board,
integrity service), the authenticated actor, and a command's context (If-Match and
Idempotency-Key). Every dependency alias the routes use is here."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.composition import Services
from api.errors import ServiceUnavailable
from api.integrity_service import IntegrityService
from api.params import AsOfQuery, MinPositionQuery, PositionQuery, aware
from api.sessions import CSRF_FIELD, PRE_SESSION_COOKIE, SESSION_COOKIE, SessionSigner
from api.settings import Settings
from api.web import DomainErrorPage, Page, SignInRequired, When, parse_when
from domain.actors import Actor, Permission
from domain.application import Context, Idempotency
from domain.errors import InvalidInput
from domain.ledger import Ledger
from projections.board import At, Board
from projections.readside import ViewBehind, ViewStopped
from projections.service import ReadModels

_bearer = HTTPBearer(auto_error=False, description="A token from `ledger users add`")


def services_of(request: Request) -> Services:
    """What the lifespan opened (api/composition.py). Routes never open parts themselves."""
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise ServiceUnavailable("the application has not started: its lifespan did not run")
    return services


# The dependencies that only pick a part, check a role or parse parameters are `async def`:
# FastAPI runs a plain `def` dependency in the thread pool, a hop to another thread and back
# for each one. Only those that read the store (the actor, a page's session) and the routes
# themselves run there.

async def get_services(request: Request) -> Services:
    return services_of(request)


async def get_settings(request: Request) -> Settings:
    return services_of(request).settings


async def get_ledger(request: Request) -> Ledger:
    return services_of(request).ledger


async def get_read_models(request: Request) -> ReadModels:
    return services_of(request).read_models


async def get_integrity(request: Request) -> IntegrityService:
    return services_of(request).integrity


async def get_board(request: Request) -> Board:
    return services_of(request).read_models.board


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
ReadModelsDep = Annotated[ReadModels, Depends(get_read_models)]
IntegrityDep = Annotated[IntegrityService, Depends(get_integrity)]
BoardDep = Annotated[Board, Depends(get_board)]


async def at_params(as_of: AsOfQuery = None, position: PositionQuery = None,
                    min_position: MinPositionQuery = None) -> At:
    """Which state of the ledger to answer from: now (after min_position), or the past."""
    if as_of is not None and position is not None:
        raise InvalidInput("give as_of or position, not both", field="as_of")
    return At(min_position=min_position, position=position, as_of=aware(as_of))


AtDep = Annotated[At, Depends(at_params)]


def get_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(401, "an Authorization: Bearer <token> header is required",
                            headers=challenge)
    actor = services_of(request).ledger.authenticate(credentials.credentials)
    if actor is None:
        raise HTTPException(401, "the token is unknown, revoked, or its user is deactivated",
                            headers=challenge)
    request.state.user_id = actor.user_id  # for the request's log line (api/edge.py)
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


async def reader(actor: ActorDep) -> Actor:
    actor.require(Permission.READ, "read the ledger")
    return actor


ReaderDep = Annotated[Actor, Depends(reader)]

_ETAG = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    match = _ETAG.match(value.strip())
    if not match:
        raise InvalidInput('If-Match must be an ETag from this API, e.g. "3"', field="If-Match")
    return int(match.group(1))


async def request_fingerprint(request: Request) -> str:
    """What makes two requests "the same" for Idempotency-Key: method, path, query, body."""
    body = await request.body()
    digest = hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query):
        digest.update(part.encode() + b"\n")
    digest.update(body)
    return digest.hexdigest()


async def command_context(
    actor: ActorDep,
    fingerprint: Annotated[str, Depends(request_fingerprint)],
    if_match: Annotated[str | None, Header(alias="If-Match",
                                          description='the ETag you read, e.g. "3"')] = None,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", description="retry-safe key (1-200 visible ASCII characters)"
    )] = None,
) -> Context:
    idempotency = None
    if idempotency_key is not None:
        if not _KEY.match(idempotency_key):
            raise InvalidInput("Idempotency-Key must be 1-200 visible ASCII characters",
                               field="Idempotency-Key")
        idempotency = Idempotency(key=idempotency_key, fingerprint=fingerprint)
    return Context(actor=actor, expected_version=parse_if_match(if_match),
                   idempotency=idempotency)


ContextDep = Annotated[Context, Depends(command_context)]


# ---- the pages (people with a session cookie; the API above keeps bearer tokens) -----------

async def get_signer(request: Request) -> SessionSigner:
    return services_of(request).sessions


SignerDep = Annotated[SessionSigner, Depends(get_signer)]


def page_session(request: Request, signer: SignerDep) -> Actor | None:
    """The person signed in to the pages, if their cookie is good, not idle too long, and its
    session still open in the ledger (not signed out, not expired, user still active)."""
    cookie = signer.read_cookie(request.cookies.get(SESSION_COOKIE))
    if cookie is None:
        return None
    actor = services_of(request).ledger.session_actor(cookie.user_id, cookie.secret)
    if actor is None:
        return None
    request.state.actor = actor
    request.state.session = cookie
    request.state.csrf = signer.csrf_token(cookie.secret)
    request.state.session_cookie = (signer.cookie_value(cookie.user_id, cookie.secret),
                                    signer.secure, int(signer.idle.total_seconds()))
    return actor


PageSessionDep = Annotated[Actor | None, Depends(page_session)]


async def page_reader(actor: PageSessionDep) -> Actor:
    if actor is None:
        raise SignInRequired()
    actor.require(Permission.READ, "read the ledger")
    return actor


PageReaderDep = Annotated[Actor, Depends(page_reader)]
WhenDep = Annotated[When, Depends(parse_when)]


def get_page(request: Request, actor: PageReaderDep, when: WhenDep, board: BoardDep,
             ledger: LedgerDep) -> Page:
    """A page for the signed-in person at its point in time and partnership (`partnership=`;
    the routes scope the Board's queries to it with api/routes/board.partnerships_for)."""
    partnership = (request.query_params.get("partnership") or "").strip() or None
    page = Page(request, actor, when, csrf=request.state.csrf, partnership=partnership)
    names = [p.name for p in ledger.list_partnerships()]
    if not names:  # a ledger without registered partnerships: the agencies' labels
        try:
            names = sorted({p for a in board.agency_directory()["items"]
                            for p in a["partnerships"]})
        except (ViewStopped, ViewBehind):
            names = []
    page.partnership_choices = [n for n in names if not actor.partnerships or n.casefold()
                                in {p.casefold() for p in actor.partnerships}]
    if actor.agency_id is not None:  # the header names an agency lead's agency
        try:
            agencies = board.agency_directory(agency_id=str(actor.agency_id))["items"]
        except (ViewStopped, ViewBehind):  # the page itself will say so; the header need not
            agencies = []
        page.extra["agency_name"] = agencies[0]["name"] if agencies else None
        request.state.page_extra = page.extra  # for an error page too
    return page


PageDep = Annotated[Page, Depends(get_page)]


async def session_form(request: Request, actor: PageReaderDep) -> dict[str, str]:
    """A signed-in person's form that writes: refused (403) without this session's CSRF
    token."""
    form = await request.form()
    if not SessionSigner.same(form.get(CSRF_FIELD), request.state.csrf):  # type: ignore[arg-type]
        raise DomainErrorPage(403, "This form was refused",
                              "The form did not carry this session's security token (it may "
                              "have come from another site, or be older than your session). "
                              "Go back, reload the page and try again.")
    # A field sent more than once (checkboxes) arrives as its values, one per line.
    return {k: "\n".join(str(v) for v in form.getlist(k)) for k in form}


SessionFormDep = Annotated[dict[str, str], Depends(session_form)]


@dataclass(frozen=True)
class Upload:
    fields: dict[str, str]
    file_name: str
    data: bytes


MAX_UPLOAD = 10 * 1024 * 1024


async def session_upload(request: Request, actor: PageReaderDep) -> Upload:
    """A signed-in person's form with one file (`file`), CSRF-checked like session_form; a
    file may also come back base64-encoded in `file_data` (a preview's confirmation)."""
    import base64

    form = await request.form(max_part_size=MAX_UPLOAD)
    if not SessionSigner.same(form.get(CSRF_FIELD), request.state.csrf):  # type: ignore[arg-type]
        raise DomainErrorPage(403, "This form was refused",
                              "The form did not carry this session's security token. Go "
                              "back, reload the page and try again.")
    upload = form.get("file")
    if upload is not None and not isinstance(upload, str):
        data, name = await upload.read(), upload.filename or "upload.xlsx"
    else:
        raw = str(form.get("file_data") or "")
        data, name = base64.b64decode(raw) if raw else b"", str(form.get("file_name") or "")
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    return Upload(fields, name.replace("/", "_").replace("\\", "_")[:200], data)


SessionUploadDep = Annotated[Upload, Depends(session_upload)]


async def sign_in_form(request: Request, signer: SignerDep) -> dict[str, str]:
    """A sign-in form: refused (403) without the token bound to the pre-session cookie."""
    form = await request.form()
    pre_session = request.cookies.get(PRE_SESSION_COOKIE, "")
    if not pre_session or not SessionSigner.same(
            form.get(CSRF_FIELD), signer.pre_session_token(pre_session)):  # type: ignore[arg-type]
        raise DomainErrorPage(403, "This form was refused",
                              "The sign-in form did not carry its security token (it may have "
                              "come from another site, or cookies are off). Open the sign-in "
                              "page again and retry.")
    return {k: str(v) for k, v in form.items()}


SignInFormDep = Annotated[dict[str, str], Depends(sign_in_form)]
