"""Commands coalesced into one save over HTTP (domain/group_commit.py): each gets its own
answer (409 for the loser of two on one version), a read with min_position sees it, and
every view and the Merkle log see every event of the batch."""

from __future__ import annotations

import threading
import time
from typing import Any

from projections.rebuild import rebuild
from tests.scenarios import Scenario

PROGRESS = {"narrative": "Training delivered", "rag": "green"}


def posted_in_one_batch(api, *paths: str, **headers: str) -> list[Any]:
    """POST a progress report to each path, all queued before any is written."""
    answers: list[Any] = [None] * len(paths)

    def post(i: int, path: str) -> None:
        answers[i] = api.post("lead_a", path, PROGRESS, **headers)

    threads = [threading.Thread(target=post, args=(i, p)) for i, p in enumerate(paths)]
    with api.ledger.group_commit.held():
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while api.ledger.group_commit.queued < len(paths):
            assert time.monotonic() < deadline, "the requests did not all queue"
            time.sleep(0.001)
    for thread in threads:
        thread.join()
    return answers


def batch_of_four(api) -> tuple[list[Any], list[Any]]:
    scenario = Scenario(api.ledger)
    review = scenario.review([api.agency_a])
    actions = [scenario.assign(review, api.agency_a).id for _ in range(3)]
    paths = [f"/actions/{a}/progress" for a in [*actions, actions[0]]]
    return actions, posted_in_one_batch(api, *paths)


def test_the_loser_of_two_on_one_version_in_a_batch_gets_409(api):
    _, answers = batch_of_four(api)
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 409]
    assert {answers[0].status_code, answers[3].status_code} == {200, 409}


def test_one_idempotency_key_twice_in_a_batch_records_once_and_answers_twice_alike(api):
    scenario = Scenario(api.ledger)
    action = scenario.assign(scenario.review([api.agency_a]), api.agency_a).id
    path = f"/actions/{action}/progress"
    answers = posted_in_one_batch(api, path, path, **{"Idempotency-Key": "report-1"})
    assert [a.status_code for a in answers] == [200, 200]
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert answers[0].headers["X-Ledger-Position"] == answers[1].headers["X-Ledger-Position"]
    assert answers[0].content == answers[1].content
    assert len(api.ledger.get_action(action).progress) == 1


def test_a_coalesced_command_is_read_back_with_its_min_position(api):
    actions, answers = batch_of_four(api)
    for action, answer in zip(actions, answers[:3], strict=True):
        if answer.status_code != 200:
            continue
        position = answer.headers["X-Ledger-Position"]
        listed = api.get("lead_a", "/actions", min_position=position).json()
        (row,) = [i for i in listed["items"] if i["action_id"] == str(action)]
        assert row["last_rag"] == "green" and row["progress_reports"] == 1


def test_every_view_and_the_merkle_log_see_every_event_of_a_batch(api):
    batch_of_four(api)
    head = api.ledger.head_position()
    services = api.client.app.state.services
    side = services.read_models.read_side
    deadline = time.monotonic() + 10
    while services.merkle.tree_size() < head or min(v["position"] for v in side.status()["views"]) < head:
        assert time.monotonic() < deadline, "the views or the Merkle log did not catch up"
        time.sleep(0.05)
    incremental = dump(side)
    services.read_models.background.stop()
    rebuild(services.settings, api.ledger, read_side=side)
    assert dump(side) == incremental
    assert services.merkle.tree_size() == len(list(api.ledger.iter_notifications()))


def dump(side) -> dict[str, Any]:
    return {t.name: side.db.query(f"SELECT * FROM {{{t.name}}} ORDER BY {', '.join(t.key)}")
            for v in side.views.values() for t in v.projection_class.tables}
