"""The ledger's PostgreSQL recorder: the library's, with short retries.

The library retries each statement ten times (0.2 s apart) on a connection error, and each
try waits up to the pool's timeout for a connection: with the server away, a request hung for
the whole outage. Here a statement is tried twice (0.1 s apart), so that with the pool's
half-second wait (settings.postgres_pool_timeout, set by api/composition.py) a request learns
within about a second that the store is away and answers 503. Pooled connections are checked before use
(POSTGRES_PRE_PING), so a restarted server's dead connections are replaced, not lent out.

An insert for which no connection could be had is NotSent: the Ledger then knows nothing
was recorded. A retried insert whose first COMMIT was in fact recorded (the acknowledgement
lost) fails on the unique key: the Ledger then looks its events up in the store and answers
that the write was recorded (domain/application.py, `already_recorded`).

Chosen with APPLICATION_RECORDER_TOPIC (api/settings.py); nothing else changes.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg_pool import PoolTimeout

from domain.errors import NotSent
from projections.db import quick_reconnect

_SHORT = retry((InterfaceError, OperationalError), max_attempts=2, wait=0.1)
_BASE = PostgresApplicationRecorder


class LedgerRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        # The library's pool, tried again every second at most while the server is away
        # (projections/db.py, quick_reconnect), so the service is back within a second or
        # two of the server. Its class is the library's with that one method overridden.
        pool = datastore.pool
        if not type(pool).__name__.startswith("QuickReconnect"):
            pool.__class__ = quick_reconnect(type(pool))

    _insert_with_retries = _SHORT(_BASE.insert_events.__wrapped__)  # type: ignore[attr-defined]

    def insert_events(self, stored_events: Any, **kwargs: Any) -> Any:
        try:
            return self._insert_with_retries(stored_events, **kwargs)
        except OperationalError as error:
            if isinstance(error.__cause__, PoolTimeout):  # nothing reached the server
                raise NotSent(str(error)) from error
            raise

    select_events = _SHORT(_BASE.select_events.__wrapped__)  # type: ignore[attr-defined]
    select_notifications = _SHORT(
        _BASE.select_notifications.__wrapped__)  # type: ignore[attr-defined]
    max_notification_id = _SHORT(
        _BASE.max_notification_id.__wrapped__)  # type: ignore[attr-defined]
