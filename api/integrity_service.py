"""The integrity side of one process: the signing key, the Merkle log, checkpoints, proofs,
export and live verification, over one Ledger."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from api.errors import ServiceUnavailable
from api.integrity_keys import load_or_create_signer
from api.settings import Settings
from api.signer_state import SignerState, SignerStateError
from domain.actors import Actor
from domain.application import Context
from domain.checkpoint import IntegrityLog
from domain.errors import DomainError, InvalidInput, NotFound, WrongStage
from domain.ledger import Ledger
from domain.use_cases.integrity import CheckpointMade
from ledger_verifier import bundle
from ledger_verifier.verifier import Verifier, format_tlog_proof, leaf_hash
from projections import integrity as glue
from projections.merkle_log import CorruptNode, MerkleLog, MerkleLogError, leaf_of

logger = logging.getLogger("ledger.integrity")
T = TypeVar("T")


class IntegrityConflict(WrongStage):
    """The stored event no longer matches the log (say so rather than prove a lie)."""


@dataclass(frozen=True)
class Inclusion:
    position: int
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    path: list[bytes]
    root: bytes


class IntegrityService:
    def __init__(self, settings: Settings, ledger: Ledger, *, merkle: MerkleLog | None = None
                 ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.origin = settings.integrity_origin
        self.signer, self.key_created = load_or_create_signer(settings.key_file, self.origin)
        self.signer_state = SignerState(settings.key_file, self.signer)
        self.corruption: str | None = None  # a proof that failed its check, for /readyz
        self._owns_merkle = merkle is None  # a Merkle log passed in is closed by its owner
        self.merkle = merkle or MerkleLog(settings, ledger)
        try:
            self.guarded = ledger.store.install_append_only_guard()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._owns_merkle:
            self.merkle.close()

    @property
    def vkey(self) -> str:
        return self.signer.verifier.vkey

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier

    # ---- checkpoints ------------------------------------------------------------------------
    def catch_up(self) -> int:
        try:
            return self.merkle.catch_up()
        except MerkleLogError as error:  # an operator must look: say so, and sign nothing
            raise ServiceUnavailable(f"the Merkle log cannot be brought up to date: {error}"
                                     ) from error

    def describe_latest(self) -> str:
        """'the checkpoint of log <origin> of size <n>', or that there is none."""
        log = self.integrity_log()
        if log is None or log.latest is None:
            return f"no checkpoint of log {self.origin} is recorded"
        return f"the last checkpoint (log {self.origin}, size {log.latest.size})"

    def check_since_last_checkpoint(self) -> None:
        """The events since the last checkpoint must be the Merkle log's leaves: refuse,
        naming the first bad position, when they differ (before anything is signed)."""
        log = self.integrity_log()
        start = log.latest.size if log is not None and log.latest is not None else 0
        size = self.merkle.tree_size()
        if start > size:
            raise IntegrityConflict(
                f"the Merkle log holds {size} leaves, fewer than {self.describe_latest()}: it "
                "was emptied or rebuilt from fewer events; `ledger verify --live` names the "
                "first bad position")
        try:
            found = self.merkle.first_difference(start)
        except MerkleLogError as error:
            raise ServiceUnavailable(f"the Merkle log cannot be read: {error}") from error
        if found is not None:
            position, what = found
            raise IntegrityConflict(
                f"refusing to sign: since {self.describe_latest()}, {what}; first bad position "
                f"{position}. Run `ledger verify --live`")

    def make_checkpoint(self, ctx: Context, *, reason: str, size: int | None = None
                        ) -> CheckpointMade:
        """Bring the Merkle log up to date (its last leaf must still be its event), check the
        events since the last checkpoint against it, sign (if this extends what the key last signed) and record; then append the
        checkpoint's own event to the Merkle log, so the next checkpoint and every export
        cover it."""
        self.catch_up()
        self.check_since_last_checkpoint()
        try:
            made = self.ledger.make_checkpoint(ctx, origin=self.origin, signer=self.signer,
                                               tree=self.merkle, reason=reason, size=size,
                                               sign=self.signer_state.signer_for(self.merkle))
        except SignerStateError as error:  # an operator must look: say so, and sign nothing
            raise ServiceUnavailable(str(error)) from error
        self.settle()
        return made

    def settle(self) -> None:
        """Append what was just recorded (a checkpoint's own event) to the Merkle log. The
        record is made; a failure here is logged, and the next checkpoint refuses anyway."""
        try:
            self.catch_up()
        except ServiceUnavailable as error:
            logger.warning("the checkpoint is recorded, but %s", error)

    def cited_tree(self, size: int | None, root: str | None) -> tuple[int, str]:
        """(size, base64 root) for a sign-off: the log as it stands, or an earlier size the
        Board cites, whose root must then be the log's root at that size."""
        current = self.catch_up()
        if size is None:
            if root is not None:
                raise InvalidInput("checkpoint_root needs checkpoint_size",
                                   field="checkpoint_size")
            size = current
        if not 1 <= size <= current:
            raise InvalidInput(f"checkpoint_size must be between 1 and {current}, the log's "
                               "size", field="checkpoint_size")
        actual = b64(self.merkle.root(size))
        if root is not None and root != actual:
            raise InvalidInput(f"checkpoint_root is not the log's root at size {size}",
                               field="checkpoint_root")
        return size, actual

    def checkpoint_after(self, actor: Actor, size: int, *, reason: str
                         ) -> CheckpointMade | None:
        """The checkpoint that follows a sign-off. The sign-off is already recorded, so a
        refusal here (a larger checkpoint was made meanwhile, which covers this size) is
        logged, not raised."""
        log = self.integrity_log()
        if log is not None and any(cp.size == size for cp in log.checkpoints):
            return None
        try:
            made = self.ledger.make_checkpoint(Context(actor), origin=self.origin,
                                               signer=self.signer, tree=self.merkle,
                                               reason=reason, size=size,
                                               sign=self.signer_state.signer_for(self.merkle))
        except (DomainError, SignerStateError) as error:
            logger.warning("no checkpoint of size %s after a sign-off: %s", size, error)
            return None
        self.settle()
        return made

    def integrity_log(self) -> IntegrityLog | None:
        try:
            return self.ledger.get_integrity_log(self.origin)
        except NotFound:
            return None

    def earlier_logs(self) -> list[IntegrityLog]:
        """The logs this one continues after key rotations, oldest first."""
        return glue.earlier_logs(self.ledger, self.integrity_log())

    def require_log(self) -> IntegrityLog:
        log = self.integrity_log()
        if log is None or log.latest is None:
            raise NotFound(f"log {self.origin} has no checkpoint yet")
        return log

    def register_witness(self, ctx: Context, vkey: str) -> Any:
        return self.ledger.register_witness(ctx, origin=self.origin, vkey=vkey)

    def add_cosignature(self, ctx: Context, size: int, signature: str) -> Any:
        self.catch_up()
        return self.ledger.add_cosignature(ctx, origin=self.origin, size=size,
                                           signature=signature, tree=self.merkle)

    # ---- proofs -----------------------------------------------------------------------------
    def _index_of(self, position: int) -> int:
        index = self.merkle.leaf_index_of(position)
        if index is None and position <= self.ledger.head_position():
            self.catch_up()
            index = self.merkle.leaf_index_of(position)
        if index is None:
            raise NotFound(f"no event at position {position}")
        return index

    def _size(self, size: int | None) -> int:
        if size is not None:
            return size
        return self.require_log().latest.size  # type: ignore[union-attr]

    def signed_root(self, size: int) -> bytes | None:
        """The root a checkpoint of this log signed for `size`, if one did."""
        log = self.integrity_log()
        for cp in reversed(log.checkpoints if log is not None else []):
            if cp.size == size:
                return cp.root
        return None

    def _checked(self, prove: Callable[[], T]) -> T:
        """Run a self-checked proof: a corrupt node is a 503 naming it, and /readyz says so."""
        try:
            return prove()
        except CorruptNode as error:
            self.corruption = str(error)
            logger.error("%s", error)
            raise ServiceUnavailable(str(error)) from error

    def inclusion(self, position: int, size: int | None = None, *,
                  root: bytes | None = None) -> Inclusion:
        """The inclusion proof, checked before it is served against the signed root of the
        size (or the root recomputed from the stored nodes if no checkpoint has that size)."""
        index = self._index_of(position)
        n = self._size(size)
        if not index < n <= self.merkle.tree_size():
            raise InvalidInput(f"position {position} is leaf {index}: the tree size must be "
                               f"above it and at most {self.merkle.tree_size()}", field="size")
        signed = root if root is not None else self.signed_root(n)
        leaf, path, checked_root = self._checked(
            lambda: self.merkle.checked_inclusion(index, n, signed))
        return Inclusion(position, index, n, leaf, path, checked_root)

    def record_proofs(self, record_id: Any) -> tuple[int, list[tuple[int, int, Inclusion | None]]]:
        """For each event of one record (a review, action, challenge...): (version, position,
        its inclusion in the latest checkpoint, or None if the checkpoint does not cover it
        yet). Returns the checkpoint size too."""
        log = self.require_log()
        latest = log.latest
        assert latest is not None
        positions = self.ledger.positions_of(record_id)
        if not positions:
            raise NotFound(f"no record with id {record_id}")
        out = []
        for version, position in sorted(positions.items()):
            index = self._index_of(position)
            out.append((version, position,
                        self.inclusion(position, latest.size, root=latest.root)
                        if index < latest.size else None))
        return latest.size, out

    def consistency(self, first: int, second: int) -> tuple[list[bytes], bytes, bytes]:
        """(path, root of `first`, root of `second`), checked before it is served against
        the signed roots of those sizes (or the roots recomputed from the stored nodes)."""
        size = self.merkle.tree_size()
        if not 0 < first <= second <= size:
            raise InvalidInput(f"need 0 < from <= to <= {size} (the log's size)", field="from")
        root1, root2 = self.signed_root(first), self.signed_root(second)
        return self._checked(lambda: self.merkle.checked_consistency(first, second, root1,
                                                                     root2))

    def tlog_proof(self, position: int) -> str:
        """A self-contained C2SP tlog-proof of one event against the latest checkpoint: its
        leaf bytes ('extra'), index, inclusion hashes and the cosigned checkpoint note."""
        log = self.require_log()
        latest = log.latest
        assert latest is not None
        index = self._index_of(position)
        if index >= latest.size:
            raise WrongStage(f"position {position} (leaf {index}) is not yet covered by a "
                             f"checkpoint (the latest has size {latest.size}); allowed next: "
                             "make a checkpoint")
        rows = self.ledger.store.stored(position - 1, 1, stop=position)
        stored = self.merkle.leaf(index)
        leaf = leaf_of(rows[0]) if rows else None
        if leaf is None or stored is None or leaf_hash(leaf) != stored[1]:
            raise IntegrityConflict(f"the stored event at position {position} no longer "
                                    "matches the log: run `ledger verify --live`")
        _, proof, _ = self._checked(
            lambda: self.merkle.checked_inclusion(index, latest.size, latest.root))
        return format_tlog_proof(index, proof, log.cosigned_note(latest.size), extra=leaf)

    # ---- export and verification ------------------------------------------------------------
    def export_lines(self) -> Iterator[bytes]:
        """The bundle. The Merkle log is brought up to date first (as far as it can be), so
        the newest checkpoint's own event carries its hint too."""
        self.settle()
        return glue.export_lines(self.ledger, self.merkle, self.integrity_log(), self.origin,
                                 self.vkey)

    def verify_live(self, keys: Sequence[Verifier] | None = None, *,
                    trusted: Sequence[str] = (), state: bundle.Target | None = None
                    ) -> bundle.Verdict:
        return glue.verify_live(self.ledger, self.merkle, self.integrity_log(), self.origin,
                                list(keys) if keys else [self.verifier], trusted=trusted,
                                state=state)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
