"""What every `ledger` command shares: the consoles, the operator it acts as, a refusal as a
message and an exit code, this invocation's settings (read once), and the parts it needs,
opened through the composition root. The command modules import this, never each other."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from api.settings import Settings
from domain.actors import Actor, Role
from domain.application import Context

if TYPE_CHECKING:
    from api.composition import Services

out = Console(soft_wrap=True)
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def operator() -> Context:
    """The CLI acts as the operator: the OS user on the server, named in the record."""
    return Context(Actor(user_id=f"operator:{getpass.getuser()}", role=Role.OPERATOR,
                         name=getpass.getuser()))


_invocation: ContextVar[dict[str, Settings] | None] = ContextVar("ledger_cli", default=None)


def begin(ctx: typer.Context) -> None:
    """Start one invocation of `ledger` (the app's callback): its settings are read afresh,
    once, when a command first asks for them."""
    token = _invocation.set({})
    ctx.call_on_close(lambda: _invocation.reset(token))


def settings() -> Settings:
    """This invocation's settings: read from the environment once, on first use (a command
    that needs none never reads them); a bad value is a message and exit code 2."""
    cache = _invocation.get()
    if cache is not None and "settings" in cache:
        return cache["settings"]
    try:
        read = Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"LEDGER_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" if e["loc"]
            else str(e["msg"]) for e in error.errors())
        raise fail(f"the configuration is invalid: {problems}", code=2) from None
    if cache is not None:
        cache["settings"] = read
    return read


@contextmanager
def services(*, worker: bool = False, **parts: Any) -> Iterator[Services]:
    """open_services(settings(), **parts): only the parts this command needs, closed in
    reverse order when it ends. A part that cannot open (a bad key file, the store out of
    reach) is a message and exit code 2, not a traceback. worker: the projection worker's
    small pools (Settings.for_worker)."""
    from api.composition import open_services
    from api.integrity_keys import KeyFileError

    with ExitStack() as stack:
        try:
            chosen = settings().for_worker() if worker else settings()
            opened = stack.enter_context(open_services(chosen, **parts))
        except KeyFileError as error:
            raise fail(str(error), code=2) from None
        except Exception as error:
            if not _unreachable(error):
                raise
            raise fail(f"the store cannot be reached: {error}", code=2) from None
        yield opened


def _unreachable(error: BaseException) -> bool:
    from eventsourcing.persistence import OperationalError

    if isinstance(error, OperationalError | ConnectionError):
        return True
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(error, psycopg.OperationalError)
