"""The constant-time working-day count equals the domain's day-by-day count."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.deadlines import working_days_between as domain_count
from projections.workdays import working_days_between

DAYS = st.dates(min_value=date(2015, 1, 1), max_value=date(2032, 12, 31))


@settings(max_examples=300, deadline=None)
@given(a=DAYS, b=DAYS)
def test_equals_the_domain_count(a: date, b: date) -> None:
    assert working_days_between(a, b) == domain_count(a, b)


def test_christmas_week_2024_has_three_working_days() -> None:
    # 23 Dec (Mon) .. 29 Dec: 25 and 26 are bank holidays; counted after the 22nd.
    assert working_days_between(date(2024, 12, 22), date(2024, 12, 29)) == 3


def test_before_the_anchor_year_falls_back_to_the_domain() -> None:
    a = date(1985, 3, 1)
    assert working_days_between(a, a + timedelta(days=30)) == domain_count(
        a, a + timedelta(days=30))
