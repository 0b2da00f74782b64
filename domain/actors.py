"""Who acts: roles, the actor recorded on every event, and what each role may do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from domain.errors import Forbidden


class Role(StrEnum):
    SCB_MANAGER = "scb_manager"
    AGENCY_LEAD = "agency_lead"
    BOARD_MEMBER = "board_member"
    SCRUTINEER = "scrutineer"
    AUDITOR = "auditor"
    # The operator runs the CLI on the server (bootstrap, demo, maintenance). It has no token:
    # whoever has a shell there already holds the database, so the record names them honestly.
    OPERATOR = "operator"


USER_ROLES = tuple(r for r in Role if r is not Role.OPERATOR)


class Permission(StrEnum):
    MANAGE_REVIEWS = "manage_reviews"  # incidents, decisions, findings, recommendations
    ASSIGN_ACTIONS = "assign_actions"
    REPORT_PROGRESS = "report_progress"  # agency leads: own agency only
    ASSURE_ACTIONS = "assure_actions"
    HOLD_TO_ACCOUNT = "hold_to_account"  # Board outcomes on escalated actions
    SIGN_OFF = "sign_off"
    RAISE_CHALLENGE = "raise_challenge"
    ESCALATE_CHALLENGE = "escalate_challenge"
    RESPOND_CHALLENGE = "respond_challenge"  # agency leads: challenges addressed to them
    RESOLVE_CHALLENGE = "resolve_challenge"
    MANAGE_AGENCIES = "manage_agencies"
    MANAGE_USERS = "manage_users"
    MAKE_CHECKPOINT = "make_checkpoint"
    READ = "read"
    EXPORT = "export"


_P = Permission
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.SCB_MANAGER: frozenset(
        {_P.MANAGE_REVIEWS, _P.ASSIGN_ACTIONS, _P.ASSURE_ACTIONS, _P.RAISE_CHALLENGE,
         _P.ESCALATE_CHALLENGE, _P.RESOLVE_CHALLENGE, _P.MANAGE_AGENCIES, _P.MANAGE_USERS,
         _P.MAKE_CHECKPOINT, _P.READ, _P.EXPORT}
    ),
    Role.AGENCY_LEAD: frozenset(
        {_P.REPORT_PROGRESS, _P.RESPOND_CHALLENGE, _P.RAISE_CHALLENGE, _P.ESCALATE_CHALLENGE,
         _P.READ}
    ),
    Role.BOARD_MEMBER: frozenset(
        {_P.HOLD_TO_ACCOUNT, _P.SIGN_OFF, _P.RAISE_CHALLENGE, _P.ESCALATE_CHALLENGE,
         _P.RESOLVE_CHALLENGE, _P.MAKE_CHECKPOINT, _P.READ, _P.EXPORT}
    ),
    Role.SCRUTINEER: frozenset({_P.RAISE_CHALLENGE, _P.ESCALATE_CHALLENGE, _P.READ, _P.EXPORT}),
    Role.AUDITOR: frozenset({_P.READ, _P.EXPORT}),
    Role.OPERATOR: frozenset({_P.MANAGE_USERS, _P.MANAGE_AGENCIES, _P.READ, _P.EXPORT}),
}


@dataclass(frozen=True)
class Actor:
    """Recorded on every event: who did it, in which role, for which agency."""

    user_id: str
    role: Role
    agency_id: UUID | None = None
    name: str = ""

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def require(self, permission: Permission, doing: str) -> None:
        if not self.may(permission):
            raise Forbidden(f"role {self.role.value} may not {doing}")

    def require_agency(self, agency_id: UUID, doing: str) -> None:
        """Agency leads act only for their own agency; other roles are not agency-scoped."""
        if self.role is Role.AGENCY_LEAD and self.agency_id != agency_id:
            raise Forbidden(f"an agency lead may only {doing} for their own agency")

    def as_dict(self) -> dict[str, str | None]:
        return {
            "user_id": self.user_id,
            "role": self.role.value,
            "agency_id": self.agency_id.hex if self.agency_id else None,
            "name": self.name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, str | None]) -> Actor:
        agency = data.get("agency_id")
        return cls(
            user_id=str(data["user_id"]),
            role=Role(data["role"]),
            agency_id=UUID(agency) if agency else None,
            name=str(data.get("name") or ""),
        )
