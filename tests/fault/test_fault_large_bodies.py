"""Four concurrent 100 MB request bodies, unauthenticated: refused with 413 before they are
read, and the API process grows by less than 50 MB (it grew by 650 MB before the limit)."""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.servers import running_server

# One private PostgreSQL per xdist worker: the fault tests all run on one.
pytestmark = [pytest.mark.fault, pytest.mark.xdist_group("fault")]

BODY = 100 * 1024 * 1024
CHUNK = 1024 * 1024


def memory_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def send(base: str, results: list, *, declared: bool) -> None:
    def body():
        for _ in range(BODY // CHUNK):
            yield b"x" * CHUNK

    headers = {"Content-Type": "application/json"}
    if declared:
        headers["Content-Length"] = str(BODY)
    try:
        response = httpx.post(f"{base}/agencies", content=body(), headers=headers, timeout=60)
        results.append(response.status_code)
    except httpx.HTTPError:
        results.append("closed")  # the server answered 413 and closed while we still sent


def test_four_100_mb_bodies_keep_the_process_small(tmp_path):
    env = {"LEDGER_STORE": "sqlite", "LEDGER_DATA_DIR": str(tmp_path)}
    with running_server(env) as base:
        pid = httpx.get(f"{base}/readyz").json()["process"]["pid"]
        before = memory_kb(pid, "VmRSS")
        results: list = []
        threads = [threading.Thread(target=send, args=(base, results),
                                    kwargs={"declared": i % 2 == 0}) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        peak = memory_kb(pid, "VmHWM")
        assert httpx.get(f"{base}/healthz").status_code == 200
    assert len(results) == 4 and set(results) <= {413, "closed"}, results
    assert 413 in results, results
    assert peak - before < 50 * 1024, f"grew by {(peak - before) / 1024:.0f} MB"
