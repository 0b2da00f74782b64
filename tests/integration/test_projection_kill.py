"""A PostgreSQL projection worker killed with SIGKILL in the middle of a batch resumes from its
tracking with nothing applied twice; a second worker for the same views is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from api.settings import Settings
from domain.actors import Actor, Role
from domain.agency import Agency
from domain.ledger import Ledger
from domain.store import PostgresStore
from domain.user import User
from projections.locks import ViewBusy
from projections.readside import ReadSide
from projections.rebuild import rebuild
from projections.runner import run_projections

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
OPERATOR = Actor("operator:test", Role.OPERATOR, name="op")

# The worker: `run_projections` until SIGTERM. With SLOW set, every audit entry takes a
# millisecond, so a batch of 500 events keeps its transaction open for half a second.
WORKER = """
import json, os, signal, threading, time
from api.settings import Settings
from domain.ledger import Ledger
from projections.audit import AuditTrail
from projections.runner import run_projections
if os.environ.get("SLOW"):
    fast = AuditTrail.apply
    def apply(self, changes, items):
        for item in items:
            time.sleep(0.001)
            fast(self, changes, [item])
    AuditTrail.apply = apply
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
ledger = Ledger(env=json.loads(os.environ["LEDGER_ENV"]))
run_projections(Settings(data_dir=os.environ["VIEWS_DIR"]), ledger, stop)
"""


@pytest.fixture(params=["postgres"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def ledger_env(ledger: Ledger) -> dict[str, str]:
    store = ledger.store
    assert isinstance(store, PostgresStore)
    kwargs = store.connect_kwargs
    return {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": kwargs["dbname"],
            "POSTGRES_HOST": kwargs["host"], "POSTGRES_PORT": str(kwargs["port"]),
            "POSTGRES_USER": kwargs["user"], "POSTGRES_PASSWORD": kwargs["password"],
            "POSTGRES_SCHEMA": store.schema}


def worker(ledger: Ledger, tmp_path: Path, *, slow: bool) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LEDGER_ENV": json.dumps(ledger_env(ledger)),
           "VIEWS_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    if slow:
        env["SLOW"] = "1"
    return subprocess.Popen([sys.executable, "-c", WORKER], env=env, cwd=ROOT,
                            stderr=subprocess.PIPE)


def fill(ledger: Ledger, agencies: int) -> int:
    """Agencies registered and renamed, and users, saved a few hundred per transaction."""
    on = date(2025, 1, 6)
    for start in range(0, agencies, 250):
        batch = []
        for n in range(start, min(start + 250, agencies)):
            agency = Agency.register(actor=OPERATOR, occurred_on=on, name=f"Agency {n}",
                                     kind="health", statutory_partner=False,
                                     partnerships=["SSSCB"])
            agency.rename(actor=OPERATOR, occurred_on=on, name=f"Trust {n}", reason="merger")
            user = User.register(actor=OPERATOR, occurred_on=on, name=f"Lead {n}",
                                 role="agency_lead", agency_id=agency.id)
            batch += [agency, user]
        ledger.save(*batch)
    return ledger.head_position()


def wait_until(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def side(ledger: Ledger, tmp_path: Path) -> Iterator[ReadSide]:
    read_side = ReadSide(Settings(data_dir=tmp_path), ledger)
    yield read_side
    read_side.close()


def dump(side: ReadSide) -> dict[str, Any]:
    return {t.name: side.db.query(f"SELECT * FROM {{{t.name}}} ORDER BY {', '.join(t.key)}")
            for v in side.views.values() for t in v.projection_class.tables}


def test_killed_worker_resumes_and_every_view_equals_a_rebuild(
        ledger: Ledger, side: ReadSide, tmp_path: Path) -> None:
    head = fill(ledger, 600)
    first = worker(ledger, tmp_path, slow=True)
    try:
        wait_until(lambda: 0 < side.positions()["audit"])  # one batch committed ...
        time.sleep(0.25)  # ... and the next one half applied, its transaction open
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    killed_at = side.positions()
    assert killed_at["audit"] < head, "the worker finished before it was killed"
    # The other views had applied the batch the audit view was still in: killed inside it.
    assert killed_at["directory"] > killed_at["audit"]
    second = worker(ledger, tmp_path, slow=False)  # the same views: the locks were freed
    try:
        wait_until(lambda: min(side.positions().values()) >= head)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(10) == 0, second.stderr.read().decode() if second.stderr else ""
    incremental = dump(side)
    rebuild(Settings(data_dir=tmp_path), ledger, read_side=side)
    assert dump(side) == incremental
    assert len(incremental["view_audit"]) == head


def test_a_second_worker_is_refused_and_the_first_goes_on(
        ledger: Ledger, side: ReadSide, tmp_path: Path) -> None:
    fill(ledger, 10)
    first = worker(ledger, tmp_path, slow=False)
    try:
        wait_until(lambda: min(side.positions().values()) >= ledger.head_position())
        with pytest.raises(ViewBusy, match=r"another worker is already running view\(s\) "
                                           r"directory \(PostgreSQL backend pid \d+\)"):
            run_projections(Settings(data_dir=tmp_path), ledger, threading.Event())
        position = fill(ledger, 5)
        wait_until(lambda: min(side.positions().values()) >= position)
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(10)
