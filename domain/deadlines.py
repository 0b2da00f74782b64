"""Statutory deadline arithmetic: England and Wales working days, calendar months, and the four
deadlines of a review (Working Together to Safeguard Children, chapter 4).

Working days exclude weekends and the England bank holidays of the maintained `holidays`
calendar (GB, subdivision ENG), built lazily per year and cached; never a hand-typed list.

Counting rule (DOMAIN: "within N working days of becoming aware"). The day the clock starts
is day 0, whatever kind of day it is (a working day, a weekend or a bank holiday), and the
deadline is the Nth working day after it: the working days that follow the day of awareness are
days 1, 2, 3 ... So awareness on Saturday 21 December 2024 gives the same deadlines as on
Friday 20 December: the Panel is notified by Tuesday 31 December 2024 (5 working days, over
Christmas and Boxing Day) and the rapid review is due on Wednesday 15 January 2025 (15 working
days, over New Year's Day). A weekend or bank holiday start never moves day 0 forward; it simply
has no working day of its own to count.

Lateness rule. A deadline is late only once a working day has passed after its due date:
`working_days_late = working_days_between(due_on, done_on or today)`, missed when that is
positive. For a working-day deadline this is exactly "within N working days" (a notification on
the Saturday after a Friday due date is still within 5 working days), and it makes the
"sent at least 7 working days before publication" rule agree with its due date. Whenever the
dates involved are working days it is the same as comparing the dates.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache

import holidays

PANEL_NOTIFICATION_WORKING_DAYS = 5
RAPID_REVIEW_WORKING_DAYS = 15
PUBLICATION_MONTHS = 6
SENT_BEFORE_PUBLICATION_WORKING_DAYS = 7

_ONE_DAY = timedelta(days=1)


@cache
def _bank_holidays(year: int) -> frozenset[date]:
    # Built from the neighbouring years too, so that a substitute day observed across a year
    # boundary is not lost; filtered back to the one year asked for.
    calendar_ = holidays.country_holidays("GB", subdiv="ENG", years=range(year - 1, year + 2))
    return frozenset(d for d in calendar_ if d.year == year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def next_working_day_on_or_after(day: date) -> date:
    while not is_working_day(day):
        day += _ONE_DAY
    return day


def add_working_days(start: date, n: int) -> date:
    """The Nth working day after `start` (day 0, whatever kind of day it is): the working days
    after `start` are days 1, 2, 3 ... n = 0 gives `start` itself."""
    if n < 0:
        raise ValueError("n must not be negative; use subtract_working_days")
    day = start
    for _ in range(n):
        day = next_working_day_on_or_after(day + _ONE_DAY)
    return day


def subtract_working_days(end: date, n: int) -> date:
    """The latest working day X such that at least n working days fall after X up to and
    including `end`: "n working days before `end`" (so add_working_days(X, n) <= end)."""
    if n < 0:
        raise ValueError("n must not be negative; use add_working_days")
    day = end
    counted = 0
    while True:
        if is_working_day(day):
            if counted == n:
                return day
            counted += 1
        day -= _ONE_DAY


def working_days_between(a: date, b: date) -> int:
    """Working days after `a` up to and including `b`; negative (the same count, reversed)
    when b is before a, and 0 when they are equal."""
    if b < a:
        return -working_days_between(b, a)
    count = 0
    day = a + _ONE_DAY
    while day <= b:
        if is_working_day(day):
            count += 1
        day += _ONE_DAY
    return count


def add_calendar_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, clamped to the month's end (31 Aug + 6 -> 28 or
    29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


class RapidReviewClock(StrEnum):
    """When the 15 working days of the (non-statutory) rapid review start; partnerships differ."""

    AWARENESS = "awareness"
    NOTIFICATION = "notification"


class DeadlineStatus(StrEnum):
    PENDING = "pending"
    MET = "met"
    MISSED = "missed"
    DEFERRED = "deferred"  # publication later than six months, with a recorded reason


class DeadlineName(StrEnum):
    PANEL_NOTIFICATION = "panel_notification"
    RAPID_REVIEW = "rapid_review"
    PUBLICATION = "publication"
    SENT_TO_PANEL = "sent_to_panel"


_DESCRIPTIONS = {
    DeadlineName.PANEL_NOTIFICATION: (
        "Notify the National Panel within 5 working days of becoming aware of the incident"
    ),
    DeadlineName.RAPID_REVIEW: (
        "Complete the rapid review and send it to the Panel within 15 working days"
    ),
    DeadlineName.PUBLICATION: (
        "Publish the report within 6 months of the decision to conduct a review"
    ),
    DeadlineName.SENT_TO_PANEL: (
        "Send the final report to the Panel and the Secretary of State at least 7 working "
        "days before publication"
    ),
}


@dataclass(frozen=True)
class Deadline:
    name: str
    description: str
    due_on: date
    status: DeadlineStatus
    done_on: date | None
    working_days_late: int | None  # set when missed or deferred past the due date


def assess(
    name: DeadlineName, due_on: date, done_on: date | None, today: date, *,
    deferred: bool = False,
) -> Deadline:
    """One deadline's status from its due date, when it was done (if it was) and today."""
    late = working_days_between(due_on, done_on if done_on is not None else today)
    if late <= 0:
        status = DeadlineStatus.MET if done_on is not None else DeadlineStatus.PENDING
        return Deadline(name.value, _DESCRIPTIONS[name], due_on, status, done_on, None)
    status = DeadlineStatus.DEFERRED if deferred else DeadlineStatus.MISSED
    return Deadline(name.value, _DESCRIPTIONS[name], due_on, status, done_on, late)


def review_deadlines(
    *,
    today: date,
    aware_on: date,
    notified_on: date | None = None,
    rapid_review_on: date | None = None,
    decided_on: date | None = None,
    conduct_review: bool | None = None,
    sent_on: date | None = None,
    published_on: date | None = None,
    publication_deferred: bool = False,
    rapid_review_clock: RapidReviewClock | str = RapidReviewClock.AWARENESS,
) -> list[Deadline]:
    """The deadlines that apply to a review, in this order: panel_notification, rapid_review,
    publication, sent_to_panel.

    The rapid review under the notification clock has no deadline until the Panel has been
    notified. Publication and sending apply only once a review (CSPR) has been decided on. A
    recorded deferral turns a missed publication into "deferred"; it does the same for sending
    while the report is unpublished (its due date hangs on a publication date not yet set)."""
    clock = RapidReviewClock(rapid_review_clock)
    deadlines = [
        assess(DeadlineName.PANEL_NOTIFICATION,
               add_working_days(aware_on, PANEL_NOTIFICATION_WORKING_DAYS), notified_on, today),
    ]
    rapid_start = aware_on if clock is RapidReviewClock.AWARENESS else notified_on
    if rapid_start is not None:
        deadlines.append(
            assess(DeadlineName.RAPID_REVIEW,
                   add_working_days(rapid_start, RAPID_REVIEW_WORKING_DAYS), rapid_review_on,
                   today)
        )
    if decided_on is None or not conduct_review:
        return deadlines
    publication_due = add_calendar_months(decided_on, PUBLICATION_MONTHS)
    deadlines.append(
        assess(DeadlineName.PUBLICATION, publication_due, published_on, today,
               deferred=publication_deferred)
    )
    send_by = subtract_working_days(
        published_on if published_on is not None else publication_due,
        SENT_BEFORE_PUBLICATION_WORKING_DAYS,
    )
    deadlines.append(
        assess(DeadlineName.SENT_TO_PANEL, send_by, sent_on, today,
               deferred=publication_deferred and published_on is None)
    )
    return deadlines
