"""Liveness and readiness."""

from __future__ import annotations

import os
import socket
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from api.deps import LedgerDep, ReadModelsDep, ServicesDep, SettingsDep
from api.gauges import sample_gauges
from api.observability import metrics_payload

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (no store access)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "what is down, named"}})
def readyz(ledger: LedgerDep, read_models: ReadModelsDep, settings: SettingsDep,
           services: ServicesDep) -> JSONResponse:
    """Ready when the store answers, the projections run (the in-process thread is alive,
    or an external worker holds every view), no view stopped, no view lags more than
    settings.ready_max_lag events, and no proof has found the Merkle log's node table
    corrupt. Otherwise 503, naming what is down. Either way it says which process answered
    (host and pid): behind a load balancer, which worker was asked."""
    process = {"host": socket.gethostname(), "pid": os.getpid()}
    try:
        ledger.ping()
        views = read_models.status()
    except Exception as error:  # noqa: BLE001 - readiness must answer, whatever failed
        return JSONResponse({"status": "unavailable", "down": ["store"],
                             "store": f"unreachable: {type(error).__name__}",
                             "process": process}, status_code=503,
                            headers={"Retry-After": "2"})
    down = []
    runner = views.get("runner", {})
    if runner.get("alive") is False:
        down.append("projection worker" if runner.get("mode") == "external"
                    else "in-process projections")
    down += [f"view {v['view']} stopped" for v in views.get("views", []) if v.get("failed")]
    down += [f"view {v['view']} lags {v['lag']} events" for v in views.get("views", [])
             if not v.get("failed") and v.get("lag", 0) > settings.ready_max_lag]
    body: dict[str, Any] = {"store": "ok", **views}
    integrity = services.opened_integrity
    if integrity is not None and integrity.corruption is not None:
        down.append("merkle log corrupt")
        body["merkle_log"] = integrity.corruption
    ready = not down and bool(views.get("ok"))
    body.update(status="ready" if ready else "degraded", down=down, process=process)
    return JSONResponse(body, status_code=200 if ready else 503,
                        headers=None if ready else {"Retry-After": "2"})


@router.get("/metrics", include_in_schema=False)
def metrics(services: ServicesDep) -> Response:
    """Prometheus exposition (every worker's samples in multiprocess mode). The gauges that
    describe the store (projection positions and lag, the Merkle log, the latest checkpoint,
    the pools) are sampled now."""
    sample_gauges(services)
    payload, content_type = metrics_payload()
    return Response(payload, media_type=content_type)
