"""`ledger serve` logs one JSON line per request with its request id, and never the query
string: a token sent in one (refused) is not written anywhere (it was, in the access log)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx

from tests.fault.conftest import wait_until
from tests.servers import free_port

SECRET = "sgl_ThisIsASecretTokenThatMustNeverBeLogged"


def test_request_lines_are_json_and_hold_no_query_string(tmp_path):
    port = free_port()
    env = {**os.environ, "LEDGER_STORE": "sqlite", "LEDGER_DATA_DIR": str(tmp_path),
           "LEDGER_LOG_LEVEL": "INFO"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from api.cli import main; main()", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, 30)
        refused = httpx.get(f"{base}/board/agencies?access_token={SECRET}",
                            headers={"X-Request-ID": "trace-7"})
        assert refused.status_code == 401
        assert refused.headers["X-Request-ID"] == "trace-7"
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert SECRET not in stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    mine = [e for e in lines if e.get("request_id") == "trace-7"]
    assert len(mine) == 1, stderr[-2000:]
    assert mine[0]["route"] == "/board/agencies" and mine[0]["status"] == 401
    assert {"time", "level", "logger", "duration_ms"} <= set(mine[0])
    assert all(line.startswith("{") for line in stderr.splitlines() if line.strip()), stderr
