"""Challenge under random command sequences: a small model predicts every outcome; accepted
commands move as specified, refused ones raise DomainError and change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.challenge import Challenge
from tests.principals import SCRUTINEER
from tests.unit.modelled import check_command

RAISED = date(2025, 3, 3)


@dataclass(frozen=True)
class Step:
    command: str
    text_ok: bool
    day: int  # offset from the raising date
    to_stage: int
    outcome: str


steps = st.builds(
    Step, command=st.sampled_from(["respond", "escalate", "resolve"]),
    text_ok=st.integers(0, 9).map(lambda n: n > 0), day=st.integers(-1, 40),
    to_stage=st.integers(0, 5),
    outcome=st.sampled_from(["upheld", "not_upheld", "withdrawn", "maybe"]),
)


@dataclass
class Model:
    stage: int = 1
    entered: int = 0  # day offset on which the current stage began
    open: bool = True
    responses: int = 0

    def accepts(self, s: Step) -> bool:
        if not (self.open and s.text_ok and s.day >= self.entered):
            return False
        if s.command == "escalate":
            return self.stage < 4 and s.to_stage == self.stage + 1
        if s.command == "resolve":
            return s.outcome != "maybe"
        return True

    def apply(self, s: Step) -> None:
        if s.command == "escalate":
            self.stage, self.entered = s.to_stage, s.day
        elif s.command == "resolve":
            self.open = False
        else:
            self.responses += 1


def run(challenge: Challenge, s: Step) -> None:
    text = "Something said" if s.text_ok else ""
    day = RAISED + timedelta(days=s.day)
    if s.command == "respond":
        challenge.respond(actor=SCRUTINEER, occurred_on=day, response=text)
    elif s.command == "escalate":
        challenge.escalate(actor=SCRUTINEER, occurred_on=day, to_stage=s.to_stage, reason=text)
    else:
        challenge.resolve(actor=SCRUTINEER, occurred_on=day, outcome=s.outcome, reason=text)


@settings(max_examples=300, deadline=None)
@given(st.lists(steps, max_size=20))
def test_random_commands_follow_the_stages(sequence: list[Step]) -> None:
    challenge = Challenge.raise_challenge(
        actor=SCRUTINEER, occurred_on=RAISED, subject_type="report", subject_id=uuid4(),
        subject_version=None, grounds="g", addressed_to=uuid4(),
    )
    model = Model()
    for s in sequence:
        accepted = model.accepts(s)
        check_command(challenge, accepted, partial(run, challenge, s), s)
        if not accepted:
            continue
        model.apply(s)
        assert (challenge.stage, challenge.is_open, len(challenge.responses)) == (
            model.stage, model.open, model.responses)
        assert [e.stage for e in challenge.stage_history] == list(range(1, model.stage + 1))
        assert challenge.stage_entered_on == RAISED + timedelta(days=model.entered)
