"""`ledger users link` prints a one-time sign-in link that works once; `ledger pack` writes
the Board pack as PDF, holding the latest checkpoint's root."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pypdf import PdfReader
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from api.settings import Settings


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={**env, "COLUMNS": "300"})


def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {"LEDGER_STORE": "sqlite", "LEDGER_DATA_DIR": str(tmp_path),
            "LEDGER_PROJECTIONS": "in_process"}


def test_a_printed_sign_in_link_works_once(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    added = run(env, "users", "add", "Ann Auditor", "--role", "auditor")
    user_id = re.search(r"user ([0-9a-f-]{36})", added.output).group(1)
    printed = run(env, "users", "link", user_id, "--base-url", "https://ledger.example")
    assert printed.exit_code == 0, printed.output
    link = re.search(r"https://ledger\.example(/sign-in/link/\S+)", printed.output).group(1)
    settings = Settings(store="sqlite", data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        for expected in (303, 401):
            client.cookies.clear()
            form = client.get(link)
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            used = client.post(link, data={"csrf_token": token}, follow_redirects=False)
            assert used.status_code == expected


def test_ledger_pack_writes_the_board_pack_as_pdf(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    assert run(env, "users", "add", "Ann Auditor", "--role", "auditor").exit_code == 0
    made = run(env, "checkpoint", "--reason", "for the Board")
    assert made.exit_code == 0, made.output
    out = tmp_path / "pack.pdf"
    written = run(env, "pack", "--out", str(out))
    assert written.exit_code == 0, written.output
    text = "".join(page.extract_text() for page in PdfReader(out).pages)
    assert "Board pack" in text and "The checkpoint to be minuted" in text
    before = run(env, "pack", "--as-of", "2001-01-01", "--out", str(tmp_path / "old.pdf"))
    assert before.exit_code == 0, before.output
    old = "".join(page.extract_text() for page in PdfReader(tmp_path / "old.pdf").pages)
    assert "No checkpoint has been signed yet" in old
    bad = run(env, "pack", "--as-of", "yesterday", "--out", str(tmp_path / "x.pdf"))
    assert bad.exit_code != 0 and "not a date" in bad.output
