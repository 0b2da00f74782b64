"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from api.deps import LedgerDep, ReadModelsDep, ServicesDep
from api.gauges import sample_gauges
from api.observability import metrics_payload

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (no store access)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "store unreachable or a view stopped"}})
def readyz(ledger: LedgerDep, read_models: ReadModelsDep) -> JSONResponse:
    """The store answers, and every view runs: each one's position, lag and any stop (the
    view, the position and the error) are reported. 503 when any of that is not so."""
    try:
        ledger.ping()
        views = read_models.status()
    except Exception as error:  # noqa: BLE001 - readiness must answer, whatever failed
        return JSONResponse({"status": "unavailable", "store": f"unreachable: {error}"},
                            status_code=503)
    ready = bool(views.get("ok"))
    body: dict[str, Any] = {"status": "ready" if ready else "degraded", "store": "ok", **views}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(services: ServicesDep) -> Response:
    """Prometheus exposition (every worker's samples in multiprocess mode). The gauges that
    describe the store (projection positions and lag, the Merkle log, the latest checkpoint,
    the pools) are sampled now."""
    sample_gauges(services)
    payload, content_type = metrics_payload()
    return Response(payload, media_type=content_type)
