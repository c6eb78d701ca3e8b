"""An agreement with everything it owns, in one statement.

`load_graph` reads the agreement's row and, as JSON aggregated by the database in the same
statement, its parties (with their organisations), focal points and signatories (with their
people), signatures, areas and deliverables. For a change it also reads what
`engine.schedule.sync` compares against: the agreement's timers and reminders (a few columns
each) and the active webhook subscriptions. One statement instead of six to nine, each of which
cost a transition ~0.4 ms of CPU (docs/BENCHMARKS.md).

The rows become the same persistent ORM objects a `SELECT` would give (in the session's
identity map, changes tracked), without the ORM's per-statement loading machinery: each
object is made from its columns, its relationships are set as loaded, and it is attached
to the session as an already-stored row.

SQLite builds the JSON with `json_object`/`json_group_array`, PostgreSQL with
`json_build_object`/`json_agg`; values come back as JSON text and each column is converted
by its type (dates, instants, booleans, JSON), so the objects equal what the ORM loads
(tests/test_graph.py compares them on both databases).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Table, TextClause, bindparam, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlmodel import SQLModel

from engine.clock import When
from engine.models import (
    Agreement,
    CollaborationArea,
    Contact,
    Deliverable,
    Organisation,
    Party,
    Person,
    Signature,
)
from engine.statuses import DeliveryStatus, NotificationKind
from engine.types import UTCDateTime

# The few columns `engine.schedule.sync` compares a change against.
TIMER_COLUMNS = ("id", "event", "due_on", "status")
REMINDER_COLUMNS = ("id", "subject_type", "subject_id", "rule", "due_on", "person_id", "status",
                    "note", "send_at")


@dataclass
class ScheduleRows:
    """An agreement's timers and reminders as plain rows, and the active webhook subscriptions,
    read with the agreement for the change about to be made (see `engine.schedule.sync`). Of
    the reminders, those pending and those due lately or later: older ones can no longer be
    written or revived (`engine.schedule.reminders_relevant_since`), and years of them would
    otherwise be read with every change."""

    timers: list[dict[str, Any]]
    reminders: list[dict[str, Any]]
    subscriptions: list[tuple[int, list[str]]]


_PRELOADED = "accord.schedule_rows"


def take_schedule_rows(session: AsyncSession, agreement_id: int) -> ScheduleRows | None:
    """The rows `load_graph(..., change_at=...)` read for this agreement in this session, once:
    after a change has written its own rows they are out of date, so a second change reads again."""
    preloaded: dict[int, ScheduleRows] = session.info.get(_PRELOADED, {})
    return preloaded.pop(agreement_id, None)


# --- SQL ------------------------------------------------------------------------------------------

def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def _object(dialect: str, alias: str, table: Table, columns: tuple[str, ...] | None = None,
            nested: dict[str, str] | None = None) -> str:
    """A JSON object of `alias`'s columns (and `nested` JSON expressions under extra keys)."""
    pairs: list[str] = []
    for column in table.columns:
        if columns is not None and column.name not in columns:
            continue
        value = f"{alias}.{column.name}"
        if isinstance(column.type, JSON) and dialect == "sqlite":
            value = f"json({value})"  # stored as text: embed it as JSON, not as a string
        pairs.append(f"'{column.name}', {value}")
    for key, expression in (nested or {}).items():
        pairs.append(f"'{key}', {expression}")
    function = "json_object" if dialect == "sqlite" else "json_build_object"
    return f"{function}({', '.join(pairs)})"


def _array(dialect: str, element: str, source: str) -> str:
    """A JSON array of `element` over the rows of `source` (`FROM ... WHERE ...`), `[]` if none."""
    if dialect == "sqlite":
        return f"(SELECT json_group_array({element}) {source})"
    return f"(SELECT coalesce(json_agg({element}), '[]'::json) {source})"


@cache
def _statement(dialect: str, for_change: bool, scoped: bool) -> TextClause:
    org, person = _table(Organisation), _table(Person)
    party_json = _object(dialect, "p", _table(Party), nested={"organisation": _object(dialect, "po", org)})
    contact_json = _object(dialect, "c", _table(Contact), nested={
        "person": _object(dialect, "cp", person, nested={"organisation": _object(dialect, "cpo", org)})})
    parts = {
        "agreement": _object(dialect, "a", _table(Agreement)),
        "parties": _array(dialect, party_json, "FROM party p JOIN organisation po ON po.id = p.organisation_id "
                                               "WHERE p.agreement_id = a.id"),
        "contacts": _array(dialect, contact_json,
                           "FROM agreement_contact c JOIN person cp ON cp.id = c.person_id "
                           "JOIN organisation cpo ON cpo.id = cp.organisation_id WHERE c.agreement_id = a.id"),
        "signatures": _array(dialect, _object(dialect, "s", _table(Signature)),
                             "FROM signature s WHERE s.agreement_id = a.id"),
        "areas": _array(dialect, _object(dialect, "r", _table(CollaborationArea)),
                        "FROM collaboration_area r WHERE r.agreement_id = a.id"),
        "deliverables": _array(dialect, _object(dialect, "d", _table(Deliverable)),
                               "FROM deliverable d WHERE d.agreement_id = a.id"),
    }
    if for_change:
        from engine.schedule import Notification, Timer, WebhookSubscription

        parts["timers"] = _array(dialect, _object(dialect, "t", _table(Timer), TIMER_COLUMNS),
                                 "FROM timer t WHERE t.agreement_id = a.id")
        parts["reminders"] = _array(dialect, _object(dialect, "n", _table(Notification), REMINDER_COLUMNS),
                                    "FROM notification n WHERE n.agreement_id = a.id "
                                    f"AND n.kind = '{NotificationKind.REMINDER}' "
                                    f"AND (n.status = '{DeliveryStatus.PENDING}' OR n.due_on >= :reminders_since)")
        active = "1" if dialect == "sqlite" else "true"
        parts["subscriptions"] = _array(
            dialect, _object(dialect, "w", _table(WebhookSubscription), ("id", "events")),
            f"FROM webhook_subscription w WHERE w.active = {active}")
    select_list = ", ".join(f"{expression} AS {name}" for name, expression in parts.items())
    where = "a.id = :agreement_id"
    if scoped:
        where += " AND a.id IN (SELECT agreement_id FROM party WHERE organisation_id = :organisation_id)"
    statement = text(f"SELECT {select_list} FROM agreement a WHERE {where}")
    if for_change:  # a day: bound as the column type binds it (an ISO string on SQLite)
        statement = statement.bindparams(bindparam("reminders_since", type_=Date()))
    return statement


# --- values and objects ---------------------------------------------------------------------------

def _instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _day(value: str) -> date:
    """A day as JSON gives it; PostgreSQL's `infinity` and `-infinity` as asyncpg reads them (a
    date outside Accord's range, already stored, must not make the agreement unreadable)."""
    if value == "infinity":
        return date.max
    if value == "-infinity":
        return date.min
    return date.fromisoformat(value)


@cache
def _converters(table: Table) -> dict[str, Callable[[Any], Any]]:
    """For each column whose JSON form is not its Python value, how to get the value back."""
    converters: dict[str, Callable[[Any], Any]] = {}
    for column in table.columns:
        if isinstance(column.type, UTCDateTime):
            converters[column.name] = _instant
        elif isinstance(column.type, Date):
            converters[column.name] = _day
        elif isinstance(column.type, Boolean):
            converters[column.name] = bool
    return converters


def convert(model: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    """`values` (a JSON object of a `model` row) with each column as the ORM would load it."""
    for name, converter in _converters(_table(model)).items():
        value = values.get(name)
        if value is not None:
            values[name] = converter(value)
    return values


class _Builder:
    """Makes persistent objects from rows, one per identity, reusing the session's own."""

    def __init__(self, session: AsyncSession) -> None:
        self.identity_map = session.sync_session.identity_map
        self.made: dict[tuple[type[Any], Any], Any] = {}
        self.new: list[Any] = []

    def make(self, model: type[Any], values: dict[str, Any], **relationships: Any) -> Any:
        key = (model, values["id"])
        found = self.made.get(key)
        if found is not None:
            return found
        mapper = sa_inspect(model)
        identity = mapper.identity_key_from_primary_key((values["id"],))
        existing = self.identity_map.get(identity)
        if existing is not None:  # already in this session (the caller's own person, say): keep it
            self.made[key] = existing
            return existing
        instance = mapper.class_manager.new_instance()
        instance.__dict__.update(convert(model, values))
        instance.__dict__.update(relationships)
        # As the ORM's loader leaves a row it read: every column and relationship loaded, nothing
        # pending, and the identity that makes it a stored row rather than a new one.
        instance_state(instance).key = identity
        self.made[key] = instance
        self.new.append(instance)
        return instance

    def organisation(self, values: dict[str, Any]) -> Organisation:
        organisation: Organisation = self.make(Organisation, values)
        return organisation

    def attach(self, session: AsyncSession) -> None:
        """Into the session's identity map, each on its own: `session.add` would walk every
        relationship of every part to cascade, to find them all stored already."""
        sync = session.sync_session
        for instance in self.new:
            sync._update_impl(instance_state(instance))


def in_session(session: AsyncSession, agreement_id: int) -> bool:
    """Whether this session already holds the agreement (then load it the ORM's way, refreshing it)."""
    key = sa_inspect(Agreement).identity_key_from_primary_key((agreement_id,))
    return session.sync_session.identity_map.get(key) is not None


async def load_graph(session: AsyncSession, agreement_id: int, *, scoped: bool,
                     organisation_id: int | None = None, change_at: When | None = None) -> Agreement | None:
    """The agreement with its parts, or None if there is none (when `scoped`, none that
    `organisation_id` is party to). The agreement must not be in the session yet (`in_session`).
    `change_at`: loaded for a change made then, with what its schedule.sync compares against."""
    configure_mappers()  # the relationships set below exist once the mappers are configured
    sync = session.sync_session
    if sync.new or sync.dirty or sync.deleted:
        await session.flush()  # what this unit of work changed so far is part of what it reads
    params: dict[str, Any] = {"agreement_id": agreement_id}
    if scoped:
        params["organisation_id"] = organisation_id
    for_change = change_at is not None
    if change_at is not None:
        from engine.schedule import reminders_relevant_since

        params["reminders_since"] = reminders_relevant_since(change_at)
    statement = _statement(sync.get_bind().dialect.name, for_change, scoped)
    row = (await session.execute(statement, params)).first()
    if row is None:
        return None
    data = row._mapping
    build = _Builder(session)

    def loads(name: str) -> Any:
        value = data[name]
        return json.loads(value) if isinstance(value, str) else value

    agreement: Agreement = build.make(Agreement, loads("agreement"))
    parties: list[Party] = []
    for values in sorted(loads("parties"), key=lambda v: v["id"]):
        organisation = build.organisation(values.pop("organisation"))
        parties.append(build.make(Party, values, agreement=agreement, organisation=organisation))
    contacts: list[Contact] = []
    for values in sorted(loads("contacts"), key=lambda v: v["id"]):
        person_values = values.pop("person")
        organisation = build.organisation(person_values.pop("organisation"))
        person = build.make(Person, person_values, organisation=organisation)
        contacts.append(build.make(Contact, values, person=person))
    signatures = [build.make(Signature, v) for v in sorted(loads("signatures"), key=lambda v: v["id"])]
    areas = [build.make(CollaborationArea, v)
             for v in sorted(loads("areas"), key=lambda v: (v["position"], v["id"]))]
    deliverables = [build.make(Deliverable, v) for v in sorted(loads("deliverables"), key=lambda v: v["id"])]
    for name, collection in (("parties", parties), ("contacts", contacts), ("signatures", signatures),
                             ("areas", areas), ("deliverables", deliverables)):
        set_committed_value(agreement, name, collection)  # an instrumented list, loaded
    build.attach(session)
    if for_change:
        from engine.schedule import Notification, Timer

        rows = ScheduleRows(
            timers=[convert(Timer, v) for v in loads("timers")],
            reminders=[convert(Notification, v) for v in loads("reminders")],
            subscriptions=[(v["id"], v["events"]) for v in loads("subscriptions")],
        )
        session.info.setdefault(_PRELOADED, {})[agreement_id] = rows
    return agreement
