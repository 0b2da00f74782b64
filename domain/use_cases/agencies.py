"""Use cases for agencies."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from domain import clock
from domain.actors import Permission
from domain.agency import Agency
from domain.application import Context, HistoryEntry, LedgerCore, Outcome


class AgencyUseCases(LedgerCore):
    def register_agency(
        self, ctx: Context, *, name: str, kind: str, statutory_partner: bool,
        partnerships: list[str], occurred_on: date | None = None,
    ) -> Outcome:
        ctx.actor.require(Permission.MANAGE_AGENCIES, "register agencies")
        agency = Agency.register(
            actor=ctx.actor, occurred_on=occurred_on or clock.today(), name=name, kind=kind,
            statutory_partner=statutory_partner, partnerships=partnerships,
        )
        return self._save(ctx, agency)

    def rename_agency(self, ctx: Context, agency_id: UUID, *, name: str, reason: str,
                      occurred_on: date | None = None) -> Outcome:
        ctx.actor.require(Permission.MANAGE_AGENCIES, "rename agencies")
        agency = self._load_for_change(Agency, agency_id, "agency", ctx)
        agency.rename(actor=ctx.actor, occurred_on=occurred_on or clock.today(), name=name,
                      reason=reason)
        return self._save(ctx, agency)

    def merge_agency(self, ctx: Context, agency_id: UUID, *, into_agency_id: UUID, reason: str,
                     occurred_on: date | None = None) -> Outcome:
        ctx.actor.require(Permission.MANAGE_AGENCIES, "merge agencies")
        agency = self._load_for_change(Agency, agency_id, "agency", ctx)
        into = self._load(Agency, into_agency_id, "agency")
        agency.merge_into(actor=ctx.actor, occurred_on=occurred_on or clock.today(), into=into,
                          reason=reason)
        return self._save(ctx, agency)

    def retire_agency(self, ctx: Context, agency_id: UUID, *, reason: str,
                      occurred_on: date | None = None) -> Outcome:
        ctx.actor.require(Permission.MANAGE_AGENCIES, "retire agencies")
        agency = self._load_for_change(Agency, agency_id, "agency", ctx)
        agency.retire(actor=ctx.actor, occurred_on=occurred_on or clock.today(), reason=reason)
        return self._save(ctx, agency)

    def get_agency(self, agency_id: UUID, *, version: int | None = None,
                   as_of: datetime | None = None) -> Agency:
        return self._load_at(Agency, agency_id, "agency", version=version, as_of=as_of)

    def agency_history(self, agency_id: UUID) -> list[HistoryEntry]:
        return self._history(Agency, agency_id, "agency")
