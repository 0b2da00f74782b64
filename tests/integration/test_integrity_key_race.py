"""Several API workers starting at once create exactly one signing key, private, whole."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from api.integrity_keys import load_or_create_signer


def _open(path: Path) -> tuple[str, bool]:
    signer, created = load_or_create_signer(path, "ledger.example/race")
    return signer.verifier.vkey, created


def test_racing_workers_share_one_key(tmp_path):
    path = tmp_path / "log.key"
    with ProcessPoolExecutor(4) as pool:
        results = list(pool.map(_open, [path] * 12))
    assert len({vkey for vkey, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["log.key"]
