"""Working days and month arithmetic for statutory time limits.

Objection, repair and withdrawal limits count working days (RULES.md §4), so Chinese public
holidays and make-up working days (调休) matter; ``chinese_calendar`` knows them only for the
years covered by its release, and a deadline outside them must fail loudly, never be guessed.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta
from functools import cache
from importlib.metadata import version

import chinese_calendar
from chinese_calendar.constants import holidays


class CalendarNotCovered(ValueError):
    """A date outside the years the installed chinese-calendar release knows."""

    def __init__(self, day: date) -> None:
        first, last = covered_years()
        super().__init__(
            f"{day.isoformat()} is in {day.year}, outside the years {first}-{last} covered by "
            f"chinese-calendar {version('chinese-calendar')}: upgrade chinese-calendar to a release "
            f"with the State Council holiday notice for {day.year}"
        )
        self.day = day


@cache
def covered_years() -> tuple[int, int]:
    """First and last year with holiday data (the same bounds chinese_calendar validates against)."""
    return min(holidays).year, max(holidays).year


def is_working_day(day: date) -> bool:
    """True on weekdays that are not public holidays and on make-up working days."""
    first, last = covered_years()
    if not first <= day.year <= last:
        raise CalendarNotCovered(day)
    return chinese_calendar.is_workday(day)


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after *start* (start itself not counted); n == 0 returns start."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    day = start
    while n:
        day += timedelta(days=1)
        n -= is_working_day(day)
    return day


def working_days_between(start: date, end: date) -> int:
    """Number of working days d with start < d <= end (0 when end <= start)."""
    return sum(is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))


def add_months(d: date, n: int) -> date:
    """*d* moved by n calendar months, clamped to the month end (2026-01-31 + 1 → 2026-02-28)."""
    year, month0 = divmod(d.year * 12 + d.month - 1 + n, 12)
    return date(year, month0 + 1, min(d.day, monthrange(year, month0 + 1)[1]))
