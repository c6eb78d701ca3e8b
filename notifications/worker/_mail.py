"""Due notifications claimed, made into letters, sent over SMTP (or to the outbox), and recorded.

One claim transaction (`claiming`, kind `notification`) cancels reminders a later one of the same
rule supersedes, claims a batch (`Leases.claim`), cancels the rows of disabled people and makes
the letters. The batch is then sent in waves of `send_concurrency` letters over at most as many
SMTP connections, kept open from wave to wave and closed when the batch is done, and each wave's
outcomes are written in one short transaction the moment its send is over: `sent` (with a
`reminder.due` webhook where one is subscribed) — or the error, with exponential back-off, and
`dead` after `max_attempts`. A worker killed mid-batch leaves at most one wave sent but not
recorded, to be sent again (with the same Message-ID) once its lease ran out.

After downtime each due row is sent once, late. Where several offsets of one rule fell due for
the same subject and person (a month away: the 30-day and the 7-day review reminders), only the
latest is sent; the earlier ones are cancelled with note `superseded`. The same holds across the
rules of one deliverable, which all count from its one date, its due day: a person whose
"deliverable due" and "deliverable overdue" reminders are due together (the worker was away on
the due day, or the deliverable was entered late) gets the overdue one alone.

Counted (engine/metrics.py), by notification row, `channel="email"`: sent, failed (to be
retried) and dead; claims and lost leases in `Leases`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Update, bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload
from sqlmodel import col

from engine import schedule
from engine.metrics import REMINDERS_DEAD, REMINDERS_FAILED, REMINDERS_SENT
from engine.models import Agreement, Person
from engine.schedule import SUPERSEDED, Notification, status_is
from engine.settings import Settings
from engine.statuses import DeliveryStatus, NotificationKind
from notifications.email import Mailer, render
from notifications.worker._config import PassReport
from notifications.worker._leases import HELD, Leases, Outcomes, claiming, locked
from notifications.worker._letters import Letter, compose

log = logging.getLogger("accord.worker")


def _mark_sent() -> Update:
    """Sent letters' rows `sent`, in one statement that checks the lease as it writes: bound
    with `ids`, `owner` and `now`; returns what a `reminder.due` webhook tells. Built once: a
    pass runs it once per wave."""
    table = Notification.__table__  # type: ignore[attr-defined]
    c = table.c
    now = bindparam("now", type_=c.sent_at.type)
    return (update(table)
            .where(c.id.in_(bindparam("ids", expanding=True)), c.lease_owner == bindparam("owner"),
                   status_is(c.status, DeliveryStatus.PENDING))
            .values(status=DeliveryStatus.SENT, sent_at=now, last_error=None, lease_owner=None, lease_expires_at=None,
                    updated_at=now)
            .returning(c.id, c.kind, c.agreement_id, c.rule, c.subject_type, c.subject_id, c.due_on,
                       c.offset_days, c.person_id))


MARK_SENT = _mark_sent()


class MailPoller:
    def __init__(self, leases: Leases, settings: Settings, mailer: Mailer) -> None:
        self.leases = leases
        self.settings = settings
        self.mailer = mailer

    async def run(self, now: datetime, report: PassReport) -> None:
        """Batch after batch until a claim finds fewer than `batch_size` rows due."""
        while True:
            async with claiming(self.leases.database, "notification") as session:
                report.superseded += await _supersede(session, now)
                claimed = await self.claim(session, now)
                letters = await compose(session, await self._drop_disabled(session, claimed, now),
                                        self.settings, now) if claimed else []
                # Asked once a batch, not once a mail: a subscription made while a batch is being
                # sent sees `reminder.due` from the next batch on.
                wanted = bool(letters) and await schedule.wants_webhook(session, "reminder.due")
            await self._send(letters, now, report, wanted)
            if len(claimed) < self.leases.config.batch_size:
                return

    async def claim(self, session: AsyncSession, now: datetime) -> list[Notification]:
        """Up to a batch of notifications due at `now`, leased to this worker."""
        return await self.leases.claim(session, Notification, now)

    async def _drop_disabled(self, session: AsyncSession, claimed: list[Notification],
                             now: datetime) -> list[Notification]:
        """The claimed rows minus those to disabled people, which are cancelled: disabling a
        person cancels their pending rows, and this catches any written meanwhile."""
        disabled = set(await session.scalars(select(col(Person.id)).where(
            col(Person.id).in_({n.person_id for n in claimed}), col(Person.active).is_(False))))
        if not disabled:
            return claimed
        await session.execute(
            update(Notification).where(col(Notification.id).in_([n.id for n in claimed if n.person_id in disabled]),
                                       col(Notification.lease_owner) == self.leases.owner)
            .values(status=DeliveryStatus.CANCELLED, note="the person is disabled", lease_owner=None,
                    lease_expires_at=None, updated_at=now).execution_options(synchronize_session=False))
        return [n for n in claimed if n.person_id not in disabled]

    async def _send(self, letters: list[Letter], now: datetime, report: PassReport,
                    webhooks_wanted: bool) -> None:
        """Send a claimed batch in waves of `send_concurrency` letters, and record each wave's
        outcomes in one short transaction as soon as the wave is over.

        The rest of the batch is left alone (to be claimed again when the lease runs out) once
        this worker learns it no longer holds the lease: another worker took over a row, or the
        lease's time, as this process measures it, is nearly up.

        The mailer may keep connections open from one wave to the next (at most a wave's worth);
        they are closed when the batch is over, however it ends."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 0.9 * self.leases.config.lease.total_seconds()
        size = self.leases.config.send_concurrency

        async def send(letter: Letter) -> str | None:
            try:
                await self.mailer.send(render(letter.mail, self.settings, now))
            except Exception as failure:  # refused, timed out, or any answer but 250
                log.warning("mail %s failed: %s", letter.mail.key, failure)
                return f"{type(failure).__name__}: {failure}"[:500]
            return None

        outcomes = Outcomes(self.leases.database)
        try:
            for start in range(0, len(letters), size):
                if loop.time() > deadline:
                    return
                wave = letters[start:start + size]
                errors = await asyncio.gather(*(send(letter) for letter in wave))
                sent = [letter for letter, error in zip(wave, errors, strict=True) if error is None]
                report.mails_sent += len(sent)
                held = not sent or await self._record_sent(outcomes, sent, now, report, webhooks_wanted)
                for letter, error in zip(wave, errors, strict=True):
                    if error is not None and not await self._record_failure(outcomes, letter, error, now, report):
                        held = False
                if not held:
                    return
        finally:
            try:
                # QUIT the SMTP connections the waves shared: none outlives its batch, so none
                # goes stale (idle, or the server restarted) before the next batch or pass.
                await self.mailer.close()
            finally:
                await outcomes.close()

    async def _record_sent(self, outcomes: Outcomes, letters: list[Letter], now: datetime,
                           report: PassReport, webhooks_wanted: bool) -> bool:
        """Sent letters' rows, in one statement that checks the lease as it writes. False when a
        row was meanwhile claimed by another worker (this one's lease ran out): its outcome is
        the other worker's to record."""
        ids = [i for letter in letters for i in letter.notification_ids]
        taken: list[int] = []
        async with outcomes.transaction() as session:
            sent = list(await session.execute(MARK_SENT, {"ids": ids, "owner": self.leases.owner, "now": now}))
            report.notifications_sent += len(sent)
            if webhooks_wanted:
                await _reminder_webhooks(session, [r for r in sent if r.kind == NotificationKind.REMINDER], now)
            if len(sent) < len(ids):
                missing = set(ids) - {r.id for r in sent}
                taken = list(await session.scalars(
                    select(col(Notification.id)).where(col(Notification.id).in_(missing),
                                                       col(Notification.lease_owner).is_distinct_from(self.leases.owner),
                                                       status_is(col(Notification.status), *HELD))))
        REMINDERS_SENT.labels("email").inc(len(sent))
        if taken:
            self.leases.lost(Notification, taken, "mail rows")
        return not taken

    async def _record_failure(self, outcomes: Outcomes, letter: Letter, error: str, now: datetime,
                              report: PassReport) -> bool:
        """A letter that failed: its rows back off, or are dead after the last attempt — only
        the rows this worker still holds. Once its lease ran out and another worker claimed a
        row, that row's outcome is the other worker's to record; then False."""
        retrying = dead = 0
        async with outcomes.transaction() as session:
            rows = list(await session.scalars(locked(self.leases.database, select(Notification)
                .where(col(Notification.id).in_(letter.notification_ids)))
                .execution_options(populate_existing=True)))
            taken = [r.id for r in rows if r.lease_owner != self.leases.owner and r.status in HELD]
            for row in rows:
                if row.lease_owner != self.leases.owner or row.status != DeliveryStatus.PENDING:
                    continue
                row.lease_owner, row.lease_expires_at, row.updated_at = None, None, now
                row.last_error = error
                if row.attempts >= self.leases.config.max_attempts:
                    row.status = DeliveryStatus.DEAD
                    dead += 1
                else:
                    row.next_attempt_at = now + self.leases.config.backoff(row.attempts)
                    retrying += 1
        report.notifications_dead += dead
        report.notifications_retrying += retrying
        REMINDERS_DEAD.labels("email").inc(dead)
        REMINDERS_FAILED.labels("email").inc(retrying)
        if taken:
            self.leases.lost(Notification, taken, f"mail {letter.mail.key}")
        return not taken


async def _supersede(session: AsyncSession, now: datetime) -> int:
    """Cancel each due reminder that a later one to the same person about the same subject and
    date, also due, supersedes; the number cancelled. The same date: the same rule, or any rule
    of a deliverable (a deliverable has one date, `engine.workflow.rules.DELIVERABLE_DATES`)."""
    later = aliased(Notification)
    result = await session.execute(
        update(Notification)
        .where(col(Notification.status) == DeliveryStatus.PENDING, col(Notification.kind) == NotificationKind.REMINDER,
               col(Notification.next_attempt_at) <= now, col(Notification.send_at) <= now,
               exists().where(
                   col(later.subject_type) == col(Notification.subject_type),
                   col(later.subject_id) == col(Notification.subject_id),
                   or_(col(later.rule) == col(Notification.rule), col(Notification.subject_type) == "deliverable"),
                   col(later.person_id) == col(Notification.person_id),
                   col(later.due_on) > col(Notification.due_on),
                   col(later.send_at) <= now,
                   col(later.status).in_((DeliveryStatus.PENDING, DeliveryStatus.SENT))))
        .values(status=DeliveryStatus.CANCELLED, note=SUPERSEDED, updated_at=now)
        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


async def _reminder_webhooks(session: AsyncSession, rows: Sequence[Any], now: datetime) -> None:
    """`reminder.due` for each of `rows` (the sent rows' columns, as `MARK_SENT` returns them)."""
    if not rows or not await schedule.wants_webhook(session, "reminder.due"):
        return
    agreements = {a.id: a for a in await session.scalars(
        select(Agreement).where(col(Agreement.id).in_({r.agreement_id for r in rows}))
        .options(selectinload(Agreement.parties)))}  # type: ignore[arg-type]
    for row in rows:
        await schedule.enqueue_webhook(session, "reminder.due", agreements[row.agreement_id], now, {
            "reminder": {"id": row.id, "rule": row.rule, "subject_type": row.subject_type,
                         "subject_id": row.subject_id, "due_on": row.due_on.isoformat(),
                         "offset_days": row.offset_days, "person_id": row.person_id}})
