"""On a real server and PostgreSQL, 16 threads race on one action: exactly one write per
version succeeds, the losers get 409/412 problems, and the history has no gap or duplicate."""

from __future__ import annotations

import threading
from collections import Counter
from uuid import UUID

import httpx
import pytest

from domain.ledger import Ledger
from tests.principals import AS_OPERATOR, bearer_token
from tests.servers import answers_healthz

pytestmark = pytest.mark.postgres

THREADS, ROUNDS = 16, 6


def seed(ledger: Ledger, assigned_action) -> tuple[str, str]:
    """An action owned by an agency, and a token for that agency's lead."""
    agency = ledger.register_agency(AS_OPERATOR, name="Staffordshire Police", kind="police",
                                    statutory_partner=True, partnerships=["Staffordshire"]).id
    _, _, action, _ = assigned_action(ledger, agency, reference="RACE-01", days_ago=60)
    return str(action), bearer_token(ledger, "agency_lead", agency, name="Lead")


@pytest.fixture
def server(pg_env, start_server, assigned_action):
    ledger = Ledger(env=pg_env["library"])
    action_id, token = seed(ledger, assigned_action)
    env = {**pg_env["ledger"], "LEDGER_PROJECTIONS": "external",
           "LEDGER_POSTGRES_POOL_SIZE": "20"}
    with start_server(env, ready=answers_healthz) as base:  # no worker: /readyz says so
        yield base, ledger, action_id, token
    ledger.close()


def test_sixteen_threads_one_write_per_version(server):
    base, ledger, action_id, token = server
    headers = {"Authorization": f"Bearer {token}"}
    wins: Counter[int] = Counter()
    refusals: Counter[int] = Counter()
    lock = threading.Lock()

    def race(round_no: int, barrier: threading.Barrier, version: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            barrier.wait()
            response = client.post(
                f"/actions/{action_id}/progress",
                json={"narrative": f"round {round_no}", "rag": "green", "evidence": []},
                headers={**headers, "If-Match": f'"{version}"'})
        with lock:
            if response.status_code == 200:
                wins[version] += 1
            else:
                assert response.headers["content-type"] == "application/problem+json"
                refusals[response.status_code] += 1

    for round_no in range(ROUNDS):
        version = ledger.get_action(UUID(action_id)).version
        barrier = threading.Barrier(THREADS)
        threads = [threading.Thread(target=race, args=(round_no, barrier, version))
                   for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert all(count == 1 for count in wins.values()), wins
    assert len(wins) == ROUNDS
    assert set(refusals) <= {409, 412}
    assert sum(refusals.values()) == ROUNDS * (THREADS - 1)
    history = ledger.action_history(UUID(action_id))
    versions = [h.event.originator_version for h in history]
    positions = [h.position for h in history]
    assert versions == list(range(1, len(versions) + 1))
    assert len(set(positions)) == len(positions) and positions == sorted(positions)
    assert len(versions) == 1 + ROUNDS
