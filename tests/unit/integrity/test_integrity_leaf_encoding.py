"""The leaf encoding (docs/integrity.md): exact bytes, strict parsing."""

from __future__ import annotations

import hashlib
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_verifier.leaf import (
    MAGIC,
    Leaf,
    LeafError,
    check_leaf,
    decode_leaf,
    encode_leaf,
    with_position,
)

ID = UUID("12345678-1234-5678-1234-567812345678")


def test_leaf_bytes_are_exactly_as_specified():
    leaf = encode_leaf(7, ID, 2, "t:X", b"\x00state")
    assert leaf == (b"sgl-leaf/v1\n" + (7).to_bytes(8, "big") + ID.bytes
                    + (2).to_bytes(8, "big") + (3).to_bytes(4, "big") + b"t:X"
                    + (6).to_bytes(4, "big") + b"\x00state")


def test_leaf_hash_of_a_known_leaf_is_stable():
    # The worked example in docs/integrity.md, for independent verifiers.
    leaf = encode_leaf(1, ID, 1, "domain.agency:Agency.Registered", b'{"name":"x"}')
    assert leaf.hex() == (
        "73676c2d6c6561662f76310a000000000000000112345678123456781234567812345678"
        "00000000000000010000001f646f6d61696e2e6167656e63793a4167656e63792e5265676973"
        "7465726564" "0000000c7b226e616d65223a2278227d")
    assert hashlib.sha256(b"\x00" + leaf).hexdigest() == (
        "c01bc04341d3ca2f8b0fa193945e5febd26cfe4c2b2e962c5977c87e98356d69")


@settings(max_examples=200, deadline=None)
@given(position=st.integers(1, 2**64 - 1), version=st.integers(1, 2**64 - 1),
       topic=st.text(min_size=1, max_size=40), state=st.binary(max_size=200),
       raw_id=st.binary(min_size=16, max_size=16))
def test_decode_inverts_encode(position, version, topic, state, raw_id):
    leaf = Leaf(position, UUID(bytes=raw_id), version, topic, state)
    data = leaf.encode()
    assert decode_leaf(data) == leaf
    assert check_leaf(data) == position


@pytest.mark.parametrize("bad", [
    b"",
    b"sgl-leaf/v2\n" + bytes(60),
    bytes(64),  # an interior node's two child hashes are not a leaf
    encode_leaf(1, ID, 1, "t", b"abc") + b"x",  # trailing byte
    encode_leaf(1, ID, 1, "t", b"abc")[:-1],  # cut short
    MAGIC + (0).to_bytes(8, "big") + ID.bytes + (1).to_bytes(8, "big")
    + (1).to_bytes(4, "big") + b"t" + (0).to_bytes(4, "big"),  # position 0
    MAGIC + (1).to_bytes(8, "big") + ID.bytes + (1).to_bytes(8, "big")
    + (1).to_bytes(4, "big") + b"\xff" + (0).to_bytes(4, "big"),  # topic not UTF-8
])
def test_malformed_leaves_are_refused(bad):
    with pytest.raises(LeafError):
        decode_leaf(bad)
    with pytest.raises(LeafError):
        check_leaf(bad)


def test_encode_refuses_values_it_cannot_represent():
    for args in [(0, ID, 1, "t", b""), (1, ID, 0, "t", b""), (1, ID, 1, "", b""),
                 (2**64, ID, 1, "t", b"")]:
        with pytest.raises(LeafError):
            encode_leaf(*args)


def test_with_position_moves_only_the_position():
    leaf = encode_leaf(5, ID, 3, "t", b"s")
    assert decode_leaf(with_position(leaf, 9)) == Leaf(9, ID, 3, "t", b"s")
