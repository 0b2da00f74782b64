"""Independent verifier for the ledger's transparency log.

Written from the specifications, for auditors to read end to end:

* RFC 6962 §2.1 Merkle tree hashing; RFC 9162 §2.1.3.2 / §2.1.4.2 proof checks.
* C2SP signed-note (Ed25519, type 0x01), tlog-checkpoint, tlog-cosignature
  (``cosignature/v1``, type 0x04) and tlog-proof.

Dependencies: the Python standard library and ``cryptography`` (Ed25519 only).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class IntegrityError(ValueError):
    """Base class: the evidence presented does not check out."""


class ProofError(IntegrityError):
    """A Merkle proof (or tlog-proof document) is malformed or does not verify."""


class NoteError(IntegrityError):
    """A signed note or key string is malformed, or no trusted signature verifies."""


class CheckpointError(IntegrityError):
    """A checkpoint body does not follow c2sp.org/tlog-checkpoint."""


# ---------------------------------------------------------------- RFC 6962 hashing

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = SHA-256() per RFC 6962 §2.1


def leaf_hash(data: bytes) -> bytes:
    """MTH of a single entry: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node: SHA-256(0x01 || left || right); the prefix separates nodes from leaves."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def check_hash(value: bytes, what: str) -> None:
    """Refuse anything that is not a 32-byte SHA-256 value."""
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes")


# ------------------------------------------------------- RFC 9162 proof verification


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """Recompute the tree root implied by an inclusion proof (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    for h in (leaf_hash, *proof):
        check_hash(h, "leaf hash and proof elements")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # A right-edge node has no sibling at some levels: climb past them.
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless ``leaf_hash`` is at ``index`` in the tree of ``size`` with ``root``.

    The size is not bound by the proof itself: it must come from a signed checkpoint.
    """
    check_hash(root, "root")
    if root_from_inclusion_proof(index, size, leaf_hash, proof) != root:
        raise ProofError("inclusion proof does not lead to the expected root")


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless (size1, root1) is a prefix of (size2, root2) (RFC 9162 §2.1.4.2).

    Policy: size1 == 0 is refused (an empty tree needs no proof and callers must
    handle "first checkpoint" explicitly); equal sizes need an empty proof and equal roots.
    """
    if size1 < 1:
        raise ProofError("consistency from an empty tree is not accepted")
    if size1 > size2:
        raise ProofError("size1 is larger than size2")
    if size1 == size2:
        if proof:
            raise ProofError("proof between equal sizes must be empty")
        if root1 != root2:
            raise ProofError("roots differ for equal tree sizes")
        return  # no hashing involved, so (as in the golden probes) root length is not checked
    for h in (root1, root2, *proof):
        check_hash(h, "roots and proof elements")
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        # The old tree is a perfect subtree of the new one, so its root is the
        # first node of the path and the proof omits it.
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1 or sr != root2:
        raise ProofError("consistency proof does not lead to the expected roots")


# ------------------------------------------------------------ keys (C2SP signed-note)

ED25519 = 0x01  # signed-note Ed25519 signature type
COSIGNATURE_V1 = 0x04  # tlog-cosignature timestamped Ed25519 witness type
_KEY_TYPES = (ED25519, COSIGNATURE_V1)


def _b64(data: bytes) -> str:
    """Standard base64 (RFC 4648 §4), padded."""
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str, error: type[IntegrityError], what: str) -> bytes:
    """Strict base64: standard alphabet, padding, and the canonical encoding only."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise error(f"{what}: invalid base64") from None
    if _b64(raw) != text:  # non-zero padding bits: one value must have one encoding
        raise error(f"{what}: non-canonical base64")
    return raw


def valid_key_name(name: str) -> bool:
    """signed-note: key names are non-empty, without Unicode spaces, '+' or control characters."""
    return bool(name) and "+" not in name and not any(c.isspace() or c < " " for c in name)


def compute_key_id(name: str, key_type: int, public_key: bytes) -> bytes:
    """Key ID = SHA-256(name || 0x0A || type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_key).digest()[:4]


def _split_key(text: str, parts: int) -> tuple[list[str], int, bytes]:
    """Split '[PRIVATE+KEY+]name+hexid+base64(type||key)'; check name, ID syntax, type, length."""
    fields = text.split("+", parts - 1)  # base64 may itself contain '+'; names may not
    if len(fields) != parts:
        raise NoteError("malformed key string")
    name, id_hex, key_b64 = fields[-3:]
    if not valid_key_name(name) or not re.fullmatch(r"[0-9a-f]{8}", id_hex):
        raise NoteError("malformed key name or key ID")
    raw = _b64decode(key_b64, NoteError, "key")
    if len(raw) != 33 or raw[0] not in _KEY_TYPES:
        raise NoteError("only Ed25519 (0x01) and cosignature/v1 (0x04) keys are supported")
    return fields, raw[0], raw[1:]


@dataclass(frozen=True)
class Verifier:
    """A trusted public key: note signer (type 0x01) or witness cosigner (type 0x04)."""

    name: str
    key_id: bytes
    key_type: int
    public_key: bytes

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parse 'name+hex8(keyid)+base64(type||pub32)', recomputing and checking the key ID."""
        (name, id_hex, _), key_type, pub = _split_key(vkey, 3)
        verifier = cls.from_public_key(name, pub, key_type)
        if verifier.key_id.hex() != id_hex:
            raise NoteError("key ID does not match the key")
        return verifier

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes, key_type: int = ED25519) -> Verifier:
        """Build a verifier from a raw 32-byte Ed25519 public key."""
        if not valid_key_name(name) or key_type not in _KEY_TYPES or len(public_key) != 32:
            raise NoteError("invalid key name, type or public key")
        return cls(name, compute_key_id(name, key_type, public_key), key_type, public_key)

    @property
    def vkey(self) -> str:
        """The C2SP vkey string of this key."""
        return f"{self.name}+{self.key_id.hex()}+{_b64(bytes([self.key_type]) + self.public_key)}"

    def verify(self, text: str, signature: bytes) -> bool:
        """Check a signature (the bytes after the key ID) over a note text."""
        message = text.encode()
        if self.key_type == COSIGNATURE_V1:  # u64 big-endian timestamp || Ed25519 signature
            timestamp = int.from_bytes(signature[:8], "big")
            if len(signature) != 8 + 64 or timestamp >= 2**63:
                return False
            message, signature = _cosigned_message(text, timestamp), signature[8:]
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
            return True
        except InvalidSignature:  # also what a signature of the wrong length gets
            return False


@dataclass(frozen=True)
class Signer:
    """A private Ed25519 key for notes (0x01) or witness cosignatures (0x04)."""

    name: str
    key_id: bytes
    key_type: int
    private_key: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        """Parse 'PRIVATE+KEY+name+hex8(keyid)+base64(type||seed32)'."""
        fields, key_type, seed = _split_key(skey, 5)
        if fields[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("malformed private key string")
        signer = cls.from_private_key(
            fields[2], Ed25519PrivateKey.from_private_bytes(seed), key_type
        )
        if signer.key_id.hex() != fields[3]:
            raise NoteError("key ID does not match the key")
        return signer

    @classmethod
    def from_private_key(
        cls, name: str, private_key: Ed25519PrivateKey, key_type: int = ED25519
    ) -> Signer:
        """Wrap an Ed25519 private key, deriving the key ID from its public half."""
        verifier = Verifier.from_public_key(
            name, private_key.public_key().public_bytes_raw(), key_type
        )
        return cls(name, verifier.key_id, key_type, private_key)

    @property
    def verifier(self) -> Verifier:
        """The matching public key."""
        return Verifier.from_public_key(
            self.name, self.private_key.public_key().public_bytes_raw(), self.key_type
        )

    @property
    def skey(self) -> str:
        """The private key string (keep secret)."""
        seed = self.private_key.private_bytes_raw()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{_b64(bytes([self.key_type]) + seed)}"


def generate_signer(name: str, key_type: int = ED25519) -> tuple[str, str]:
    """Create a fresh key pair; returns (skey, vkey). Use COSIGNATURE_V1 for witnesses."""
    signer = Signer.from_private_key(name, Ed25519PrivateKey.generate(), key_type)
    return signer.skey, signer.verifier.vkey


# ---------------------------------------------------------------- signed notes

MAX_SIGNATURES = 100  # spec: verifiers SHOULD cap it and MUST accept at least 16
_EM_DASH = "\u2014"


@dataclass(frozen=True)
class NoteSignature:
    """One signature line; ``verified`` is False for keys we do not know."""

    name: str
    key_id: bytes
    signature: bytes  # the bytes after the 4-byte key ID
    verified: bool = False
    key_type: int | None = None  # of the trusted key that verified it
    timestamp: int | None = None  # cosignature/v1 time, for verified cosignatures


@dataclass(frozen=True)
class Note:
    """An opened note: its text (final newline included) and its signatures."""

    text: str
    signatures: tuple[NoteSignature, ...]


def _check_text(text: str, error: type[IntegrityError] = NoteError) -> None:
    """Notes and checkpoints end in newline and hold no other control characters."""
    if not text.endswith("\n") or any(c < " " and c != "\n" for c in text):
        raise error("text must end in newline and contain no other control characters")


def _signature_line(name: str, payload: bytes) -> str:
    """Format '— name base64(keyid || signature)' with its newline."""
    return f"{_EM_DASH} {name} {_b64(payload)}\n"


def _parse_signature_line(line: str) -> tuple[str, bytes, bytes]:
    """Parse one signature line (without newline) into (name, key ID, signature)."""
    if not line.startswith(_EM_DASH + " "):
        raise NoteError("malformed signature line")
    name, _, sig_b64 = line[2:].partition(" ")
    if not valid_key_name(name):
        raise NoteError("invalid key name in signature line")
    raw = _b64decode(sig_b64, NoteError, "signature")
    if len(raw) < 5:
        raise NoteError("signature too short")
    return name, raw[:4], raw[4:]


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> Note:
    """Parse a signed note and verify it against trusted keys.

    Signatures from unknown (name, key ID) pairs are ignored; a known key whose
    signature fails rejects the whole note; at least one known key must verify.
    """
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("note is not valid UTF-8") from None
    _check_text(note)
    split = note.rfind("\n\n")  # the text may contain blank lines: the last one separates
    if split < 0:
        raise NoteError("note has no signature block")
    text, lines = note[: split + 1], note[split + 2 : -1].split("\n")
    if lines == [""]:
        raise NoteError("note has no signatures")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError("too many signatures")
    trusted: dict[tuple[str, bytes], Verifier] = {}
    for v in verifiers:
        if trusted.setdefault((v.name, v.key_id), v) != v:
            raise ValueError(f"two different trusted keys share name and key ID: {v.name}")
    signatures = []
    for line in lines:
        name, key_id, sig = _parse_signature_line(line)
        v = trusted.get((name, key_id))
        if v is None:
            signatures.append(NoteSignature(name, key_id, sig))
            continue
        if not v.verify(text, sig):
            raise NoteError(f"signature by trusted key {name} does not verify")
        ts = int.from_bytes(sig[:8], "big") if v.key_type == COSIGNATURE_V1 else None
        signatures.append(NoteSignature(name, key_id, sig, True, v.key_type, ts))
    if not any(s.verified for s in signatures):
        raise NoteError("note has no verifiable signatures")
    return Note(text, tuple(signatures))


def sign_note(text: str, signer: Signer) -> str:
    """Sign a note text with an Ed25519 (type 0x01) key; returns the complete note."""
    _check_text(text)
    if signer.key_type != ED25519:
        raise ValueError("witness keys sign with cosign_checkpoint")
    sig = signer.private_key.sign(text.encode())
    return text + "\n" + _signature_line(signer.name, signer.key_id + sig)


# ----------------------------------------------------------------- checkpoints

_DECIMAL = re.compile(r"0|[1-9][0-9]*")  # ASCII digits, no leading zeros


@dataclass(frozen=True)
class Checkpoint:
    """A log's signed statement: origin, tree size and RFC 6962 root hash."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "extensions", tuple(self.extensions))


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Strictly parse 'origin\\nsize\\nbase64(root)\\n[extension lines]'."""
    _check_text(text, CheckpointError)
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, size and root lines")
    origin, size, root, *extensions = lines
    if not origin or "" in extensions:
        raise CheckpointError("origin and extension lines must be non-empty")
    if not _DECIMAL.fullmatch(size) or int(size) >= 2**64:
        raise CheckpointError("tree size must be decimal without leading zeros")
    root_hash = _b64decode(root, CheckpointError, "root hash")
    if len(root_hash) != HASH_SIZE:
        raise CheckpointError("root hash must be 32 bytes")
    return Checkpoint(origin, int(size), root_hash, tuple(extensions))


def format_checkpoint_body(cp: Checkpoint) -> str:
    """Serialise a checkpoint body; refuses values that would not parse back identically."""
    lines = (cp.origin, str(cp.size), _b64(cp.root_hash), *cp.extensions)
    body = "".join(line + "\n" for line in lines)
    if parse_checkpoint_body(body) != cp:
        raise CheckpointError("checkpoint fields cannot be represented")
    return body


def open_checkpoint(
    note: str | bytes,
    verifiers: Iterable[Verifier],
    *,
    origin: str | None = None,
    min_cosignatures: int = 0,
) -> tuple[Checkpoint, Note]:
    """Open a checkpoint note: a trusted log key (0x01) must have signed it, and at
    least ``min_cosignatures`` distinct trusted witnesses (0x04) must have cosigned it."""
    opened = open_note(note, verifiers)
    if not any(s.verified and s.key_type == ED25519 for s in opened.signatures):
        raise NoteError("checkpoint is not signed by a trusted log key")
    cp = parse_checkpoint_body(opened.text)
    if origin is not None and cp.origin != origin:
        raise CheckpointError(f"unexpected origin {cp.origin!r}")
    witnesses = {
        (s.name, s.key_id) for s in opened.signatures if s.verified and s.key_type == COSIGNATURE_V1
    }
    if len(witnesses) < min_cosignatures:
        raise NoteError(f"{len(witnesses)} trusted cosignatures, {min_cosignatures} required")
    return cp, opened


# ------------------------------------------------------ cosignatures (cosignature/v1)


def _cosigned_message(body: str, timestamp: int) -> bytes:
    """The bytes a witness signs: header line, time line, then the checkpoint body."""
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def cosign_checkpoint(body: str, witness: Signer, timestamp: int) -> str:
    """Return a cosignature/v1 signature line (append it to the signed checkpoint note)."""
    if witness.key_type != COSIGNATURE_V1:
        raise ValueError("cosignatures need a type 0x04 witness key")
    if not 0 <= timestamp < 2**63:
        raise ValueError("timestamp out of range")
    parse_checkpoint_body(body)  # a cosignature is a statement about a checkpoint only
    sig = witness.private_key.sign(_cosigned_message(body, timestamp))
    return _signature_line(witness.name, witness.key_id + timestamp.to_bytes(8, "big") + sig)


def verify_cosignature(body: str, line: str, witness: Verifier) -> int:
    """Verify one cosignature line by ``witness`` over a checkpoint body; returns its timestamp."""
    name, key_id, sig = _parse_signature_line(line.removesuffix("\n"))
    if witness.key_type != COSIGNATURE_V1 or (name, key_id) != (witness.name, witness.key_id):
        raise NoteError("cosignature is not from this witness")
    if not witness.verify(body, sig):
        raise NoteError("cosignature does not verify")
    return int.from_bytes(sig[:8], "big")


# ----------------------------------------------------------- C2SP tlog-proof

TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"


@dataclass(frozen=True)
class TlogProof:
    """A parsed tlog-proof. ``extra`` carries the ledger's leaf bytes (unauthenticated
    until the inclusion proof is checked)."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None


def parse_tlog_proof(text: str) -> TlogProof:
    """Parse header, optional 'extra', 'index N', proof hashes, blank line, checkpoint note."""
    head, blank, note = text.partition("\n\n")  # the proof section has no empty lines
    lines = head.split("\n")
    if not blank or lines.pop(0) != TLOG_PROOF_HEADER:
        raise ProofError("not a c2sp.org/tlog-proof@v1 document")
    extra = None
    if lines and lines[0].startswith("extra "):
        extra = _b64decode(lines.pop(0)[len("extra ") :], ProofError, "extra")
    index = lines.pop(0)[len("index ") :] if lines and lines[0].startswith("index ") else ""
    if not _DECIMAL.fullmatch(index):
        raise ProofError("missing or malformed index line")
    hashes = tuple(_b64decode(line, ProofError, "proof hash") for line in lines)
    if any(len(h) != HASH_SIZE for h in hashes):
        raise ProofError("proof hashes must be 32 bytes")
    return TlogProof(int(index), hashes, note, extra)


def format_tlog_proof(
    index: int, proof: Sequence[bytes], checkpoint_note: str, extra: bytes | None = None
) -> str:
    """Serialise a tlog-proof; ``extra`` (the leaf bytes, for our ledger) is optional."""
    lines = [TLOG_PROOF_HEADER]
    if extra is not None:
        lines.append("extra " + _b64(extra))
    lines.append(f"index {index}")
    lines.extend(_b64(h) for h in proof)
    text = "\n".join(lines) + "\n\n" + checkpoint_note
    if parse_tlog_proof(text) != TlogProof(index, tuple(proof), checkpoint_note, extra):
        raise ProofError("tlog-proof fields cannot be represented")
    return text


def verify_tlog_proof(
    text: str,
    leaf_bytes: bytes | None,
    verifiers: Iterable[Verifier],
    *,
    origin: str | None = None,
    min_cosignatures: int = 0,
) -> Checkpoint:
    """Verify a tlog-proof for ``leaf_bytes`` (or, if None, for its ``extra`` bytes).

    Checks the checkpoint signatures (see open_checkpoint), then the inclusion of
    SHA-256(0x00 || leaf) at ``index`` under the checkpoint's size and root.
    """
    parsed = parse_tlog_proof(text)
    if leaf_bytes is None:
        if parsed.extra is None:
            raise ProofError("no leaf bytes given and the proof carries none")
        leaf_bytes = parsed.extra
    elif parsed.extra is not None and parsed.extra != leaf_bytes:
        raise ProofError("the proof's extra data is not the expected leaf")
    cp, _ = open_checkpoint(
        parsed.checkpoint_note, verifiers, origin=origin, min_cosignatures=min_cosignatures
    )
    verify_inclusion(parsed.index, cp.size, leaf_hash(leaf_bytes), parsed.proof, cp.root_hash)
    return cp
