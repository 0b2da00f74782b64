"""Group commit: the events of concurrent commands saved in one transaction.

On PostgreSQL every save takes the events table's lock (`LOCK TABLE ... IN EXCLUSIVE MODE`,
so that positions follow commit order) and holds it until its commit: saves are one at a
time, and each costs the server a transaction, a lock and a flush of the log. Here a command
that wants to save queues its events; the first thread to find no batch being written takes
every queued save and writes them with one `Application.save` (one transaction, one lock),
while the others wait for it. A command alone is written at once, as before.

Each command is still checked against its own versions. Two saves in one batch that touch the
same version of a record (two commands on one record, or one Idempotency-Key used twice):
the first is written, the other fails as a conflict, as it would have a moment later. If the
batch as a whole is refused by the store's unique key (another process wrote one of its
records first), each save is tried again alone, so only the real loser fails. Any other
failure (the store unreachable, the outcome unknown) is every save's own answer: each
command then checks, as before, whether its events were recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import IntegrityError, OperationalError, Recording


class _Save:
    """One command's events, waiting to be written; then its recordings or its error."""

    __slots__ = ("done", "error", "events", "keys", "recordings")

    def __init__(self, events: Sequence[Any]) -> None:
        self.events = events
        self.keys = {(e.originator_id, e.originator_version) for e in events}
        self.recordings: list[Recording[Any]] = []
        self.error: BaseException | None = None
        self.done = False


class GroupCommit:
    def __init__(self, save: Callable[..., list[Recording[Any]]]) -> None:
        """save: the application's save (events in, their recordings out, in order)."""
        self._save = save
        self._queued: list[_Save] = []
        self._queue = threading.Lock()
        self._writing = threading.Lock()  # held by the thread writing a batch

    def save(self, events: Sequence[Any]) -> list[Recording[Any]]:
        """Record these events (with whatever else is queued) and return their recordings;
        raise what their save raised."""
        mine = _Save(events)
        with self._queue:
            self._queued.append(mine)
        with self._writing:
            if not mine.done:  # not written by the batch before: write every queued save
                with self._queue:
                    batch, self._queued = self._queued, []
                self._write(batch)
        if mine.error is not None:
            raise mine.error
        return mine.recordings

    @property
    def queued(self) -> int:
        """How many saves wait for the next batch."""
        return len(self._queued)

    @contextmanager
    def held(self) -> Iterator[None]:
        """No batch is written meanwhile: saves queue up, and go as one batch after."""
        with self._writing:
            yield

    def _write(self, batch: list[_Save]) -> None:
        try:
            together: list[_Save] = []
            taken: set[tuple[Any, int]] = set()
            for save in batch:
                if save.keys & taken:  # a version another save of this batch writes
                    save.error = IntegrityError("another save of the same version came first")
                else:
                    taken |= save.keys
                    together.append(save)
            if len(together) == 1:
                self._write_alone(together[0])
                return
            try:
                recordings = self._save(*(e for save in together for e in save.events))
            except IntegrityError:
                for save in together:  # someone else wrote one of these versions first
                    self._write_alone(save)
                return
            except Exception as error:  # noqa: BLE001 - every save's answer, re-raised by each
                for save in together:
                    save.error = error
                return
            start = 0
            for save in together:
                save.recordings = recordings[start:start + len(save.events)]
                start += len(save.events)
        finally:
            for save in batch:
                if save.error is None and not save.recordings:  # interrupted: not written
                    save.error = OperationalError("the batch with this save was interrupted")
                save.done = True

    def _write_alone(self, save: _Save) -> None:
        try:
            save.recordings = self._save(*save.events)
        except Exception as error:  # noqa: BLE001 - the save's answer, re-raised by its command
            save.error = error
