"""The `ledger` command: serve, demo data, users and tokens, the projection worker and its
views (and, from api/integrity_cli.py, the integrity commands). Each command opens only the
parts it needs through the composition root (api/cli_common.services). Errors print a message
and exit non-zero; a refused command writes nothing."""

from __future__ import annotations

import sys
from typing import Annotated
from uuid import UUID

import typer
from rich.table import Table

from api.cli_common import begin, fail, operator, out, services, settings
from api.integrity_cli import register as register_integrity_commands
from api.protection_cli import register as register_protection_commands
from api.reveal import reveal_with
from api.settings import ProjectionMode
from domain.actors import ROLES_PREAMBLE, USER_ROLES, render_roles_table
from domain.errors import DomainError

app = typer.Typer(help="The safeguarding accountability ledger.", no_args_is_help=True)
users_app = typer.Typer(help="Users and their tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")
views_app = typer.Typer(help="Projection (read model) operations.", no_args_is_help=True)
app.add_typer(views_app, name="projections")
docs_app = typer.Typer(help="Documentation generated from the code.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")
report_app = typer.Typer(help="Reports built from the views.", no_args_is_help=True)
app.add_typer(report_app, name="report")
import_app = typer.Typer(help="Bring existing records in.", no_args_is_help=True)
app.add_typer(import_app, name="import")
register_integrity_commands(app)  # init, checkpoint, export, verify, verify-proof, rotate-key
register_protection_commands(app)  # erase, retention, keys reconcile


@app.callback()
def start(ctx: typer.Context) -> None:
    begin(ctx)  # settings are read once per invocation, when a command first needs them


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Serve the API and dashboard."""
    import uvicorn

    if workers > 1 and settings().projections is ProjectionMode.IN_PROCESS:
        raise fail("several workers need LEDGER_PROJECTIONS=external and a `ledger project` "
                   "process (in-process projections would race on one tracking table)")
    # Slow clients cannot hold a worker: an idle keep-alive connection is closed after 5 s,
    # headers must be complete within LEDGER_HEADER_TIMEOUT (api/server.py), and h11
    # refuses a request whose headers exceed 16 KB (uvicorn's h11 limit). Bodies
    # are bounded by the app (LEDGER_MAX_REQUEST_BODY, api/edge.py). Access logs are the
    # app's own JSON lines, without query strings (api/observability.py).
    from api.server import BoundedH11Protocol

    uvicorn.run("api.asgi:app_factory", factory=True, host=host, port=port, workers=workers,
                http=BoundedH11Protocol, timeout_keep_alive=5,
                h11_max_incomplete_event_size=16 * 1024, timeout_graceful_shutdown=10,
                access_log=False)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="display name")],
    role: Annotated[str, typer.Option(help=", ".join(r.value for r in USER_ROLES))],
    agency: Annotated[str | None, typer.Option(help="agency id (agency leads only)")] = None,
) -> None:
    """Register a user and print a token for them (shown once)."""
    try:
        agency_id = UUID(agency) if agency else None
    except ValueError:
        raise fail(f"--agency {agency!r} is not an agency id") from None
    with services(views=False, integrity=False) as opened:
        try:
            user = opened.ledger.register_user(operator(), name=name, role=role,
                                               agency_id=agency_id)
            issued = opened.ledger.issue_token(operator(), user.id)
        except DomainError as error:
            raise fail(error.detail) from None
    out.print(f"user {user.id} ({role})")
    out.print(f"token {issued.token_id}: {issued.token}")
    out.print("[yellow]The token is shown once; only its hash is stored.[/yellow]")


def _user_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise fail(f"{value!r} is not a user id") from None


@users_app.command("revoke")
def users_revoke(
    user_id: Annotated[str, typer.Argument()], token_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option(help="why it is revoked")],
) -> None:
    """Revoke one of a user's tokens."""
    user = _user_id(user_id)
    with services(views=False, integrity=False) as opened:
        try:
            opened.ledger.revoke_token(operator(), user, token_id=token_id, reason=reason)
        except DomainError as error:
            raise fail(error.detail) from None
    out.print(f"token {token_id} of user {user_id} revoked")


@users_app.command("link")
def users_link(
    user_id: Annotated[str, typer.Argument(help="the user who will sign in")],
    base_url: Annotated[str, typer.Option(help="where people reach the pages")] = (
        "http://127.0.0.1:8000"),
) -> None:
    """Issue a one-time sign-in link for a named user (expires after
    LEDGER_SIGN_IN_LINK_HOURS; recorded as the user's SignInLinkIssued event)."""
    from datetime import timedelta

    user = _user_id(user_id)
    with services(views=False, integrity=False) as opened:
        try:
            link = opened.ledger.issue_sign_in_link(
                operator(), user, lifetime=timedelta(hours=settings().sign_in_link_hours))
        except DomainError as error:
            raise fail(error.detail) from None
    out.print(f"{base_url.rstrip('/')}/sign-in/link/{link.user_id}/{link.secret}")
    out.print(f"[yellow]Works once, until {link.expires_at:%Y-%m-%d %H:%M} UTC; "
              "only its hash is stored.[/yellow]")


@app.command()
def pack(
    out_file: Annotated[str, typer.Option("--out", help="the PDF to write")],
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="the ledger as it stood then: a date (end of that day, UTC) or an ISO "
                        "date and time; default: now")] = None,
    partnership: Annotated[str | None, typer.Option(
        help="only this partnership's agencies and reviews")] = None,
) -> None:
    """Write the Board pack as PDF (the same as GET /board/pack.pdf)."""
    from datetime import UTC, datetime, time

    from api.routes.pack import pack_context, render_pack_pdf
    from api.web import Page, When

    moment = None
    if as_of:
        try:
            moment = (datetime.fromisoformat(as_of) if "T" in as_of or " " in as_of
                      else datetime.combine(datetime.fromisoformat(as_of).date(),
                                            time(23, 59, 59)))
        except ValueError:
            raise fail(f"--as-of {as_of!r} is not a date or an ISO date and time") from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    with services(integrity=True, run_projections=False) as opened:
        when = When(as_of=moment) if moment else When(position=opened.ledger.head_position())
        page = Page(None, operator().actor, when,  # type: ignore[arg-type]
                    partnership=partnership)
        context = reveal_with(opened.ledger.text_cipher,
                              pack_context(opened.read_models.board, opened.integrity, page))
        pdf = render_pack_pdf(context, page)
    with open(out_file, "wb") as f:
        f.write(pdf)
    out.print(f"{out_file}: the Board pack for {context['today']}, up to log position "
              f"{context['position']} ({len(pdf):,} bytes)")


@users_app.command("list")
def users_list() -> None:
    """Every user, role, agency and token status."""
    with services(views=False, integrity=False) as opened:
        users = opened.ledger.list_users()
    table = Table("id", "name", "role", "agency", "active", "tokens (active)")
    for user in users:
        active = sum(1 for t in user.tokens.values() if not t.revoked)
        table.add_row(str(user.id), user.name, user.role.value,
                      str(user.agency_id or ""), "yes" if user.active else "no",
                      f"{len(user.tokens)} ({active})")
    out.print(table)


@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option(
        "--if-empty", help="load only into an empty store; otherwise just print tokens")] = False,
) -> None:
    """Load the demo ledger into the configured store and print a token per role."""
    from api.demo import demo_user_ids, load_demo

    with services(views=False, integrity=False) as opened:
        ledger = opened.ledger
        events = ledger.head_position()
        if events == 0:
            with out.status("Loading the demo ledger (2019-2026, simulated clock)..."):
                counts = load_demo(ledger)
            out.print(f"Demo loaded: {counts['events']} events, {counts['agencies']} agencies, "
                      f"{counts['reviews']} reviews, {counts['actions']} actions.")
        elif not if_empty:
            raise fail(f"the store already holds {events} events; the demo loads only into an "
                       "empty store (use --if-empty to print fresh demo tokens instead)")
        else:
            out.print(f"The store already holds {events} events; the demo was not reloaded.")
        people = demo_user_ids(ledger)
        if not people:
            out.print("No demo users in this store: add users with `ledger users add`.")
            return
        out.print("Demo tokens (fresh on every run; each is shown once):")
        for role, user_id in people.items():
            token = ledger.issue_token(operator(), user_id).token
            out.print(f"  {role:<13} {token}")
        out.print("Sign in at http://127.0.0.1:8000/sign-in with one of them (the Board "
                  "member's first), or use it as a Bearer token on the API.")


@app.command()
def project() -> None:
    """Run every projection in this process until interrupted (the projection worker)."""
    import signal
    import threading

    from api.observability import configure_logging
    from projections.locks import ViewBusy

    configure_logging(settings().log_level)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # The views' and the Merkle log's loop runs here, in the foreground.
    with services(integrity=False, merkle=True, run_projections=False,
                  worker=True) as opened:
        try:
            out.print("Projection worker running (views and the Merkle log); Ctrl-C to stop.")
            opened.run_worker(stop)
        except ViewBusy as error:
            raise fail(str(error), code=3) from None


@app.command()
def rebuild(views: Annotated[list[str] | None, typer.Argument(
        help="views to rebuild (default: all)")] = None) -> None:
    """Rebuild views from the first event, with a progress bar."""
    from rich.progress import Progress

    from projections.locks import ViewBusy
    from projections.rebuild import rebuild as rebuild_views

    with services(integrity=False, run_projections=False) as opened:
        try:
            with Progress(console=out) as progress:
                task = progress.add_task("Rebuilding", total=None)

                def advance(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                result = rebuild_views(opened.settings, opened.ledger, views or None, advance,
                                       read_side=opened.read_models.read_side)
        except (KeyError, ViewBusy) as error:
            raise fail(str(error).strip("'\""), code=2) from None
    for name, status in result.items():
        out.print(f"{name}: position {status.get('position')} ({status.get('state')})")


@views_app.command("status")
def projections_status() -> None:
    """Each view's position, lag and state; a stopped view shows where and why."""
    from projections.runner import projection_status

    with services(integrity=False, run_projections=False) as opened:
        status = projection_status(opened.settings, opened.ledger,
                                   read_side=opened.read_models.read_side)
    table = Table("view", "state", "position", "lag", "failed at", "error")
    for view in status["views"]:
        table.add_row(view["view"], str(view.get("state")), str(view.get("position")),
                      str(view.get("lag")), str(view.get("failed_position") or ""),
                      str(view.get("error") or ""))
    out.print(table)
    if any(v.get("failed") for v in status["views"]):
        raise typer.Exit(1)


@views_app.command("retry")
def projections_retry(view: Annotated[str, typer.Argument(help="a stopped view")]) -> None:
    """Apply a stopped view's failed event again (after a fix is deployed)."""
    from projections.runner import retry_view

    with services(integrity=False, run_projections=False) as opened:
        try:
            state = retry_view(opened.settings, opened.ledger, view,
                               read_side=opened.read_models.read_side)
        except (KeyError, ValueError) as error:
            raise fail(str(error).strip("'\""), code=2) from None
    out.print(f"{view}: retry requested; it resumes from position {state.position}")


@views_app.command("skip")
def projections_skip(
    view: Annotated[str, typer.Argument(help="a stopped view")],
    position: Annotated[int, typer.Argument(help="the position it stopped at")],
    reason: Annotated[str, typer.Option(help="why skipping is right (recorded)")],
) -> None:
    """Deliberately skip the event a stopped view cannot apply (recorded as an event)."""
    from projections.runner import skip_event

    if not reason.strip():
        raise fail("--reason must say why the event is skipped", code=2)
    with services(integrity=False, run_projections=False) as opened:
        try:
            state = skip_event(opened.settings, opened.ledger, view, position,
                               operator().actor, reason, read_side=opened.read_models.read_side)
        except (KeyError, ValueError) as error:
            raise fail(str(error).strip("'\""), code=2) from None
    out.print(f"{view}: event {position} skipped and recorded; now at {state.position}")


@report_app.command("yearly")
def report_yearly(
    partnership: Annotated[str | None, typer.Option(help="one partnership (default: all)")]
    = None,
    start: Annotated[str | None, typer.Option("--from", help="first day, YYYY-MM-DD "
                                                              "(default: a year before --to)")]
    = None,
    end: Annotated[str | None, typer.Option("--to", help="last day (default today)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="the ledger as it stood at this moment (ISO date-time, UTC if no "
                        "offset)")] = None,
) -> None:
    """The partners' yearly report: per review its decisions, deadlines, recommendations and
    their actions (little or no evidence of progress flagged), and the recurrent themes."""
    import json
    from datetime import UTC, date, datetime, timedelta

    from api.routes.reports import to_csv
    from domain import clock
    from projections.board import At

    if fmt not in ("json", "csv"):
        raise fail("--format must be json or csv", 2)
    try:
        last = date.fromisoformat(end) if end else clock.today()
        first = date.fromisoformat(start) if start else last - timedelta(days=364)
    except ValueError as error:
        raise fail(f"--from/--to must be dates (YYYY-MM-DD): {error}", 2) from error
    if first > last:
        raise fail("--from must not be after --to", 2)
    try:
        moment = datetime.fromisoformat(as_of) if as_of else None
    except ValueError as error:
        raise fail(f"--as-of must be an ISO date-time: {error}", 2) from error
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    with services(integrity=False) as opened:
        board = opened.read_models.board
        at = (At(as_of=moment) if moment is not None
              else At(min_position=opened.ledger.head_position()))
        body = reveal_with(opened.ledger.text_cipher, board.yearly_report(
            start=first, end=last, partnership=partnership, at=at))
    sys.stdout.write(to_csv(body) if fmt == "csv" else json.dumps(body, indent=2) + "\n")


@import_app.command("action-plan")
def import_action_plan(
    file: Annotated[str, typer.Argument(help="the action plan, .xlsx")],
    review: Annotated[str, typer.Option("--review", help="the review's reference")],
    by: Annotated[str, typer.Option("--as", help="the SCB manager's user id (recorded as "
                                                  "the actor on every event)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="preview only")] = False,
    column: Annotated[list[str] | None, typer.Option(
        "--column", help="HEADING=COLUMN: the file's heading for one of our columns "
                         "(recommendation, action, agency, milestones, due_on, rag, response, "
                         "evidence, comments, completion, assigned_on); repeatable")] = None,
    save: Annotated[bool, typer.Option("--save-mapping", help="keep the --column headings "
                                                              "for later imports")] = False,
) -> None:
    """Import an Excel action plan as the review's actions: every row is previewed with what
    it will record and every problem; nothing is recorded unless the whole file is clean;
    importing the same file again records nothing."""
    from pathlib import Path

    from api.action_plan import (
        COLUMNS,
        agency_lookup,
        read_preview,
        record,
        save_mapping,
        saved_mapping,
    )

    path = Path(file)
    if not path.is_file():
        raise fail(f"{file}: no such file", 2)
    given: dict[str, str] = {}
    for pair in column or []:
        heading, _, key = pair.rpartition("=")
        if not heading or key not in COLUMNS:
            raise fail(f"--column {pair!r}: give HEADING=COLUMN, COLUMN one of "
                       f"{', '.join(COLUMNS)}", 2)
        given[heading] = key
    mapping_file = settings().data_dir / "import-mapping.json"
    mapping = {**saved_mapping(mapping_file), **given}
    if save and given:
        save_mapping(mapping_file, given)
    with services(views=False, integrity=False) as opened:
        ledger = opened.ledger
        try:
            user_id = UUID(by)
        except ValueError:
            raise fail(f"--as {by!r} is not a user id", 2) from None
        try:
            actor = ledger.get_user(user_id).as_actor()
        except DomainError as error:
            raise fail(error.detail, 2) from None
        review_id = ledger.find_review_by_reference(review)
        found = ledger.get_review(review_id) if review_id else None
        agencies = agency_lookup(
            {"agency_id": a.id, "name": a.name,
             "former_names": [n.name for n in a.names[:-1]]} for a in ledger.list_agencies())
        preview = read_preview(path.read_bytes(), path.name, found, review, agencies, actor,
                               ledger, mapping=mapping)
        for problem in preview.problems:
            out.print(f"[red]{problem}[/red]")
        for row in preview.rows:
            state = ("[red]" + "; ".join(row.problems) + "[/red]") if row.problems \
                else row.records
            out.print(f"row {row.row}: {row.cells.get('action', '')[:60]} -> {state}")
        if not preview.clean:
            raise fail(f"{len(preview.bad_rows)} row(s) with problems "
                       f"({', '.join(str(r.row) for r in preview.bad_rows)}); nothing recorded")
        if dry_run:
            out.print(f"{len(preview.to_record)} action(s) would be recorded")
            return
        try:
            made = record(ledger, actor, preview)
        except DomainError as error:
            raise fail(error.detail) from None
    out.print(f"{len(made)} action(s) recorded from {path.name}"
              f"{'' if made else ' (already imported)'}")


@app.command()
def remind(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print what would be sent")]
    = False,
) -> None:
    """Send each person their weekly digest of what waits on them (once per week; off until
    LEDGER_SMTP_HOST is set). --dry-run prints what would be sent and records nothing."""
    from api.reminders import send_all

    configured = settings()
    if not configured.smtp_host and not dry_run:
        out.print("Reminders are off: set LEDGER_SMTP_HOST (and LEDGER_SMTP_PORT, "
                  "LEDGER_SMTP_TLS, LEDGER_SMTP_SENDER) to send them.")
        return
    with services(integrity=False) as opened:
        results = send_all(opened.ledger, opened.read_models.board, configured, operator(),
                           dry_run=dry_run)
    for digest, result in results:
        out.print(f"{digest.name} <{digest.email}> {digest.period}: {digest.items} items: "
                  f"{result}")
        if dry_run:
            for heading, links in digest.sections:
                out.print(f"  {heading}")
                for text, url in links:
                    out.print(f"    - {text} {url}")
    if not results:
        out.print("No digest is due (nobody with an address has anything waiting, or this "
                  "week's were sent).")


@docs_app.command("roles")
def docs_roles() -> None:
    """Who may do what: the table of the code's grants (the README's Roles section)."""
    sys.stdout.write(ROLES_PREAMBLE + render_roles_table())


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
