"""The real API on the demo ledger (uvicorn in a subprocess, SQLite in a temporary folder),
a board_member token for it, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.composition import build_ledger
from api.demo import demo_user_ids, load_demo
from api.settings import Settings
from tests.principals import AS_OPERATOR

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true requires the browser tests to run: {reason}")
    pytest.skip(reason)


@dataclass(frozen=True)
class DemoServer:
    base_url: str
    token: str  # a board_member's


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_demo_ledger(data_dir: Path) -> tuple[dict[str, str], str, int]:
    """Write the demo ledger into SQLite files under data_dir; return the server's settings,
    a fresh board_member token and the log's head position."""
    env = {"LEDGER_STORE": "sqlite", "LEDGER_DATA_DIR": str(data_dir),
           "LEDGER_SQLITE_PATH": str(data_dir / "ledger.sqlite3"),
           "LEDGER_VIEWS_SQLITE_PATH": str(data_dir / "views.sqlite3"),
           "LEDGER_PROJECTIONS": "in_process"}
    settings = Settings(store="sqlite", data_dir=data_dir,
                        sqlite_path=data_dir / "ledger.sqlite3",
                        views_sqlite_path=data_dir / "views.sqlite3")
    ledger = build_ledger(settings)
    try:
        load_demo(ledger)
        token = ledger.issue_token(AS_OPERATOR, demo_user_ids(ledger)["board_member"]).token
        return env, token, ledger.head_position()
    finally:
        ledger.close()


def wait_until_views_reflect(base: str, token: str, head: int, process: Any) -> None:
    """The in-process projections catch up on the demo after start: wait for them, so the
    page shows the whole ledger (min_position answers 503 until the views reach it)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            response = httpx.get(f"{base}/board/agencies", params={"min_position": head},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=5)
            if response.status_code == 200:
                return
            if response.status_code == 404:
                raise RuntimeError("GET /board/agencies is not served: the Board's router is "
                                   "not mounted in api/app.py")
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the API's views did not reach position {head}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    require_chromium()
    data_dir = tmp_path_factory.mktemp("dashboard")
    env, token, head = load_demo_ledger(data_dir)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.asgi:app_factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_views_reflect(base, token, head, process)
        yield DemoServer(base_url=base, token=token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, demo_server: DemoServer) -> Iterator[Any]:
    """A fresh browser context per test (its own sessionStorage), opened on the dashboard."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        opened = context.new_page()
        opened.set_default_timeout(15_000)
        opened.goto(demo_server.base_url + "/")
        yield opened
    finally:
        context.close()
