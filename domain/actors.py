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
    ASSIGN_ACTIONS = "assign_actions"  # assign, revise due dates, withdraw
    ESCALATE_ACTIONS = "escalate_actions"
    REPORT_PROGRESS = "report_progress"  # agency leads: own agency only
    ASSURE_ACTIONS = "assure_actions"  # assure or reject completion, evaluate impact
    HOLD_TO_ACCOUNT = "hold_to_account"  # the Board's outcome on escalated actions
    SIGN_OFF = "sign_off"
    RAISE_CHALLENGE = "raise_challenge"
    ESCALATE_CHALLENGE = "escalate_challenge"
    RESPOND_CHALLENGE = "respond_challenge"  # agency leads: challenges addressed to them
    RESOLVE_CHALLENGE = "resolve_challenge"  # scoped by stage and raiser (see Scope)
    CORRECT_ENTRIES = "correct_entries"
    MANAGE_AGENCIES = "manage_agencies"
    MANAGE_PARTNERSHIPS = "manage_partnerships"
    MANAGE_USERS = "manage_users"
    MAKE_CHECKPOINT = "make_checkpoint"
    WITNESS = "witness"  # cosign checkpoints
    READ = "read"
    EXPORT = "export"  # export the ledger and verify its integrity


class Scope(StrEnum):
    """How far a grant reaches: everything, or a part the command itself checks."""

    ANY = "yes"
    OWN_AGENCY = "own agency"
    ADDRESSED = "addressed to its agency"
    RAISED_STAGES_1_TO_3 = "its own, stages 1-3"
    AGREED_OR_MINUTED = "agreed outcome (1-3); the Board's, minuted (4)"
    STAGE_4 = "stage 4 only"
    MINUTED = "minuted (named meeting)"
    OWN_AGENCY_RECORDS = "own agency's actions and challenges; reviews"
    PARTNERSHIP = "own partnerships' (Board views)"


_P, _S = Permission, Scope
# DOMAIN.md's table of who may do what, as data: the domain enforces it (the use cases call
# Actor.require and the scoped checks below), and the README's and /docs' tables are rendered
# from it (render_roles_table), never written by hand.
GRANTS: dict[Role, dict[Permission, Scope]] = {
    Role.SCB_MANAGER: {
        _P.MANAGE_REVIEWS: _S.ANY, _P.ASSIGN_ACTIONS: _S.ANY, _P.ASSURE_ACTIONS: _S.ANY,
        _P.ESCALATE_ACTIONS: _S.ANY, _P.HOLD_TO_ACCOUNT: _S.MINUTED,
        _P.RAISE_CHALLENGE: _S.ANY, _P.RESOLVE_CHALLENGE: _S.AGREED_OR_MINUTED,
        _P.CORRECT_ENTRIES: _S.ANY, _P.MANAGE_AGENCIES: _S.ANY,
        _P.MANAGE_PARTNERSHIPS: _S.ANY, _P.MANAGE_USERS: _S.ANY, _P.MAKE_CHECKPOINT: _S.ANY,
        _P.READ: _S.ANY,
    },
    Role.AGENCY_LEAD: {
        _P.REPORT_PROGRESS: _S.OWN_AGENCY, _P.RESPOND_CHALLENGE: _S.ADDRESSED,
        _P.ESCALATE_CHALLENGE: _S.ADDRESSED, _P.RAISE_CHALLENGE: _S.ANY,
        _P.RESOLVE_CHALLENGE: _S.RAISED_STAGES_1_TO_3, _P.READ: _S.OWN_AGENCY_RECORDS,
    },
    Role.BOARD_MEMBER: {
        _P.SIGN_OFF: _S.ANY, _P.HOLD_TO_ACCOUNT: _S.ANY, _P.RESOLVE_CHALLENGE: _S.STAGE_4,
        _P.MAKE_CHECKPOINT: _S.ANY, _P.READ: _S.PARTNERSHIP,
    },
    Role.SCRUTINEER: {
        _P.RAISE_CHALLENGE: _S.ANY, _P.ESCALATE_CHALLENGE: _S.ANY,
        _P.RESOLVE_CHALLENGE: _S.RAISED_STAGES_1_TO_3, _P.WITNESS: _S.ANY, _P.READ: _S.ANY,
        _P.EXPORT: _S.ANY,
    },
    Role.AUDITOR: {_P.READ: _S.ANY, _P.EXPORT: _S.ANY},
    # The CLI's operator: bootstrap and maintenance on the server, not one of DOMAIN's roles.
    Role.OPERATOR: {
        _P.MANAGE_USERS: _S.ANY, _P.MANAGE_AGENCIES: _S.ANY, _P.MANAGE_PARTNERSHIPS: _S.ANY,
        _P.READ: _S.ANY, _P.EXPORT: _S.ANY,
    },
}

# Every command (the Ledger's use-case names, which the HTTP routes and CLI call), in the
# order of the process, with the permission it needs. A command the CLI's integrity service
# runs outside the Ledger (export, verify) is listed by the permission it checks.
COMMANDS: tuple[tuple[str, Permission], ...] = (
    ("register_partnership", _P.MANAGE_PARTNERSHIPS),
    ("register_agency / rename / merge / retire", _P.MANAGE_AGENCIES),
    ("register_user / set_user_partnerships / issue_token / revoke_token / deactivate_user",
     _P.MANAGE_USERS),
    ("record_incident, notify_panel, complete_rapid_review", _P.MANAGE_REVIEWS),
    ("record_local_decision, record_panel_decision", _P.MANAGE_REVIEWS),
    ("commission_reviewer, record_finding, record_recommendation", _P.MANAGE_REVIEWS),
    ("submit_report, record_scrutiny", _P.MANAGE_REVIEWS),
    ("sign_off", _P.SIGN_OFF),
    ("send_to_panel, publish, defer_publication, close_review", _P.MANAGE_REVIEWS),
    ("erase_review_text (destroys the review's data key; the CLI's operator too)",
     _P.MANAGE_REVIEWS),
    ("correct_date, correct_review_entry, retract_review_entry", _P.CORRECT_ENTRIES),
    ("correct_action_entry, retract_action_evidence", _P.CORRECT_ENTRIES),
    ("assign_action, revise_due_date, withdraw_action", _P.ASSIGN_ACTIONS),
    ("report_progress, claim_completion", _P.REPORT_PROGRESS),
    ("assure_completion, reject_completion, evaluate_impact", _P.ASSURE_ACTIONS),
    ("escalate_action", _P.ESCALATE_ACTIONS),
    ("hold_to_account (the Board's outcome)", _P.HOLD_TO_ACCOUNT),
    ("raise_challenge", _P.RAISE_CHALLENGE),
    ("respond_to_challenge", _P.RESPOND_CHALLENGE),
    ("escalate_challenge", _P.ESCALATE_CHALLENGE),
    ("resolve_challenge", _P.RESOLVE_CHALLENGE),
    ("make_checkpoint", _P.MAKE_CHECKPOINT),
    ("register_witness, add_cosignature", _P.WITNESS),
    ("read records and views (as_of any date)", _P.READ),
    ("export, verify integrity", _P.EXPORT),
)


ROLES_PREAMBLE = (
    "Rendered from the grants in `domain/actors.py`, which the domain enforces (DOMAIN.md's "
    "table). A blank cell (—) is refused with 403 and writes nothing; a scope is checked by the "
    "command itself: an agency lead acts on its own agency's actions and answers and escalates "
    "challenges addressed to its agency; a challenge is resolved at stages 1-3 by the one who "
    "raised it or by the SCB manager recording the agreed outcome, and at stage 4 only by the "
    "Board (a board member, or the SCB manager recording the Board's decision at a named "
    "meeting).\n\n"
)


def render_roles_table() -> str:
    """DOMAIN.md's table of who may do what, rendered from GRANTS and COMMANDS (markdown):
    one row per command, one column per role; a cell names the scope, blank when refused."""
    roles = USER_ROLES
    lines = ["| command | " + " | ".join(f"`{r.value}`" for r in roles) + " |",
             "| --- |" + " --- |" * len(roles)]
    for command, permission in COMMANDS:
        cells = [GRANTS[r][permission].value if permission in GRANTS[r] else "—"
                 for r in roles]
        lines.append(f"| `{command}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Actor:
    """Recorded on every event: who did it, in which role, for which agency."""

    user_id: str
    role: Role
    agency_id: UUID | None = None
    name: str = ""
    # The partnerships a user belongs to (a Board member reads only theirs); not recorded on
    # events (as_dict leaves it out): it scopes reads, not what was done.
    partnerships: tuple[str, ...] = ()

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def scope(self, permission: Permission) -> Scope | None:
        return GRANTS[self.role].get(permission)

    def require(self, permission: Permission, doing: str) -> None:
        if not self.may(permission):
            raise Forbidden(f"role {self.role.value} may not {doing}")

    def require_agency(self, agency_id: UUID, doing: str) -> None:
        """Agency leads act only for their own agency; other roles are not agency-scoped."""
        if self.role is Role.AGENCY_LEAD and self.agency_id != agency_id:
            raise Forbidden(f"an agency lead may only {doing} for their own agency")

    def require_partnership(self, partnership: str, doing: str) -> None:
        """A user who belongs to partnerships reads only their records (a Board member of
        Stoke-on-Trent does not read Staffordshire's reviews); others are not scoped."""
        if self.partnerships and partnership.casefold() not in {
                p.casefold() for p in self.partnerships}:
            raise Forbidden(f"you may only {doing} of your partnerships "
                            f"({', '.join(self.partnerships)})")

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
