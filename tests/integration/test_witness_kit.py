"""The witness kit (ledger_verifier/witness.py, `ledger-verify witness`, also `ledger
witness`): a scrutineer creates a witness key, registers it, and cosigns the real API's
checkpoints over HTTP; the kit checks each against the last one it cosigned and refuses a
fork or a rollback, offline as online."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.cli import app as ledger_cli
from domain.ledger import Ledger
from ledger_verifier import cli
from ledger_verifier.verifier import (
    Checkpoint,
    Signer,
    Verifier,
    format_checkpoint_body,
    open_checkpoint,
    sign_note,
)
from tests.principals import AS_OPERATOR, bearer_token
from tests.servers import running_server


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["witness", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Ledger]]:
    db = tmp_path / "ledger.sqlite3"
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db)})
    tokens = {role: bearer_token(ledger, role) for role in ("scb_manager", "scrutineer")}
    for i in range(5):
        ledger.register_agency(AS_OPERATOR, name=f"Agency {i}", kind="other",
                               statutory_partner=False, partnerships=["SSSCB"])
    env = {"LEDGER_DATA_DIR": str(tmp_path), "LEDGER_STORE": "sqlite",
           "LEDGER_SQLITE_PATH": str(db)}
    try:
        with running_server(env) as base:
            yield base, tokens, ledger
    finally:
        ledger.close()


def checkpoint(base: str, tokens: dict[str, str]) -> dict:
    response = httpx.post(f"{base}/integrity/checkpoints", json={"reason": "witnessed"},
                          headers={"Authorization": f"Bearer {tokens['scb_manager']}"})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_witness_cosigns_two_consistent_checkpoints_and_refuses_a_fork(
        server: tuple[str, dict[str, str], Ledger], tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    base, tokens, _ = server
    monkeypatch.setenv("LEDGER_TOKEN", tokens["scrutineer"])
    kit = str(tmp_path / "witness")
    code, out, _ = run(capsys, "init", "scrutiny.example/alice", "--dir", kit)
    assert code == 0, out
    vkey = out.strip().splitlines()[-1]
    assert Verifier.from_vkey(vkey).key_type == 0x04
    assert (tmp_path / "witness" / "witness.key").stat().st_mode & 0o777 == 0o600
    first = checkpoint(base, tokens)  # the log exists once it has a checkpoint
    registered = run(capsys, "register", "--server", base, "--dir", kit)
    assert registered[0] == 0, registered
    log_key = httpx.get(f"{base}/integrity/public-key",
                        headers={"Authorization": f"Bearer {tokens['scrutineer']}"}
                        ).json()["vkey"]

    code, out, err = run(capsys, "cosign", "--server", base, "--public-key", log_key,
                         "--dir", kit)
    assert code == 0, err
    assert f"size {first['size']} (its first cosignature); posted" in out

    second = checkpoint(base, tokens)
    assert second["size"] > first["size"]
    code, out, err = run(capsys, "cosign", "--server", base, "--dir", kit)  # the key is pinned
    assert code == 0, err
    assert f"size {second['size']} (consistent with size {first['size']}); posted" in out
    latest = httpx.get(f"{base}/integrity/checkpoints/latest",
                       headers={"Authorization": f"Bearer {tokens['scrutineer']}"}).json()
    assert latest["cosigned_by"] == ["scrutiny.example/alice"]
    witness_key = Verifier.from_vkey(vkey)
    open_checkpoint(latest["note"], [Verifier.from_vkey(log_key), witness_key],
                    min_cosignatures=1)
    state = json.loads((tmp_path / "witness" / "state.json").read_text())
    assert (state["size"], state["root_hash"]) == (second["size"], second["root_hash"])

    # A fork signed with the log's real key: the same size with another root, and a larger
    # size whose proof does not lead from the cosigned root. Both refused, state unchanged.
    signer = Signer.from_skey((tmp_path / "log.key").read_text().strip())
    for size, proof in ((second["size"], None), (second["size"] + 3, [bytes(32)] * 3)):
        note = tmp_path / f"fork-{size}.note"
        note.write_text(sign_note(format_checkpoint_body(
            Checkpoint(latest["origin"], size, bytes(range(32)))), signer))
        args = ["cosign", "--checkpoint", str(note), "--dir", kit]
        if proof:
            (tmp_path / "proof.txt").write_text("\n".join(
                __import__("base64").b64encode(h).decode() for h in proof) + "\n")
            args += ["--proof", str(tmp_path / "proof.txt")]
        code, out, err = run(capsys, *args)
        assert code == 1, (out, err)
        assert err.startswith("REFUSED: fork:"), err
        assert f"size {second['size']}, root {second['root_hash']}" in err
    rollback = tmp_path / "rollback.note"
    rollback.write_text(first["note"])
    code, _, err = run(capsys, "cosign", "--checkpoint", str(rollback), "--dir", kit)
    assert code == 1 and err.startswith("REFUSED: rollback:"), err
    assert json.loads((tmp_path / "witness" / "state.json").read_text()) == state

    # The service's CLI delegates to the same kit.
    result = CliRunner().invoke(ledger_cli, ["witness", "cosign", "--checkpoint",
                                             str(rollback), "--dir", kit])
    assert result.exit_code == 1
