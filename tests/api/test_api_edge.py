"""The edge (api/edge.py): bounded bodies refused before authentication, control characters
refused with 422 naming the field, moments and positions bounded, a request id echoed."""

from __future__ import annotations

import json

import pytest

AGENCY = {"name": "North Staffordshire CCG", "kind": "health", "statutory_partner": True,
          "partnerships": ["Stoke-on-Trent"]}


def assert_problem(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


def test_oversized_body_is_413_before_authentication(api):
    # No token: the size is refused first, before the body or a token costs anything.
    response = api.client.post("/agencies", content=b"x" * (300 * 1024),
                               headers={"Content-Type": "application/json"})
    assert_problem(response, 413)


def test_oversized_chunked_body_is_413(api):
    def chunks():
        for _ in range(40):
            yield b"x" * 10_000

    response = api.client.post("/agencies", content=chunks(),
                               headers={"Content-Type": "application/json"})
    assert_problem(response, 413)


def test_nul_in_agency_name_is_refused_and_nothing_written(api):
    before = api.ledger.head_position()
    response = api.post("scb_manager", "/agencies", {**AGENCY, "name": "Evil\x00Agency"})
    assert_problem(response, 422, "body.name")
    assert api.ledger.head_position() == before
    listed = api.get("scb_manager", "/board/agencies")
    assert listed.status_code == 200


def test_free_text_keeps_newlines_and_tabs(api):
    response = api.post("scb_manager", "/agencies", {**AGENCY, "name": "Line one\tand two"})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("path", ["/audit?actor=%00", "/audit?event_type=a%01b"])
def test_control_character_in_query_is_422(api, path):
    response = api.client.get(path, headers=api.headers("scb_manager"))
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"].startswith("query.")


def test_control_character_in_path_is_422(api):
    response = api.client.get("/agencies/%00", headers=api.headers("scb_manager"))
    assert_problem(response, 422, "path")


def test_control_character_in_header_is_422(api):
    headers = {**api.headers("scb_manager"), "Idempotency-Key": "abc\x01def"}
    response = api.client.post("/agencies", content=json.dumps(AGENCY), headers=headers)
    assert_problem(response, 422, "header.idempotency-key")


@pytest.mark.parametrize("route", ["/board/actions", "/board/agencies", "/board/reviews",
                                   "/audit"])
@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_as_of_at_the_ends_of_the_calendar_is_422(api, route, moment):
    response = api.get("scb_manager", route, as_of=moment)
    assert_problem(response, 422, "query.as_of")


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59Z", "0001-01-01"])
def test_review_as_of_at_the_ends_of_the_calendar_is_422(api, moment):
    review = api.ledger  # any id: the moment is refused before the record is looked up
    del review
    response = api.get("scb_manager", "/reviews/00000000-0000-4000-8000-000000000000",
                       as_of=moment)
    assert_problem(response, 422, "query.as_of")


@pytest.mark.parametrize("name", ["position", "min_position"])
def test_position_out_of_range_is_422(api, name):
    response = api.get("scb_manager", "/board/actions", **{name: 2**63})
    assert_problem(response, 422, f"query.{name}")


def test_request_id_is_taken_or_made_and_echoed(api):
    given = api.client.get("/healthz", headers={"X-Request-ID": "req-123"})
    assert given.headers["x-request-id"] == "req-123"
    made = api.client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    hostile = api.client.get("/healthz", headers={"X-Request-ID": "a b<script>"})
    assert hostile.headers["x-request-id"] != "a b<script>"


def test_control_character_in_a_form_field_is_422(api):
    response = api.client.post("/sign-in", content=b"token=abc%00def",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(response, 422, "body.token")


@pytest.mark.parametrize("query", [{"to": "0001-01-05"}, {"from": "0001-01-01"},
                                   {"to": "9999-12-31"}])
def test_a_reports_period_out_of_range_is_422(api, query):
    response = api.get("scb_manager", "/reports/yearly", **query)
    assert_problem(response, 422, f"query.{next(iter(query))}")
