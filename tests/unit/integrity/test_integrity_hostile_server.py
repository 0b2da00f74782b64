"""A hostile server: a test double of the integrity API that answers with corrupted proofs.
The client-side checks (ledger_verifier/bundle.py) accept the honest answers and refuse
every corrupted one, because they take roots only from signed checkpoints they hold."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from ledger_verifier import bundle
from ledger_verifier.leaf import LeafError, encode_leaf
from ledger_verifier.proofs import MemoryTree
from ledger_verifier.verifier import (
    Checkpoint,
    IntegrityError,
    Signer,
    format_checkpoint_body,
    format_tlog_proof,
    generate_signer,
    leaf_hash,
    parse_tlog_proof,
    sign_note,
)

ORIGIN = "hostile.example/log"
SIGNER = Signer.from_skey(generate_signer(ORIGIN)[0])
ATTACKER = Signer.from_skey(generate_signer(ORIGIN)[0])
KEYS = [SIGNER.verifier]
LEAVES = [encode_leaf(i + 1, UUID(int=i + 1), 1, "domain.x:X.Done", b"{}") for i in range(23)]
Refused = (bundle.Failure, IntegrityError, LeafError, ValueError, KeyError)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Service:
    """Answers like api/routes/integrity.py, from an in-memory tree."""

    def __init__(self, leaves: list[bytes], signer: Signer = SIGNER) -> None:
        self.leaves = leaves
        self.tree = MemoryTree()
        for leaf in leaves:
            self.tree.append(leaf_hash(leaf))
        self.signer = signer

    def checkpoint(self, size: int) -> str:
        body = format_checkpoint_body(Checkpoint(ORIGIN, size, self.tree.root(size)))
        return sign_note(body, self.signer)

    def inclusion(self, position: int, size: int) -> dict[str, Any]:
        index = position - 1
        return {"position": position, "leaf_index": index, "tree_size": size,
                "leaf_hash": b64(self.tree.get_node(0, index)),
                "inclusion_path": [b64(h) for h in self.tree.inclusion_proof(index, size)],
                "root_hash": b64(self.tree.root(size))}

    def consistency(self, first: int, second: int) -> dict[str, Any]:
        return {"first": first, "second": second,
                "consistency_path": [b64(h) for h in self.tree.consistency_proof(first, second)]}

    def tlog_proof(self, position: int, size: int) -> str:
        index = position - 1
        return format_tlog_proof(index, self.tree.inclusion_proof(index, size),
                                 self.checkpoint(size), extra=self.leaves[index])


HONEST = Service(LEAVES)
TRUSTED_16, TRUSTED_23 = HONEST.checkpoint(16), HONEST.checkpoint(23)  # held by the client


def flip(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[0] ^= 1
    return b64(bytes(raw))


def test_honest_answers_are_accepted():
    bundle.verify_inclusion_answer(HONEST.inclusion(7, 23), TRUSTED_23, KEYS, ORIGIN,
                                   leaf=LEAVES[6])
    bundle.verify_consistency_answer(HONEST.consistency(16, 23), TRUSTED_16, TRUSTED_23, KEYS,
                                     ORIGIN)
    assert bundle.verify_proof_text(HONEST.tlog_proof(7, 23), KEYS).position == 7


FORKED = Service([*LEAVES[:5], encode_leaf(6, UUID(int=66), 1, "domain.x:X.Forged", b"{}"),
                  *LEAVES[6:18], encode_leaf(19, UUID(int=67), 1, "domain.x:X.Forged", b"{}"),
                  *LEAVES[19:]])

INCLUSION_LIES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "flipped path hash": lambda a: {**a, "inclusion_path": [flip(a["inclusion_path"][0]),
                                                            *a["inclusion_path"][1:]]},
    "path cut short": lambda a: {**a, "inclusion_path": a["inclusion_path"][:-1]},
    "path extended": lambda a: {**a, "inclusion_path": [*a["inclusion_path"], b64(bytes(32))]},
    "other index": lambda a: {**a, "leaf_index": a["leaf_index"] + 1},
    "other size": lambda a: {**a, "tree_size": 22},
    "other leaf's hash": lambda a: {**a, "leaf_hash": b64(leaf_hash(LEAVES[0]))},
    "fake root with a fake path": lambda a: {**a, "inclusion_path": [b64(bytes(32))] * 5,
                                             "root_hash": b64(bytes(32))},
    "proof from a forked tree": lambda a: FORKED.inclusion(7, 23),
}


@pytest.mark.parametrize("lie", INCLUSION_LIES, ids=list(INCLUSION_LIES))
def test_corrupted_inclusion_answers_are_refused(lie):
    answer = INCLUSION_LIES[lie](HONEST.inclusion(7, 23))
    with pytest.raises(Refused):
        bundle.verify_inclusion_answer(answer, TRUSTED_23, KEYS, ORIGIN, leaf=LEAVES[6])


CONSISTENCY_LIES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "flipped hash": lambda a: {**a, "consistency_path": [flip(a["consistency_path"][0]),
                                                         *a["consistency_path"][1:]]},
    "cut short": lambda a: {**a, "consistency_path": a["consistency_path"][:-1]},
    "other sizes": lambda a: {**a, "first": 15},
    "proof of a forked tree": lambda a: FORKED.consistency(16, 23),
}


@pytest.mark.parametrize("lie", CONSISTENCY_LIES, ids=list(CONSISTENCY_LIES))
def test_corrupted_consistency_answers_are_refused(lie):
    answer = CONSISTENCY_LIES[lie](HONEST.consistency(16, 23))
    with pytest.raises(Refused):
        bundle.verify_consistency_answer(answer, TRUSTED_16, TRUSTED_23, KEYS, ORIGIN)


def test_a_forked_checkpoint_fails_consistency_with_the_one_held():
    with pytest.raises(Refused):
        bundle.verify_consistency_answer(FORKED.consistency(16, 23), TRUSTED_16,
                                         FORKED.checkpoint(23), KEYS, ORIGIN)


def _rewrite(text: str, *, index: int | None = None, path: list[bytes] | None = None,
             note: str | None = None, extra: bytes | None = None) -> str:
    p = parse_tlog_proof(text)
    return format_tlog_proof(p.index if index is None else index,
                             list(p.proof) if path is None else path,
                             p.checkpoint_note if note is None else note,
                             extra=p.extra if extra is None else extra)


TREE = HONEST.tree
TLOG_LIES: dict[str, Callable[[str], str]] = {
    "flipped path hash": lambda t: _rewrite(t, path=[bytes(32), *parse_tlog_proof(t).proof[1:]]),
    "other index": lambda t: _rewrite(t, index=7),
    "other event's bytes": lambda t: _rewrite(t, extra=LEAVES[7]),
    "checkpoint signed by another key": lambda t: _rewrite(
        t, note=Service(LEAVES, ATTACKER).checkpoint(23)),
    "forked tree's proof and root": lambda t: FORKED.tlog_proof(7, 23).replace(
        "\n\n" + FORKED.checkpoint(23), "\n\n" + Service(FORKED.leaves, ATTACKER)
        .checkpoint(23)),
    "signature bit flipped": lambda t: t[:-3] + ("A" if t[-3] != "A" else "B") + t[-2:],
    "interior node presented as the leaf": lambda t: _rewrite(
        t, index=3, path=TREE.inclusion_proof(6, 23)[1:],
        extra=TREE.get_node(0, 6) + TREE.get_node(0, 7)),
}


@pytest.mark.parametrize("lie", TLOG_LIES, ids=list(TLOG_LIES))
def test_corrupted_tlog_proofs_are_refused(lie):
    with pytest.raises(Refused):
        bundle.verify_proof_text(TLOG_LIES[lie](HONEST.tlog_proof(7, 23)), KEYS)
