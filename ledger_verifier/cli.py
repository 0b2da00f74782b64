"""`ledger-verify`: check an export bundle or one event's proof file offline.

    ledger-verify bundle BUNDLE --public-key KEY [--checkpoint FILE ...] [--state FILE]
    ledger-verify proof FILE --public-key KEY
    ledger-verify witness init NAME | register | cosign   (ledger_verifier/witness.py)

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

from ledger_verifier import bundle, parallel, witness
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

    kit = commands.add_parser("witness", help="your own witness key: cosign the log's "
                              "checkpoints, never two histories")
    kit_commands = kit.add_subparsers(dest="witness_command", required=True)
    where = {"type": Path, "default": Path("ledger-witness"),
             "help": "the witness's directory: its key and state (default ledger-witness/)"}
    server_help = "the ledger's base URL, e.g. https://ledger.example"
    token_help = "your bearer token (default: $LEDGER_TOKEN)"
    made = kit_commands.add_parser("init", help="create the witness key; prints the verifier "
                                   "key line to register")
    made.add_argument("name", help="the witness's name (no spaces, no '+')")
    made.add_argument("--dir", **where)
    registered = kit_commands.add_parser("register", help="register the witness key with the "
                                         "ledger (POST /integrity/witnesses)")
    registered.add_argument("--server", required=True, help=server_help)
    registered.add_argument("--token", help=token_help)
    registered.add_argument("--dir", **where)
    cosign = kit_commands.add_parser("cosign", help="check the latest checkpoint against what "
                                     "this witness cosigned before, then cosign it")
    source = cosign.add_mutually_exclusive_group(required=True)
    source.add_argument("--server", help=server_help + ": fetch the latest checkpoint and the "
                        "consistency proof, post the cosignature")
    source.add_argument("--checkpoint", type=Path, help="offline: a checkpoint note file; the "
                        "cosignature line is printed")
    cosign.add_argument("--proof", type=Path, help="offline: the consistency proof from the "
                        "size last cosigned (the JSON of GET /integrity/proofs/consistency, or "
                        "one base64 hash per line)")
    cosign.add_argument("--public-key", action="append", default=[],
                        help="the log's public key (needed once: the witness pins it)")
    cosign.add_argument("--token", help=token_help)
    cosign.add_argument("--dir", **where)
    return top


def witness_main(args: argparse.Namespace) -> int:
    """`ledger-verify witness ...`: 0 done, 1 refused (a fork, a rollback, a bad signature),
    2 could not run."""
    kit = witness.Witness(args.dir)
    token = getattr(args, "token", None) or os.environ.get("LEDGER_TOKEN")
    try:
        if args.witness_command == "init":
            vkey = kit.init(args.name).vkey
            print(f"created the witness key {kit.key_path} (mode 0600); keep it, back it up")
            print("register this verifier key with the ledger (`ledger-verify witness register "
                  "--server URL`, or POST /integrity/witnesses {\"vkey\": ...}):")
            print(vkey)
            return 0
        if args.witness_command == "register":
            status = witness.Server(args.server, token).register(kit.signer().verifier.vkey)
            print("registered" if status == 201 else "already registered",
                  kit.signer().verifier.vkey)
            return 0
        keys = read_keys(args.public_key) if args.public_key else []
        if args.server:
            done, status = witness.cosign_online(kit, witness.Server(args.server, token), keys)
        else:
            try:
                note = args.checkpoint.read_text()
            except (OSError, UnicodeDecodeError) as error:
                raise CannotRun(f"cannot read {args.checkpoint}: {error}") from None
            proof = witness.read_proof(args.proof) if args.proof else None
            done = kit.cosign(note, None if proof is None else lambda _a, _b: proof, keys)
            status = 0
    except witness.WitnessRefused as error:
        print(f"REFUSED: {error}", file=sys.stderr)
        return 1
    except witness.WitnessError as error:
        raise CannotRun(str(error)) from None
    cp = done.checkpoint
    since = ("its first cosignature" if done.previous_size is None
             else f"consistent with size {done.previous_size}")
    if args.server:
        posted = "posted" if status == 201 else "already posted"
        print(f"cosigned {cp.origin} size {cp.size} ({since}); {posted}")
    else:
        print(f"cosigned {cp.origin} size {cp.size} ({since}); the line:", file=sys.stderr)
        sys.stdout.write(done.line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "witness":
            return witness_main(args)
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
