"""Generates a large, realistic ledger quickly, for the projections benchmark.

Every event is made by the domain's own aggregates and commands (Review, Action, Challenge,
Agency: the same validation and the same event classes as the application), but the
aggregates are saved many at a time, with `ledger.save(*aggregates)`: one transaction per few
thousand events instead of one per command. That skips only the use cases' lookups (the
generator knows its records are consistent); the stored events are the ones the Ledger would
have stored.

Shape: 20 agencies; reviews of 20 actions each, started between 2019 and 2026 and taken as far
through the process as their age allows; 3 findings over 12 themes and 3 recommendations a
review; each action with a realistic life (progress reports, a claim, assurance or
rejection, some due dates revised, some escalated and held to account, a few withdrawn); a
challenge per review and one per ten actions.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from domain import clock
from domain.action import Action
from domain.actors import Actor, Role
from domain.agency import Agency
from domain.challenge import Challenge
from domain.errors import DomainError
from domain.ledger import Ledger
from domain.review import Review, ReviewReference

ACTIONS_PER_REVIEW = 20
AGENCIES = 20
THEMES = ["information-sharing", "voice-of-the-child", "neglect-recognition", "safe-sleep",
          "professional-curiosity", "domestic-abuse", "mental-health-transition",
          "exploitation-pathway", "think-family", "escalation-culture", "supervision",
          "record-keeping"]
FIRST_DAY = date(2019, 1, 7)
MANAGER = Actor("u-manager", Role.SCB_MANAGER, name="SCB Manager")
BOARD = Actor("u-board", Role.BOARD_MEMBER, name="Board Member")
SCRUTINEER = Actor("u-scrutineer", Role.SCRUTINEER, name="Scrutineer")


class Generator:
    def __init__(self, ledger: Ledger, seed: int = 7) -> None:
        self.ledger = ledger
        self.random = random.Random(seed)
        self.today = clock.today() - timedelta(days=1)
        self.agencies: list[UUID] = []
        self.reviews = 0
        self.actions = 0

    def lead(self, agency: UUID) -> Actor:
        return Actor(f"lead-{agency.hex[:8]}", Role.AGENCY_LEAD, agency, "Agency Lead")

    def setup(self) -> None:
        agencies = [Agency.register(actor=MANAGER, occurred_on=FIRST_DAY, name=f"Agency {i}",
                                    kind="health", statutory_partner=i < 4,
                                    partnerships=["SSSCB"]) for i in range(AGENCIES)]
        self.ledger.save(*agencies)
        self.agencies = [a.id for a in agencies]

    def add_actions(self, actions: int, *, chunk_reviews: int = 40) -> None:
        """Add about `actions` more actions (whole reviews of 20), saved in big batches."""
        pending: list[Any] = []
        for _ in range(max(1, actions // ACTIONS_PER_REVIEW)):
            pending += self.review()
            if self.reviews % chunk_reviews == 0:
                self.ledger.save(*pending)
                pending = []
        if pending:
            self.ledger.save(*pending)

    # ---- one review and everything that follows ----------------------------------------
    def review(self) -> list[Any]:
        r = self.random
        self.reviews += 1
        span = (self.today - FIRST_DAY).days - 60
        aware = FIRST_DAY + timedelta(days=r.randrange(span))
        involved = r.sample(self.agencies, 3)
        review = Review.record(
            actor=MANAGER, occurred_on=aware, reference=f"SSSCB-{self.reviews:06d}",
            partnership="SSSCB", local_authority_area="Stoke-on-Trent",
            age_band=r.choice(["under_1", "1_to_4", "5_to_9", "10_to_15", "16_to_17"]),
            harm=r.choice(["death", "serious_harm"]), category="neglect",
            legal_status="child_in_need", agencies_involved=involved)
        out: list[Any] = [review, ReviewReference(actor=MANAGER, occurred_on=aware,
                                                  reference=review.reference,
                                                  review_id=review.id)]
        day = aware
        steps = iter(self._days(day))
        review.notify_panel(actor=MANAGER, occurred_on=next(steps))
        review.complete_rapid_review(actor=MANAGER, occurred_on=next(steps), summary="facts")
        review.record_local_decision(actor=MANAGER, occurred_on=next(steps),
                                     conduct_review=True, criteria=["recurrent_themes"],
                                     rationale="multi-agency learning")
        day = next(steps)
        review.commission_reviewer(actor=MANAGER, occurred_on=day, reviewer="Reviewer")
        findings = [review.record_finding(actor=MANAGER, occurred_on=day, text=f"Finding {i}",
                                          themes=r.sample(THEMES, 2)) for i in range(3)]
        recs = [review.record_recommendation(actor=MANAGER, occurred_on=day,
                                             text=f"Recommendation {i}", finding_ids=[f])
                for i, f in enumerate(findings)]
        for step in ("submit", "scrutinise", "sign_off", "send", "publish", "close"):
            when = next(steps)
            if when >= self.today:
                break
            self._advance(review, step, when)
        for i in range(ACTIONS_PER_REVIEW):
            out += self.action(review.id, recs[i % 3], r.choice(involved), day)
        out += self.challenge(review.id, r.choice(involved), day, "review_decision")
        return out

    def _days(self, start: date) -> Iterator[date]:
        day = start
        while True:
            day += timedelta(days=self.random.randrange(2, 40))
            yield min(day, self.today)

    def _advance(self, review: Review, step: str, on: date) -> None:
        match step:
            case "submit":
                review.submit_report(actor=MANAGER, occurred_on=on, summary="report")
            case "scrutinise":
                review.record_scrutiny(actor=MANAGER, occurred_on=on, outcome="no_challenge",
                                       challenge_id=None)
            case "sign_off":
                review.sign_off(actor=BOARD, occurred_on=on, meeting="Board")
            case "send":
                review.send_to_panel(actor=MANAGER, occurred_on=on)
            case "publish":
                review.publish(actor=MANAGER, occurred_on=on, location="https://example.org")
            case "close":
                review.close_review(actor=MANAGER, occurred_on=on, reason="complete")

    def action(self, review_id: UUID, rec_id: UUID, agency: UUID, start: date) -> list[Any]:
        r = self.random
        self.actions += 1
        due = start + timedelta(days=r.randrange(60, 400))
        action = Action.assign(actor=MANAGER, occurred_on=start, review_id=review_id,
                               recommendation_id=rec_id, agency_id=agency,
                               description="Deliver the improvement",
                               measure_of_success="Audit shows the change", due_on=due)
        lead = self.lead(agency)
        out: list[Any] = [action]
        day = start
        try:
            for _ in range(r.randrange(0, 4)):
                day += timedelta(days=r.randrange(10, 120))
                if day >= self.today:
                    return out
                action.report_progress(actor=lead, occurred_on=day, narrative="progress",
                                       rag=r.choice(["red", "amber", "green"]))
            roll = r.random()
            day += timedelta(days=r.randrange(5, 90))
            if day >= self.today:
                return out
            if roll < 0.03:
                action.withdraw(actor=MANAGER, occurred_on=day, reason="superseded")
                return out
            if roll < 0.13:
                action.revise_due_date(actor=MANAGER, occurred_on=day,
                                       due_on=action.due_on + timedelta(days=90),
                                       reason="capacity", approved_by="Chair")
            if roll > 0.88:
                action.escalate_to_board(actor=MANAGER, occurred_on=day, reason="stalled")
                if r.random() < 0.5:
                    action.hold_to_account(actor=BOARD, occurred_on=day, outcome="plan",
                                           meeting="Board")
            if roll < 0.65:
                action.claim_completion(actor=lead, occurred_on=day, narrative="done")
                day += timedelta(days=r.randrange(5, 60))
                if day >= self.today:
                    return out
                if r.random() < 0.85:
                    action.assure_completion(actor=MANAGER, occurred_on=day, comments="ok")
                    if r.random() < 0.3:
                        action.evaluate_impact(actor=MANAGER, occurred_on=day,
                                               impact="demonstrable", narrative="n")
                else:
                    action.reject_completion(actor=MANAGER, occurred_on=day, reason="thin")
        except DomainError:
            pass  # a date the domain refuses ends this action's story early
        if self.actions % 10 == 0:
            out += self.challenge(action.id, agency, start, "action_update")
        return out

    def challenge(self, subject: UUID, agency: UUID, start: date, kind: str) -> list[Any]:
        r = self.random
        day = min(start + timedelta(days=r.randrange(1, 60)), self.today)
        challenge = Challenge.raise_challenge(actor=SCRUTINEER, occurred_on=day,
                                              subject_type=kind, subject_id=subject,
                                              subject_version=None, grounds="why?",
                                              addressed_to=agency)
        try:
            for stage in range(2, 2 + r.randrange(0, 3)):
                day += timedelta(days=r.randrange(3, 30))
                if day >= self.today:
                    return [challenge]
                challenge.respond(actor=self.lead(agency), occurred_on=day, response="answer")
                challenge.escalate(actor=SCRUTINEER, occurred_on=day, to_stage=stage,
                                   reason="not resolved")
            day += timedelta(days=r.randrange(3, 60))
            if day < self.today and r.random() < 0.7:
                challenge.resolve(actor=MANAGER, occurred_on=day, outcome="upheld",
                                  reason="agreed")
        except DomainError:
            pass
        return [challenge]
