"""Operator decisions about the record's read side, kept in the record itself.

When a read model cannot apply an event, the operator may (after investigation) skip that
event for that view. Skipping leaves the view knowingly incomplete, so who decided it, for
which view and position, and why, is an event like any other decision.
"""

from __future__ import annotations

from datetime import date

from eventsourcing.domain import event

from domain.actors import Actor, Role
from domain.base import LedgerAggregate, require_text
from domain.errors import Forbidden, InvalidInput


class ProjectionSkip(LedgerAggregate):
    """One deliberate skip of one event (by position) in one view."""

    @event("Skipped")
    def __init__(self, *, actor: Actor, occurred_on: date, view: str, position: int,
                 error: str, reason: str) -> None:
        self.view = view
        self.position = position
        self.error = error
        self.reason = reason

    @classmethod
    def record(cls, *, actor: Actor, occurred_on: date, view: str, position: int,
               error: str, reason: str) -> ProjectionSkip:
        if actor.role is not Role.OPERATOR:
            raise Forbidden("only the operator (on the server) may skip an event in a view")
        if isinstance(position, bool) or not isinstance(position, int) or position < 1:
            raise InvalidInput("position must be a positive whole number", field="position")
        return cls(actor=actor, occurred_on=occurred_on,
                   view=require_text(view, "view", max_length=100), position=position,
                   error=(error or "")[:2000], reason=require_text(reason, "reason"))
