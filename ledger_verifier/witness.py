"""The witness kit: what a scrutineer needs to cosign the ledger's checkpoints, and nothing of
the service (standard library and `cryptography` only).

A witness is a C2SP cosignature/v1 key (type 0x04) of the scrutineer's own, and a state file
beside it holding the last checkpoint this witness cosigned. Before it cosigns a checkpoint,
the witness checks the log's signature with the log key it pinned on its first cosignature
and that the checkpoint extends its state (same origin; a smaller size is a rollback; the
same size with another root, or a consistency proof that does not verify, is a fork): it
never cosigns two histories. Its directory (default `ledger-witness/`):

    witness.key    PRIVATE+KEY+<name>+<key ID>+<base64(0x04 || seed)>, mode 0600
    state.json     {"format": "sgl-witness-state/v1", "origin", "log_vkey", "size",
                    "root_hash", "note"}: written atomically (temporary file, fsync, rename,
                    fsync of the directory) before the cosignature leaves the witness

    ledger-verify witness init NAME                 the key; prints the verifier key line
    ledger-verify witness register --server URL     registers it (POST /integrity/witnesses)
    ledger-verify witness cosign --server URL       fetch, check, cosign, post
    ledger-verify witness cosign --checkpoint FILE [--proof FILE]   offline: prints the line
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger_verifier.verifier import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    IntegrityError,
    Signer,
    Verifier,
    cosign_checkpoint,
    generate_signer,
    open_checkpoint,
    verify_consistency,
)

STATE_FORMAT = "sgl-witness-state/v1"
Consistency = Callable[[int, int], Sequence[bytes]]  # (from, to) -> the proof


class WitnessRefused(Exception):
    """The checkpoint is not one this witness may cosign (exit 1): a rollback, a fork, a bad
    signature or another log."""


class WitnessError(Exception):
    """The witness cannot run (exit 2): no key, an unreadable state, the server unreachable."""


@dataclass(frozen=True)
class Cosigned:
    """The outcome of one cosigning."""

    checkpoint: Checkpoint
    line: str  # the cosignature/v1 signature line, with its newline
    previous_size: int | None  # the size this witness had cosigned before, if any


def _write_private(path: Path, text: str, *, exclusive: bool = False) -> None:
    """Write atomically: temporary file (0600), fsync, rename (or link, which fails if the
    file exists, when `exclusive`), fsync of the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    try:
        if exclusive:
            os.link(temporary, path)
        else:
            os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class Witness:
    """One witness: its directory, key and state."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.key_path = directory / "witness.key"
        self.state_path = directory / "state.json"

    # ---- the key -------------------------------------------------------------------------
    def init(self, name: str) -> Verifier:
        """Create the witness key (never over an existing one); returns its verifier key."""
        if self.key_path.exists():
            raise WitnessError(f"{self.key_path} exists: a witness keeps its key")
        try:
            skey, vkey = generate_signer(name, COSIGNATURE_V1)
        except IntegrityError as error:
            raise WitnessError(f"{name!r} cannot name a key: {error}") from None
        try:
            _write_private(self.key_path, skey + "\n", exclusive=True)
        except FileExistsError:
            raise WitnessError(f"{self.key_path} exists: a witness keeps its key") from None
        return Verifier.from_vkey(vkey)

    def signer(self) -> Signer:
        try:
            if os.stat(self.key_path).st_mode & 0o077:
                raise WitnessError(f"the witness key {self.key_path} is readable by others: "
                                   "chmod 600 it")
            signer = Signer.from_skey(self.key_path.read_text().strip())
        except OSError as error:
            raise WitnessError(f"no witness key in {self.directory} ({error}): run "
                               "`ledger-verify witness init NAME` first") from None
        except IntegrityError as error:
            raise WitnessError(f"{self.key_path} is not a witness key: {error}") from None
        if signer.key_type != COSIGNATURE_V1:
            raise WitnessError(f"{self.key_path} is not a cosignature/v1 key (type 0x04)")
        return signer

    # ---- the state -----------------------------------------------------------------------
    def state(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise WitnessError(f"the witness state {self.state_path} is unreadable: {error}"
                               ) from None
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise WitnessError(f"{self.state_path} is not a {STATE_FORMAT} file")
        return data

    def _record(self, cp: Checkpoint, note: str, log_vkey: str) -> None:
        _write_private(self.state_path, json.dumps({
            "format": STATE_FORMAT, "origin": cp.origin, "log_vkey": log_vkey,
            "size": cp.size, "root_hash": base64.b64encode(cp.root_hash).decode(),
            "note": note}, indent=2) + "\n")

    # ---- cosigning -----------------------------------------------------------------------
    def cosign(self, note: str, consistency: Consistency | None,
               log_keys: Sequence[Verifier] = (), *, now: int | None = None) -> Cosigned:
        """Check `note` (the log's signed checkpoint, perhaps with others' cosignatures)
        against this witness's state and cosign it. `consistency(old, new)` gives the proof
        from the size last cosigned; it is needed only when the size grew."""
        signer = self.signer()
        state = self.state()
        keys = [k for k in log_keys if k.key_type == ED25519]
        if state is not None:
            pinned = Verifier.from_vkey(state["log_vkey"])
            if keys and pinned not in keys:
                raise WitnessRefused(f"this witness cosigns the log {state['origin']} with key "
                                     f"{pinned.vkey}; it will not change keys (a new key is a "
                                     "new origin: start a new witness directory)")
            keys = [pinned]
        if not keys:
            raise WitnessError("give the log's public key (--public-key) on the first "
                               "cosignature; the witness pins it")
        try:
            cp, opened = open_checkpoint(note, keys)
        except IntegrityError as error:
            raise WitnessRefused(f"the checkpoint does not verify with the log key "
                                 f"{keys[0].name}: {error}") from None
        previous = None
        if state is not None:
            previous = int(state["size"])
            old_root = base64.b64decode(state["root_hash"])
            last = (f"the last checkpoint this witness cosigned (origin {state['origin']}, size "
                    f"{previous}, root {state['root_hash']})")
            this = (f"the checkpoint (origin {cp.origin}, size {cp.size}, root "
                    f"{base64.b64encode(cp.root_hash).decode()})")
            if cp.origin != state["origin"]:
                raise WitnessRefused(f"another log: {this} is not of the origin of {last}")
            if cp.size < previous:
                raise WitnessRefused(f"rollback: {this} is smaller than {last}")
            if cp.size == previous and cp.root_hash != old_root:
                raise WitnessRefused(f"fork: {this} has another root than {last}")
            if cp.size > previous:
                if consistency is None:
                    raise WitnessError(f"a consistency proof from size {previous} to {cp.size} "
                                       "is needed (--proof)")
                try:
                    verify_consistency(previous, cp.size, old_root, cp.root_hash,
                                       list(consistency(previous, cp.size)))
                except IntegrityError as error:
                    raise WitnessRefused(f"fork: {this} is not an extension of {last}: "
                                         f"{error}") from None
        body = opened.text
        line = cosign_checkpoint(body, signer, int(time.time()) if now is None else now)
        log_vkey = state["log_vkey"] if state is not None else keys[0].vkey
        if previous is None or cp.size > previous:  # before the line leaves the witness
            self._record(cp, note, log_vkey)
        return Cosigned(cp, line, previous)


# ---- over HTTP (urllib) ------------------------------------------------------------------

class Server:
    """The ledger's integrity API, as a witness uses it."""

    def __init__(self, base: str, token: str | None, timeout: float = 30) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method: str, path: str, body: Any = None,
                 accept: str = "application/json") -> tuple[int, bytes]:
        headers = {"Accept": accept}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, headers=headers,
                                         method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            raise WitnessError(f"the server {self.base} cannot be reached: {error}") from None

    def _ok(self, method: str, path: str, body: Any = None, accept: str = "application/json",
            allowed: Sequence[int] = (200, 201)) -> tuple[int, bytes]:
        status, content = self._request(method, path, body, accept)
        if status not in allowed:
            raise WitnessError(f"{method} {path}: HTTP {status}: "
                               f"{content.decode(errors='replace')[:500]}")
        return status, content

    def latest_note(self) -> str:
        return self._ok("GET", "/integrity/checkpoints/latest", accept="text/plain")[1].decode()

    def consistency(self, first: int, second: int) -> list[bytes]:
        query = urllib.parse.urlencode({"from": first, "to": second})
        answer = json.loads(self._ok("GET", f"/integrity/proofs/consistency?{query}")[1])
        return [base64.b64decode(h, validate=True) for h in answer["consistency_path"]]

    def register(self, vkey: str) -> int:
        return self._ok("POST", "/integrity/witnesses", {"vkey": vkey},
                        allowed=(201, 409))[0]

    def post_cosignature(self, size: int, line: str) -> int:
        """201 when added; 409 when this witness had already cosigned that size."""
        return self._ok("POST", f"/integrity/checkpoints/{size}/cosignatures",
                        {"signature": line.rstrip("\n")}, allowed=(201, 409))[0]


def cosign_online(witness: Witness, server: Server, log_keys: Sequence[Verifier] = (), *,
                  now: int | None = None) -> tuple[Cosigned, int]:
    """Fetch the latest checkpoint and, if it grew, the consistency proof from the last one
    this witness cosigned; check both against the state; cosign; post. Returns the outcome and
    the server's status (201 added, 409 already there)."""
    done = witness.cosign(server.latest_note(), server.consistency, log_keys, now=now)
    return done, server.post_cosignature(done.checkpoint.size, done.line)


def read_proof(path: Path) -> list[bytes]:
    """A consistency proof: the JSON answer of GET /integrity/proofs/consistency, or one
    base64 hash per line."""
    try:
        text = path.read_text()
    except OSError as error:
        raise WitnessError(f"cannot read {path}: {error}") from None
    try:
        hashes = (json.loads(text)["consistency_path"] if text.lstrip().startswith("{")
                  else text.split())
        return [base64.b64decode(h, validate=True) for h in hashes]
    except (ValueError, KeyError, TypeError) as error:
        raise WitnessError(f"{path} is not a consistency proof: {error}") from None
