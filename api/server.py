"""uvicorn's HTTP/1.1 protocol (h11) with a deadline for a request's headers.

uvicorn closes an idle keep-alive connection (timeout_keep_alive) but waits for headers
forever: a client that opens connections and sends its headers a byte at a time, or never
finishes them, holds them open indefinitely. Here a connection whose request headers are not
complete `header_timeout` seconds after it opened (or after its previous response) is
closed. Bodies have their own deadline in the app (api/edge.py), and their size a limit.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


@cache
def header_timeout() -> float:
    """LEDGER_HEADER_TIMEOUT, read once per process: uvicorn's workers are spawned, so a value
    set on the class in the parent would not reach them."""
    from api.settings import Settings

    return Settings().header_timeout


class BoundedH11Protocol(H11Protocol):

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a request's headers arrived
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request's headers, on this kept-alive connection

    def _arm(self) -> None:
        self._disarm()
        self._header_deadline = self.loop.call_later(header_timeout(), self._too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()
