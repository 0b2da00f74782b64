"""Every error is application/problem+json (RFC 9457): type, title, status, detail and, for
validation, the fields at fault. Domain rule breaches map to 4xx by their class, never 500."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import DomainError, OutcomeUnknown

log = logging.getLogger("ledger.api")
PROBLEM = "application/problem+json"
TYPE_BASE = "https://ledger.invalid/problems/"


class FieldProblem(BaseModel):
    field: str = Field(description="where the problem is, e.g. body.due_on or header.If-Match")
    reason: str


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = Field(default_factory=list)


class ServiceUnavailable(Exception):
    """The store or a dependency cannot be reached right now (503, retry later)."""


def problem(status: int, title: str, detail: str, *, kind: str,
            errors: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    body = Problem(type=TYPE_BASE + kind, title=title, status=status, detail=detail,
                   errors=[FieldProblem(**e) for e in errors or []])
    return JSONResponse(body.model_dump(), status_code=status, media_type=PROBLEM,
                        headers=headers)


def _kind(error: DomainError) -> str:
    name = type(error).__name__
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


HtmlPage = Callable[[Request, int, str, str], Any]


def _is_page(request: Request) -> bool:
    """A request for a page (not the API): its route marks it (api/web.PageRoute)."""
    return bool(getattr(request.state, "page", False))


def install(app: FastAPI, html_page: HtmlPage | None = None) -> None:
    """Problem details for the API; with html_page, pages get an error page instead."""
    @app.exception_handler(DomainError)
    def domain_error(_: Request, error: DomainError) -> JSONResponse:
        errors = [{"field": error.field, "reason": error.detail}] if error.field else None
        return problem(error.status, error.title, error.detail, kind=_kind(error), errors=errors)

    @app.exception_handler(RequestValidationError)
    def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_name(e.get("loc", ())), "reason": e.get("msg", "invalid")}
                  for e in error.errors()]
        fields = ", ".join(e["field"] for e in errors)
        if any(e.get("type") == "json_invalid" for e in error.errors()):
            return problem(400, "Malformed JSON", "the request body is not valid JSON",
                           kind="malformed-json",
                           errors=[{"field": "body", "reason": "not valid JSON"}])
        return problem(422, "Invalid request", f"the request is not valid: {fields}",
                       kind="validation", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, error: StarletteHTTPException) -> Any:
        if html_page and error.status_code == 404 and "text/html" in request.headers.get(
                "accept", ""):  # a person's browser: a page, not JSON
            return html_page(request, 404, "Not found",
                             f"There is nothing at {request.url.path}.")
        titles = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden",
                  404: "Not found", 405: "Method not allowed", 406: "Not acceptable",
                  412: "Precondition failed", 428: "Precondition required"}
        detail = error.detail if isinstance(error.detail, str) else str(error.detail)
        return problem(error.status_code, titles.get(error.status_code, "Error"), detail,
                       kind=str(error.status_code), headers=getattr(error, "headers", None))

    @app.exception_handler(ServiceUnavailable)
    def unavailable(request: Request, error: ServiceUnavailable) -> Any:
        if html_page and _is_page(request):
            response = html_page(request, 503, "Not available just now",
                                 f"The ledger cannot answer this page right now ({error}). "
                                 "Try again in a few seconds.")
            response.headers["Retry-After"] = "5"
            return response
        return problem(503, "Service unavailable", str(error), kind="unavailable",
                       headers={"Retry-After": "5"})

    @app.exception_handler(OutcomeUnknown)
    def outcome_unknown(_: Request, error: OutcomeUnknown) -> JSONResponse:
        return problem(503, "Service unavailable: outcome unknown", str(error),
                       kind="outcome-unknown", headers={"Retry-After": "2"})

    last_logged = [0.0]

    def store_unavailable(request: Request, error: Exception) -> Any:
        now = time.monotonic()
        if now - last_logged[0] > 10:  # once per outage, not once per request
            last_logged[0] = now
            log.warning("store unavailable: %s: %s", type(error).__name__,
                        str(error).strip()[:200])
        if html_page and _is_page(request):
            response = html_page(request, 503, "Not available just now",
                                 "The ledger's store cannot be reached right now. Try again "
                                 "in a few seconds.")
            response.headers["Retry-After"] = "2"
            return response
        return problem(503, "Service unavailable", "the ledger store cannot be reached",
                       kind="unavailable", headers={"Retry-After": "2"})

    # Registered by class, so that Starlette answers them without re-raising (as it does
    # for the catch-all below): the store being away is not a server error.
    for cls in _store_error_classes():
        app.add_exception_handler(cls, store_unavailable)

    @app.exception_handler(Exception)
    def unexpected(request: Request, error: Exception) -> Any:
        # A store that cannot be reached is a 503 (retry), anything else a logged 500.
        if html_page and _is_page(request):
            if not _is_store_unavailable(error):
                log.error("unexpected error", exc_info=error)
            return html_page(request, 503 if _is_store_unavailable(error) else 500,
                             "Something went wrong",
                             "This page could not be made; the error was logged. Try again, "
                             "or tell the partnership's SCB manager.")
        if _is_store_unavailable(error):
            return problem(503, "Service unavailable", "the ledger store cannot be reached",
                           kind="unavailable", headers={"Retry-After": "2"})
        log.error("unexpected error", exc_info=error)
        return problem(500, "Internal error", "an unexpected error occurred; it was logged",
                       kind="internal")


def _store_error_classes() -> list[type[Exception]]:
    from eventsourcing.persistence import InterfaceError, OperationalError

    classes: list[type[Exception]] = [OperationalError, InterfaceError]
    try:
        import psycopg
        from psycopg_pool import PoolTimeout, TooManyRequests
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return classes
    return [*classes, psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout,
            TooManyRequests]


def _is_store_unavailable(error: Exception) -> bool:
    from eventsourcing.persistence import InterfaceError, OperationalError

    if isinstance(error, OperationalError | InterfaceError | TimeoutError | ConnectionError):
        return True
    try:  # the read side's own pool and queries raise psycopg's errors
        import psycopg
        from psycopg_pool import PoolTimeout, TooManyRequests
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError | PoolTimeout
                      | TooManyRequests)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declarations of the problem responses a route can give."""
    descriptions = {
        400: "Malformed request", 401: "Missing, unknown or revoked token",
        403: "The role or agency may not do this", 404: "No such record",
        409: "Not allowed at this stage, or a conflicting concurrent write",
        412: "If-Match names a version that is no longer current",
        422: "Invalid request or a domain rule refused it", 503: "Store unavailable",
    }
    return {s: {"model": Problem, "description": descriptions[s],
                "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for s in statuses}


READ_ERRORS = responses(401, 403, 404, 422, 503)
WRITE_ERRORS = responses(400, 401, 403, 404, 409, 412, 422, 503)
