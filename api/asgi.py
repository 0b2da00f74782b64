"""ASGI entry for uvicorn (`uvicorn --factory api.asgi:app_factory`): settings come from the
environment when the server starts, not at import."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app


def app_factory() -> FastAPI:
    return create_app()
