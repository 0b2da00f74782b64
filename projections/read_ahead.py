"""A bulk load's reads on PostgreSQL, one batch ahead.

Before the views take one batch, the next batch's query is sent (libpq's pipeline mode: its
results are read only when they are wanted), so the server runs it and sends its rows while
the views work; the loading thread then reads rows that have already arrived. No other
thread is involved: reading whole batches in a thread of their own (as the runner's
catch-up does) made that thread and the loading thread contend for the interpreter lock,
and the load was no faster. At 100k actions the loading thread had spent about 8% of a
rebuild waiting for its reads (py-spy); measured in alternation, the rebuild gained about a
point of the read-and-decode rate at 10k and at 100k (the server, on the same two cores,
now runs the query while the views need a core too).

Without a Sync the pipeline's statements share one implicit transaction, each under its own
snapshot (read committed), like the view transactions a load holds open anyway.

The rows are the ones the recorder's `select_notifications` returns, read on a connection
of the load's own. If that connection fails, the recorder (and its retries) reads the rest,
one batch at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from projections.base import View
from projections.db import Db
from projections.runner import Feed, Item

log = logging.getLogger("ledger.projections")


class ReadAheadFeed(Feed):
    """A Feed for one bulk load up to `stop_at` (nothing is asked for past it); close() it
    at the end."""

    def __init__(self, ledger: Any, views: Sequence[View], db: Db, *, stop_at: int) -> None:
        super().__init__(ledger, views)
        from psycopg import sql

        recorder = ledger.recorder
        self.query = sql.SQL(
            "SELECT notification_id AS id, originator_id, originator_version, topic, state "
            "FROM {}.{} WHERE notification_id > %s ORDER BY notification_id LIMIT %s").format(
            sql.Identifier(recorder.datastore.schema or "public"),
            sql.Identifier(recorder.events_table_name))
        self.db = db
        self.stop_at = stop_at
        self.conn: Any = None
        self.pipeline: Any = None
        self.ahead: tuple[int, int, Any] | None = None  # after, limit, its cursor
        self.failed = False  # the read connection failed: the recorder reads the rest

    def read(self, after: int, limit: int) -> tuple[list[Any], list[Item]]:
        import psycopg

        rows = self._rows(after, limit)
        if not self.failed and len(rows) == limit and rows[-1].id < self.stop_at:
            try:
                self.ahead = (rows[-1].id, limit, self._ask(rows[-1].id, limit))
            except psycopg.Error as error:
                self._give_up(error)
        return rows, self.decode(rows)

    def _rows(self, after: int, limit: int) -> list[Any]:
        import psycopg

        if self.failed:
            return list(self._select(after, limit))
        ahead, self.ahead = self.ahead, None
        try:
            if ahead is not None and ahead[:2] == (after, limit):
                cursor = ahead[2]
            else:
                if ahead is not None:
                    _discard(ahead[2])  # asked for out of turn
                cursor = self._ask(after, limit)
            with cursor:
                return cursor.fetchall()
        except psycopg.Error as error:
            self._give_up(error)
            return list(self._select(after, limit))

    def _ask(self, after: int, limit: int) -> Any:
        """Send the query for a batch: the cursor its rows will be read from. Its rows are
        named tuples with the fields of the recorder's Notification, which the mapper reads
        (made by psycopg as the rows arrive: a frozen dataclass, set field by field, was 3%
        of a rebuild's time)."""
        from psycopg.rows import namedtuple_row

        if self.conn is None:
            self.conn = self.db.connect()
            self.pipeline = self.conn.pipeline()
            self.pipeline.__enter__()
        cursor = self.conn.cursor(row_factory=namedtuple_row)
        cursor.execute(self.query, (after, limit), prepare=True)
        return cursor

    def _give_up(self, error: BaseException) -> None:
        log.warning("bulk load: reading ahead failed (%s: %s): reading batch by batch",
                    type(error).__name__, error)
        self.failed = True
        self.ahead = None
        self._disconnect()

    def close(self) -> None:
        ahead, self.ahead = self.ahead, None
        if ahead is not None:
            _discard(ahead[2])
        self._disconnect()

    def _disconnect(self) -> None:
        conn, pipeline, self.conn, self.pipeline = self.conn, self.pipeline, None, None
        if conn is None:
            return
        try:
            if pipeline is not None and not conn.broken:
                pipeline.__exit__(None, None, None)  # collects what is still on its way
        except Exception as error:  # noqa: BLE001 - the connection is closed next anyway
            log.warning("bulk load: ending the read pipeline failed: %s", error)
        finally:
            conn.close()


def _discard(cursor: Any) -> None:
    """A batch asked for and not wanted: its rows are read (the pipeline expects them) and
    dropped."""
    try:
        cursor.fetchall()
    except Exception as error:  # noqa: BLE001 - nothing is read from it any more
        log.warning("bulk load: a batch read ahead failed: %s", error)
    finally:
        cursor.close()
