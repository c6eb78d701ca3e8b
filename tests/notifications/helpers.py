"""Small helpers for the scheduler scenarios."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from engine.clock import FixedClock
from engine.db import Database
from engine.schedule import Notification
from notifications.worker import PassReport, Worker
from tests.support import World


def at(text: str) -> datetime:
    instant = datetime.fromisoformat(text)
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


async def active_agreement(world: World, clock: FixedClock, worker: Worker,
                           **overrides: Any) -> dict[str, Any]:
    """Signed on the clock's day, activated by the scheduler on `effective_from`."""
    agreement = await world.signed(**overrides)
    effective = date.fromisoformat(agreement["effective_from"])
    clock.set(datetime.combine(effective, datetime.min.time(), tzinfo=UTC) + timedelta(hours=1))
    await worker.run_pass(clock.now())
    current: dict[str, Any] = await world.ok("admin", "GET", f"/agreements/{agreement['id']}")
    assert current["state"] == "active", current
    return current


async def daily_passes(workers: list[Worker], first: date, last: date, *, hour: int = 10,
                       times: int = 1) -> list[PassReport]:
    """A pass by every worker, `times` times a day at `hour` UTC, concurrently."""
    reports: list[PassReport] = []
    day = first
    while day <= last:
        now = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hour)
        for _ in range(times):
            reports += await asyncio.gather(*(w.run_pass(now) for w in workers))
        day += timedelta(days=1)
    return reports


async def notifications(database: Database, **where: Any) -> list[Notification]:
    async with database.transaction(write=False) as session:
        query = select(Notification).order_by(col(Notification.id))
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        return list(await session.scalars(query))


async def until(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    """Once `predicate()` holds, checked every 10 ms; an AssertionError after `seconds`."""
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


def subject(message: EmailMessage) -> str:
    return " ".join(str(message["Subject"]).split())


def address(message: EmailMessage) -> str:
    return str(message["To"]).rsplit("<", 1)[-1].rstrip(">")
