"""Reading the ledger for integrity checks: the stored events beside the Merkle log's own
leaves, streamed as bundle lines (`ledger export`) or audited in place (`ledger verify
--live`). Both read in batches: memory stays flat whatever the log's size."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import zip_longest

from domain.checkpoint import IntegrityLog
from domain.ledger import Ledger
from ledger_verifier import bundle
from ledger_verifier.verifier import Verifier, leaf_hash
from projections.merkle_log import MerkleLog, NodeAudit, describe_node, leaf_of

Entry = tuple[bytes | None, tuple[int, bytes] | None]
CHUNK = 1 << 16  # bytes per streamed chunk


def checkpoint_notes(log: IntegrityLog | None) -> list[str]:
    """Every checkpoint of the log in recorded order, each with its cosignatures."""
    if log is None:
        return []
    return [cp.note + "".join(c.signature + "\n" for c in log.cosignatures_of(cp.size))
            for cp in log.checkpoints]


def earlier_logs(ledger: Ledger, log: IntegrityLog | None) -> list[IntegrityLog]:
    """The logs this one continues after key rotations (each new log's first entry names the
    one before), oldest first."""
    chain: list[IntegrityLog] = []
    seen = {log.origin} if log is not None else set()
    while log is not None and log.previous_origin and log.previous_origin not in seen:
        seen.add(log.previous_origin)
        log = ledger.get_integrity_log(log.previous_origin)
        chain.append(log)
    return chain[::-1]


def all_checkpoint_notes(ledger: Ledger, log: IntegrityLog | None
                         ) -> tuple[list[IntegrityLog], list[str]]:
    """The earlier logs, and every checkpoint of them and of this log, in recorded order:
    under each key in turn, oldest first (one tree throughout, so sizes only grow)."""
    earlier = earlier_logs(ledger, log)
    notes = [note for older in earlier for note in checkpoint_notes(older)]
    return earlier, notes + checkpoint_notes(log)


def snapshot_bounds(ledger: Ledger, merkle: MerkleLog) -> tuple[int, int]:
    """(last event position, last claimed position) to read up to. The log's position is read
    first: every leaf it holds then was an event at or below the head read after it, so a
    claimed leaf beyond the head is an event that is gone, not one written meanwhile."""
    log_end = merkle.position()
    head = ledger.head_position()
    return head, max(head, log_end)


def entries(ledger: Ledger, merkle: MerkleLog, head: int, log_end: int) -> Iterator[Entry]:
    """(leaf bytes, the log's (position, leaf hash)) by leaf index, for every stored event
    up to position `head`; then (None, claimed) for leaves the log holds beyond the events."""
    leaves = (leaf_of(row) for row in ledger.iter_notifications(stop=head, batch=5000))
    return zip_longest(leaves, _until(merkle.iter_leaves(), log_end))


def _until(claimed: Iterator[tuple[int, bytes]], stop: int) -> Iterator[tuple[int, bytes]]:
    for item in claimed:
        if item[0] > stop:
            return
        yield item


def export_lines(ledger: Ledger, merkle: MerkleLog, log: IntegrityLog | None, origin: str,
                 vkey: str) -> Iterator[bytes]:
    """The bundle, line by line. Checkpoints are read before the head, so every checkpoint
    in the bundle is covered by the events in it; after key rotations, those under the earlier
    keys come first (the header names those logs and keys)."""
    earlier, notes = all_checkpoint_notes(ledger, log)
    head, log_end = snapshot_bounds(ledger, merkle)
    yield bundle.header_line(origin, vkey, head, datetime.now(tz=UTC).isoformat(),
                             [(older.origin, older.vkey) for older in earlier])
    for note in notes:
        yield bundle.checkpoint_line(note)
    events = extras = 0
    for leaf, claimed in entries(ledger, merkle, head, log_end):
        if leaf is not None:
            events += 1
            yield bundle.event_line(leaf, claimed)
        elif claimed is not None:
            extras += 1
            yield bundle.extra_leaf_line(claimed)
    yield bundle.trailer_line(events, len(notes), extras)


def read_ahead(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The same chunks, the first of them read now: a store that cannot be read fails here,
    before an HTTP response has sent its status line, not halfway through its body."""
    iterator = iter(chunks)
    first = next(iterator, b"")
    return itertools.chain([first], iterator)


def chunked(lines: Iterator[bytes], size: int = CHUNK) -> Iterator[bytes]:
    """Group lines into chunks of about `size` bytes (fewer, larger writes over HTTP)."""
    buffer: list[bytes] = []
    length = 0
    for line in lines:
        buffer.append(line)
        length += len(line)
        if length >= size:
            yield b"".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield b"".join(buffer)


def verify_live(ledger: Ledger, merkle: MerkleLog, log: IntegrityLog | None, origin: str,
                keys: Sequence[Verifier], *, trusted: Sequence[str] = (),
                state: bundle.Target | None = None) -> bundle.Verdict:
    """The bundle verifier's checks, run against the database itself (read-only); and, in
    the same pass, every stored interior node of the Merkle log (the proof cache) compared
    with the node recomputed from the events."""
    earlier, notes = all_checkpoint_notes(ledger, log)
    head, log_end = snapshot_bounds(ledger, merkle)
    audit = merkle.node_audit()
    verdict = bundle.verify_entries(origin, keys, notes,
                                    _audited(entries(ledger, merkle, head, log_end), audit),
                                    trusted=trusted, state=state,
                                    earlier=[older.origin for older in earlier])
    if not verdict.ok:
        return verdict  # the events themselves differ: that comes first
    problem = audit.finish()
    if problem is None:
        return verdict
    level, index, what = problem
    leaf = merkle.leaf(index << level)
    return bundle.Verdict(
        False, f"the Merkle log's {describe_node(level, index)} is {what}: proofs served "
        "over it would not verify (the events are intact; rebuild the node table with "
        "`ledger merkle-rebuild`)", bundle.Kind.CORRUPT_NODE,
        leaf[0] if leaf is not None else None, events=verdict.events,
        verified_size=verdict.verified_size, checkpoints_verified=verdict.checkpoints_verified,
        latest=verdict.latest, warnings=verdict.warnings)


def _audited(items: Iterator[Entry], audit: NodeAudit) -> Iterator[Entry]:
    for item in items:
        if item[0] is not None:
            audit.add(leaf_hash(item[0]))
        yield item
