"""Checkpoint, witness and rotation use cases on every store, with the real Merkle log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.settings import Settings
from domain.actors import Actor, Role
from domain.application import Context
from domain.errors import Forbidden, InvalidInput, WrongStage
from domain.ledger import Ledger
from ledger_verifier.verifier import (
    COSIGNATURE_V1,
    Signer,
    cosign_checkpoint,
    generate_signer,
    open_checkpoint,
)
from projections.merkle_log import MerkleLog
from tests.principals import AS_BOARD, AS_MANAGER, AS_SCRUTINEER

ORIGIN = "ledger.example/sssp"
SIGNER = Signer.from_skey(generate_signer(ORIGIN)[0])


@pytest.fixture
def tree(ledger: Ledger, tmp_path: Path) -> Iterator[MerkleLog]:
    for i in range(5):
        ledger.register_agency(AS_MANAGER, name=f"Agency {i}", kind="other",
                               statutory_partner=False, partnerships=["SSSCB"])
    log = MerkleLog(Settings(data_dir=tmp_path), ledger)
    log.catch_up()
    yield log
    log.close()


def checkpoint(ledger: Ledger, tree: MerkleLog, ctx: Context = AS_MANAGER, **kwargs: Any) -> Any:
    tree.catch_up()
    return ledger.make_checkpoint(ctx, origin=ORIGIN, signer=SIGNER, tree=tree,
                                  reason=kwargs.pop("reason", "quarterly"), **kwargs)


def test_the_first_checkpoint_opens_the_log_and_signs_its_root(ledger: Ledger, tree: MerkleLog):
    made = checkpoint(ledger, tree)
    cp, _ = open_checkpoint(made.checkpoint.note, [SIGNER.verifier], origin=ORIGIN)
    assert (cp.size, cp.root_hash) == (5, tree.root(5))
    assert ledger.get_integrity_log(ORIGIN).checkpoints[0].actor == AS_MANAGER.actor


def test_later_checkpoints_extend_the_earlier_ones(ledger: Ledger, tree: MerkleLog):
    checkpoint(ledger, tree)
    second = checkpoint(ledger, tree, ctx=AS_BOARD, reason="Board meeting").checkpoint
    assert [c.size for c in ledger.get_integrity_log(ORIGIN).checkpoints] == [5, second.size]
    assert second.size == 7  # the log's opening and first checkpoint are events too


@pytest.mark.parametrize("role", [Role.AGENCY_LEAD, Role.SCRUTINEER, Role.AUDITOR])
def test_other_roles_may_not_make_checkpoints(ledger: Ledger, tree: MerkleLog, role: Role):
    with pytest.raises(Forbidden):
        checkpoint(ledger, tree, ctx=Context(Actor("u-x", role)))


def test_a_checkpoint_smaller_than_the_last_is_refused(ledger: Ledger, tree: MerkleLog):
    checkpoint(ledger, tree)
    with pytest.raises(InvalidInput):
        checkpoint(ledger, tree, size=3)


def test_another_key_cannot_sign_for_the_log(ledger: Ledger, tree: MerkleLog):
    checkpoint(ledger, tree)
    other = Signer.from_skey(generate_signer(ORIGIN)[0])
    with pytest.raises(InvalidInput):
        ledger.make_checkpoint(AS_MANAGER, origin=ORIGIN, signer=other, tree=tree, reason="r")


def test_a_witness_cosigns_a_checkpoint(ledger: Ledger, tree: MerkleLog):
    made = checkpoint(ledger, tree).checkpoint
    skey, vkey = generate_signer("scrutineer.example", COSIGNATURE_V1)
    ledger.register_witness(AS_SCRUTINEER, origin=ORIGIN, vkey=vkey)
    line = cosign_checkpoint(made.body, Signer.from_skey(skey), 1_760_000_000)
    ledger.add_cosignature(AS_SCRUTINEER, origin=ORIGIN, size=made.size, signature=line,
                           tree=tree)
    assert ledger.get_integrity_log(ORIGIN).cosigned_note(made.size) == made.note + line


def test_rotation_opens_a_new_log_that_carries_the_final_checkpoint(ledger: Ledger,
                                                                    tree: MerkleLog):
    final = checkpoint(ledger, tree).checkpoint
    successor = Signer.from_skey(generate_signer("ledger.example/sssp-2027")[0])
    ledger.rotate_log(AS_MANAGER, origin=ORIGIN, new_signer=successor, reason="key rotation")
    new = ledger.get_integrity_log("ledger.example/sssp-2027")
    assert (new.previous_origin, new.previous_checkpoint) == (ORIGIN, final.note)
    with pytest.raises(WrongStage):
        checkpoint(ledger, tree)
