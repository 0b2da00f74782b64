"""The verifier installed alone: in a fresh virtual environment (no system site packages),
`pip install ledger_verifier` gives `ledger-verify`, without the service's packages, and it
checks an export bundle and a tlog-proof made by the service exactly as `ledger verify` and
`ledger verify-proof` do (same verdicts, same words, same exit codes).

The package is copied out of the repository before pip builds it, so that the build's output
(build/, *.egg-info) lands in the test's directory, not in the checkout.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.integrity_service import IntegrityService
from api.settings import Settings
from domain.actors import Actor, Role
from domain.application import Context
from domain.ledger import Ledger
from ledger_verifier.leaf import decode_leaf, encode_leaf

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
OPERATOR = Context(Actor("operator:test", Role.OPERATOR))
MANAGER = Context(Actor("u-manager", Role.SCB_MANAGER))


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the verifier package and its one dependency."""
    root = tmp_path_factory.mktemp("standalone")
    source = root / "ledger_verifier"
    shutil.copytree(REPO / "ledger_verifier", source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    env_dir = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=300)
    installed = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", "--no-input", str(source)],
        capture_output=True, text=True, check=False, timeout=600, cwd=root)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return env_dir


def run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A program of the venv, away from the checkout (nothing of the repository on the path)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=300)


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def made(ledger: Ledger, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """An export bundle and event 5's tlog-proof, made by the service, and its public key."""
    settings = Settings(data_dir=tmp_path, store="sqlite",
                        sqlite_path=tmp_path / "ledger.sqlite3")
    service = IntegrityService(settings, ledger)
    try:
        for n in (12, 10):
            for _ in range(n):
                ledger.register_agency(OPERATOR, name=f"Agency {uuid4().hex[:6]}", kind="other",
                                       statutory_partner=False, partnerships=["SSSCB"])
            service.make_checkpoint(MANAGER, reason="Board")
        service.catch_up()
        files = tmp_path / "files"
        files.mkdir()
        bundle = files / "export.sglb"
        bundle.write_bytes(b"".join(service.export_lines()))
        proof = files / "event-5.tlog-proof"
        proof.write_text(service.tlog_proof(5))
        yield {"bundle": bundle, "proof": proof, "vkey": service.vkey, "dir": files}
    finally:
        service.close()


def tampered(bundle: Path, position: int) -> Path:
    """The bundle with one byte of one event's stored state changed in transit."""
    lines = bundle.read_bytes().split(b"\n")
    for i, line in enumerate(lines):
        if line.startswith(b"e "):
            fields = line.split(b" ")
            leaf = decode_leaf(base64.b64decode(fields[1]))
            if leaf.position == position:
                state = bytearray(leaf.state)
                state[len(state) // 2] ^= 0x20
                forged = encode_leaf(leaf.position, leaf.aggregate_id, leaf.version, leaf.topic,
                                     bytes(state))
                lines[i] = b" ".join([b"e", base64.b64encode(forged), *fields[2:]])
    out = bundle.with_name("tampered.sglb")
    out.write_bytes(b"\n".join(lines))
    return out


def service_says(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output.strip()


def test_the_service_packages_are_not_in_the_verifiers_environment(venv: Path, tmp_path: Path):
    where = run(venv, "python", "-c", "import ledger_verifier; print(ledger_verifier.__file__)",
                cwd=tmp_path)
    assert where.returncode == 0 and where.stdout.startswith(str(venv)), where.stderr
    for module in ("fastapi", "domain", "projections", "api", "eventsourcing", "psycopg"):
        found = run(venv, "python", "-c", f"import {module}", cwd=tmp_path)
        assert found.returncode != 0 and "ModuleNotFoundError" in found.stderr, module


def test_an_export_and_a_proof_verify_as_with_the_service(venv: Path, made: dict[str, Any]):
    checked = run(venv, "ledger-verify", "bundle", str(made["bundle"]), "--public-key",
                  made["vkey"], cwd=made["dir"])
    assert checked.returncode == 0 and checked.stdout.startswith("OK"), checked.stderr
    assert service_says("verify", str(made["bundle"]), "--public-key", made["vkey"]) == (
        0, checked.stdout.strip())

    proved = run(venv, "ledger-verify", "proof", str(made["proof"]), "--public-key",
                 made["vkey"], cwd=made["dir"])
    assert proved.returncode == 0 and "position 5" in proved.stdout, proved.stderr
    assert service_says("verify-proof", str(made["proof"]), "--public-key", made["vkey"]) == (
        0, proved.stdout.strip())


def test_a_tampered_export_fails_at_its_position(venv: Path, made: dict[str, Any]):
    bad = tampered(made["bundle"], 5)
    checked = run(venv, "ledger-verify", "bundle", str(bad), "--public-key", made["vkey"],
                  cwd=made["dir"])
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert checked.stderr.startswith("FAILED (altered) at position 5"), checked.stderr
    assert service_says("verify", str(bad), "--public-key", made["vkey"]) == (
        1, checked.stderr.strip())


def test_without_a_key_it_cannot_run(venv: Path, made: dict[str, Any]):
    refused = run(venv, "ledger-verify", "bundle", str(made["bundle"]), cwd=made["dir"])
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: give the log's public key"), refused.stderr
