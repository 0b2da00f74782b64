"""Property tests: generated proofs verify, and any single change to them is rejected."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from copy import deepcopy

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger_verifier import proofs
from ledger_verifier.verifier import (
    IntegrityError,
    ProofError,
    leaf_hash,
    open_note,
    parse_checkpoint_body,
    parse_tlog_proof,
    verify_consistency,
    verify_inclusion,
)

MAX_LEAVES = 300


def _tree(seed: int, n: int) -> proofs.MemoryTree:
    tree = proofs.MemoryTree()
    for i in range(n):
        tree.append(leaf_hash(f"{seed}/{i}".encode()))
    return tree


def _flip(h: bytes, bit: int) -> bytes:
    return bytes(b ^ (1 << (bit % 8)) if j == (bit // 8) % 32 else b for j, b in enumerate(h))


def _variants(proof: list[bytes], bit: int, junk: bytes) -> list[list[bytes]]:
    """Single-element changes: flip a bit in each element, drop each, insert junk anywhere."""
    out = [proof[:j] + [_flip(proof[j], bit + j)] + proof[j + 1 :] for j in range(len(proof))]
    out += [proof[:j] + proof[j + 1 :] for j in range(len(proof))]
    out += [proof[:j] + [junk] + proof[j:] for j in range(len(proof) + 1)]
    return out


def _rejected(check: Callable[..., None], *args: object) -> None:
    with pytest.raises(ProofError):
        check(*args)


seeds = st.integers(0, 2**32)
sizes = st.integers(1, MAX_LEAVES)
picks = st.integers(0, 2**16)  # reduced modulo the tree size
bits = st.integers(0, 255)
junks = st.binary(min_size=32, max_size=32)


@settings(max_examples=200, deadline=None)
@given(seed=seeds, n=sizes, pick=picks, bit=bits, junk=junks)
@example(seed=1, n=MAX_LEAVES, pick=MAX_LEAVES - 1, bit=255, junk=bytes(32))
@example(seed=2, n=256, pick=100, bit=3, junk=bytes(32))
@example(seed=3, n=1, pick=0, bit=0, junk=bytes(32))
def test_inclusion_proofs_verify_and_mutations_fail(
    seed: int, n: int, pick: int, bit: int, junk: bytes
) -> None:
    tree = _tree(seed, n + 1)  # one extra leaf, to test size n + 1 with its genuine root
    roots = {s: tree.root(s) for s in (n - 1, n, n + 1) if s >= 0}
    for i in range(n):
        verify_inclusion(i, n, tree.get_node(0, i), tree.inclusion_proof(i, n), roots[n])

    i = pick % n
    leaf, proof, root = tree.get_node(0, i), tree.inclusion_proof(i, n), roots[n]
    for variant in _variants(proof, bit, junk):
        _rejected(verify_inclusion, i, n, leaf, variant, root)
    for other_index in (i - 1, i + 1):
        _rejected(verify_inclusion, other_index, n, leaf, proof, root)
    # The size is not bound by the proof itself (it comes from the signed checkpoint),
    # so a changed size is paired with the genuine root for that size.
    for other_size in (n - 1, n + 1):
        _rejected(verify_inclusion, i, other_size, leaf, proof, roots[other_size])
    for other_root in (junk, roots[n + 1], _flip(root, i)):
        _rejected(verify_inclusion, i, n, leaf, proof, other_root)
    if n > 1:  # (for n == 1 the leaf hash is the root)
        _rejected(verify_inclusion, i, n, leaf, proof, leaf)
        _rejected(verify_inclusion, i, n, tree.get_node(0, (i + 1) % n), proof, root)


@settings(max_examples=200, deadline=None)
@given(seed=seeds, n=sizes, pick=picks, bit=bits, junk=junks)
@example(seed=1, n=MAX_LEAVES, pick=MAX_LEAVES - 1, bit=255, junk=bytes(32))
@example(seed=2, n=MAX_LEAVES, pick=127, bit=7, junk=bytes(32))
@example(seed=3, n=1, pick=0, bit=0, junk=bytes(32))
def test_consistency_proofs_verify_and_mutations_fail(
    seed: int, n: int, pick: int, bit: int, junk: bytes
) -> None:
    tree = _tree(seed, n + 1)
    roots = [tree.root(s) for s in range(n + 2)]
    for m in range(1, n + 1):
        verify_consistency(m, n, roots[m], roots[n], tree.consistency_proof(m, n))

    m = pick % n + 1
    proof = tree.consistency_proof(m, n)
    for variant in _variants(proof, bit, junk):
        _rejected(verify_consistency, m, n, roots[m], roots[n], variant)
    for m2, n2 in ((m - 1, n), (m + 1, n), (m, n - 1), (m, n + 1)):
        if 0 <= m2 and 0 <= n2:
            _rejected(verify_consistency, m2, n2, roots[m2], roots[n2], proof)
    _rejected(verify_consistency, m, n, junk, roots[n], proof)
    _rejected(verify_consistency, m, n, roots[m], junk, proof)
    if m != n:
        _rejected(verify_consistency, m, n, roots[n], roots[m], proof)


@settings(max_examples=50, deadline=None)
@given(seed=seeds, n=sizes)
@example(seed=1, n=MAX_LEAVES)
def test_streaming_roots_match_at_every_size(seed: int, n: int) -> None:
    tree = _tree(seed, n)
    compact = proofs.MemoryTree(compact=True)
    assert compact.root() == proofs.root_from_leaf_hashes([]) == tree.root(0)
    for size in range(1, n + 1):
        assert compact.append(tree.get_node(0, size - 1)) == tree_nodes(tree, size)
        assert (compact.root() == proofs.root_from_leaf_hashes(tree.levels[0][:size])
                == tree.root(size))


def tree_nodes(tree: proofs.MemoryTree, size: int) -> list[tuple[int, int, bytes]]:
    """The nodes the leaf ``size - 1`` completed, read from a tree that keeps them all."""
    index, level, out = size - 1, 0, []
    while True:
        out.append((level, index, tree.get_node(level, index)))
        if not index & 1:
            return out
        index, level = index >> 1, level + 1


def test_a_compact_tree_keeps_one_perfect_subtree_per_set_bit_of_its_size() -> None:
    full, compact = _tree(3, 0), proofs.MemoryTree(compact=True)
    for n in range(1, 70):
        h = leaf_hash(bytes([n]))
        full.append(h)
        compact.append(h)
        kept = [(level, (n >> level) - 1) for level in range(n.bit_length()) if n >> level & 1]
        assert [compact.get_node(*node) for node in kept] == [full.get_node(*node)
                                                               for node in kept]
        with pytest.raises(KeyError):
            compact.get_node(0, n - 2)  # a leaf already merged into its parent
    copy = deepcopy(compact)  # the bundle verifier forks its tree where the hints diverge
    copy.append(leaf_hash(b"fork"))
    assert compact.size == 69 and compact.root() == full.root()


def test_every_proof_of_every_tree_up_to_64_leaves() -> None:
    tree = _tree(7, 64)
    roots = [tree.root(s) for s in range(65)]
    for n in range(1, 65):
        for i in range(n):
            verify_inclusion(i, n, tree.get_node(0, i), tree.inclusion_proof(i, n), roots[n])
        for m in range(1, n + 1):
            verify_consistency(m, n, roots[m], roots[n], tree.consistency_proof(m, n))


def test_inclusion_proof_does_not_bind_the_size() -> None:
    """Documented limitation (why checkpoints sign size and root together):
    PATH(0, D[3]) also verifies as (index 0, size 4) against the size-3 root."""
    tree = _tree(1, 4)
    verify_inclusion(0, 4, tree.get_node(0, 0), tree.inclusion_proof(0, 3), tree.root(3))


# ----------------------------------------------------------- O(log n) node reads


def _counting_store(calls: list[tuple[int, int]]) -> proofs.GetNode:
    """A pretend table of a huge tree: any (level, index) returns a derived hash."""

    def get_node(level: int, index: int) -> bytes:
        calls.append((level, index))
        return hashlib.sha256(f"{level}/{index}".encode()).digest()

    return get_node


@pytest.mark.parametrize("size", [1, 2, 3, 255, 256, 257, 1_000_003, 2**40 + 12_345, 2**62 - 1])
def test_generation_reads_logarithmically_many_nodes(size: int) -> None:
    bound = 2 * size.bit_length()
    for op in (
        lambda g: proofs.root(size, g),
        lambda g: proofs.inclusion_proof(size // 3, size, g),
        lambda g: proofs.inclusion_proof(size - 1, size, g),
        lambda g: proofs.consistency_proof(max(1, size // 2 + 1), size, g),
        lambda g: proofs.consistency_proof(max(1, size - 1), size, g),
    ):
        calls: list[tuple[int, int]] = []
        op(_counting_store(calls))
        assert len(calls) <= bound
        # only complete perfect subtrees of the first `size` leaves are ever read
        assert all((index + 1) << level <= size for level, index in calls)


def test_append_nodes_are_the_table_rows() -> None:
    tree = proofs.MemoryTree()
    rows: dict[tuple[int, int], bytes] = {}
    for i in range(100):
        for level, index, h in tree.append(leaf_hash(bytes([i]))):
            assert (level, index) not in rows
            rows[(level, index)] = h
        assert len(rows) == 2 * (i + 1) - (i + 1).bit_count()
    assert all(tree.get_node(level, index) == h for (level, index), h in rows.items())
    with pytest.raises(KeyError):
        tree.get_node(0, 100)
    with pytest.raises(KeyError):
        tree.get_node(0, -1)


# -------------------------------------------------------------- parser robustness


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary().map(lambda b: b.decode("latin-1"))))
def test_parsers_only_raise_integrity_errors(text: str) -> None:
    for parse in (parse_checkpoint_body, parse_tlog_proof, lambda t: open_note(t, [])):
        try:
            parse(text)
        except IntegrityError:
            pass
