"""The offline bundle verifier on hand-made bundles: every way a bundle can lie is refused,
with the kind of problem and the first bad position."""

from __future__ import annotations

import base64
import io
from uuid import UUID

import pytest

from ledger_verifier import bundle
from ledger_verifier.bundle import Kind
from ledger_verifier.leaf import encode_leaf
from ledger_verifier.proofs import MemoryTree
from ledger_verifier.verifier import (
    COSIGNATURE_V1,
    Checkpoint,
    Signer,
    cosign_checkpoint,
    format_checkpoint_body,
    generate_signer,
    leaf_hash,
    sign_note,
)

ORIGIN = "test.example/log"
SIGNER = Signer.from_skey(generate_signer(ORIGIN)[0])
KEYS = [SIGNER.verifier]


def leaves(n: int) -> list[bytes]:
    return [encode_leaf(i + 1, UUID(int=i % 5 + 1), i // 5 + 1, "domain.x:X.Happened",
                        f'{{"n": {i}}}'.encode()) for i in range(n)]


def note(size: int, items: list[bytes], signer: Signer = SIGNER, origin: str = ORIGIN) -> str:
    tree = MemoryTree()
    for leaf in items[:size]:
        tree.append(leaf_hash(leaf))
    return sign_note(format_checkpoint_body(Checkpoint(origin, size, tree.root())), signer)


def make(events: list[bytes], notes: list[str], claimed: list[bytes] | None = None,
         trailer: bool = True) -> bytes:
    """A bundle; `claimed` are the leaves the service's log appended (default: the events)."""
    claimed = events if claimed is None else claimed
    out = [bundle.header_line(ORIGIN, SIGNER.verifier.vkey, len(events), "2026-01-01")]
    out += [bundle.checkpoint_line(n) for n in notes]
    extras = 0
    for i in range(max(len(events), len(claimed))):
        c = (int.from_bytes(claimed[i][12:20], "big"), leaf_hash(claimed[i])) \
            if i < len(claimed) else None
        if i < len(events):
            out.append(bundle.event_line(events[i], c))
        else:
            out.append(bundle.extra_leaf_line(c))  # type: ignore[arg-type]
            extras += 1
    if trailer:
        out.append(bundle.trailer_line(min(len(events), len(events)), len(notes), extras))
    return b"".join(out)


def check(data: bytes, **kwargs: object) -> bundle.Verdict:
    return bundle.verify_bundle(io.BytesIO(data), kwargs.pop("keys", KEYS), **kwargs)


ORIGINAL = leaves(40)
NOTES = [note(20, ORIGINAL), note(36, ORIGINAL)]


def test_an_honest_bundle_verifies_up_to_its_last_checkpoint():
    verdict = check(make(ORIGINAL, NOTES))
    assert verdict.ok, verdict.report()
    assert (verdict.events, verdict.verified_size, verdict.checkpoints_verified) == (40, 36, 2)


def test_a_bundle_without_the_services_leaf_hashes_still_verifies():
    data = make(ORIGINAL, NOTES, claimed=[])
    assert check(data).ok


@pytest.mark.parametrize("data,kind", [
    (b"", Kind.EMPTY),
    (make([], []), Kind.EMPTY),
    (make(ORIGINAL, NOTES, trailer=False), Kind.INCOMPLETE),
    (make(ORIGINAL, []), Kind.NO_CHECKPOINT),
    (b"not a bundle\n", Kind.MALFORMED),
])
def test_empty_truncated_or_unsigned_input_never_succeeds(data, kind):
    verdict = check(data)
    assert not verdict.ok and verdict.kind is kind


def test_cutting_the_file_anywhere_never_succeeds():
    data = make(ORIGINAL, NOTES)
    for cut in range(0, len(data) - 1, max(1, len(data) // 97)):
        assert not check(data[:cut]).ok, cut


def test_wrong_trailer_counts_are_refused():
    data = make(ORIGINAL, NOTES).replace(b'"events": 40', b'"events": 41')
    assert check(data).kind is Kind.INCOMPLETE


def test_one_changed_byte_is_found_at_its_position():
    events = list(ORIGINAL)
    events[9] = events[9][:-2] + b"8}"
    verdict = check(make(events, NOTES, claimed=ORIGINAL))
    assert (verdict.kind, verdict.position) == (Kind.ALTERED, 10)
    assert "confirmed" in verdict.message


def test_a_change_the_services_log_repeats_is_still_refused_without_a_position():
    events = list(ORIGINAL)
    events[9] = events[9][:-2] + b"8}"
    verdict = check(make(events, NOTES))  # the "claimed" leaves were rewritten too
    assert (verdict.ok, verdict.kind, verdict.position) == (False, Kind.ALTERED, None)


def test_a_missing_event_is_named():
    events = ORIGINAL[:14] + ORIGINAL[15:]
    verdict = check(make(events, NOTES, claimed=ORIGINAL))
    assert (verdict.kind, verdict.position) == (Kind.MISSING, 15)


def test_an_inserted_event_is_named():
    extra = encode_leaf(15, UUID(int=99), 1, "domain.x:X.Forged", b"{}")
    renumbered = [bytes(e[:12]) + (i + 2).to_bytes(8, "big") + e[20:]
                  for i, e in enumerate(ORIGINAL[14:], start=14)]
    events = ORIGINAL[:14] + [extra] + renumbered
    verdict = check(make(events, NOTES, claimed=ORIGINAL))
    assert (verdict.kind, verdict.position) == (Kind.INSERTED, 15)


def test_two_swapped_events_are_named():
    events = list(ORIGINAL)
    a, b = events[4], events[11]
    events[4] = a[:12] + (5).to_bytes(8, "big") + b[20:]
    events[11] = b[:12] + (12).to_bytes(8, "big") + a[20:]
    verdict = check(make(events, NOTES, claimed=ORIGINAL))
    assert (verdict.kind, verdict.position) == (Kind.REORDERED, 5)


def test_positions_out_of_order_are_refused():
    events = list(ORIGINAL)
    events[3], events[4] = events[4], events[3]
    verdict = check(make(events, NOTES, claimed=[]))
    assert (verdict.kind, verdict.position) == (Kind.REORDERED, 4)


def test_a_log_cut_below_a_checkpoint_is_truncated():
    verdict = check(make(ORIGINAL[:30], NOTES, claimed=ORIGINAL))
    assert (verdict.kind, verdict.position) == (Kind.TRUNCATED, 31)


def test_a_log_cut_below_a_checkpoint_without_hints_is_truncated():
    verdict = check(make(ORIGINAL[:30], NOTES, claimed=[]))
    assert (verdict.kind, verdict.position) == (Kind.TRUNCATED, None)


def test_two_checkpoints_of_one_size_with_different_roots_are_a_fork():
    forked = list(ORIGINAL)
    forked[2] = encode_leaf(3, UUID(int=7), 1, "domain.x:X.Other", b"{}")
    verdict = check(make(ORIGINAL, [*NOTES, note(36, forked)]))
    assert verdict.kind is Kind.FORKED


def test_checkpoint_sizes_that_go_down_are_inconsistent():
    verdict = check(make(ORIGINAL, [NOTES[1], NOTES[0]]))
    assert verdict.kind is Kind.INCONSISTENT


def test_a_forged_signature_is_refused():
    forged = NOTES[0][:-6] + ("A" if NOTES[0][-6] != "A" else "B") + NOTES[0][-5:]
    verdict = check(make(ORIGINAL, [forged, NOTES[1]]))
    assert verdict.kind is Kind.BAD_SIGNATURE


def test_an_unknown_key_is_refused():
    other = Signer.from_skey(generate_signer(ORIGIN)[0])
    verdict = check(make(ORIGINAL, NOTES), keys=[other.verifier])
    assert verdict.kind is Kind.WRONG_KEY_OR_ORIGIN
    verdict = check(make(ORIGINAL, [note(20, ORIGINAL, signer=other)]))
    assert verdict.kind is Kind.WRONG_KEY_OR_ORIGIN


def test_a_checkpoint_of_another_origin_is_refused():
    verdict = check(make(ORIGINAL, [note(20, ORIGINAL, origin="elsewhere.example/log")]))
    assert verdict.kind is Kind.WRONG_KEY_OR_ORIGIN


def test_an_interior_node_presented_as_a_leaf_is_refused():
    tree = MemoryTree()
    for leaf in ORIGINAL:
        tree.append(leaf_hash(leaf))
    node = tree.get_node(0, 0) + tree.get_node(0, 1)  # the bytes hashed into node (1, 0)
    verdict = check(make([node, *ORIGINAL[2:]], NOTES, claimed=[]))
    assert verdict.kind is Kind.MALFORMED


def test_a_trusted_checkpoint_beyond_the_log_means_truncation():
    verdict = check(make(ORIGINAL[:36], NOTES), trusted=[note(40, ORIGINAL)])
    assert verdict.kind is Kind.TRUNCATED


def test_a_trusted_checkpoint_of_another_history_is_a_fork():
    rewritten = list(ORIGINAL)
    rewritten[5] = encode_leaf(6, UUID(int=8), 1, "domain.x:X.Rewritten", b"{}")
    data = make(rewritten, [note(20, rewritten), note(36, rewritten)])
    verdict = check(data, trusted=[note(30, ORIGINAL)])
    assert verdict.kind is Kind.FORKED


def test_state_from_an_earlier_run_refuses_a_rollback_and_a_fork():
    state = bundle.Target(38, MemoryTreeRoot(ORIGINAL, 38), "state")
    assert check(make(ORIGINAL[:37], NOTES), state=state).kind is Kind.ROLLED_BACK
    wrong = bundle.Target(36, b"\x01" * 32, "state")
    assert check(make(ORIGINAL, NOTES), state=wrong).kind is Kind.FORKED
    assert check(make(ORIGINAL, NOTES), state=state).ok


def test_a_trusted_checkpoint_needs_the_cosignatures_asked_for():
    skey, _ = generate_signer("witness.example", COSIGNATURE_V1)
    witness = Signer.from_skey(skey)
    body = NOTES[0][: NOTES[0].rfind("\n\n") + 1]
    cosigned = NOTES[0] + cosign_checkpoint(body, witness, 1_700_000_000)
    keys = [*KEYS, witness.verifier]
    data = make(ORIGINAL, NOTES)
    assert check(data, trusted=[NOTES[0]], min_cosignatures=1,
                 keys=keys).kind is Kind.TOO_FEW_COSIGNATURES
    assert check(data, trusted=[cosigned], min_cosignatures=1, keys=keys).ok


def MemoryTreeRoot(items: list[bytes], size: int) -> bytes:
    tree = MemoryTree()
    for leaf in items[:size]:
        tree.append(leaf_hash(leaf))
    return tree.root()


def test_state_round_trips_through_json():
    target = bundle.Target(36, b"\x02" * 32, "bundle", "n")
    data = bundle.state_data(ORIGIN, target)
    assert bundle.state_target(data) == bundle.Target(36, b"\x02" * 32, "state", "n")
    assert base64.b64decode(data["root"]) == b"\x02" * 32
