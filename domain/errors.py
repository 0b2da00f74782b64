"""Domain exceptions. The API maps each to one HTTP status; none of them is ever a 500."""

from __future__ import annotations

from eventsourcing.persistence import OperationalError


class DomainError(Exception):
    """A command was refused by a rule of the domain. Nothing was recorded."""

    status = 422
    title = "Refused by a domain rule"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(DomainError):
    """A value is outside what the domain accepts (e.g. a due date before assignment)."""

    status = 422
    title = "Invalid value"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    """The actor's role or agency may not do this."""

    status = 403
    title = "Forbidden"


class WrongStage(DomainError):
    """A step was attempted out of order; the message names the stage and what may follow."""

    status = 409
    title = "Not allowed at this stage"


class AlreadyExists(DomainError):
    status = 409
    title = "Already exists"


class StaleVersion(DomainError):
    """If-Match named a version that is no longer current."""

    status = 412
    title = "Precondition failed: the record has changed"


class ConcurrentWrite(DomainError):
    """Another write to the same record won the race; reload and try again."""

    status = 409
    title = "Conflicting concurrent write"


class IdempotencyKeyReused(DomainError):
    status = 422
    title = "Idempotency-Key reused with a different request"


class OutcomeUnknown(Exception):
    """A write was sent but whether it was recorded cannot be told now (the store went away
    before it could be checked). Not a DomainError: it may have been recorded. The client
    retries with the same Idempotency-Key, which records it at most once."""


class NotSent(OperationalError):
    """The store refused a write before it was sent (no connection could be had): certainly
    not recorded, so there is nothing to look for."""
