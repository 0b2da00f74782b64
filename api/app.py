"""create_app(settings): the FastAPI application, built with a lifespan (nothing at import)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from api import errors
from api.composition import open_services
from api.edge import Edge
from api.observability import RequestLog
from api.reveal import RevealMiddleware
from api.routes import (
    actions,
    agencies,
    audit,
    board,
    challenges,
    dashboard,
    health,
    integrity,
    my_work,
    pack,
    page_forms,
    pages,
    partnerships,
    plan_pages,
    reports,
    reviews,
    sign_in,
    users,
)
from api.settings import Settings
from api.web import error_page
from domain.actors import ROLES_PREAMBLE, render_roles_table
from domain.ledger import Ledger


def create_app(settings: Settings | None = None, *, ledger: Ledger | None = None) -> FastAPI:
    """Build the app. Its lifespan opens every part through the composition root (the runner
    thread of the views and the Merkle log only with in-process projections) and closes them
    in reverse. Tests may pass a ready Ledger, which its owner closes."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The threads that run requests (the sync routes and dependencies): the pools are
        # sized to them (api/settings.py), so a request never waits long for a connection.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        with open_services(settings, ledger=ledger, pages=True) as services:
            app.state.services = services
            try:
                yield
            finally:
                del app.state.services

    app = FastAPI(
        title="Safeguarding accountability ledger",
        version="0.1.0",
        description="Every decision, action update and professional challenge of child "
                    "safeguarding practice reviews, as immutable events.\n\n"
                    "## Who may do what\n\n" + ROLES_PREAMBLE + render_roles_table(),
        lifespan=lifespan,
    )
    errors.install(app, html_page=error_page)
    app.add_middleware(RevealMiddleware)
    # Outermost but for Starlette's error middleware: refuses oversized bodies and control
    # characters before routing or authentication, and logs and counts every request.
    app.add_middleware(Edge, max_body=settings.max_request_body,
                       body_timeout=settings.body_timeout, request_log=RequestLog())
    for router in (health.router, partnerships.router, agencies.router, users.router,
                   reviews.router,
                   actions.router, challenges.router, board.router, reports.router,
                   audit.router,
                   dashboard.router, integrity.router, sign_in.router, pages.router,
                   page_forms.router, my_work.router, plan_pages.router,
                   pack.router):
        app.include_router(router)
    return app
