"""Slow clients cannot hold connections: headers not complete within LEDGER_HEADER_TIMEOUT
close the connection (uvicorn waited forever), and a body still arriving after
LEDGER_BODY_TIMEOUT is refused with 408."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.fault.conftest import wait_until
from tests.servers import free_port

# One private PostgreSQL per xdist worker: the fault tests all run on one.
pytestmark = [pytest.mark.fault, pytest.mark.xdist_group("fault")]


@contextmanager
def ledger_serve(env: dict[str, str], workers: int = 1) -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from api.cli import main; main()", "serve", "--port", str(port),
         "--workers", str(workers)],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200, 30)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def closed_within(sock: socket.socket, seconds: float) -> float:
    sock.settimeout(seconds)
    start = time.monotonic()
    try:
        while sock.recv(1024):
            pass
    except TimeoutError:
        raise AssertionError(f"the connection was still open after {seconds} s") from None
    except ConnectionResetError:
        pass
    return time.monotonic() - start


@pytest.mark.parametrize("workers", [1, 2])
def test_unfinished_headers_and_slow_bodies_are_cut_off(tmp_path, workers):
    env = {"LEDGER_STORE": "sqlite", "LEDGER_DATA_DIR": str(tmp_path),
           "LEDGER_HEADER_TIMEOUT": "1", "LEDGER_BODY_TIMEOUT": "1",
           "LEDGER_PROJECTIONS": "in_process" if workers == 1 else "external"}
    with ledger_serve(env, workers) as port:
        silent = socket.create_connection(("127.0.0.1", port))
        partial = socket.create_connection(("127.0.0.1", port))
        partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
        assert closed_within(silent, 4) < 4
        assert closed_within(partial, 4) < 4
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"POST /agencies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{")
        slow.settimeout(5)
        assert slow.recv(1024).startswith(b"HTTP/1.1 408")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
