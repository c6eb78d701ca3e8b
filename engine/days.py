"""The days Accord accepts, and day arithmetic that cannot overflow.

Every date the API, the web pages and the import accept lies from `FIRST_DAY` to `LAST_DAY`
(`engine.schemas.Day`). A date outside them can still be in the database: written by an older
version, by hand, or as `infinity` on PostgreSQL (asyncpg reads `infinity` as `date.max` and
`-infinity` as `date.min`). Such a date is shown as it is, so that it can be corrected, but
reading code takes dates through `usable` before counting with them: an unusable date schedules
no timer or reminder and appears in no feed, report or timeline. `plus` is for the sums that
remain; it answers None where Python's calendar ends instead of raising `OverflowError`.
`iso` writes a day that may be unset as it goes into JSON (history facts, webhook payloads);
`in_words` as the engine's own sentences say it ("31 Dec 2029": an error's `detail`, unmet
conditions, history lines), the same in every locale; pages and mail write their days in the
reader's language with `engine.i18n.format_day`, the templates' `in_words` filter.
"""

from __future__ import annotations

from datetime import date, timedelta

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2199, 12, 31)
RANGE = f"from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"


def usable(day: date | None) -> date | None:
    """`day` if it lies from `FIRST_DAY` to `LAST_DAY`, else None (as if it were not set)."""
    if day is None or not FIRST_DAY <= day <= LAST_DAY:
        return None
    return day


def plus(day: date | None, days: int) -> date | None:
    """`day` + `days`, or None when either is None or the sum is outside Python's calendar."""
    if day is None:
        return None
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


def iso(day: date | None) -> str | None:
    """`day` as YYYY-MM-DD, or None when it is not set."""
    return day.isoformat() if day is not None else None


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def in_words(day: date) -> str:
    """`day` as a person reads it: "31 Dec 2029" (English month names, whatever the server's locale)."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
