"""`ledger rotate-key`: the old log ends with a final checkpoint, the new log (new origin and
key) opens with that checkpoint as its first entry, and checkpoints continue under it."""

from __future__ import annotations

from typer.testing import CliRunner

from api.cli import app
from api.composition import build_ledger
from api.settings import Settings
from ledger_verifier.verifier import Verifier, open_checkpoint


def test_rotation_links_the_new_log_to_the_old_logs_final_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LEDGER_INTEGRITY_ORIGIN", "ledger.example/old")
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["users", "add", "Someone", "--role", "auditor"]).exit_code == 0

    new_key = tmp_path / "new.key"
    rotated = runner.invoke(app, ["rotate-key", "ledger.example/new", "--new-key",
                                  str(new_key), "--reason", "annual rotation"])
    assert rotated.exit_code == 0, rotated.output

    ledger = build_ledger(Settings())
    try:
        old = ledger.get_integrity_log("ledger.example/old")
        new = ledger.get_integrity_log("ledger.example/new")
        final = old.checkpoints[-1]
        assert new.previous_origin == "ledger.example/old"
        assert new.previous_checkpoint == final.note
        old_key = Verifier.from_vkey(old.vkey)
        checkpoint, _ = open_checkpoint(new.previous_checkpoint, [old_key],
                                        origin="ledger.example/old")
        assert checkpoint.size == final.size
    finally:
        ledger.close()

    monkeypatch.setenv("LEDGER_INTEGRITY_ORIGIN", "ledger.example/new")
    monkeypatch.setenv("LEDGER_INTEGRITY_KEY_PATH", str(new_key))
    made = runner.invoke(app, ["checkpoint", "--reason", "first under the new key"])
    assert made.exit_code == 0, made.output
    assert made.output.startswith("ledger.example/new\n")


def test_rotation_refuses_an_existing_key_path_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    ledger = build_ledger(Settings())
    before = ledger.head_position()
    ledger.close()
    existing = tmp_path / "log.key"
    refused = runner.invoke(app, ["rotate-key", "ledger.example/x", "--new-key", str(existing),
                                  "--reason", "r"])
    assert refused.exit_code != 0
    assert "already exists" in refused.output
    ledger = build_ledger(Settings())
    assert ledger.head_position() == before
    ledger.close()
