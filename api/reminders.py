"""Reminders by email: a weekly digest per person of what waits on them (the same lists as
their "My work" page: due within N working days, overdue, no update for N days, challenges
awaiting their answer, for the SCB manager and the Board their queues), each item linking to
its page. Off until `smtp_host` is set.

Sending is recorded on the person's record (User.DigestSent with the ISO week, e.g.
2026-W49), so a person gets one digest per period however often `ledger remind` runs. A send
that fails is retried (settings.smtp_attempts in all, backing off) and then logged; it is not
recorded, so the next run tries again. Nothing here raises to its caller."""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from uuid import UUID

from api.routes.my_work import work_for
from api.settings import Settings
from api.web import Page, When
from domain import clock
from domain.application import Context
from domain.errors import DomainError
from domain.ledger import Ledger
from projections.board import Board

log = logging.getLogger("ledger.reminders")

PATHS = {"action": ("/view/actions/", "action_id"),
         "challenge": ("/view/challenges/", "challenge_id"),
         "review": ("/view/reviews/", "review_id")}


@dataclass
class Digest:
    user_id: str
    name: str
    email: str
    period: str
    sections: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)

    @property
    def items(self) -> int:
        return sum(len(links) for _, links in self.sections)

    def message(self, sender: str) -> EmailMessage:
        message = EmailMessage()
        message["From"], message["To"] = sender, self.email
        message["Subject"] = f"What waits on you this week ({self.period}): {self.items} items"
        lines = [f"Dear {self.name},", "", "What waits on you in the safeguarding ledger:", ""]
        for heading, links in self.sections:
            lines.append(f"{heading} ({len(links)})")
            lines += [f"  - {text}\n    {url}" for text, url in links]
            lines.append("")
        lines.append("This is a weekly reminder; the ledger's My work page has the same lists.")
        message.set_content("\n".join(lines))
        return message


def period_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _label(kind: str, item: dict[str, object]) -> str:
    if kind == "action":
        return f"{item['description']} ({item['agency_name']}), due {item['due_on']}"
    if kind == "challenge":
        return (f"Challenge to {item['addressed_to_name']}, stage {item['stage']}, raised "
                f"{item['raised_on']}")
    return f"Review {item['reference']}"


def digests(ledger: Ledger, board: Board, settings: Settings,
            today: date | None = None) -> list[Digest]:
    """The digest due to each active person with an address and something waiting, this
    period, not yet sent."""
    period = period_of(today or clock.today())
    when = When(position=ledger.head_position())
    out = []
    for user in ledger.list_users():
        if not user.active or not user.email or period in user.digests:
            continue
        page = Page(request=None, actor=user.as_actor(), when=when)  # type: ignore[arg-type]
        queues = work_for(board, page, settings.stalled_days,
                          settings.reminder_due_working_days)
        digest = Digest(str(user.id), user.name, user.email, period)
        base = settings.public_url.rstrip("/")
        for queue in queues:
            path, key = PATHS[queue.kind]
            links = [(_label(queue.kind, i), f"{base}{path}{i[key]}") for i in queue.items]
            if links:
                digest.sections.append((queue.heading, links))
        if digest.items:
            out.append(digest)
    return out


def send_all(ledger: Ledger, board: Board, settings: Settings, ctx: Context, *,
             dry_run: bool = False, sleep: Callable[[float], None] = time.sleep
             ) -> list[tuple[Digest, str]]:
    """Send (or with dry_run, only list) each digest due; returns each with its result:
    'sent', 'would send', or 'failed: ...'."""
    results: list[tuple[Digest, str]] = []
    for digest in digests(ledger, board, settings):
        if dry_run:
            results.append((digest, "would send"))
            continue
        if not settings.smtp_host:
            results.append((digest, "failed: reminders are off (no smtp_host)"))
            continue
        error = _send(digest, settings, sleep)
        if error is None:
            try:
                ledger.record_digest_sent(ctx, UUID(digest.user_id), period=digest.period,
                                          items=digest.items)
            except DomainError as refused:  # sent meanwhile by another run
                log.warning("digest for %s (%s) not recorded: %s", digest.name,
                            digest.period, refused.detail)
            results.append((digest, "sent"))
        else:
            results.append((digest, f"failed: {error}"))
    return results


def _send(digest: Digest, settings: Settings, sleep: Callable[[float], None]) -> str | None:
    message = digest.message(settings.smtp_sender)
    last = ""
    for attempt in range(1, max(1, settings.smtp_attempts) + 1):
        try:
            with smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=10) as smtp:
                if settings.smtp_tls:
                    smtp.starttls()
                if settings.smtp_username:
                    password = settings.smtp_password.get_secret_value() \
                        if settings.smtp_password else ""
                    smtp.login(settings.smtp_username, password)
                smtp.send_message(message)
            log.info("reminder digest %s sent to %s (%d items)", digest.period, digest.email,
                     digest.items)
            return None
        except (OSError, smtplib.SMTPException) as error:
            last = f"{type(error).__name__}: {error}"
            log.warning("reminder digest to %s failed (attempt %d of %d): %s", digest.email,
                        attempt, settings.smtp_attempts, last)
            if attempt < settings.smtp_attempts:
                sleep(0.5 * 2 ** (attempt - 1))
    log.error("reminder digest to %s not sent after %d attempts: %s", digest.email,
              settings.smtp_attempts, last)
    return last
