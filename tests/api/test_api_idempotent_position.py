"""A replayed idempotent request answers exactly as the first did, X-Ledger-Position
included (it named one position lower: the record's event, not the last one appended)."""

from __future__ import annotations


def test_a_replay_names_the_first_answers_position(api):
    body = {"name": "Renamed once", "reason": "test"}
    first = api.post("scb_manager", f"/agencies/{api.agency_a}/rename", body,
                     **{"Idempotency-Key": "rename-1"})
    again = api.post("scb_manager", f"/agencies/{api.agency_a}/rename", body,
                     **{"Idempotency-Key": "rename-1"})
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["X-Ledger-Position"] == first.headers["X-Ledger-Position"]
    assert int(first.headers["X-Ledger-Position"]) == api.ledger.head_position()
