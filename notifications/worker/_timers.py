"""Due timers fired through the engine as the scheduler, each in its own transaction.

A timer is marked `fired` and its event fired through `engine.agreements.service.fire` as
`Actor.scheduler()` in one transaction: if the event fails, the mark rolls back with it. A
person's change at the same moment (a conflict) or an unexpected error leaves the timer pending
for the next pass, `max_attempts` times at most; a guard that fails, the wrong state or a missing
agreement marks it `failed` and alerts the agreement's focal points by mail. The alert says why in
each focal point's own language: the refusal is asked for again in every language Accord speaks
(the event fired once more in each, in a transaction rolled back), and kept with the alert.

Counted (engine/metrics.py): `accord_timers_total{outcome}` and each timer's transaction in
`accord_claim_duration_seconds{kind="timer"}`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from engine import i18n
from engine.agreements.service import fire
from engine.clock import When
from engine.context import Actor
from engine.db import Database
from engine.errors import AccordError, Conflict
from engine.metrics import TIMERS
from engine.models import Agreement, Contact, Person
from engine.schedule import Notification, Timer, status_is
from engine.statuses import ContactKind, Language, NotificationKind, TimerStatus
from notifications.worker._config import PassReport, WorkerConfig
from notifications.worker._leases import claiming, skip_locked

log = logging.getLogger("accord.worker")


def _claim_timer() -> Update:
    """A due timer marked `fired` (only while still pending), before its event is fired in the
    same transaction: the change's own re-derivation of timers then leaves it be, and if the
    event fails the mark rolls back with it. Returns what to fire. Built once."""
    table = Timer.__table__  # type: ignore[attr-defined]
    c = table.c
    now = bindparam("now", type_=c.fired_at.type)
    return (update(table)
            .where(c.id == bindparam("timer_id"), status_is(c.status, TimerStatus.PENDING))
            .values(status=TimerStatus.FIRED, fired_at=now, updated_at=now, attempts=c.attempts + 1)
            .returning(c.agreement_id, c.event))


CLAIM_TIMER = _claim_timer()


class TimerPoller:
    def __init__(self, database: Database, config: WorkerConfig) -> None:
        self.database = database
        self.config = config

    async def run(self, when: When, report: PassReport) -> None:
        """Every timer due by `when.today`. On PostgreSQL the timers of different agreements
        fire side by side (`timer_concurrency` at a time, each its own connection); one
        agreement's timers always fire one after another, in the order they were made."""
        last_id = 0
        concurrency = 1 if self.database.is_sqlite else self.config.timer_concurrency
        slots = asyncio.Semaphore(concurrency)

        async def fire_in_order(timer_ids: list[int]) -> None:
            async with slots:
                for timer_id in timer_ids:
                    await self._fire(timer_id, when, report)

        while True:
            async with self.database.transaction(write=False) as session:
                rows = (await session.execute(
                    select(col(Timer.id), col(Timer.agreement_id))
                    .where(col(Timer.status) == TimerStatus.PENDING, col(Timer.due_on) <= when.today,
                           col(Timer.id) > last_id)
                    .order_by(col(Timer.id)).limit(self.config.batch_size))).all()
            by_agreement: dict[int, list[int]] = defaultdict(list)
            for timer_id, agreement_id in rows:
                by_agreement[agreement_id].append(timer_id or 0)
            await asyncio.gather(*(fire_in_order(ids) for ids in by_agreement.values()))
            if len(rows) < self.config.batch_size:
                return
            last_id = rows[-1][0] or 0

    async def _fire(self, timer_id: int, when: When, report: PassReport) -> None:
        try:
            async with claiming(self.database, "timer") as session:
                await self._lock_agreement_of(session, timer_id)
                claimed = (await session.execute(CLAIM_TIMER, {"timer_id": timer_id, "now": when.now})).first()
                if claimed is None:
                    return  # another worker fired it, or a change cancelled it
                await fire(session, claimed.agreement_id, claimed.event, Actor.scheduler(), when)
            report.timers_fired += 1
            TIMERS.labels("fired").inc()
        except Conflict as error:  # a person changed the agreement at the same moment: next pass
            await self._retry(timer_id, error.detail, when, report)
        except AccordError as error:  # a guard, the state, or a missing agreement: tell people
            await self._fail(timer_id, error.detail, when, await self._refusals(timer_id, when, error))
            report.timers_failed += 1
        except Exception as error:  # one broken timer must not hold up the rest of the pass
            log.exception("timer %s raised", timer_id)
            await self._retry(timer_id, f"{type(error).__name__}: {error}"[:500], when, report)

    async def _lock_agreement_of(self, session: AsyncSession, timer_id: int) -> None:
        """PostgreSQL: lock the timer's agreement before the timer. A person's change locks the
        agreement (its version) and then re-derives its timers; taking the locks in the same order
        here keeps a change and a firing timer from deadlocking (one of them would fail)."""
        if self.database.is_sqlite:
            return
        agreement_id = select(col(Timer.agreement_id)).where(col(Timer.id) == timer_id).scalar_subquery()
        await session.execute(select(col(Agreement.id)).where(col(Agreement.id) == agreement_id)
                              .with_for_update())

    async def _retry(self, timer_id: int, reason: str, when: When, report: PassReport) -> None:
        async with self.database.transaction() as session:
            timer = await session.get(Timer, timer_id)
            if timer is None or timer.status != TimerStatus.PENDING:
                return
            timer.attempts += 1
            timer.last_error, timer.updated_at = reason, when.now
            attempts = timer.attempts
        if attempts >= self.config.max_attempts:
            given_up: dict[str, str] = {}
            for language in Language:
                with i18n.reading(language):
                    given_up[language] = i18n.ngettext(
                        "Accord gave up after %(num)s attempt: %(error)s",
                        "Accord gave up after %(num)s attempts: %(error)s", attempts) % {
                        "num": attempts, "error": reason}
            await self._fail(timer_id, f"gave up after {attempts} attempts: {reason}", when, given_up)
            report.timers_failed += 1
        else:
            log.info("timer %s will be retried: %s", timer_id, reason)
            TIMERS.labels("retrying").inc()

    async def _refusals(self, timer_id: int, when: When, refused: AccordError) -> dict[str, str]:
        """Why the timer's event was refused, in each language Accord speaks: `refused` says it in
        the language it was written in; for each other, the event is fired again in that language,
        in a transaction rolled back whatever happens. A language that cannot be had (the event went
        through this time, the timer is gone, the database failed) is left out: the alert then says
        the first refusal. Nothing here stops the pass."""
        refusals = {str(refused.language): refused.detail}
        for language in Language:
            if language in refusals:
                continue
            try:
                async with self.database.transaction() as session:
                    timer = await session.get(Timer, timer_id)
                    if timer is None:
                        break
                    with i18n.reading(language):
                        await fire(session, timer.agreement_id, timer.event, Actor.scheduler(), when)
                    raise _Undo
            except AccordError as error:
                refusals[language] = error.detail
            except _Undo:
                pass
            except Exception:  # the alert goes out all the same, in the languages it has
                log.exception("timer %s: its refusal could not be asked for in %s", timer_id, language)
        return refusals

    async def _fail(self, timer_id: int, reason: str, when: When, reasons: dict[str, str]) -> None:
        """The timer `failed`, and a mail to each active focal point of its agreement, saying
        `reasons` in its reader's language (else `reason`)."""
        async with self.database.transaction() as session:
            timer = await session.scalar(skip_locked(self.database,
                select(Timer).where(col(Timer.id) == timer_id, col(Timer.status) == TimerStatus.PENDING)))
            if timer is None:
                return
            timer.status, timer.last_error, timer.updated_at = TimerStatus.FAILED, reason, when.now
            focal_points = set(await session.scalars(
                select(col(Contact.person_id)).join(Person, col(Person.id) == col(Contact.person_id))
                .where(col(Contact.agreement_id) == timer.agreement_id, col(Contact.kind) == ContactKind.FOCAL_POINT,
                       col(Person.active).is_(True))))
            for person_id in sorted(focal_points):
                session.add(Notification(
                    kind=NotificationKind.ALERT, agreement_id=timer.agreement_id, subject_type="agreement",
                    subject_id=timer.agreement_id, rule=f"timer_failed:{timer.event}",
                    due_on=timer.due_on, person_id=person_id, send_at=when.now,
                    next_attempt_at=when.now, data={"event": timer.event, "reason": reason, "reasons": reasons},
                    created_at=when.now, updated_at=when.now))
        TIMERS.labels("failed").inc()
        log.warning("timer %s could not fire, focal points alerted: %s", timer_id, reason)


class _Undo(Exception):
    """Raised to roll back a transaction that only asked the engine something."""
