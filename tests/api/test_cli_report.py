"""`ledger report yearly` prints the yearly report (JSON or CSV) from the views; a bad date
or format is a message and exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from api.cli import app


def run(tmp_path: Path, *args: str) -> Any:
    env = {"LEDGER_STORE": "sqlite", "LEDGER_DATA_DIR": str(tmp_path),
           "LEDGER_PROJECTIONS": "in_process"}
    return CliRunner().invoke(app, list(args), env=env)


def test_ledger_report_yearly(tmp_path: Path) -> None:
    assert run(tmp_path, "users", "add", "Ann Auditor", "--role", "auditor").exit_code == 0
    result = run(tmp_path, "report", "yearly", "--from", "2026-01-01", "--to", "2026-12-31")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["from"], body["to"], body["summary"]["reviews"]) == (
        "2026-01-01", "2026-12-31", 0)
    csv = run(tmp_path, "report", "yearly", "--format", "csv")
    assert csv.exit_code == 0 and csv.output.startswith("review,partnership")
    assert run(tmp_path, "report", "yearly", "--from", "2026-13-01").exit_code == 2
    assert run(tmp_path, "report", "yearly", "--format", "pdf").exit_code == 2
    assert run(tmp_path, "report", "yearly", "--as-of", "yesterday").exit_code == 2
    past = run(tmp_path, "report", "yearly", "--as-of", "2026-01-01T00:00:00")
    assert past.exit_code == 0, past.output
