"""Review under random command sequences: a small model of docs/events.md predicts every
outcome; accepted commands move the stage as specified, refused ones raise DomainError and
leave the version and the state unchanged."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import partial
from typing import Any
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.review import KEY_DATES, Review
from tests.principals import MANAGER
from tests.unit.modelled import check_command

AWARE = date(2024, 1, 8)
COMMANDS = [
    "notify_panel", "complete_rapid_review", "record_local_decision", "record_panel_decision",
    "commission_reviewer", "record_finding", "record_recommendation", "submit_report",
    "record_scrutiny", "sign_off", "send_to_panel", "publish", "defer_publication",
    "correct_date", "close_review",
]
CORRECTABLE = ["aware_on", "notified_on", "rapid_review_on", "decided_on", "sent_on",
               "published_on"]
# command: (stage it needs, stage it leads to, key date it records)
STAGE_STEPS = {
    "notify_panel": ("incident_recorded", "panel_notified", "notified_on"),
    "complete_rapid_review": ("panel_notified", "rapid_review_completed", "rapid_review_on"),
    "record_local_decision": ("rapid_review_completed", "decided", "decided_on"),
    "commission_reviewer": ("decided", "reviewer_commissioned", "commissioned_on"),
    "submit_report": ("reviewer_commissioned", "report_submitted", "submitted_on"),
    "record_scrutiny": ("report_submitted", "scrutinised", "scrutinised_on"),
    "sign_off": ("scrutinised", "signed_off", "signed_off_on"),
    "send_to_panel": ("signed_off", "sent_to_panel", "sent_on"),
    "publish": ("sent_to_panel", "published", "published_on"),
}
NO_TEXT = {"notify_panel", "send_to_panel"}


@dataclass(frozen=True)
class Step:
    command: str
    ok: bool  # False: a blank text (or an unknown scrutiny outcome)
    conduct: bool
    field: str
    shift: int  # days a correction moves its date
    steer: bool  # replace the command with the pick-th of those that fit the stage
    pick: int


steps = st.builds(
    Step, command=st.sampled_from(COMMANDS), ok=st.integers(0, 9).map(lambda n: n > 0),
    conduct=st.booleans(), field=st.sampled_from(CORRECTABLE), shift=st.integers(-3, 3),
    steer=st.sampled_from([True, True, True, True, False]), pick=st.integers(0, 20),
)


@dataclass
class Model:
    stage: str = "incident_recorded"
    conduct: bool | None = None
    panel: bool = False
    findings: int = 0
    recommendations: int = 0
    dates: dict[str, date] = field(default_factory=lambda: {"aware_on": AWARE})

    def after(self, key: str) -> date:
        return self.dates.get(key, AWARE)

    def correction_ok(self, s: Step) -> bool:
        if s.field not in self.dates or s.shift == 0:
            return False
        corrected = self.dates[s.field] + timedelta(days=s.shift)
        index = KEY_DATES.index(s.field)
        earlier = [self.dates[k] for k in KEY_DATES[:index] if k in self.dates]
        later = [self.dates[k] for k in KEY_DATES[index + 1:] if k in self.dates]
        return all(d <= corrected for d in earlier) and all(corrected <= d for d in later)

    def candidates(self) -> list[str]:
        """Commands the review should accept now with valid arguments and a later date (what
        allowed_next must list); also steers random runs deeper into the process."""
        later = max(self.dates.values()) + timedelta(days=1)
        fitting = [c for c in COMMANDS
                   if self.accepts(Step(c, True, True, "aware_on", -1, False, 0), later)]
        # Steps that move the stage first: small picks (hypothesis favours them) go deep.
        return sorted(fitting, key=lambda c: c not in STAGE_STEPS and c != "close_review")

    def accepts(self, s: Step, day: date) -> bool:
        if not s.ok and s.command not in NO_TEXT:
            return False
        c = s.command
        if c in STAGE_STEPS:
            needs, _, _ = STAGE_STEPS[c]
            extra = {"commission_reviewer": self.conduct is True,
                     "submit_report": self.recommendations > 0}.get(c, True)
            return self.stage == needs and extra and day >= max(self.dates.values())
        if c == "close_review":
            closable = self.stage == "published" or (
                self.stage == "decided" and self.conduct is False)
            return closable and day >= max(self.dates.values())
        if c == "record_panel_decision":
            return (self.stage != "incident_recorded" and not self.panel
                    and day >= self.after("notified_on"))
        if c in ("record_finding", "record_recommendation"):
            has = c == "record_finding" or self.findings > 0
            return (self.stage == "reviewer_commissioned" and has
                    and day >= self.after("commissioned_on"))
        if c == "defer_publication":
            return (self.stage in ("signed_off", "sent_to_panel")
                    and day >= self.after("signed_off_on"))
        return self.correction_ok(s)  # correct_date

    def apply(self, s: Step, day: date) -> None:
        c = s.command
        if c in STAGE_STEPS:
            _, self.stage, key = STAGE_STEPS[c]
            self.dates[key] = day
            if c == "record_local_decision":
                self.conduct = s.conduct
        elif c == "close_review":
            self.stage = "closed"
            self.dates["closed_on"] = day
        elif c == "record_panel_decision":
            self.panel = True
        elif c == "record_finding":
            self.findings += 1
        elif c == "record_recommendation":
            self.recommendations += 1
        elif c == "correct_date":
            self.dates[s.field] += timedelta(days=s.shift)


def run(review: Review, s: Step, day: date) -> None:
    text = "Recorded with reasons" if s.ok else " "
    kw: dict[str, Any] = {"actor": MANAGER, "occurred_on": day}
    c = s.command
    if c in NO_TEXT:
        getattr(review, c)(**kw)
    elif c == "record_local_decision":
        review.record_local_decision(**kw, conduct_review=s.conduct,
                                     criteria=["recurrent_themes"] if s.conduct else [],
                                     rationale=text)
    elif c == "record_panel_decision":
        review.record_panel_decision(**kw, national_review=s.conduct,
                                     criteria=["recurrent_themes"] if s.conduct else [],
                                     rationale=text)
    elif c == "record_finding":
        review.record_finding(**kw, text=text, themes=["theme"])
    elif c == "record_recommendation":
        ids = [review.findings[0].id] if review.findings else [uuid4()]
        review.record_recommendation(**kw, text=text, finding_ids=ids)
    elif c == "record_scrutiny":
        review.record_scrutiny(**kw, outcome="no_challenge" if s.ok else "fine",
                               challenge_id=None)
    elif c == "correct_date":
        current = review.key_dates().get(s.field) or AWARE
        review.correct_date(**kw, field=s.field, corrected=current + timedelta(days=s.shift),
                            reason=text)
    else:
        arg = {"complete_rapid_review": "summary", "commission_reviewer": "reviewer",
               "submit_report": "summary", "sign_off": "meeting", "publish": "location",
               "defer_publication": "reason", "close_review": "reason"}[c]
        getattr(review, c)(**kw, **{arg: text})


def state(review: Review) -> dict[str, Any]:
    # One level of copying is enough: the aggregate's values are immutable or flat lists/dicts.
    return {k: copy.copy(v) for k, v in vars(review).items() if k != "_pending_events"}


@settings(max_examples=150, deadline=None)
@given(st.lists(steps, min_size=10, max_size=50))
def test_random_commands_follow_the_stage_machine(sequence: list[Step]) -> None:
    review = Review.record(
        actor=MANAGER, occurred_on=AWARE, reference="SSSCB-2024-01", partnership="SSSCB",
        local_authority_area="Stoke-on-Trent", age_band="5_to_9", harm="death",
        category="neglect", legal_status="none", agencies_involved=[],
    )
    model = Model()
    for number, s in enumerate(sequence, start=1):
        if s.steer:  # mostly a command that fits, to get deep into the process
            fitting = model.candidates()
            s = replace(s, command=fitting[s.pick % len(fitting)])
        day = AWARE + timedelta(days=number)
        accepted = model.accepts(s, day)
        check_command(review, accepted, partial(run, review, s, day),
                      f"{s} at stage {review.stage}", state)
        if accepted:
            model.apply(s, day)
        assert review.stage == model.stage
        assert sorted(review.allowed_next()) == sorted(model.candidates())
        assert {k: v for k, v in review.key_dates().items() if v} == model.dates
