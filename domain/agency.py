"""Agencies: the statutory partners and the relevant agencies that own actions.

Renames and mergers keep their history (CCG -> ICB on 1 July 2022 is the real case): the
current name is derived from the renames, never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import event

from domain.actors import Actor
from domain.base import LedgerAggregate, check_flag, check_not_future, require_text
from domain.errors import InvalidInput, WrongStage


class AgencyKind(StrEnum):
    LOCAL_AUTHORITY = "local_authority"
    POLICE = "police"
    HEALTH = "health"
    EDUCATION = "education"
    OTHER = "other"


class AgencyStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"
    RETIRED = "retired"


@dataclass(frozen=True)
class NameSpan:
    name: str
    effective_from: date


class Agency(LedgerAggregate):
    @event("Registered")
    def __init__(
        self, *, actor: Actor, occurred_on: date, name: str, kind: str,
        statutory_partner: bool, partnerships: list[str],
    ) -> None:
        self.kind = AgencyKind(kind)
        self.statutory_partner = statutory_partner
        self.partnerships = list(partnerships)
        self.names = [NameSpan(name, occurred_on)]
        self.status = AgencyStatus.ACTIVE
        self.merged_into: UUID | None = None
        self.registered_on = occurred_on

    @classmethod
    def register(
        cls, *, actor: Actor, occurred_on: date, name: str, kind: str,
        statutory_partner: bool, partnerships: list[str],
    ) -> Agency:
        try:
            AgencyKind(kind)
        except ValueError:
            allowed = ", ".join(k.value for k in AgencyKind)
            raise InvalidInput(f"kind must be one of {allowed}", field="kind") from None
        check_not_future(occurred_on)
        check_flag(statutory_partner, "statutory_partner")
        cleaned = [require_text(p, "partnerships", max_length=200) for p in partnerships]
        if not cleaned:
            raise InvalidInput("an agency serves at least one partnership", field="partnerships")
        return cls(
            actor=actor, occurred_on=occurred_on, name=require_text(name, "name", max_length=200),
            kind=kind, statutory_partner=statutory_partner, partnerships=cleaned,
        )

    @property
    def name(self) -> str:
        return self.names[-1].name

    def check_active(self, doing: str) -> None:
        if self.status is not AgencyStatus.ACTIVE:
            raise WrongStage(
                f"agency {self.name} is {self.status.value}; it cannot {doing}"
            )

    def rename(self, *, actor: Actor, occurred_on: date, name: str, reason: str) -> None:
        self.check_active("be renamed")
        self.check_business_date(occurred_on)
        name = require_text(name, "name", max_length=200)
        if name == self.name:
            raise InvalidInput(f"the agency is already called {name}", field="name")
        if occurred_on < self.names[-1].effective_from:
            raise InvalidInput(
                f"a rename cannot take effect before the current name "
                f"(from {self.names[-1].effective_from})", field="occurred_on",
            )
        self._renamed(actor=actor, occurred_on=occurred_on, name=name,
                      reason=require_text(reason, "reason"))

    @event("Renamed")
    def _renamed(self, *, actor: Actor, occurred_on: date, name: str, reason: str) -> None:
        self.names = [*self.names, NameSpan(name, occurred_on)]

    def merge_into(self, *, actor: Actor, occurred_on: date, into: Agency, reason: str) -> None:
        self.check_active("be merged")
        self.check_business_date(occurred_on)
        if into.id == self.id:
            raise InvalidInput("an agency cannot merge into itself", field="into_agency_id")
        into.check_active("receive a merger")
        self._merged(actor=actor, occurred_on=occurred_on, into_agency_id=into.id,
                     reason=require_text(reason, "reason"))

    @event("Merged")
    def _merged(self, *, actor: Actor, occurred_on: date, into_agency_id: UUID,
                reason: str) -> None:
        self.status = AgencyStatus.MERGED
        self.merged_into = into_agency_id

    def retire(self, *, actor: Actor, occurred_on: date, reason: str) -> None:
        self.check_active("be retired")
        self.check_business_date(occurred_on)
        self._retired(actor=actor, occurred_on=occurred_on, reason=require_text(reason, "reason"))

    @event("Retired")
    def _retired(self, *, actor: Actor, occurred_on: date, reason: str) -> None:
        self.status = AgencyStatus.RETIRED
