"""The people the tests act as, one per role: as actors (the aggregates take these) and as
contexts (the Ledger's use cases take these: `AS_MANAGER` is the manager issuing a command).
Tests assert on some of these user ids ("u-manager", "u-board", "u-lead")."""

from __future__ import annotations

from uuid import UUID

from domain.actors import Actor, Role
from domain.application import Context
from domain.ledger import Ledger

MANAGER = Actor("u-manager", Role.SCB_MANAGER, name="SCB Manager")
BOARD = Actor("u-board", Role.BOARD_MEMBER, name="Board Member")
SCRUTINEER = Actor("u-scrutineer", Role.SCRUTINEER, name="Scrutineer")
AUDITOR = Actor("u-auditor", Role.AUDITOR, name="Auditor")
OPERATOR = Actor("cli:test", Role.OPERATOR)  # what `ledger` CLI commands act as
LEAD_AGENCY = UUID(int=0xA6E)  # an agency id no store holds, for the aggregates' tests
LEAD = Actor("u-lead", Role.AGENCY_LEAD, agency_id=LEAD_AGENCY, name="Agency Lead")


def lead_of(agency_id: UUID, user: str = "lead") -> Actor:
    """That agency's lead (another `user` is a second lead of the same agency)."""
    return Actor(f"u-{user}-{agency_id.hex[:6]}", Role.AGENCY_LEAD, agency_id=agency_id)


AS_MANAGER = Context(MANAGER)
AS_BOARD = Context(BOARD)
AS_SCRUTINEER = Context(SCRUTINEER)
AS_AUDITOR = Context(AUDITOR)
AS_OPERATOR = Context(OPERATOR)
AS_LEAD = Context(LEAD)


def as_lead_of(agency_id: UUID, user: str = "lead") -> Context:
    return Context(lead_of(agency_id, user))


def bearer_token(ledger: Ledger, role: str, agency_id: UUID | None = None, *,
                 name: str | None = None) -> str:
    """A bearer token for a new user in `role` (an agency lead needs `agency_id`), registered
    by the operator as the `ledger users add` command does."""
    user = ledger.register_user(AS_OPERATOR, name=name or f"{role} user", role=role,
                                agency_id=agency_id)
    return ledger.issue_token(AS_OPERATOR, user.id).token
