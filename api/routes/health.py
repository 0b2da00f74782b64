"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import LedgerDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (no store access)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "store unreachable or a view stopped"}})
def readyz(ledger: LedgerDep) -> JSONResponse:
    """The store answers; each projection's position, lag and any stop are reported."""
    body: dict[str, Any] = {"status": "ready", "store": "ok"}
    try:
        body["head_position"] = ledger.head_position()
    except Exception as error:  # readiness must answer, whatever the store raised
        return JSONResponse({"status": "unavailable", "store": f"unreachable: {error}"},
                            status_code=503)
    return JSONResponse(body)
