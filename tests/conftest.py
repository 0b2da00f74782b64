"""Shared fixtures: the three stores every application and API test runs against."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from domain.ledger import Ledger
    from tests.scenarios import Scenario

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
def scenario(ledger: Ledger) -> Scenario:
    """The scenario builder (tests/scenarios.py) on this test's ledger, dated today."""
    from tests.scenarios import Scenario

    return Scenario(ledger)


@pytest.fixture
def assigned_action():
    """A factory: a review taken to reviewer_commissioned with one finding and recommendation,
    and an action on it owned by `agency`, every step `days_ago` days ago. Returns (review,
    recommendation, action, finding) ids."""
    from datetime import date, timedelta

    from tests.scenarios import Scenario

    def make(ledger, agency, *, reference: str = "FIXTURE-01", days_ago: int = 40):
        scenario = Scenario(ledger, on=date.today() - timedelta(days=days_ago))
        review = scenario.review([agency], reference=reference)
        action = scenario.assign(review, agency).id
        return review.review_id, review.recommendation_id, action, review.finding_id

    return make
