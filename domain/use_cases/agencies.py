"""Use cases for agencies."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from domain import clock
from domain.action import Action
from domain.actors import Permission
from domain.agency import Agency
from domain.application import Context, HistoryEntry, Outcome
from domain.challenge import Challenge
from domain.use_cases.partnerships import PartnershipChecks

# The events that give an action its owner or a challenge its addressee, and that field.
_OWNER_FIELDS = {
    "domain.action:Action.Assigned": "agency_id",
    "domain.action:Action.OwnerTransferred": "to_agency_id",
    "domain.challenge:Challenge.Raised": "addressed_to",
    "domain.challenge:Challenge.Readdressed": "to_agency_id",
}


class AgencyUseCases(PartnershipChecks):
    def register_agency(
        self, ctx: Context, *, name: str, kind: str, statutory_partner: bool,
        partnerships: list[str], occurred_on: date | None = None,
    ) -> Outcome:
        ctx.actor.require(Permission.MANAGE_AGENCIES, "register agencies")
        agency = Agency.register(
            actor=ctx.actor, occurred_on=occurred_on or clock.today(), name=name, kind=kind,
            statutory_partner=statutory_partner, partnerships=partnerships,
        )
        self.check_partnerships(agency.partnerships, "partnerships")
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
        """Merge an agency into its successor; its open actions and the open challenges
        addressed to it pass to the successor in the same transaction (each with an event in
        its own history), so they are counted under the successor from then on."""
        ctx.actor.require(Permission.MANAGE_AGENCIES, "merge agencies")
        agency = self._load_for_change(Agency, agency_id, "agency", ctx)
        into = self._load(Agency, into_agency_id, "agency")
        day = occurred_on or clock.today()
        agency.merge_into(actor=ctx.actor, occurred_on=day, into=into, reason=reason)
        carried = f"{agency.name} merged into {into.name}"
        actions, challenges = self._open_records_of(agency_id)
        for action in actions:
            action.transfer_to(actor=ctx.actor, occurred_on=day, to_agency_id=into.id,
                               reason=carried)
        for challenge in challenges:
            challenge.readdress(actor=ctx.actor, occurred_on=day, to_agency_id=into.id,
                                reason=carried)
        return self._save(ctx, agency, *actions, *challenges)

    def _open_records_of(self, agency_id: UUID) -> tuple[list[Action], list[Challenge]]:
        """The open actions an agency owns and the open challenges addressed to it. A merger
        is rare: the log is read once (only the events that name an owner are decoded)."""
        candidates: set[UUID] = set()
        for notification in self.iter_notifications():
            field = _OWNER_FIELDS.get(notification.topic)
            if field is None:
                continue
            event = self.mapper.to_domain_event(notification)
            if getattr(event, field) == agency_id:
                candidates.add(event.originator_id)
        actions: list[Action] = []
        challenges: list[Challenge] = []
        for record_id in sorted(candidates):
            record = self.repository.get(record_id)
            if isinstance(record, Action) and record.agency_id == agency_id and record.is_live:
                actions.append(record)
            elif (isinstance(record, Challenge) and record.addressed_to == agency_id
                  and record.is_open):
                challenges.append(record)
        return actions, challenges

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
