"""Audit trail: every event, one row each, never updated: position, recorded time, business
date, actor (user id, name, role, agency), entity type and id, event type, the agency it
concerns, and a one-line summary.

Summaries are built from structured fields only (references, statuses, dates, ids), never
from free text (reasons, narratives): free text may later be made unreadable (erasure), and
the audit view must not keep a second copy of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NamedTuple

from projections.base import Changes, Table, ViewProjection, iso, micros, moment_of, uid
from projections.db import Tx, page_limit

# The events an agency's staff did that concern another agency, or none: the only ones an
# agency's trail takes by its actors' agency rather than its own (nearly every event by an
# agency's staff concerns that agency: the index of all of them was a sixth of the cost of
# writing the trail, and none in the benchmark's ledgers).
_BY_STAFF_ELSEWHERE = ("actor_agency_id IS NOT NULL AND "
                       "(agency_id IS NULL OR agency_id <> actor_agency_id)")
AUDIT = Table(
    "view_audit",
    (("position", "BIGINT"), ("recorded_at", "BIGINT NOT NULL"), ("occurred_on", "TEXT"),
     ("actor_user_id", "TEXT"), ("actor_name", "TEXT"), ("actor_role", "TEXT"),
     ("actor_agency_id", "TEXT"), ("entity_type", "TEXT NOT NULL"),
     ("entity_id", "TEXT NOT NULL"), ("entity_version", "INTEGER NOT NULL"),
     ("event_type", "TEXT NOT NULL"), ("agency_id", "TEXT"), ("summary", "TEXT NOT NULL")),
    key=("position",),
    indexes=("entity_id, position", "actor_user_id, position", "agency_id, position",
             f"actor_agency_id, position WHERE {_BY_STAFF_ELSEWHERE}",
             "event_type, position", "recorded_at"),
    appended=True,
)
# Which agency an entity concerns (an action's owner, a challenge's addressee, a user's
# agency), remembered from its first event for the events that follow.
ENTITIES = Table("view_audit_entities", (("entity_id", "TEXT"), ("agency_id", "TEXT")),
                 key=("entity_id",))

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def _words(name: str) -> str:
    return _CAMEL.sub(" ", name).lower()


_SUMMARIES: dict[str, Callable[[Any], str]] = {
    "Agency.Registered": lambda e: f"agency {e.name} registered ({e.kind})",
    "Agency.Renamed": lambda e: f"agency renamed to {e.name}, effective {e.occurred_on}",
    "Agency.Merged": lambda e: f"agency merged into agency {e.into_agency_id}",
    "Agency.Retired": lambda e: "agency retired",
    "User.Registered": lambda e: f"user {e.name} registered as {e.role}",
    "User.TokenIssued": lambda e: f"token {e.token_id} issued",
    "User.TokenRevoked": lambda e: f"token {e.token_id} revoked",
    "User.Deactivated": lambda e: "user deactivated",
    "User.SignInLinkIssued": lambda e: f"one-time sign-in link {e.link_id} issued",
    "User.SignedIn": lambda e: f"signed in to the pages (with a {e.via})",
    "User.SignedOut": lambda e: "signed out of the pages",
    "TokenIndex.Indexed": lambda e: f"token {e.token_id} indexed for user {e.user_id}",
    "IdempotencyRecord.KeyUsed": lambda e: (
        f"idempotency key recorded for {e.subject_id} version {e.subject_version}"),
    "Review.IncidentRecorded": lambda e: (
        f"incident {e.reference} recorded ({e.harm}, {e.category}, {e.age_band}), "
        f"aware on {e.occurred_on}"),
    "Review.PanelNotified": lambda e: f"National Panel notified on {e.occurred_on}",
    "Review.RapidReviewCompleted": lambda e: f"rapid review completed on {e.occurred_on}",
    "Review.LocalDecisionMade": lambda e: (
        "local decision: " + ("conduct a review" if e.conduct_review else "no review")
        + (f" ({', '.join(e.criteria)})" if e.criteria else "")),
    "Review.NationalPanelDecisionRecorded": lambda e: (
        "National Panel decision: " + ("national review" if e.national_review
                                       else "no national review")),
    "Review.ReviewerCommissioned": lambda e: f"reviewer {e.reviewer} commissioned",
    "Review.FindingRecorded": lambda e: (
        f"finding {e.finding_id} recorded" + (f" (themes: {', '.join(e.themes)})"
                                              if e.themes else "")),
    "Review.RecommendationRecorded": lambda e: (
        f"recommendation {e.recommendation_id} recorded on {len(e.finding_ids)} finding(s)"),
    "Review.ReportSubmitted": lambda e: "report submitted",
    "Review.Scrutinised": lambda e: f"scrutinised: {e.outcome}",
    "Review.SignedOff": lambda e: f"signed off at {e.meeting}",
    "Review.SentToPanel": lambda e: "report sent to the Panel and the Secretary of State",
    "Review.Published": lambda e: "report published",
    "Review.PublicationDeferred": lambda e: "publication deferred (reason recorded)",
    "Review.DateCorrected": lambda e: (
        f"{e.field} corrected from {e.previous} to {e.corrected} "
        f"(corrects version {e.corrects_version})"),
    "Review.Closed": lambda e: "review closed",
    "ReviewReference.Indexed": lambda e: f"reference {e.reference} claimed",
    "Action.Assigned": lambda e: (
        f"action assigned to agency {uid(e.agency_id)}, due {iso(e.due_on)}"),
    "Action.ProgressReported": lambda e: f"progress reported ({e.rag})",
    "Action.CompletionClaimed": lambda e: "completion claimed",
    "Action.CompletionAssured": lambda e: "completion assured",
    "Action.CompletionRejected": lambda e: "completion rejected; action reopened",
    "Action.DueDateRevised": lambda e: (
        f"due date revised from {e.previous_due_on} to {e.due_on}"),
    "Action.EscalatedToBoard": lambda e: "escalated to the Board",
    "Action.Escalated": lambda e: f"escalated to {e.level.replace('_', ' ')}",
    "Action.HeldToAccount": lambda e: f"agency held to account at {e.meeting}",
    "Action.EntryCorrected": lambda e: (
        f"{e.entry} (version {e.corrects_version}) {e.field} corrected, approved by "
        f"{e.approved_by}"),
    "Action.EntryRetracted": lambda e: (
        f"evidence reference of {e.entry} (version {e.corrects_version}) retracted, approved "
        f"by {e.approved_by}"),
    "Review.EntryCorrected": lambda e: (
        f"{e.entry.replace('_', ' ')} (version {e.corrects_version}) {e.field} corrected, "
        f"approved by {e.approved_by}"),
    "Review.EntryRetracted": lambda e: (
        f"{e.entry} (version {e.corrects_version}) retracted, approved by {e.approved_by}"),
    "Action.ImpactEvaluated": lambda e: f"impact evaluated: {e.impact}",
    "Action.OwnerTransferred": lambda e: (
        f"action passed from agency {uid(e.from_agency_id)} to {uid(e.to_agency_id)} "
        f"({e.reason})"),
    "Challenge.Readdressed": lambda e: (
        f"challenge readdressed from agency {uid(e.from_agency_id)} to "
        f"{uid(e.to_agency_id)} ({e.reason})"),
    "Action.Withdrawn": lambda e: "action withdrawn",
    "Challenge.Raised": lambda e: (
        f"challenge raised on {e.subject_type} {e.subject_id}, "
        f"addressed to agency {e.addressed_to}"),
    "Challenge.Responded": lambda e: "challenge answered",
    "Challenge.Escalated": lambda e: f"challenge escalated to stage {e.to_stage}",
    "Challenge.Resolved": lambda e: f"challenge resolved: {e.outcome}",
    "ProjectionSkip.Skipped": lambda e: (
        f"view {e.view} deliberately skipped the event at position {e.position}"),
}

# The agency an entity's first event names.
_AGENCY_OF: dict[str, Callable[[Any], Any]] = {
    "Action.Assigned": lambda e: e.agency_id,
    "Challenge.Raised": lambda e: e.addressed_to,
    "User.Registered": lambda e: e.agency_id,
}


class _Kind(NamedTuple):
    """What the trail needs to know about one event topic, worked out once (a tuple: the
    handler unpacks it for every event)."""

    entity_type: str  # e.g. action
    event_type: str  # e.g. Action.Assigned
    summarise: Callable[[Any], str]
    # The agency it concerns: _OWN (an agency's own event), a function of the event that
    # names it, or None (the agency its entity's first event named).
    agency_of: Any


_OWN = object()


def _kind_of(topic: str) -> _Kind:
    qualname = topic.partition(":")[2]
    cls, _, event = qualname.rpartition(".")
    cls = cls.rpartition(".")[2] or qualname
    event_type = f"{cls}.{event}"
    words = _words(event)
    summarise = _SUMMARIES.get(event_type, lambda _: words)
    agency_of = _OWN if cls == "Agency" else _AGENCY_OF.get(event_type)
    return _Kind(_snake(cls), event_type, summarise, agency_of)


_AUDIT, _ENTITIES = AUDIT.name, ENTITIES.name
_NOBODY = (None, None, None, None)


class AuditTrail(ViewProjection):
    name = "audit"
    # 2: recorded_at in microseconds since 1970 (was ISO text); 3: the actors' agency index
    # holds only the events concerning another agency (or none)
    version = 3
    tables = (AUDIT, ENTITIES)
    all_events = True

    def __init__(self, view: Any = None) -> None:
        super().__init__(view)
        self._kinds: dict[str, _Kind] = {}

    def prefetch(self, changes: Changes, events: list[Any]) -> None:
        changes.prefetch(_ENTITIES, [uid(e.originator_id) for e in events])

    def apply(self, ch: Changes, items: Iterable[tuple[int, str, Any]]) -> None:
        # Every event comes here, one row each (the trail's share of a rebuild is mostly
        # this loop): plain locals and tuples, no helper call that is not needed.
        kinds = self._kinds
        append = ch.appender(_AUDIT)
        get, put = ch.get, ch.put
        for position, topic, e in items:
            if isinstance(e, BaseException):
                raise e  # the stored event could not even be decoded
            kind = kinds.get(topic)
            if kind is None:
                kind = kinds[topic] = _kind_of(topic)
            entity_type, event_type, summarise, agency_of = kind
            state = e.__dict__
            entity_id = uid(state["originator_id"])
            agency: str | None
            if agency_of is None:
                known = get(_ENTITIES, entity_id)
                agency = known["agency_id"] if known else None
            elif agency_of is _OWN:
                agency = entity_id
            else:
                agency = uid(agency_of(e))
                if agency is not None:
                    put(_ENTITIES, {"entity_id": entity_id, "agency_id": agency})
            actor = state.get("actor")
            append((
                position, micros(state["timestamp"]),
                iso(state.get("occurred_on")),
                # str() of a StrEnum is its value, without the enum's property lookup
                *((actor.user_id, actor.name, str(actor.role), uid(actor.agency_id))
                  if actor is not None else _NOBODY),
                entity_type, entity_id, state["originator_version"], event_type, agency,
                summarise(e)[:300],
            ))


# ---- queries --------------------------------------------------------------------------------

def audit_page(
    tx: Tx, *, entity_id: str | None = None, actor: str | None = None,
    agency_id: str | None = None, event_type: str | None = None,
    since: datetime | None = None, until: datetime | None = None,
    after: int | None = None, up_to: int | None = None, limit: int = 100,
    descending: bool = False,
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the trail in log order (or newest first), and the cursor (a position) of the
    next page. `agency_id` matches events concerning the agency or done by its staff;
    `up_to` bounds the positions (the trail as it stood then)."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("entity_id", entity_id), ("actor_user_id", actor),
                          ("event_type", event_type)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if since is not None:
        where.append("recorded_at >= ?")
        params.append(micros(since))
    if until is not None:
        where.append("recorded_at <= ?")
        params.append(micros(until))
    if up_to is not None:
        where.append("position <= ?")
        params.append(up_to)
    if after is not None:
        where.append("position < ?" if descending else "position > ?")
        params.append(after)
    order = f"ORDER BY position {'DESC' if descending else 'ASC'} {page_limit(limit + 1)}"

    def select(extra: list[str]) -> str:
        conditions = where + extra
        return ("SELECT * FROM {view_audit}"
                + (" WHERE " + " AND ".join(conditions) if conditions else "") + f" {order}")

    if agency_id is None:
        rows = tx.query(select([]), params)
    else:
        # Events concerning the agency, or done by its staff: two index-ordered pages merged
        # (an OR would read every event of the agency to sort them); the second takes only
        # what the first does not (the condition of its partial index).
        by_staff = select(["actor_agency_id = ?", f"({_BY_STAFF_ELSEWHERE})"])
        sql = (f"SELECT * FROM ({select(['agency_id = ?'])}) a UNION "
               f"SELECT * FROM ({by_staff}) b {order}")
        rows = tx.query(sql, [*params, agency_id, *params, agency_id])
    more = len(rows) > limit
    rows = rows[:limit]
    page = [dict(r) for r in rows]
    for row in page:
        row["recorded_at"] = moment_of(row["recorded_at"])
    return page, (rows[-1]["position"] if more and rows else None)
