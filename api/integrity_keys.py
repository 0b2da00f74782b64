"""The log's signing key: an Ed25519 note key in a file outside the database (mode 0600),
created by `ledger init` or on first start. Its name is the log's origin."""

from __future__ import annotations

import os
from pathlib import Path

from ledger_verifier.verifier import IntegrityError, Signer, generate_signer


class KeyFileError(Exception):
    """The key file is unsafe, unreadable, or for another origin."""


def load_signer(path: Path, origin: str) -> Signer:
    if os.stat(path).st_mode & 0o077:
        raise KeyFileError(f"the log key {path} is readable by others: chmod 600 it")
    try:
        signer = Signer.from_skey(path.read_text().strip())
    except IntegrityError as error:
        raise KeyFileError(f"the log key {path} is not a signed-note private key: {error}"
                           ) from None
    if signer.name != origin:
        raise KeyFileError(f"the log key {path} is for origin {signer.name!r}, but "
                           f"LEDGER_INTEGRITY_ORIGIN is {origin!r} (a new origin needs a key "
                           "rotation, not a new key in place)")
    return signer


def load_or_create_signer(path: Path, origin: str) -> tuple[Signer, bool]:
    """The signer, and whether it was created now. Creation never overwrites a key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        skey, _ = generate_signer(origin)
        # Write a private temporary file, then link it into place: the link is atomic and
        # fails if the key exists, so racing workers never read a half-written key.
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(skey + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:  # another process created it first: use theirs
            return load_signer(path, origin), False
        finally:
            temporary.unlink()
        return load_signer(path, origin), True
    return load_signer(path, origin), False
