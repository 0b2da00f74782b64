"""Export bundles of the ledger (sgl-bundle/v1) and their offline verification.

Depends on the standard library, ``cryptography`` (through verifier.py) and leaf.py only,
so that a scrutineer can read, copy and run it without the service. The format and every
check are specified in docs/integrity.md. In short, a bundle is UTF-8 text, one record per
line, in this order:

    sgl-bundle/v1
    h {json header: format, origin, vkey, key_fingerprint, head_position, exported_at}
    c <base64 of one signed checkpoint note, with its cosignatures>      (0 or more)
    e <base64 leaf>[ <position> <base64 leaf hash>]                       (one per event)
    x <position> <base64 leaf hash>                                       (0 or more)
    t {json trailer: events, checkpoints, extra_leaves}

The optional fields of an ``e`` line and the ``x`` lines are the service's own Merkle log
(the position and leaf hash it appended at that leaf index). They are hints, never trusted:
the verdict rests on re-hashing every leaf and on the signed checkpoints alone. The hints
only let a failure name the first bad position and what happened there.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from hashlib import sha256
from typing import Any

from ledger_verifier.leaf import LeafError, check_leaf, decode_leaf, with_position
from ledger_verifier.proofs import MemoryTree
from ledger_verifier.verifier import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    IntegrityError,
    NoteError,
    Verifier,
    leaf_hash,
    open_checkpoint,
    parse_tlog_proof,
    verify_consistency,
    verify_inclusion,
    verify_tlog_proof,
)

FORMAT = "sgl-bundle/v1"
WINDOW = 64  # leaves looked at after the first difference, to tell what happened there


class Kind(StrEnum):
    """What is wrong. Also the words `ledger verify` prints."""

    ALTERED = "altered"
    MISSING = "missing"
    INSERTED = "inserted"
    REORDERED = "reordered"
    TRUNCATED = "truncated"  # the log ends below a checkpoint
    FORKED = "forked"  # two signed checkpoints disagree about one history
    ROLLED_BACK = "rolled_back"  # shorter than a checkpoint accepted on an earlier run
    BAD_SIGNATURE = "bad_signature"
    WRONG_KEY_OR_ORIGIN = "wrong_key_or_origin"
    INCONSISTENT = "inconsistent_checkpoints"
    MALFORMED = "malformed"
    INCOMPLETE = "incomplete_export"  # no trailer, or counts that do not match
    EMPTY = "empty"
    NO_CHECKPOINT = "no_checkpoint"  # nothing signed covers the events
    TOO_FEW_COSIGNATURES = "too_few_cosignatures"
    CORRUPT_NODE = "corrupt_node"  # --live only: a stored Merkle node is not the events' hash


class Failure(Exception):
    def __init__(self, kind: Kind, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.position = position


@dataclass(frozen=True)
class Target:
    """A signed (or remembered) statement of the root at one size."""

    size: int
    root: bytes
    source: str  # "bundle", "trusted" (a file the scrutineer brings) or "state"
    note: str | None = None


@dataclass
class Verdict:
    ok: bool
    message: str
    kind: Kind | None = None
    position: int | None = None  # the first bad position, when it can be told
    events: int = 0
    verified_size: int = 0  # the largest checkpoint size the events were checked against
    checkpoints_verified: int = 0
    latest: Target | None = None  # the largest checkpoint accepted (for the state file)
    warnings: list[str] = field(default_factory=list)

    def report(self) -> str:
        if self.ok:
            lines = [f"OK: {self.message}"]
        else:
            where = f" at position {self.position}" if self.position is not None else ""
            kind = self.kind.value if self.kind else "failed"
            lines = [f"FAILED ({kind}){where}: {self.message}"]
        return "\n".join(lines + [f"warning: {w}" for w in self.warnings])


# ---------------------------------------------------------------- checkpoints and keys


def open_log_checkpoint(note: str, keys: Sequence[Verifier], origin: str | Sequence[str],
                        min_cosignatures: int = 0) -> Checkpoint:
    """Open a checkpoint note, naming the failure precisely (bad signature vs unknown key vs
    wrong origin). ``keys`` are the log's keys and any witness keys; ``origin`` the log's
    origin, or the origins it has had (key rotations), one of which the note must name and
    be signed by the key of that name."""
    origins = [origin] if isinstance(origin, str) else list(origin)
    try:
        cp, opened = open_checkpoint(note, keys)
    except NoteError as error:
        raise Failure(_note_failure(note, keys), f"checkpoint note: {error}") from None
    except IntegrityError as error:
        raise Failure(Kind.MALFORMED, f"checkpoint note: {error}") from None
    if cp.origin not in origins:
        raise Failure(Kind.WRONG_KEY_OR_ORIGIN,
                      f"checkpoint of origin {cp.origin!r}, expected "
                      f"{' or '.join(repr(o) for o in origins)}")
    if not any(s.verified and s.key_type == ED25519 and s.name == cp.origin
               for s in opened.signatures):
        raise Failure(Kind.WRONG_KEY_OR_ORIGIN,
                      f"the checkpoint of origin {cp.origin!r} is not signed by that log's key")
    witnesses = {(s.name, s.key_id) for s in opened.signatures
                 if s.verified and s.key_type == COSIGNATURE_V1}
    if len(witnesses) < min_cosignatures:
        raise Failure(Kind.TOO_FEW_COSIGNATURES,
                      f"the checkpoint of size {cp.size} has {len(witnesses)} trusted "
                      f"cosignature(s); {min_cosignatures} required")
    return cp


def _note_failure(note: str, keys: Sequence[Verifier]) -> Kind:
    """A trusted key named on a line that does not verify is a bad signature; otherwise the
    note was signed by no key we trust."""
    known = {(k.name, k.key_id) for k in keys}
    for line in note[note.rfind("\n\n") + 2:].splitlines():
        name, _, sig = line[2:].partition(" ")
        try:
            key_id = base64.b64decode(sig, validate=True)[:4]
        except (binascii.Error, ValueError):
            continue
        if (name, key_id) in known:
            return Kind.BAD_SIGNATURE
    return Kind.WRONG_KEY_OR_ORIGIN


def load_keys(texts: Iterable[str]) -> list[Verifier]:
    """Parse vkeys (log keys, type 0x01, and witness keys, type 0x04)."""
    return [Verifier.from_vkey(t.strip()) for t in texts]


def key_fingerprint(vkey: str) -> str:
    """SHA-256 of the raw Ed25519 public key, hex (as printed in bundle headers)."""
    return "sha256:" + hashlib.sha256(Verifier.from_vkey(vkey).public_key).hexdigest()


# ---------------------------------------------------------------- the streaming audit


class LogAudit:
    """One pass over a log's leaves in order, checked against signed checkpoints.

    Use: add_checkpoint / add_target for every checkpoint, begin(), add() every leaf (with
    the service's claimed position and hash when known), add_claimed() for claimed leaves
    beyond the events, then finish()."""

    def __init__(self, keys: Sequence[Verifier], origin: str, *, earlier: Sequence[str] = (),
                 min_cosignatures: int = 0) -> None:
        """``earlier``: the origins this log had before key rotations (the same tree under
        other keys): their checkpoints count too, when their keys are given."""
        self.keys = list(keys)
        self.origin = origin
        self.earlier = [o for o in earlier if o != origin]
        self.min_cosignatures = min_cosignatures
        self.unchecked: dict[str, int] = {}  # earlier origin -> its checkpoints without a key
        if not any(k.key_type == ED25519 and k.name == origin for k in self.keys):
            raise Failure(Kind.WRONG_KEY_OR_ORIGIN,
                          f"no log key named {origin!r} was given (keys: "
                          f"{', '.join(k.name for k in self.keys) or 'none'})")
        self.targets: dict[int, list[Target]] = {}
        self.recorded: list[Target] = []  # the bundle's checkpoints in recorded order
        self.tree = MemoryTree(compact=True)
        self.last_position = 0
        self.events = 0
        self.claimed_count = 0
        self._sizes: list[int] = []
        self._next = 0  # index into _sizes of the next size to check
        self.mismatches: list[tuple[Target, bytes]] = []  # (target, recomputed root)
        self.matched: list[Target] = []
        self.divergence: int | None = None  # leaf index of the first claimed difference
        self.window: list[tuple[bytes | None, int | None, tuple[int, bytes] | None]] = []
        self.claimed_tree: MemoryTree | None = None
        self.claimed_matches: list[Target] = []

    # ---- what the leaves are checked against ------------------------------------------
    def add_checkpoint(self, note: str, source: str = "bundle") -> Target | None:
        named = note.partition("\n")[0]
        if (source == "bundle" and named in self.earlier
                and not any(k.key_type == ED25519 and k.name == named for k in self.keys)):
            # A checkpoint of the log under an earlier key, which was not given: it cannot be
            # checked, and it is not needed (the current key's checkpoints cover the log).
            self.unchecked[named] = self.unchecked.get(named, 0) + 1
            return None
        cp = open_log_checkpoint(note, self.keys, [self.origin, *self.earlier],
                                 self.min_cosignatures if source == "trusted" else 0)
        target = Target(cp.size, cp.root_hash, source, note)
        if source == "bundle":
            self.recorded.append(target)
        self.add_target(target)
        return target

    def add_target(self, target: Target) -> None:
        self.targets.setdefault(target.size, []).append(target)

    def add_held(self, trusted: Sequence[str], state: Target | None) -> None:
        """What the scrutineer brings: checkpoint notes they hold, and the state file's."""
        for note in trusted:
            self.add_checkpoint(note, "trusted")
        if state is not None:
            self.add_target(state)

    def begin(self) -> None:
        """Check the checkpoints against each other before any leaf is read."""
        for earlier, later in zip(self.recorded, self.recorded[1:]):
            if later.size < earlier.size:
                raise Failure(Kind.INCONSISTENT, f"checkpoint sizes went down: {earlier.size} "
                                                 f"was recorded before {later.size} (origin "
                                                 f"{self.origin})")
        for size, targets in sorted(self.targets.items()):
            if size == 0:
                raise Failure(Kind.MALFORMED, "a checkpoint of an empty log proves nothing")
            if len({t.root for t in targets}) > 1:
                sources = ", ".join(sorted({t.source for t in targets}))
                raise Failure(Kind.FORKED, f"two signed checkpoints of origin {self.origin}, "
                                           f"size {size} have different roots (from: "
                                           f"{sources})")
        self._sizes = sorted(self.targets)

    # ---- the hot path -------------------------------------------------------------------
    def add(self, leaf: bytes, claimed: tuple[int, bytes] | None = None) -> None:
        try:
            position = check_leaf(leaf)
        except LeafError as error:
            raise Failure(Kind.MALFORMED, f"leaf {self.tree.size}: {error}",
                          self.last_position + 1) from None
        if position <= self.last_position:
            raise self._out_of_order(position)
        h = sha256(b"\x00" + leaf).digest()  # RFC 6962 leaf hash (verifier.leaf_hash)
        if self.divergence is not None:
            self._after_divergence(leaf, position, claimed)
        elif claimed is not None:
            self.claimed_count += 1
            if claimed[0] != position or claimed[1] != h:
                self._diverge(leaf, position, claimed)
        self.tree.append(h)
        self.events += 1
        self.last_position = position
        if self._next < len(self._sizes) and self.tree.size == self._sizes[self._next]:
            self._check_size()

    def add_hashed(self, hashes: bytes, first: int, last: int) -> None:
        """Leaves already parsed, hashed and found in strictly increasing order (first..last)
        and equal to the service's hints, elsewhere (parallel.py): only the tree work is
        left. Not for leaves that differ from the hints (those need add())."""
        if self.divergence is not None:
            raise ValueError("add_hashed cannot follow a difference from the hints")
        if first <= self.last_position:
            raise self._out_of_order(first)
        append, sizes, tree = self.tree.append, self._sizes, self.tree
        for at in range(0, len(hashes), 32):
            append(hashes[at:at + 32])
            if self._next < len(sizes) and tree.size == sizes[self._next]:
                self._check_size()
        self.events += len(hashes) // 32
        self.last_position = last

    def _out_of_order(self, position: int) -> Failure:
        """A leaf at or before the last position: an event inserted there, or moved."""
        kind = Kind.INSERTED if position == self.last_position else Kind.REORDERED
        return Failure(kind, f"position {position} comes after position {self.last_position}; "
                             "positions must strictly increase", position)

    def add_claimed(self, claimed: tuple[int, bytes]) -> None:
        """A leaf the service's log holds beyond the events: an event is gone."""
        self.claimed_count += 1
        if self.divergence is None:
            self._diverge(None, None, claimed)
        else:
            self._after_divergence(None, None, claimed)

    def _diverge(self, leaf: bytes | None, position: int | None,
                 claimed: tuple[int, bytes]) -> None:
        self.divergence = self.tree.size
        self.window = [(leaf, position, claimed)]
        # Up to here the claimed leaves equal the real ones: the claimed tree starts as a copy.
        self.claimed_tree = copy.deepcopy(self.tree)
        self.claimed_tree.append(claimed[1])
        self._check_claimed()

    def _after_divergence(self, leaf: bytes | None, position: int | None,
                          claimed: tuple[int, bytes] | None) -> None:
        if len(self.window) < WINDOW:
            self.window.append((leaf, position, claimed))
        if claimed is not None and self.claimed_tree is not None:
            self.claimed_tree.append(claimed[1])
            self._check_claimed()

    def _check_claimed(self) -> None:
        """Does a signed checkpoint vouch for the service's claimed leaves at this size?"""
        assert self.claimed_tree is not None
        for target in self.targets.get(self.claimed_tree.size, ()):
            if self.claimed_tree.root() == target.root:
                self.claimed_matches.append(target)

    def _check_size(self) -> None:
        size = self._sizes[self._next]
        self._next += 1
        root = self.tree.root()
        for target in self.targets[size]:
            if root == target.root:
                self.matched.append(target)
            else:
                self.mismatches.append((target, root))

    def _name(self, target: Target) -> str:
        """'the <source> checkpoint (origin <o>, size <n>)'."""
        origin = target.note.partition("\n")[0] if target.note else self.origin
        return f"the {target.source} checkpoint (origin {origin}, size {target.size})"

    # ---- the verdict --------------------------------------------------------------------
    def finish(self) -> Verdict:
        verdict = self._judge()
        verdict.events = self.events
        return verdict

    def _judge(self) -> Verdict:
        if self.events == 0 and self.divergence is None:
            raise Failure(Kind.EMPTY, "no events: an empty log proves nothing")
        largest = self._sizes[-1] if self._sizes else 0
        if self.divergence is not None:
            kind, position, what = self._classify()
            if kind is Kind.MISSING and self.window[0][0] is None and self.divergence < largest:
                beyond = {t.source for ts in self.targets.values() for t in ts
                          if t.size > self.divergence}
                kind = Kind.ROLLED_BACK if beyond == {"state"} else Kind.TRUNCATED
                what = (f"the log ends at leaf {self.divergence}, below a checkpoint of origin "
                        f"{self.origin}, size {largest} ({', '.join(sorted(beyond))}); {what}")
            covered = [t for t in self.mismatches if t[0].size > self.divergence]
            short = [t for ts in self.targets.values() for t in ts if t.size > self.tree.size]
            if covered or short:
                confirm = self._confirmation()
                raise Failure(kind, f"{what}{confirm}", position)
            if self.divergence >= largest and not self.mismatches:
                where = (f"after the last checkpoint (origin {self.origin}, size {largest})"
                         if largest else "with no signed checkpoint covering it")
                raise Failure(kind, f"{what} ({where}: the evidence is the service's own log, "
                                    "not a signature)", position)
        if self.mismatches:
            target, _ = self.mismatches[0]
            bundle_ok = not any(t.source == "bundle" for t, _ in self.mismatches)
            if bundle_ok and self.matched:
                raise Failure(Kind.FORKED, f"the log does not match {self._name(target)}, "
                                           "although it matches its own checkpoints: it was "
                                           "rewritten")
            why = ("the service's own log agrees with the altered events" if
                   self.claimed_count else "there are no leaf hashes from the service's log")
            raise Failure(Kind.ALTERED,
                          f"the events below {self._name(target)} do not hash to its signed "
                          f"root; {why}, so the first bad position cannot be told (an earlier "
                          "checkpoint narrows it down)")
        short = sorted((t for ts in self.targets.values() for t in ts
                        if t.size > self.tree.size), key=lambda t: t.size)
        if short:
            first = short[0]
            gone = (f"at least {first.size - self.tree.size} of the events it covers are gone; "
                    "without the service's leaf hashes the first missing position cannot be "
                    f"told (the last event present is at position {self.last_position})")
            if first.source == "state":
                raise Failure(Kind.ROLLED_BACK,
                              f"the log has {self.tree.size} leaves, fewer than the "
                              f"checkpoint (origin {self.origin}, size {first.size}) accepted "
                              f"on an earlier run: {gone}")
            raise Failure(Kind.TRUNCATED,
                          f"the log has {self.tree.size} leaves, fewer than "
                          f"{self._name(first)}: {gone}")
        if not self.matched:
            raise Failure(Kind.NO_CHECKPOINT, f"{self.events} events, but no signed checkpoint "
                                              "covers them: nothing is proven")
        best = max(self.matched, key=lambda t: t.size)
        warnings = [f"{n} checkpoint(s) of the log under its earlier key {origin!r} were not "
                    "checked: give that key to check them too"
                    for origin, n in self.unchecked.items()]
        if self.divergence is not None:
            warnings.append(f"the service's own log disagrees with the events at leaf "
                            f"{self.divergence}, but the events match every signed "
                            "checkpoint (the service's log view is damaged, not the events)")
        later = self.events - best.size
        tail = (f"; {later} later events are not yet covered by a checkpoint" if later
                else "")
        return Verdict(
            ok=True, events=self.events, verified_size=best.size,
            checkpoints_verified=len(self.matched), latest=best, warnings=warnings,
            message=f"{self.events} events re-hashed; the roots of {len(self.matched)} signed "
                    f"checkpoint(s) match, up to size {best.size}{tail}")

    def _confirmation(self) -> str:
        if self.claimed_matches:
            t = min(self.claimed_matches, key=lambda t: t.size)
            return (f" (confirmed: the {t.source} checkpoint of size {t.size} matches the log "
                    "the service appended, not the events as they are now)")
        return " (from the service's own log; no signed checkpoint confirms its leaves)"

    def _classify(self) -> tuple[Kind, int | None, str]:
        """What happened at the first leaf where the events and the service's log differ."""
        leaf, position, claimed = self.window[0]
        assert claimed is not None
        q, qh = claimed
        if leaf is None or position is None:
            return Kind.MISSING, q, f"the event at position {q} is missing"
        if position > q:
            return Kind.MISSING, q, f"the event at position {q} is missing"
        if position < q:
            return Kind.INSERTED, position, f"an event at position {position} was inserted"
        rest = self.window[1:]
        for leaf_j, _, claimed_j in rest:
            if leaf_j is not None and claimed_j is not None and (
                leaf_hash(with_position(leaf, claimed_j[0])) == claimed_j[1]
                and leaf_hash(with_position(leaf_j, q)) == qh
            ):
                swapped = f"the events at positions {q} and {claimed_j[0]} were swapped"
                return Kind.REORDERED, q, swapped
        if rest and rest[0][2] is not None and (
            leaf_hash(with_position(leaf, rest[0][2][0])) == rest[0][2][1]
        ):
            return Kind.MISSING, q, (f"the event at position {q} is missing (the later ones "
                                     "were renumbered)")
        if rest and rest[0][0] is not None and leaf_hash(with_position(rest[0][0], q)) == qh:
            return Kind.INSERTED, q, (f"an event was inserted at position {q} (the later "
                                      "ones were renumbered)")
        return Kind.ALTERED, q, f"the event at position {q} was altered"


# ---------------------------------------------------------------- writing bundles


def header_line(origin: str, vkey: str, head_position: int, exported_at: str,
                earlier: Sequence[tuple[str, str]] = ()) -> bytes:
    """``earlier``: (origin, vkey) of the log before each key rotation, oldest first."""
    header = {"format": FORMAT, "origin": origin, "vkey": vkey,
              "key_fingerprint": key_fingerprint(vkey), "head_position": head_position,
              "exported_at": exported_at,
              "earlier_logs": [{"origin": o, "vkey": k, "key_fingerprint": key_fingerprint(k)}
                               for o, k in earlier]}
    return f"{FORMAT}\nh {json.dumps(header, sort_keys=True)}\n".encode()


def checkpoint_line(note: str) -> bytes:
    return b"c " + base64.b64encode(note.encode()) + b"\n"


def event_line(leaf: bytes, claimed: tuple[int, bytes] | None) -> bytes:
    if claimed is None:
        return b"e " + base64.b64encode(leaf) + b"\n"
    return b"e %s %d %s\n" % (base64.b64encode(leaf), claimed[0], base64.b64encode(claimed[1]))


def extra_leaf_line(claimed: tuple[int, bytes]) -> bytes:
    return b"x %d %s\n" % (claimed[0], base64.b64encode(claimed[1]))


def trailer_line(events: int, checkpoints: int, extra_leaves: int) -> bytes:
    trailer = {"events": events, "checkpoints": checkpoints, "extra_leaves": extra_leaves}
    return f"t {json.dumps(trailer, sort_keys=True)}\n".encode()


# ---------------------------------------------------------------- reading bundles


def _b64(data: bytes, what: str) -> bytes:
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError):
        raise Failure(Kind.MALFORMED, f"{what}: invalid base64") from None


def _claimed(position: bytes, digest: bytes) -> tuple[int, bytes]:
    if not position.isdigit():
        raise Failure(Kind.MALFORMED, "a claimed position is not a number")
    value = _b64(digest, "claimed leaf hash")
    if len(value) != 32:
        raise Failure(Kind.MALFORMED, "a claimed leaf hash is not 32 bytes")
    return int(position), value


def verify_bundle(lines: Iterable[bytes], keys: Sequence[Verifier], *,
                  trusted: Sequence[str] = (), state: Target | None = None,
                  min_cosignatures: int = 0,
                  progress: Callable[[int], None] | None = None) -> Verdict:
    """Verify a whole bundle in one streaming pass (constant memory). ``lines`` yields the
    bundle's lines (a binary file object does). ``trusted`` are checkpoint notes the
    scrutineer holds; ``state`` the checkpoint accepted on an earlier run. Never raises for
    bad input: every problem is a failed Verdict."""
    events = extras = 0
    try:
        it = iter(lines)
        audit, checkpoints, line = read_prelude(it, keys, trusted, state, min_cosignatures)
        add, a2b = audit.add, binascii.a2b_base64
        while line[:2] == b"e ":
            parts = line.split()  # [b"e", leaf] or [b"e", leaf, position, hash]
            try:
                leaf = a2b(parts[1], strict_mode=True)
            except (binascii.Error, ValueError, IndexError):
                raise Failure(Kind.MALFORMED, f"event line {events + 1}: invalid base64",
                              audit.last_position + 1) from None
            if len(parts) == 4:
                add(leaf, _claimed(parts[2], parts[3]))
            elif len(parts) == 2:
                add(leaf)
            else:
                raise Failure(Kind.MALFORMED, f"event line {events + 1}: wrong field count")
            events += 1
            if progress is not None and not events & 0xFFFF:
                progress(events)
            line = next(it, b"")
        while line.startswith(b"x "):
            parts = line[2:].split()
            if len(parts) != 2:
                raise Failure(Kind.MALFORMED, "an extra-leaf line needs position and hash")
            audit.add_claimed(_claimed(parts[0], parts[1]))
            extras += 1
            line = next(it, b"")
        check_trailer(line, next(it, None), events, checkpoints, extras)
        return audit.finish()
    except Failure as failure:
        return Verdict(ok=False, kind=failure.kind, position=failure.position,
                       message=failure.message, events=events)


def read_prelude(it: Iterator[bytes], keys: Sequence[Verifier], trusted: Sequence[str],
                 state: Target | None, min_cosignatures: int
                 ) -> tuple[LogAudit, int, bytes]:
    """Read the format line, the header and the checkpoints; returns the audit ready for
    leaves, the number of checkpoint lines, and the first line after them."""
    first = next(it, b"")
    if not first:
        raise Failure(Kind.EMPTY, "the bundle is empty")
    if first.rstrip(b"\n") != FORMAT.encode():
        raise Failure(Kind.MALFORMED, f"not an {FORMAT} bundle")
    header = _header(next(it, b""))
    audit = LogAudit(keys, header["origin"], earlier=earlier_origins(header),
                     min_cosignatures=min_cosignatures)
    _check_header_key(header, audit.keys)
    audit.add_held(trusted, state)
    checkpoints = 0
    line = next(it, b"")
    while line.startswith(b"c "):
        checkpoints += 1
        try:
            note = _b64(line[2:].rstrip(b"\n"), "checkpoint").decode("utf-8")
        except UnicodeDecodeError:
            raise Failure(Kind.MALFORMED, "a checkpoint note is not UTF-8") from None
        audit.add_checkpoint(note, "bundle")
        line = next(it, b"")
    audit.begin()
    return audit, checkpoints, line


def verify_entries(origin: str, keys: Sequence[Verifier], notes: Iterable[str],
                   entries: Iterable[tuple[bytes | None, tuple[int, bytes] | None]], *,
                   trusted: Sequence[str] = (), state: Target | None = None,
                   min_cosignatures: int = 0, earlier: Sequence[str] = ()) -> Verdict:
    """The checks of verify_bundle over entries read some other way (`ledger verify
    --live` reads them from the database): (leaf bytes or None, claimed or None) by leaf
    index, in order."""
    try:
        audit = LogAudit(keys, origin, earlier=earlier, min_cosignatures=min_cosignatures)
        audit.add_held(trusted, state)
        for note in notes:
            audit.add_checkpoint(note, "bundle")
        audit.begin()
        for leaf, claimed in entries:
            if leaf is not None:
                audit.add(leaf, claimed)
            elif claimed is not None:
                audit.add_claimed(claimed)
        return audit.finish()
    except Failure as failure:
        return Verdict(ok=False, kind=failure.kind, position=failure.position,
                       message=failure.message)


def _header(line: bytes) -> dict[str, Any]:
    if not line.startswith(b"h "):
        raise Failure(Kind.MALFORMED, "the bundle has no header line")
    try:
        header = json.loads(line[2:])
    except ValueError:
        raise Failure(Kind.MALFORMED, "the header is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT or not isinstance(
            header.get("origin"), str):
        raise Failure(Kind.MALFORMED, f"the header does not name format {FORMAT} and an origin")
    return header


def earlier_origins(header: dict[str, Any]) -> list[str]:
    """The origins the header says the log had before key rotations (informational: their
    checkpoints count only if signed by keys the scrutineer gives)."""
    earlier = header.get("earlier_logs", [])
    if not isinstance(earlier, list) or not all(
            isinstance(e, dict) and isinstance(e.get("origin"), str) for e in earlier):
        raise Failure(Kind.MALFORMED, "the header's earlier_logs is not a list of origins")
    return [e["origin"] for e in earlier]


def _check_header_key(header: dict[str, Any], keys: Sequence[Verifier]) -> None:
    """The header's key is informational, but a different one is worth saying at once."""
    vkey = header.get("vkey")
    logs = [k for k in keys if k.key_type == ED25519]
    if isinstance(vkey, str) and logs and vkey not in {k.vkey for k in logs}:
        raise Failure(Kind.WRONG_KEY_OR_ORIGIN,
                      f"the bundle was exported under key {vkey}, not the key you trust "
                      f"({', '.join(k.vkey for k in logs)})")


def check_trailer(line: bytes, after: bytes | None, events: int, checkpoints: int,
             extras: int) -> None:
    if not line:
        raise Failure(Kind.INCOMPLETE, f"the bundle ends without its trailer after {events} "
                                       "events: it was truncated")
    if not line.startswith(b"t "):
        raise Failure(Kind.MALFORMED, f"unexpected line after {events} events: "
                                      f"{line[:40]!r}")
    try:
        trailer = json.loads(line[2:])
    except ValueError:
        raise Failure(Kind.INCOMPLETE, "the trailer is not JSON: the bundle was cut") from None
    want = {"events": events, "checkpoints": checkpoints, "extra_leaves": extras}
    if not isinstance(trailer, dict) or {k: trailer.get(k) for k in want} != want:
        raise Failure(Kind.INCOMPLETE, f"the trailer counts {trailer} do not match the bundle "
                                       f"({want})")
    if after:
        raise Failure(Kind.MALFORMED, "there are lines after the trailer")


# ---------------------------------------------------------------- state and proofs


def state_target(data: dict[str, Any]) -> Target:
    """The checkpoint remembered by an earlier run (a state file's JSON)."""
    return Target(int(data["size"]), base64.b64decode(data["root"]), "state", data.get("note"))


def state_data(origin: str, target: Target) -> dict[str, Any]:
    return {"origin": origin, "size": target.size,
            "root": base64.b64encode(target.root).decode(), "note": target.note}


@dataclass(frozen=True)
class ProofResult:
    checkpoint: Checkpoint
    index: int
    position: int
    aggregate_id: str
    version: int
    topic: str


def verify_proof_text(text: str, keys: Sequence[Verifier], origin: str | None = None,
                      min_cosignatures: int = 0) -> ProofResult:
    """Check one C2SP tlog-proof of a ledger event: the checkpoint signature, the inclusion
    of the leaf (its 'extra' bytes) and that those bytes are a well-formed ledger leaf.
    Raises IntegrityError or LeafError."""
    parsed = parse_tlog_proof(text)
    if parsed.extra is None:
        raise IntegrityError("the proof carries no leaf bytes ('extra' line)")
    leaf = decode_leaf(parsed.extra)  # 64 bytes of an interior node are not a leaf
    logs = [k for k in keys if k.key_type == ED25519]
    cp = verify_tlog_proof(text, None, keys, origin=origin or (logs[0].name if logs else None),
                           min_cosignatures=min_cosignatures)
    return ProofResult(cp, parsed.index, leaf.position, str(leaf.aggregate_id), leaf.version,
                       leaf.topic)


def verify_inclusion_answer(answer: dict[str, Any], checkpoint_note: str,
                            keys: Sequence[Verifier], origin: str,
                            leaf: bytes | None = None) -> Checkpoint:
    """Check a server's RFC 9162 inclusion answer (GET /integrity/proofs/inclusion) against a
    signed checkpoint the client holds. Nothing in the answer is trusted: the root comes from
    the note, the leaf hash from the leaf bytes when given. Raises Failure or
    IntegrityError."""
    cp = open_log_checkpoint(checkpoint_note, keys, origin)
    if answer.get("tree_size") != cp.size:
        raise Failure(Kind.INCONSISTENT, f"the answer is for size {answer.get('tree_size')}, "
                                         f"the checkpoint for {cp.size}")
    claimed = base64.b64decode(answer["leaf_hash"], validate=True)
    if leaf is not None:
        if leaf_hash(leaf) != claimed:
            raise Failure(Kind.ALTERED, "the answer's leaf hash is not the leaf's")
        if check_leaf(leaf) != answer.get("position"):
            raise Failure(Kind.ALTERED, "the answer is about another position")
    path = [base64.b64decode(h, validate=True) for h in answer["inclusion_path"]]
    verify_inclusion(int(answer["leaf_index"]), cp.size, claimed, path, cp.root_hash)
    return cp


def verify_consistency_answer(answer: dict[str, Any], old_note: str, new_note: str,
                              keys: Sequence[Verifier], origin: str) -> None:
    """Check a server's consistency answer between two signed checkpoints the client holds
    (GET /integrity/proofs/consistency). Raises Failure or IntegrityError."""
    old = open_log_checkpoint(old_note, keys, origin)
    new = open_log_checkpoint(new_note, keys, origin)
    if (answer.get("first"), answer.get("second")) != (old.size, new.size):
        raise Failure(Kind.INCONSISTENT, "the answer is for other tree sizes")
    path = [base64.b64decode(h, validate=True) for h in answer["consistency_path"]]
    verify_consistency(old.size, new.size, old.root_hash, new.root_hash, path)


__all__ = [
    "COSIGNATURE_V1",
    "FORMAT",
    "Failure",
    "Kind",
    "LogAudit",
    "ProofResult",
    "Target",
    "Verdict",
    "check_trailer",
    "checkpoint_line",
    "event_line",
    "extra_leaf_line",
    "header_line",
    "key_fingerprint",
    "load_keys",
    "open_log_checkpoint",
    "read_prelude",
    "state_data",
    "state_target",
    "trailer_line",
    "verify_bundle",
    "verify_consistency_answer",
    "verify_entries",
    "verify_inclusion_answer",
    "verify_proof_text",
]
