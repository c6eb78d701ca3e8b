"""`Worker`: one pass as of an instant — due timers, then due mail, then due webhooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from engine.clock import Clock, SystemClock, When
from engine.db import Database
from engine.settings import Settings
from notifications.email import Mailer, mailer_for
from notifications.worker._config import PassReport, WorkerConfig, default_owner
from notifications.worker._leases import Leases
from notifications.worker._mail import MailPoller
from notifications.worker._timers import TimerPoller
from notifications.worker._webhooks import WebhookPoller


@dataclass
class Worker:
    """A pass runs the pollers one after another, so the mail and webhooks a fired timer's change
    queued go out in the same pass. Each poller may be run on its own too (`bench/worker_pass.py`
    times them one by one)."""

    database: Database
    settings: Settings
    owner: str = field(default_factory=default_owner)
    config: WorkerConfig = field(default_factory=WorkerConfig)
    mailer: Mailer | None = None
    http: httpx.AsyncClient | None = None
    # Stamps each webhook attempt (`webhook-timestamp`): receivers compare it with their own
    # clock, so it is the time of sending, not the instant a pass is run "as of".
    clock: Clock = field(default_factory=SystemClock)
    timers: TimerPoller = field(init=False)
    mail: MailPoller = field(init=False)
    webhooks: WebhookPoller = field(init=False)

    def __post_init__(self) -> None:
        if self.mailer is None:
            # A wave's connections are reused by the next waves of the batch (see MailPoller).
            self.mailer = mailer_for(self.settings, keep_open=self.config.send_concurrency)
        leases = Leases(self.database, self.owner, self.config)
        self.timers = TimerPoller(self.database, self.config)
        self.mail = MailPoller(leases, self.settings, self.mailer)
        self.webhooks = WebhookPoller(leases, self.settings, self.clock, self.http)

    async def run_pass(self, now: datetime) -> PassReport:
        if now.tzinfo is None:
            raise ValueError("a worker pass needs a timezone-aware instant")
        now = now.astimezone(UTC)
        when = When(now=now, today=now.astimezone(self.settings.zone).date(), zone=self.settings.zone)
        report = PassReport()
        await self.fire_due_timers(when, report)
        await self.send_due_notifications(now, report)
        await self.deliver_due_webhooks(now, report)
        return report

    async def fire_due_timers(self, when: When, report: PassReport) -> None:
        await self.timers.run(when, report)

    async def send_due_notifications(self, now: datetime, report: PassReport) -> None:
        await self.mail.run(now, report)

    async def deliver_due_webhooks(self, now: datetime, report: PassReport) -> None:
        await self.webhooks.run(now, report)
