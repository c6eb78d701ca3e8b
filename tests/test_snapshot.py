"""The one-statement snapshot (engine/agreements/snapshot.py) holds exactly what the ORM loads.

Every column of the agreement and of each part (parties with organisations, focal points and
signatories with their people, signatures, areas, deliverables, documents) must equal, in value and type,
what SQLAlchemy's own loading returns, on SQLite and PostgreSQL: a date that came back as a
string, an instant without its zone or a boolean as 0 would reach guards, reminders and the
API answer. The snapshot is made of values: nothing in it can be changed in place.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from asyncio.subprocess import PIPE
from dataclasses import FrozenInstanceError, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload
from sqlmodel import col

from engine import schedule
from engine.access import with_parts
from engine.agreements import snapshot
from engine.agreements.changes import Draft
from engine.agreements.values import (
    AgreementSnapshot,
    AreaValue,
    ContactValue,
    DeliverableValue,
    DocumentValue,
    OrganisationValue,
    PartyValue,
    PersonValue,
    SignatureValue,
)
from engine.clock import FixedClock, When
from engine.context import Actor
from engine.db import Database
from engine.demo import load_demo
from engine.errors import NotFound
from engine.models import (
    Agreement,
    CollaborationArea,
    Contact,
    Deliverable,
    Document,
    Organisation,
    Party,
    Person,
    Signature,
)
from engine.schedule import Notification, Timer, WebhookSubscription, reminders_relevant_since
from engine.statuses import HistoryKind

NOW = When.of(FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)), ZoneInfo("UTC"))


ADMIN = Actor(label="admin", role="admin")


def columns(instance: Any) -> dict[str, Any]:
    mapper = sa_inspect(type(instance))
    return {attr.key: getattr(instance, attr.key) for attr in mapper.column_attrs}


def same(value: Any, row: Any) -> None:
    """`value` has every column of `row`, equal and of the same type."""
    right = columns(row)
    left = {key: getattr(value, key) for key in right}
    assert left == right
    for key in left:  # equal values of the same types: a date is not a str, True is not 1
        assert type(left[key]) is type(right[key]), (type(value).__name__, key, left[key], right[key])


@pytest.fixture
async def demo(database: Database) -> Database:
    await load_demo(database, FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)))
    return database


async def test_every_column_of_every_part_equals_the_orm(demo: Database) -> None:
    async with demo.transaction(write=False) as session:
        ids = list(await session.scalars(select(col(Agreement.id)).order_by(col(Agreement.id))))
    assert len(ids) >= 2
    for agreement_id in ids:
        async with demo.transaction(write=False) as orm_session:
            expected = (await orm_session.execute(
                select(Agreement).where(col(Agreement.id) == agreement_id)
                .options(*with_parts(), selectinload(Agreement.documents))  # type: ignore[arg-type]
            )).scalar_one()
        async with demo.transaction(write=False) as session:
            got = await snapshot.load(session, agreement_id, ADMIN)
            same(got, expected)
            for name in ("parties", "contacts", "signatures", "areas", "deliverables", "documents"):
                left, right = getattr(got, name), getattr(expected, name)
                assert [p.id for p in left] == [p.id for p in right], name
                for a, b in zip(left, right, strict=True):
                    same(a, b)
            for a, b in zip(got.parties, expected.parties, strict=True):
                same(a.organisation, b.organisation)
            for a, b in zip(got.contacts, expected.contacts, strict=True):
                same(a.person, b.person)
                same(a.person.organisation, b.person.organisation)
            # Nothing was put in the session: the snapshot is values, not rows to write back.
            assert not session.dirty
            assert not session.new
    # the demo has parts of every kind, so the comparison above covered them
    async with demo.transaction(write=False) as session:
        full = await snapshot.load(session, ids[0], ADMIN)
        assert full.parties
        assert full.contacts
        assert full.signatures
        assert full.areas
        assert full.deliverables
        assert full.documents


def test_each_value_has_the_columns_of_its_table() -> None:
    """A column added to a table (and its migration) without its value would be lost on read."""
    for value, model in ((AgreementSnapshot, Agreement), (PartyValue, Party), (ContactValue, Contact),
                         (SignatureValue, Signature), (AreaValue, CollaborationArea), (DeliverableValue, Deliverable),
                         (OrganisationValue, Organisation), (PersonValue, Person), (DocumentValue, Document)):
        own = {f.name for f in fields(value)} - {"organisation", "person", "parties", "contacts", "signatures",
                                                 "areas", "deliverables", "documents", "successor_id",
                                                 "amendments"}  # read beside
        assert own == set(columns_of_table(model)), value.__name__


def columns_of_table(model: Any) -> list[str]:
    return [attr.key for attr in sa_inspect(model).column_attrs]


async def test_values_cannot_be_changed_in_place_and_are_shared(demo: Database) -> None:
    async with demo.transaction(write=False) as session:
        agreement_id = await session.scalar(select(col(Agreement.id)).order_by(col(Agreement.id)))
        assert agreement_id is not None
        agreement = await snapshot.load(session, agreement_id, ADMIN)
    with pytest.raises(FrozenInstanceError):
        agreement.state = "suspended"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        agreement.deliverables[0].progress_note = "changed in place"  # type: ignore[misc]
    assert isinstance(agreement.deliverables, tuple)  # no append either
    # one value per organisation, whether reached through a party or a person
    organisations: dict[int, OrganisationValue] = {}
    for contact in agreement.contacts:
        organisation = contact.person.organisation
        assert organisations.setdefault(organisation.id, organisation) is organisation
    for party in agreement.parties:
        if party.organisation_id in organisations:
            assert organisations[party.organisation_id] is party.organisation


async def test_scoped_to_the_callers_organisation(demo: Database) -> None:
    async with demo.transaction(write=False) as session:
        agreement_id = await session.scalar(select(col(Agreement.id)).order_by(col(Agreement.id)))
        assert agreement_id is not None
        loaded = await snapshot.load(session, agreement_id, ADMIN)
        member = loaded.parties[0].organisation_id
    async with demo.transaction(write=False) as session:
        staff = Actor(label="member", role="staff", person_id=None, organisation_id=member)
        assert (await snapshot.load(session, agreement_id, staff)).id == agreement_id
    async with demo.transaction(write=False) as session:
        stranger = Actor(label="stranger", role="staff", person_id=None, organisation_id=10**6)
        with pytest.raises(NotFound):
            await snapshot.load(session, agreement_id, stranger)
    async with demo.transaction(write=False) as session:
        with pytest.raises(NotFound):
            await snapshot.load(session, 2**31 - 1, ADMIN)


async def test_for_a_change_it_reads_the_schedule_rows(demo: Database) -> None:
    async with demo.transaction() as session:
        session.add(WebhookSubscription(url="http://127.0.0.1:9/hook", secret="s", events=["agreement.signed"],
                                        created_at=datetime(2026, 11, 23, tzinfo=UTC)))
        session.add(WebhookSubscription(url="http://127.0.0.1:9/off", secret="s", events=["reminder.due"],
                                        active=False, created_at=datetime(2026, 11, 23, tzinfo=UTC)))
        agreement_id = await session.scalar(select(col(Agreement.id)).order_by(col(Agreement.id)))
        assert agreement_id is not None
        person_id = await session.scalar(select(col(Person.id)).order_by(col(Person.id)))
        assert person_id is not None
        # Years-old reminders: a sent one is history and not read for a change; one still pending
        # (a worker was down) is read, so the change can cancel it if it became moot.
        old = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
        for rule, status in (("old_sent", "sent"), ("old_pending", "pending")):
            session.add(Notification(agreement_id=agreement_id, subject_type="agreement", subject_id=agreement_id,
                                     rule=rule, due_on=old.date(), person_id=person_id, send_at=old,
                                     next_attempt_at=old, status=status, created_at=old, updated_at=old))
    async with demo.transaction(write=False) as session:
        timers = list(await session.scalars(select(Timer).where(col(Timer.agreement_id) == agreement_id)))
        every_reminder = list(await session.scalars(select(Notification).where(
            col(Notification.agreement_id) == agreement_id, col(Notification.kind) == "reminder")))
    since = reminders_relevant_since(NOW)
    reminders = [n for n in every_reminder if n.status == "pending" or n.due_on >= since]
    assert timers
    assert {"old_pending"} <= {n.rule for n in reminders}
    assert "old_sent" not in {n.rule for n in reminders}
    assert len(reminders) > 1
    async with demo.transaction(write=False) as session:
        _, rows = await snapshot.load_for_change(session, agreement_id, ADMIN, NOW)
    assert sorted(r["id"] for r in rows.timers) == sorted(t.id for t in timers)
    by_id = {t.id: t for t in timers}
    for row in rows.timers:
        for key, value in row.items():
            assert value == getattr(by_id[row["id"]], key)
            assert type(value) is type(getattr(by_id[row["id"]], key))
    by_id_n = {n.id: n for n in reminders}
    assert sorted(by_id_n) == sorted(r["id"] for r in rows.reminders)
    for row in rows.reminders:
        for key, value in row.items():
            assert value == getattr(by_id_n[row["id"]], key), key
    assert [events for _, events in rows.subscriptions] == [["agreement.signed"]]


async def test_cancelling_leaves_a_reminder_a_worker_already_sent(demo: Database) -> None:
    """A change that makes a reminder moot cancels it only while it is still pending: one a
    worker sent between the change's read and its write stays sent."""
    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    async with demo.transaction(write=False) as session:
        agreement_id = await session.scalar(select(col(Agreement.id)).order_by(col(Agreement.id)))
        assert agreement_id is not None
    async with demo.transaction() as session:
        agreement, rows = await snapshot.load_for_change(session, agreement_id, ADMIN, NOW)
        pending = [r for r in rows.reminders if r["status"] == "pending"]
        assert len(pending) >= 2
        await session.execute(update(Notification).where(col(Notification.id) == pending[0]["id"])
                              .values(status="sent"))  # the worker, meanwhile
        draft = Draft(agreement)
        draft.set("state", "suspended")  # every reminder of an active agreement is moot now
        change = draft.finish(HistoryKind.TRANSITION, "suspend", from_state="active", to_state="suspended")
        await schedule.follow(session, replace(agreement, state="suspended"), change, "test",
                              When.of(clock, ZoneInfo("UTC")), rows)
    async with demo.transaction(write=False) as session:
        statuses = dict((await session.execute(select(col(Notification.id), col(Notification.status)).where(
            col(Notification.id).in_([r["id"] for r in pending])))).all())
    assert statuses[pending[0]["id"]] == "sent"
    assert all(statuses[r["id"]] == "cancelled" for r in pending[1:])


async def test_works_as_the_first_thing_a_fresh_process_does(
        demo: Database, database_url: tuple[str, str | None], tmp_path: Path) -> None:
    """A new API process may load an agreement before any ORM query has run (authentication is
    a plain statement): the snapshot needs nothing the ORM sets up on first use."""
    async with demo.transaction(write=False) as session:
        agreement_id = await session.scalar(select(col(Agreement.id)).order_by(col(Agreement.id)))
    url, search_path = database_url
    script = tmp_path / "first.py"
    script.write_text(textwrap.dedent(f"""
        import asyncio, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
        from engine.agreements import snapshot
        from engine.context import Actor
        from engine.db import Database

        async def main():
            db = Database({url!r}, search_path={search_path!r})
            async with db.transaction() as session:
                agreement = await snapshot.load(session, {agreement_id}, Actor(label="a", role="admin"))
                print(agreement.state, len(agreement.parties), len(agreement.contacts))
            await db.dispose()

        asyncio.run(main())
    """))
    process = await asyncio.create_subprocess_exec(sys.executable, str(script), stdout=PIPE, stderr=PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()[-2000:]
    state, parties, contacts = out.decode().split()
    assert state == "active"
    assert int(parties) >= 2
    assert int(contacts) >= 2
