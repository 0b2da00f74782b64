"""The gauges `/metrics` samples when it is scraped: each view's position and lag, the Merkle
log's size, the age of the latest signed checkpoint, and the pools' use. Each is read from
the store, so every worker reports the same; a part that cannot be read now is left as it
was (a scrape never fails because the store is away)."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from api.composition import Services
from api.observability import (
    CHECKPOINT_AGE,
    MERKLE_SIZE,
    POOL_IN_USE,
    POOL_SIZE,
    PROJECTION_LAG,
    PROJECTION_POSITION,
)

log = logging.getLogger("ledger.metrics")


def sample_gauges(services: Services) -> None:
    with contextlib.suppress(Exception):
        status = services.read_models.status()
        for row in status.get("views", []):
            PROJECTION_POSITION.labels(row["view"]).set(row["position"])
            PROJECTION_LAG.labels(row["view"]).set(row["lag"])
    if services.opened_merkle is not None:
        with contextlib.suppress(Exception):
            MERKLE_SIZE.set(services.opened_merkle.size())
    if services.opened_integrity is not None:
        with contextlib.suppress(Exception):
            age = checkpoint_age(services)
            if age is not None:
                CHECKPOINT_AGE.set(age)
    for name, pool in pools(services).items():
        stats = pool.get_stats()
        size = stats.get("pool_size", 0)
        POOL_SIZE.labels(name).set(size)
        POOL_IN_USE.labels(name).set(max(0, size - stats.get("pool_available", 0)))


def checkpoint_age(services: Services) -> float | None:
    """Seconds since the latest CheckpointRecorded of this log (None: none yet)."""
    integrity_log = services.integrity.integrity_log()
    if integrity_log is None or integrity_log.latest is None:
        return None
    for event in services.ledger.events.get(integrity_log.id, desc=True):
        if type(event).__name__ == "CheckpointRecorded":
            return (datetime.now(UTC) - event.timestamp).total_seconds()
    return None


def pools(services: Services) -> dict[str, Any]:
    """The psycopg pools this process holds (PostgreSQL only)."""
    found: dict[str, Any] = {}
    store = services.ledger.store
    datastore = getattr(store.recorder, "datastore", None)
    pool = getattr(datastore, "pool", None)
    if pool is not None and hasattr(pool, "get_stats"):
        found["events"] = pool
    if services.opened_read_models is not None:
        views_pool = getattr(services.opened_read_models.read_side.db, "pool", None)
        if views_pool is not None and hasattr(views_pool, "get_stats"):
            found["views"] = views_pool
    return found
