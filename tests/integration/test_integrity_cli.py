"""`ledger init`, `ledger checkpoint` and a verification state file, from the command line."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from domain.actors import Actor, Role
from domain.application import Context
from domain.ledger import Ledger
from ledger_verifier.verifier import Verifier, open_checkpoint

OPERATOR = Context(Actor("operator:test", Role.OPERATOR))


def test_init_checkpoint_and_a_state_file_that_refuses_a_rollback(tmp_path: Path):
    db = tmp_path / "ledger.sqlite3"
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db)})
    for i in range(6):
        ledger.register_agency(OPERATOR, name=f"Agency {i}", kind="other",
                               statutory_partner=False, partnerships=["SSSCB"])
    ledger.close()
    env = {"LEDGER_DATA_DIR": str(tmp_path), "LEDGER_STORE": "sqlite",
           "LEDGER_SQLITE_PATH": str(db)}
    runner = CliRunner()

    init = runner.invoke(app, ["init"], env=env)
    assert init.exit_code == 0, init.output
    assert stat.S_IMODE((tmp_path / "log.key").stat().st_mode) == 0o600
    vkey = next(line.split()[-1] for line in init.output.splitlines()
                if line.startswith("public key"))

    made = runner.invoke(app, ["checkpoint", "--reason", "before the Board"], env=env)
    cp, _ = open_checkpoint(made.output, [Verifier.from_vkey(vkey)])
    assert cp.size == 7  # six agencies and the log's opening

    state = tmp_path / "state.json"
    ok = runner.invoke(app, ["verify", "--live", "--public-key", vkey, "--state", str(state)],
                       env=env)
    assert ok.exit_code == 0, ok.output
    assert json.loads(state.read_text())["size"] == 7

    with sqlite3.connect(db) as conn:  # the log cut back below what the scrutineer saw
        conn.execute("DELETE FROM stored_events WHERE rowid >= 6")
    refused = runner.invoke(app, ["verify", "--live", "--public-key", vkey,
                                  "--state", str(state)], env=env)
    assert refused.exit_code == 1
    assert "FAILED (rolled_back) at position 6" in refused.output
