"""After a key rotation, one export still proves the whole history: checkpoints signed under
the old key (the Board's minutes, a scrutineer's state file) are checked against the same
tree as those under the new one."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from domain.ledger import Ledger
from tests.principals import AS_OPERATOR

OLD, NEW = "ledger.example/2025", "ledger.example/2026"


def agencies(db: Path, names: list[str]) -> None:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db)})
    for name in names:
        ledger.register_agency(AS_OPERATOR, name=name, kind="other", statutory_partner=False,
                               partnerships=["SSSCB"])
    ledger.close()


@pytest.fixture
def rotated(tmp_path: Path) -> dict[str, object]:
    """Events and a checkpoint under OLD, a rotation, more events and a checkpoint under NEW,
    and an export; the old checkpoint and a state file saved as a scrutineer would."""
    db = tmp_path / "ledger.sqlite3"
    env = {"LEDGER_DATA_DIR": str(tmp_path), "LEDGER_STORE": "sqlite",
           "LEDGER_SQLITE_PATH": str(db), "LEDGER_INTEGRITY_ORIGIN": OLD}
    runner = CliRunner()
    agencies(db, ["Police", "Council", "Trust"])
    init = runner.invoke(app, ["init"], env=env)
    assert init.exit_code == 0, init.output
    old_vkey = next(line.split()[-1] for line in init.output.splitlines()
                    if line.startswith("public key"))
    minuted = tmp_path / "minuted.checkpoint"
    made = runner.invoke(app, ["checkpoint", "--reason", "Board, March"], env=env)
    assert made.exit_code == 0, made.output
    minuted.write_text(made.output)
    state = tmp_path / "state.json"
    seen = runner.invoke(app, ["verify", "--live", "--public-key", old_vkey, "--state",
                               str(state)], env=env)
    assert seen.exit_code == 0, seen.output

    new_key = tmp_path / "new.key"
    turned = runner.invoke(app, ["rotate-key", NEW, "--new-key", str(new_key), "--reason",
                                 "annual rotation"], env=env)
    assert turned.exit_code == 0, turned.output
    new_vkey = next(line.split()[-1] for line in turned.output.splitlines()
                    if line.startswith("new public key"))
    env |= {"LEDGER_INTEGRITY_ORIGIN": NEW, "LEDGER_INTEGRITY_KEY_PATH": str(new_key)}
    agencies(db, ["School", "Probation"])
    assert runner.invoke(app, ["checkpoint", "--reason", "Board, June"], env=env).exit_code == 0
    keys = tmp_path / "keys.txt"
    keys.write_text(f"{old_vkey}\n{new_vkey}\n")
    return {"runner": runner, "env": env, "db": db, "keys": keys, "old_vkey": old_vkey,
            "new_vkey": new_vkey, "minuted": minuted, "state": state,
            "bundle": tmp_path / "export.sglb"}


def export(r: dict[str, object]) -> None:
    done = r["runner"].invoke(app, ["export", str(r["bundle"])], env=r["env"])  # type: ignore[attr-defined]
    assert done.exit_code == 0, done.output


def verify(r: dict[str, object], *extra: str) -> object:
    return r["runner"].invoke(app, ["verify", str(r["bundle"]), *extra],  # type: ignore[attr-defined]
                              env=r["env"])


def test_an_export_after_a_rotation_verifies_with_both_keys_and_the_old_minuted_checkpoint(
        rotated: dict[str, object]) -> None:
    export(rotated)
    header = json.loads(Path(rotated["bundle"]).read_bytes().splitlines()[1][2:])  # type: ignore[arg-type]
    assert (header["origin"], [e["origin"] for e in header["earlier_logs"]]) == (NEW, [OLD])
    result = verify(rotated, "--public-key", str(rotated["keys"]), "--checkpoint",
                    str(rotated["minuted"]), "--state", str(rotated["state"]), "--jobs", "1")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "OK:" in result.output and "warning" not in result.output  # type: ignore[attr-defined]
    assert json.loads(Path(rotated["state"]).read_text())["origin"] == NEW  # type: ignore[arg-type]


def test_without_the_old_key_the_old_checkpoints_are_named_as_unchecked(
        rotated: dict[str, object]) -> None:
    export(rotated)
    result = verify(rotated, "--public-key", str(rotated["new_vkey"]))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert f"checkpoint(s) of the log under its earlier key '{OLD}' were not checked" in (
        result.output.replace("\n", " "))  # type: ignore[attr-defined]


def test_an_event_altered_below_the_old_checkpoint_is_found_through_it(
        rotated: dict[str, object]) -> None:
    with sqlite3.connect(rotated["db"]) as conn:  # type: ignore[arg-type]
        conn.execute("UPDATE stored_events SET state = CAST(REPLACE(CAST(state AS TEXT), "
                     "'Council', 'Counc1l') AS BLOB) WHERE rowid = 2")
    export(rotated)
    result = verify(rotated, "--public-key", str(rotated["keys"]), "--checkpoint",
                    str(rotated["minuted"]))
    assert result.exit_code == 1
    assert "FAILED (altered) at position 2" in result.output  # type: ignore[attr-defined]


def test_a_checkpoint_under_the_old_origin_signed_by_the_new_key_is_refused(
        rotated: dict[str, object], tmp_path: Path) -> None:
    """Each log's checkpoints must carry the signature of the key named after their origin:
    a note of the old origin signed only by the new key proves nothing about the old log."""
    from ledger_verifier.verifier import Signer, sign_note

    export(rotated)
    new_key = Signer.from_skey((tmp_path / "new.key").read_text().strip())
    old_body = Path(rotated["minuted"]).read_text().split("\n\n")[0] + "\n"  # type: ignore[arg-type]
    forged = tmp_path / "forged.checkpoint"
    forged.write_text(sign_note(old_body, new_key))  # the old log's body, the new key
    result = verify(rotated, "--public-key", str(rotated["keys"]), "--checkpoint", str(forged))
    assert result.exit_code == 1
    assert "wrong_key_or_origin" in result.output  # type: ignore[attr-defined]


def test_the_public_key_endpoint_lists_the_keys_before_the_rotation(
        rotated: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    for name, value in rotated["env"].items():  # type: ignore[attr-defined]
        monkeypatch.setenv(name, value)
    with TestClient(create_app(Settings())) as client:
        response = client.get("/integrity/public-key")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["origin"], body["vkey"]) == (NEW, rotated["new_vkey"])
    assert [(k["origin"], k["vkey"]) for k in body["earlier_keys"]] == [
        (OLD, rotated["old_vkey"])]
