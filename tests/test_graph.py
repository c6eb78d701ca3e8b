"""The one-statement agreement loader (engine/graph.py) gives exactly what the ORM loads.

Every column of the agreement and of each part (parties with organisations, focal points and
signatories with their people, signatures, areas, deliverables) must equal, in value and type,
what SQLAlchemy's own loading returns, on SQLite and PostgreSQL: a date that came back as a
string, an instant without its zone or a boolean as 0 would reach guards, reminders and the
API answer.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from asyncio.subprocess import PIPE
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, update
from sqlmodel import col

from engine.access import load_agreement, with_parts
from engine.clock import FixedClock, When
from engine.context import Actor
from engine.db import Database
from engine.demo import load_demo
from engine.errors import NotFound
from engine.graph import in_session, load_graph, take_schedule_rows
from engine.models import Agreement, Organisation, Person
from engine.schedule import Notification, Timer, WebhookSubscription, reminders_relevant_since, sync

NOW = When.of(FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)), ZoneInfo("UTC"))


def columns(instance: Any) -> dict[str, Any]:
    mapper = sa_inspect(type(instance))
    return {attr.key: getattr(instance, attr.key) for attr in mapper.column_attrs}


def same(a: Any, b: Any) -> None:
    left, right = columns(a), columns(b)
    assert left == right
    for key in left:  # equal values of the same types: a date is not a str, True is not 1
        assert type(left[key]) is type(right[key]), (type(a).__name__, key, left[key], right[key])


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
                select(Agreement).where(col(Agreement.id) == agreement_id).options(*with_parts())
            )).scalar_one()
        async with demo.transaction(write=False) as session:
            got = await load_graph(session, agreement_id, scoped=False)
            assert got is not None
            same(got, expected)
            for name in ("parties", "contacts", "signatures", "areas", "deliverables"):
                left, right = getattr(got, name), getattr(expected, name)
                assert [p.id for p in left] == [p.id for p in right], name
                for a, b in zip(left, right, strict=True):
                    same(a, b)
            for a, b in zip(got.parties, expected.parties, strict=True):
                same(a.organisation, b.organisation)
                assert a.agreement is got
            for a, b in zip(got.contacts, expected.contacts, strict=True):
                same(a.person, b.person)
                same(a.person.organisation, b.person.organisation)
            # Persistent and clean: nothing to write back, changes are tracked.
            assert in_session(session, agreement_id)
            assert not session.dirty
            assert not session.new
            assert sa_inspect(got).persistent
    # the demo has parts of every kind, so the comparison above covered them
    async with demo.transaction(write=False) as session:
        full = await load_graph(session, ids[0], scoped=False)
        assert full is not None
        assert full.parties
        assert full.contacts
        assert full.signatures
        assert full.areas
        assert full.deliverables


async def test_one_object_per_row_and_the_sessions_own_objects_kept(demo: Database) -> None:
    async with demo.transaction(write=False) as session:
        agreement_id = await session.scalar(select(col(Agreement.id)).order_by(col(Agreement.id)))
        assert agreement_id is not None
        # a person already in the session (the caller, say) is reused, not duplicated
        some_person = (await session.scalars(select(Person).limit(1))).one()
        agreement = await load_graph(session, agreement_id, scoped=False)
        assert agreement is not None
        people = {c.person_id: c.person for c in agreement.contacts}
        if some_person.id in people:
            assert people[some_person.id] is some_person
        organisations: dict[int, Organisation] = {}
        for contact in agreement.contacts:
            organisation = contact.person.organisation
            assert organisations.setdefault(organisation.id or 0, organisation) is organisation
        for party in agreement.parties:
            if party.organisation_id in organisations:
                assert organisations[party.organisation_id] is party.organisation


async def test_a_change_to_a_loaded_agreement_is_written(demo: Database) -> None:
    async with demo.transaction() as session:
        agreement_id = await session.scalar(select(col(Agreement.id)).order_by(col(Agreement.id)))
        assert agreement_id is not None
        agreement = await load_graph(session, agreement_id, scoped=False)
        assert agreement is not None
        agreement.deliverables[0].progress_note = "written through the graph"
    async with demo.transaction(write=False) as session:
        again = await load_graph(session, agreement_id, scoped=False)
        assert again is not None
        assert again.deliverables[0].progress_note == "written through the graph"


async def test_scoped_to_the_callers_organisation(demo: Database) -> None:
    async with demo.transaction(write=False) as session:
        agreement_id = await session.scalar(select(col(Agreement.id)).order_by(col(Agreement.id)))
        assert agreement_id is not None
        loaded = await load_graph(session, agreement_id, scoped=False)
        assert loaded is not None
        member = loaded.parties[0].organisation_id
    async with demo.transaction(write=False) as session:
        assert await load_graph(session, agreement_id, scoped=True, organisation_id=member) is not None
    async with demo.transaction(write=False) as session:
        stranger = Actor(label="stranger", role="staff", person_id=None, organisation_id=10**6)
        with pytest.raises(NotFound):
            await load_agreement(session, agreement_id, stranger)
    async with demo.transaction(write=False) as session:
        assert await load_graph(session, 2**31 - 1, scoped=False) is None


async def test_for_a_change_it_reads_the_schedule_rows_once(demo: Database) -> None:
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
        await load_graph(session, agreement_id, scoped=False, change_at=NOW)
        rows = take_schedule_rows(session, agreement_id)
        assert rows is not None
        assert take_schedule_rows(session, agreement_id) is None  # once
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
        agreement = await load_graph(session, agreement_id, scoped=False, change_at=NOW)
        assert agreement is not None
        rows = take_schedule_rows(session, agreement_id)
        assert rows is not None
        pending = [r for r in rows.reminders if r["status"] == "pending"]
        assert len(pending) >= 2
        await session.execute(update(Notification).where(col(Notification.id) == pending[0]["id"])
                              .values(status="sent"))  # the worker, meanwhile
        agreement.state = "suspended"  # every reminder of an active agreement is moot now
        session.info["accord.schedule_rows"] = {agreement_id: rows}  # the rows as read before
        await sync(session, agreement, When.of(clock, ZoneInfo("UTC")))
    async with demo.transaction(write=False) as session:
        statuses = dict((await session.execute(select(col(Notification.id), col(Notification.status)).where(
            col(Notification.id).in_([r["id"] for r in pending])))).all())
    assert statuses[pending[0]["id"]] == "sent"
    assert all(statuses[r["id"]] == "cancelled" for r in pending[1:])


async def test_works_as_the_first_thing_a_fresh_process_does(
        demo: Database, database_url: tuple[str, str | None], tmp_path: Path) -> None:
    """A new API process may load an agreement before any ORM query has configured the mappers
    (authentication is a plain statement): the relationships must be usable all the same."""
    async with demo.transaction(write=False) as session:
        agreement_id = await session.scalar(select(col(Agreement.id)).order_by(col(Agreement.id)))
    url, search_path = database_url
    script = tmp_path / "first.py"
    script.write_text(textwrap.dedent(f"""
        import asyncio, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
        from engine.db import Database
        from engine.graph import load_graph

        async def main():
            db = Database({url!r}, search_path={search_path!r})
            async with db.transaction() as session:
                agreement = await load_graph(session, {agreement_id}, scoped=False)
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
