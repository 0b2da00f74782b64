"""`ledger erase`, `ledger retention` and `ledger keys reconcile` (docs/data-protection.md).
Each erasure is a TextErased event on the review, then the review's data key is destroyed."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer
from rich.table import Table

from api.cli_common import fail, operator, out, services, settings
from domain import clock
from domain.errors import DomainError
from domain.ledger import Ledger


def _review_id(ledger: Ledger, review: str) -> UUID:
    try:
        return UUID(review)
    except ValueError:
        found = ledger.find_review_by_reference(review)
        if found is None:
            raise fail(f"no review with id or reference {review!r}", code=2) from None
        return found


def register(app: typer.Typer) -> None:
    keys_app = typer.Typer(help="The data keys of field-level protection.",
                           no_args_is_help=True)
    app.add_typer(keys_app, name="keys")

    @app.command()
    def erase(
        review: Annotated[str, typer.Argument(help="the review's id or reference")],
        reason: Annotated[str, typer.Option(help="why the text is erased (recorded)")],
        basis: Annotated[str, typer.Option(help=(
            "retention_ended, right_to_erasure, no_longer_necessary, unlawful_processing or "
            "legal_obligation"))],
    ) -> None:
        """Erase a review's free text (and its actions' and challenges'): destroys its key."""
        with services(views=False, integrity=False, merkle=False) as opened:
            ledger = opened.ledger
            review_id = _review_id(ledger, review)
            try:
                outcome = ledger.erase_review_text(operator(), review_id, reason=reason,
                                                   basis=basis)
            except DomainError as error:
                raise fail(str(error), code=2) from None
        out.print(f"review {review_id}: text erased on {clock.today()} (position "
                  f"{outcome.position}); its data key is destroyed")

    @app.command()
    def retention(
        dry_run: Annotated[bool, typer.Option("--dry-run", help="list, erase nothing")] = False,
    ) -> None:
        """Erase the text of reviews closed more than LEDGER_RETENTION_YEARS ago (or their
        partnership's LEDGER_RETENTION_YEARS_BY_PARTNERSHIP); with --dry-run, list them and
        the events stored in clear (before protection was on)."""
        configured = settings()
        with services(views=False, integrity=False, merkle=False) as opened:
            ledger = opened.ledger
            due = ledger.retention_due(clock.today(), configured.retention_years,
                                       configured.retention_years_by_partnership)
            table = Table("review", "reference", "closed on", "retention ended", "why")
            for d in due:
                table.add_row(str(d.review_id), d.reference, str(d.closed_on),
                              str(d.retention_ended_on),
                              f"closed {d.closed_on}; {d.partnership}'s {d.years} years ended "
                              f"{d.retention_ended_on}")
            out.print(f"{len(due)} review(s) due for erasure")
            if due:
                out.print(table)
            if dry_run:
                clear = ledger.stored_in_clear()
                out.print(f"{len(clear)} event(s) stored in clear (recorded before text "
                          "protection was on; erasing a key cannot reach them)")
                for c in clear:
                    out.print(f"  stored in clear: position {c.position} {c.event} "
                              f"{c.originator_id} ({', '.join(c.fields)})")
                return
            for d in due:
                try:
                    ledger.erase_review_text(
                        operator(), d.review_id, basis="retention_ended",
                        reason=f"retention period of {d.years} years after closure "
                               f"({d.closed_on}) ended on {d.retention_ended_on}")
                except DomainError as error:
                    raise fail(f"review {d.review_id}: {error}", code=2) from None
                out.print(f"erased: {d.review_id} {d.reference}")

    @keys_app.command("reconcile")
    def reconcile_keys() -> None:
        """Destroy again every key the log says was erased (after restoring the key store
        from a backup taken before an erasure)."""
        from api.data_protection import FieldCipher, reconcile

        with services(views=False, integrity=False, merkle=False) as opened:
            cipher = opened.ledger.text_cipher
            if not isinstance(cipher, FieldCipher):
                raise fail("text protection is off (LEDGER_PROTECT_TEXT)", code=2)
            again = reconcile(cipher, opened.ledger.erased_reviews())
        out.print(f"{len(again)} key(s) destroyed again")
        for key_id in again:
            out.print(f"  {key_id}")
