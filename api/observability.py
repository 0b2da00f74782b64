"""What the service tells its operators: Prometheus metrics and structured JSON logs.

Metrics (prometheus-client): with PROMETHEUS_MULTIPROC_DIR set (several uvicorn workers, or
the API beside the projection worker) every process writes its samples to files in that
directory and `GET /metrics` aggregates them (multiprocess mode); without it, this process's
registry is served. The metric objects are the library's usual module-level collectors: they
hold no connection and no setting, only counters.

Logs: one JSON object a line (python-json-logger): time, level, logger, message, and for a
request its request id, user id, route template, status and duration. Query strings are never
logged (a token sent in one must not reach a log file), nor tokens, token hashes, or the free
text of events.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
CURRENT_SCOPE: contextvars.ContextVar[Any] = contextvars.ContextVar("scope", default=None)

REQUESTS = Counter("ledger_http_requests_total", "HTTP requests answered",
                   ["method", "route", "status"])
LATENCY = Histogram("ledger_http_request_duration_seconds", "HTTP request latency",
                    ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
COMMANDS = Counter("ledger_commands_total", "commands by type and outcome",
                   ["command", "outcome"])
EVENTS_APPENDED = Counter("ledger_events_appended_total", "events appended to the ledger")
PROJECTION_POSITION = Gauge("ledger_projection_position", "last position a view applied",
                            ["view"], multiprocess_mode="livemax")
PROJECTION_LAG = Gauge("ledger_projection_lag", "events the view has not applied yet",
                       ["view"], multiprocess_mode="livemax")
MERKLE_SIZE = Gauge("ledger_merkle_log_size", "leaves in the Merkle log",
                    multiprocess_mode="livemax")
CHECKPOINT_AGE = Gauge("ledger_checkpoint_age_seconds", "age of the latest signed checkpoint",
                       multiprocess_mode="livemin")
POOL_IN_USE = Gauge("ledger_db_pool_connections_in_use", "connections lent out by a pool",
                    ["pool"], multiprocess_mode="livesum")
POOL_SIZE = Gauge("ledger_db_pool_connections", "connections held by a pool",
                  ["pool"], multiprocess_mode="livesum")


def forget_dead_processes(directory: str) -> list[int]:
    """The live gauges of processes that are gone (a worker uvicorn replaced, a worker
    restarted) are dropped, as prometheus-client's mark_process_dead does; returns their
    pids. Counters and histograms of the dead are kept: they still count."""
    dead = set()
    for name in os.listdir(directory):
        if not (name.startswith("gauge_live") and name.endswith(".db")):
            continue
        pid = int(name.rsplit("_", 1)[1].removesuffix(".db"))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            dead.add(pid)
        except PermissionError:  # alive, another user's
            pass
    for pid in dead:
        _multiprocess.mark_process_dead(pid, directory)
    return sorted(dead)


def metrics_payload() -> tuple[bytes, str]:
    """The exposition text: every process's samples in multiprocess mode, else this one's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        forget_dead_processes(directory)
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# ---- logs ----------------------------------------------------------------------------------

class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


def configure_logging(level: str = "INFO", *, stream: Any = None) -> logging.Handler:
    """Every log record as one JSON line on stderr (or `stream`). Idempotent; returns the
    handler."""
    from pythonjsonlogger.json import JsonFormatter

    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_ledger_json", False) and stream is None:
            root.setLevel(level)
            return handler
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(
        "%(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"levelname": "level", "name": "logger"}, timestamp="time"))
    handler.addFilter(_RequestIdFilter())
    handler._ledger_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's access log carries the query string: the request log below replaces it.
    logging.getLogger("uvicorn.access").disabled = True
    # HTTP clients log whole URLs (query strings included) at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    return handler


class RequestLog:
    """One log line and the request metrics for each answered request."""

    def __init__(self) -> None:
        self.log = logging.getLogger("ledger.access")

    def done(self, scope: dict[str, Any] | Any, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "-")
        REQUESTS.labels(method, template, str(status)).inc()
        LATENCY.labels(method, template).observe(seconds)
        state = scope.get("state") or {}
        user_id = state.get("user_id")  # an API token's user (api/deps.get_actor)
        if user_id is None and state.get("actor") is not None:  # a page's session
            user_id = getattr(state["actor"], "user_id", None)
        self.log.info("request", extra={
            "request_id": REQUEST_ID.get(), "user_id": user_id,
            "method": method, "route": template, "status": status,
            "duration_ms": round(seconds * 1000, 2),
        })
