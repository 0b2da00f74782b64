"""Shared fixtures: the three stores every application and API test runs against."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG = {
    "host": os.environ.get("TEST_POSTGRES_HOST", "127.0.0.1"),
    "port": os.environ.get("TEST_POSTGRES_PORT", "5432"),
    "dbname": os.environ.get("TEST_POSTGRES_DBNAME", "test"),
    "user": os.environ.get("TEST_POSTGRES_USER", "postgres"),
    "password": os.environ.get("TEST_POSTGRES_PASSWORD", "postgres"),
}


def postgres_unreachable_reason() -> str | None:
    """None when the test server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(
            host=PG["host"], port=PG["port"], dbname=PG["dbname"], user=PG["user"],
            password=PG["password"], connect_timeout=3,
        ):
            return None
    except Exception as error:  # noqa: BLE001 - any failure to connect: skip (CI: fail)
        return f"PostgreSQL at {PG['host']}:{PG['port']}/{PG['dbname']} unreachable: {error}"


_PG_REASON = postgres_unreachable_reason()


def require_postgres() -> None:
    if _PG_REASON is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true requires PostgreSQL: {_PG_REASON}")
    pytest.skip(_PG_REASON)


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema per test, dropped afterwards (tests never share tables)."""
    require_postgres()
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=PG["host"], port=PG["port"], dbname=PG["dbname"], user=PG["user"],
                         password=PG["password"], autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(host=PG["host"], port=PG["port"], dbname=PG["dbname"],
                             user=PG["user"], password=PG["password"], autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def store_env(store: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """eventsourcing settings for one of the three stores."""
    if store == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if store == "sqlite":
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(tmp_path / "ledger.sqlite3")}
    schema = request.getfixturevalue("pg_schema")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": PG["dbname"], "POSTGRES_HOST": PG["host"],
        "POSTGRES_PORT": PG["port"], "POSTGRES_USER": PG["user"],
        "POSTGRES_PASSWORD": PG["password"], "POSTGRES_SCHEMA": schema,
    }


STORES = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def ledger(store: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[object]:
    """A Ledger on each store in turn."""
    from domain.ledger import Ledger

    app = Ledger(env=store_env(store, tmp_path, request))
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def pg_env(pg_schema: str) -> dict[str, dict[str, str]]:
    """Settings for a fresh schema: the library's (\"library\") and the API's (\"ledger\")."""
    library = {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": PG["dbname"],
               "POSTGRES_HOST": PG["host"], "POSTGRES_PORT": PG["port"],
               "POSTGRES_USER": PG["user"], "POSTGRES_PASSWORD": PG["password"],
               "POSTGRES_SCHEMA": pg_schema}
    api = {"LEDGER_STORE": "postgres", "LEDGER_POSTGRES_HOST": PG["host"],
           "LEDGER_POSTGRES_PORT": PG["port"], "LEDGER_POSTGRES_DBNAME": PG["dbname"],
           "LEDGER_POSTGRES_USER": PG["user"], "LEDGER_POSTGRES_PASSWORD": PG["password"],
           "LEDGER_POSTGRES_SCHEMA": pg_schema}
    return {"library": library, "ledger": api}


@pytest.fixture
def assigned_action():
    """A factory: a review taken to reviewer_commissioned with one finding and recommendation,
    and an action on it owned by `agency`. Returns (review, recommendation, action) ids."""
    from datetime import date, timedelta

    from domain.actors import Actor, Role
    from domain.application import Context

    def make(ledger, agency, *, reference: str = "FIXTURE-01", days_ago: int = 40):
        mgr = Context(Actor("u-mgr", Role.SCB_MANAGER))
        day = date.today() - timedelta(days=days_ago)
        review = ledger.record_incident(
            mgr, reference=reference, partnership="Staffordshire",
            local_authority_area="Staffordshire", age_band="5_to_9", harm="serious_harm",
            category="neglect", legal_status="none", agencies_involved=[agency],
            occurred_on=day).id
        ledger.notify_panel(mgr, review, occurred_on=day)
        ledger.complete_rapid_review(mgr, review, summary="s", occurred_on=day)
        ledger.record_local_decision(mgr, review, conduct_review=True,
                                     criteria=["improvements_needed"], rationale="r",
                                     occurred_on=day)
        ledger.commission_reviewer(mgr, review, reviewer="R", occurred_on=day)
        finding = ledger.record_finding(mgr, review, text="f", themes=["t"], occurred_on=day)
        rec = ledger.record_recommendation(mgr, review, text="r", finding_ids=[finding.item_id],
                                           occurred_on=day).item_id
        action = ledger.assign_action(mgr, review_id=review, recommendation_id=rec,
                                      agency_id=agency, description="d", measure_of_success="m",
                                      due_on=day + timedelta(days=90), occurred_on=day).id
        return review, rec, action, finding.item_id

    return make
