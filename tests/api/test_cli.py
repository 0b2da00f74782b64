"""The `ledger` commands open what they need through the composition root, and no more; read
the settings once per invocation; and answer a bad configuration or key file with a message
and a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api import cli_common, composition
from api.cli import app


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"LEDGER_STORE": "sqlite", "LEDGER_DATA_DIR": str(tmp_path),
            "LEDGER_PROJECTIONS": "external"}


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(app, list(args), env=env)


def refuse(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Opening any of these parts fails the test's command loudly."""
    for name in names:
        def opened(*_: Any, _name: str = name, **__: Any) -> Any:
            raise AssertionError(f"{_name} was opened")
        monkeypatch.setattr(composition, name, opened)


def test_user_commands_open_only_the_ledger(env: dict[str, str],
                                            monkeypatch: pytest.MonkeyPatch):
    refuse(monkeypatch, "open_read_models", "MerkleLog", "IntegrityService")
    added = run(env, "users", "add", "Ann Auditor", "--role", "auditor")
    assert added.exit_code == 0, added.output
    listed = run(env, "users", "list")
    assert listed.exit_code == 0, listed.output
    assert "Ann Auditor" in listed.output


def test_projection_status_opens_the_views_but_not_the_integrity_service(
        env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    refuse(monkeypatch, "MerkleLog", "IntegrityService")
    status = run(env, "projections", "status")
    assert status.exit_code == 0, status.output
    assert "actions" in status.output


def test_settings_are_read_once_per_invocation(env: dict[str, str],
                                               monkeypatch: pytest.MonkeyPatch):
    reads: list[object] = []
    real = cli_common.Settings

    def counted() -> Any:
        reads.append(object())
        return real()

    monkeypatch.setattr(cli_common, "Settings", counted)
    assert run(env, "init").exit_code == 0
    assert len(reads) == 1
    assert run(env, "checkpoint", "--reason", "r").exit_code == 0
    assert len(reads) == 2  # a new invocation reads them afresh


def test_an_invalid_configuration_is_a_message_not_a_traceback(env: dict[str, str]):
    result = run({**env, "LEDGER_STALLED_DAYS": "sixty"}, "users", "list")
    assert result.exit_code == 2
    assert "the configuration is invalid: LEDGER_STALLED_DAYS" in result.output
    assert isinstance(result.exception, SystemExit)


def test_an_unsafe_key_file_is_a_message_not_a_traceback(env: dict[str, str], tmp_path: Path):
    assert run(env, "init").exit_code == 0
    (tmp_path / "log.key").chmod(0o644)
    result = run(env, "checkpoint", "--reason", "quarterly")
    assert result.exit_code == 2
    assert "readable by others" in result.output
    assert isinstance(result.exception, SystemExit)


def test_import_action_plan_previews_refuses_bad_rows_then_records_once(
        env: dict[str, str], tmp_path: Path) -> None:
    from api.action_plan import generated_plan
    from api.settings import Settings
    from domain.actors import Role
    from tests.principals import AS_OPERATOR
    from tests.scenarios import Scenario

    with composition.open_services(Settings(store="sqlite", data_dir=tmp_path),
                                   views=False, integrity=False) as opened:
        ledger = opened.ledger
        police = ledger.register_agency(AS_OPERATOR, name="Staffordshire Police",
                                        kind="police", statutory_partner=True,
                                        partnerships=["SSSCB"]).id
        Scenario(ledger).review([police], reference="SSSCB-2026-01")
        manager = ledger.register_user(AS_OPERATOR, name="M", role=Role.SCB_MANAGER.value,
                                       agency_id=None).id
    bad, good = tmp_path / "bad.xlsx", tmp_path / "plan.xlsx"
    bad.write_bytes(generated_plan(["Staffordshire Police"], 5, recommendations=1,
                                   bad={1: "agency", 3: "rag"}))
    good.write_bytes(generated_plan(["Staffordshire Police"], 5, recommendations=1))
    args = ("--review", "SSSCB-2026-01", "--as", str(manager))
    refused = run(env, "import", "action-plan", str(bad), *args)
    assert refused.exit_code == 1 and "(4, 6)" in refused.output
    assert "5 action(s) recorded" in run(env, "import", "action-plan", str(good), *args).output
    assert "0 action(s) recorded" in run(env, "import", "action-plan", str(good), *args).output


def test_remind_is_off_until_configured_and_dry_run_prints(env: dict[str, str]) -> None:
    off = run(env, "remind")
    assert off.exit_code == 0 and "Reminders are off" in off.output
    dry = run(env, "remind", "--dry-run")
    assert dry.exit_code == 0 and "No digest is due" in dry.output


def test_import_maps_an_unknown_heading_and_saves_the_mapping(env: dict[str, str],
                                                              tmp_path: Path) -> None:
    import json

    from openpyxl import Workbook

    from api.settings import Settings
    from tests.principals import AS_OPERATOR
    from tests.scenarios import Scenario

    with composition.open_services(Settings(store="sqlite", data_dir=tmp_path),
                                   views=False, integrity=False) as opened:
        police = opened.ledger.register_agency(
            AS_OPERATOR, name="Staffordshire Police", kind="police", statutory_partner=True,
            partnerships=["SSSCB"]).id
        Scenario(opened.ledger).review([police], reference="SSSCB-2026-02")
        manager = opened.ledger.register_user(AS_OPERATOR, name="M", role="scb_manager").id
    book = Workbook()
    book.active.append(["Recommendation", "What we will do", "Owner org", "Target date"])
    book.active.append(["R1", "Train staff", "Staffordshire Police", "31/03/2030"])
    plan = tmp_path / "plan.xlsx"
    book.save(plan)
    args = ("import", "action-plan", str(plan), "--review", "SSSCB-2026-02", "--as",
            str(manager), "--dry-run")
    assert run(env, *args).exit_code == 1  # no column for the action
    mapped = run(env, *args, "--column", "What we will do=action", "--column",
                 "Owner org=agency", "--save-mapping")
    assert mapped.exit_code == 0 and "1 action(s) would be recorded" in mapped.output
    assert json.loads((tmp_path / "import-mapping.json").read_text())["Owner org"] == "agency"
    assert run(env, *args).exit_code == 0  # the saved mapping is used
    assert run(env, *args, "--column", "x=nothing").exit_code == 2
