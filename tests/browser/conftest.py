"""The real API on the demo ledger (uvicorn in a subprocess, SQLite in a temporary folder),
a board_member token for it, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.composition import build_ledger
from api.demo import demo_user_ids, load_demo
from api.settings import Settings
from tests.principals import AS_OPERATOR
from tests.servers import running_server

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


def views_reflect(token: str, head: int) -> Callable[[str], bool]:
    """The in-process projections catch up on the demo after start: the server is ready when
    they have, so the page shows the whole ledger (min_position answers 503 until then)."""

    def ready(base: str) -> bool:
        response = httpx.get(f"{base}/board/agencies", params={"min_position": head},
                             headers={"Authorization": f"Bearer {token}"}, timeout=5)
        if response.status_code == 404:
            raise RuntimeError("GET /board/agencies is not served: the Board's router is "
                               "not mounted in api/app.py")
        return response.status_code == 200

    return ready


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    require_chromium()
    data_dir = tmp_path_factory.mktemp("dashboard")
    env, token, head = load_demo_ledger(data_dir)
    with running_server(env, ready=views_reflect(token, head), seconds=60) as base:
        yield DemoServer(base_url=base, token=token)


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
        opened.goto(demo_server.base_url + "/dashboard")
        yield opened
    finally:
        context.close()


@dataclass(frozen=True)
class PagesServer:
    base_url: str
    tokens: dict[str, str]  # a fresh token for the demo's user in each role
    checkpoint_root: str  # the root of the checkpoint made after the demo loaded


@pytest.fixture(scope="module")
def pages_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PagesServer]:
    """The demo ledger served with a checkpoint signed over it (by the Board member)."""
    require_chromium()
    data_dir = tmp_path_factory.mktemp("pages")
    env, token, head = load_demo_ledger(data_dir)
    settings = Settings(store="sqlite", data_dir=data_dir,
                        sqlite_path=data_dir / "ledger.sqlite3",
                        views_sqlite_path=data_dir / "views.sqlite3")
    ledger = build_ledger(settings)
    try:
        tokens = {role: ledger.issue_token(AS_OPERATOR, user_id).token
                  for role, user_id in demo_user_ids(ledger).items()}
    finally:
        ledger.close()
    with running_server(env, ready=views_reflect(token, head), seconds=60) as base:
        made = httpx.post(f"{base}/integrity/checkpoints", json={"reason": "for the Board pack"},
                          headers={"Authorization": f"Bearer {tokens['board_member']}"},
                          timeout=30)
        made.raise_for_status()
        yield PagesServer(base_url=base, tokens=tokens, checkpoint_root=made.json()["root_hash"])


ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "screens"
AXE = (Path(__file__).resolve().parents[2] / "api" / "static" / "vendor" / "axe-core-4.11.0"
       / "axe.min.js")


@pytest.fixture
def person(browser: Any, pages_server: PagesServer) -> Iterator[Any]:
    """A fresh browser context (its own cookies) for one person; bypass_csp lets the tests
    inject the vendored axe-core into the pages, whose policy allows no inline script."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True,
                                  accept_downloads=True)
    try:
        context.set_default_timeout(20_000)
        yield context
    finally:
        context.close()
