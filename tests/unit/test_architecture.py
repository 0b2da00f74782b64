"""The layers contract: ledger_verifier imports nothing of ours, domain only ledger_verifier,
projections only domain, api composes them; ledger_verifier imports the standard library and
cryptography alone (import-linter, configured in pyproject.toml)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_layers_contract_holds():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True,
                            check=False,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken" in result.stdout


def foreign_imports(package: str, allowed: set[str]) -> list[str]:
    """Every absolute import in `package` whose top-level name is not in `allowed`."""
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] not in allowed]
    return offenders


def test_domain_imports_only_stdlib_eventsourcing_holidays_and_the_verifier():
    allowed = set(sys.stdlib_module_names) | {"eventsourcing", "holidays", "domain",
                                              "ledger_verifier"}
    assert foreign_imports("domain", allowed) == []


def test_ledger_verifier_imports_only_stdlib_and_cryptography():
    allowed = set(sys.stdlib_module_names) | {"cryptography", "ledger_verifier"}
    assert foreign_imports("ledger_verifier", allowed) == []


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "domain", "projections", "api", "bench", "tests",
                             "ledger_verifier"],
                            cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ledger_verifier_installs_alone_with_cryptography_only():
    import tomllib

    own = tomllib.loads((ROOT / "ledger_verifier" / "pyproject.toml").read_text())
    service = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = [d for d in service["project"]["dependencies"] if d.startswith("cryptography")]
    assert own["project"]["dependencies"] == pins  # the same cryptography, nothing else
    assert own["project"]["scripts"] == {"ledger-verify": "ledger_verifier.cli:main"}
