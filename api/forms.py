"""The pages' forms that write: one per command a person does on the page where the thing is
shown. Each form is the API's request model (api/schemas) and the same use case of the
Ledger, so a form records exactly what the API records (same events, same actor).

A form is offered only when the thing's state allows the command (its `allowed_next()`) and
the person's grant allows it (`Actor.may_command`, from domain/actors.py's GRANTS; the use
case checks again). Every form carries:
- the version of the record it was opened on: a stale form is refused (StaleVersion, nothing
  written) and the page shows what changed since;
- a one-use token, the command's Idempotency-Key: a second submit of the same form replays
  the first outcome and records nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ValidationError

from api.schemas.actions import (
    ActionIn,
    AssuranceIn,
    BoardOutcomeIn,
    ClaimIn,
    DueDateIn,
    EscalationIn,
    ProgressIn,
)
from api.schemas.agencies import AgencyIn
from api.schemas.challenges import ChallengeIn, ResolutionIn, ResponseIn
from api.schemas.challenges import EscalationIn as ChallengeEscalationIn
from api.schemas.common import DatedReasonIn, EntryCorrectionIn, ReasonIn
from api.schemas.reviews import (
    DateCorrectionIn,
    DateOnlyIn,
    FindingIn,
    IncidentIn,
    LocalDecisionIn,
    PanelDecisionIn,
    PublicationIn,
    RecommendationIn,
    ReviewerIn,
    ScrutinyIn,
    SignOffIn,
    SummaryIn,
)
from api.schemas.users import EmailIn, UserIn
from domain.action import EscalationLevel, Rag
from domain.actors import USER_ROLES, Actor
from domain.agency import AgencyKind
from domain.application import Context, Idempotency, Outcome
from domain.challenge import ChallengeOutcome
from domain.ledger import Ledger
from domain.review import (
    AgeBand,
    Category,
    CorrectableDate,
    Harm,
    LegalStatus,
    LocalCriterion,
    PanelCriterion,
    ScrutinyOutcome,
)

TOKEN_FIELD, VERSION_FIELD = "form_token", "version"
SKIPPED = {"csrf_token", TOKEN_FIELD, VERSION_FIELD}


@dataclass(frozen=True)
class Input:
    name: str
    label: str
    kind: str = "text"  # text, textarea, lines (one per line), date, select, number,
    #                     checks (several of the choices), bool (yes / no)
    hint: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = True
    source: str = ""  # choices the page supplies (the review's findings, the agencies)


@dataclass(frozen=True)
class Form:
    command: str  # the Ledger's use case (and the name in allowed_next / COMMANDS)
    title: str
    button: str
    schema: type[BaseModel]
    inputs: tuple[Input, ...]
    call: Callable[[Ledger, Context, UUID, Any], Outcome]
    versioned: bool = True  # False: the command creates another record (raise a challenge)
    always: bool = False  # offered whatever the state (a correction), if the grant allows


def _lines_of(text: Any) -> list[str]:
    return [line.strip() for line in str(text).splitlines() if line.strip()]


WHEN = Input("occurred_on", "The date it happened", "date",
             "Leave empty for today. Not in the future.", required=False)
RAGS = tuple((r.value, r.value.capitalize()) for r in Rag)
LEVELS = tuple((lv.value, lv.value.replace("_", " ")) for lv in EscalationLevel)
OUTCOMES = tuple((o.value, o.value.replace("_", " ").capitalize()) for o in ChallengeOutcome)

ACTION_FORMS: dict[str, Form] = {f.command: f for f in (
    Form("report_progress", "Report progress", "Record progress", ProgressIn, (
        Input("narrative", "What has been done", "textarea"),
        Input("rag", "Your agency's rating", "select", choices=RAGS),
        Input("evidence", "Evidence references", "lines",
              "One per line: training dates, documents issued, audit findings.", required=False),
        WHEN),
        lambda ledger, ctx, i, b: ledger.report_progress(
            ctx, i, narrative=b.narrative, rag=b.rag.value, evidence=b.evidence,
            occurred_on=b.occurred_on)),
    Form("claim_completion", "Claim completion", "Claim completion", ClaimIn, (
        Input("narrative", "Why the action is complete", "textarea"),
        Input("evidence", "Evidence references", "lines", "One per line.", required=False),
        WHEN),
        lambda ledger, ctx, i, b: ledger.claim_completion(
            ctx, i, narrative=b.narrative, evidence=b.evidence, occurred_on=b.occurred_on)),
    Form("assure_completion", "Assure completion", "Assure completion", AssuranceIn, (
        Input("comments", "The sub-committee's assurance", "textarea"), WHEN),
        lambda ledger, ctx, i, b: ledger.assure_completion(
            ctx, i, comments=b.comments, occurred_on=b.occurred_on)),
    Form("reject_completion", "Reject the completion claim", "Reject completion",
         DatedReasonIn, (Input("reason", "Why it is not complete", "textarea"), WHEN),
        lambda ledger, ctx, i, b: ledger.reject_completion(
            ctx, i, reason=b.reason, occurred_on=b.occurred_on)),
    Form("revise_due_date", "Revise the due date", "Revise due date", DueDateIn, (
        Input("due_on", "New due date", "date"),
        Input("reason", "Why", "textarea"),
        Input("approved_by", "Approved by"), WHEN),
        lambda ledger, ctx, i, b: ledger.revise_due_date(
            ctx, i, due_on=b.due_on, reason=b.reason, approved_by=b.approved_by,
            occurred_on=b.occurred_on)),
    Form("escalate_action", "Escalate", "Escalate", EscalationIn, (
        Input("reason", "Why it is escalated", "textarea"),
        Input("to_level", "To", "select", "Default: the next rung of the ladder.",
              choices=LEVELS, required=False), WHEN),
        lambda ledger, ctx, i, b: ledger.escalate_action(
            ctx, i, reason=b.reason, to_level=b.to_level.value if b.to_level else None,
            occurred_on=b.occurred_on)),
    Form("hold_to_account", "Record the Board's outcome", "Record the outcome", BoardOutcomeIn, (
        Input("outcome", "What the Board decided", "textarea"),
        Input("meeting", "At which Board meeting"), WHEN),
        lambda ledger, ctx, i, b: ledger.hold_to_account(
            ctx, i, outcome=b.outcome, meeting=b.meeting, occurred_on=b.occurred_on)),
    Form("correct_action_entry", "Correct a mistaken entry", "Record the correction",
         EntryCorrectionIn, (
             Input("corrects_version", "The entry's version (#) in the history", "number",
                   "A progress report or completion claim."),
             Input("field", "What is corrected", "select",
                   choices=(("narrative", "Its narrative"), ("evidence", "Its evidence"))),
             Input("corrected", "The corrected text", "textarea",
                   "For evidence: one reference per line."),
             Input("reason", "Why", "textarea"), Input("approved_by", "Approved by"), WHEN),
         lambda ledger, ctx, i, b: ledger.correct_action_entry(
             ctx, i, corrects_version=b.corrects_version, field=b.field,
             corrected=_lines_of(b.corrected) if b.field == "evidence" else b.corrected,
             reason=b.reason, approved_by=b.approved_by, occurred_on=b.occurred_on),
         always=True),
    Form("withdraw_action", "Withdraw the action", "Withdraw", DatedReasonIn, (
        Input("reason", "Why it is withdrawn", "textarea"), WHEN),
        lambda ledger, ctx, i, b: ledger.withdraw_action(
            ctx, i, reason=b.reason, occurred_on=b.occurred_on)),
)}

CHALLENGE_FORMS: dict[str, Form] = {f.command: f for f in (
    Form("respond_to_challenge", "Answer the challenge", "Send the answer", ResponseIn, (
        Input("response", "Your agency's answer", "textarea"), WHEN),
        lambda ledger, ctx, i, b: ledger.respond_to_challenge(
            ctx, i, response=b.response, occurred_on=b.occurred_on)),
    Form("escalate_challenge", "Escalate the challenge", "Escalate", ChallengeEscalationIn, (
        Input("to_stage", "To stage", "number", "The next stage (one at a time, up to 4)."),
        Input("reason", "Why", "textarea"), WHEN),
        lambda ledger, ctx, i, b: ledger.escalate_challenge(
            ctx, i, to_stage=b.to_stage, reason=b.reason, occurred_on=b.occurred_on)),
    Form("resolve_challenge", "Resolve the challenge", "Resolve", ResolutionIn, (
        Input("outcome", "Outcome", "select", choices=OUTCOMES),
        Input("reason", "The written outcome", "textarea"),
        Input("meeting", "Board meeting", hint="At stage 4: the meeting that decided.",
              required=False), WHEN),
        lambda ledger, ctx, i, b: ledger.resolve_challenge(
            ctx, i, outcome=b.outcome.value, reason=b.reason, meeting=b.meeting,
            occurred_on=b.occurred_on)),
)}

# Raised from the thing's page: the subject is the thing itself (hidden fields).
RAISE_CHALLENGE = Form(
    "raise_challenge", "Raise a challenge", "Raise the challenge", ChallengeIn, (
        Input("grounds", "Grounds of the challenge", "textarea"), WHEN),
    lambda ledger, ctx, i, b: ledger.raise_challenge(
        ctx, subject_type=b.subject_type.value, subject_id=b.subject_id,
        subject_version=b.subject_version, grounds=b.grounds, addressed_to=b.addressed_to,
        occurred_on=b.occurred_on),
    versioned=False)

def _choices(enum: Any) -> tuple[tuple[str, str], ...]:
    return tuple((m.value, m.value.replace("_", " ").capitalize()) for m in enum)


REVIEW_FORMS: dict[str, Form] = {f.command: f for f in (
    Form("notify_panel", "Record that the National Panel was notified", "Record notification",
         DateOnlyIn, (WHEN,),
         lambda ledger, ctx, i, b: ledger.notify_panel(ctx, i, occurred_on=b.occurred_on)),
    Form("complete_rapid_review", "Record the rapid review", "Record the rapid review",
         SummaryIn, (Input("summary", "What the rapid review found and decided", "textarea"),
                     WHEN),
         lambda ledger, ctx, i, b: ledger.complete_rapid_review(
             ctx, i, summary=b.summary, occurred_on=b.occurred_on)),
    Form("record_local_decision", "Record the local decision", "Record the decision",
         LocalDecisionIn, (
             Input("conduct_review", "Conduct a local child safeguarding practice review?",
                   "bool", choices=(("yes", "Yes"), ("no", "No"))),
             Input("criteria", "The regulation 11 criteria it rests on", "checks",
                   choices=_choices(LocalCriterion), required=False),
             Input("rationale", "Rationale", "textarea"), WHEN),
         lambda ledger, ctx, i, b: ledger.record_local_decision(
             ctx, i, conduct_review=b.conduct_review, criteria=[c.value for c in b.criteria],
             rationale=b.rationale, occurred_on=b.occurred_on)),
    Form("record_panel_decision", "Record the National Panel's decision", "Record the decision",
         PanelDecisionIn, (
             Input("national_review", "Will the Panel conduct a national review?", "bool",
                   choices=(("yes", "Yes"), ("no", "No"))),
             Input("criteria", "The criteria it considered", "checks",
                   choices=_choices(PanelCriterion), required=False),
             Input("rationale", "Rationale", "textarea"), WHEN),
         lambda ledger, ctx, i, b: ledger.record_panel_decision(
             ctx, i, national_review=b.national_review, criteria=[c.value for c in b.criteria],
             rationale=b.rationale, occurred_on=b.occurred_on)),
    Form("commission_reviewer", "Commission the independent reviewer", "Record commission",
         ReviewerIn, (Input("reviewer", "Reviewer"), WHEN),
         lambda ledger, ctx, i, b: ledger.commission_reviewer(
             ctx, i, reviewer=b.reviewer, occurred_on=b.occurred_on)),
    Form("record_finding", "Record a finding", "Record the finding", FindingIn, (
        Input("text", "Finding", "textarea"),
        Input("themes", "Themes", "lines", "One per line, e.g. bruising-in-non-mobile-babies.",
              required=False), WHEN),
         lambda ledger, ctx, i, b: ledger.record_finding(
             ctx, i, text=b.text, themes=b.themes, occurred_on=b.occurred_on).outcome),
    Form("record_recommendation", "Record a recommendation", "Record the recommendation",
         RecommendationIn, (
             Input("text", "Recommendation", "textarea"),
             Input("finding_ids", "The findings it rests on", "checks", source="findings"),
             WHEN),
         lambda ledger, ctx, i, b: ledger.record_recommendation(
             ctx, i, text=b.text, finding_ids=b.finding_ids,
             occurred_on=b.occurred_on).outcome),
    Form("submit_report", "Record the report's submission", "Record submission", SummaryIn,
         (Input("summary", "Summary of the report", "textarea"), WHEN),
         lambda ledger, ctx, i, b: ledger.submit_report(
             ctx, i, summary=b.summary, occurred_on=b.occurred_on)),
    Form("record_scrutiny", "Record the SSSPG's scrutiny", "Record scrutiny", ScrutinyIn, (
        Input("outcome", "Outcome", "select", choices=_choices(ScrutinyOutcome)),
        Input("notes", "Notes", "textarea", required=False), WHEN),
         lambda ledger, ctx, i, b: ledger.record_scrutiny(
             ctx, i, outcome=b.outcome.value, challenge_id=b.challenge_id, notes=b.notes,
             occurred_on=b.occurred_on)),
    Form("sign_off", "Sign off the report", "Sign off", SignOffIn, (
        Input("meeting", "At which full Board meeting"), WHEN),
         lambda ledger, ctx, i, b: ledger.sign_off(
             ctx, i, meeting=b.meeting, occurred_on=b.occurred_on)),
    Form("send_to_panel", "Record that it was sent to the Panel and the Secretary of State",
         "Record sending", DateOnlyIn, (WHEN,),
         lambda ledger, ctx, i, b: ledger.send_to_panel(ctx, i, occurred_on=b.occurred_on)),
    Form("publish", "Record publication", "Record publication", PublicationIn, (
        Input("location", "Where it was published"), WHEN),
         lambda ledger, ctx, i, b: ledger.publish(
             ctx, i, location=b.location, occurred_on=b.occurred_on)),
    Form("defer_publication", "Defer publication", "Defer", DatedReasonIn, (
        Input("reason", "The recorded reason not to publish yet", "textarea"), WHEN),
         lambda ledger, ctx, i, b: ledger.defer_publication(
             ctx, i, reason=b.reason, occurred_on=b.occurred_on)),
    Form("correct_date", "Correct a mistaken key date", "Record the correction",
         DateCorrectionIn, (
             Input("field", "Which date", "select", choices=_choices(CorrectableDate)),
             Input("corrected", "The correct date", "date"),
             Input("reason", "Why", "textarea"), WHEN),
         lambda ledger, ctx, i, b: ledger.correct_date(
             ctx, i, field=b.field.value, corrected=b.corrected, reason=b.reason,
             occurred_on=b.occurred_on)),
    Form("close_review", "Close the review", "Close", DatedReasonIn, (
        Input("reason", "Why it closes", "textarea"), WHEN),
         lambda ledger, ctx, i, b: ledger.close_review(
             ctx, i, reason=b.reason, occurred_on=b.occurred_on)),
)}

# On the review's page: an action for one of its recommendations (creates an action).
ASSIGN_ACTION = Form(
    "assign_action", "Assign an action", "Assign the action", ActionIn, (
        Input("recommendation_id", "Recommendation", "select", source="recommendations"),
        Input("agency_id", "Lead agency", "select", source="agencies"),
        Input("description", "The action (specific)", "textarea"),
        Input("measure_of_success", "How success is measured", "textarea"),
        Input("due_on", "Due on", "date"),
        Input("milestones", "Milestones", "lines", "One per line.", required=False), WHEN),
    lambda ledger, ctx, i, b: ledger.assign_action(
        ctx, review_id=b.review_id, recommendation_id=b.recommendation_id,
        agency_id=b.agency_id, description=b.description,
        measure_of_success=b.measure_of_success, due_on=b.due_on, milestones=b.milestones,
        occurred_on=b.occurred_on),
    versioned=False)

# On the reviews' list: a serious incident (creates a review).
RECORD_INCIDENT = Form(
    "record_incident", "Record a serious incident", "Record the incident", IncidentIn, (
        Input("reference", "Pseudonymous reference", hint="e.g. SSSCB-2025-03. Never a name."),
        Input("partnership", "Partnership", "select", source="partnerships"),
        Input("local_authority_area", "Local authority area"),
        Input("age_band", "Age band", "select", choices=_choices(AgeBand)),
        Input("harm", "Harm", "select", choices=_choices(Harm)),
        Input("category", "Category", "select", choices=_choices(Category)),
        Input("legal_status", "Legal status", "select", choices=_choices(LegalStatus)),
        Input("agencies_involved", "Agencies involved", "checks", source="agencies",
              required=False),
        Input("occurred_on", "The date the partners became aware", "date",
              "Leave empty for today.", required=False)),
    lambda ledger, ctx, i, b: ledger.record_incident(
        ctx, reference=b.reference, partnership=b.partnership,
        local_authority_area=b.local_authority_area, age_band=b.age_band.value,
        harm=b.harm.value, category=b.category.value, legal_status=b.legal_status.value,
        agencies_involved=b.agencies_involved, occurred_on=b.occurred_on),
    versioned=False)

# Raised from a review's page: on its decision or its report, addressed to an agency.
RAISE_ON_REVIEW = Form(
    "raise_challenge", "Raise a challenge", "Raise the challenge", ChallengeIn, (
        Input("subject_type", "What is challenged", "select",
              choices=(("review_decision", "The review decision"), ("report", "The report"))),
        Input("addressed_to", "Addressed to", "select", source="agencies"),
        Input("grounds", "Grounds of the challenge", "textarea"), WHEN),
    RAISE_CHALLENGE.call, versioned=False)

# The people page (SCB managers): register agencies and users; a person's address and access.
ROLE_CHOICES = tuple((r.value, r.value.replace("_", " ").capitalize()) for r in USER_ROLES)
REGISTER_USER = Form(
    "register_user", "Register a person", "Register", UserIn, (
        Input("name", "Name"),
        Input("role", "Role", "select", choices=ROLE_CHOICES),
        Input("agency_id", "Agency", "select", "Agency leads only.", source="agencies",
              required=False),
        Input("partnerships", "Partnerships", "checks", "A Board member then reads only these.",
              source="partnerships", required=False)),
    lambda ledger, ctx, i, b: ledger.register_user(
        ctx, name=b.name, role=b.role.value, agency_id=b.agency_id,
        partnerships=b.partnerships or None),
    versioned=False)
REGISTER_AGENCY = Form(
    "register_agency", "Register an agency", "Register", AgencyIn, (
        Input("name", "Name"),
        Input("kind", "Kind", "select", choices=_choices(AgencyKind)),
        Input("statutory_partner", "A statutory safeguarding partner?", "bool",
              choices=(("yes", "Yes"), ("no", "No"))),
        Input("partnerships", "Partnerships it serves", "checks", source="partnerships"),
        WHEN),
    lambda ledger, ctx, i, b: ledger.register_agency(
        ctx, name=b.name, kind=b.kind.value, statutory_partner=b.statutory_partner,
        partnerships=b.partnerships, occurred_on=b.occurred_on),
    versioned=False)
USER_FORMS: dict[str, Form] = {f.command: f for f in (
    Form("set_user_email", "Email address for reminders", "Save the address", EmailIn, (
        Input("email", "Email address", hint="Empty: no reminders.", required=False),),
        lambda ledger, ctx, i, b: ledger.set_user_email(ctx, i, email=b.email)),
    Form("deactivate_user", "Revoke access", "Revoke access", ReasonIn, (
        Input("reason", "Why", "textarea"),),
        lambda ledger, ctx, i, b: ledger.deactivate_user(ctx, i, reason=b.reason)),
)}

FORMS = {"action": ACTION_FORMS, "challenge": CHALLENGE_FORMS, "review": REVIEW_FORMS}


def offered(kind: str, allowed_next: list[str], actor: Actor | None,
            agency_id: UUID | None) -> list[Form]:
    """The forms this person may use on this thing now."""
    if actor is None:
        return []
    return [form for command, form in FORMS[kind].items()
            if (command in allowed_next or form.always)
            and actor.may_command(command, agency_id)]


def new_token() -> str:
    return secrets.token_urlsafe(18)


@dataclass
class FormState:
    """What the page shows back after a refused form: the values typed, each field's reason,
    a reason for the whole form, and (when stale) what changed since it was opened."""

    command: str = ""
    thing: str = ""  # the record the form was about (a person's forms repeat per person)
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""
    changes: list[Any] = field(default_factory=list)
    opened_version: int | None = None


def parse(form: Form, raw: dict[str, str], hidden: dict[str, Any] | None = None
          ) -> tuple[BaseModel | None, dict[str, str]]:
    """The form's fields as the API's request model, or each field's reason."""
    data: dict[str, Any] = dict(hidden or {})
    for i in form.inputs:
        value = (raw.get(i.name) or "").strip()
        if i.kind in ("lines", "checks"):
            data[i.name] = [line.strip() for line in value.splitlines() if line.strip()]
        elif i.kind == "number" and value.isdigit() and len(value) < 10:
            data[i.name] = int(value)
        elif i.kind == "bool" and value in ("yes", "no"):
            data[i.name] = value == "yes"
        elif value:
            data[i.name] = value
        elif i.required:
            data[i.name] = ""  # the schema says why (at least 1 character, a date, ...)
    try:
        return form.schema.model_validate(data), {}
    except ValidationError as error:
        errors: dict[str, str] = {}
        for e in error.errors():
            name = str(e["loc"][0]) if e["loc"] else "form"
            errors.setdefault(name, _reason(e))
        return None, errors


def _reason(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind in ("string_too_short", "missing") or error.get("input") == "":
        return "This is needed."
    if kind.startswith("date"):
        return "This is not a date (use the date picker, or YYYY-MM-DD)."
    return str(error.get("msg", "Not valid."))


def context(actor: Actor, raw: dict[str, str], path: str, versioned: bool
            ) -> Context:
    """The command's context: the version the form was opened on, and its one-use token as
    the Idempotency-Key (the fingerprint is the form's fields, so the same form sent twice
    replays and a different one under the same token is refused)."""
    version = raw.get(VERSION_FIELD, "")
    expected = int(version) if versioned and version.isdigit() else None
    token = raw.get(TOKEN_FIELD, "")
    idempotency = None
    if token:
        digest = hashlib.sha256(path.encode())
        for key in sorted(k for k in raw if k not in SKIPPED):
            digest.update(f"\n{key}={raw[key]}".encode())
        idempotency = Idempotency(key=f"form:{token}", fingerprint=digest.hexdigest())
    return Context(actor=actor, expected_version=expected, idempotency=idempotency)
