"""Idempotency records: one aggregate per (user, Idempotency-Key), saved atomically with the
command it guards, so a retry can never record twice even when two retries race."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.actors import Actor
from domain.base import LedgerAggregate

_NS = uuid5(NAMESPACE_URL, "urn:safeguarding-ledger:idempotency")


def record_id(user_id: str, key: str) -> UUID:
    return uuid5(_NS, f"{user_id}\n{key}")


class IdempotencyRecord(LedgerAggregate):
    """Remembers which request a key was used for and which record version it produced."""

    @staticmethod
    def create_id(*, actor: Actor, key: str, **_: Any) -> UUID:
        return record_id(actor.user_id, key)

    @event("KeyUsed")
    def __init__(
        self, *, actor: Actor, occurred_on: date, key: str, fingerprint: str,
        subject_id: UUID, subject_version: int,
    ) -> None:
        self.key = key
        self.fingerprint = fingerprint
        self.subject_id = subject_id
        self.subject_version = subject_version
