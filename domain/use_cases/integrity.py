"""Use cases for the integrity log: checkpoints, witnesses, cosignatures, key rotation.

The Merkle tree itself is a read model (projections/merkle_log.py); these use cases take it
as a `LogTree` and the log's signing key as a `Signer`, both given by the caller, so the
domain stays free of storage and key files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from eventsourcing.application import AggregateNotFoundError

from domain import clock
from domain.actors import Actor, Permission, Role
from domain.application import Context, LedgerCore, Outcome
from domain.checkpoint import IntegrityLog, RecordedCheckpoint, log_id
from domain.errors import ConcurrentWrite, Forbidden, InvalidInput, NotFound
from ledger_verifier.verifier import Checkpoint, Signer, format_checkpoint_body, sign_note

_ATTEMPTS = 3  # a checkpoint raced by another is recomputed, not refused


class LogTree(Protocol):
    """What checkpoints need of the Merkle log (projections.merkle_log.MerkleLog)."""

    @property
    def size(self) -> int: ...

    def root(self, size: int | None = None) -> bytes: ...

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]: ...


@dataclass(frozen=True)
class CheckpointMade:
    outcome: Outcome
    checkpoint: RecordedCheckpoint


class IntegrityUseCases(LedgerCore):
    def open_integrity_log(self, ctx: Context, *, origin: str, signer: Signer,
                           occurred_on: date | None = None) -> Outcome:
        """Create the log of `origin` for this key (`ledger init`); refused if it exists."""
        _require_checkpointer(ctx.actor, "open integrity logs")
        if self._find_log(origin) is not None:
            raise InvalidInput(f"the integrity log {origin} already exists", field="origin")
        log = IntegrityLog.open(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                                origin=origin, vkey=signer.verifier.vkey)
        return self._save(ctx, log)

    def make_checkpoint(self, ctx: Context, *, origin: str, signer: Signer, tree: LogTree,
                        reason: str, size: int | None = None,
                        occurred_on: date | None = None,
                        sign: Callable[[Checkpoint], str] | None = None) -> CheckpointMade:
        """Sign (origin, size, root) of the tree (default: its current size) and record it
        with who asked and why. Opens the log on first use. `sign` turns the checkpoint into
        its signed note (default: sign_note with `signer`); the service passes one that first
        checks the signer's own record of what it last signed (api/signer_state.py)."""
        _require_checkpointer(ctx.actor, "make checkpoints")
        for attempt in range(_ATTEMPTS):
            log = self._find_log(origin) or IntegrityLog.open(
                actor=ctx.actor, occurred_on=clock.today(), origin=origin,
                vkey=signer.verifier.vkey)
            if log.vkey != signer.verifier.vkey:
                raise InvalidInput(f"the signing key is not the key of log {origin} (rotate "
                                   "the log to change keys)", field="key")
            n = tree.size if size is None else size
            if not 1 <= n <= tree.size:
                raise InvalidInput(f"size must be between 1 and the log's size {tree.size}",
                                   field="size")
            checkpoint = Checkpoint(origin, n, tree.root(n))
            last = log.latest
            proof = tree.consistency_proof(last.size, n) if last and last.size <= n else []
            log.check_extension(checkpoint.size, checkpoint.root_hash, proof)
            note = (sign(checkpoint) if sign is not None
                    else sign_note(format_checkpoint_body(checkpoint), signer))
            cp = log.record_checkpoint(actor=ctx.actor,
                                       occurred_on=occurred_on or clock.today(),
                                       note=note, reason=reason, consistency=proof)
            try:
                return CheckpointMade(self._save(ctx, log), cp)
            except ConcurrentWrite:
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def register_witness(self, ctx: Context, *, origin: str, vkey: str,
                         occurred_on: date | None = None) -> Outcome:
        """A scrutineer registers their own cosignature/v1 key as a witness of the log."""
        _require_scrutineer(ctx.actor, "register witnesses")
        log = self._log(origin)
        log.register_witness(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                             vkey=vkey)
        return self._save(ctx, log)

    def add_cosignature(self, ctx: Context, *, origin: str, size: int, signature: str,
                        tree: LogTree, occurred_on: date | None = None) -> Outcome:
        """Add a witness's cosignature line to the checkpoint of `size`; accepted only if it
        verifies and the checkpoint is consistent with the last one that witness cosigned."""
        _require_scrutineer(ctx.actor, "add cosignatures")
        log = self._log(origin)
        name = signature.strip()[2:].partition(" ")[0]
        earlier = [c.size for c in log.cosignatures if c.witness == name]
        proof = (tree.consistency_proof(earlier[-1], size)
                 if earlier and 0 < earlier[-1] < size <= tree.size else [])
        log.add_cosignature(actor=ctx.actor, occurred_on=occurred_on or clock.today(),
                            size=size, signature=signature, consistency=proof)
        return self._save(ctx, log)

    def rotate_log(self, ctx: Context, *, origin: str, new_signer: Signer, reason: str,
                   occurred_on: date | None = None) -> Outcome:
        """End the log of `origin` and open one for the new key's origin (its name), whose
        first entry records the old log's final checkpoint."""
        _require_checkpointer(ctx.actor, "rotate the log key")
        day = occurred_on or clock.today()
        old = self._log(origin)
        new_origin = new_signer.name
        if self._find_log(new_origin) is not None:
            raise InvalidInput(f"a log named {new_origin} already exists", field="origin")
        old.rotate(actor=ctx.actor, occurred_on=day, new_origin=new_origin, reason=reason)
        new = IntegrityLog.open(actor=ctx.actor, occurred_on=day, origin=new_origin,
                                vkey=new_signer.verifier.vkey, previous=old)
        return self._save(ctx, new, old)

    # ---- reading ----------------------------------------------------------------------
    def get_integrity_log(self, origin: str, *, version: int | None = None,
                          as_of: datetime | None = None) -> IntegrityLog:
        return self._load_at(IntegrityLog, log_id(origin), f"integrity log {origin}",
                             version=version, as_of=as_of)

    def _log(self, origin: str) -> IntegrityLog:
        log = self._find_log(origin)
        if log is None:
            raise NotFound(f"no integrity log {origin} yet: make a first checkpoint")
        return log

    def _find_log(self, origin: str) -> IntegrityLog | None:
        try:
            log = self.repository.get(log_id(origin))
        except AggregateNotFoundError:
            return None
        return log if isinstance(log, IntegrityLog) else None


def _require_checkpointer(actor: Actor, doing: str) -> None:
    # The operator may open and rotate the log from the server's shell (`ledger init`), as it
    # holds the key file there anyway.
    if actor.role is not Role.OPERATOR:
        actor.require(Permission.MAKE_CHECKPOINT, doing)


def _require_scrutineer(actor: Actor, doing: str) -> None:
    if not actor.may(Permission.WITNESS):
        raise Forbidden(f"role {actor.role.value} may not {doing}; only scrutineers witness")
