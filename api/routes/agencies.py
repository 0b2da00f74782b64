"""Agencies: register, rename (CCG -> ICB), merge, retire; state and history."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from api.commands import as_left, etag, run_command
from api.deps import AtDep, BoardDep, ContextDep, LedgerDep, ReaderDep
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.params import AsOfQuery, VersionQuery, aware
from api.routes.board import answering
from api.schemas.agencies import AgencyIn, AgencyList, AgencyOut, MergeIn, RenameIn, RetireIn
from api.schemas.common import History, HistoryEntryOut

router = APIRouter(prefix="/agencies", tags=["agencies"])


def _render(ledger: LedgerDep):
    return lambda o: AgencyOut.of(as_left(o, ledger.get_agency))


@router.post("", status_code=201, response_model=AgencyOut, responses=WRITE_ERRORS)
def register_agency(body: AgencyIn, ledger: LedgerDep, ctx: ContextDep) -> Response:
    return run_command(
        ledger, ctx,
        lambda: ledger.register_agency(ctx, name=body.name, kind=body.kind.value,
                                       statutory_partner=body.statutory_partner,
                                       partnerships=body.partnerships,
                                       occurred_on=body.occurred_on),
        _render(ledger), status=201, location=lambda o: f"/agencies/{o.id}",
    )


@router.get("", response_model=AgencyList, responses=READ_ERRORS)
def list_agencies(board: BoardDep, _: ReaderDep, at: AtDep) -> AgencyList:
    """Every agency under its current name (from the directory view; `as_of` and
    `min_position` as for the Board's views)."""
    with answering():
        return AgencyList(**board.agency_directory(at=at))


@router.get("/{agency_id}", response_model=AgencyOut, responses=READ_ERRORS)
def get_agency(agency_id: UUID, ledger: LedgerDep, _: ReaderDep, response: Response,
               version: VersionQuery = None, as_of: AsOfQuery = None) -> AgencyOut:
    agency = ledger.get_agency(agency_id, version=version, as_of=aware(as_of))
    response.headers["ETag"] = etag(agency.version)
    return AgencyOut.of(agency)


@router.get("/{agency_id}/history", response_model=History, responses=READ_ERRORS)
def agency_history(agency_id: UUID, ledger: LedgerDep, _: ReaderDep) -> History:
    entries = ledger.agency_history(agency_id)
    return History(id=agency_id, entries=[HistoryEntryOut.of(e) for e in entries])


@router.post("/{agency_id}/rename", response_model=AgencyOut, responses=WRITE_ERRORS)
def rename_agency(agency_id: UUID, body: RenameIn, ledger: LedgerDep,
                  ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.rename_agency(
        ctx, agency_id, name=body.name, reason=body.reason, occurred_on=body.occurred_on),
        _render(ledger))


@router.post("/{agency_id}/merger", response_model=AgencyOut, responses=WRITE_ERRORS)
def merge_agency(agency_id: UUID, body: MergeIn, ledger: LedgerDep,
                 ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.merge_agency(
        ctx, agency_id, into_agency_id=body.into_agency_id, reason=body.reason,
        occurred_on=body.occurred_on), _render(ledger))


@router.post("/{agency_id}/retirement", response_model=AgencyOut, responses=WRITE_ERRORS)
def retire_agency(agency_id: UUID, body: RetireIn, ledger: LedgerDep,
                  ctx: ContextDep) -> Response:
    return run_command(ledger, ctx, lambda: ledger.retire_agency(
        ctx, agency_id, reason=body.reason, occurred_on=body.occurred_on), _render(ledger))
