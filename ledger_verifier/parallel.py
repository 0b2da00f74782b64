"""Bundle verification on several cores: an accelerator for bundle.verify_bundle.

Worker processes parse and hash the leaves of consecutive blocks of the file (each reads its
own byte range); the main process checks the order across blocks and builds the one tree with
the same LogAudit, in file order. This path only ever *accepts*: on anything unusual (a
malformed line, a leaf that differs from the service's hints, extra leaves, an error) it
hands the whole file to the single-process reference verifier, which names the problem.
Standard library only (plus bundle.py and what it uses).
"""

from __future__ import annotations

import binascii
import hashlib
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ledger_verifier import bundle
from ledger_verifier.leaf import LeafError, check_leaf
from ledger_verifier.verifier import Verifier

BLOCK = 4 << 20  # bytes of lines per task
MIN_PARALLEL = 16 << 20  # smaller files are not worth the worker start-up


@dataclass(frozen=True)
class Block:
    """What a worker found in one block of `e` lines."""

    count: int
    hashes: bytes  # count * 32 bytes of leaf hashes, in order
    first: int  # first and last positions (strictly increasing inside the block)
    last: int
    clean: bool  # every line well formed, every hint equal to the leaf
    rest: int | None  # byte offset (in the file) of the first line that is not an `e` line


def hash_block(path: str, offset: int, length: int) -> Block:
    """Parse and hash the `e` lines of bytes [offset, offset + length) of the bundle."""
    with open(path, "rb") as f:
        data = os.pread(f.fileno(), length, offset)
    a2b, sha256 = binascii.a2b_base64, hashlib.sha256
    hashes: list[bytes] = []
    first = last = 0
    at = 0
    try:
        for line in data.split(b"\n")[:-1]:
            if line[:2] != b"e ":
                return Block(len(hashes), b"".join(hashes), first, last, True, offset + at)
            parts = line[2:].split(b" ")
            leaf = a2b(parts[0], strict_mode=True)
            position = check_leaf(leaf)
            digest = sha256(b"\x00" + leaf).digest()
            if position <= last or (len(parts) == 3 and (
                    int(parts[1]) != position or a2b(parts[2], strict_mode=True) != digest)
                    ) or len(parts) not in (1, 3):
                return Block(0, b"", 0, 0, False, None)
            first = first or position
            last = position
            hashes.append(digest)
            at += len(line) + 1
    except (binascii.Error, ValueError, LeafError):
        return Block(0, b"", 0, 0, False, None)
    return Block(len(hashes), b"".join(hashes), first, last, True, None)


class _Fallback(Exception):
    """Let the reference verifier decide (and explain)."""


def verify_file(path: Path, keys: Sequence[Verifier], *, trusted: Sequence[str] = (),
                state: bundle.Target | None = None, min_cosignatures: int = 0,
                jobs: int | None = None,
                progress: Callable[[int], None] | None = None) -> bundle.Verdict:
    """Verify a bundle file with `jobs` worker processes (default: every CPU). Same verdict
    as bundle.verify_bundle, which it calls for small files, one job, or any problem."""
    jobs = jobs or os.cpu_count() or 1
    size = path.stat().st_size

    def reference() -> bundle.Verdict:
        with path.open("rb") as f:
            return bundle.verify_bundle(f, keys, trusted=trusted, state=state,
                                        min_cosignatures=min_cosignatures, progress=progress)

    if jobs < 2 or size < MIN_PARALLEL:
        return reference()
    try:
        return _verify(path, size, keys, trusted, state, min_cosignatures, jobs, progress)
    except (_Fallback, bundle.Failure, OSError):
        return reference()


def _verify(path: Path, size: int, keys: Sequence[Verifier], trusted: Sequence[str],
            state: bundle.Target | None, min_cosignatures: int, jobs: int,
            progress: Callable[[int], None] | None) -> bundle.Verdict:
    with path.open("rb") as f:
        audit, checkpoints, line = bundle.read_prelude(iter(f.readline, b""), keys, trusted,
                                                       state, min_cosignatures)
        start = f.tell() - len(line)
        ranges = _ranges(f, start, size)
    events = 0
    rest: int | None = None
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        pending: deque[Future[Block]] = deque()
        for offset, length in ranges:
            pending.append(pool.submit(hash_block, str(path), offset, length))
            if len(pending) >= 2 * jobs:  # bounded: memory stays flat
                events, rest = _take(pending.popleft().result(), audit, events)
                if rest is not None:
                    break
        while rest is None and pending:
            events, rest = _take(pending.popleft().result(), audit, events)
            if progress is not None:
                progress(events)
        for future in pending:
            future.cancel()
    if rest is None:
        raise _Fallback("no trailer")
    with path.open("rb") as f:
        f.seek(rest)
        tail = f.readline()
        if not tail.startswith(b"t "):
            raise _Fallback("extra leaves or a malformed line")
        bundle.check_trailer(tail, f.readline() or None, events, checkpoints, 0)
    return audit.finish()


def _ranges(f: object, start: int, size: int) -> list[tuple[int, int]]:
    """Byte ranges of about BLOCK bytes that end at line ends."""
    out = []
    offset = start
    while offset < size:
        f.seek(min(offset + BLOCK, size))  # type: ignore[attr-defined]
        if offset + BLOCK < size:
            f.readline()  # type: ignore[attr-defined]
        end = f.tell()  # type: ignore[attr-defined]
        out.append((offset, end - offset))
        offset = end
    return out


def _take(block: Block, audit: bundle.LogAudit, events: int) -> tuple[int, int | None]:
    if not block.clean:
        raise _Fallback("a block needs the reference verifier")
    if block.count:
        audit.add_hashed(block.hashes, block.first, block.last)
    return events + block.count, block.rest
