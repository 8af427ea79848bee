"""Working days with Chinese holidays and make-up days, and month arithmetic (RULES.md §3-4)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_engine.calendar import (
    CalendarNotCovered,
    add_months,
    add_working_days,
    covered_years,
    is_working_day,
    working_days_between,
)


def test_spring_festival_2026_as_the_library_has_it() -> None:
    holidays = [date(2026, 2, 15) + timedelta(days=i) for i in range(9)]  # 02-15 .. 02-23
    assert not any(is_working_day(d) for d in holidays)
    assert is_working_day(date(2026, 2, 24))


@pytest.mark.parametrize("saturday", [date(2026, 2, 14), date(2026, 2, 28)])
def test_make_up_saturday_is_a_working_day(saturday: date) -> None:
    assert saturday.weekday() == 5
    assert is_working_day(saturday)
    assert not is_working_day(saturday + timedelta(days=1))


def test_deadline_across_the_2026_spring_festival() -> None:
    # 5 working days from Thu 02-12: Fri 13, Sat 14 (make-up), then Tue 24, Wed 25, Thu 26
    assert add_working_days(date(2026, 2, 12), 5) == date(2026, 2, 26)
    # 15 working days (2021 repair decision limit) from 02-10 counts the make-up Saturday 02-28
    assert add_working_days(date(2026, 2, 10), 15) == date(2026, 3, 9)


def test_working_days_between_counts_make_up_days_and_skips_holidays() -> None:
    # 02-14, 02-24, 02-25, 02-26, 02-27 and the make-up Saturday 02-28
    assert working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6
    assert working_days_between(date(2026, 2, 15), date(2026, 2, 23)) == 0
    assert working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert working_days_between(date(2026, 3, 6), date(2026, 3, 2)) == 0


def test_zero_working_days_is_the_start_even_on_a_holiday() -> None:
    assert add_working_days(date(2026, 2, 17), 0) == date(2026, 2, 17)
    with pytest.raises(ValueError, match="n must be >= 0"):
        add_working_days(date(2026, 2, 17), -1)


@settings(max_examples=100, deadline=None)
@given(st.dates(date(2004, 1, 1), date(2026, 10, 31)), st.integers(0, 40))
def test_counting_inverts_adding(start: date, n: int) -> None:
    end = add_working_days(start, n)
    assert working_days_between(start, end) == n
    assert n == 0 or is_working_day(end)


def test_covered_years_start_in_2004() -> None:
    first, last = covered_years()
    assert first == 2004 and last >= 2026


def test_2027_raises_a_clear_error() -> None:
    day = date(covered_years()[1] + 1, 1, 4)  # 2027-01-04 with chinese-calendar 1.11
    with pytest.raises(CalendarNotCovered) as error:
        is_working_day(day)
    message = str(error.value)
    assert day.isoformat() in message and f"in {day.year}" in message
    assert f"2004-{covered_years()[1]}" in message and "upgrade chinese-calendar" in message
    with pytest.raises(CalendarNotCovered):
        add_working_days(date(day.year - 1, 12, 28), 10)


def test_2003_raises_a_clear_error() -> None:
    with pytest.raises(CalendarNotCovered, match=r"2003-12-31 is in 2003, outside the years 2004-"):
        working_days_between(date(2003, 12, 30), date(2004, 1, 5))
    assert issubclass(CalendarNotCovered, ValueError)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2026, 1, 15), 36, date(2029, 1, 15)),
        (date(2026, 1, 15), 0, date(2026, 1, 15)),
    ],
)
def test_add_months_clamps_to_the_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected
