"""A command's answer is the record as the command left it: rendered from the aggregate just
saved (not loaded again), it reads exactly as the record read back at that version, and as a
replay of the same request (which loads it) answers."""

from __future__ import annotations

from tests.scenarios import Scenario

PROGRESS = {"narrative": "Training delivered; audit shows improvement", "rag": "amber",
            "evidence": ["audit-2026-11", "training-log"]}


def test_a_commands_answer_is_the_record_read_back_at_its_version(api):
    action = api.ledger.get_action(_action(api))
    answer = api.post("lead_a", f"/actions/{action.id}/progress", PROGRESS)
    assert answer.status_code == 200
    version = answer.headers["ETag"].strip('"')
    read = api.get("lead_a", f"/actions/{action.id}", version=version)
    assert answer.json() == read.json()
    assert answer.json()["progress"][-1]["evidence"] == PROGRESS["evidence"]


def test_a_replay_answers_as_the_first_answer_did(api):
    action_id = _action(api)
    first = api.post("lead_a", f"/actions/{action_id}/progress", PROGRESS,
                     **{"Idempotency-Key": "progress-1"})
    again = api.post("lead_a", f"/actions/{action_id}/progress", PROGRESS,
                     **{"Idempotency-Key": "progress-1"})
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content


def _action(api):
    scenario = Scenario(api.ledger)
    return scenario.assign(scenario.review([api.agency_a]), api.agency_a).id
