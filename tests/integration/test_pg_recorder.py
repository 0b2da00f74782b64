"""The ledger's PostgreSQL recorder (api/pg_recorder.py): statements tried twice, not ten
times; an insert that could not get a connection is NotSent (certainly not recorded); the
library's pool reconnects at most a second apart."""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import date

import pytest
from eventsourcing.persistence import IntegrityError
from psycopg.pq import TransactionStatus
from psycopg_pool import PoolTimeout

from api.pg_recorder import LedgerRecorder
from api.settings import Settings
from domain.agency import Agency
from domain.errors import NotSent
from domain.ledger import Ledger
from tests.principals import AS_OPERATOR

pytestmark = pytest.mark.postgres

AGENCY = {"name": "North Staffordshire CCG", "kind": "health", "statutory_partner": True,
          "partnerships": ["Stoke-on-Trent"]}


@pytest.fixture
def pg_ledger(pg_env):
    settings = Settings(**{k.removeprefix("LEDGER_").lower(): v
                           for k, v in pg_env["ledger"].items()})
    ledger = Ledger(env=settings.eventsourcing_env())
    yield ledger
    ledger.close()


def test_the_ledger_uses_the_short_retry_recorder(pg_ledger):
    assert isinstance(pg_ledger.recorder, LedgerRecorder)
    assert type(pg_ledger.recorder.datastore.pool).__name__.startswith("QuickReconnect")


def test_an_insert_without_a_connection_is_not_sent_and_fails_fast(pg_ledger, monkeypatch):
    @contextmanager
    def no_connection(*_, **__):
        raise PoolTimeout("couldn't get a connection after 1.00 sec")
        yield  # pragma: no cover

    agency = Agency.register(actor=AS_OPERATOR.actor, occurred_on=date(2024, 1, 1), **AGENCY)
    monkeypatch.setattr(pg_ledger.recorder.datastore.pool, "connection", no_connection)
    started = time.monotonic()
    with pytest.raises(NotSent):
        pg_ledger._save(AS_OPERATOR, agency)
    assert time.monotonic() - started < 1.0  # two tries 0.1 s apart, not ten 0.2 s apart


def test_an_insert_is_committed_with_its_positions(pg_ledger):
    outcome = pg_ledger.register_agency(AS_OPERATOR, **AGENCY)
    assert outcome.position == pg_ledger.head_position() == 1
    with pg_ledger.recorder.datastore.get_connection() as conn:  # seen by another session
        assert conn.info.transaction_status == TransactionStatus.IDLE
    assert pg_ledger.get_agency(outcome.id).name == AGENCY["name"]


def test_a_refused_insert_records_nothing_and_the_next_write_is_taken(pg_ledger):
    agency = Agency.register(actor=AS_OPERATOR.actor, occurred_on=date(2024, 1, 1), **AGENCY)
    events = agency.collect_events()
    pg_ledger.save(*events)
    again = [pg_ledger.mapper.to_stored_event(e) for e in events]
    with pytest.raises(IntegrityError):
        pg_ledger.recorder.insert_events(again)
    assert pg_ledger.head_position() == 1
    renamed = pg_ledger.rename_agency(AS_OPERATOR, agency.id, name="Renamed", reason="r")
    assert renamed.position == pg_ledger.head_position()  # the pool is usable again
