"""Every future thing is a row, written in the transaction that makes it due.

    timer                    fire `event` on an agreement on `due_on` (a day in Accord's calendar)
    notification             one mail to one person about one subject, rule and date — the outbox;
                             unique (subject_type, subject_id, rule, due_on, person_id), so a
                             second send is impossible however many workers run
    notification_preference  a person's choice of a daily digest
    webhook_subscription     url, secret and the events it wants
    webhook_delivery         one POST of one event to one subscription; its id is the stable
                             `webhook-id` (and `X-Accord-Delivery`) header

`follow(session, agreement, change, when, rows)` is called by the one way in
(`engine.agreements.service.apply`) after it wrote a change, in the same transaction: from the
agreement as the change left it (a snapshot) it re-derives that agreement's pending timers and
reminders from its workflow's `timers:` and `reminders:` — only those the change can move (a new
title moves none; a new state, date, person or deliverable does) — inserting missing rows and
cancelling rows that became moot (state left, date moved, deliverable done, person no longer
named), and enqueues the change's webhook deliveries. It touches one agreement's rows, compared
against `rows`, read with the agreement (`engine.agreements.snapshot.load_for_change`).
`reschedule` re-derives without a change (a person disabled or enabled again); `retime_reminders`
moves pending reminders to the send time of their recipient's time zone once it changed (a
person's own, or their organisation's for those without one).

Recipients, by the names workflow files use:
    focal_points          every party's focal points
    signatories           every party's signatories
    unsigned_signatories  the signatories of signing parties that have not signed
    owner                 a deliverable's owner
    party_focal_points    for a deliverable, the other focal points of its owner's party
                          (the escalation); for an agreement, every focal point
    secretariat           for a deliverable, the focal points of the other parties; for an
                          agreement, every focal point
A disabled person (`Person.active` false) is none of these: no reminder row is written for them,
and the rows they had are cancelled when they are disabled (`engine.directory.service.update_person`).

A reminder is sent at `SEND_HOUR` in the recipient's time zone (person, else organisation) on
its day. An offset that is already past when its row would be written is written only if it
fell due in the last `CATCH_UP` (a late reminder, once); older ones are not written at all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Index,
    Insert,
    Table,
    Text,
    UniqueConstraint,
    Update,
    bindparam,
    select,
)
from sqlmodel import Field, SQLModel, col

from engine.agreements.changes import ChangeSet
from engine.agreements.values import AgreementSnapshot, DeliverableValue
from engine.clock import When
from engine.days import iso, usable
from engine.db import Executor
from engine.models import Agreement, Organisation, Person, instant, long_text
from engine.statuses import (
    ContactKind,
    DeliverableStatus,
    DeliveryStatus,
    HistoryKind,
    NotificationKind,
    PartyRole,
    TimerStatus,
)
from engine.workflow import rules
from engine.workflow.machine import CompiledWorkflow, catalog
from workflows.definition import ReminderSpec

# The note of a reminder cancelled because a later one of its rule went out (never revived).
SUPERSEDED = "superseded"

SEND_HOUR = time(9, 0)
CATCH_UP = timedelta(days=7)
WEBHOOK_EVENTS = ("agreement.state_changed", "agreement.signed", "deliverable.updated",
                  "reminder.due")
# The few columns `follow` compares a change against.
TIMER_COLUMNS = ("id", "event", "due_on", "status")
REMINDER_COLUMNS = ("id", "subject_type", "subject_id", "rule", "due_on", "person_id", "status",
                    "note", "send_at")
# The agreement's fields its timers and reminders count from, or whose value picks them.
SCHEDULE_FIELDS = frozenset({"state", "effective_from", "term_starts_on", "next_review_on", "ends_on",
                             "submitted_on", "notice_period_days", "review_every_months"})
# The deliverable's columns its reminders depend on.
DELIVERABLE_SCHEDULE_COLUMNS = frozenset({"status", "due_on", "owner_id"})


@dataclass
class ScheduleRows:
    """An agreement's timers and reminders as plain rows, and the active webhook subscriptions,
    read with the agreement for the change about to be made. Of the reminders, those pending
    and those due lately or later: older ones can no longer be written or revived
    (`reminders_relevant_since`), and years of them would otherwise be read with every change."""

    timers: list[dict[str, Any]]
    reminders: list[dict[str, Any]]
    subscriptions: list[tuple[int, list[str]]]


class Timer(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("agreement_id", "event", "due_on", name="uq_timer_once"),
        Index("ix_timer_status_due", "status", "due_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    event: str = Field(max_length=64)
    due_on: date
    status: str = Field(default=TimerStatus.PENDING, max_length=16)
    attempts: int = 0
    last_error: str | None = long_text()
    fired_at: datetime | None = instant(nullable=True)
    created_at: datetime = instant()
    updated_at: datetime = instant()


class Notification(SQLModel, table=True):
    """One mail to one person. `next_attempt_at` is also the lease's end while it is claimed."""

    __table_args__ = (
        UniqueConstraint("subject_type", "subject_id", "rule", "due_on", "person_id",
                         name="uq_notification_once"),
        Index("ix_notification_status_next", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default=NotificationKind.REMINDER, max_length=16)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    subject_type: str = Field(max_length=16)
    subject_id: int
    rule: str = Field(max_length=64)
    due_on: date
    offset_days: int = 0
    person_id: int = Field(foreign_key="person.id", index=True)
    send_at: datetime = instant()
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = instant()
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_expires_at: datetime | None = instant(nullable=True)
    last_error: str | None = long_text()
    note: str | None = Field(default=None, max_length=300)
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    sent_at: datetime | None = instant(nullable=True)
    created_at: datetime = instant()
    updated_at: datetime = instant()


class NotificationPreference(SQLModel, table=True):
    __tablename__ = "notification_preference"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    daily_digest: bool = False


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=200)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_by_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = instant()
    disabled_at: datetime | None = instant(nullable=True)
    disabled_reason: str | None = Field(default=None, max_length=300)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_status_next", "status", "next_attempt_at"),)

    id: str = Field(primary_key=True, max_length=36)
    subscription_id: int = Field(foreign_key="webhook_subscription.id", index=True)
    event: str = Field(max_length=64)
    agreement_id: int | None = Field(default=None, foreign_key="agreement.id", index=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = instant()
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_expires_at: datetime | None = instant(nullable=True)
    last_error: str | None = long_text()
    response_status: int | None = None
    created_at: datetime = instant()
    delivered_at: datetime | None = instant(nullable=True)


# --- sync -------------------------------------------------------------------------------------

NotificationKey = tuple[str, int, str, date, int]  # subject_type, subject_id, rule, due_on, person


@dataclass(frozen=True)
class _Wanted:
    offset_days: int
    escalated: bool


def moves(change: ChangeSet) -> tuple[bool, bool]:
    """Whether `change` can move the agreement's timers, and its reminders: timers follow the
    state and the dates; reminders also who is named, who signed, and the open deliverables."""
    timers = bool(change.field_names & SCHEDULE_FIELDS)
    reminders = timers or any(
        p.part in ("party", "contact", "signature")
        or (p.part == "deliverable"
            and (p.op != "changed" or bool(p.changed_columns().keys() & DELIVERABLE_SCHEDULE_COLUMNS)))
        for p in change.parts)
    return timers, reminders


async def follow(session: Executor, agreement: AgreementSnapshot, change: ChangeSet, actor: str,
                 when: When, rows: ScheduleRows) -> None:
    """After `change` (made by `actor`, a label) left `agreement`: its timers and reminders
    re-derived where the change can move them, and the webhook deliveries it causes enqueued."""
    timers, reminders = moves(change)
    if timers:
        await _sync_timers(session, agreement, when, rows.timers)
    if reminders:
        await _sync_reminders(session, agreement, when, rows.reminders)
    await _enqueue_change_webhooks(session, agreement, change, actor, when, rows.subscriptions)


async def reschedule(session: Executor, agreement: AgreementSnapshot, when: When,
                     rows: ScheduleRows) -> None:
    """Re-derive `agreement`'s timers and reminders with no change of its own (its people changed)."""
    await _sync_timers(session, agreement, when, rows.timers)
    await _sync_reminders(session, agreement, when, rows.reminders)


def reminders_relevant_since(when: When) -> date:
    """The oldest due day of a reminder row a change at `when` can still act on, other than a
    pending one: a wanted reminder whose send time is more than `CATCH_UP` ago is not written
    (nor revived), and a reminder's send time is within a day of its due day in any zone."""
    return (when.now - CATCH_UP).date() - timedelta(days=2)


def status_is(column: Any, *statuses: str) -> ColumnElement[bool]:
    """`status IN (...)` for statements that pick rows by id. Without statistics SQLite plans
    `id IN (...) AND status = ?` through a status index — every pending row — instead of the
    primary key; `status || ''` means the same and keeps the term out of index selection on
    both databases, so the ids drive the lookup. One status is an `=` (usable in executemany)."""
    text = cast(ColumnElement[str], column).concat("")
    return text == statuses[0] if len(statuses) == 1 else text.in_(statuses)


@cache
def _insert(table: Table) -> Insert:
    return table.insert()


@cache
def _update_by_id_statement(table: Table, only_if: str, columns: tuple[str, ...]) -> Update:
    return (table.update()
            .where(table.c.id == bindparam("row_id"), status_is(table.c.status, only_if))
            .values({name: bindparam(f"new_{name}") for name in columns}))


async def _update_by_id(session: Executor, table: Table, only_if: str,
                        changes: list[dict[str, Any]]) -> None:
    """One executemany `UPDATE` of rows by id, each only while its status is still `only_if`
    (a worker may have sent or fired it meanwhile: that outcome stands)."""
    if not changes:
        return
    statement = _update_by_id_statement(table, only_if, tuple(key for key in changes[0] if key != "id"))
    await session.execute(statement, [
        {"row_id": change["id"], **{f"new_{k}": v for k, v in change.items() if k != "id"}}
        for change in changes])


def timer_days(agreement: AgreementSnapshot) -> set[tuple[str, date]]:
    """The (event, day) pairs the agreement's workflow `timers:` call for, as the agreement is
    now: what its pending timers are, and what the pages say the scheduler will do."""
    workflow = catalog().get(agreement.workflow_name, agreement.workflow_version)
    wanted: set[tuple[str, date]] = set()
    for spec in workflow.spec.timers:
        day = usable(rules.DATES[spec.date_name](agreement))
        if agreement.state in spec.states and day is not None:
            wanted.add((spec.event, day + timedelta(days=spec.offset_days)))
    return wanted


async def _sync_timers(session: Executor, agreement: AgreementSnapshot, when: When,
                       rows: list[dict[str, Any]]) -> None:
    wanted = timer_days(agreement)
    by_key = {(t["event"], t["due_on"]): t for t in rows}
    table: Table = Timer.__table__  # type: ignore[attr-defined]
    await _update_by_id(session, table, TimerStatus.PENDING, [
        {"id": t["id"], "status": TimerStatus.CANCELLED, "updated_at": when.now,
         "last_error": f"no longer due: the agreement is {agreement.state}"}
        for key, t in by_key.items() if t["status"] == TimerStatus.PENDING and key not in wanted])
    await _update_by_id(session, table, TimerStatus.CANCELLED, [
        {"id": t["id"], "status": TimerStatus.PENDING, "last_error": None, "updated_at": when.now}
        for key, t in by_key.items() if t["status"] == TimerStatus.CANCELLED and key in wanted])
    new = [{"agreement_id": agreement.id, "event": event, "due_on": due_on, "status": TimerStatus.PENDING,
            "attempts": 0, "created_at": when.now, "updated_at": when.now}
           for event, due_on in sorted(wanted - by_key.keys())]
    if new:
        await session.execute(_insert(table), new)


def _wanted_reminders(agreement: AgreementSnapshot) -> tuple[dict[NotificationKey, _Wanted], dict[str, str]]:
    """Every reminder row the agreement calls for now, and why the others of a rule are moot."""
    workflow = catalog().get(agreement.workflow_name, agreement.workflow_version)
    wanted: dict[NotificationKey, _Wanted] = {}
    moot: dict[str, str] = {}
    for rule in workflow.spec.reminders:
        if agreement.state not in rule.states:
            moot[rule.name] = f"the agreement is now {agreement.state}"
            continue
        for subject_type, subject_id, day, deliverable in _subjects(agreement, rule):
            if day is None:
                continue
            for offset in rule.all_offsets():
                escalated = rule.escalate_after is not None and offset >= rule.escalate_after
                names = rule.recipients + (rule.escalate_to if escalated else ())
                people = set().union(*(recipients(name, agreement, deliverable) for name in names))
                due_on = day + timedelta(days=offset)
                for person_id in people:
                    key = (subject_type, subject_id, rule.name, due_on, person_id)
                    wanted[key] = _Wanted(offset, escalated)
    return wanted, moot


def _subjects(agreement: AgreementSnapshot, rule: ReminderSpec
              ) -> Iterable[tuple[str, int, date | None, DeliverableValue | None]]:
    if rule.subject == "agreement":
        assert agreement.id is not None
        yield "agreement", agreement.id, usable(rules.DATES[rule.date_name](agreement)), None
        return
    date_of = rules.DELIVERABLE_DATES[rule.date_name]
    for deliverable in agreement.deliverables:
        if deliverable.status in DeliverableStatus.OPEN and deliverable.id is not None:
            yield "deliverable", deliverable.id, usable(date_of(deliverable)), deliverable


def recipients(name: str, agreement: AgreementSnapshot, deliverable: DeliverableValue | None = None) -> set[int]:
    """The people a recipient name stands for (see the module docstring); disabled people never."""
    return _recipients(name, agreement, deliverable) - {
        c.person_id for c in agreement.contacts if not c.person.active}


def _recipients(name: str, agreement: AgreementSnapshot, deliverable: DeliverableValue | None) -> set[int]:
    focal = [c for c in agreement.contacts if c.kind == ContactKind.FOCAL_POINT]
    owner = deliverable.owner_id if deliverable is not None else None
    owner_parties = {c.party_id for c in focal if c.person_id == owner}
    if name == "focal_points":
        return {c.person_id for c in focal}
    if name == "signatories":
        return {c.person_id for c in agreement.contacts if c.kind == ContactKind.SIGNATORY}
    if name == "unsigned_signatories":
        signed = {s.party_id for s in agreement.signatures}
        waiting = {p.id for p in agreement.parties if p.role == PartyRole.PARTY and p.id not in signed}
        return {c.person_id for c in agreement.contacts
                if c.kind == ContactKind.SIGNATORY and c.party_id in waiting}
    if name == "owner":
        return {owner} if owner is not None else set()
    if name == "party_focal_points":
        if deliverable is None:
            return {c.person_id for c in focal}
        return {c.person_id for c in focal if c.party_id in owner_parties} - {owner or 0}
    if name == "secretariat":
        if deliverable is None:
            return {c.person_id for c in focal}
        return {c.person_id for c in focal if c.party_id not in owner_parties}
    raise ValueError(f"unknown recipient {name!r}")


async def _sync_reminders(session: Executor, agreement: AgreementSnapshot, when: When,
                          rows: list[dict[str, Any]]) -> None:
    wanted, moot = _wanted_reminders(agreement)
    by_key: dict[NotificationKey, dict[str, Any]] = {
        (n["subject_type"], n["subject_id"], n["rule"], n["due_on"], n["person_id"]): n for n in rows}
    table: Table = Notification.__table__  # type: ignore[attr-defined]
    await _update_by_id(session, table, DeliveryStatus.PENDING, [
        {"id": row["id"], "status": DeliveryStatus.CANCELLED, "note": _moot_reason(agreement, key, moot),
         "updated_at": when.now}
        for key, row in by_key.items() if row["status"] == DeliveryStatus.PENDING and key not in wanted])
    new_keys = [key for key in wanted if key not in by_key]
    revived = [by_key[key] for key in wanted
               if key in by_key and by_key[key]["status"] == DeliveryStatus.CANCELLED
               and by_key[key]["note"] != SUPERSEDED]
    await _update_by_id(session, table, DeliveryStatus.CANCELLED, [
        {"id": row["id"], "status": DeliveryStatus.PENDING, "note": None,
         "next_attempt_at": max(row["send_at"], when.now), "updated_at": when.now}
        for row in revived if row["send_at"] >= when.now - CATCH_UP])
    if not new_keys:
        return
    zones = await recipient_zones(session, {key[4] for key in new_keys})
    new: list[dict[str, Any]] = []
    for key in new_keys:
        subject_type, subject_id, rule, due_on, person_id = key
        send_at = local_send_time(due_on, zones.get(person_id, "UTC"))
        if send_at < when.now - CATCH_UP:
            continue
        new.append({
            "kind": NotificationKind.REMINDER, "agreement_id": agreement.id, "subject_type": subject_type,
            "subject_id": subject_id, "rule": rule, "due_on": due_on,
            "offset_days": wanted[key].offset_days, "person_id": person_id, "send_at": send_at,
            "status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": send_at,
            "data": {"escalated": True} if wanted[key].escalated else None,
            "created_at": when.now, "updated_at": when.now})
    if new:
        await session.execute(_insert(table), new)


def _moot_reason(agreement: AgreementSnapshot, key: NotificationKey, moot: dict[str, str]) -> str:
    subject_type, subject_id, rule, _, _ = key
    if rule in moot:
        return moot[rule]
    if subject_type == "deliverable":
        deliverable = next((d for d in agreement.deliverables if d.id == subject_id), None)
        if deliverable is None:
            return "the deliverable was removed"
        if deliverable.status not in DeliverableStatus.OPEN:
            return f"the deliverable is {deliverable.status}"
    return "no longer due: its date or its recipients changed"


async def recipient_zones(session: Executor, person_ids: set[int]) -> dict[int, str]:
    """Each person's time zone: their own, else their organisation's."""
    if not person_ids:
        return {}
    rows = await session.execute(
        select(col(Person.id), col(Person.timezone), col(Organisation.timezone))
        .join(Organisation, col(Organisation.id) == col(Person.organisation_id))
        .where(col(Person.id).in_(person_ids))
    )
    return {person_id: own or organisation for person_id, own, organisation in rows.all()
            if person_id is not None}


@cache
def _retime_statement() -> Update:
    table: Table = Notification.__table__  # type: ignore[attr-defined]
    return (table.update()
            .where(table.c.id == bindparam("row_id"), status_is(table.c.status, DeliveryStatus.PENDING),
                   table.c.lease_owner.is_(None), table.c.attempts == 0)
            .values(send_at=bindparam("new_send_at"), next_attempt_at=bindparam("new_send_at"),
                    updated_at=bindparam("new_updated_at")))


async def retime_reminders(session: Executor, person_ids: set[int], when: When) -> None:
    """The pending reminders of `person_ids` sent at `SEND_HOUR` on their day in each person's
    time zone as it is now: after their own zone, or their organisation's, changed. A reminder
    a worker holds, or has tried to send already (its next attempt is a back-off), keeps its time."""
    if not person_ids:
        return
    zones = await recipient_zones(session, person_ids)
    table: Table = Notification.__table__  # type: ignore[attr-defined]
    rows = (await session.execute(
        select(table.c.id, table.c.due_on, table.c.person_id, table.c.send_at)
        .where(table.c.person_id.in_(sorted(person_ids)), table.c.kind == NotificationKind.REMINDER,
               table.c.status == DeliveryStatus.PENDING, table.c.lease_owner.is_(None),
               table.c.attempts == 0))).all()
    moved = [{"row_id": row_id, "new_send_at": send_at, "new_updated_at": when.now}
             for row_id, due_on, person_id, was in rows
             if (send_at := local_send_time(due_on, zones.get(person_id, "UTC"))) != was]
    if moved:
        await session.execute(_retime_statement(), moved)


@cache
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_send_time(day: date, zone_name: str) -> datetime:
    """`SEND_HOUR` on `day` in the zone, as a UTC instant."""
    return datetime.combine(day, SEND_HOUR, tzinfo=zone(zone_name)).astimezone(UTC)


# --- webhooks ---------------------------------------------------------------------------------

class _Move(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def event(self) -> str: ...
    @property
    def from_state(self) -> str | None: ...
    @property
    def to_state(self) -> str | None: ...


def change_webhook_events(change: _Move, workflow: CompiledWorkflow) -> list[str]:
    """The webhook events a change (a `ChangeSet`, or the history row it left) causes;
    `agreement.signed` when it enters a state its workflow flags `signed` from one it does not
    (the last party's signature)."""
    events: list[str] = []
    if change.kind == HistoryKind.TRANSITION and change.from_state != change.to_state:
        events.append("agreement.state_changed")
        if workflow.signs(change.from_state, change.to_state):
            events.append("agreement.signed")
    if change.event in ("deliverable_added", "deliverable_updated"):
        events.append("deliverable.updated")
    return events


async def _enqueue_change_webhooks(session: Executor, agreement: AgreementSnapshot, change: ChangeSet,
                                   actor: str, when: When, active: _Subscribers) -> None:
    events = change_webhook_events(change, catalog().get(agreement.workflow_name, agreement.workflow_version))
    if not events or not any(event in wanted for event in events for _, wanted in active):
        return
    extra: dict[str, Any] = {"change": {
        "version": agreement.version, "kind": change.kind, "event": change.event,
        "from_state": change.from_state, "to_state": change.to_state, "actor": actor,
        "comment": change.comment, "data": dict(change.facts) if change.facts else None,
        "diff": change.diff(),
    }}
    touched = change.of("deliverable")
    deliverable = agreement.deliverable(touched[0].id) if touched else None
    if deliverable is not None:
        extra["deliverable"] = deliverable_snapshot(deliverable)
    for event in events:
        await enqueue_webhook(session, event, agreement, when.now, extra, active=active)


# (id, events) of each active subscription: only the columns deciding who gets a delivery.
_Subscribers = list[tuple[int, list[str]]]


async def _active_subscriptions(session: Executor) -> _Subscribers:
    rows = await session.execute(select(col(WebhookSubscription.id), col(WebhookSubscription.events))
                                 .where(col(WebhookSubscription.active).is_(True)))
    return [(subscription_id, events) for subscription_id, events in rows.all()
            if subscription_id is not None]


async def _subscribers(session: Executor, event: str, active: _Subscribers | None = None) -> list[int]:
    if active is None:
        active = await _active_subscriptions(session)
    return [subscription_id for subscription_id, events in active if event in events]


async def wants_webhook(session: Executor, event: str) -> bool:
    return bool(await _subscribers(session, event))


async def enqueue_webhook(session: Executor, event: str, agreement: AgreementSnapshot | Agreement, now: datetime,
                          extra: dict[str, Any] | None = None, *, active: _Subscribers | None = None) -> int:
    """One delivery row per active subscription that wants `event`; returns how many.

    `active` is what `_active_subscriptions` read earlier in the same transaction, if it did."""
    subscriptions = await _subscribers(session, event, active)
    rows = []
    for subscription_id in subscriptions:
        delivery_id = str(uuid.uuid4())
        body = {"id": delivery_id, "event": event, "occurred_at": now.isoformat(),
                "agreement": agreement_snapshot(agreement), **(extra or {})}
        rows.append({"id": delivery_id, "subscription_id": subscription_id, "event": event,
                     "agreement_id": agreement.id, "body": json.dumps(body, sort_keys=True, default=str),
                     "status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": now,
                     "created_at": now})
    if rows:
        await session.execute(_insert(WebhookDelivery.__table__), rows)  # type: ignore[attr-defined]
    return len(subscriptions)


def agreement_snapshot(agreement: AgreementSnapshot | Agreement) -> dict[str, Any]:
    """The agreement as a webhook receiver sees it (with its parties loaded, if a row)."""
    snapshot: dict[str, Any] = {
        "id": agreement.id, "title": agreement.title, "state": agreement.state,
        "version": agreement.version, "workflow": agreement.workflow_name,
        "workflow_version": agreement.workflow_version,
        "effective_from": iso(agreement.effective_from), "ends_on": iso(agreement.ends_on),
        "next_review_on": iso(agreement.next_review_on), "signed_on": iso(agreement.signed_on),
    }
    snapshot["parties"] = [{"organisation_id": p.organisation_id, "role": p.role} for p in agreement.parties]
    return snapshot


def deliverable_snapshot(deliverable: DeliverableValue) -> dict[str, Any]:
    return {"id": deliverable.id, "title": deliverable.title, "status": deliverable.status,
            "due_on": iso(deliverable.due_on), "owner_id": deliverable.owner_id,
            "area_id": deliverable.area_id, "evidence_url": deliverable.evidence_url}
