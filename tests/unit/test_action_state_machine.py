"""Action under random command sequences: a small model predicts every outcome; accepted
commands move as specified, refused ones raise DomainError and change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.action import Action
from tests.principals import MANAGER
from tests.unit.modelled import check_command

ASSIGNED = date(2025, 1, 6)
FIRST_DUE = date(2025, 6, 30)
DUE_CHOICES = [FIRST_DUE, date(2025, 9, 30), date(2025, 12, 31), ASSIGNED - timedelta(days=1)]
COMMANDS = ["report_progress", "claim_completion", "assure_completion", "reject_completion",
            "revise_due_date", "escalate_to_board", "hold_to_account", "evaluate_impact",
            "withdraw"]
LIVE = {"open", "completion_claimed"}


@dataclass(frozen=True)
class Step:
    command: str
    text_ok: bool
    day: int  # offset from the assignment date; negative is before it (refused)
    rag: str
    due_on: date
    impact: str


steps = st.builds(
    Step, command=st.sampled_from(COMMANDS), text_ok=st.integers(0, 9).map(lambda n: n > 0),
    day=st.integers(-2, 60), rag=st.sampled_from(["red", "amber", "green", "blue"]),
    due_on=st.sampled_from(DUE_CHOICES),
    impact=st.sampled_from(["none", "limited", "demonstrable", "huge"]),
)


@dataclass
class Model:
    status: str = "open"
    levels: int = 0  # rungs of the escalation ladder climbed (3: the top, the Board's turn)
    escalated_day: int = 0
    impact: bool = False
    due_on: date = FIRST_DUE

    @property
    def escalated(self) -> bool:
        return self.levels > 0

    def accepts(self, s: Step) -> bool:
        allowed = {
            "report_progress": self.status == "open" and s.rag != "blue",
            "claim_completion": self.status == "open",
            "assure_completion": self.status == "completion_claimed",
            "reject_completion": self.status == "completion_claimed",
            "revise_due_date": self.status in LIVE and s.due_on != self.due_on
            and s.due_on >= ASSIGNED,
            "escalate_to_board": self.status in LIVE and self.levels < 3
            and s.day >= self.escalated_day,
            "hold_to_account": self.escalated and self.status != "withdrawn",
            "evaluate_impact": self.status == "assured" and not self.impact
            and s.impact != "huge",
            "withdraw": self.status in LIVE,
        }[s.command]
        return allowed and s.text_ok and s.day >= 0

    def apply(self, s: Step) -> None:
        match s.command:
            case "claim_completion":
                self.status = "completion_claimed"
            case "assure_completion":
                self.status = "assured"
            case "reject_completion":
                self.status = "open"
            case "revise_due_date":
                self.due_on = s.due_on
            case "escalate_to_board":
                self.levels += 1
                self.escalated_day = s.day
            case "hold_to_account":
                self.levels = 0
                self.escalated_day = 0
            case "evaluate_impact":
                self.impact = True
            case "withdraw":
                self.status = "withdrawn"


def run(action: Action, s: Step) -> None:
    text = "Something said" if s.text_ok else "  "
    day = ASSIGNED + timedelta(days=s.day)
    kwargs: dict[str, Any] = {
        "report_progress": {"narrative": text, "rag": s.rag, "evidence": ["ref"]},
        "claim_completion": {"narrative": text, "evidence": ["ref"]},
        "assure_completion": {"comments": text},
        "reject_completion": {"reason": text},
        "revise_due_date": {"due_on": s.due_on, "reason": text, "approved_by": "Sub-committee"},
        "escalate_to_board": {"reason": text},
        "hold_to_account": {"outcome": text, "meeting": "Board 2025-03"},
        "evaluate_impact": {"impact": s.impact, "narrative": text},
        "withdraw": {"reason": text},
    }[s.command]
    getattr(action, s.command)(actor=MANAGER, occurred_on=day, **kwargs)


@settings(max_examples=300, deadline=None)
@given(st.lists(steps, max_size=25))
def test_random_commands_follow_the_status_machine(sequence: list[Step]) -> None:
    action = Action.assign(
        actor=MANAGER, occurred_on=ASSIGNED, review_id=uuid4(), recommendation_id=uuid4(),
        agency_id=uuid4(), description="d", measure_of_success="m", due_on=FIRST_DUE,
    )
    model = Model()
    for s in sequence:
        accepted = model.accepts(s)
        check_command(action, accepted, partial(run, action, s), s)
        if not accepted:
            continue
        model.apply(s)
        assert (action.status, action.escalated, action.impact is not None, action.due_on) == (
            model.status, model.escalated, model.impact, model.due_on)
