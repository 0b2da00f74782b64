"""`ledger-verify`: check an export bundle or one event's proof file offline.

    ledger-verify bundle BUNDLE --public-key KEY [--checkpoint FILE ...] [--state FILE]
    ledger-verify proof FILE --public-key KEY

Given the log's public key (and any checkpoints the scrutineer holds), it runs the checks of
bundle.py and nothing else: no service, no database. The service's `ledger verify BUNDLE` and
`ledger verify-proof FILE` call the functions below. Exit codes: 0 verified, 1 verification
failed, 2 the command could not run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ledger_verifier import bundle, parallel
from ledger_verifier.leaf import LeafError
from ledger_verifier.verifier import IntegrityError, Verifier

Progress = Callable[[int, int | None], None]  # (events done, events expected)


class CannotRun(Exception):
    """The command could not run (exit 2): a missing, unreadable or malformed input."""


def read_keys(values: Sequence[str]) -> list[Verifier]:
    """Verifier keys, each given as a key or a file of keys (one per line)."""
    keys = []
    for value in values:
        text = Path(value).read_text() if os.path.isfile(value) else value
        for line in text.split():
            try:
                keys.append(Verifier.from_vkey(line))
            except IntegrityError as error:
                raise CannotRun(f"{value!r} is not a verifier key: {error}") from None
    if not keys:
        raise CannotRun("give the log's public key with --public-key (GET /integrity/public-key)")
    return keys


def read_state(path: Path | None, origin: str, earlier: Sequence[str] = ()
               ) -> bundle.Target | None:
    """The checkpoint an earlier run accepted: of this log, or of it under an earlier key
    (the same tree: a rotation changes the key, not the events)."""
    if path is None or not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        if data.get("origin") not in (origin, *earlier):
            raise CannotRun(f"state file {path} is for origin {data.get('origin')!r}, "
                            f"not {origin!r}")
        return bundle.state_target(data)
    except (ValueError, KeyError, TypeError) as error:
        raise CannotRun(f"state file {path} is unreadable: {error}") from None


def write_state(path: Path | None, origin: str, verdict: bundle.Verdict,
                previous: bundle.Target | None) -> None:
    """Remember the largest checkpoint accepted, never a smaller one."""
    if path is None or verdict.latest is None:
        return
    if previous is not None and previous.size >= verdict.latest.size:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(bundle.state_data(origin, verdict.latest), indent=2) + "\n")
    os.replace(tmp, path)


def bundle_header(path: Path) -> dict[str, Any]:
    """The bundle's header as far as it parses (the verifier reports a malformed one)."""
    try:
        with path.open("rb") as f:
            f.readline()
            header = json.loads(f.readline()[2:] or b"{}")
        return header if isinstance(header, dict) else {}
    except OSError as error:
        raise CannotRun(f"cannot read {path}: {error}") from None
    except ValueError:
        return {}


def verify_bundle(path: Path, public_keys: Sequence[str], *, trusted: Sequence[str] = (),
                  state: Path | None = None, min_cosignatures: int = 0, jobs: int = 0,
                  progress: Progress | None = None
                  ) -> tuple[bundle.Verdict, str, bundle.Target | None]:
    """Verify an export bundle against its checkpoints, the `trusted` checkpoint notes and the
    state file's checkpoint; returns the verdict, the bundle's origin and that checkpoint."""
    keys = read_keys(public_keys)
    header = bundle_header(path)
    origin = str(header.get("origin", ""))
    try:
        earlier = bundle.earlier_origins(header)
    except bundle.Failure:
        earlier = []  # the verifier reports the malformed header
    previous = read_state(state, origin, earlier)
    total = header.get("head_position")
    verdict = parallel.verify_file(
        path, keys, trusted=trusted, state=previous, min_cosignatures=min_cosignatures,
        jobs=jobs or None,
        progress=None if progress is None else lambda done: progress(done, total))
    return verdict, origin, previous


def finish(verdict: bundle.Verdict, state: Path | None, origin: str,
           previous: bundle.Target | None) -> int:
    """Print the verdict (stdout if verified, stderr if not), remember an accepted checkpoint
    in the state file; returns the exit code."""
    print(verdict.report(), file=sys.stdout if verdict.ok else sys.stderr)
    if not verdict.ok:
        return 1
    write_state(state, origin, verdict, previous)
    return 0


def verify_proof(path: Path, public_keys: Sequence[str], *, min_cosignatures: int = 0) -> int:
    """Check one event's tlog-proof: the signed checkpoint, the inclusion of the event's leaf
    bytes, and that those bytes are a ledger event. Prints the result; returns the exit code."""
    keys = read_keys(public_keys)
    try:
        result = bundle.verify_proof_text(path.read_text(), keys,
                                          min_cosignatures=min_cosignatures)
    except (IntegrityError, LeafError) as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    except (OSError, UnicodeDecodeError) as error:
        raise CannotRun(f"cannot read {path}: {error}") from None
    cp = result.checkpoint
    print(f"OK: the event at position {result.position} (leaf {result.index}: "
          f"{result.topic}, aggregate {result.aggregate_id} version {result.version}) is "
          f"in the log {cp.origin} of size {cp.size} whose signed root is "
          f"{base64.b64encode(cp.root_hash).decode()}")
    return 0


def read_notes(paths: Sequence[Path]) -> list[str]:
    """The checkpoint notes the scrutineer holds."""
    try:
        return [p.read_text() for p in paths]
    except (OSError, UnicodeDecodeError) as error:
        raise CannotRun(f"cannot read a checkpoint: {error}") from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="ledger-verify", description="Verify the safeguarding ledger's export bundles and "
        "proof files offline. Exit codes: 0 verified, 1 verification failed, 2 could not run.")
    commands = top.add_subparsers(dest="command", required=True)
    key_help = ("the log's note verifier key, or a file holding it (repeatable; also witness "
                "keys)")

    check = commands.add_parser("bundle", help="re-hash every event of an export bundle and "
                                "check it against every signed checkpoint")
    check.add_argument("bundle", type=Path, metavar="BUNDLE", help="an export bundle")
    check.add_argument("--public-key", action="append", default=[], help=key_help)
    check.add_argument("--checkpoint", action="append", default=[], type=Path,
                       help="a checkpoint note you trust (e.g. from Board minutes); repeatable")
    check.add_argument("--state", type=Path, help="remembers the last accepted checkpoint; a "
                       "later rollback or fork is refused")
    check.add_argument("--min-cosignatures", type=int, default=0,
                       help="witness cosignatures each --checkpoint must carry")
    check.add_argument("--jobs", type=int, default=0, help="processes (0: one per CPU; 1: the "
                       "single-process reference)")

    proof = commands.add_parser("proof", help="check one event's tlog-proof file")
    proof.add_argument("proof", type=Path, metavar="FILE",
                       help="a c2sp.org/tlog-proof@v1 file")
    proof.add_argument("--public-key", action="append", default=[], help=key_help)
    proof.add_argument("--min-cosignatures", type=int, default=0,
                       help="witness cosignatures the checkpoint must carry")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "proof":
            return verify_proof(args.proof, args.public_key,
                                min_cosignatures=args.min_cosignatures)
        verdict, origin, previous = verify_bundle(
            args.bundle, args.public_key, trusted=read_notes(args.checkpoint),
            state=args.state, min_cosignatures=args.min_cosignatures, jobs=args.jobs)
        return finish(verdict, args.state, origin, previous)
    except CannotRun as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
