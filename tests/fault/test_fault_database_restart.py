"""The API under a write load while its private PostgreSQL is fast-restarted and then stopped
for 10 s: no 500, 503 within about 2 s while it is down, service back within 5 s of its
return with nothing restarted, the projections still running (the API's thread, or the
`ledger project` worker), every 2xx command recorded exactly once, and the views equal to a
rebuild."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Self

import httpx
import pytest

from api.settings import Settings
from domain.ledger import Ledger
from projections.readside import ReadSide
from projections.rebuild import rebuild
from tests.fault.conftest import wait_until
from tests.principals import bearer_token
from tests.servers import answers_healthz, running_server

# One private PostgreSQL per xdist worker: the fault tests all run on one.
pytestmark = [pytest.mark.fault, pytest.mark.xdist_group("fault")]

CLIENTS = 4


@dataclass
class Answer:
    name: str
    started: float
    seconds: float
    status: int


class Load:
    """CLIENTS threads registering agencies with unique names until stopped."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.answers: list[Answer] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client, args=(i,)) for i in range(CLIENTS)]

    def client(self, number: int) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base, timeout=30) as client:
            count = 0
            while not self.stop.is_set():
                count += 1
                name = f"Agency {number}-{count}"
                started = time.monotonic()
                try:
                    status = client.post("/agencies", json={
                        "name": name, "kind": "health", "statutory_partner": False,
                        "partnerships": ["Staffordshire"]},
                        headers={**headers, "Idempotency-Key": name.replace(" ", "-")}
                    ).status_code
                except httpx.HTTPError:
                    status = 0  # the connection itself failed
                with self.lock:
                    self.answers.append(Answer(name, started, time.monotonic() - started,
                                               status))
                if status != 201:
                    time.sleep(0.05)

    def __enter__(self) -> Self:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            if thread.is_alive():
                thread.join(60)


def registered_names(ledger: Ledger) -> Counter[str]:
    names: Counter[str] = Counter()
    for row in ledger.iter_notifications():
        if row.topic.endswith("Agency.Registered"):
            names[ledger.mapper.to_domain_event(row).name] += 1
    return names


def view_rows(side: ReadSide) -> dict[str, list[str]]:
    db = side.db
    with db.pool.connection() as conn:  # type: ignore[attr-defined]
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name LIKE 'view\\_%%' AND table_name <> 'view_tracking'",
            (db.schema,)).fetchall()]  # type: ignore[attr-defined]
        return {t: sorted(map(repr, conn.execute(
            f'SELECT * FROM "{db.schema}"."{t}"').fetchall())) for t in tables}  # type: ignore[attr-defined]


@contextmanager
def worker(env: dict[str, str], mode: str) -> Iterator[subprocess.Popen | None]:
    """The projection worker (`ledger project`) in its own process, for external mode."""
    if mode != "external":
        yield None
        return
    process = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "project"],
                               env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(10)


def reads_while_the_worker_restarts(base: str, token: str, env: dict[str, str],
                                    process: subprocess.Popen) -> None:
    """The worker stopped: reads go on (200), /readyz says the worker is missing (503); a
    new worker makes it ready again."""
    process.terminate()
    process.wait(10)
    headers = {"Authorization": f"Bearer {token}"}
    wait_until(lambda: "projection worker" in httpx.get(f"{base}/readyz").json()["down"], 5)
    assert httpx.get(f"{base}/board/agencies", headers=headers).status_code == 200
    with worker(env, "external"):
        wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200, 15)


@pytest.mark.parametrize("mode", ["in_process", "external"])
def test_restart_and_outage_under_write_load(private_pg, fault_schema, mode):
    env = {**private_pg.env(fault_schema), "LEDGER_PROJECTIONS": mode}
    settings = Settings(**{k.removeprefix("LEDGER_").lower(): v for k, v in env.items()})
    ledger = Ledger(env=settings.eventsourcing_env())
    token = bearer_token(ledger, "scb_manager")
    ledger.close()
    with running_server(env, ready=answers_healthz) as base, worker(env, mode) as process, \
            Load(base, token) as load:
        # Ready: the store answers and the projections run (an external worker holds its views).
        wait_until(lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, 15)
        time.sleep(1.5)
        private_pg.restart()
        time.sleep(2.0)
        private_pg.stop()
        down_from = time.monotonic()
        time.sleep(1.0)
        asked = time.monotonic()
        readyz = httpx.get(f"{base}/readyz", timeout=10)
        assert readyz.status_code == 503 and readyz.json()["down"] == ["store"], readyz.text
        assert time.monotonic() - asked < 2.0
        time.sleep(10 - (time.monotonic() - down_from))
        down_until = time.monotonic()
        private_pg.start()
        up_at = time.monotonic()
        try:
            recovered = wait_until(lambda: any(
                a.status == 201 and a.started > up_at for a in list(load.answers)), 5)
            ready = wait_until(
                lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, 5)
        except AssertionError:
            after = [(round(a.started - up_at, 2), round(a.seconds, 2), a.status)
                     for a in load.answers if a.started + a.seconds > up_at]
            raise AssertionError(f"not back within 5 s: {after[:40]}; readyz: "
                                 f"{httpx.get(f'{base}/readyz', timeout=5).text}") from None
        time.sleep(1.0)
        load.__exit__()
        wait_until(lambda: all(v["lag"] == 0 for v in httpx.get(
            f"{base}/readyz", timeout=2).json()["views"]), 10)
        if process is not None:
            assert process.poll() is None, "the projection worker stopped"
            reads_while_the_worker_restarts(base, token, env, process)
    answers = load.answers
    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {201, 503}, statuses
    while_down = [a for a in answers
                  if a.started > down_from + 0.5 and a.started + a.seconds < down_until]
    assert while_down, "no request was answered while the database was down"
    assert {a.status for a in while_down} == {503}, Counter(a.status for a in while_down)
    slowest = max(a.seconds for a in while_down)
    print(f"while down: {len(while_down)} answers, all 503, the slowest in {slowest:.2f} s")
    assert slowest < 2.0, f"a 503 took {slowest:.1f} s"
    assert recovered < 5 and ready < 5, (recovered, ready)

    ledger = Ledger(env=settings.eventsourcing_env())
    try:
        names = registered_names(ledger)
        accepted = {a.name for a in answers if a.status == 201}
        assert accepted, "nothing was accepted"
        assert all(names[n] == 1 for n in accepted), "a 2xx command is missing or doubled"
        assert all(count == 1 for count in names.values()), "a command recorded twice"
        side = ReadSide(settings, ledger)
        try:
            live = view_rows(side)
            rebuild(settings, ledger, read_side=side)
            assert view_rows(side) == live
        finally:
            side.close()
    finally:
        ledger.close()
