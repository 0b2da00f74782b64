"""What operators watch: /metrics (each family the issue names), one JSON log line per
request with its request id, and no query string, token or free text in the logs."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest

from api.observability import configure_logging
from tests.servers import answers_healthz, running_server

FAMILIES = [
    "ledger_http_requests_total", "ledger_http_request_duration_seconds",
    "ledger_commands_total", "ledger_events_appended_total", "ledger_projection_position",
    "ledger_projection_lag", "ledger_merkle_log_size", "ledger_checkpoint_age_seconds",
    "ledger_db_pool_connections_in_use", "ledger_db_pool_connections",
]


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = configure_logging("INFO", stream=stream)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


def test_metrics_has_every_family(api):
    api.post("scb_manager", f"/agencies/{api.agency_a}/rename",
             {"name": "Renamed for the metrics", "reason": "test"})
    api.get("scb_manager", "/board/agencies")
    text = api.client.get("/metrics").text
    for family in FAMILIES:
        assert f"# TYPE {family} " in text, family
    assert 'route="/agencies/{agency_id}/rename"' in text
    assert 'command="rename_agency",outcome="recorded"' in text or "outcome=\"recorded\"" in text


def test_a_request_logs_one_json_line_with_its_request_id(api, json_log):
    secret = api.tokens["scb_manager"]
    api.client.get(f"/board/agencies?access_token={secret}",
                   headers={**api.headers("scb_manager"), "X-Request-ID": "trace-42"})
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    mine = [e for e in lines if e.get("request_id") == "trace-42" and e["message"] == "request"]
    assert len(mine) == 1, lines
    entry = mine[0]
    assert entry["route"] == "/board/agencies" and entry["status"] == 200
    assert entry["user_id"] and entry["level"] == "INFO" and entry["time"]
    assert entry["logger"] == "ledger.access" and entry["duration_ms"] >= 0
    assert secret not in json_log.getvalue()  # the query string is never logged


def test_metrics_are_aggregated_across_workers(tmp_path):
    env = {"LEDGER_STORE": "sqlite", "LEDGER_DATA_DIR": str(tmp_path),
           "LEDGER_PROJECTIONS": "external", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    with running_server(env, workers=2, ready=answers_healthz) as base:
        for _ in range(20):
            httpx.get(f"{base}/healthz")
        text = httpx.get(f"{base}/metrics").text
    assert list(tmp_path.glob("*.db")), "no multiprocess files were written"
    healthz = [line for line in text.splitlines()
               if line.startswith("ledger_http_requests_total") and "/healthz" in line]
    assert healthz and float(healthz[0].split()[-1]) >= 20, healthz


def test_a_page_request_logs_the_signed_in_user_and_never_the_token(api, json_log):
    from tests.api.test_pages import sign_in, user_id_of

    client = sign_in(api, "board_member")
    client.get("/", headers={"X-Request-ID": "page-1"})
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    page = [e for e in lines if e.get("request_id") == "page-1" and e["message"] == "request"]
    assert len(page) == 1 and page[0]["user_id"] == user_id_of(api, "board_member")
    assert api.tokens["board_member"] not in json_log.getvalue()  # posted in the sign-in form


def test_the_live_gauges_of_a_dead_worker_are_forgotten(tmp_path):
    import subprocess
    import sys

    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    from api.observability import forget_dead_processes

    child = ("from api.observability import POOL_SIZE, REQUESTS\n"
             "POOL_SIZE.labels('events').set(7)\n"
             "REQUESTS.labels('GET', '/healthz', '200').inc()\n")
    env = {**__import__("os").environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", child], env=env, check=True)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    assert 'ledger_db_pool_connections{pool="events"} 7.0' in generate_latest(registry).decode()
    assert len(forget_dead_processes(str(tmp_path))) == 1
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    text = generate_latest(registry).decode()
    assert 'ledger_db_pool_connections{pool="events"}' not in text  # the dead one's gauge
    assert 'route="/healthz"' in text  # its requests still count
