"""The ledger's Merkle log: one RFC 6962 leaf per stored event, in notification order.

Tables (PostgreSQL: beside the events, like every view; SQLite: a file beside the events
file; see open_log_db):
  view_merkle_leaves (leaf_index, position, leaf_hash)   leaf index 0.. with no gaps; the
                                                           position is the event's
                                                           notification id (may have gaps)
  view_merkle_nodes  (level, node_index, hash)            every complete perfect subtree of
                                                           2**level leaves, level >= 1
Hashes are lower-case hex. Level-0 nodes are the leaf hashes themselves.

The view is fed by the shared projection runner (projections/runner.py) like every other
view, with the same tracking record and compare-and-set, so each event becomes exactly one
leaf: in the projection worker (or the API's in-process runner) beside the other views, and
on demand before a checkpoint or a proof (MerkleLog.catch_up). It takes the events as the
runner read them from the store, never decoded: the leaf is the event *as stored*
(ledger_verifier/leaf.py). Proofs read O(log n) nodes in two queries
(ledger_verifier/proofs.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from eventsourcing.persistence import Notification

from domain.store import PostgresStore, SqliteStore
from ledger_verifier import proofs
from ledger_verifier.leaf import encode_leaf
from ledger_verifier.verifier import (
    IntegrityError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from projections.base import Changes, View, ViewProjection
from projections.db import Db, SqliteDb, Table, Tx
from projections.readside import ProjectionSettings, ReadSide, open_db
from projections.runner import BULK_BATCH, Runner
from projections.tracking import DDL, ensure_row, read_position, reset

if TYPE_CHECKING:
    from domain.ledger import Ledger

NAME = "merkle_log"
log = logging.getLogger("ledger.projections")
T = TypeVar("T")

LEAVES = Table("view_merkle_leaves",
               (("leaf_index", "BIGINT"), ("position", "BIGINT"), ("leaf_hash", "TEXT")),
               key=("leaf_index",), indexes=("position",))
NODES = Table("view_merkle_nodes",
              (("level", "INTEGER"), ("node_index", "BIGINT"), ("hash", "TEXT")),
              key=("level", "node_index"))
# Which event store the log was built from: a views file pointed at another store must not
# lend it a history (it is rebuilt; a changed event in the same store is refused instead).
META = Table("view_merkle_meta", (("name", "TEXT"), ("value", "TEXT")), key=("name",))


class MerkleLogError(Exception):
    """The Merkle log cannot be read or extended (not built that far, or stopped)."""


class CorruptNode(MerkleLogError):
    """A stored node is not the hash of what lies below it: the proof cache is corrupt.
    `node` is (level, index) when the bad node could be named (level 0: a leaf)."""

    def __init__(self, message: str, node: tuple[int, int] | None = None) -> None:
        super().__init__(message)
        self.node = node


def describe_node(level: int, index: int) -> str:
    first, last = index << level, ((index + 1) << level) - 1
    if level == 0:
        return f"leaf {index}"
    return f"node (level {level}, index {index}; leaves {first}-{last})"


class MerkleLogProjection(ViewProjection):
    """Appends one leaf per stored event, and the perfect subtrees each completes."""

    name: ClassVar[str] = NAME
    version: ClassVar[int] = 1
    tables: ClassVar[tuple[Table, ...]] = (LEAVES, NODES, META)
    stored = True  # items carry the stored rows (the recorder's Notifications)

    def apply(self, changes: Changes, items: Iterable[tuple[int, str, Any]]) -> None:
        tx = changes.tx
        size, last_position = _tail(tx)
        cache = _frontier(tx, size)
        add_leaf, add_node = changes.appender(LEAVES.name), changes.appender(NODES.name)
        for _, _, row in items:
            if row.id <= last_position:
                raise MerkleLogError(f"position {row.id} is not after the log's last leaf "
                                     f"(position {last_position})")
            h = leaf_hash(leaf_of(row))
            for level, index, value in proofs.append_nodes(size, h,
                                                           lambda lv, i: cache[(lv, i)]):
                cache[(level, index)] = value
                if level:
                    add_node((level, index, value.hex()))
            add_leaf((size, row.id, h.hex()))
            size, last_position = size + 1, row.id


def leaf_of(row: Notification) -> bytes:
    """The leaf bytes of one stored event (a Notification from the store). A state stored
    as text (only a hand edit does that) counts as its UTF-8 bytes."""
    state = row.state if isinstance(row.state, bytes) else str(row.state).encode()
    return encode_leaf(row.id, row.originator_id, row.originator_version, row.topic, state)


def _tail(tx: Tx) -> tuple[int, int]:
    """(tree size, position of the last leaf) as stored."""
    row = tx.one("SELECT leaf_index, position FROM {view_merkle_leaves} "
                 "ORDER BY leaf_index DESC LIMIT 1")
    return (0, 0) if row is None else (int(row["leaf_index"]) + 1, int(row["position"]))


def _frontier(tx: Tx, size: int) -> dict[tuple[int, int], bytes]:
    """The perfect subtrees that make up a tree of `size` leaves (one per set bit): the only
    nodes an append can need."""
    wanted, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            wanted.append((level, start >> level))
            start += 1 << level
    return _fetch(tx, wanted)


def _fetch(tx: Tx, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Read nodes by (level, index) in at most two queries; absent nodes are left out."""
    found: dict[tuple[int, int], bytes] = {}
    leaves = sorted({i for level, i in wanted if level == 0})
    if leaves:
        for row in tx.select_in("SELECT leaf_index, leaf_hash FROM {view_merkle_leaves} "
                                "WHERE {in}", "leaf_index", leaves):
            found[(0, int(row["leaf_index"]))] = bytes.fromhex(row["leaf_hash"])
    inner = sorted({(level, i) for level, i in wanted if level > 0})
    if inner:
        where = " OR ".join("(level = ? AND node_index = ?)" for _ in inner)
        params = [v for pair in inner for v in pair]
        for row in tx.query(f"SELECT level, node_index, hash FROM {{view_merkle_nodes}} "
                            f"WHERE {where}", params):
            found[(int(row["level"]), int(row["node_index"]))] = bytes.fromhex(row["hash"])
    return found


class MerkleReadSide(ReadSide):
    """A read side holding only the Merkle log's view, so the shared Runner can feed it.

    Unlike the other views, the log is never rebuilt because the events disagree with it (a
    view ahead of the head, a changed first event): that disagreement is the evidence of
    tampering, and `ledger verify` reports it. It is rebuilt only for a different event store
    (by the store's identity, not its content) or a new version of this code."""

    def __init__(self, settings: ProjectionSettings, ledger: Ledger, *, db: Db | None = None
                 ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.db = db or open_log_db(settings, ledger)
        self.view_names = (NAME,)
        self.views = {NAME: View(self.db, MerkleLogProjection)}
        self._wakers = []
        self.setup()

    def setup(self, *, fresh: bool = False) -> None:
        view = self.views[NAME]
        identity = self.ledger.store.identity()
        with self.db.transaction() as tx:
            self.db.hold_setup_lock(tx)
            tx.execute(DDL)
            if ensure_row(tx, NAME, MerkleLogProjection.version):
                log.warning("the Merkle log was built by another version: rebuilding it")
                view.drop_tables(tx)
            view.create_tables(tx)
            row = tx.one("SELECT value FROM {view_merkle_meta} WHERE name = 'store'")
            if row is not None and row["value"] == identity and not fresh:
                return
            if row is not None or _tail(tx)[0] or fresh:
                log.warning("the Merkle log in %s was built from another event store (%s); "
                            "rebuilding it for %s", self.db.identity,
                            row["value"] if row else "unknown", identity)
                view.clear_tables(tx)
                # Built again event by event: its indexes, which emptying it dropped, are
                # made at once.
                view.create_tables(tx)
                reset(tx, NAME)
            tx.execute("INSERT INTO {view_merkle_meta} (name, value) VALUES ('store', ?)",
                       (identity,))


def open_log_db(settings: ProjectionSettings, ledger: Ledger) -> Db:
    """Where the log lives: on PostgreSQL beside the events (tables view_merkle_*, like every
    view); on SQLite in a file beside the events file (`ledger.sqlite3` ->
    `ledger.merkle.sqlite3`), so a views file shared by mistake never mixes two logs; for
    events in memory, in memory."""
    store = ledger.store
    if isinstance(store, PostgresStore):
        return open_db(settings, ledger)
    if isinstance(store, SqliteStore) and store.path is not None:
        events = Path(store.path)
        return SqliteDb(events.with_name(f"{events.stem}.merkle{events.suffix or '.sqlite3'}"))
    return SqliteDb(":memory:")


class MerkleLog:
    """The Merkle log of one ledger: catching up, and the queries proofs are made of.

    Implements the domain's LogTree protocol (size, root, consistency_proof) that checkpoint
    use cases take."""

    def __init__(self, settings: ProjectionSettings, ledger: Ledger, *, db: Db | None = None
                 ) -> None:
        self.ledger = ledger
        self.side = MerkleReadSide(settings, ledger, db=db)
        self.db = self.side.db
        self._lock = threading.Lock()

    def close(self) -> None:
        self.side.close()

    # ---- keeping up -------------------------------------------------------------------------
    def catch_up(self, *, progress: Callable[[int, int], None] | None = None) -> int:
        """Append every stored event up to the head as it is now; returns the tree size.
        Raises MerkleLogError if the view stopped on an event (see `ledger projections`)."""
        with self._lock:  # one catch-up per process at a time; other processes race safely
            self.check_tail()
            runner = Runner(self.side, (NAME,), batch_size=BULK_BATCH)
            runner.catch_up(progress=progress)
            state = self.side.states().get(NAME)
            if state is not None and state.failed:
                raise MerkleLogError(f"the Merkle log stopped at position "
                                     f"{state.failed_position}: {state.error}")
        return self.size

    def check_tail(self) -> None:
        """The log's last leaf must still be the stored event at its position: a cheap check
        before the log grows (and before a checkpoint is signed)."""
        with self.db.snapshot() as tx:
            row = tx.one("SELECT position, leaf_hash FROM {view_merkle_leaves} "
                         "ORDER BY leaf_index DESC LIMIT 1")
        if row is None:
            return
        position = int(row["position"])
        stored = self.ledger.store.stored(position - 1, 1, stop=position)
        if not stored or leaf_hash(leaf_of(stored[0])).hex() != row["leaf_hash"]:
            raise MerkleLogError(f"the stored event at position {position}, the Merkle log's "
                                 f"last leaf, is {'changed' if stored else 'gone'}: the log "
                                 "is not extended over it (`ledger verify --live` names the "
                                 "first bad position)")

    def first_difference(self, start: int = 0) -> tuple[int, str] | None:
        """Compare the stored events with the log's leaves from leaf `start` to the last leaf:
        (first bad position, what differs), or None if every event there is its leaf. Events
        after the last leaf are not yet appended, not a difference."""
        size = self.tree_size()
        if start >= size:
            return None
        if start:
            before = self.leaf(start - 1)
            after = before[0] if before else 0
        else:
            after = 0
        events = self.ledger.iter_notifications(start=after + 1, batch=5000)
        for position, expected in self.iter_leaves(start, size):
            row = next(events, None)
            if row is not None and row.id < position:
                return row.id, (f"the stored event at position {row.id} is not in the Merkle "
                                f"log (inserted; the log's next leaf is position {position})")
            if row is None or row.id > position:
                return position, (f"the event at position {position} is gone (missing; the "
                                  "Merkle log holds it)")
            if leaf_hash(leaf_of(row)) != expected:
                return position, (f"the stored event at position {position} differs from "
                                  "its leaf in the Merkle log (altered)")
        return None

    def position(self) -> int:
        """The last ledger position the log has applied."""
        return read_position(self.db, NAME)

    # ---- queries ----------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self.tree_size()

    def tree_size(self) -> int:
        with self.db.snapshot() as tx:
            return _tail(tx)[0]

    def root(self, size: int | None = None) -> bytes:
        return self._prove(lambda get, n: proofs.root(n, get), size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return self._prove(lambda get, n: proofs.inclusion_proof(index, n, get), size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        return self._prove(lambda get, n: proofs.consistency_proof(size1, n, get), size2)

    def leaf_index_of(self, position: int) -> int | None:
        rows = self.db.query("SELECT leaf_index FROM {view_merkle_leaves} WHERE position = ?",
                             (position,))
        return int(rows[0]["leaf_index"]) if rows else None

    def leaf(self, index: int) -> tuple[int, bytes] | None:
        """(position, leaf hash) of one leaf."""
        rows = self.db.query("SELECT position, leaf_hash FROM {view_merkle_leaves} "
                             "WHERE leaf_index = ?", (index,))
        return (int(rows[0]["position"]), bytes.fromhex(rows[0]["leaf_hash"])) if rows else None

    def iter_leaves(self, start: int = 0, stop: int | None = None,
                    batch: int = 5000) -> Iterator[tuple[int, bytes]]:
        """(position, leaf hash) of leaves start..stop-1 in order, read in batches."""
        index = start
        while stop is None or index < stop:
            limit = batch if stop is None else min(batch, stop - index)
            rows = self.db.query("SELECT leaf_index, position, leaf_hash FROM "
                                 "{view_merkle_leaves} WHERE leaf_index >= ? "
                                 "ORDER BY leaf_index LIMIT ?", (index, limit))
            if not rows:
                return
            for row in rows:
                yield int(row["position"]), bytes.fromhex(row["leaf_hash"])
            index = int(rows[-1]["leaf_index"]) + 1

    # ---- proofs checked before they are served -----------------------------------------------
    def checked_inclusion(self, index: int, size: int, root: bytes | None = None
                          ) -> tuple[bytes, list[bytes], bytes]:
        """(leaf hash, inclusion path, root) of leaf `index` in the tree of `size`, read in
        one snapshot and checked against `root` (the signed root of that size; without one,
        the root recomputed from the stored nodes). Raises CorruptNode naming the bad node."""
        fns: list[Callable[[proofs.GetNode, int], Any]] = [
            lambda get, n: get(0, index),
            lambda get, n: proofs.inclusion_proof(index, n, get)]
        if root is None:
            fns.append(lambda get, n: proofs.root(n, get))
        got = self._prove_all(fns, size)
        leaf, path, expected = got[0], got[1], root if root is not None else got[2]
        try:
            verify_inclusion(index, size, leaf, path, expected)
        except IntegrityError as error:
            self._blame(f"the inclusion proof of leaf {index} in the tree of size {size} does "
                        f"not lead to its root: {error}", _nodes_read(fns, size))
        return leaf, path, expected

    def checked_consistency(self, first: int, second: int, root1: bytes | None = None,
                            root2: bytes | None = None) -> tuple[list[bytes], bytes, bytes]:
        """(consistency path, root of `first`, root of `second`), read in one snapshot and
        checked against the given (signed) roots, or those recomputed from the stored nodes."""
        fns: list[Callable[[proofs.GetNode, int], Any]] = [
            lambda get, n: proofs.consistency_proof(first, n, get),
            lambda get, n: proofs.root(first, get),
            lambda get, n: proofs.root(n, get)]
        got = self._prove_all(fns, second)
        path = got[0]
        r1 = root1 if root1 is not None else got[1]
        r2 = root2 if root2 is not None else got[2]
        try:
            verify_consistency(first, second, r1, r2, path)
            if got[1] != r1 or got[2] != r2:
                raise IntegrityError("the stored nodes give another root than the signed one")
        except IntegrityError as error:
            self._blame(f"the consistency proof from size {first} to {second} does not lead "
                        f"to their roots: {error}", _nodes_read(fns, second))
        return path, r1, r2

    def _blame(self, message: str, nodes: Sequence[tuple[int, int]]) -> None:
        """Raise CorruptNode naming the lowest of `nodes` (or a child of one) whose stored hash
        is not the hash of its stored children (a leaf: of its stored event)."""
        suspects = sorted(set(nodes) | {(lv - 1, 2 * i + side) for lv, i in nodes if lv
                                        for side in (0, 1)})
        for level, index in suspects:
            if not self.node_is_sound(level, index):
                raise CorruptNode(f"the Merkle log's {describe_node(level, index)} is corrupt "
                                  f"({message}); rebuild it from the events with `ledger "
                                  "merkle-rebuild`", (level, index))
        raise CorruptNode(f"the Merkle log is corrupt: {message}; rebuild it from the events "
                          "with `ledger merkle-rebuild`")

    def node_is_sound(self, level: int, index: int) -> bool:
        """Whether one stored node is the hash of its stored children (a leaf: of its event)."""
        if level == 0:
            row = self.leaf(index)
            if row is None:
                return True
            events = self.ledger.store.stored(row[0] - 1, 1, stop=row[0])
            return not events or leaf_hash(leaf_of(events[0])) == row[1]
        with self.db.snapshot() as tx:
            found = _fetch(tx, [(level, index), (level - 1, 2 * index),
                                (level - 1, 2 * index + 1)])
        node = found.get((level, index))
        left, right = found.get((level - 1, 2 * index)), found.get((level - 1, 2 * index + 1))
        if node is None or left is None or right is None:
            return True  # absent nodes are reported as missing, not as corrupt
        return node_hash(left, right) == node

    # ---- auditing and rebuilding the nodes ---------------------------------------------------
    def iter_nodes(self, level: int, batch: int = 5000) -> Iterator[tuple[int, bytes]]:
        """(index, hash) of the stored nodes of one level (>= 1), in index order."""
        index = -1
        while True:
            rows = self.db.query("SELECT node_index, hash FROM {view_merkle_nodes} WHERE "
                                 "level = ? AND node_index > ? ORDER BY node_index LIMIT ?",
                                 (level, index, batch))
            if not rows:
                return
            for row in rows:
                yield int(row["node_index"]), bytes.fromhex(row["hash"])
            index = int(rows[-1]["node_index"])

    def node_audit(self) -> NodeAudit:
        """A checker fed the leaf hashes recomputed from the events, in order: it recomputes
        every interior node of the log as it stands now and compares it with the stored one
        (nodes appended meanwhile are left out)."""
        return NodeAudit(self, self.tree_size())

    def rebuild_nodes(self, *, progress: Callable[[int, int], None] | None = None) -> int:
        """Replace the node table with the nodes recomputed from the events. The leaves must
        still be the events (else refuse: that is tampering, for `ledger verify --live`, not a
        corrupt cache). Returns the number of nodes written."""
        with self._lock:
            size = self.tree_size()
            found = self.first_difference(0)
            if found is not None:
                raise MerkleLogError(f"refusing to rebuild the nodes: {found[1]} (first bad "
                                     f"position {found[0]}); run `ledger verify --live`")
            tree = proofs.MemoryTree(compact=True)
            rows: list[tuple[int, int, str]] = []
            for done, (_, stored) in enumerate(self.iter_leaves(0, size)):
                for level, index, value in tree.append(stored):
                    if level:
                        rows.append((level, index, value.hex()))
                if progress is not None and not done % 65536:
                    progress(done, size)
            with self.db.transaction() as tx:
                if _tail(tx)[0] < size:
                    raise MerkleLogError("the Merkle log shrank during the rebuild")
                for level in range(1, size.bit_length()):  # nodes appended since stay
                    tx.execute("DELETE FROM {view_merkle_nodes} WHERE level = ? AND "
                               "node_index < ?", (level, size >> level))
                for start in range(0, len(rows), 5000):
                    tx.executemany("INSERT INTO {view_merkle_nodes} (level, node_index, hash) "
                                   "VALUES (?, ?, ?)", rows[start:start + 5000])
            return len(rows)

    def _prove(self, fn: Callable[[proofs.GetNode, int], T], size: int | None) -> T:
        return self._prove_all([fn], size)[0]

    def _prove_all(self, fns: Sequence[Callable[[proofs.GetNode, int], Any]],
                   size: int | None) -> list[Any]:
        """Run proofs.py functions in one snapshot: a dry run records which nodes they read
        (the set depends only on indexes and sizes), then one fetch, then the real runs."""
        with self.db.snapshot() as tx:
            current = _tail(tx)[0]
            n = current if size is None else size
            if n > current:
                raise MerkleLogError(f"the log has {current} leaves, not {n}")
            wanted: list[tuple[int, int]] = []

            def record(level: int, index: int) -> bytes:
                wanted.append((level, index))
                return bytes(32)

            for fn in fns:
                fn(record, n)  # raises ValueError for an index or size outside the tree
            found = _fetch(tx, wanted)
        if len(found) != len(set(wanted)):
            missing = sorted(set(wanted) - set(found))
            raise MerkleLogError(f"the log is missing nodes it should hold: "
                                 f"{describe_node(*missing[0])}")
        return [fn(lambda level, index: found[(level, index)], n) for fn in fns]


def _nodes_read(fns: Sequence[Callable[[proofs.GetNode, int], Any]], size: int
                ) -> list[tuple[int, int]]:
    """The (level, index) of every node the functions read for a tree of `size`."""
    wanted: list[tuple[int, int]] = []

    def record(level: int, index: int) -> bytes:
        wanted.append((level, index))
        return bytes(32)

    for fn in fns:
        fn(record, size)
    return wanted


class NodeAudit:
    """Compares every stored interior node with the one recomputed from the events' leaf
    hashes, streaming: one iterator per level over the stored nodes in index order."""

    def __init__(self, merkle: MerkleLog, size: int) -> None:
        self.merkle = merkle
        self.size = size
        self.tree = proofs.MemoryTree(compact=True)
        self.levels: dict[int, Iterator[tuple[int, bytes]]] = {}
        self.problem: tuple[int, int, str] | None = None  # (level, index, what)

    def add(self, leaf_hash_: bytes) -> None:
        if self.problem is not None or self.tree.size >= self.size:
            return
        for level, index, value in self.tree.append(leaf_hash_):
            if not level:
                continue
            stored = next(self._level(level), None)
            if stored is None or stored[0] != index:
                self.problem = (level, index, "missing from the node table")
                return
            if stored[1] != value:
                self.problem = (level, index, "not the hash of the events below it")
                return

    def _level(self, level: int) -> Iterator[tuple[int, bytes]]:
        if level not in self.levels:
            self.levels[level] = self.merkle.iter_nodes(level)
        return self.levels[level]

    def finish(self) -> tuple[int, int, str] | None:
        """The first bad node (level, index, what), or None; also nodes stored beyond those
        the events make."""
        if self.problem is None:
            for level in range(1, self.size.bit_length()):
                extra = next(self._level(level), None)
                if extra is not None and extra[0] < self.size >> level:
                    self.problem = (level, extra[0], "stored, but the events make no such node")
                    break
        return self.problem
