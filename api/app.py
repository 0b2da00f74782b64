"""create_app(settings): the FastAPI application, built with a lifespan (nothing at import)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.composition import build_ledger
from api.integrity_service import IntegrityService, MerkleFollower
from api.routes import (
    actions,
    agencies,
    audit,
    board,
    challenges,
    dashboard,
    health,
    integrity,
    reviews,
    users,
)
from api.settings import ProjectionMode, Settings
from domain.ledger import Ledger
from projections.service import open_read_models


def create_app(settings: Settings | None = None, *, ledger: Ledger | None = None) -> FastAPI:
    """Build the app. Tests may pass a ready Ledger; otherwise the lifespan builds one."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = ledger is None
        app.state.settings = settings
        app.state.ledger = ledger or build_ledger(settings)
        # The views (and, with one worker, the thread that keeps them current).
        in_process = settings.projections is ProjectionMode.IN_PROCESS
        app.state.read_models = open_read_models(settings, app.state.ledger,
                                                 run_in_process=in_process)
        # The signing key, the append-only guard and the Merkle log; with one worker this
        # process also keeps the log level with the events (else `ledger project` does).
        app.state.integrity = IntegrityService(settings, app.state.ledger)
        follower = MerkleFollower(app.state.integrity) if in_process else None
        try:
            yield
        finally:
            if follower is not None:
                follower.stop()
            app.state.integrity.close()
            app.state.read_models.close()
            if owned:
                app.state.ledger.close()

    app = FastAPI(
        title="Safeguarding accountability ledger",
        version="0.1.0",
        description="Every decision, action update and professional challenge of child "
                    "safeguarding practice reviews, as immutable events.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    if ledger is not None:  # ready before any lifespan runs (ASGI test transports may skip it)
        app.state.ledger = ledger
    errors.install(app)
    for router in (health.router, agencies.router, users.router, reviews.router,
                   actions.router, challenges.router, board.router, audit.router,
                   dashboard.router, integrity.router):
        app.include_router(router)
    return app
