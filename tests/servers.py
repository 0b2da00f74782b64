"""The real API in a subprocess (uvicorn on a free port), for the integration and browser
tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers_readyz(base: str) -> bool:
    return httpx.get(f"{base}/readyz", timeout=1).status_code == 200


def answers_healthz(base: str) -> bool:
    """Up, whatever else is down (e.g. external projections with no worker running, which
    /readyz reports as not ready)."""
    return httpx.get(f"{base}/healthz", timeout=1).status_code == 200


@contextmanager
def running_server(env: dict[str, str], *, workers: int = 1,
                   ready: Callable[[str], bool] = answers_readyz,
                   seconds: float = 30) -> Iterator[str]:
    """The API served with `env` (over this process's environment); yields its base URL once
    `ready(base)` holds (an HTTP error counts as not yet), and stops the server afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "api.asgi:app_factory",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
               "--workers", str(workers)]
    process = subprocess.Popen(command, env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if ready(base):
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise RuntimeError("the API server stopped before it was ready")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API server was not ready within {seconds:.0f} s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
