"""The signer's own record of what it last signed, kept beside the signing key, outside the
database (`<key file>.state`, mode 0600).

A transparency log's signer must never sign two histories. The ledger's record of its
checkpoints (the IntegrityLog events) and the Merkle log live in the database, so whoever can
rewrite the database could delete both and have the service sign a rewritten history with its
real key. This file is the signer's memory of the last checkpoint it signed (origin, size,
root and the note): a checkpoint is signed only if it extends that one (same origin, a size
not smaller, and an RFC 9162 consistency proof from the recorded size to the new one that
verifies against both roots). It is written before the signature leaves the signer (temporary
file, fsync, rename, fsync of the directory), under an exclusive lock held from the check to
the write, so two processes signing at once cannot move it backwards.

When a log really must be rebuilt (a restore that lost events), the operator starts a new
origin deliberately with a new key (`ledger rotate-key NEW --new-key FILE --reason R
--rebuilt`); the old key's state file stays as the record of what it signed.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from domain.errors import ConcurrentWrite, WrongStage
from ledger_verifier.verifier import (
    Checkpoint,
    IntegrityError,
    Signer,
    format_checkpoint_body,
    open_checkpoint,
    sign_note,
    verify_consistency,
)


class SignerStateError(Exception):
    """The state file is unreadable, unsafe, or not for this key."""


class ForkRefused(WrongStage):
    """The signer was asked to sign a checkpoint that does not extend the last one it signed."""

    title = "Refused: not an extension of the last signed checkpoint"


class Tree(Protocol):
    @property
    def size(self) -> int: ...

    def root(self, size: int | None = None) -> bytes: ...

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]: ...


@dataclass(frozen=True)
class Signed:
    """The last checkpoint the signer signed."""

    origin: str
    size: int
    root: bytes
    note: str

    @property
    def root_b64(self) -> str:
        return base64.b64encode(self.root).decode()

    def describe(self) -> str:
        return f"origin {self.origin}, size {self.size}, root {self.root_b64}"


def state_path(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".state")


def _describe(cp: Checkpoint) -> str:
    return f"size {cp.size}, root {base64.b64encode(cp.root_hash).decode()}"


class SignerState:
    """The state file of one signing key."""

    def __init__(self, key_file: Path, signer: Signer) -> None:
        self.path = state_path(key_file)
        self.lock_path = key_file.with_name(key_file.name + ".lock")
        self.signer = signer

    # ---- reading ----------------------------------------------------------------------------
    def read(self) -> Signed | None:
        """The last signed checkpoint, or None if this key never signed one."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise SignerStateError(f"the signer's state {self.path} cannot be read: {error}"
                                   ) from None
        try:
            data = json.loads(text)
            note = str(data["note"])
            cp, _ = open_checkpoint(note, [self.signer.verifier], origin=self.signer.name)
        except (ValueError, KeyError, TypeError, IntegrityError) as error:
            raise SignerStateError(f"the signer's state {self.path} is not a checkpoint signed "
                                   f"by this key: {error}") from None
        return Signed(cp.origin, cp.size, cp.root_hash, note)

    # ---- checking ---------------------------------------------------------------------------
    def check_extends(self, cp: Checkpoint, tree: Tree, last: Signed | None = None) -> None:
        """Refuse (ForkRefused) a checkpoint that does not extend the last one signed; a
        smaller size while the tree still holds the signed one is a race (ConcurrentWrite:
        the caller recomputes)."""
        last = last if last is not None else self.read()
        if last is None:
            return
        advice = ("If the log really had to be rebuilt, start a new origin deliberately: "
                  "`ledger rotate-key NEW_ORIGIN --new-key FILE --reason R --rebuilt`.")
        if cp.origin != last.origin:
            raise ForkRefused(f"refusing to sign: the checkpoint is for origin {cp.origin}, but "
                              f"this key last signed {last.describe()}. {advice}")
        if cp.size < last.size:
            if cp.size < tree.size and tree.size >= last.size and self._holds(tree, last):
                raise ConcurrentWrite(f"a checkpoint of size {last.size} was signed meanwhile; "
                                      f"size {cp.size} is behind it")
            raise ForkRefused(
                f"refusing to sign: the log of origin {cp.origin} now has {_describe(cp)}, "
                f"smaller than the checkpoint this key last signed ({last.describe()}, "
                f"recorded in {self.path}): events it covered are gone. {advice}")
        try:
            proof = tree.consistency_proof(last.size, cp.size) if cp.size > last.size else []
            verify_consistency(last.size, cp.size, last.root, cp.root_hash, proof)
        except (IntegrityError, ValueError, LookupError) as error:
            raise ForkRefused(
                f"refusing to sign: the log of origin {cp.origin} at {_describe(cp)} is not an "
                f"extension of the checkpoint this key last signed ({last.describe()}, "
                f"recorded in {self.path}): {error}. Its events were rewritten, or the log "
                f"rebuilt from other events; `ledger verify --live` names the first bad "
                f"position. {advice}") from None

    @staticmethod
    def _holds(tree: Tree, last: Signed) -> bool:
        try:
            return tree.root(last.size) == last.root
        except Exception:  # noqa: BLE001 - a tree that cannot say does not hold it
            return False

    def check_tree(self, tree: Tree) -> Signed | None:
        """Refuse a tree that does not extend the last signed checkpoint (`ledger init`)."""
        last = self.read()
        if last is not None:
            size = tree.size
            root = tree.root(size) if size else bytes(32)
            self.check_extends(Checkpoint(last.origin, size, root), tree, last)
        return last

    # ---- signing ----------------------------------------------------------------------------
    def signer_for(self, tree: Tree) -> Callable[[Checkpoint], str]:
        """The function the checkpoint use case signs with: check, sign, record, under the
        lock."""
        def sign(cp: Checkpoint) -> str:
            with self.locked():
                self.check_extends(cp, tree)
                note = sign_note(format_checkpoint_body(cp), self.signer)
                self.write(note)
                return note
        return sign

    @contextmanager
    def locked(self) -> Iterator[None]:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def write(self, note: str) -> None:
        """Record `note` as the last signed checkpoint, never a smaller one (atomically:
        temporary file, fsync, rename, fsync of the directory)."""
        cp, _ = open_checkpoint(note, [self.signer.verifier], origin=self.signer.name)
        last = self.read()
        if last is not None and last.size > cp.size:
            return
        data = {"format": "sgl-signer-state/v1", "origin": cp.origin, "size": cp.size,
                "root_hash": base64.b64encode(cp.root_hash).decode(), "note": note}
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(data, indent=2) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
