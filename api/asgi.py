"""ASGI entry for uvicorn (`uvicorn --factory api.asgi:app_factory`): settings come from the
environment when the server starts, not at import."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from api.observability import configure_logging
from api.settings import Settings


def app_factory() -> FastAPI:
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)
