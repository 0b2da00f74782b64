"""The projection worker keeps the Merkle log level with the events, as one more view of its
runner (it replaced a follower thread of its own): from the same reads as the other views,
and through a store's hiccup."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from eventsourcing.persistence import OperationalError

from api.settings import Settings
from domain.actors import Actor, Role
from domain.application import Context
from domain.ledger import Ledger
from ledger_verifier.verifier import leaf_hash
from projections.merkle_log import MerkleLog, MerkleLogProjection, leaf_of
from projections.readside import ReadSide
from projections.runner import run_projections

OPERATOR = Context(Actor("operator:test", Role.OPERATOR))


@pytest.fixture
def worker(ledger: Ledger, settings: Settings) -> Iterator[MerkleLog]:
    """run_projections in a thread, with the Merkle log; yields the log."""
    log, side, stop = MerkleLog(settings, ledger), ReadSide(settings, ledger), threading.Event()
    thread = threading.Thread(target=run_projections, args=(settings, ledger, stop),
                              kwargs={"read_side": side, "merkle_log": log}, daemon=True)
    thread.start()
    try:
        yield log
    finally:
        stop.set()
        thread.join(10)
        side.close()
        log.close()


def add_agencies(ledger: Ledger, n: int) -> int:
    for i in range(n):
        head = ledger.register_agency(OPERATOR, name=f"Agency {i}", kind="other",
                                      statutory_partner=False,
                                      partnerships=["SSSCB"]).position
    return head


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.02)


def test_the_worker_appends_every_event_to_the_merkle_log(ledger: Ledger,
                                                          worker: MerkleLog) -> None:
    head = add_agencies(ledger, 9)
    eventually(lambda: worker.position() == head)
    leaves = [leaf_hash(leaf_of(row)) for row in ledger.iter_notifications()]
    assert worker.size == len(leaves) and [h for _, h in worker.iter_leaves()] == leaves


def test_the_worker_reads_each_event_once_for_the_views_and_the_log(
        ledger: Ledger, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[int] = []
    stored = type(ledger.store).stored

    def counted(self: object, after: int, limit: int, stop: int | None = None) -> object:
        found = stored(self, after, limit, stop)  # type: ignore[arg-type]
        if threading.current_thread().name == "worker":
            read.extend(row.id for row in found)
        return found

    monkeypatch.setattr(type(ledger.store), "stored", counted)
    log, side, stop = MerkleLog(settings, ledger), ReadSide(settings, ledger), threading.Event()
    thread = threading.Thread(target=run_projections, args=(settings, ledger, stop),
                              kwargs={"read_side": side, "merkle_log": log}, name="worker")
    thread.start()
    try:
        head = add_agencies(ledger, 12)
        eventually(lambda: log.position() == head and min(side.positions().values()) == head)
    finally:
        stop.set()
        thread.join(10)
        side.close()
        log.close()
    assert sorted(read) == list(range(1, head + 1))


def test_the_worker_outlives_a_store_failing_for_a_moment(
        ledger: Ledger, worker: MerkleLog, monkeypatch: pytest.MonkeyPatch) -> None:
    apply, failed = MerkleLogProjection.apply, threading.Event()

    def flaky(self: MerkleLogProjection, changes: object, items: object) -> None:
        if not failed.is_set():
            failed.set()
            raise OperationalError("connection refused")
        apply(self, changes, items)  # type: ignore[arg-type]

    monkeypatch.setattr(MerkleLogProjection, "apply", flaky)
    head = add_agencies(ledger, 4)
    eventually(lambda: worker.position() == head)
    assert failed.is_set() and worker.size == head
