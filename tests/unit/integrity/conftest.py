"""Shared fixtures for the integrity tests: locate the read-only test vectors.

The vectors are in the repository, ``tests/vectors`` (provenance and licences in its
README). Missing vectors are a hard error, never a silent skip.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

VECTORS_DIR = Path(__file__).resolve().parents[2] / "vectors"
PROBES_DIR = VECTORS_DIR / "transparency-dev-merkle" / "testdata"


def _require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(
            f"test vectors not found at {path} (expected <repo>/tests/vectors)"
        )
    return path


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``inclusion_probe`` / ``consistency_probe`` with one test id per probe file."""
    for kind in ("inclusion", "consistency"):
        fixture = f"{kind}_probe"
        if fixture in metafunc.fixturenames:
            files = sorted(_require(PROBES_DIR / kind).rglob("*.json"))
            if not files:
                raise FileNotFoundError(f"no {kind} probes under {PROBES_DIR}")
            ids = [str(f.relative_to(PROBES_DIR / kind)) for f in files]
            metafunc.parametrize(fixture, [json.loads(f.read_text()) for f in files], ids=ids)


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """Root of the test vectors."""
    return _require(VECTORS_DIR)


@pytest.fixture(scope="session")
def load_json(vectors_dir: Path) -> Callable[[str], Any]:
    """Load a JSON vector file by path relative to the vectors root."""
    return lambda rel: json.loads(_require(vectors_dir / rel).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def serverless_log(vectors_dir: Path, load_json: Callable[[str], Any]) -> dict[str, Any]:
    """The serverless-log test log: leaves (bytes), checkpoint texts by size, keys."""
    log = _require(vectors_dir / "serverless-log" / "testdata" / "log")
    cases = load_json("extracted/signed_note_vectors.json")["cases"]
    keys = next(c for c in cases if c.get("origin") == "example.com/testdata")
    seq = sorted((log / "seq" / "00" / "00" / "00" / "00").iterdir(), key=lambda p: int(p.name, 16))
    checkpoints = {
        int(p.name.split(".")[1]): p.read_bytes().decode() for p in log.glob("checkpoint.*")
    }
    return {
        "leaves": [p.read_bytes() for p in seq],
        "checkpoints": checkpoints,
        "latest": (log / "checkpoint").read_bytes().decode(),
        "vkey": keys["vkey"],
        "skey": keys["skey"],
        "origin": keys["origin"],
    }


def b64d(text: str | None) -> bytes:
    """Decode the Go-style base64 of the probe files (null/empty -> b'')."""
    return base64.b64decode(text or "")


@pytest.fixture(scope="session")
def b64decode() -> Callable[[str | None], bytes]:
    """Base64 decoder for probe JSON values (test modules cannot import conftest)."""
    return b64d
