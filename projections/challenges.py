"""Challenge register: open and closed professional challenges, their stage, the agency each
is addressed to, age in working days, and how long the current stage has waited.

A stage waits from the day it began until the first response at that stage (or, without one,
until resolution or today); ages are counted in England and Wales working days at query time
with the domain's calendar (projections.workdays: the same count, in constant time).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from projections.base import Changes, Table, ViewProjection, iso, on, uid
from projections.db import Tx, page_limit
from projections.reviews import in_list
from projections.workdays import working_days_between

CHALLENGES = Table(
    "view_challenges",
    (("challenge_id", "TEXT"), ("subject_type", "TEXT NOT NULL"),
     ("subject_id", "TEXT NOT NULL"), ("subject_version", "INTEGER"),
     ("addressed_to", "TEXT NOT NULL"), ("raised_by", "TEXT NOT NULL"),
     ("raised_by_name", "TEXT NOT NULL"), ("raised_by_role", "TEXT NOT NULL"),
     ("raised_on", "TEXT NOT NULL"), ("stage", "INTEGER NOT NULL"),
     ("stage_entered_on", "TEXT NOT NULL"), ("stage_responded_on", "TEXT"),
     ("responses", "INTEGER NOT NULL"), ("escalations", "INTEGER NOT NULL"),
     ("status", "TEXT NOT NULL"), ("outcome", "TEXT"), ("resolved_on", "TEXT"),
     ("partnership", "TEXT NOT NULL")),
    key=("challenge_id",),
    indexes=("status, raised_on, challenge_id",
             "addressed_to, status, raised_on, challenge_id",
             "partnership, status, raised_on, challenge_id"),
)

# Per agency and partnership: challenges addressed to it, and how many are open (for
# accountability; the list of all partnerships sums an agency's rows).
AGENCY_CHALLENGES = Table(
    "view_agency_challenges",
    (("agency_id", "TEXT"), ("partnership", "TEXT"), ("open", "BIGINT NOT NULL"),
     ("total", "BIGINT NOT NULL")),
    key=("agency_id", "partnership"), counters=("open", "total"),
)

# The partnership of what a challenge may be about: a review (its partnership) and an action
# (its review's). A challenge belongs to its subject's partnership; the events of a challenge
# do not name it, and a subject's partnership never changes.
SUBJECT_PARTNERSHIPS = Table(
    "view_challenge_subject_partnerships",
    (("subject_id", "TEXT"), ("partnership", "TEXT NOT NULL")),
    key=("subject_id",),
)

CHALLENGE = "domain.challenge:Challenge."
REVIEW = "domain.review:Review."
ACTION = "domain.action:Action."
STAGE_NAMES = {1: "practitioner", 2: "manager", 3: "senior manager", 4: "Board"}


class ChallengeRegister(ViewProjection):
    name = "challenges"
    version = 4  # 4: each challenge's partnership (its subject's); the rollup by partnership
    tables = (CHALLENGES, AGENCY_CHALLENGES, SUBJECT_PARTNERSHIPS)

    def prefetch(self, changes: Changes, events: list[Any]) -> None:
        changes.prefetch(CHALLENGES.name, [uid(e.originator_id) for e in events])
        subjects = []
        for e in events:
            for name in ("subject_id", "review_id"):  # a challenge's, an action's review
                value = getattr(e, name, None)
                if value is not None:
                    subjects.append(uid(value))
        changes.prefetch(SUBJECT_PARTNERSHIPS.name, subjects)

    def _partnership_of(self, ch: Changes, subject_id: str) -> str:
        row = ch.get(SUBJECT_PARTNERSHIPS.name, subject_id)
        return row["partnership"] if row else ""

    @on(REVIEW + "IncidentRecorded")
    def review_recorded(self, ch: Changes, e: Any) -> None:
        ch.put(SUBJECT_PARTNERSHIPS.name, {"subject_id": uid(e.originator_id),
                                           "partnership": e.partnership})

    @on(ACTION + "Assigned")
    def action_assigned(self, ch: Changes, e: Any) -> None:
        ch.put(SUBJECT_PARTNERSHIPS.name, {
            "subject_id": uid(e.originator_id),
            "partnership": self._partnership_of(ch, uid(e.review_id))})

    @on(CHALLENGE + "Raised")
    def raised(self, ch: Changes, e: Any) -> None:
        partnership = self._partnership_of(ch, uid(e.subject_id))
        ch.put(CHALLENGES.name, {
            "challenge_id": uid(e.originator_id), "subject_type": e.subject_type,
            "subject_id": uid(e.subject_id), "subject_version": e.subject_version,
            "addressed_to": uid(e.addressed_to), "raised_by": e.actor.user_id,
            "raised_by_name": e.actor.name, "raised_by_role": str(e.actor.role),
            "raised_on": iso(e.occurred_on), "stage": 1, "stage_entered_on": iso(e.occurred_on),
            "stage_responded_on": None, "responses": 0, "escalations": 0, "status": "open",
            "outcome": None, "resolved_on": None, "partnership": partnership,
        })
        ch.add(AGENCY_CHALLENGES.name, (uid(e.addressed_to), partnership), open=1, total=1)

    @on(CHALLENGE + "Responded")
    def responded(self, ch: Changes, e: Any) -> None:
        row = ch.get(CHALLENGES.name, uid(e.originator_id))
        if row is not None:
            ch.update(CHALLENGES.name, row["challenge_id"], responses=row["responses"] + 1,
                      stage_responded_on=row["stage_responded_on"] or iso(e.occurred_on))

    @on(CHALLENGE + "Escalated")
    def escalated(self, ch: Changes, e: Any) -> None:
        row = ch.get(CHALLENGES.name, uid(e.originator_id))
        if row is not None:
            ch.update(CHALLENGES.name, row["challenge_id"], stage=int(e.to_stage),
                      stage_entered_on=iso(e.occurred_on), stage_responded_on=None,
                      escalations=row["escalations"] + 1)

    @on(CHALLENGE + "Readdressed")
    def readdressed(self, ch: Changes, e: Any) -> None:
        """A merger: the open challenge is counted under the successor from now on."""
        row = ch.get(CHALLENGES.name, uid(e.originator_id))
        if row is None:
            return
        partnership = row["partnership"]
        ch.add(AGENCY_CHALLENGES.name, (row["addressed_to"], partnership), open=-1, total=-1)
        ch.update(CHALLENGES.name, row["challenge_id"], addressed_to=uid(e.to_agency_id))
        ch.add(AGENCY_CHALLENGES.name, (uid(e.to_agency_id), partnership), open=1, total=1)

    @on(CHALLENGE + "Resolved")
    def resolved(self, ch: Changes, e: Any) -> None:
        row = ch.get(CHALLENGES.name, uid(e.originator_id))
        if row is None or row["status"] != "open":
            return
        ch.update(CHALLENGES.name, row["challenge_id"], status="resolved", outcome=e.outcome,
                  resolved_on=iso(e.occurred_on))
        ch.add(AGENCY_CHALLENGES.name, (row["addressed_to"], row["partnership"]), open=-1)


# ---- queries --------------------------------------------------------------------------------

def present(row: dict[str, Any], today: date) -> dict[str, Any]:
    out = dict(row)
    end = date.fromisoformat(row["resolved_on"]) if row["resolved_on"] else today
    out["stage_name"] = STAGE_NAMES.get(row["stage"], str(row["stage"]))
    out["age_working_days"] = working_days_between(date.fromisoformat(row["raised_on"]), end)
    waited_until = (date.fromisoformat(row["stage_responded_on"])
                    if row["stage_responded_on"] else end)
    out["stage_waited_working_days"] = working_days_between(
        date.fromisoformat(row["stage_entered_on"]), waited_until)
    out["awaiting_response"] = row["status"] == "open" and row["stage_responded_on"] is None
    return out


def list_challenges(tx: Tx, *, today: date, status: str | None = None,
                    agency_id: str | None = None, stage: int | None = None,
                    limit: int = 100, after: tuple[str, str, str] | None = None,
                    partnerships: list[str] | None = None,
                    ) -> tuple[list[dict[str, Any]], tuple[str, str, str] | None]:
    """A page of challenges, open ones first ("open" sorts before "resolved"), oldest first,
    and the cursor of the next page."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("status", status), ("addressed_to", agency_id), ("stage", stage)):
        if value is not None:
            where.append(f"c.{column} = ?")
            params.append(value)
    if partnerships is not None:  # on these partnerships' reviews or their actions
        where.append(in_list("c.partnership", partnerships, params))
    if after is not None:
        where.append("(c.status, c.raised_on, c.challenge_id) > (?, ?, ?)")
        params += list(after)
    # The page first, then the agencies' names (as the action list does: a join before the
    # LIMIT lets a misestimate join and sort every matching challenge).
    order = f"ORDER BY c.status, c.raised_on, c.challenge_id {page_limit(limit + 1)}"
    sql = ("SELECT c.*, g.name AS addressed_to_name FROM (SELECT * FROM {view_challenges} c"
           + (" WHERE " + " AND ".join(where) if where else "") + f" {order}) c "
           f"LEFT JOIN {{view_agencies}} g ON g.agency_id = c.addressed_to {order}")
    rows = tx.query(sql, params)
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = ((rows[-1]["status"], rows[-1]["raised_on"], rows[-1]["challenge_id"])
              if more and rows else None)
    return [present(r, today) for r in rows], cursor
