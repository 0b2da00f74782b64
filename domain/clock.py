"""The clock that stamps events and answers "today".

Production uses real UTC time. The demo loader and tests set a simulated clock so that a
generated history has realistic recorded times (and "what did we know on 1 March?" means
something); it is never settable over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime

_now: ContextVar[Callable[[], datetime] | None] = ContextVar("ledger_clock", default=None)


def now() -> datetime:
    override = _now.get()
    return override() if override else datetime.now(tz=UTC)


def today() -> date:
    return now().date()


@contextmanager
def frozen_at(moment: datetime | Callable[[], datetime]) -> Iterator[None]:
    """Stamp events in this block with a given time (or a function giving one)."""
    fn = moment if callable(moment) else (lambda: moment)
    token = _now.set(fn)
    try:
        yield
    finally:
        _now.reset(token)
