"""Group commit (domain/group_commit.py): concurrent commands saved in one transaction keep
each command's own guarantees. Commands are made to land in one batch by holding the writer
while they queue (`GroupCommit.held`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import clock
from domain.errors import ConcurrentWrite
from domain.ledger import Ledger
from tests.principals import as_lead_of

Command = Callable[[], Any]


def in_one_batch(ledger: Ledger, *commands: Command) -> list[Any]:
    """Run the commands in threads while the writer is held, so that all of them queue and
    are written as one batch; each one's outcome, or the exception it raised."""
    results: list[Any] = [None] * len(commands)

    def run(i: int, command: Command) -> None:
        try:
            results[i] = command()
        except Exception as error:  # noqa: BLE001 - the command's answer
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(commands)]
    with ledger.group_commit.held():
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while ledger.group_commit.queued < len(commands):
            assert time.monotonic() < deadline, "the commands did not all queue"
            time.sleep(0.001)
    for thread in threads:
        thread.join()
    return results


def progress(ledger: Ledger, agency: UUID, action: UUID, narrative: str, **ctx: Any) -> Command:
    return lambda: ledger.report_progress(as_lead_of(agency, **ctx), action,
                                          narrative=narrative, rag="amber")


def test_two_commands_on_one_version_in_one_batch_save_only_the_first(
        ledger, scenario, commissioned_review):
    agency = commissioned_review.agency_id
    action = scenario.assign(scenario.review([agency], reference="GC-1"), agency).id
    first, second = in_one_batch(ledger, progress(ledger, agency, action, "first"),
                                 progress(ledger, agency, action, "second"))
    outcomes = [r for r in (first, second) if not isinstance(r, Exception)]
    refused = [r for r in (first, second) if isinstance(r, Exception)]
    assert len(outcomes) == 1 and isinstance(refused[0], ConcurrentWrite)
    saved = ledger.get_action(action)
    assert saved.version == outcomes[0].version == 2
    assert len(saved.progress) == 1


def test_commands_in_one_batch_each_get_their_own_version_and_position(
        ledger, scenario, commissioned_review):
    agency = commissioned_review.agency_id
    review = scenario.review([agency], reference="GC-2")
    actions = [scenario.assign(review, agency).id for _ in range(3)]
    outcomes = in_one_batch(ledger, *(progress(ledger, agency, a, f"on {i}")
                                      for i, a in enumerate(actions)))
    assert [o.id for o in outcomes] == actions
    for outcome in outcomes:
        assert outcome.position == ledger.positions_of(outcome.id)[outcome.version]
    assert max(o.position for o in outcomes) == ledger.head_position()


def test_a_batch_refused_by_the_store_is_saved_alone_so_only_the_loser_fails(
        ledger, scenario, commissioned_review):
    agency = commissioned_review.agency_id
    lead = as_lead_of(agency)
    review = scenario.review([agency], reference="GC-3")
    contested, other = (scenario.assign(review, agency).id for _ in range(2))
    loaded, written = threading.Event(), threading.Event()

    def contested_command() -> Any:
        action = ledger.get_action(contested)
        loaded.set()
        written.wait()  # another process saved this action meanwhile
        action.report_progress(actor=lead.actor, occurred_on=clock.today(), narrative="late",
                               rag="red")
        return ledger._save(lead, action)

    def other_command() -> Any:
        loaded.wait()
        elsewhere = ledger.get_action(contested)
        elsewhere.report_progress(actor=lead.actor, occurred_on=clock.today(),
                                  narrative="first", rag="green")
        ledger.save(elsewhere)  # the library's save: not through the group commit
        written.set()
        return progress(ledger, agency, other, "fine")()

    late, saved = in_one_batch(ledger, contested_command, other_command)
    assert isinstance(late, ConcurrentWrite)
    assert saved.version == 2 and ledger.get_action(other).progress[0].narrative == "fine"
    assert [p.narrative for p in ledger.get_action(contested).progress] == ["first"]


def test_one_idempotency_key_twice_in_one_batch_records_once(
        ledger, scenario, commissioned_review):
    from domain.application import Context, Idempotency

    agency = commissioned_review.agency_id
    review = scenario.review([agency], reference="GC-4")
    a, b = (scenario.assign(review, agency).id for _ in range(2))
    ctx = Context(as_lead_of(agency).actor, idempotency=Idempotency("key-1", "same"))

    def with_key(action: UUID) -> Command:
        return lambda: ledger.report_progress(ctx, action, narrative="once", rag="amber")

    results = in_one_batch(ledger, with_key(a), with_key(b))
    (won,) = [r for r in results if not isinstance(r, Exception)]
    (lost,) = [r for r in results if isinstance(r, Exception)]
    assert isinstance(lost, ConcurrentWrite)
    assert ledger.replay_idempotent(ctx.actor, ctx.idempotency).id == won.id
    assert sorted(len(ledger.get_action(x).progress) for x in (a, b)) == [0, 1]


# Random commands on three actions, all in one batch: the saved ones are exactly those
# answered with an outcome, in the order of their versions (as some serial order would
# have left them), and a refused one left nothing.
BATCHES = st.lists(st.integers(0, 2), min_size=1, max_size=8)


def test_a_batch_ends_as_some_serial_order_of_its_saved_commands(
        ledger, scenario, commissioned_review):
    agency = commissioned_review.agency_id
    review = scenario.review([agency], reference="GC-5")
    actions = [scenario.assign(review, agency).id for _ in range(3)]
    names = iter(range(10_000))

    @settings(max_examples=15, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(picks=BATCHES)
    def check(picks: list[int]) -> None:
        before = {a: len(ledger.get_action(a).progress) for a in actions}
        said = [f"report {next(names)}" for _ in picks]
        results = in_one_batch(ledger, *(progress(ledger, agency, actions[p], n)
                                          for p, n in zip(picks, said, strict=True)))
        for i, action in enumerate(actions):
            answered = sorted((r.version, n) for r, p, n in zip(results, picks, said, strict=True)
                              if p == i and not isinstance(r, Exception))
            recorded = ledger.get_action(action).progress[before[action]:]
            assert [p.narrative for p in recorded] == [n for _, n in answered]
            assert all(isinstance(r, ConcurrentWrite) for r, p in zip(results, picks, strict=True)
                       if p == i and isinstance(r, Exception))
            assert (1 if any(p == i for p in picks) else 0) == len(answered)

    check()
