"""The composition root: builds the Ledger (and later the projections) from settings."""

from __future__ import annotations

from api.settings import Settings, Store
from domain.ledger import Ledger
from projections.db import advisory_key


def build_ledger(settings: Settings) -> Ledger:
    env = settings.eventsourcing_env()
    if settings.store is not Store.POSTGRES:
        return Ledger(env=env)
    # The library creates (or replaces) its table, type and function on every start: two
    # processes doing so at once (the API's workers and the projection worker, started
    # together) fail with "tuple concurrently updated". One at a time, per schema.
    import psycopg

    key = advisory_key(f"ledger-start:{settings.postgres_schema}@{settings.postgres_dbname}")
    with psycopg.connect(host=settings.postgres_host, port=settings.postgres_port,
                         dbname=settings.postgres_dbname, user=settings.postgres_user,
                         password=settings.postgres_password.get_secret_value(),
                         connect_timeout=settings.postgres_connect_timeout,
                         autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        return Ledger(env=env)  # the lock goes with the session, when the connection closes
