"""An agreement with everything it owns, read in one statement, as values.

`load` reads the agreement's row and, as JSON aggregated by the database in the same statement,
its parties (with their organisations), focal points and signatories (with their people),
signatures, areas, deliverables and documents, and makes them an `AgreementSnapshot` of frozen values
(`engine.agreements.values`). For a change (`load_for_change`) the same statement also reads what
`engine.schedule.follow` compares the change against: the agreement's timers and reminders (a
few columns each) and the active webhook subscriptions. One statement instead of six to nine.

SQLite builds the JSON with `json_object`/`json_group_array`, PostgreSQL with
`json_build_object`/`json_agg`; the agreement's successor (the newest agreement naming it as
predecessor, by the index on `predecessor_id`) is a scalar subquery beside them. Values come back
as JSON text and each column is converted by its type (dates, instants, booleans), so the values
equal the columns the ORM loads (tests/test_snapshot.py compares them on both databases).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import JSON, Boolean, Date, Table, TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from engine.agreements.values import (
    COLUMNS,
    AgreementSnapshot,
    AmendmentRefValue,
    AreaValue,
    ContactValue,
    DeliverableValue,
    DocumentValue,
    OrganisationValue,
    PartyValue,
    PersonValue,
    SignatureValue,
)
from engine.clock import When
from engine.context import Actor
from engine.db import Executor, dialect_name
from engine.errors import NotFound
from engine.i18n import gettext
from engine.models import (
    Agreement,
    Amendment,
    CollaborationArea,
    Contact,
    Deliverable,
    Document,
    Organisation,
    Party,
    Person,
    Signature,
)
from engine.schedule import (
    REMINDER_COLUMNS,
    TIMER_COLUMNS,
    Notification,
    ScheduleRows,
    Timer,
    WebhookSubscription,
    reminders_relevant_since,
)
from engine.statuses import DeliveryStatus, NotificationKind
from engine.types import UTCDateTime

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
        "successor_id": "(SELECT max(s.id) FROM agreement s WHERE s.predecessor_id = a.id)",
        "documents": _array(dialect, _object(dialect, "f", _table(Document)),
                            "FROM document f WHERE f.agreement_id = a.id"),
        "amendments": _array(dialect, _object(dialect, "m", _table(Amendment), ("id", "number", "kind", "state")),
                             "FROM amendment m WHERE m.agreement_id = a.id"),
    }
    if for_change:
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


V = TypeVar("V")


# --- values -----------------------------------------------------------------------------------

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
def _converters(table: Table) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """For each column whose JSON form is not its Python value, how to get the value back."""
    converters: list[tuple[str, Callable[[Any], Any]]] = []
    for column in table.columns:
        if isinstance(column.type, UTCDateTime):
            converters.append((column.name, _instant))
        elif isinstance(column.type, Date):
            converters.append((column.name, _day))
        elif isinstance(column.type, Boolean):
            converters.append((column.name, bool))
    return tuple(converters)


def convert(model: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    """`values` (a JSON object of a `model` row) with each column as the ORM would load it."""
    for name, converter in _converters(_table(model)):
        value = values.get(name)
        if value is not None:
            values[name] = converter(value)
    return values


class _Values:
    """Makes values from the statement's JSON, one organisation and person per id."""

    def __init__(self) -> None:
        self.organisations: dict[int, OrganisationValue] = {}
        self.people: dict[int, PersonValue] = {}

    def organisation(self, values: dict[str, Any]) -> OrganisationValue:
        found = self.organisations.get(values["id"])
        if found is None:
            found = self.organisations[values["id"]] = OrganisationValue(**convert(Organisation, values))
        return found

    def person(self, values: dict[str, Any]) -> PersonValue:
        found = self.people.get(values["id"])
        if found is None:
            organisation = self.organisation(values.pop("organisation"))
            found = self.people[values["id"]] = PersonValue(**convert(Person, values), organisation=organisation)
        return found


def _loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _with(kind: Callable[..., V], values: dict[str, Any], key: str, make: Callable[[dict[str, Any]], Any]) -> V:
    """A value of `kind` from `values`, its `key` (a nested JSON object) made by `make`."""
    nested = make(values.pop(key))
    return kind(**values, **{key: nested})


def from_row(data: Any) -> AgreementSnapshot:
    make = _Values()
    parties = tuple(_with(PartyValue, v, "organisation", make.organisation)
                    for v in sorted(_loads(data["parties"]), key=lambda v: v["id"]))
    contacts = tuple(_with(ContactValue, v, "person", make.person)
                     for v in sorted(_loads(data["contacts"]), key=lambda v: v["id"]))
    signatures = tuple(SignatureValue(**convert(Signature, v))
                       for v in sorted(_loads(data["signatures"]), key=lambda v: v["id"]))
    areas = tuple(AreaValue(**v) for v in sorted(_loads(data["areas"]), key=lambda v: (v["position"], v["id"])))
    deliverables = tuple(DeliverableValue(**convert(Deliverable, v))
                         for v in sorted(_loads(data["deliverables"]), key=lambda v: v["id"]))
    documents = tuple(DocumentValue(**convert(Document, v))
                      for v in sorted(_loads(data["documents"]), key=lambda v: v["id"]))
    return AgreementSnapshot(**convert(Agreement, _loads(data["agreement"])), parties=parties,
                             contacts=contacts, signatures=signatures, areas=areas,
                             deliverables=deliverables, documents=documents,
                             successor_id=data["successor_id"],
                             amendments=tuple(AmendmentRefValue(**v) for v in sorted(
                                 _loads(data["amendments"]), key=lambda v: v["number"])))


async def _read(session: Executor, agreement_id: int, actor: Actor, change_at: When | None) -> Any:
    scoped = not (actor.is_admin or actor.is_scheduler)
    params: dict[str, Any] = {"agreement_id": agreement_id}
    if scoped:
        params["organisation_id"] = actor.organisation_id
    if change_at is not None:
        params["reminders_since"] = reminders_relevant_since(change_at)
    statement = _statement(dialect_name(session), change_at is not None, scoped)
    row = (await session.execute(statement, params)).mappings().first()
    if row is None:
        raise NotFound(gettext("There is no agreement %(id)s that you can see.") % {"id": agreement_id})
    return row


async def load(session: Executor, agreement_id: int, actor: Actor) -> AgreementSnapshot:
    """The agreement `actor` reaches, with its parts (`NotFound` if none: out of reach is not found)."""
    return from_row(await _read(session, agreement_id, actor, None))


async def load_for_change(session: Executor, agreement_id: int, actor: Actor,
                          when: When) -> tuple[AgreementSnapshot, ScheduleRows]:
    """`load`, and the schedule rows a change made at `when` is compared against."""
    row = await _read(session, agreement_id, actor, when)
    rows = ScheduleRows(
        timers=[convert(Timer, v) for v in _loads(row["timers"])],
        reminders=[convert(Notification, v) for v in _loads(row["reminders"])],
        subscriptions=[(v["id"], v["events"]) for v in _loads(row["subscriptions"])],
    )
    return from_row(row), rows


# --- what a change names ---------------------------------------------------------------------

def organisation_value(organisation: Organisation) -> OrganisationValue:
    """An organisation's row (as the ORM read it) as a value."""
    return OrganisationValue(**{name: getattr(organisation, name) for name in COLUMNS[OrganisationValue]})


def person_value_of(person: Person) -> PersonValue:
    """A person's row (as the ORM read it, with their organisation) as a value."""
    return PersonValue(**{name: getattr(person, name) for name in COLUMNS[PersonValue]},
                       organisation=organisation_value(person.organisation))


async def person_value(session: AsyncSession, person_id: int) -> PersonValue | None:
    """A person with their organisation, as a value; None if there is none."""
    person = await session.get(Person, person_id)
    return person_value_of(person) if person is not None else None
