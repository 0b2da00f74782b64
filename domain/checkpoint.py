"""The integrity log's record in the ledger: signed checkpoints, witnesses and their
cosignatures, and key rotation. One aggregate per log origin.

A checkpoint is a C2SP tlog-checkpoint (origin, tree size, RFC 6962 root) in a C2SP signed
note. The aggregate accepts a checkpoint only if the note verifies with the log's key, its
size does not shrink, an equal size has an equal root, and a consistency proof from the
previous checkpoint verifies: the service can never record a fork of its own log. A witness
(a scrutineer's cosignature/v1 key) cosigns a checkpoint only consistently with the last one
it cosigned.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.actors import Actor
from domain.base import LedgerAggregate, require_text
from domain.errors import AlreadyExists, Forbidden, InvalidInput, NotFound, WrongStage
from ledger_verifier.verifier import (
    COSIGNATURE_V1,
    ED25519,
    IntegrityError,
    Verifier,
    open_checkpoint,
    verify_consistency,
    verify_cosignature,
)

_NS = uuid5(NAMESPACE_URL, "urn:safeguarding-ledger:integrity-log")


def log_id(origin: str) -> UUID:
    """The id of the integrity log of one origin."""
    return uuid5(_NS, origin)


class LogStatus(StrEnum):
    ACTIVE = "active"
    ROTATED = "rotated"


@dataclass(frozen=True)
class RecordedCheckpoint:
    size: int
    root_hash: str  # standard base64 of the 32-byte root
    note: str  # the signed note as the log signed it (without cosignatures)
    reason: str
    actor: Actor
    occurred_on: date

    @property
    def root(self) -> bytes:
        return base64.b64decode(self.root_hash)

    @property
    def body(self) -> str:
        """The checkpoint text that was signed (and that witnesses cosign)."""
        return self.note[: self.note.rfind("\n\n") + 1]


@dataclass(frozen=True)
class Witness:
    name: str
    vkey: str
    owner: str  # user id of the scrutineer who registered it


@dataclass(frozen=True)
class Cosignature:
    witness: str
    size: int
    signature: str  # the cosignature/v1 line, without its newline
    timestamp: int


class IntegrityLog(LedgerAggregate):
    @staticmethod
    def create_id(*, origin: str, **_: Any) -> UUID:
        return log_id(origin)

    @event("Opened")
    def __init__(self, *, actor: Actor, occurred_on: date, origin: str, vkey: str,
                 previous_origin: str | None, previous_checkpoint: str | None) -> None:
        self.origin = origin
        self.vkey = vkey
        self.previous_origin = previous_origin
        self.previous_checkpoint = previous_checkpoint
        self.status = LogStatus.ACTIVE
        self.checkpoints: list[RecordedCheckpoint] = []
        self.witnesses: dict[str, Witness] = {}
        self.cosignatures: list[Cosignature] = []
        self.rotated_to: str | None = None
        self.final_checkpoint: str | None = None

    @classmethod
    def open(cls, *, actor: Actor, occurred_on: date, origin: str, vkey: str,
             previous: IntegrityLog | None = None) -> IntegrityLog:
        """A new log. After a rotation, its first entry names the old log and carries the
        old log's final checkpoint, so the chain of keys can be followed."""
        verifier = _log_verifier(vkey)
        if verifier.name != origin:
            raise InvalidInput(f"the log key is named {verifier.name!r}; it must be named "
                               f"after the origin {origin!r}", field="vkey")
        final = previous.checkpoints[-1].note if previous and previous.checkpoints else None
        return cls(actor=actor, occurred_on=occurred_on, origin=origin, vkey=vkey,
                   previous_origin=previous.origin if previous else None,
                   previous_checkpoint=final)

    @property
    def verifier(self) -> Verifier:
        return Verifier.from_vkey(self.vkey)

    @property
    def latest(self) -> RecordedCheckpoint | None:
        return self.checkpoints[-1] if self.checkpoints else None

    def checkpoint_at(self, size: int) -> RecordedCheckpoint:
        for cp in reversed(self.checkpoints):
            if cp.size == size:
                return cp
        raise NotFound(f"log {self.origin} has no checkpoint of size {size}")

    def cosignatures_of(self, size: int) -> list[Cosignature]:
        return [c for c in self.cosignatures if c.size == size]

    def cosigned_note(self, size: int) -> str:
        """The checkpoint note of `size` with every cosignature line appended."""
        cp = self.checkpoint_at(size)
        return cp.note + "".join(c.signature + "\n" for c in self.cosignatures_of(size))

    # ---- checks ---------------------------------------------------------------------------
    def check_active(self, doing: str) -> None:
        if self.status is not LogStatus.ACTIVE:
            raise WrongStage(f"log {self.origin} is {self.status.value} (now {self.rotated_to})"
                             f"; it cannot {doing}; allowed next: nothing")

    def check_consistent(self, old: RecordedCheckpoint, size: int, root: bytes,
                         proof: Sequence[bytes], field: str) -> None:
        """An equal size needs an equal root; a larger one a verifying consistency proof."""
        if size < old.size:
            raise InvalidInput(f"tree size {size} is smaller than the checkpoint of log "
                               f"{self.origin} of size {old.size} (root {old.root_hash}): "
                               "sizes only grow", field=field)
        try:
            verify_consistency(old.size, size, old.root, root, list(proof))
        except IntegrityError as error:
            raise InvalidInput(f"not consistent with the checkpoint of log {self.origin} of "
                               f"size {old.size} (root {old.root_hash}): {error}",
                               field=field) from None

    def check_extension(self, size: int, root: bytes, proof: Sequence[bytes]) -> None:
        """What record_checkpoint will require of (size, root), checked before it is signed."""
        self.check_active("record checkpoints")
        if size < 1:
            raise InvalidInput("a checkpoint covers at least one event", field="size")
        if self.latest is not None:
            self.check_consistent(self.latest, size, root, proof, "size")

    # ---- commands -------------------------------------------------------------------------
    def record_checkpoint(self, *, actor: Actor, occurred_on: date, note: str, reason: str,
                          consistency: Sequence[bytes] = ()) -> RecordedCheckpoint:
        self.check_active("record checkpoints")
        self.check_business_date(occurred_on)
        try:
            cp, _ = open_checkpoint(note, [self.verifier], origin=self.origin)
        except IntegrityError as error:
            raise InvalidInput(f"the checkpoint does not verify with the key of log "
                               f"{self.origin}: {error}", field="note") from None
        if cp.size < 1:
            raise InvalidInput("a checkpoint covers at least one event", field="size")
        if self.latest is not None:
            self.check_consistent(self.latest, cp.size, cp.root_hash, consistency, "size")
        self._checkpoint_recorded(actor=actor, occurred_on=occurred_on, size=cp.size,
                                  root_hash=base64.b64encode(cp.root_hash).decode(), note=note,
                                  reason=require_text(reason, "reason", max_length=2000))
        return self.checkpoints[-1]

    @event("CheckpointRecorded")
    def _checkpoint_recorded(self, *, actor: Actor, occurred_on: date, size: int,
                             root_hash: str, note: str, reason: str) -> None:
        self.checkpoints = [*self.checkpoints, RecordedCheckpoint(
            size, root_hash, note, reason, actor, occurred_on)]

    def register_witness(self, *, actor: Actor, occurred_on: date, vkey: str) -> None:
        self.check_active("register witnesses")
        self.check_business_date(occurred_on)
        try:
            verifier = Verifier.from_vkey(vkey.strip())
        except IntegrityError as error:
            raise InvalidInput(f"not a witness key: {error}", field="vkey") from None
        if verifier.key_type != COSIGNATURE_V1:
            raise InvalidInput("a witness key must be a cosignature/v1 key (type 0x04)",
                               field="vkey")
        if verifier.name in self.witnesses:
            raise AlreadyExists(f"a witness named {verifier.name} is already registered",
                                field="vkey")
        if verifier.name == self.origin:
            raise InvalidInput("a witness cannot be named after the log", field="vkey")
        self._witness_registered(actor=actor, occurred_on=occurred_on, name=verifier.name,
                                 vkey=verifier.vkey)

    @event("WitnessRegistered")
    def _witness_registered(self, *, actor: Actor, occurred_on: date, name: str,
                            vkey: str) -> None:
        self.witnesses = {**self.witnesses, name: Witness(name, vkey, actor.user_id)}

    def add_cosignature(self, *, actor: Actor, occurred_on: date, size: int, signature: str,
                        consistency: Sequence[bytes] = ()) -> Cosignature:
        self.check_business_date(occurred_on)
        cp = self.checkpoint_at(size)
        line = signature.strip()
        name = line[2:].partition(" ")[0] if line.startswith("\u2014 ") else ""
        witness = self.witnesses.get(name)
        if witness is None:
            raise InvalidInput(f"no registered witness named {name!r} (the line must be "
                               "'\u2014 <witness name> <base64>')", field="signature")
        if witness.owner != actor.user_id:
            raise Forbidden(f"witness {name} was registered by another user; only they may "
                            "add its cosignatures")
        try:
            timestamp = verify_cosignature(cp.body, line, Verifier.from_vkey(witness.vkey))
        except IntegrityError as error:
            raise InvalidInput(f"the cosignature does not verify: {error}",
                               field="signature") from None
        previous = [c for c in self.cosignatures if c.witness == name]
        if previous:
            last = self.checkpoint_at(previous[-1].size)
            if size == last.size:
                raise AlreadyExists(f"witness {name} already cosigned the checkpoint of size "
                                    f"{size}", field="size")
            self.check_consistent(last, cp.size, cp.root, consistency, "size")
        self._cosignature_added(actor=actor, occurred_on=occurred_on, witness=name, size=size,
                                signature=line, timestamp=timestamp)
        return self.cosignatures[-1]

    @event("CosignatureAdded")
    def _cosignature_added(self, *, actor: Actor, occurred_on: date, witness: str, size: int,
                           signature: str, timestamp: int) -> None:
        self.cosignatures = [*self.cosignatures, Cosignature(witness, size, signature,
                                                             timestamp)]

    def rotate(self, *, actor: Actor, occurred_on: date, new_origin: str,
               reason: str) -> None:
        """End this log; its final checkpoint is carried into the new log's first entry."""
        self.check_active("be rotated")
        self.check_business_date(occurred_on)
        if self.latest is None:
            raise WrongStage(f"log {self.origin} has no checkpoint yet; allowed next: "
                             "record_checkpoint (a rotation carries the final checkpoint)")
        if new_origin == self.origin:
            raise InvalidInput("the new origin must differ from the old one",
                               field="new_origin")
        self._rotated(actor=actor, occurred_on=occurred_on, new_origin=new_origin,
                      final_checkpoint=self.latest.note,
                      reason=require_text(reason, "reason", max_length=2000))

    @event("LogRotated")
    def _rotated(self, *, actor: Actor, occurred_on: date, new_origin: str,
                 final_checkpoint: str, reason: str) -> None:
        self.status = LogStatus.ROTATED
        self.rotated_to = new_origin
        self.final_checkpoint = final_checkpoint


def _log_verifier(vkey: str) -> Verifier:
    try:
        verifier = Verifier.from_vkey(vkey)
    except IntegrityError as error:
        raise InvalidInput(f"not a note verifier key: {error}", field="vkey") from None
    if verifier.key_type != ED25519:
        raise InvalidInput("the log key must be an Ed25519 note key (type 0x01)",
                           field="vkey")
    return verifier
