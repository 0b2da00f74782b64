"""Typed dependencies: the parts the lifespan opened (settings, ledger, read models, Board,
integrity service), the authenticated actor, and a command's context (If-Match and
Idempotency-Key). Every dependency alias the routes use is here."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.composition import Services
from api.errors import ServiceUnavailable
from api.integrity_service import IntegrityService
from api.params import AsOfQuery, MinPositionQuery, PositionQuery, aware
from api.settings import Settings
from domain.actors import Actor, Permission
from domain.application import Context, Idempotency
from domain.errors import InvalidInput
from domain.ledger import Ledger
from projections.board import At, Board
from projections.service import ReadModels

_bearer = HTTPBearer(auto_error=False, description="A token from `ledger users add`")


def get_services(request: Request) -> Services:
    """What the lifespan opened (api/composition.py). Routes never open parts themselves."""
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise ServiceUnavailable("the application has not started: its lifespan did not run")
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_ledger(services: ServicesDep) -> Ledger:
    return services.ledger


def get_read_models(services: ServicesDep) -> ReadModels:
    return services.read_models


def get_integrity(services: ServicesDep) -> IntegrityService:
    return services.integrity


SettingsDep = Annotated[Settings, Depends(get_settings)]
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
ReadModelsDep = Annotated[ReadModels, Depends(get_read_models)]
IntegrityDep = Annotated[IntegrityService, Depends(get_integrity)]


def get_board(models: ReadModelsDep) -> Board:
    return models.board


BoardDep = Annotated[Board, Depends(get_board)]


def at_params(as_of: AsOfQuery = None, position: PositionQuery = None,
              min_position: MinPositionQuery = None) -> At:
    """Which state of the ledger to answer from: now (after min_position), or the past."""
    if as_of is not None and position is not None:
        raise InvalidInput("give as_of or position, not both", field="as_of")
    return At(min_position=min_position, position=position, as_of=aware(as_of))


AtDep = Annotated[At, Depends(at_params)]


def get_actor(
    request: Request,
    ledger: LedgerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(401, "an Authorization: Bearer <token> header is required",
                            headers=challenge)
    actor = ledger.authenticate(credentials.credentials)
    if actor is None:
        raise HTTPException(401, "the token is unknown, revoked, or its user is deactivated",
                            headers=challenge)
    request.state.user_id = actor.user_id  # for the request's log line (api/edge.py)
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


def reader(actor: ActorDep) -> Actor:
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


def command_context(
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
