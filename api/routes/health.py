"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import LedgerDep, ReadModelsDep, ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (no store access)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {
    "description": "store unreachable, a view stopped, or a proof found the Merkle log corrupt"}})
def readyz(ledger: LedgerDep, read_models: ReadModelsDep,
           services: ServicesDep) -> JSONResponse:
    """The store answers, every view runs, and no proof has found the Merkle log's node table
    corrupt: each view's position, lag and any stop (the view, the position and the error)
    are reported, and the corrupt node if any. 503 when any of that is not so."""
    try:
        ledger.ping()
        views = read_models.status()
    except Exception as error:  # noqa: BLE001 - readiness must answer, whatever failed
        return JSONResponse({"status": "unavailable", "store": f"unreachable: {error}"},
                            status_code=503)
    ready = bool(views.get("ok"))
    body: dict[str, Any] = {"status": "ready" if ready else "degraded", "store": "ok", **views}
    integrity = services.opened_integrity
    if integrity is not None and integrity.corruption is not None:
        ready = False
        body.update(status="degraded", merkle_log=integrity.corruption)
    return JSONResponse(body, status_code=200 if ready else 503)
