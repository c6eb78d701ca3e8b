"""Claiming rows with a lease, and writing their outcomes only while the lease is still held.

What the mail and webhook pollers share (the timer poller uses `claiming` and `skip_locked`
too). A claim is one short transaction (`claiming`): it picks due rows (PostgreSQL with `FOR
UPDATE SKIP LOCKED`; SQLite serialises claims with `BEGIN IMMEDIATE`), sets `lease_owner` and
`lease_expires_at`, and moves `next_attempt_at` to the lease's end, so a worker that dies
leaves its rows to be claimed again once the lease ran out.
An outcome write applies only while `lease_owner` is still this worker; one that finds a row
taken over by another worker leaves its outcome to that worker (`Leases.lost`).

Counted here (engine/metrics.py): rows claimed (`accord_reminders_due_total`), rows given up
at claim time (`accord_reminders_dead_total`), each claim transaction's time
(`accord_claim_duration_seconds`) and outcome writes refused (`accord_lease_lost_total`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from engine.db import Database
from engine.metrics import CLAIM_SECONDS, LEASE_LOST, REMINDERS_DEAD, REMINDERS_DUE
from engine.schedule import Notification, WebhookDelivery, status_is
from engine.statuses import DeliveryStatus
from notifications.worker._config import WorkerConfig

# The statuses of a row that some worker holds or has recorded: anything but cancelled. A row in
# one of them that this worker no longer leases was taken over by another.
HELD = (DeliveryStatus.PENDING, DeliveryStatus.SENT, DeliveryStatus.DEAD)

log = logging.getLogger("accord.worker")

Leased = TypeVar("Leased", Notification, WebhookDelivery)
Q = TypeVar("Q", bound=Select[Any])

# The `channel` label of a table's rows, and the `kind` label of its claims and lost leases.
CHANNEL: dict[type[Any], str] = {Notification: "email", WebhookDelivery: "webhook"}
KIND: dict[type[Any], str] = {Notification: "notification", WebhookDelivery: "webhook"}


def skip_locked(database: Database, query: Q) -> Q:
    """PostgreSQL: lock the rows read, passing over those another transaction holds."""
    return query if database.is_sqlite else query.with_for_update(skip_locked=True)


def locked(database: Database, query: Q) -> Q:
    """PostgreSQL: lock the rows read, waiting for another transaction that holds them. SQLite's
    `BEGIN IMMEDIATE` already keeps every other writer out."""
    return query if database.is_sqlite else query.with_for_update()


@contextlib.asynccontextmanager
async def claiming(database: Database, kind: str) -> AsyncIterator[AsyncSession]:
    """A write transaction whose time, start to commit, is observed as one claim of `kind`
    (timer | notification | webhook); one that raises is not observed."""
    started = time.perf_counter()
    async with database.transaction() as session:
        yield session
    CLAIM_SECONDS.labels(kind).observe(time.perf_counter() - started)


@dataclass(frozen=True)
class Leases:
    """One worker's claims: its database, its name as a lease owner, and how long a lease is."""

    database: Database
    owner: str
    config: WorkerConfig

    async def claim(self, session: AsyncSession, model: type[Leased], now: datetime) -> list[Leased]:
        """Up to `batch_size` rows of `model` due at `now`, leased to this worker, oldest first.
        A row whose leases ran out `max_attempts` times is dead, not claimed again."""
        due: ColumnElement[bool] = and_(col(model.status) == DeliveryStatus.PENDING, col(model.next_attempt_at) <= now)
        ids = list(await session.scalars(skip_locked(self.database,
            select(col(model.id)).where(due).order_by(col(model.next_attempt_at), col(model.id))
            .limit(self.config.batch_size))))
        if not ids:
            return []
        lease_end = now + self.config.lease
        given_up = list(await session.scalars(
            update(model).where(col(model.id).in_(ids), col(model.attempts) >= self.config.max_attempts)
            .values(status=DeliveryStatus.DEAD, last_error="claimed too often without an outcome; the workers "
                    "that claimed it stopped before sending")
            .returning(col(model.id)).execution_options(synchronize_session=False)))
        await session.execute(
            update(model).where(col(model.id).in_(ids), status_is(col(model.status), DeliveryStatus.PENDING))
            .values(lease_owner=self.owner, lease_expires_at=lease_end, next_attempt_at=lease_end,
                    attempts=col(model.attempts) + 1).execution_options(synchronize_session=False))
        rows = list(await session.scalars(select(model).where(
            col(model.id).in_(ids), col(model.lease_owner) == self.owner,
            status_is(col(model.status), DeliveryStatus.PENDING)).execution_options(populate_existing=True)))
        REMINDERS_DUE.labels(CHANNEL[model]).inc(len(rows))
        if given_up:
            REMINDERS_DEAD.labels(CHANNEL[model]).inc(len(given_up))
        return rows

    def lost(self, model: type[Any], ids: Collection[Any], what: str) -> None:
        """`ids`, which this worker had claimed, were claimed by another worker once this one's
        lease ran out: their outcome is the other worker's to write."""
        log.warning("%s %s: claimed by another worker after this one's lease ran out; their "
                    "outcome is left to it", what, sorted(ids))
        LEASE_LOST.labels(KIND[model]).inc(len(ids))


class Outcomes:
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
