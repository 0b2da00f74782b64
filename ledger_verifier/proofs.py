"""The Merkle tree (RFC 6962), the one implementation: the service makes its proofs and the
verifier rebuilds roots with this code, over the hashes of verifier.py.

Storage model: ``get_node(level, index)`` returns the hash of the *perfect*
subtree of ``2**level`` leaves starting at leaf ``index * 2**level``
(level 0 = leaf hashes). A projection can keep exactly these nodes in a table
keyed by (level, index): they never change once the subtree is complete.
Subtrees on the right edge of a tree that is not a power of two in size are
never stored; they are folded from at most log2(n) stored perfect nodes.

Every function below reads O(log n) nodes. MemoryTree keeps the nodes in memory: all of
them (to make proofs), or only the compact range (the root of a log streamed past once).
Proofs are checked in verifier.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ledger_verifier.verifier import EMPTY_ROOT, check_hash, node_hash

GetNode = Callable[[int, int], bytes]


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 6962 §2.1: the largest power of two strictly less than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_hash(start: int, end: int, get_node: GetNode) -> bytes:
    """MTH of leaves [start, end), a subtree as it occurs in RFC 6962 trees.

    Such a range starts at a multiple of a power of two >= its length, so it splits
    into perfect subtrees of strictly decreasing size, whose hashes fold right to left.
    """
    if not 0 <= start < end:
        raise ValueError(f"empty or invalid range [{start}, {end})")
    parts = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start % (1 << level):
            raise ValueError("range is not a subtree of an RFC 6962 tree")
        parts.append(get_node(level, start >> level))
        start += 1 << level
    return fold(parts)


def fold(parts: list[bytes]) -> bytes:
    """The root of perfect subtrees of strictly decreasing size, left to right: hashed
    together from the right edge inwards."""
    h = parts[-1]
    for left in reversed(parts[:-1]):
        h = node_hash(left, h)
    return h


def root(size: int, get_node: GetNode) -> bytes:
    """MTH of the first ``size`` leaves."""
    if size < 0:
        raise ValueError("negative tree size")
    return subtree_hash(0, size, get_node) if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, get_node: GetNode) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(index, D[0:size]), ordered leaf to root."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    path = []
    lo, hi = 0, size
    while hi - lo > 1:  # descend from the root towards the leaf
        k = _largest_power_of_two_below(hi - lo)
        if index < lo + k:
            path.append(subtree_hash(lo + k, hi, get_node))
            hi = lo + k
        else:
            path.append(subtree_hash(lo, lo + k, get_node))
            lo += k
    return path[::-1]


def consistency_proof(size1: int, size2: int, get_node: GetNode) -> list[bytes]:
    """RFC 6962 §2.1.2 PROOF(size1, D[0:size2]); empty when the sizes are equal.

    size1 == 0 is refused, matching the verifier's policy.
    """
    if not 0 < size1 <= size2:
        raise ValueError(f"need 0 < size1 <= size2, got {size1}, {size2}")
    proof = []
    lo, hi = 0, size2
    old_root_is_known = True  # SUBPROOF's flag b: still on the old tree's left spine
    while size1 != hi:
        k = _largest_power_of_two_below(hi - lo)
        if size1 <= lo + k:
            proof.append(subtree_hash(lo + k, hi, get_node))
            hi = lo + k
        else:
            proof.append(subtree_hash(lo, lo + k, get_node))
            lo += k
            old_root_is_known = False
    if not old_root_is_known:
        proof.append(subtree_hash(lo, hi, get_node))
    return proof[::-1]


def append_nodes(index: int, leaf_hash: bytes, get_node: GetNode) -> list[tuple[int, int, bytes]]:
    """The (level, index, hash) nodes completed by appending leaf ``index``.

    These are exactly the rows a projection inserts for one new leaf.
    """
    nodes = [(0, index, leaf_hash)]
    h, level = leaf_hash, 0
    while index & 1:  # a right child completes its parent
        h = node_hash(get_node(level, index - 1), h)
        index, level = index >> 1, level + 1
        nodes.append((level, index, h))
    return nodes


class MemoryTree:
    """A Merkle tree in memory, grown one leaf hash at a time (append_nodes).

    By default it keeps every perfect subtree, ``levels[level][index]``, and makes any proof.
    ``compact=True`` keeps only the subtrees that make up the tree now, largest (leftmost)
    first, one per set bit of ``size`` (a "compact range"): O(log n) memory, enough for the
    root after every append; what a verifier streaming a whole log needs.
    """

    def __init__(self, *, compact: bool = False) -> None:
        self.levels: list[list[bytes]] = [[]]
        self.compact = compact
        self._range: list[bytes] = []  # compact: the perfect subtrees, largest first
        self._size = 0

    @property
    def size(self) -> int:
        """Number of leaves."""
        return self._size

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; returns the nodes it completed (see append_nodes)."""
        check_hash(leaf_hash, "leaf hash")
        if self.compact:
            # append_nodes reads the left siblings it merges with from the top of the range
            nodes = append_nodes(self._size, leaf_hash, self._pop)
            self._range.append(nodes[-1][2])
        else:
            nodes = append_nodes(self._size, leaf_hash, self.get_node)
            for level, index, h in nodes:
                if level == len(self.levels):
                    self.levels.append([])
                assert len(self.levels[level]) == index  # nodes complete strictly in order
                self.levels[level].append(h)
        self._size += 1
        return nodes

    def _pop(self, level: int, index: int) -> bytes:
        return self._range.pop()

    def get_node(self, level: int, index: int) -> bytes:
        """Hash of the complete perfect subtree (level, index); KeyError if not kept."""
        if self.compact:
            n = self._size
            if not (n >> level) & 1 or index != (n >> level) - 1:
                raise KeyError((level, index))
            return self._range[(n >> (level + 1)).bit_count()]
        if not (0 <= level < len(self.levels) and 0 <= index < len(self.levels[level])):
            raise KeyError((level, index))
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        """MTH at ``size`` (default: current size; a compact tree has no other)."""
        return root(self._size if size is None else size, self.get_node)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index) in the tree of ``size`` leaves (default: current size)."""
        return inclusion_proof(index, self._size if size is None else size, self.get_node)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """PROOF(size1, size2) (default size2: current size)."""
        return consistency_proof(size1, self._size if size2 is None else size2, self.get_node)


def root_from_leaf_hashes(hashes: Iterable[bytes]) -> bytes:
    """MTH of a sequence of leaf hashes, computed in one pass with O(log n) memory."""
    tree = MemoryTree(compact=True)
    for h in hashes:
        tree.append(h)
    return tree.root()
