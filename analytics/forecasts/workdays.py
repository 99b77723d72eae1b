"""Working days (Monday to Friday) on team-local dates, and the kept logarithms, identical in Python and SQL.

Contract: `weekdays_before(d)` is the number of Mondays..Fridays strictly before `d`, counted from 0001-01-01
(a Monday in the proleptic Gregorian calendar that both Python and PostgreSQL use); `working_days(a, b)` the
number of working days from `a` to `b` inclusive, at least 1 (a task started and finished on one Saturday
took one day); `nth_working_day(a, k)` the k-th working day counting `a` as the first when it is one (k >= 1),
so that a task that started on `a` and took `working_days(a, b)` days finished on `b`'s working day.
The SQL forms (`sql_weekdays_before`) give the same integers, so analytics_rebuild and analytics_verify agree
with the observer to the unit.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

EPOCH = date(1, 1, 1)  # a Monday
_EPOCH_ORDINAL = EPOCH.toordinal()


def weekdays_before(day: date) -> int:
    n = day.toordinal() - _EPOCH_ORDINAL
    return (n // 7) * 5 + min(n % 7, 5)


def working_days(start: date, end: date) -> int:
    return max(1, weekdays_before(end + timedelta(days=1)) - weekdays_before(start))


def day_of_weekday_index(index: int) -> date:
    """The working day that has `index` working days before it."""
    return EPOCH + timedelta(days=(index // 5) * 7 + index % 5)


def nth_working_day(start: date, k: int) -> date:
    return day_of_weekday_index(weekdays_before(start) + k - 1)


def sql_weekdays_before(expr: str) -> str:
    """weekdays_before() of an SQL date expression."""
    n = f"(({expr}) - date '0001-01-01')"
    return f"(({n} / 7) * 5 + LEAST(mod({n}, 7), 5))"


def log_millionths(ratio: float, low: int, high: int) -> int:
    """round(ln(ratio) * 1e6) clamped to [low, high]; the SQL twin is
    LEAST(GREATEST(round(ln(<ratio as float8>) * 1000000)::bigint, low), high). Both round half to even (Python's
    round, PostgreSQL's rint) on the same IEEE double from the same libm log."""
    return min(max(round(math.log(ratio) * 1_000_000), low), high)
