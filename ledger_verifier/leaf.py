"""The canonical bytes of one stored event: the leaf of the ledger's Merkle log.

A leaf is the event *as stored* (after any compression or encryption), never a re-encoding
of its decoded fields, so erasing or encrypting a payload later never changes a proof.
Specified in docs/integrity.md; standard library only, so a verifier can copy it.

    leaf = b"sgl-leaf/v1\\n"            12 bytes, format and version
           || u64 position             the event's notification id in the store (>= 1)
           || 16 bytes aggregate id    the originator UUID, RFC 4122 byte order
           || u64 version              the originator version (>= 1)
           || u32 len || topic         UTF-8, 1..65535 bytes
           || u32 len || state         the stored state bytes, exactly as in the database

All integers are unsigned big-endian. Leaf hash (RFC 6962) = SHA-256(0x00 || leaf).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from uuid import UUID

MAGIC = b"sgl-leaf/v1\n"
MAX_TOPIC = 65_535
MAX_STATE = 2**32 - 1
_HEAD = struct.Struct(">Q16sQI")  # position, aggregate id, version, topic length
_LEN = struct.Struct(">I")
_FIXED = len(MAGIC) + _HEAD.size


class LeafError(ValueError):
    """Bytes that are not a well-formed sgl-leaf/v1 leaf."""


@dataclass(frozen=True)
class Leaf:
    """One stored event, as the log sees it."""

    position: int
    aggregate_id: UUID
    version: int
    topic: str
    state: bytes

    def encode(self) -> bytes:
        return encode_leaf(self.position, self.aggregate_id, self.version, self.topic,
                           self.state)


def encode_leaf(position: int, aggregate_id: UUID, version: int, topic: str,
                state: bytes) -> bytes:
    """The leaf bytes of one stored event (see the module docstring)."""
    if not 1 <= position < 2**64 or not 1 <= version < 2**64:
        raise LeafError("position and version must be between 1 and 2**64 - 1")
    raw_topic = topic.encode("utf-8")
    if not 1 <= len(raw_topic) <= MAX_TOPIC:
        raise LeafError("topic must be 1 to 65535 bytes of UTF-8")
    if len(state) > MAX_STATE:
        raise LeafError("state is too long for a u32 length")
    return b"".join((MAGIC, _HEAD.pack(position, aggregate_id.bytes, version, len(raw_topic)),
                     raw_topic, _LEN.pack(len(state)), bytes(state)))


def decode_leaf(data: bytes) -> Leaf:
    """Parse leaf bytes strictly: magic, every length, no trailing bytes."""
    if len(data) < _FIXED + 1 + _LEN.size or not data.startswith(MAGIC):
        raise LeafError("not an sgl-leaf/v1 leaf (magic or length)")
    position, raw_id, version, topic_len = _HEAD.unpack_from(data, len(MAGIC))
    if position < 1 or version < 1 or topic_len < 1:
        raise LeafError("position, version and topic length must be positive")
    at = _FIXED + topic_len
    if len(data) < at + _LEN.size:
        raise LeafError("leaf ends inside its topic")
    try:
        topic = data[_FIXED:at].decode("utf-8")
    except UnicodeDecodeError:
        raise LeafError("topic is not UTF-8") from None
    (state_len,) = _LEN.unpack_from(data, at)
    if len(data) != at + _LEN.size + state_len:
        raise LeafError("state length does not match the leaf's length")
    return Leaf(position, UUID(bytes=raw_id), version, topic, bytes(data[at + _LEN.size:]))


def check_leaf(data: bytes) -> int:
    """Check a leaf's structure without building objects (the verifier's hot path); returns
    its position. Same rules as decode_leaf."""
    if len(data) < _FIXED + 1 + _LEN.size or not data.startswith(MAGIC):
        raise LeafError("not an sgl-leaf/v1 leaf (magic or length)")
    position, _, version, topic_len = _HEAD.unpack_from(data, len(MAGIC))
    at = _FIXED + topic_len
    if (position < 1 or version < 1 or topic_len < 1 or len(data) < at + _LEN.size
            or len(data) != at + _LEN.size + _LEN.unpack_from(data, at)[0]):
        raise LeafError("malformed sgl-leaf/v1 leaf (a field or length is wrong)")
    try:
        data[_FIXED:at].decode("utf-8")
    except UnicodeDecodeError:
        raise LeafError("topic is not UTF-8") from None
    return position


def with_position(data: bytes, position: int) -> bytes:
    """The same leaf moved to another position (to recognise events that were moved)."""
    return data[:len(MAGIC)] + position.to_bytes(8, "big") + data[len(MAGIC) + 8:]
