"""Saturating date arithmetic: a date plus days or years that never raises.

A filed date or a reference date may be anything from 0001-01-01 to 9999-12-31 (the
range of ``datetime.date``). Adding 30 days to 9999-12-31, or 60 years to 9940-01-01,
overflows that range; ``datetime`` then raises ``OverflowError`` or ``ValueError``. A
rule must judge such a value (DATE-FORMAT reports it), not crash on it, so every
date arithmetic of the rules goes through these helpers, which stop at ``date.max``
going forward and ``date.min`` going back. Comparisons against a saturated date stay
meaningful: nothing is later than ``date.max`` or earlier than ``date.min``.
"""

from __future__ import annotations

from datetime import MAXYEAR, MINYEAR, date, timedelta

# ``timedelta`` itself holds at most 999,999,999 days; more than the date range spans
# (about 3.65 million days) can only saturate, so bigger steps are cut to this first.
_SPAN_DAYS = (date.max - date.min).days


def add_days(d: date, n: int) -> date:
    """Return ``d`` plus ``n`` days (``n`` may be negative), saturating at the date range.

    >>> add_days(date(2026, 11, 20), 30)
    datetime.date(2026, 12, 20)
    >>> add_days(date(2026, 3, 1), -1)
    datetime.date(2026, 2, 28)
    >>> add_days(date(9999, 12, 31), 30)
    datetime.date(9999, 12, 31)
    >>> add_days(date(1, 1, 1), -1)
    datetime.date(1, 1, 1)
    >>> add_days(date(2000, 1, 1), 10**12), add_days(date(2000, 1, 1), -(10**12))
    (datetime.date(9999, 12, 31), datetime.date(1, 1, 1))
    """
    step = max(-_SPAN_DAYS - 1, min(_SPAN_DAYS + 1, n))
    try:
        return d + timedelta(days=step)
    except OverflowError:
        return date.max if n > 0 else date.min


def add_years(d: date, n: int) -> date:
    """Return the same month and day ``n`` years later, saturating at the date range.

    29 Feb becomes 28 Feb in a common year (RULES.md accepts 28 Feb or 1 Mar; callers
    that compare accept the next day as well). A year past 9999 gives ``date.max``, a
    year before 1 gives ``date.min``.

    >>> add_years(date(2015, 3, 2), 20)
    datetime.date(2035, 3, 2)
    >>> add_years(date(2016, 2, 29), 10), add_years(date(2016, 2, 29), 4)
    (datetime.date(2026, 2, 28), datetime.date(2020, 2, 29))
    >>> add_years(date(9940, 1, 1), 60), add_years(date(9939, 12, 31), 60)
    (datetime.date(9999, 12, 31), datetime.date(9999, 12, 31))
    >>> add_years(date(9996, 2, 29), 3)
    datetime.date(9999, 2, 28)
    >>> add_years(date(10, 5, 1), -20)
    datetime.date(1, 1, 1)
    """
    year = d.year + n
    if year > MAXYEAR:
        return date.max
    if year < MINYEAR:
        return date.min
    try:
        return d.replace(year=year)
    except ValueError:
        # Only 29 Feb has no twin in a common year.
        return d.replace(year=year, day=28)
