"""Running a command over HTTP: idempotent replay, the ETag, and the log position."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api.observability import COMMANDS, CURRENT_SCOPE, EVENTS_APPENDED
from domain.application import Context, LedgerCore, Outcome
from domain.errors import ConcurrentWrite, DomainError

A = TypeVar("A")


def as_left(outcome: Outcome, load: Callable[..., A]) -> A:
    """The record as the command left it: the aggregate it just saved, or for a replay the
    record loaded at the outcome's version (the same state, so the same answer)."""
    if outcome.saved is not None:
        return outcome.saved  # type: ignore[return-value]
    return load(outcome.id, version=outcome.version)


def etag(version: int) -> str:
    return f'"{version}"'


def run_command(
    ledger: LedgerCore, ctx: Context, command: Callable[[], Outcome],
    render: Callable[[Outcome], Any], *, status: int = 200,
    location: Callable[[Outcome], str] | None = None,
) -> JSONResponse:
    """Run the command once per Idempotency-Key; a retry gets the first response again.

    The response body is the record as it stood right after the command (`as_left`), so a
    replay is byte-for-byte the first answer."""
    name = command_name()
    try:
        outcome = _run(ledger, ctx, command)
    except DomainError as error:
        COMMANDS.labels(name, f"refused_{error.status}").inc()
        raise
    except Exception:
        COMMANDS.labels(name, "failed").inc()
        raise
    COMMANDS.labels(name, "replayed" if outcome.replayed else "recorded").inc()
    if outcome.events:
        EVENTS_APPENDED.inc(outcome.events)
    position = outcome.position or ledger.positions_of(outcome.id).get(outcome.version, 0)
    headers = {"ETag": etag(outcome.version), "X-Ledger-Position": str(position)}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    if location is not None:
        headers["Location"] = location(outcome)
    return JSONResponse(jsonable_encoder(render(outcome)), status_code=status, headers=headers)


def _run(ledger: LedgerCore, ctx: Context, command: Callable[[], Outcome]) -> Outcome:
    outcome = ledger.replay_idempotent(ctx.actor, ctx.idempotency) if ctx.idempotency else None
    if outcome is None:
        try:
            outcome = command()
        except ConcurrentWrite:
            # Two retries with one key can race: the loser answers with the winner's result.
            if ctx.idempotency is None:
                raise
            outcome = ledger.replay_idempotent(ctx.actor, ctx.idempotency)
            if outcome is None:
                raise
    return outcome


def command_name() -> str:
    """The command's name for the metrics: its route's name (e.g. report_progress)."""
    scope = CURRENT_SCOPE.get()
    route = scope.get("route") if scope else None
    return getattr(route, "name", None) or "unknown"
