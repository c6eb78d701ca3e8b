"""Time is passed in: the engine asks a clock, never the system directly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that says what it is told to: for tests, the CLI's `--now`, and replaying history."""

    instant: datetime

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")

    def now(self) -> datetime:
        return self.instant

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self.instant = instant


def today(clock: Clock, zone: ZoneInfo) -> date:
    """The calendar day it is now in `zone`."""
    return clock.now().astimezone(zone).date()


@dataclass(frozen=True)
class When:
    """One moment as the engine uses it: the instant, and the calendar day in Accord's time zone
    (`zone`, in which other instants, such as when an agreement was created, are days too)."""

    now: datetime
    today: date
    zone: tzinfo = UTC

    @classmethod
    def of(cls, clock: Clock, zone: ZoneInfo) -> When:
        now = clock.now()
        return cls(now=now, today=now.astimezone(zone).date(), zone=zone)
