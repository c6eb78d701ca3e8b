"""The claim loop: fire due timers, send due mail, deliver due webhooks — as of a given instant.

    run_once(settings, now)   async: one pass as of `now` (`accord worker --once --now ...`)
    run_forever(settings)     async: a pass every `scheduler_interval_seconds` until cancelled
    Scheduler(settings, ...)  the same loop inside the API process: `await start()`, `await stop()`
    Worker(database, settings, ...).run_pass(now)   what all of them call

A timer is fired in one transaction with its own status change, through `engine.events.fire`
as `Actor.scheduler()`; a guard that fails marks it `failed` and alerts the focal points.

Mail and webhooks leave the database, so they are claimed first: one short transaction sets
`lease_owner`, `lease_expires_at` and moves `next_attempt_at` to the lease's end (PostgreSQL
with `FOR UPDATE SKIP LOCKED`; SQLite serialises claims with `BEGIN IMMEDIATE`), then the
worker sends them in waves of `send_concurrency` (mail over at most as many SMTP
connections, kept open from wave to wave and closed when the batch is done), and records each
wave's outcomes in one short transaction the moment its send is over: `sent` — or the error,
with exponential back-off, and `dead` after `max_attempts`. That write applies only while the
row's `lease_owner` is still this worker. A worker that dies after its claim leaves the rows it
had not finished to be claimed again once the lease has run out. The unique key of a
notification makes a second row impossible; a second send happens only for a mail the SMTP
server accepted in the instant before its worker died and its outcome was written, and it
carries the same Message-ID (`accord-<row ids>@accord`), so mail systems can drop the copy.

After downtime each due row is sent once, late. Where several offsets of one rule fell due
for the same subject and person (a month away: the 30-day and the 7-day review reminders),
only the latest is sent; the earlier ones are cancelled with note `superseded`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import ColumnElement, Update, and_, bindparam, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased, selectinload
from sqlmodel import col

from engine import schedule
from engine.clock import Clock, SystemClock, When
from engine.context import Actor
from engine.db import Database
from engine.errors import AccordError, Conflict
from engine.events import fire
from engine.machine import catalog
from engine.models import Agreement, Contact, Deliverable, Person
from engine.schedule import (
    ALERT,
    CANCELLED,
    DEAD,
    FAILED,
    FIRED,
    PENDING,
    SENT,
    SUPERSEDED,
    Notification,
    NotificationPreference,
    Timer,
    WebhookDelivery,
    WebhookSubscription,
    status_is,
)
from engine.settings import Settings
from notifications import webhooks
from notifications.email import Mail, Mailer, MailItem, mailer_for, render, when_phrase
from workflows.definition import ReminderSpec

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
                   status_is(c.status, PENDING))
            .values(status=SENT, sent_at=now, last_error=None, lease_owner=None, lease_expires_at=None,
                    updated_at=now)
            .returning(c.id, c.kind, c.agreement_id, c.rule, c.subject_type, c.subject_id, c.due_on,
                       c.offset_days, c.person_id))


_MARK_SENT = _mark_sent()


def _claim_timer() -> Update:
    """A due timer marked `fired` (only while still pending), before its event is fired in the
    same transaction: the change's own re-derivation of timers then leaves it be, and if the
    event fails the mark rolls back with it. Returns what to fire. Built once."""
    table = Timer.__table__  # type: ignore[attr-defined]
    c = table.c
    now = bindparam("now", type_=c.fired_at.type)
    return (update(table)
            .where(c.id == bindparam("timer_id"), status_is(c.status, PENDING))
            .values(status=FIRED, fired_at=now, updated_at=now, attempts=c.attempts + 1)
            .returning(c.agreement_id, c.event))


_CLAIM_TIMER = _claim_timer()


@dataclass(frozen=True)
class WorkerConfig:
    batch_size: int = 500
    send_concurrency: int = 10
    timer_concurrency: int = 4  # PostgreSQL: agreements whose timers fire side by side
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 8
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(hours=6)

    def backoff(self, attempts: int) -> timedelta:
        """The wait before attempt `attempts + 1`: 30 s, 1 min, 2 min, ... at most 6 h."""
        wait: timedelta = self.backoff_base * 2 ** max(attempts - 1, 0)
        return min(wait, self.backoff_max)


@dataclass
class PassReport:
    timers_fired: int = 0
    timers_failed: int = 0
    superseded: int = 0
    notifications_sent: int = 0
    mails_sent: int = 0
    notifications_retrying: int = 0
    notifications_dead: int = 0
    webhooks_delivered: int = 0
    webhooks_retrying: int = 0
    webhooks_dead: int = 0
    webhooks_cancelled: int = 0

    def __str__(self) -> str:
        return ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


def _default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class _Letter:
    mail: Mail
    notification_ids: tuple[int, ...]


class _Outcomes:
    """The short transactions in which one batch's outcomes are written, a wave at a time.

    On PostgreSQL they share one connection and session, held for the batch: taking a
    connection from the pool for each wave costs a pre-ping (three round trips: BEGIN, `;`,
    ROLLBACK) on top of the wave's own BEGIN, UPDATE and COMMIT. On SQLite each is a
    `Database.transaction()`, for this process's write lock and `BEGIN IMMEDIATE`. Either way
    each wave commits on its own, and starts from an empty identity map."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._connection: AsyncConnection | None = None
        self._session: AsyncSession | None = None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        if self.database.is_sqlite:
            async with self.database.transaction() as session:
                yield session
            return
        if self._session is None:
            self._connection = await self.database.engine.connect()
            # Bound to a connection outside any transaction, the session begins one at its
            # first statement and commits it: each wave is its own transaction.
            self._session = AsyncSession(bind=self._connection, expire_on_commit=False)
        session = self._session
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            session.expunge_all()  # the next wave reads its rows afresh, as a new session would

    async def close(self) -> None:
        session, connection, self._session, self._connection = self._session, self._connection, None, None
        if session is not None:
            await session.close()
        if connection is not None:
            await connection.close()


@dataclass
class Worker:
    database: Database
    settings: Settings
    owner: str = field(default_factory=_default_owner)
    config: WorkerConfig = field(default_factory=WorkerConfig)
    mailer: Mailer | None = None
    http: httpx.AsyncClient | None = None
    # Stamps each webhook attempt (`webhook-timestamp`): receivers compare it with their own
    # clock, so it is the time of sending, not the instant a pass is run "as of".
    clock: Clock = field(default_factory=SystemClock)

    def __post_init__(self) -> None:
        if self.mailer is None:
            # A wave's connections are reused by the next waves of the batch (see _send_letters).
            self.mailer = mailer_for(self.settings, keep_open=self.config.send_concurrency)

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

    # --- timers -------------------------------------------------------------------------------

    async def fire_due_timers(self, when: When, report: PassReport) -> None:
        """Every due timer, each in its own transaction. On PostgreSQL the timers of different
        agreements fire side by side (`timer_concurrency` at a time, each its own connection);
        one agreement's timers always fire one after another, in the order they were made."""
        last_id = 0
        concurrency = 1 if self.database.is_sqlite else self.config.timer_concurrency
        slots = asyncio.Semaphore(concurrency)

        async def fire_in_order(timer_ids: list[int]) -> None:
            async with slots:
                for timer_id in timer_ids:
                    await self._fire_timer(timer_id, when, report)

        while True:
            async with self.database.transaction(write=False) as session:
                rows = (await session.execute(
                    select(col(Timer.id), col(Timer.agreement_id))
                    .where(col(Timer.status) == PENDING, col(Timer.due_on) <= when.today, col(Timer.id) > last_id)
                    .order_by(col(Timer.id)).limit(self.config.batch_size))).all()
            by_agreement: dict[int, list[int]] = defaultdict(list)
            for timer_id, agreement_id in rows:
                by_agreement[agreement_id].append(timer_id or 0)
            await asyncio.gather(*(fire_in_order(ids) for ids in by_agreement.values()))
            if len(rows) < self.config.batch_size:
                return
            last_id = rows[-1][0] or 0

    async def _fire_timer(self, timer_id: int, when: When, report: PassReport) -> None:
        try:
            async with self.database.transaction() as session:
                await self._lock_agreement_of(session, timer_id)
                claimed = (await session.execute(_CLAIM_TIMER, {"timer_id": timer_id, "now": when.now})).first()
                if claimed is None:
                    return  # another worker fired it, or a change cancelled it
                await fire(session, claimed.agreement_id, claimed.event, Actor.scheduler(), when)
            report.timers_fired += 1
        except Conflict as error:  # a person changed the agreement at the same moment: next pass
            await self._timer_retry(timer_id, error.detail, when, report)
        except AccordError as error:  # a guard, the state, or a missing agreement: tell people
            await self._timer_failed(timer_id, error.detail, when)
            report.timers_failed += 1
        except Exception as error:  # one broken timer must not hold up the rest of the pass
            log.exception("timer %s raised", timer_id)
            await self._timer_retry(timer_id, f"{type(error).__name__}: {error}"[:500], when, report)

    async def _lock_agreement_of(self, session: AsyncSession, timer_id: int) -> None:
        """PostgreSQL: lock the timer's agreement before the timer. A person's change locks the
        agreement (its version) and then re-derives its timers; taking the locks in the same order
        here keeps a change and a firing timer from deadlocking (one of them would fail)."""
        if self.database.is_sqlite:
            return
        agreement_id = select(col(Timer.agreement_id)).where(col(Timer.id) == timer_id).scalar_subquery()
        await session.execute(select(col(Agreement.id)).where(col(Agreement.id) == agreement_id)
                              .with_for_update())

    async def _timer_retry(self, timer_id: int, reason: str, when: When, report: PassReport) -> None:
        async with self.database.transaction() as session:
            timer = await session.get(Timer, timer_id)
            if timer is None or timer.status != PENDING:
                return
            timer.attempts += 1
            timer.last_error, timer.updated_at = reason, when.now
            attempts = timer.attempts
        if attempts >= self.config.max_attempts:
            await self._timer_failed(timer_id, f"gave up after {attempts} attempts: {reason}", when)
            report.timers_failed += 1
        else:
            log.info("timer %s will be retried: %s", timer_id, reason)

    async def _timer_failed(self, timer_id: int, reason: str, when: When) -> None:
        async with self.database.transaction() as session:
            timer = await session.scalar(self._lock(
                select(Timer).where(col(Timer.id) == timer_id, col(Timer.status) == PENDING)))
            if timer is None:
                return
            timer.status, timer.last_error, timer.updated_at = FAILED, reason, when.now
            focal_points = set(await session.scalars(
                select(col(Contact.person_id)).join(Person, col(Person.id) == col(Contact.person_id))
                .where(col(Contact.agreement_id) == timer.agreement_id, col(Contact.kind) == "focal_point",
                       col(Person.active).is_(True))))
            for person_id in sorted(focal_points):
                session.add(Notification(
                    kind=ALERT, agreement_id=timer.agreement_id, subject_type="agreement",
                    subject_id=timer.agreement_id, rule=f"timer_failed:{timer.event}",
                    due_on=timer.due_on, person_id=person_id, send_at=when.now,
                    next_attempt_at=when.now, data={"event": timer.event, "reason": reason},
                    created_at=when.now, updated_at=when.now))
        log.warning("timer %s could not fire, focal points alerted: %s", timer_id, reason)

    # --- claiming -----------------------------------------------------------------------------

    def _lock(self, query: Any) -> Any:
        return query if self.database.is_sqlite else query.with_for_update(skip_locked=True)

    async def _claim(self, session: AsyncSession, model: type[Notification] | type[WebhookDelivery],
                     now: datetime) -> list[Any]:
        due: ColumnElement[bool] = and_(col(model.status) == PENDING,
                                        col(model.next_attempt_at) <= now)
        ids = list(await session.scalars(self._lock(
            select(col(model.id)).where(due).order_by(col(model.next_attempt_at), col(model.id))
            .limit(self.config.batch_size))))
        if not ids:
            return []
        lease_end = now + self.config.lease
        # A row whose leases ran out `max_attempts` times is dead, not claimed again.
        await session.execute(
            update(model).where(col(model.id).in_(ids), col(model.attempts) >= self.config.max_attempts)
            .values(status=DEAD, last_error="claimed too often without an outcome; the workers "
                    "that claimed it stopped before sending").execution_options(synchronize_session=False))
        await session.execute(
            update(model).where(col(model.id).in_(ids), status_is(col(model.status), PENDING))
            .values(lease_owner=self.owner, lease_expires_at=lease_end, next_attempt_at=lease_end,
                    attempts=col(model.attempts) + 1).execution_options(synchronize_session=False))
        rows = await session.scalars(select(model).where(
            col(model.id).in_(ids), col(model.lease_owner) == self.owner,
            status_is(col(model.status), PENDING)).execution_options(populate_existing=True))
        return list(rows)

    async def _supersede(self, session: AsyncSession, now: datetime) -> int:
        later = aliased(Notification)
        result = await session.execute(
            update(Notification)
            .where(col(Notification.status) == PENDING, col(Notification.kind) == schedule.REMINDER,
                   col(Notification.next_attempt_at) <= now, col(Notification.send_at) <= now,
                   exists().where(
                       col(later.subject_type) == col(Notification.subject_type),
                       col(later.subject_id) == col(Notification.subject_id),
                       col(later.rule) == col(Notification.rule),
                       col(later.person_id) == col(Notification.person_id),
                       col(later.due_on) > col(Notification.due_on),
                       col(later.send_at) <= now,
                       col(later.status).in_((PENDING, SENT))))
            .values(status=CANCELLED, note=SUPERSEDED, updated_at=now)
            .execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)

    # --- mail ---------------------------------------------------------------------------------

    async def send_due_notifications(self, now: datetime, report: PassReport) -> None:
        while True:
            async with self.database.transaction() as session:
                report.superseded += await self._supersede(session, now)
                claimed: list[Notification] = await self._claim(session, Notification, now)
                letters = await self._letters(session, await self._drop_disabled(session, claimed, now),
                                              now) if claimed else []
                # Asked once a batch, not once a mail: a subscription made while a batch is being
                # sent sees `reminder.due` from the next batch on.
                wanted = bool(letters) and await schedule.wants_webhook(session, "reminder.due")
            await self._send_letters(letters, now, report, wanted)
            if len(claimed) < self.config.batch_size:
                return

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
                                       col(Notification.lease_owner) == self.owner)
            .values(status=CANCELLED, note="the person is disabled", lease_owner=None, lease_expires_at=None,
                    updated_at=now).execution_options(synchronize_session=False))
        return [n for n in claimed if n.person_id not in disabled]

    async def _letters(self, session: AsyncSession, claimed: list[Notification],
                       now: datetime) -> list[_Letter]:
        # Only the columns a mail shows: these are read for every claimed batch.
        person_ids = {n.person_id for n in claimed}
        people = {p.id: p for p in await session.execute(
            select(col(Person.id), col(Person.name), col(Person.email)).where(col(Person.id).in_(person_ids)))}
        agreements = {a.id: a for a in await session.execute(
            select(col(Agreement.id), col(Agreement.title), col(Agreement.workflow_name),
                   col(Agreement.workflow_version))
            .where(col(Agreement.id).in_({n.agreement_id for n in claimed})))}
        deliverable_ids = {n.subject_id for n in claimed if n.subject_type == "deliverable"}
        deliverables = {d.id: d.title for d in await session.execute(
            select(col(Deliverable.id), col(Deliverable.title))
            .where(col(Deliverable.id).in_(deliverable_ids)))} if deliverable_ids else {}
        digest = set(await session.scalars(select(col(NotificationPreference.person_id)).where(
            col(NotificationPreference.person_id).in_(person_ids),
            col(NotificationPreference.daily_digest).is_(True))))

        groups: dict[tuple[int, str], list[Notification]] = defaultdict(list)
        for n in sorted(claimed, key=lambda n: (n.person_id, n.due_on, n.id or 0)):
            # due_on is the recipient's own day (a reminder is sent on it at their local morning).
            group = f"day:{n.due_on.isoformat()}" if n.person_id in digest else f"n:{n.id}"
            groups[(n.person_id, group)].append(n)
        letters: list[_Letter] = []
        today = now.astimezone(self.settings.zone).date()
        specs: dict[tuple[str, int, str], ReminderSpec | None] = {}
        for (person_id, _), members in groups.items():
            person = people[person_id]
            items = tuple(self._item(n, agreements[n.agreement_id],
                                     deliverables.get(n.subject_id) if n.subject_type == "deliverable" else None,
                                     today, specs) for n in members)
            ids = tuple(n.id or 0 for n in members)
            if len(items) == 1:
                subject = f"{items[0].title}: {items[0].agreement_title}"
                if items[0].subject_title:
                    subject += f" — {items[0].subject_title}"
            else:
                subject = f"Accord: {len(items)} reminders for {members[0].due_on.isoformat()}"
            key = "accord-" + "-".join(str(i) for i in ids[:20])
            letters.append(_Letter(Mail(key=key, to_name=person.name, to_address=person.email,
                                        subject=subject, items=items), ids))
        return letters

    def _item(self, n: Notification, agreement: Any, deliverable_title: str | None, today: date,
              specs: dict[tuple[str, int, str], ReminderSpec | None]) -> MailItem:
        """One reminder or alert as a mail shows it. `agreement` has the agreement's id, title,
        workflow_name and workflow_version; `specs` caches the reminder rules looked up."""
        link = f"{self.settings.base_url.rstrip('/')}/api/v1/agreements/{agreement.id}"
        if n.kind == ALERT:
            reason = (n.data or {}).get("reason", "")
            event = (n.data or {}).get("event", "")
            return MailItem(
                title=f"Scheduled '{event}' could not run", agreement_title=agreement.title,
                subject_title=None, date_label="Was due on", date=n.due_on,
                when_phrase=when_phrase(n.due_on, today),
                action=f"{reason} Correct the agreement, then fire '{event}' by hand.", link=link)
        rule = (agreement.workflow_name, agreement.workflow_version, n.rule)
        if rule not in specs:
            specs[rule] = next((r for r in catalog().get(agreement.workflow_name, agreement.workflow_version)
                                .spec.reminders if r.name == n.rule), None)
        spec = specs[rule]
        title = spec.title if spec else n.rule.replace("_", " ").capitalize()
        action = spec.action if spec else "Open the agreement in Accord."
        event_day: date = n.due_on - timedelta(days=n.offset_days)
        label = {"next_review_on": "Review date", "ends_on": "End date",
                 "notice_deadline": "Notice deadline", "due_on": "Due date",
                 "submitted_on": "Submitted for signature on"}.get(spec.date_name if spec else "", "Date")
        return MailItem(title=title, action=action, agreement_title=agreement.title,
                        subject_title=deliverable_title,
                        date_label=label, date=event_day, when_phrase=when_phrase(event_day, today),
                        link=link, escalated=bool((n.data or {}).get("escalated")))

    async def _send_letters(self, letters: list[_Letter], now: datetime, report: PassReport,
                            webhooks_wanted: bool = False) -> None:
        """Send a claimed batch in waves of `send_concurrency` letters, and record each wave's
        outcomes in one short transaction as soon as the wave is over: a worker killed mid-batch
        leaves at most one wave sent but unrecorded, to be sent again, not the whole batch.

        The rest of the batch is left alone (to be claimed again when the lease runs out) once
        this worker learns it no longer holds the lease: another worker took over a row, or the
        lease's time, as this process measures it, is nearly up.

        The mailer may keep connections open from one wave to the next (at most a wave's worth);
        they are closed when the batch is over, however it ends."""
        mailer = self.mailer
        assert mailer is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 0.9 * self.config.lease.total_seconds()
        size = self.config.send_concurrency

        async def send(letter: _Letter) -> str | None:
            try:
                await mailer.send(render(letter.mail, self.settings, now))
            except Exception as failure:  # refused, timed out, or any answer but 250
                log.warning("mail %s failed: %s", letter.mail.key, failure)
                return f"{type(failure).__name__}: {failure}"[:500]
            return None

        outcomes = _Outcomes(self.database)
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
                    if error is not None and not await self._record_letter(
                            outcomes, letter, error, now, report, webhooks_wanted):
                        held = False
                if not held:
                    return
        finally:
            try:
                # QUIT the SMTP connections the waves shared: none outlives its batch, so none
                # goes stale (idle, or the server restarted) before the next batch or pass.
                await mailer.close()
            finally:
                await outcomes.close()

    async def _record_sent(self, outcomes: _Outcomes, letters: list[_Letter], now: datetime,
                           report: PassReport, webhooks_wanted: bool) -> bool:
        """Sent letters' rows, in one statement that checks the lease as it writes. False when a
        row was meanwhile claimed by another worker (this one's lease ran out): its outcome is
        the other worker's to record."""
        ids = [i for letter in letters for i in letter.notification_ids]
        async with outcomes.transaction() as session:
            sent = list(await session.execute(_MARK_SENT, {"ids": ids, "owner": self.owner, "now": now}))
            report.notifications_sent += len(sent)
            if webhooks_wanted:
                await self._reminder_webhooks(session, [r for r in sent if r.kind == schedule.REMINDER], now)
            if len(sent) == len(ids):
                return True
            missing = set(ids) - {r.id for r in sent}
            taken = list(await session.scalars(
                select(col(Notification.id)).where(col(Notification.id).in_(missing),
                                                   col(Notification.lease_owner).is_distinct_from(self.owner),
                                                   status_is(col(Notification.status), PENDING, SENT, DEAD))))
        if taken:
            log.warning("mail rows %s were claimed by another worker after this one's lease ran out; "
                        "their outcome is left to it", taken)
        return not taken

    async def _record_letter(self, outcomes: _Outcomes, letter: _Letter, error: str | None,
                             now: datetime, report: PassReport, webhooks_wanted: bool) -> bool:
        """One letter's rows: sent (with their `reminder.due` webhooks), back-off, or dead — only
        the rows this worker still holds. Once its lease ran out and another worker claimed a
        row, that row's outcome is the other worker's to record; then False."""
        held: ColumnElement[bool] = and_(col(Notification.id).in_(letter.notification_ids),
                                         col(Notification.lease_owner) == self.owner,
                                         status_is(col(Notification.status), PENDING))
        just_sent: set[int | None] = set()
        async with outcomes.transaction() as session:
            if error is None:  # the common case in one statement: the lease is checked as it writes
                sent = list(await session.scalars(
                    update(Notification).where(held)
                    .values(status=SENT, sent_at=now, last_error=None, lease_owner=None,
                            lease_expires_at=None, updated_at=now)
                    .returning(Notification).execution_options(synchronize_session=False)))
                report.notifications_sent += len(sent)
                just_sent = {r.id for r in sent}
                if webhooks_wanted:
                    await self._reminder_webhooks(session, [r for r in sent if r.kind == schedule.REMINDER], now)
                if len(sent) == len(letter.notification_ids):
                    return True
            query = select(Notification).where(col(Notification.id).in_(letter.notification_ids))
            if not self.database.is_sqlite:  # SQLite's BEGIN IMMEDIATE already excludes other writers
                query = query.with_for_update()
            rows = list(await session.scalars(query.execution_options(populate_existing=True)))
            mine = [r for r in rows if r.lease_owner == self.owner and r.status == PENDING]
            taken = [r.id for r in rows if r.id not in just_sent and r.lease_owner != self.owner
                     and r.status in (PENDING, SENT, DEAD)]
            if taken:
                log.warning("mail %s: rows %s were claimed by another worker after this one's "
                            "lease ran out; their outcome is left to it", letter.mail.key, taken)
            for row in mine if error is not None else []:
                row.lease_owner, row.lease_expires_at, row.updated_at = None, None, now
                if row.attempts >= self.config.max_attempts:
                    row.status, row.last_error = DEAD, error
                    report.notifications_dead += 1
                else:
                    row.last_error = error
                    row.next_attempt_at = now + self.config.backoff(row.attempts)
                    report.notifications_retrying += 1
        return not taken

    async def _reminder_webhooks(self, session: AsyncSession, rows: Sequence[Any], now: datetime) -> None:
        """`reminder.due` for each of `rows` (notifications, or rows with their columns)."""
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

    # --- webhooks -----------------------------------------------------------------------------

    async def deliver_due_webhooks(self, now: datetime, report: PassReport) -> None:
        # Made when the first delivery is claimed: building its TLS context costs tens of
        # milliseconds, more than a pass with nothing to post costs in all.
        client = self.http
        try:
            while True:
                async with self.database.transaction() as session:
                    claimed: list[WebhookDelivery] = await self._claim(session, WebhookDelivery, now)
                    subscriptions = {s.id: s for s in await session.scalars(select(WebhookSubscription).where(
                        col(WebhookSubscription.id).in_({d.subscription_id for d in claimed})))} if claimed else {}
                if claimed and client is None:
                    client = webhooks.client(allow_private=self.settings.webhook_allow_private)
                gone: set[int] = set()
                deadline = asyncio.get_running_loop().time() + 0.9 * self.config.lease.total_seconds()
                for delivery in claimed:
                    if asyncio.get_running_loop().time() > deadline:
                        break  # the lease is nearly up: the rest is claimed again after it
                    subscription = subscriptions[delivery.subscription_id]
                    if not subscription.active or delivery.subscription_id in gone:
                        await self._finish_delivery(delivery, None, now, report)
                        continue
                    assert client is not None
                    outcome = await webhooks.post(client, url=subscription.url,
                                                  secret=subscription.secret,
                                                  delivery_id=delivery.id, event=delivery.event,
                                                  body=delivery.body, sent_at=self.clock.now())
                    if outcome.gone:
                        gone.add(delivery.subscription_id)
                    if not await self._finish_delivery(delivery, outcome, now, report):
                        break  # another worker took over after this one's lease ran out
                if len(claimed) < self.config.batch_size:
                    return
        finally:
            if self.http is None and client is not None:
                await client.aclose()

    async def _finish_delivery(self, delivery: WebhookDelivery, outcome: webhooks.Outcome | None,
                               now: datetime, report: PassReport) -> bool:
        """Recorded as soon as the receiver answered, in a transaction of its own, and only while
        this worker still holds the lease (see `_record_letter`); False when another worker
        took the delivery over."""
        async with self.database.transaction() as session:
            query = select(WebhookDelivery).where(col(WebhookDelivery.id) == delivery.id)
            if not self.database.is_sqlite:
                query = query.with_for_update()
            row = await session.scalar(query.execution_options(populate_existing=True))
            if row is None or row.lease_owner != self.owner:
                taken = row is not None and row.status in (PENDING, SENT, DEAD)
                if taken:
                    log.warning("webhook delivery %s was claimed by another worker after this "
                                "one's lease ran out; its outcome is left to it", delivery.id)
                return not taken
            row.lease_owner, row.lease_expires_at = None, None
            if outcome is None:
                row.status, row.last_error = CANCELLED, "the subscription is disabled"
                report.webhooks_cancelled += 1
                return True
            row.response_status = outcome.status
            if outcome.delivered:
                row.status, row.delivered_at, row.last_error = SENT, now, None
                report.webhooks_delivered += 1
            elif outcome.gone:
                row.status, row.last_error = CANCELLED, outcome.error
                report.webhooks_cancelled += 1
                await session.execute(
                    update(WebhookSubscription).where(col(WebhookSubscription.id) == row.subscription_id)
                    .values(active=False, disabled_at=now, disabled_reason=outcome.error))
                await session.execute(
                    update(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == row.subscription_id,
                                                  col(WebhookDelivery.status) == PENDING,
                                                  col(WebhookDelivery.id) != row.id)
                    .values(status=CANCELLED, last_error="the subscription is disabled")
                    .execution_options(synchronize_session=False))
            elif outcome.refused or row.attempts >= self.config.max_attempts:
                row.status, row.last_error = DEAD, outcome.error
                report.webhooks_dead += 1
            else:
                row.last_error = outcome.error
                row.next_attempt_at = now + self.config.backoff(row.attempts)
                report.webhooks_retrying += 1
        return True


# --- entry points -----------------------------------------------------------------------------

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
