"""Sizing: two API workers and the projection worker under concurrent requests hold no more
connections than README's formula, W x (T + 2 + 2 x max(2, T/2) + 2) + 8 (one deployment
held 72 before, and a second one could not start against max_connections = 100)."""

from __future__ import annotations

import threading

import httpx
import psycopg
import pytest

from api.settings import Settings
from domain.ledger import Ledger
from tests.fault.conftest import wait_until
from tests.fault.test_fault_database_restart import worker
from tests.principals import bearer_token
from tests.servers import answers_healthz, running_server

# One private PostgreSQL per xdist worker: the fault tests all run on one.
pytestmark = [pytest.mark.fault, pytest.mark.xdist_group("fault")]

WORKERS, THREADS = 2, 8


def connections(port: int) -> int:
    with psycopg.connect(host="127.0.0.1", port=port, dbname="postgres", user="postgres",
                         autocommit=True) as conn:
        return conn.execute("SELECT count(*) - 1 FROM pg_stat_activity "
                            "WHERE backend_type = 'client backend'").fetchone()[0]


def test_a_deployment_holds_no_more_connections_than_the_formula(private_pg, fault_schema):
    env = {**private_pg.env(fault_schema), "LEDGER_PROJECTIONS": "external",
           "LEDGER_API_THREADS": str(THREADS)}
    settings = Settings(**{k.removeprefix("LEDGER_").lower(): v for k, v in env.items()})
    ledger = Ledger(env=settings.eventsourcing_env())
    token = bearer_token(ledger, "scb_manager")
    ledger.close()
    bound = WORKERS * (THREADS + 2 + 2 * max(2, THREADS // 2) + 2) + 8
    peak = [0]
    statuses: list[int] = []
    with running_server(env, workers=WORKERS, ready=answers_healthz) as base, \
            worker(env, "external"):
        wait_until(lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, 20)
        headers = {"Authorization": f"Bearer {token}"}

        def client(number: int) -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
                for i in range(15):
                    statuses.append(http.post("/agencies", json={
                        "name": f"Sizing {number}-{i}", "kind": "health",
                        "statutory_partner": False, "partnerships": ["Staffordshire"]}
                    ).status_code)
                    statuses.append(http.get("/board/agencies").status_code)
                    peak[0] = max(peak[0], connections(private_pg.port))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(24)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    print(f"peak {peak[0]} connections, formula {bound}")
    assert set(statuses) <= {200, 201}, sorted(set(statuses))
    assert 0 < peak[0] <= bound, f"{peak[0]} connections, formula {bound}"
