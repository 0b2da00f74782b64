"""Working-day and calendar-month arithmetic, and the four deadlines of a review.

Bank holidays used below (England): 25, 26 Dec 2023 and 1 Jan 2024; 25, 26 Dec 2024 and
1 Jan 2025; Good Friday 29 Mar and Easter Monday 1 Apr 2024; 18 and 21 Apr 2025; early May
6 May 2024 and 5 May 2025; spring 27 May 2024 and 26 May 2025.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain.deadlines import (
    Deadline,
    DeadlineStatus,
    RapidReviewClock,
    add_calendar_months,
    add_working_days,
    is_working_day,
    review_deadlines,
    subtract_working_days,
    working_days_between,
)

D = date


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (D(2023, 12, 22), 1, D(2023, 12, 27)),  # over Christmas and Boxing Day 2023
        (D(2023, 12, 22), 5, D(2024, 1, 3)),  # ... and New Year's Day 2024
        (D(2023, 12, 20), 15, D(2024, 1, 15)),
        (D(2024, 12, 23), 5, D(2025, 1, 2)),  # Christmas 2024 falls mid-week
        (D(2024, 3, 28), 1, D(2024, 4, 2)),  # Good Friday and Easter Monday 2024
        (D(2024, 3, 25), 5, D(2024, 4, 3)),
        (D(2025, 4, 16), 5, D(2025, 4, 25)),  # Easter 2025
        (D(2025, 4, 16), 15, D(2025, 5, 12)),  # Easter and the early May bank holiday 2025
        (D(2024, 5, 3), 1, D(2024, 5, 7)),  # early May bank holiday 2024
        (D(2024, 5, 24), 1, D(2024, 5, 28)),  # spring bank holiday 2024
        (D(2025, 5, 22), 5, D(2025, 5, 30)),  # spring bank holiday 2025
        (D(2024, 1, 8), 0, D(2024, 1, 8)),  # day 0 is the start itself
    ],
)
def test_add_working_days_skips_weekends_and_bank_holidays(start: date, n: int,
                                                            due: date) -> None:
    assert add_working_days(start, n) == due


@pytest.mark.parametrize(("n", "due"), [(0, D(2024, 1, 6)), (1, D(2024, 1, 8)),
                                        (5, D(2024, 1, 12))])
def test_a_clock_started_on_a_saturday_counts_the_working_days_after_it(n: int,
                                                                        due: date) -> None:
    # Saturday 6 January 2024 is day 0; Monday 8 January is working day 1.
    assert add_working_days(D(2024, 1, 6), n) == due


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (D(2024, 12, 25), 1, D(2024, 12, 27)),  # Christmas Day is day 0; Friday 27 is day 1
        (D(2024, 12, 25), 5, D(2025, 1, 3)),
        (D(2024, 3, 29), 5, D(2024, 4, 8)),  # Good Friday is day 0; Tuesday 2 April is day 1
        (D(2024, 4, 1), 5, D(2024, 4, 8)),  # Easter Monday
        (D(2024, 5, 6), 5, D(2024, 5, 13)),  # early May bank holiday
    ],
)
def test_a_clock_started_on_a_bank_holiday_counts_the_working_days_after_it(
    start: date, n: int, due: date,
) -> None:
    assert add_working_days(start, n) == due


@pytest.mark.parametrize(
    ("weekday_start", "later_starts"),
    [
        # Friday 20 December 2024, then the weekend before Christmas.
        (D(2024, 12, 20), [D(2024, 12, 21), D(2024, 12, 22)]),
        # Christmas Eve 2024, then Christmas Day and Boxing Day.
        (D(2024, 12, 24), [D(2024, 12, 25), D(2024, 12, 26)]),
        # Tuesday 31 December 2024, then New Year's Day 2025.
        (D(2024, 12, 31), [D(2025, 1, 1)]),
        # Maundy Thursday 2024, then Good Friday, the Easter weekend and Easter Monday.
        (D(2024, 3, 28), [D(2024, 3, 29), D(2024, 3, 30), D(2024, 3, 31), D(2024, 4, 1)]),
        # Maundy Thursday 2025, then Easter 2025.
        (D(2025, 4, 17), [D(2025, 4, 18), D(2025, 4, 19), D(2025, 4, 20), D(2025, 4, 21)]),
    ],
)
def test_a_non_working_start_has_the_deadlines_of_the_working_day_before_it(
    weekday_start: date, later_starts: list[date],
) -> None:
    # No working day falls between the working day and the later starts, so the working days
    # that follow them are the same and so are the deadlines.
    for n in (1, 5, 7, 15):
        for start in later_starts:
            assert add_working_days(start, n) == add_working_days(weekday_start, n)


def test_awareness_on_saturday_21_december_2024_is_due_as_on_friday_20_december() -> None:
    today = D(2025, 2, 1)
    for aware_on in (D(2024, 12, 20), D(2024, 12, 21)):
        due = {d.name: d.due_on for d in review_deadlines(today=today, aware_on=aware_on)}
        assert due == {"panel_notification": D(2024, 12, 31),
                       "rapid_review": D(2025, 1, 15)}


@pytest.mark.parametrize(
    ("aware_on", "notification", "rapid_review"),
    [
        (D(2025, 4, 19), D(2025, 4, 28), D(2025, 5, 13)),  # Easter Saturday 2025
        (D(2025, 4, 21), D(2025, 4, 28), D(2025, 5, 13)),  # Easter Monday 2025
        (D(2024, 12, 26), D(2025, 1, 3), D(2025, 1, 17)),  # Boxing Day 2024
    ],
)
def test_review_deadlines_from_a_holiday_start(aware_on: date, notification: date,
                                               rapid_review: date) -> None:
    due = {d.name: d.due_on
           for d in review_deadlines(today=D(2025, 6, 1), aware_on=aware_on)}
    assert due == {"panel_notification": notification, "rapid_review": rapid_review}


def test_the_rapid_review_clock_may_start_at_the_notification() -> None:
    # Notified on Saturday 21 December 2024: 15 working days after it, as after Friday 20th.
    found = review_deadlines(today=D(2025, 2, 1), aware_on=D(2024, 12, 19),
                             notified_on=D(2024, 12, 21),
                             rapid_review_clock=RapidReviewClock.NOTIFICATION)
    assert [d.due_on for d in found if d.name == "rapid_review"] == [D(2025, 1, 15)]


def test_bank_holidays_and_weekends_are_not_working_days() -> None:
    assert not is_working_day(D(2024, 4, 1))
    assert not is_working_day(D(2024, 1, 6))
    assert is_working_day(D(2024, 4, 2))


@pytest.mark.parametrize(
    ("a", "b", "count"),
    [
        (D(2023, 12, 22), D(2024, 1, 3), 5),
        (D(2024, 1, 3), D(2023, 12, 22), -5),
        (D(2024, 3, 28), D(2024, 4, 2), 1),
        (D(2024, 1, 5), D(2024, 1, 7), 0),  # only a weekend after a
        (D(2024, 1, 5), D(2024, 1, 5), 0),
    ],
)
def test_working_days_between_counts_after_a_up_to_and_including_b(a: date, b: date,
                                                                    count: int) -> None:
    assert working_days_between(a, b) == count


@pytest.mark.parametrize(
    ("end", "n", "start"),
    [
        (D(2024, 1, 3), 5, D(2023, 12, 22)),  # back over New Year and Christmas 2023
        (D(2024, 4, 2), 7, D(2024, 3, 20)),  # back over Easter 2024
        (D(2024, 1, 13), 7, D(2024, 1, 3)),  # from a Saturday
    ],
)
def test_subtract_working_days_is_the_inverse_of_adding(end: date, n: int,
                                                         start: date) -> None:
    assert subtract_working_days(end, n) == start
    assert add_working_days(start, n) <= end


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (D(2024, 8, 31), D(2025, 2, 28)),
        (D(2023, 8, 31), D(2024, 2, 29)),  # leap year
        (D(2024, 12, 31), D(2025, 6, 30)),
        (D(2024, 1, 15), D(2024, 7, 15)),
        (D(2024, 7, 31), D(2025, 1, 31)),  # across the year end
    ],
)
def test_six_calendar_months_clamp_to_the_month_end(start: date, due: date) -> None:
    assert add_calendar_months(start, 6) == due


# ---- the deadlines of a review ----------------------------------------------------------
AWARE = D(2023, 12, 22)  # panel notification due Wed 3 Jan 2024, rapid review Wed 17 Jan
DECIDED = D(2023, 8, 31)  # publication due Thu 29 Feb 2024, sending due Tue 20 Feb 2024


def by_name(**kwargs: Any) -> dict[str, Deadline]:
    return {d.name: d for d in review_deadlines(**kwargs)}


def only(name: str, **kwargs: Any) -> Deadline:
    return by_name(**kwargs)[name]


def test_panel_notification_is_pending_until_its_due_date() -> None:
    d = only("panel_notification", today=D(2024, 1, 3), aware_on=AWARE)
    assert (d.due_on, d.status, d.working_days_late) == (D(2024, 1, 3), DeadlineStatus.PENDING,
                                                         None)


def test_panel_notification_on_the_due_date_is_met() -> None:
    d = only("panel_notification", today=D(2024, 2, 1), aware_on=AWARE,
             notified_on=D(2024, 1, 3))
    assert (d.status, d.done_on) == (DeadlineStatus.MET, D(2024, 1, 3))


def test_late_panel_notification_is_missed_by_working_days() -> None:
    d = only("panel_notification", today=D(2024, 2, 1), aware_on=AWARE,
             notified_on=D(2024, 1, 5))
    assert (d.status, d.working_days_late) == (DeadlineStatus.MISSED, 2)


def test_an_overdue_notification_is_missed_so_far() -> None:
    d = only("panel_notification", today=D(2024, 1, 8), aware_on=AWARE)
    assert (d.status, d.working_days_late, d.done_on) == (DeadlineStatus.MISSED, 3, None)


def test_a_notification_on_the_weekend_after_a_friday_due_date_is_within_the_working_days(
) -> None:
    # Aware Fri 5 Jan 2024: due Fri 12 Jan; Saturday 13 Jan is still within 5 working days.
    d = only("panel_notification", today=D(2024, 2, 1), aware_on=D(2024, 1, 5),
             notified_on=D(2024, 1, 13))
    assert (d.due_on, d.status) == (D(2024, 1, 12), DeadlineStatus.MET)


def test_rapid_review_counts_from_awareness_by_default() -> None:
    d = only("rapid_review", today=D(2024, 1, 10), aware_on=AWARE, notified_on=D(2024, 1, 3))
    assert (d.due_on, d.status) == (D(2024, 1, 17), DeadlineStatus.PENDING)


def test_rapid_review_can_count_from_notification() -> None:
    d = only("rapid_review", today=D(2024, 2, 1), aware_on=AWARE, notified_on=D(2024, 1, 3),
             rapid_review_on=D(2024, 1, 24), rapid_review_clock=RapidReviewClock.NOTIFICATION)
    assert (d.due_on, d.status) == (D(2024, 1, 24), DeadlineStatus.MET)


def test_rapid_review_completed_late_is_missed() -> None:
    d = only("rapid_review", today=D(2024, 2, 1), aware_on=AWARE, notified_on=D(2024, 1, 3),
             rapid_review_on=D(2024, 1, 19))
    assert (d.status, d.working_days_late) == (DeadlineStatus.MISSED, 2)


def test_rapid_review_on_the_notification_clock_waits_for_the_notification() -> None:
    names = by_name(today=D(2024, 1, 2), aware_on=AWARE, rapid_review_clock="notification")
    assert list(names) == ["panel_notification"]


def test_publication_and_sending_apply_only_to_a_decided_review() -> None:
    assert list(by_name(today=D(2024, 1, 2), aware_on=AWARE)) == [
        "panel_notification", "rapid_review"]
    no_cspr = by_name(today=D(2024, 2, 1), aware_on=AWARE, decided_on=D(2024, 1, 10),
                      conduct_review=False)
    assert "publication" not in no_cspr and "sent_to_panel" not in no_cspr


def decided(**kwargs: Any) -> dict[str, Deadline]:
    return by_name(aware_on=D(2023, 8, 1), decided_on=DECIDED, conduct_review=True, **kwargs)


def test_publication_is_due_six_calendar_months_after_the_decision() -> None:
    d = decided(today=D(2024, 2, 1))["publication"]
    assert (d.due_on, d.status) == (D(2024, 2, 29), DeadlineStatus.PENDING)


def test_publication_on_the_due_date_is_met() -> None:
    d = decided(today=D(2024, 3, 10), sent_on=D(2024, 2, 20),
                published_on=D(2024, 2, 29))["publication"]
    assert d.status == DeadlineStatus.MET


def test_late_publication_is_missed_by_working_days() -> None:
    d = decided(today=D(2024, 3, 10), published_on=D(2024, 3, 4))["publication"]
    assert (d.status, d.working_days_late) == (DeadlineStatus.MISSED, 2)


def test_a_recorded_deferral_makes_late_publication_deferred() -> None:
    d = decided(today=D(2024, 3, 4), publication_deferred=True)["publication"]
    assert (d.status, d.working_days_late) == (DeadlineStatus.DEFERRED, 2)


def test_a_deferral_does_not_hide_a_pending_publication() -> None:
    d = decided(today=D(2024, 2, 1), publication_deferred=True)["publication"]
    assert d.status == DeadlineStatus.PENDING


def test_sending_is_due_seven_working_days_before_the_publication_due_date() -> None:
    d = decided(today=D(2024, 2, 1))["sent_to_panel"]
    assert (d.due_on, d.status) == (D(2024, 2, 20), DeadlineStatus.PENDING)


def test_sending_is_measured_against_the_actual_publication_date() -> None:
    d = decided(today=D(2024, 3, 10), sent_on=D(2024, 2, 22),
                published_on=D(2024, 3, 4))["sent_to_panel"]
    assert (d.due_on, d.status) == (D(2024, 2, 22), DeadlineStatus.MET)


def test_sending_less_than_seven_working_days_before_publication_is_missed() -> None:
    d = decided(today=D(2024, 3, 10), sent_on=D(2024, 2, 23),
                published_on=D(2024, 3, 4))["sent_to_panel"]
    assert (d.status, d.working_days_late) == (DeadlineStatus.MISSED, 1)


def test_sending_overdue_for_a_deferred_unpublished_report_is_deferred() -> None:
    d = decided(today=D(2024, 3, 4), publication_deferred=True)["sent_to_panel"]
    assert d.status == DeadlineStatus.DEFERRED
