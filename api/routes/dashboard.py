"""The pages' static files (style sheets, icon, vendored scripts), and the old dashboard's
address, which now leads to the overview. Not part of the OpenAPI schema."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.web import HERE

router = APIRouter(include_in_schema=False)
router.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


@router.get("/dashboard")
def dashboard() -> RedirectResponse:
    return RedirectResponse("/", 308)
