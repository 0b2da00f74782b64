"""The pages' static files (style sheets, icon, vendored scripts), and the token dashboard.

The dashboard (/dashboard) is a shell that holds no data, so it needs no token: the browser
keeps an API token (sessionStorage only) and reads the Board's JSON views with it, so every
rule about who may read what stays with the API. People who sign in use the pages (/, see
api/routes/pages.py) instead. Not part of the OpenAPI schema.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.web import HERE, templates

router = APIRouter(include_in_schema=False)
router.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

# Only this origin's script, style and API: an injected script could read the token.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, "dashboard.html", {"version": request.app.version})
    response.headers.update(SECURITY_HEADERS)
    return response
