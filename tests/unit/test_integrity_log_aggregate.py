"""The IntegrityLog aggregate: it records only checkpoints that verify and extend the last one,
and cosignatures that verify and extend the witness's last one."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.actors import Actor, Role
from domain.checkpoint import IntegrityLog, LogStatus, log_id
from domain.errors import AlreadyExists, DomainError, Forbidden, InvalidInput, WrongStage
from ledger_verifier.proofs import MemoryTree
from ledger_verifier.verifier import (
    COSIGNATURE_V1,
    Checkpoint,
    Signer,
    cosign_checkpoint,
    format_checkpoint_body,
    generate_signer,
    sign_note,
)
from tests.principals import MANAGER, SCRUTINEER

ORIGIN = "ledger.example/log"
DAY = date(2025, 3, 3)
SIGNER = Signer.from_skey(generate_signer(ORIGIN)[0])
WITNESS = Signer.from_skey(generate_signer("witness.example", COSIGNATURE_V1)[0])
TREE = MemoryTree()
for i in range(40):
    TREE.append(hashlib.sha256(bytes([i])).digest())


def note(size: int, signer: Signer = SIGNER, root: bytes | None = None) -> str:
    body = format_checkpoint_body(Checkpoint(ORIGIN, size, root or TREE.root(size)))
    return sign_note(body, signer)


def new_log() -> IntegrityLog:
    log = IntegrityLog.open(actor=MANAGER, occurred_on=DAY, origin=ORIGIN,
                            vkey=SIGNER.verifier.vkey)
    log.record_checkpoint(actor=MANAGER, occurred_on=DAY, note=note(10), reason="first")
    return log


def refused(log: IntegrityLog, error: type[DomainError], command, **kwargs) -> None:
    version = log.version
    with pytest.raises(error):
        command(**kwargs)
    assert log.version == version


def test_the_log_id_is_derived_from_its_origin():
    assert new_log().id == log_id(ORIGIN)


def test_a_consistent_checkpoint_is_recorded_with_who_and_why():
    log = new_log()
    log.record_checkpoint(actor=MANAGER, occurred_on=DAY, note=note(25), reason="Board",
                          consistency=TREE.consistency_proof(10, 25))
    assert [(c.size, c.reason, c.actor) for c in log.checkpoints] == [
        (10, "first", MANAGER), (25, "Board", MANAGER)]


def test_a_checkpoint_with_a_bad_consistency_proof_is_refused():
    log = new_log()
    refused(log, InvalidInput, log.record_checkpoint, actor=MANAGER, occurred_on=DAY,
            note=note(25), reason="r", consistency=TREE.consistency_proof(9, 25))


def test_a_fork_at_the_same_size_is_refused():
    log = new_log()
    refused(log, InvalidInput, log.record_checkpoint, actor=MANAGER, occurred_on=DAY,
            note=note(10, root=bytes(32)), reason="r")


def test_a_smaller_checkpoint_is_refused():
    log = new_log()
    refused(log, InvalidInput, log.record_checkpoint, actor=MANAGER, occurred_on=DAY,
            note=note(5), reason="r")


def test_a_note_signed_by_another_key_is_refused():
    other = Signer.from_skey(generate_signer(ORIGIN)[0])
    log = new_log()
    refused(log, InvalidInput, log.record_checkpoint, actor=MANAGER, occurred_on=DAY,
            note=note(20, other), reason="r", consistency=TREE.consistency_proof(10, 20))


def test_the_log_key_must_be_named_after_the_origin():
    with pytest.raises(InvalidInput):
        IntegrityLog.open(actor=MANAGER, occurred_on=DAY, origin="other.example",
                          vkey=SIGNER.verifier.vkey)


def with_witness() -> IntegrityLog:
    log = new_log()
    log.register_witness(actor=SCRUTINEER, occurred_on=DAY, vkey=WITNESS.verifier.vkey)
    return log


def cosign(size: int) -> str:
    return cosign_checkpoint(format_checkpoint_body(Checkpoint(ORIGIN, size, TREE.root(size))),
                             WITNESS, 1_700_000_000 + size)


def test_a_witness_cosignature_that_verifies_is_added_to_the_note():
    log = with_witness()
    log.add_cosignature(actor=SCRUTINEER, occurred_on=DAY, size=10, signature=cosign(10))
    assert log.cosigned_note(10) == note(10) + cosign(10)


def test_a_witness_key_must_be_a_cosignature_key_and_registered_once():
    log = new_log()
    refused(log, InvalidInput, log.register_witness, actor=SCRUTINEER, occurred_on=DAY,
            vkey=SIGNER.verifier.vkey)
    log = with_witness()
    refused(log, AlreadyExists, log.register_witness, actor=SCRUTINEER, occurred_on=DAY,
            vkey=WITNESS.verifier.vkey)


def test_a_cosignature_that_does_not_verify_is_refused():
    log = with_witness()
    log.record_checkpoint(actor=MANAGER, occurred_on=DAY, note=note(20), reason="r",
                          consistency=TREE.consistency_proof(10, 20))
    refused(log, InvalidInput, log.add_cosignature, actor=SCRUTINEER, occurred_on=DAY,
            size=20, signature=cosign(10))


def test_only_the_witness_owner_adds_its_cosignatures():
    log = with_witness()
    other = Actor("u-other", Role.SCRUTINEER)
    refused(log, Forbidden, log.add_cosignature, actor=other, occurred_on=DAY, size=10,
            signature=cosign(10))


def test_a_witness_moves_forward_only_with_a_consistency_proof():
    log = with_witness()
    log.record_checkpoint(actor=MANAGER, occurred_on=DAY, note=note(30), reason="r",
                          consistency=TREE.consistency_proof(10, 30))
    log.add_cosignature(actor=SCRUTINEER, occurred_on=DAY, size=10, signature=cosign(10))
    refused(log, InvalidInput, log.add_cosignature, actor=SCRUTINEER, occurred_on=DAY,
            size=30, signature=cosign(30), consistency=TREE.consistency_proof(11, 30))
    refused(log, AlreadyExists, log.add_cosignature, actor=SCRUTINEER, occurred_on=DAY,
            size=10, signature=cosign(10))
    log.add_cosignature(actor=SCRUTINEER, occurred_on=DAY, size=30, signature=cosign(30),
                        consistency=TREE.consistency_proof(10, 30))
    assert [c.size for c in log.cosignatures] == [10, 30]


def test_a_rotated_log_records_nothing_more_and_hands_over_its_final_checkpoint():
    log = new_log()
    log.rotate(actor=MANAGER, occurred_on=DAY, new_origin="ledger.example/log2",
               reason="key compromised")
    assert (log.status, log.final_checkpoint) == (LogStatus.ROTATED, note(10))
    refused(log, WrongStage, log.record_checkpoint, actor=MANAGER, occurred_on=DAY,
            note=note(20), reason="r", consistency=TREE.consistency_proof(10, 20))
    successor = Signer.from_skey(generate_signer("ledger.example/log2")[0])
    new = IntegrityLog.open(actor=MANAGER, occurred_on=DAY, origin="ledger.example/log2",
                            vkey=successor.verifier.vkey, previous=log)
    assert (new.previous_origin, new.previous_checkpoint) == (ORIGIN, note(10))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.sampled_from(["ok", "root", "proof"])),
                max_size=12))
def test_random_checkpoints_are_recorded_iff_they_extend_the_last_one(steps):
    log = new_log()
    for size, corruption in steps:
        last = log.latest
        assert last is not None
        proof = TREE.consistency_proof(last.size, size) if last.size <= size else []
        if corruption == "proof" and proof:
            proof = [bytes(32), *proof[1:]]
        root = bytes(32) if corruption == "root" else None
        valid = size >= last.size and (corruption == "ok" or (
            corruption == "proof" and not proof))
        version = log.version
        try:
            log.record_checkpoint(actor=MANAGER, occurred_on=DAY, note=note(size, root=root),
                                  reason="r", consistency=proof)
        except DomainError:
            assert not valid and log.version == version
        else:
            assert valid and (log.latest.size, log.version) == (size, version + 1)
