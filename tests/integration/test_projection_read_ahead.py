"""A rebuild on PostgreSQL asks for the next batch before the views take this one
(projections/read_ahead.py): the same notifications the recorder gives, never a batch past
the load's end, and, if its connection fails, the recorder's reads instead."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
import pytest

from api.settings import Settings
from domain.actors import Actor, Role
from domain.application import Context
from projections.read_ahead import ReadAheadFeed
from projections.readside import ReadSide
from projections.rebuild import rebuild
from projections.runner import Runner
from tests.integration.test_projection_bulk import rows

pytestmark = pytest.mark.parametrize(
    "store", [pytest.param("postgres", marks=pytest.mark.postgres)])

OPERATOR = Context(Actor("operator:test", Role.OPERATOR, name="Test Operator"))


def agencies(ledger: Any, count: int) -> int:
    """`count` agencies, each renamed once: the head position."""
    for n in range(count):
        agency = ledger.register_agency(OPERATOR, name=f"Agency {n}", kind="health",
                                        statutory_partner=False, partnerships=["SSSCB"],
                                        occurred_on=date(2025, 1, 6)).id
        head = ledger.rename_agency(OPERATOR, agency, name=f"Agency {n} Trust",
                                    reason="renamed", occurred_on=date(2025, 1, 7)).position
    return head


def fields(notifications: Any) -> list[tuple[Any, ...]]:
    return [(n.id, n.originator_id, n.originator_version, n.topic, n.state)
            for n in notifications]


def feed_of(side: ReadSide, stop_at: int) -> ReadAheadFeed:
    return ReadAheadFeed(side.ledger, list(side.views.values()), side.db, stop_at=stop_at)


def test_reading_ahead_gives_the_recorders_notifications_batch_by_batch(
        ledger: Any, side: ReadSide) -> None:
    head = agencies(ledger, 4)
    feed = feed_of(side, head)
    try:
        position, batches = 0, 0
        while position < head:
            got, items = feed.read(position, 3)
            assert fields(got) == fields(ledger.recorder.select_notifications(
                position, 3, inclusive_of_start=False))
            assert [i[0] for i in items] == [n.id for n in got]
            position, batches = got[-1].id, batches + 1
        assert batches == 3  # 3 + 3 + 2 events
    finally:
        feed.close()


def test_reading_ahead_stops_at_the_end_of_the_load(ledger: Any, side: ReadSide) -> None:
    head = agencies(ledger, 3)
    feed = feed_of(side, stop_at=4)
    try:
        got, _ = feed.read(0, 2)
        assert feed.ahead is not None  # 2 < 4: the next batch is on its way
        got, _ = feed.read(got[-1].id, 2)
        assert got[-1].id == 4 < head
        assert feed.ahead is None  # nothing is read past the load's end
    finally:
        feed.close()


def test_a_batch_asked_for_out_of_turn_is_read_then(ledger: Any, side: ReadSide) -> None:
    head = agencies(ledger, 2)
    feed = feed_of(side, head)
    try:
        feed.read(0, 1)  # reads ahead from 1
        got, _ = feed.read(2, 2)
        assert fields(got) == fields(ledger.recorder.select_notifications(
            2, 2, inclusive_of_start=False))
    finally:
        feed.close()


def test_a_lost_read_connection_leaves_the_recorder_to_read_the_rest(
        ledger: Any, side: ReadSide) -> None:
    head = agencies(ledger, 3)
    feed = feed_of(side, head)
    try:
        first, _ = feed.read(0, 2)
        assert feed.ahead is not None
        feed.conn.close()  # the batch asked for is lost with it
        got, _ = feed.read(first[-1].id, 2)
        rest, _ = feed.read(got[-1].id, 10)
        assert feed.failed and feed.conn is None and feed.ahead is None
        assert fields([*first, *got, *rest]) == fields(
            ledger.recorder.select_notifications(0, 10, inclusive_of_start=False))
    finally:
        feed.close()


def test_a_rebuild_whose_read_connection_fails_still_builds_every_view(
        ledger: Any, settings: Settings, side: ReadSide,
        monkeypatch: pytest.MonkeyPatch) -> None:
    head = agencies(ledger, 5)
    Runner(side, batch_size=1).catch_up()
    before = rows(side)
    ask, calls = ReadAheadFeed._ask, []

    def failing(self: ReadAheadFeed, after: int, limit: int) -> Any:
        calls.append(after)
        if len(calls) == 3:
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return ask(self, after, limit)

    monkeypatch.setattr(ReadAheadFeed, "_ask", failing)
    rebuild(settings, ledger, read_side=side, batch_size=2)
    assert len(calls) == 3  # asking for the third batch failed; the recorder read the rest
    assert set(side.positions().values()) == {head}
    assert rows(side) == before
