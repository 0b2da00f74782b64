"""Partnerships: the joint arrangements of an area, as records (DOMAIN.md: "partnerships are
data, not code"). The real case: Stoke-on-Trent and Staffordshire each run their own
partnership since the joint board, sharing one ICB and one police force, so an agency serves
in more than one.

A partnership is registered with its name, the areas it covers and its statutory safeguarding
partners (agencies). Agencies, reviews and users name partnerships by their name; the
`PartnershipIndex` (one per ledger) lists every registered name, so a reference can be checked
with one read. A ledger recorded before partnerships were records has no index, and its labels
keep loading and being accepted; once the first partnership is registered, every new
reference must name a registered one.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.actors import Actor
from domain.base import LedgerAggregate, check_not_future, require_text
from domain.errors import InvalidInput

_NS = uuid5(NAMESPACE_URL, "urn:safeguarding-ledger:partnership")
INDEX_ID = uuid5(_NS, "index")


def partnership_id(name: str) -> UUID:
    """Partnership names are unique regardless of case and surrounding spaces."""
    return uuid5(_NS, name.strip().casefold())


class Partnership(LedgerAggregate):
    @staticmethod
    def create_id(*, name: str, **_: Any) -> UUID:
        return partnership_id(name)

    @event("Registered")
    def __init__(self, *, actor: Actor, occurred_on: date, name: str, areas: list[str],
                 safeguarding_partners: list[UUID]) -> None:
        self.name = name
        self.areas = list(areas)
        self.safeguarding_partners = list(safeguarding_partners)
        self.registered_on = occurred_on

    @classmethod
    def register(cls, *, actor: Actor, occurred_on: date, name: str, areas: list[str],
                 safeguarding_partners: list[UUID]) -> Partnership:
        check_not_future(occurred_on)
        if isinstance(areas, str) or not isinstance(areas, list | tuple) or not areas:
            raise InvalidInput("a partnership covers at least one area (a list)", field="areas")
        cleaned = [require_text(a, "areas", max_length=200) for a in areas]
        if (not isinstance(safeguarding_partners, list | tuple)
                or not all(isinstance(p, UUID) for p in safeguarding_partners)
                or len(set(safeguarding_partners)) != len(safeguarding_partners)):
            raise InvalidInput("safeguarding_partners must be a list of distinct agency ids",
                               field="safeguarding_partners")
        return cls(actor=actor, occurred_on=occurred_on,
                   name=require_text(name, "name", max_length=200), areas=cleaned,
                   safeguarding_partners=list(safeguarding_partners))


class PartnershipIndex(LedgerAggregate):
    """Every registered partnership's name; saved with each registration, so two racing
    registrations of one name cannot both succeed."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return INDEX_ID

    @event("Opened")
    def __init__(self, *, actor: Actor, occurred_on: date) -> None:
        self.names: dict[str, UUID] = {}

    def list_partnership(self, *, actor: Actor, occurred_on: date, name: str,
                         partnership_id: UUID) -> None:
        self._listed(actor=actor, occurred_on=occurred_on, name=name,
                     partnership_id=partnership_id)

    @event("Listed")
    def _listed(self, *, actor: Actor, occurred_on: date, name: str,
                partnership_id: UUID) -> None:
        self.names = {**self.names, name.strip().casefold(): partnership_id}

    def knows(self, name: str) -> bool:
        return isinstance(name, str) and name.strip().casefold() in self.names
