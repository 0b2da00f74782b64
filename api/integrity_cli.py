"""`ledger init`, `ledger checkpoint`, `ledger export`, `ledger verify`, `ledger verify-proof`.

`verify BUNDLE` and `verify-proof` need no service: they are the standalone verifier's
`ledger-verify bundle` and `ledger-verify proof` (ledger_verifier/cli.py), which a scrutineer
installs alone; `verify --live` reads the database. Exit codes: 0 verified, 1 verification
failed, 2 the command could not run.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from api.cli_common import err, fail, operator, out, services, settings
from ledger_verifier import bundle
from ledger_verifier import cli as standalone
from ledger_verifier.leaf import LeafError
from ledger_verifier.verifier import Verifier

T = TypeVar("T")

KeyOption = Annotated[list[str], typer.Option(
    "--public-key", help="the log's note verifier key, or a file holding it (repeatable; "
                         "also witness keys)")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    return fail(message, code)  # here 2: the command could not run


@contextmanager
def _refusals() -> Iterator[None]:
    """Whatever stops an integrity command is a message and a non-zero exit, never a
    traceback: a refusal by a rule or by the integrity checks (the log was changed, the
    signer will not sign a fork) is exit 1; a part that cannot work (the Merkle log stopped,
    an unreadable state file or key, the store) is exit 2."""
    from api.errors import ServiceUnavailable
    from api.integrity_keys import KeyFileError
    from api.signer_state import SignerStateError
    from domain.errors import DomainError
    from ledger_verifier.verifier import IntegrityError
    from projections.merkle_log import MerkleLogError

    try:
        yield
    except typer.Exit:
        raise
    except DomainError as error:
        raise _fail(error.detail, 1) from None
    except IntegrityError as error:
        raise _fail(str(error), 1) from None
    except (ServiceUnavailable, MerkleLogError, SignerStateError, KeyFileError) as error:
        raise _fail(str(error), 2) from None
    except (LeafError, OSError) as error:
        raise _fail(f"{type(error).__name__}: {error}", 2) from None


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.completed:,}/{task.total:,}"), TimeElapsedColumn(),
                    console=err, transient=True, disable=not err.is_terminal)


def _standalone(step: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a step of the standalone verifier's command (ledger_verifier/cli.py, the one
    implementation of `verify BUNDLE` and `verify-proof`); what stops it is exit 2 here too."""
    try:
        return step(*args, **kwargs)
    except standalone.CannotRun as error:
        raise _fail(str(error)) from None


def read_keys(values: list[str]) -> list[Verifier]:
    return _standalone(standalone.read_keys, values)


def read_state(path: Path | None, origin: str, earlier: Sequence[str] = ()
               ) -> bundle.Target | None:
    return _standalone(standalone.read_state, path, origin, earlier)


def register(app: typer.Typer) -> None:
    """Add the integrity commands to the `ledger` CLI."""
    app.command("init")(init)
    app.command("checkpoint")(checkpoint)
    app.command("export")(export)
    app.command("verify")(verify)
    app.command("verify-proof")(verify_proof)
    app.command("rotate-key")(rotate_key)
    app.command("merkle-rebuild")(merkle_rebuild)
    app.command("witness", context_settings={"allow_extra_args": True,
                                             "ignore_unknown_options": True,
                                             "help_option_names": []})(witness)


def init() -> None:
    """Create the log's signing key (if absent), guard the PostgreSQL events table, build the
    Merkle log, check it extends the last checkpoint this key signed, and open the integrity
    log."""
    with services(views=False) as opened, _refusals():
        service = opened.integrity
        if service.key_created:
            out.print(f"[green]created[/green] the log key {opened.settings.key_file} (mode "
                      "0600): back it up offline; the database never holds it")
        else:
            out.print(f"the log key {opened.settings.key_file} exists")
        out.print(f"origin      {service.origin}")
        out.print(f"public key  {service.vkey}")
        out.print(f"fingerprint {bundle.key_fingerprint(service.vkey)}")
        if service.guarded:
            out.print("PostgreSQL: the events table now refuses UPDATE, DELETE and TRUNCATE "
                      "(a superuser can still bypass it; the evidence is the checkpoints "
                      "held outside the service)")
        with _progress() as bar:
            task = bar.add_task("Merkle log", total=service.ledger.head_position())
            size = service.merkle.catch_up(
                progress=lambda done, total: bar.update(task, completed=done, total=total))
        # Before anything is written: a key that signed before must find its history here.
        last = service.signer_state.check_tree(service.merkle)
        if last is not None:
            out.print(f"the Merkle log extends the last checkpoint this key signed "
                      f"({last.describe()})")
        if service.integrity_log() is None:
            service.ledger.open_integrity_log(operator(), origin=service.origin,
                                              signer=service.signer)
            out.print(f"opened the integrity log {service.origin}")
            size = service.merkle.catch_up()
        out.print(f"Merkle log: {size} leaves")


def checkpoint(reason: Annotated[str, typer.Option(help="why a checkpoint now")]) -> None:
    """Sign and record a checkpoint of the log as it is now (as the operator)."""
    with services(views=False) as opened, _refusals():
        made = opened.integrity.make_checkpoint(operator(), reason=reason)
    sys.stdout.write(made.checkpoint.note)


def rotate_key(
    new_origin: Annotated[str, typer.Argument(help="the new log's origin (a new key name)")],
    new_key: Annotated[Path, typer.Option(help="where to create the new key file")],
    reason: Annotated[str, typer.Option(help="why the key is rotated (recorded)")],
    rebuilt: Annotated[bool, typer.Option(
        "--rebuilt", help="the old log cannot be extended (it had to be rebuilt): start the "
                          "new origin without a final checkpoint of the old one")] = False,
) -> None:
    """Rotate the signing key: a final checkpoint of the old log, a new key, and a new log
    (new origin) whose first entry records the old log's final checkpoint. With --rebuilt,
    a new origin is started deliberately for a log that no longer extends what the old key
    signed: no final checkpoint (the old key refuses one), a new log with no predecessor;
    the old key's state file keeps what it last signed."""
    from api.integrity_keys import load_or_create_signer

    if new_key.exists():
        raise _fail(f"{new_key} already exists: choose a path for a new key")
    with services(views=False) as opened, _refusals():
        service = opened.integrity
        if rebuilt:
            last = service.signer_state.read()
            signer, _ = load_or_create_signer(new_key, new_origin)
            service.ledger.open_integrity_log(operator(), origin=new_origin, signer=signer)
            service.settle()
            if last is not None:
                out.print(f"the old key last signed {last.describe()}; publish that this log "
                          f"was rebuilt, and why: '{reason}'")
        else:
            service.make_checkpoint(operator(),
                                    reason=f"final checkpoint before rotation: {reason}")
            signer, _ = load_or_create_signer(new_key, new_origin)
            service.ledger.rotate_log(operator(), origin=service.origin, new_signer=signer,
                                      reason=reason)
            service.settle()
    out.print(f"rotated {service.origin} -> {new_origin}")
    out.print(f"new public key  {signer.verifier.vkey}")
    out.print(f"Now set LEDGER_INTEGRITY_ORIGIN={new_origin} and "
              f"LEDGER_INTEGRITY_KEY_PATH={new_key}, restart, and publish the new key. "
              "Keep the old public key: the old log's checkpoints still verify with it.")


def witness(ctx: typer.Context) -> None:
    """A scrutineer's witness kit: `ledger witness init NAME | register | cosign ...`, the
    standalone verifier's `ledger-verify witness` (ledger_verifier/witness.py), which needs
    nothing of the service."""
    try:
        code = standalone.main(["witness", *ctx.args])
    except SystemExit as stop:  # argparse: --help, or a usage error
        code = stop.code if isinstance(stop.code, int) else 2
    if code:
        raise typer.Exit(code)


def merkle_rebuild() -> None:
    """Rebuild the Merkle log's node table (the proof cache) from the events, after `ledger
    verify --live` found a corrupt node. Refused if an event no longer matches its leaf: that
    is a changed history, not a corrupt cache."""
    with services(views=False, integrity=False, merkle=True) as opened, _refusals():
        merkle = opened.merkle
        with _progress() as bar:
            task = bar.add_task("Nodes", total=merkle.tree_size())
            written = merkle.rebuild_nodes(
                progress=lambda done, total: bar.update(task, completed=done, total=total))
        size = merkle.tree_size()
        out.print(f"rebuilt {written} nodes of the Merkle log from its {size} leaves, each "
                  f"checked against its event; root {base64.b64encode(merkle.root(size)).decode() if size else '-'}")


def export(path: Annotated[Path, typer.Argument(help="the bundle file to write ('-': stdout)")]
           ) -> None:
    """Write the whole log as an sgl-bundle/v1 export (streamed, constant memory)."""
    with services(views=False) as opened, _refusals():
        service = opened.integrity
        head = service.ledger.head_position()
        target = sys.stdout.buffer if str(path) == "-" else path.open("wb")
        count = 0
        with _progress() as bar:
            task = bar.add_task("Exporting", total=head)
            for line in service.export_lines():
                target.write(line)
                if line.startswith(b"e "):
                    count += 1
                    if not count & 0x3FFF:
                        bar.update(task, completed=count)
        if target is not sys.stdout.buffer:
            target.close()
            err.print(f"exported {count} events to {path}")


def verify(
    bundle_path: Annotated[Path | None, typer.Argument(
        metavar="BUNDLE", help="an export bundle (omit with --live)")] = None,
    public_key: KeyOption = [],  # noqa: B006 - typer reads the default
    checkpoint: Annotated[list[Path], typer.Option(
        "--checkpoint", help="a checkpoint note you trust (e.g. from Board minutes); "
                             "repeatable")] = [],  # noqa: B006
    state: Annotated[Path | None, typer.Option(
        help="remembers the last accepted checkpoint; a later rollback or fork is refused"
    )] = None,
    live: Annotated[bool, typer.Option(
        "--live", help="check the configured database instead of a bundle")] = False,
    min_cosignatures: Annotated[int, typer.Option(
        help="witness cosignatures each --checkpoint must carry")] = 0,
    jobs: Annotated[int, typer.Option(
        help="processes for a bundle (0: one per CPU; 1: the single-process reference)")] = 0,
) -> None:
    """Re-hash every event and check it against every signed checkpoint."""
    if live == (bundle_path is not None):
        raise _fail("give a BUNDLE, or --live (not both)")
    trusted = [p.read_text() for p in checkpoint]
    if live:
        verdict, origin, previous = _verify_live(public_key, trusted, state)
    else:
        assert bundle_path is not None
        with _progress() as bar:
            task = bar.add_task("Verifying", total=None)
            verdict, origin, previous = _standalone(
                standalone.verify_bundle, bundle_path, public_key, trusted=trusted, state=state,
                min_cosignatures=min_cosignatures, jobs=jobs,
                progress=lambda done, total: bar.update(task, completed=done, total=total))
    _finish(verdict, state, origin, previous)


def _verify_live(public_key: list[str], trusted: list[str], state_path: Path | None
                 ) -> tuple[bundle.Verdict, str, bundle.Target | None]:
    from api.integrity_keys import load_signer
    from projections.integrity import earlier_logs, verify_live

    config = settings()
    origin = config.integrity_origin
    if public_key:
        keys = read_keys(public_key)
    elif config.key_file.exists():  # the server's own key: say that it is not independent
        keys = [load_signer(config.key_file, origin).verifier]
        err.print("[yellow]note:[/yellow] using the server's own key file; give --public-key "
                  "to check against a key you hold independently")
    else:
        raise _fail("no --public-key given and no key file configured")
    previous = None
    with services(views=False, integrity=False, merkle=True) as opened:  # no key, no guard
        ledger, merkle = opened.ledger, opened.merkle
        try:
            log = ledger.get_integrity_log(origin)
        except Exception as error:  # noqa: BLE001 - no log, or its events cannot be read
            from domain.errors import NotFound

            if not isinstance(error, NotFound):
                return (bundle.Verdict(False, f"the checkpoints cannot be read: {error}",
                                       bundle.Kind.MALFORMED), origin, previous)
            log = None
        previous = read_state(state_path, origin,
                              [older.origin for older in earlier_logs(ledger, log)])
        try:
            verdict = verify_live(ledger, merkle, log, origin, keys, trusted=trusted,
                                  state=previous)
        except (LeafError, ValueError, TypeError) as error:
            verdict = bundle.Verdict(False, f"a stored event cannot be read: {error}",
                                     bundle.Kind.MALFORMED)
    return verdict, origin, previous


def _finish(verdict: bundle.Verdict, state: Path | None, origin: str,
            previous: bundle.Target | None) -> None:
    if code := standalone.finish(verdict, state, origin, previous):
        raise typer.Exit(code)


def verify_proof(
    path: Annotated[Path, typer.Argument(help="a c2sp.org/tlog-proof@v1 file")],
    public_key: KeyOption = [],  # noqa: B006
    min_cosignatures: Annotated[int, typer.Option(
        help="witness cosignatures the checkpoint must carry")] = 0,
) -> None:
    """Check one event's tlog-proof offline: the signed checkpoint, the inclusion of the
    event's leaf bytes, and that those bytes are a ledger event."""
    if code := _standalone(standalone.verify_proof, path, public_key,
                           min_cosignatures=min_cosignatures):
        raise typer.Exit(code)
