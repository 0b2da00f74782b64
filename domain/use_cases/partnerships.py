"""Use cases for partnerships: registering one (the SCB manager, or the operator), listing
them, and checking a reference to one (used by agencies and reviews)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain import clock
from domain.actors import Permission
from domain.agency import Agency
from domain.application import Context, LedgerCore, Outcome
from domain.errors import AlreadyExists, InvalidInput
from domain.partnership import INDEX_ID, Partnership, PartnershipIndex, partnership_id


class PartnershipChecks(LedgerCore):
    def _partnership_index(self) -> PartnershipIndex | None:
        try:
            index = self.repository.get(INDEX_ID)
        except AggregateNotFoundError:
            return None
        return index if isinstance(index, PartnershipIndex) else None

    def check_partnerships(self, names: Iterable[str], field: str) -> None:
        """Once partnerships are registered, a reference must name one (a ledger with none
        registered, from before they were records, keeps its labels)."""
        index = self._partnership_index()
        if index is None:
            return
        unknown = [n for n in names if not index.knows(n)]
        if unknown:
            raise InvalidInput(
                f"no partnership named {', '.join(map(repr, unknown))} is registered "
                f"(registered: {', '.join(sorted(self.partnership_names()))})", field=field)

    def partnership_names(self) -> list[str]:
        index = self._partnership_index()
        if index is None:
            return []
        return sorted(self._load(Partnership, pid, "partnership").name
                      for pid in index.names.values())


class PartnershipUseCases(PartnershipChecks):
    def register_partnership(
        self, ctx: Context, *, name: str, areas: list[str],
        safeguarding_partners: list[UUID], occurred_on: date | None = None,
    ) -> Outcome:
        ctx.actor.require(Permission.MANAGE_PARTNERSHIPS, "register partnerships")
        partnership = Partnership.register(
            actor=ctx.actor, occurred_on=occurred_on or clock.today(), name=name, areas=areas,
            safeguarding_partners=safeguarding_partners)
        for agency_id in partnership.safeguarding_partners:
            agency = self._load(Agency, agency_id, "agency")
            if not agency.statutory_partner:
                raise InvalidInput(f"{agency.name} is not a statutory safeguarding partner",
                                   field="safeguarding_partners")
        index = self._partnership_index() or PartnershipIndex(
            actor=ctx.actor, occurred_on=clock.today())
        if index.knows(partnership.name):
            raise AlreadyExists(f"a partnership named {partnership.name} is registered",
                                field="name")
        index.list_partnership(actor=ctx.actor, occurred_on=clock.today(),
                               name=partnership.name, partnership_id=partnership.id)
        return self._save(ctx, partnership, index)

    def get_partnership(self, name_or_id: str | UUID) -> Partnership:
        pid = name_or_id if isinstance(name_or_id, UUID) else partnership_id(name_or_id)
        return self._load(Partnership, pid, "partnership")

    def list_partnerships(self) -> list[Partnership]:
        index = self._partnership_index()
        if index is None:
            return []
        found = [self._load(Partnership, pid, "partnership") for pid in index.names.values()]
        return sorted(found, key=lambda p: p.name)
