"""Working-day counts in constant time, for ages and waits computed at query time.

domain.deadlines.working_days_between walks the calendar day by day, which is right for one
deadline but costs a millisecond for a challenge that has waited years, per row. Here each
year gets a cumulative count of its working days, built once from the domain's own
`is_working_day` (the rule exists in one place); a count between two dates is then a
subtraction. Tests check it equals the domain's function.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from domain.deadlines import is_working_day
from domain.deadlines import working_days_between as walk

ANCHOR = 1990  # earlier dates (none in practice) are counted the slow way


@lru_cache(maxsize=256)
def _year(year: int) -> tuple[int, tuple[int, ...]]:
    """(working days in the years from ANCHOR before this one, cumulative count by day of
    year)."""
    start = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - start).days
    running, counts = 0, []
    for i in range(days):
        running += is_working_day(start + timedelta(days=i))
        counts.append(running)
    before = 0 if year <= ANCHOR else _year(year - 1)[0] + _year(year - 1)[1][-1]
    return before, tuple(counts)


def _upto(day: date) -> int:
    """Working days from 1 January of ANCHOR up to and including `day`."""
    before, counts = _year(day.year)
    return before + counts[day.timetuple().tm_yday - 1]


def working_days_between(a: date, b: date) -> int:
    """Working days after `a` up to and including `b` (negative when b is before a): the
    same answer as domain.deadlines.working_days_between."""
    if a.year < ANCHOR or b.year < ANCHOR:
        return walk(a, b)
    return _upto(b) - _upto(a)
