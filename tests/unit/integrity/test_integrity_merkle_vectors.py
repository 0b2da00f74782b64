"""RFC 6962 hashing, proof generation and verification against published vectors."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from ledger_verifier import proofs
from ledger_verifier.verifier import (
    EMPTY_ROOT,
    ProofError,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

REFERENCE = "extracted/rfc6962_reference_tree.json"


# --------------------------------------------------- transparency-dev golden probes


def test_inclusion_probe(
    inclusion_probe: dict[str, Any], b64decode: Callable[[str | None], bytes]
) -> None:
    """Each probe is accepted iff wantErr is false."""
    p = inclusion_probe
    args = (
        p["leafIdx"],
        p["treeSize"],
        b64decode(p["leafHash"]),
        [b64decode(h) for h in p["proof"] or []],
    )
    if p["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args, b64decode(p["root"]))
    else:
        verify_inclusion(*args, b64decode(p["root"]))


def test_consistency_probe(
    consistency_probe: dict[str, Any], b64decode: Callable[[str | None], bytes]
) -> None:
    """Each probe is accepted iff wantErr is false (size1 == 0 is always an error)."""
    p = consistency_probe
    args = (p["size1"], p["size2"], b64decode(p["root1"]), b64decode(p["root2"]))
    proof = [b64decode(h) for h in p["proof"] or []]
    if p["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args, proof)
    else:
        verify_consistency(*args, proof)


# ------------------------------------------------------ 8-leaf reference tree


@pytest.fixture(scope="module")
def reference(load_json: Callable[[str], Any]) -> dict[str, Any]:
    return load_json(REFERENCE)


@pytest.fixture(scope="module")
def reference_tree(reference: dict[str, Any]) -> proofs.MemoryTree:
    tree = proofs.MemoryTree()
    for data in reference["leaf_inputs_hex"]:
        tree.append(leaf_hash(bytes.fromhex(data)))
    return tree


def test_hasher_known_answers(reference: dict[str, Any]) -> None:
    kats = reference["hasher_known_answers"]
    assert EMPTY_ROOT.hex() == kats[0]["want_hex"] == hashlib.sha256(b"").hexdigest()
    assert leaf_hash(bytes.fromhex(kats[1]["leaf_hex"])).hex() == kats[1]["want_hex"]
    assert leaf_hash(bytes.fromhex(kats[2]["leaf_hex"])).hex() == kats[2]["want_hex"]
    assert (
        node_hash(bytes.fromhex(kats[3]["left_hex"]), bytes.fromhex(kats[3]["right_hex"])).hex()
        == kats[3]["want_hex"]
    )


def test_reference_leaf_and_node_hashes(
    reference: dict[str, Any], reference_tree: proofs.MemoryTree
) -> None:
    assert [h.hex() for h in reference_tree.levels[0]] == reference["leaf_hashes_hex"]
    for level, hashes in enumerate(reference["node_hashes_by_level_hex"]):
        if hashes is not None:
            assert [h.hex() for h in reference_tree.levels[level]] == hashes


@pytest.mark.parametrize("size", range(9))
def test_reference_roots(
    reference: dict[str, Any], reference_tree: proofs.MemoryTree, size: int
) -> None:
    want = reference["roots_by_size_hex"][size]
    leaves = [leaf_hash(bytes.fromhex(d)) for d in reference["leaf_inputs_hex"][:size]]
    assert proofs.root_from_leaf_hashes(leaves).hex() == want
    assert reference_tree.root(size).hex() == want


def test_reference_inclusion_proofs(
    reference: dict[str, Any], reference_tree: proofs.MemoryTree
) -> None:
    roots = [bytes.fromhex(r) for r in reference["roots_by_size_hex"]]
    assert reference["inclusion_proofs"]
    for case in reference["inclusion_proofs"]:
        i, n = case["leaf_index"], case["tree_size"]
        proof = reference_tree.inclusion_proof(i, n)
        assert [h.hex() for h in proof] == case["proof_hex"]
        verify_inclusion(i, n, reference_tree.get_node(0, i), proof, roots[n])


def test_reference_consistency_proofs(
    reference: dict[str, Any], reference_tree: proofs.MemoryTree
) -> None:
    roots = [bytes.fromhex(r) for r in reference["roots_by_size_hex"]]
    assert reference["consistency_proofs"]
    for case in reference["consistency_proofs"]:
        m, n = case["size1"], case["size2"]
        proof = reference_tree.consistency_proof(m, n)
        assert [h.hex() for h in proof] == case["proof_hex"]
        verify_consistency(m, n, roots[m], roots[n], proof)


def test_reference_all_proofs_verify(
    reference: dict[str, Any], reference_tree: proofs.MemoryTree
) -> None:
    """Beyond the listed cases: every (index, size) and (size1, size2) of the 8-leaf tree."""
    roots = [bytes.fromhex(r) for r in reference["roots_by_size_hex"]]
    for n in range(1, 9):
        for i in range(n):
            verify_inclusion(
                i, n, reference_tree.get_node(0, i), reference_tree.inclusion_proof(i, n), roots[n]
            )
        for m in range(1, n + 1):
            verify_consistency(m, n, roots[m], roots[n], reference_tree.consistency_proof(m, n))


# ------------------------------------------- 130-leaf rolling digests (MTC draft appendix)


def _bit_ceil(n: int) -> int:
    return 1 << (n - 1).bit_length() if n > 0 else 1


def _subtree_ranges(n_leaves: int) -> list[tuple[int, int]]:
    return [
        (start, end)
        for end in range(n_leaves + 1)
        for start in range(end + 1)
        if start == 0 or start == end or start % _bit_ceil(end - start) == 0
    ]


@pytest.fixture(scope="module")
def rolling() -> tuple[proofs.MemoryTree, list[tuple[int, int]]]:
    tree = proofs.MemoryTree()
    for i in range(130):
        tree.append(leaf_hash(bytes([i])))
    return tree, _subtree_ranges(130)


def _want(load_json: Callable[[str], Any], name: str) -> str:
    vectors = load_json("extracted/bulk_rolling_hash_vectors.json")["vectors"]
    return next(v["want_sha256"] for v in vectors if v["name"] == name)


def test_rolling_subtree_hashes(load_json: Callable[[str], Any], rolling: Any) -> None:
    tree, ranges = rolling
    digest = hashlib.sha256()
    for start, end in ranges:
        h = EMPTY_ROOT if start == end else proofs.subtree_hash(start, end, tree.get_node)
        digest.update(f"[{start}, {end}) {h.hex()}\n".encode())
    assert digest.hexdigest() == _want(load_json, "subtree hashes")


def test_rolling_subtree_inclusion_proofs(load_json: Callable[[str], Any], rolling: Any) -> None:
    """PATH(i - start, d[start:end]) through a get_node shifted to the subtree's start."""
    tree, ranges = rolling
    digest = hashlib.sha256()
    for start, end in ranges:

        def shifted(level: int, index: int, start: int = start) -> bytes:
            # start is a multiple of every 2**level used inside the subtree
            return tree.get_node(level, index + (start >> level))

        for index in range(start, end):
            path = proofs.inclusion_proof(index - start, end - start, shifted)
            digest.update(
                (f"{index} [{start}, {end})" + "".join(f" {h.hex()}" for h in path) + "\n").encode()
            )
    assert digest.hexdigest() == _want(load_json, "subtree inclusion proofs")


def test_rolling_roots_match_streaming_builder(rolling: Any) -> None:
    tree, _ = rolling
    builder = proofs.MemoryTree(compact=True)
    assert builder.root() == EMPTY_ROOT == tree.root(0)
    for i in range(130):
        builder.append(tree.get_node(0, i))
        assert builder.size == i + 1
        assert builder.root() == tree.root(i + 1)


# -------------------------------------------------------- edge cases and policy


def test_empty_tree_has_no_inclusion() -> None:
    with pytest.raises(ProofError):
        root_from_inclusion_proof(0, 0, leaf_hash(b""), [])


def test_consistency_from_zero_is_refused_even_zero_to_zero() -> None:
    with pytest.raises(ProofError):
        verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(ProofError):
        verify_consistency(0, 1, EMPTY_ROOT, leaf_hash(b""), [])
    with pytest.raises(ValueError):
        proofs.consistency_proof(0, 1, proofs.MemoryTree().get_node)


def test_wrong_length_hashes_are_refused() -> None:
    leaf = leaf_hash(b"x")
    with pytest.raises(ProofError):
        verify_inclusion(0, 1, leaf[:31], [], leaf)
    with pytest.raises(ProofError):
        verify_inclusion(0, 2, leaf, [leaf + b"\x00"], leaf)
    with pytest.raises(ProofError):
        proofs.MemoryTree(compact=True).append(b"short")


def test_rejection_reasons_for_short_and_long_proofs(reference_tree: proofs.MemoryTree) -> None:
    roots = [reference_tree.root(s) for s in range(9)]
    incl = reference_tree.inclusion_proof(2, 7)
    leaf = reference_tree.get_node(0, 2)
    with pytest.raises(ProofError, match="too short"):
        verify_inclusion(2, 7, leaf, incl[:-1], roots[7])
    with pytest.raises(ProofError, match="too long"):
        verify_inclusion(2, 7, leaf, [*incl, roots[1]], roots[7])
    cons = reference_tree.consistency_proof(3, 7)
    with pytest.raises(ProofError, match="too short"):
        verify_consistency(3, 7, roots[3], roots[7], cons[:-1])
    with pytest.raises(ProofError, match="too long"):
        verify_consistency(3, 7, roots[3], roots[7], [*cons, roots[1]])
