"""Users and tokens (SCB managers). Who could act when is part of the record."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from api.commands import etag, run_command
from api.deps import AtDep, BoardDep, ContextDep, LedgerDep, ReaderDep
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.params import AsOfQuery, VersionQuery, aware
from api.routes.board import answering, scope
from api.schemas.common import History, HistoryEntryOut, ReasonIn
from api.schemas.partnerships import UserPartnershipsIn
from api.schemas.users import IssuedTokenOut, UserIn, UserList, UserOut
from domain.application import Outcome

router = APIRouter(prefix="/users", tags=["users"])


def _render(ledger: LedgerDep):
    return lambda o: UserOut.of(ledger.get_user(o.id, version=o.version))


@router.post("", status_code=201, response_model=UserOut, responses=WRITE_ERRORS)
def register_user(body: UserIn, ledger: LedgerDep, ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.register_user(
        ctx, name=body.name, role=body.role.value, agency_id=body.agency_id,
        partnerships=body.partnerships),
        _render(ledger), status=201, location=lambda o: f"/users/{o.id}")


@router.post("/{user_id}/partnerships", response_model=UserOut, responses=WRITE_ERRORS)
def set_user_partnerships(user_id: UUID, body: UserPartnershipsIn, ledger: LedgerDep,
                          ctx: ContextDep) -> Response:
    """The partnerships the user belongs to; a Board member then reads only theirs."""
    return run_command(ledger, ctx, lambda: ledger.set_user_partnerships(
        ctx, user_id, partnerships=body.partnerships), _render(ledger))


@router.get("", response_model=UserList, responses=READ_ERRORS)
def list_users(board: BoardDep, actor: ReaderDep, at: AtDep) -> UserList:
    """Every user, role, agency and whether active (never tokens). Agency leads see their
    own agency's users."""
    with answering():
        return UserList(**board.user_directory(at=at, agency_id=scope(actor, None)))


@router.get("/{user_id}", response_model=UserOut, responses=READ_ERRORS)
def get_user(user_id: UUID, ledger: LedgerDep, _: ReaderDep, response: Response,
             version: VersionQuery = None, as_of: AsOfQuery = None) -> UserOut:
    user = ledger.get_user(user_id, version=version, as_of=aware(as_of))
    response.headers["ETag"] = etag(user.version)
    return UserOut.of(user)


@router.get("/{user_id}/history", response_model=History, responses=READ_ERRORS)
def user_history(user_id: UUID, ledger: LedgerDep, _: ReaderDep) -> History:
    return History(id=user_id, entries=[HistoryEntryOut.of(e) for e in
                                         ledger.user_history(user_id)])


@router.post("/{user_id}/tokens", status_code=201, response_model=IssuedTokenOut,
             responses=WRITE_ERRORS)
def issue_token(user_id: UUID, ledger: LedgerDep, ctx: ContextDep) -> Response:
    issued: dict[str, str] = {}

    def command() -> Outcome:
        result = ledger.issue_token(ctx, user_id)
        issued.update(token=result.token, token_id=result.token_id)
        return result.outcome

    def render(o: Outcome) -> IssuedTokenOut:
        user = ledger.get_user(o.id, version=o.version)
        token_id = issued.get("token_id") or list(user.tokens)[-1]
        return IssuedTokenOut(user=UserOut.of(user), token_id=token_id,
                              token=issued.get("token"))

    return run_command(ledger, ctx, command, render, status=201)


@router.post("/{user_id}/tokens/{token_id}/revocation", response_model=UserOut,
             responses=WRITE_ERRORS)
def revoke_token(user_id: UUID, token_id: str, body: ReasonIn, ledger: LedgerDep,
                 ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.revoke_token(
        ctx, user_id, token_id=token_id, reason=body.reason), _render(ledger))


@router.post("/{user_id}/deactivation", response_model=UserOut, responses=WRITE_ERRORS)
def deactivate_user(user_id: UUID, body: ReasonIn, ledger: LedgerDep,
                    ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.deactivate_user(
        ctx, user_id, reason=body.reason), _render(ledger))
