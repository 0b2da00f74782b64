"""The multi-core accelerator gives the reference verifier's verdict on every bundle: it
accepts only what the single pass accepts and hands everything else back to it."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import pytest

from ledger_verifier import bundle, parallel
from ledger_verifier.leaf import encode_leaf
from ledger_verifier.proofs import MemoryTree
from ledger_verifier.verifier import (
    Checkpoint,
    Signer,
    format_checkpoint_body,
    generate_signer,
    leaf_hash,
    sign_note,
)

ORIGIN = "parallel.example/log"
SIGNER = Signer.from_skey(generate_signer(ORIGIN)[0])
LEAVES = [encode_leaf(i + 1, UUID(int=i % 7 + 1), i // 7 + 1, "domain.x:X.Done",
                      b'{"n": %d}' % i) for i in range(300)]


def note(size: int) -> str:
    tree = MemoryTree()
    for leaf in LEAVES[:size]:
        tree.append(leaf_hash(leaf))
    return sign_note(format_checkpoint_body(Checkpoint(ORIGIN, size, tree.root())), SIGNER)


def honest() -> list[bytes]:
    lines = [bundle.header_line(ORIGIN, SIGNER.verifier.vkey, 300, "2026-01-01"),
             bundle.checkpoint_line(note(100)), bundle.checkpoint_line(note(257))]
    lines += [bundle.event_line(leaf, (i + 1, leaf_hash(leaf))) for i, leaf in enumerate(LEAVES)]
    return [*lines, bundle.trailer_line(300, 2, 0)]


def unhinted_from(i: int) -> Callable[[list[bytes]], list[bytes]]:
    """The service's log has not reached the events after leaf i yet: no hints on them."""
    def strip(lines: list[bytes]) -> list[bytes]:
        return [*lines[:3 + i], *(bundle.event_line(leaf, None) for leaf in LEAVES[i:]),
                lines[-1]]
    return strip


def drop(i: int) -> Callable[[list[bytes]], list[bytes]]:
    return lambda lines: lines[:i] + lines[i + 1:]


def alter(i: int) -> Callable[[list[bytes]], list[bytes]]:
    def change(lines: list[bytes]) -> list[bytes]:
        leaf = LEAVES[i - 3][:-2] + b"X}"
        return [*lines[:i], bundle.event_line(leaf, None), *lines[i + 1:]]
    return change


HONEST: dict[str, Callable[[list[bytes]], list[bytes]]] = {
    "honest": lambda lines: lines,
    "honest, the last events without hints": unhinted_from(260),
    "honest, no hints at all": unhinted_from(0),
}
CASES: dict[str, Callable[[list[bytes]], list[bytes]]] = {
    **HONEST,
    "event dropped": drop(50),
    "event altered": alter(150),
    "last events cut with the trailer": lambda lines: lines[:200],
    "trailer only cut": lambda lines: lines[:-1],
    "two events swapped": lambda lines: [*lines[:40], lines[41], lines[40], *lines[42:]],
    "junk line in the middle": lambda lines: [*lines[:90], b"e !!!\n", *lines[90:]],
    "line after the trailer": lambda lines: [*lines, b"e AAAA\n"],
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_the_accelerator_agrees_with_the_reference(case: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(parallel, "MIN_PARALLEL", 0)
    monkeypatch.setattr(parallel, "BLOCK", 3000)  # many blocks, each a few lines
    data = b"".join(CASES[case](honest()))
    path = tmp_path / "b.sglb"
    path.write_bytes(data)
    reference = bundle.verify_bundle(io.BytesIO(data), [SIGNER.verifier])
    fast = parallel.verify_file(path, [SIGNER.verifier], jobs=2)
    assert (fast.ok, fast.kind, fast.position, fast.events) == (
        reference.ok, reference.kind, reference.position, reference.events)
    assert fast.ok == (case in HONEST)


@pytest.mark.parametrize("case", HONEST, ids=list(HONEST))
def test_the_accelerator_accepts_an_honest_bundle_by_itself(case: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(parallel, "MIN_PARALLEL", 0)
    monkeypatch.setattr(parallel, "BLOCK", 3000)

    def no_reference(*args: object, **kwargs: object) -> None:
        raise AssertionError("the accelerator handed an honest bundle to the reference pass")

    path = tmp_path / "b.sglb"
    path.write_bytes(b"".join(HONEST[case](honest())))
    monkeypatch.setattr(bundle, "verify_bundle", no_reference)
    verdict = parallel.verify_file(path, [SIGNER.verifier], jobs=2)
    assert (verdict.ok, verdict.events, verdict.verified_size) == (True, 300, 257)
