"""Schemathesis over the OpenAPI document: no 5xx, and every response matches its schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.settings import Settings
from domain.ledger import Ledger
from tests.principals import bearer_token


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "ledger.sqlite3"
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                         "SQLITE_DBNAME": str(path)})
    token = bearer_token(ledger, "scb_manager", name="Fuzz manager")
    app = create_app(Settings(store="sqlite", sqlite_path=path), ledger=ledger)
    return app, token


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def operations(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_openapi_declares_problem_responses_for_every_write(fuzz_target):
    app, _ = fuzz_target
    document = app.openapi()
    assert "Problem" in document["components"]["schemas"]
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if method == "post":
                assert {"401", "403", "422"} <= set(operation["responses"]), (path, method)


def test_api_never_errors_and_matches_its_schema(fuzz_target):
    app, token = fuzz_target
    headers = {"Authorization": f"Bearer {token}"}
    failures = []
    for operation in operations(app):
        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            # Domain rules (e.g. "a reason must not be blank") refuse some schema-valid
            # bodies with 422 by design, so "positive data acceptance" is not a check here.
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except Exception as error:  # noqa: BLE001 - report every operation's failure
            failures.append(f"{operation.label}: {str(error)[:600]}")
    assert failures == [], "\n\n".join(failures)
