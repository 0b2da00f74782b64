"""Partnerships: register one (areas, safeguarding partners); list them; read one."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.commands import run_command
from api.deps import ContextDep, LedgerDep, ReaderDep
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.schemas.partnerships import PartnershipIn, PartnershipList, PartnershipOut

router = APIRouter(prefix="/partnerships", tags=["partnerships"])


@router.post("", status_code=201, response_model=PartnershipOut, responses=WRITE_ERRORS)
def register_partnership(body: PartnershipIn, ledger: LedgerDep, ctx: ContextDep) -> Response:
    return run_command(
        ledger, ctx,
        lambda: ledger.register_partnership(
            ctx, name=body.name, areas=body.areas,
            safeguarding_partners=body.safeguarding_partners, occurred_on=body.occurred_on),
        lambda o: PartnershipOut.of(ledger.get_partnership(o.id)), status=201,
        location=lambda o: f"/partnerships/{o.id}",
    )


@router.get("", response_model=PartnershipList, responses=READ_ERRORS)
def list_partnerships(ledger: LedgerDep, _: ReaderDep) -> PartnershipList:
    return PartnershipList(items=[PartnershipOut.of(p) for p in ledger.list_partnerships()])


@router.get("/{name}", response_model=PartnershipOut, responses=READ_ERRORS)
def get_partnership(name: str, ledger: LedgerDep, _: ReaderDep) -> PartnershipOut:
    return PartnershipOut.of(ledger.get_partnership(name))
