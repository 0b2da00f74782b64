"""One way to set up the records a test acts on, through the Ledger's use cases: agencies, a
review walked to a stage, a finding with a recommendation resting on it, an action assigned on
it, a challenge. Every step is the SCB manager's (sign-off a Board member's) and is dated
`on` (default today).

Tests whose subject is the walk itself keep their own steps: the acceptance walk over HTTP
(tests/api/test_api_review_walk.py) and the review use cases' walk meeting every deadline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from domain import clock
from domain.application import Context, Outcome
from domain.ledger import Ledger
from projections.board import Board
from projections.readside import ReadSide
from projections.rebuild import rebuild
from tests.principals import AS_BOARD, AS_MANAGER, AS_SCRUTINEER

STAGES = ("incident_recorded", "panel_notified", "rapid_review_completed", "decided",
          "reviewer_commissioned", "report_submitted", "scrutinised", "signed_off",
          "sent_to_panel", "published", "closed")

# stage reached: the step that reaches it (ledger, review, business date)
STEPS: dict[str, Callable[[Ledger, UUID, date | None], Any]] = {
    "panel_notified": lambda led, r, on: led.notify_panel(AS_MANAGER, r, occurred_on=on),
    "rapid_review_completed": lambda led, r, on: led.complete_rapid_review(
        AS_MANAGER, r, summary="Facts gathered with partners", occurred_on=on),
    "decided": lambda led, r, on: led.record_local_decision(
        AS_MANAGER, r, conduct_review=True, criteria=["multi_agency_concerns"],
        rationale="Concerns about information sharing", occurred_on=on),
    "reviewer_commissioned": lambda led, r, on: led.commission_reviewer(
        AS_MANAGER, r, reviewer="Independent Reviewer Ltd", occurred_on=on),
    "report_submitted": lambda led, r, on: led.submit_report(
        AS_MANAGER, r, summary="Overarching report", occurred_on=on),
    "scrutinised": lambda led, r, on: led.record_scrutiny(
        AS_MANAGER, r, outcome="no_challenge", occurred_on=on),
    "signed_off": lambda led, r, on: led.sign_off(
        AS_BOARD, r, meeting="Full Board", occurred_on=on),
    "sent_to_panel": lambda led, r, on: led.send_to_panel(AS_MANAGER, r, occurred_on=on),
    "published": lambda led, r, on: led.publish(
        AS_MANAGER, r, location="https://example.org/reviews/1", occurred_on=on),
    "closed": lambda led, r, on: led.close_review(
        AS_MANAGER, r, reason="Published; actions tracked", occurred_on=on),
}


@dataclass(frozen=True)
class Recommended:
    """A review with one finding and one recommendation resting on it."""

    review_id: UUID
    finding_id: UUID
    recommendation_id: UUID


@dataclass
class Scenario:
    ledger: Ledger
    on: date | None = None  # the business date of every step (None: today)

    def agency(self, name: str, kind: str = "health", *, statutory_partner: bool = False,
               partnerships: tuple[str, ...] = ("SSSCB",)) -> UUID:
        return self.ledger.register_agency(
            AS_MANAGER, name=name, kind=kind, statutory_partner=statutory_partner,
            partnerships=list(partnerships), occurred_on=self.on).id

    def incident(self, agencies: list[UUID], reference: str = "SSSCB-2025-03",
                 **details: Any) -> UUID:
        """A serious incident involving `agencies`; `details` replace the defaults."""
        fields = {"partnership": "SSSCB", "local_authority_area": "Stoke-on-Trent",
                  "age_band": "under_1", "harm": "serious_harm",
                  "category": "non_accidental_injury", "legal_status": "child_in_need",
                  **details}
        return self.ledger.record_incident(AS_MANAGER, reference=reference,
                                           agencies_involved=agencies, occurred_on=self.on,
                                           **fields).id

    def walk(self, review_id: UUID, to: str) -> None:
        """Take the review from its stage to `to`, step by step (a local review is decided
        on)."""
        stage = str(self.ledger.get_review(review_id).stage)
        for reached in STAGES[STAGES.index(stage) + 1:STAGES.index(to) + 1]:
            STEPS[reached](self.ledger, review_id, self.on)

    def recommend(self, review_id: UUID) -> Recommended:
        """A finding, and a recommendation resting on it (from reviewer_commissioned on)."""
        finding = self.ledger.record_finding(
            AS_MANAGER, review_id, text="Bruising was not escalated",
            themes=["bruising-in-non-mobile-babies"], occurred_on=self.on).item_id
        recommendation = self.ledger.record_recommendation(
            AS_MANAGER, review_id, text="Refresh the bruising protocol training",
            finding_ids=[finding], occurred_on=self.on).item_id
        return Recommended(review_id, finding, recommendation)

    def review(self, agencies: list[UUID], *, to: str = "reviewer_commissioned",
               reference: str = "SSSCB-2025-03", **details: Any) -> Recommended:
        """An incident walked to reviewer_commissioned, a finding and a recommendation, then
        on to `to` (reviewer_commissioned or later)."""
        review_id = self.incident(agencies, reference, **details)
        self.walk(review_id, "reviewer_commissioned")
        recommended = self.recommend(review_id)
        self.walk(review_id, to)
        return recommended

    def assign(self, recommended: Recommended, agency_id: UUID, *,
               due_on: date | None = None, **fields: Any) -> Outcome:
        """An action for `agency_id` on the recommendation, due 90 days after assignment."""
        due_on = due_on or (self.on or clock.today()) + timedelta(days=90)
        details = {"description": "Deliver bruising protocol training",
                   "measure_of_success": "90% of staff trained", **fields}
        return self.ledger.assign_action(
            AS_MANAGER, review_id=recommended.review_id,
            recommendation_id=recommended.recommendation_id, agency_id=agency_id,
            due_on=due_on, occurred_on=self.on, **details)

    def challenge(self, subject_id: UUID, addressed_to: UUID, *,
                  subject_type: str = "action_update", by: Context = AS_SCRUTINEER) -> UUID:
        return self.ledger.raise_challenge(
            by, subject_type=subject_type, subject_id=subject_id, grounds="g",
            addressed_to=addressed_to, occurred_on=self.on).id


@contextmanager
def demo_board(views_dir: Path, today: date) -> Iterator[tuple[Ledger, Board]]:
    """The demo ledger as of `today`, in memory, with its views rebuilt, and the Board over
    them (closed in reverse on exit)."""
    from api.demo import load_demo
    from api.settings import Settings

    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    load_demo(ledger, today=today)
    settings = Settings(data_dir=views_dir)
    side = ReadSide(settings, ledger)
    rebuild(settings, ledger, read_side=side)
    board = Board(side)
    try:
        yield ledger, board
    finally:
        board.close()
        side.close()
        ledger.close()
