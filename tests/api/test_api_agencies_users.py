"""Agencies and users over HTTP: auth, roles, ETags, idempotency, problem+json."""

from __future__ import annotations

import pytest

AGENCY = {"name": "North Staffordshire CCG", "kind": "health", "statutory_partner": True,
          "partnerships": ["Stoke-on-Trent", "Staffordshire"]}


def test_request_without_token_is_401_problem(api):
    response = api.client.get(f"/agencies/{api.agency_a}")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_token_is_401(api):
    response = api.client.get(f"/agencies/{api.agency_a}",
                               headers={"Authorization": "Bearer sgl_nope"})
    assert response.status_code == 401


def test_revoked_token_is_401(api):
    user = api.post("scb_manager", "/users", {"name": "Temp", "role": "auditor"}).json()
    issued = api.post("scb_manager", f"/users/{user['id']}/tokens").json()
    headers = {"Authorization": f"Bearer {issued['token']}"}
    assert api.client.get(f"/agencies/{api.agency_a}", headers=headers).status_code == 200
    revoked = api.post("scb_manager", f"/users/{user['id']}/tokens/{issued['token_id']}/revocation",
                       {"reason": "left the partnership"})
    assert revoked.status_code == 200
    assert api.client.get(f"/agencies/{api.agency_a}", headers=headers).status_code == 401


def test_scb_manager_registers_agency_with_etag_and_location(api):
    response = api.post("scb_manager", "/agencies", AGENCY)
    assert response.status_code == 201
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/agencies/{response.json()['id']}"
    assert int(response.headers["x-ledger-position"]) == api.ledger.head_position()


def test_auditor_cannot_register_agency_and_nothing_is_written(api):
    before = api.ledger.head_position()
    response = api.post("auditor", "/agencies", AGENCY)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert api.ledger.head_position() == before


def test_rename_keeps_name_history(api):
    agency = api.post("scb_manager", "/agencies", {**AGENCY, "occurred_on": "2019-04-01"}).json()
    api.post("scb_manager", f"/agencies/{agency['id']}/rename",
             {"name": "Staffordshire and Stoke-on-Trent ICB", "reason": "CCGs became ICBs",
              "occurred_on": "2022-07-01"})
    now = api.get("auditor", f"/agencies/{agency['id']}").json()
    assert now["name"] == "Staffordshire and Stoke-on-Trent ICB"
    assert [n["name"] for n in now["names"]] == [AGENCY["name"], now["name"]]
    assert api.get("auditor", f"/agencies/{agency['id']}", version=1).json()["name"] == AGENCY["name"]


def test_stale_if_match_is_412_and_writes_nothing(api):
    before = api.ledger.head_position()
    response = api.post("scb_manager", f"/agencies/{api.agency_a}/rename",
                        {"name": "Renamed", "reason": "r"}, **{"If-Match": '"7"'})
    assert response.status_code == 412
    assert api.ledger.head_position() == before


def test_idempotent_retry_returns_first_response_and_records_nothing(api):
    first = api.post("scb_manager", "/agencies", AGENCY, **{"Idempotency-Key": "k-1"})
    after_first = api.ledger.head_position()
    retry = api.post("scb_manager", "/agencies", AGENCY, **{"Idempotency-Key": "k-1"})
    assert retry.status_code == first.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert api.ledger.head_position() == after_first


def test_idempotency_key_with_another_body_is_refused(api):
    api.post("scb_manager", "/agencies", AGENCY, **{"Idempotency-Key": "k-2"})
    before = api.ledger.head_position()
    other = api.post("scb_manager", "/agencies", {**AGENCY, "name": "Other"},
                     **{"Idempotency-Key": "k-2"})
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert api.ledger.head_position() == before


def test_malformed_json_is_400_problem(api):
    response = api.client.post("/agencies", content=b"{not json",
                               headers=api.headers("scb_manager",
                                                   **{"content-type": "application/json"}))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body"


def test_missing_field_names_the_field(api):
    response = api.post("scb_manager", "/agencies", {"kind": "health"})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"body.name", "body.statutory_partner", "body.partnerships"} <= fields


def test_unknown_agency_is_404_problem(api):
    response = api.get("auditor", "/agencies/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_agency_lead_needs_an_agency(api):
    response = api.post("scb_manager", "/users", {"name": "L", "role": "agency_lead"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "agency_id"


def test_history_names_actor_and_reason(api):
    api.post("scb_manager", f"/agencies/{api.agency_a}/retirement", {"reason": "merged away"})
    entries = api.get("auditor", f"/agencies/{api.agency_a}/history").json()["entries"]
    assert [e["type"] for e in entries] == ["Agency.Registered", "Agency.Retired"]
    assert entries[1]["actor"]["role"] == "scb_manager"
    assert entries[1]["reason"] == "merged away"
    assert entries[0]["position"] < entries[1]["position"]


def test_other_agency_lead_with_stale_if_match_gets_403_not_412(api, ledger, assigned_action):
    """Agency scope is checked before If-Match, so an outsider learns nothing of versions."""
    _, _, action, _ = assigned_action(ledger, api.agency_a, reference="SCOPE-01")
    before = ledger.head_position()
    response = api.post("lead_b", f"/actions/{action}/progress",
                        {"narrative": "n", "rag": "green"}, **{"If-Match": '"99"'})
    assert response.status_code == 403
    assert ledger.head_position() == before


def test_agency_list_reflects_a_rename_after_the_write(api):
    renamed = api.post("scb_manager", f"/agencies/{api.agency_a}/rename",
                       {"name": "Staffordshire Police (renamed)", "reason": "test"})
    position = renamed.headers["x-ledger-position"]
    listed = api.get("board_member", "/agencies", min_position=position).json()
    assert int(listed["position"]) >= int(position)
    names = {item["agency_id"]: item["name"] for item in listed["items"]}
    assert names[str(api.agency_a)] == "Staffordshire Police (renamed)"


def test_agency_lead_lists_only_their_agency_users(api):
    head = api.ledger.head_position()
    listed = api.get("lead_a", "/users", min_position=head).json()
    assert {item["agency_id"] for item in listed["items"]} == {str(api.agency_a)}
    everyone = api.get("auditor", "/users", min_position=head).json()
    assert len(everyone["items"]) > len(listed["items"])


@pytest.mark.parametrize("path", ["/reviews", "/actions", "/challenges"])
def test_resource_lists_answer_from_the_read_models(api, path):
    listed = api.get("auditor", path, min_position=api.ledger.head_position())
    assert listed.status_code == 200
    assert listed.json()["position"] >= api.ledger.head_position()
    assert "items" in listed.json()
