"""Passes run for a process: once (`run_once`), or every `scheduler_interval_seconds` — as its own
process (`run_forever`, `accord worker`) or as a task inside the API process (`Scheduler`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from engine.clock import Clock, SystemClock
from engine.db import Database
from engine.settings import Settings
from notifications.worker._config import PassReport
from notifications.worker._worker import Worker

log = logging.getLogger("accord.worker")


async def run_once(settings: Settings, now: datetime) -> PassReport:
    """One pass as of `now`, on the database `settings` name (`accord worker --once --now`)."""
    database = Database.from_settings(settings)
    try:
        return await Worker(database, settings).run_pass(now)
    finally:
        await database.dispose()


async def run_forever(settings: Settings, clock: Clock | None = None) -> None:
    """Pass after pass until cancelled (`accord worker`)."""
    scheduler = Scheduler(settings, clock=clock)
    await scheduler.start()
    try:
        await asyncio.Event().wait()
    finally:
        await scheduler.stop()


class Scheduler:
    """The loop as a background task: the API's lifespan starts and stops it."""

    def __init__(self, settings: Settings, *, database: Database | None = None,
                 clock: Clock | None = None) -> None:
        self.settings = settings
        self._owns_database = database is None
        self.database = database or Database.from_settings(settings)
        self.clock = clock or SystemClock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name="accord-scheduler")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            task, self._task = self._task, None
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._owns_database:
            await self.database.dispose()

    async def _loop(self) -> None:
        worker = Worker(self.database, self.settings, clock=self.clock)
        try:
            while not self._stopping.is_set():
                try:
                    report = await worker.run_pass(self.clock.now())
                    log.debug("worker pass: %s", report)
                except Exception:  # one bad pass must not stop the schedule; the next one retries
                    log.exception("worker pass failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(),
                                           timeout=self.settings.scheduler_interval_seconds)
        finally:
            if worker.mailer is not None:  # each batch closes its connections; this is a backstop
                await worker.mailer.close()
