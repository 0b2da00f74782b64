"""A private PostgreSQL for the fault tests: its own data directory and port, started and
broken by the test (fast restart, stop), never the shared server.

Marked `fault`; skipped with LEDGER_SKIP_FAULT=1 (or `-m "not fault"`). Under CI=true a
missing PostgreSQL installation is a failure, not a skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import free_port


@pytest.fixture(autouse=True)
def _skippable() -> None:
    if os.environ.get("LEDGER_SKIP_FAULT") == "1":
        pytest.skip("LEDGER_SKIP_FAULT=1")


def _bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return str(Path(found[-1]).parent) if found else None


@dataclass
class PrivatePostgres:
    bin: str
    data: Path
    port: int
    log: Path

    def _ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(_as_postgres([f"{self.bin}/pg_ctl", "-D", str(self.data), "-l",
                                     str(self.log), *args]), check=check,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def start(self) -> None:
        self._ctl("-w", "-o", f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 "
                  "-c fsync=off -c max_connections=60", "start")

    def stop(self) -> None:
        self._ctl("-w", "-m", "fast", "stop")

    def restart(self) -> None:
        self._ctl("-w", "-m", "fast", "-o", f"-p {self.port} -k {self.data} "
                  "-c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
                  "restart")

    def env(self, schema: str = "public") -> dict[str, str]:
        return {"LEDGER_STORE": "postgres", "LEDGER_POSTGRES_HOST": "127.0.0.1",
                "LEDGER_POSTGRES_PORT": str(self.port), "LEDGER_POSTGRES_DBNAME": "postgres",
                "LEDGER_POSTGRES_USER": "postgres", "LEDGER_POSTGRES_PASSWORD": "postgres",
                "LEDGER_POSTGRES_SCHEMA": schema}


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivatePostgres]:
    bin_dir = _bin()
    if bin_dir is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true: the fault tests need PostgreSQL's server binaries")
        pytest.skip("no /usr/lib/postgresql/*/bin/initdb")
    root = Path(tempfile.mkdtemp(prefix="ledger-fault-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    subprocess.run(_as_postgres([f"{bin_dir}/initdb", "-D", str(data), "-A", "trust",
                                 "-U", "postgres", "--no-sync"]),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=120)
    pg = PrivatePostgres(bin_dir, data, free_port(), root / "server.log")
    pg.start()
    try:
        yield pg
    finally:
        pg._ctl("-m", "immediate", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fault_schema(private_pg: PrivatePostgres) -> str:
    import uuid

    import psycopg

    name = f"f_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(host="127.0.0.1", port=private_pg.port, dbname="postgres",
                         user="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    return name


def wait_until(predicate, seconds: float, step: float = 0.05) -> float:
    """Seconds until predicate() held; fails after `seconds`."""
    start = time.monotonic()
    while True:
        try:
            if predicate():
                return time.monotonic() - start
        except Exception:  # noqa: BLE001, S110 - not yet
            pass
        if time.monotonic() - start > seconds:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(step)
