"""Due webhook deliveries claimed and POSTed, each outcome written as soon as the receiver answered.

A 2xx is `sent`; 410 Gone cancels the delivery, disables its subscription and cancels the
subscription's other pending deliveries; an address that is not public is `dead` at once (see
notifications.webhooks); any other failure backs off, and is `dead` after `max_attempts`. A
delivery to a subscription disabled meanwhile is cancelled without a request.

Counted (engine/metrics.py), by delivery, `channel="webhook"`: sent, failed (to be retried) and
dead; claims and lost leases in `Leases`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx
from sqlalchemy import select, update
from sqlmodel import col

from engine.clock import Clock
from engine.metrics import REMINDERS_DEAD, REMINDERS_FAILED, REMINDERS_SENT
from engine.schedule import WebhookDelivery, WebhookSubscription
from engine.settings import Settings
from engine.statuses import DeliveryStatus
from notifications import webhooks
from notifications.worker._config import PassReport
from notifications.worker._leases import HELD, Leases, claiming, locked


class WebhookPoller:
    def __init__(self, leases: Leases, settings: Settings, clock: Clock,
                 http: httpx.AsyncClient | None = None) -> None:
        self.leases = leases
        self.settings = settings
        # Stamps each attempt (`webhook-timestamp`): receivers compare it with their own clock,
        # so it is the time of sending, not the instant a pass is run "as of".
        self.clock = clock
        self.http = http

    async def run(self, now: datetime, report: PassReport) -> None:
        """Batch after batch until a claim finds fewer than `batch_size` deliveries due."""
        # Made when the first delivery is claimed: building its TLS context costs tens of
        # milliseconds, more than a pass with nothing to post costs in all.
        client = self.http
        config = self.leases.config
        try:
            while True:
                async with claiming(self.leases.database, "webhook") as session:
                    claimed = await self.leases.claim(session, WebhookDelivery, now)
                    subscriptions = {s.id: s for s in await session.scalars(select(WebhookSubscription).where(
                        col(WebhookSubscription.id).in_({d.subscription_id for d in claimed})))} if claimed else {}
                if claimed and client is None:
                    client = webhooks.client(allow_private=self.settings.webhook_allow_private)
                gone: set[int] = set()
                deadline = asyncio.get_running_loop().time() + 0.9 * config.lease.total_seconds()
                for delivery in claimed:
                    if asyncio.get_running_loop().time() > deadline:
                        break  # the lease is nearly up: the rest is claimed again after it
                    subscription = subscriptions[delivery.subscription_id]
                    if not subscription.active or delivery.subscription_id in gone:
                        await self._finish(delivery, None, now, report)
                        continue
                    assert client is not None
                    outcome = await webhooks.post(client, url=subscription.url,
                                                  secret=subscription.secret,
                                                  delivery_id=delivery.id, event=delivery.event,
                                                  body=delivery.body, sent_at=self.clock.now())
                    if outcome.gone:
                        gone.add(delivery.subscription_id)
                    if not await self._finish(delivery, outcome, now, report):
                        break  # another worker took over after this one's lease ran out
                if len(claimed) < config.batch_size:
                    return
        finally:
            if self.http is None and client is not None:
                await client.aclose()

    async def _finish(self, delivery: WebhookDelivery, outcome: webhooks.Outcome | None,
                      now: datetime, report: PassReport) -> bool:
        """Recorded in a transaction of its own, and only while this worker still holds the
        lease; False when another worker took the delivery over. `outcome` None: the
        subscription is disabled, the delivery is cancelled."""
        counter = None
        async with self.leases.database.transaction() as session:
            row = await session.scalar(locked(self.leases.database, select(WebhookDelivery)
                .where(col(WebhookDelivery.id) == delivery.id)).execution_options(populate_existing=True))
            if row is None or row.lease_owner != self.leases.owner:
                taken = row is not None and row.status in HELD
                if taken:
                    self.leases.lost(WebhookDelivery, [delivery.id], "webhook delivery")
                return not taken
            row.lease_owner, row.lease_expires_at = None, None
            if outcome is None:
                row.status, row.last_error = DeliveryStatus.CANCELLED, "the subscription is disabled"
                report.webhooks_cancelled += 1
                return True
            row.response_status = outcome.status
            if outcome.delivered:
                row.status, row.delivered_at, row.last_error = DeliveryStatus.SENT, now, None
                report.webhooks_delivered += 1
                counter = REMINDERS_SENT
            elif outcome.gone:
                row.status, row.last_error = DeliveryStatus.CANCELLED, outcome.error
                report.webhooks_cancelled += 1
                await session.execute(
                    update(WebhookSubscription).where(col(WebhookSubscription.id) == row.subscription_id)
                    .values(active=False, disabled_at=now, disabled_reason=outcome.error))
                await session.execute(
                    update(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == row.subscription_id,
                                                  col(WebhookDelivery.status) == DeliveryStatus.PENDING,
                                                  col(WebhookDelivery.id) != row.id)
                    .values(status=DeliveryStatus.CANCELLED, last_error="the subscription is disabled")
                    .execution_options(synchronize_session=False))
            elif outcome.refused or row.attempts >= self.leases.config.max_attempts:
                row.status, row.last_error = DeliveryStatus.DEAD, outcome.error
                report.webhooks_dead += 1
                counter = REMINDERS_DEAD
            else:
                row.last_error = outcome.error
                row.next_attempt_at = now + self.leases.config.backoff(row.attempts)
                report.webhooks_retrying += 1
                counter = REMINDERS_FAILED
        if counter is not None:
            counter.labels("webhook").inc()
        return True
