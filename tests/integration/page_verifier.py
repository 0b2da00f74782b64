"""A small bundle verifier written from docs/integrity.md alone (not importing the package
ledger_verifier): keys and signed notes (§3), leaves and the tree (§1, §2), the bundle and
the rule for hints (§5), the verdict (§6). test_integrity_tamper.py runs it beside the
package on every tamper scenario and requires the same verdict and the same first bad
position; test_page_verifier.py checks the page's worked example with it."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

EM_DASH = "\u2014"


class Failed(Exception):
    pass


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


@dataclass(frozen=True)
class Key:
    name: str
    key_id: bytes
    type: int
    public: bytes


def parse_vkey(vkey: str) -> Key:
    """§3: split at the first two '+' (names have none, base64 may); recompute the ID."""
    name, id_hex, rest = vkey.split("+", 2)
    raw = base64.b64decode(rest, validate=True)
    key = Key(name, bytes.fromhex(id_hex), raw[0], raw[1:])
    if len(key.public) != 32 or key.type not in (1, 4):
        raise ValueError("not an Ed25519 or cosignature/v1 key")
    if sha256(name.encode() + b"\n" + bytes([key.type]) + key.public)[:4] != key.key_id:
        raise ValueError("key ID does not match")
    return key


def open_note(note: str, keys: list[Key]) -> tuple[str, list[tuple[Key, int | None]]]:
    """(signed text, verified (key, cosignature time)); a trusted line that fails is fatal."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise Failed("not a signed note")
    text, lines = note[:split + 1], note[split + 2:-1].split("\n")
    known = {(k.name, k.key_id): k for k in keys}
    verified: list[tuple[Key, int | None]] = []
    for line in lines:
        if not line.startswith(EM_DASH + " "):
            raise Failed("malformed signature line")
        name, _, b64 = line[2:].partition(" ")
        raw = base64.b64decode(b64, validate=True)
        key = known.get((name, raw[:4]))
        if key is None:
            continue
        if key.type == 1:
            message, signature, when = text.encode(), raw[4:], None
        else:
            when = struct.unpack(">Q", raw[4:12])[0]
            message = f"cosignature/v1\ntime {when}\n{text}".encode()
            signature = raw[12:]
        try:
            Ed25519PublicKey.from_public_bytes(key.public).verify(signature, message)
        except InvalidSignature:
            raise Failed(f"signature by {name} does not verify") from None
        verified.append((key, when))
    return text, verified


def open_checkpoint(note: str, keys: list[Key], origins: set[str]) -> tuple[int, bytes]:
    text, verified = open_note(note, keys)
    origin, size, root = text[:-1].split("\n")[:3]
    if origin not in origins or not any(k.type == 1 and k.name == origin for k, _ in verified):
        raise Failed(f"checkpoint of {origin!r} not signed by that log's key")
    return int(size), base64.b64decode(root, validate=True)


class Tree:
    """RFC 6962 roots of a growing log, in O(log n): the perfect subtrees, largest first."""

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[tuple[int, bytes]] = []

    def append(self, leaf_hash: bytes) -> None:
        self.size += 1
        width, h = 1, leaf_hash
        while self.stack and self.stack[-1][0] == width:
            left = self.stack.pop()[1]
            h, width = sha256(b"\x01" + left + h), width * 2
        self.stack.append((width, h))

    def root(self) -> bytes:
        h = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            h = sha256(b"\x01" + left + h)
        return h


@dataclass
class Verdict:
    ok: bool
    position: int | None = None
    why: str = ""
    warnings: list[str] = field(default_factory=list)


def verify(bundle: bytes, vkeys: list[str], trusted: list[str] = ()) -> Verdict:  # type: ignore[assignment]
    try:
        return _verify(bundle, [parse_vkey(v) for v in vkeys], list(trusted))
    except (Failed, ValueError, KeyError, IndexError, struct.error) as error:
        return Verdict(False, None, str(error))


def _verify(bundle: bytes, keys: list[Key], trusted: list[str]) -> Verdict:
    lines = bundle.split(b"\n")
    if lines[-1] != b"" or lines[0] != b"sgl-bundle/v1" or not lines[1].startswith(b"h "):
        raise Failed("not a bundle")
    header = json.loads(lines[1][2:])
    origins = {header["origin"], *(e["origin"] for e in header["earlier_logs"])}
    given = {k.name for k in keys if k.type == 1}
    targets: dict[int, set[bytes]] = {}
    notes = [base64.b64decode(line[2:]).decode() for line in lines[2:-1]
             if line.startswith(b"c ")]
    for note in notes:
        named = note.partition("\n")[0]
        if named != header["origin"] and named in origins and named not in given:
            continue  # an earlier log's checkpoint whose key was not given: skipped (§6)
        size, root = open_checkpoint(note, keys, origins)
        targets.setdefault(size, set()).add(root)
    for note in trusted:
        size, root = open_checkpoint(note, keys, origins)
        targets.setdefault(size, set()).add(root)
    if any(len(roots) > 1 for roots in targets.values()):
        raise Failed("forked: two roots for one size")
    tree, last, events, extras = Tree(), 0, 0, 0
    first_bad: tuple[int, int] | None = None  # (leaf index, position)
    mismatch = False
    trailer = None
    for line in lines[2 + len(notes):-1]:
        kind, _, rest = line.partition(b" ")
        if kind == b"e":
            fields = rest.split(b" ")
            leaf = base64.b64decode(fields[0], validate=True)
            if leaf[:12] != b"sgl-leaf/v1\n":
                raise Failed("malformed leaf")
            position = struct.unpack(">Q", leaf[12:20])[0]
            if position <= last:
                raise Failed("positions must increase")
            h = sha256(b"\x00" + leaf)
            if len(fields) == 3 and first_bad is None:
                hinted = (int(fields[1]), base64.b64decode(fields[2]))
                if hinted != (position, h):
                    first_bad = (tree.size, min(position, hinted[0]))
            tree.append(h)
            events, last = events + 1, position
            if tree.size in targets and tree.root() not in targets[tree.size]:
                mismatch = True
        elif kind == b"x":
            extras += 1
            if first_bad is None:
                first_bad = (tree.size, int(rest.split(b" ")[0]))
        elif kind == b"t":
            trailer = json.loads(rest)
        else:
            raise Failed("unknown line")
    if trailer != {"checkpoints": len(notes), "events": events, "extra_leaves": extras}:
        raise Failed("incomplete export")
    if events == 0:
        raise Failed("empty")
    largest = max(targets, default=0)
    where = first_bad[1] if first_bad else None
    if mismatch or largest > tree.size:
        return Verdict(False, where, "a signed root does not match, or the log is shorter")
    if first_bad is not None:
        if first_bad[0] >= largest:  # §5, the rule for hints (3)
            return Verdict(False, where, "the service's own log disagrees after the last "
                                         "checkpoint")
        return Verdict(True, None, "", ["the service's log is damaged below a checkpoint"])
    if not targets:
        raise Failed("no checkpoint covers the events")
    return Verdict(True)
