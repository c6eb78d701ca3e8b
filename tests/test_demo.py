"""The demo data: made through the engine, loaded twice without a single duplicate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel, col

from engine import migrate
from engine.agreements import snapshot
from engine.clock import FixedClock
from engine.context import Actor
from engine.db import Database
from engine.demo import seed as demo
from engine.models import (
    Agreement,
    ApiToken,
    CollaborationArea,
    Contact,
    Deliverable,
    HistoryEvent,
    Organisation,
    Party,
    Person,
    Signature,
)
from engine.settings import Settings


@pytest.fixture
async def migrated(database_url: tuple[str, str | None]) -> AsyncIterator[Database]:
    url, search_path = database_url
    migrate.upgrade(url, search_path=search_path)
    database = Database(url, search_path=search_path)
    try:
        yield database
    finally:
        await database.dispose()


async def _counts(database: Database) -> dict[str, int]:
    counts = {}
    async with database.transaction(write=False) as session:
        for table in SQLModel.metadata.sorted_tables:
            counts[table.name] = await session.scalar(select(func.count()).select_from(table)) or 0
    return counts


async def test_demo_loads_once_and_then_changes_nothing(migrated: Database,
                                                        clock: FixedClock) -> None:
    first = await demo.load_demo(migrated, clock)
    after_first = await _counts(migrated)
    second = await demo.load_demo(migrated, clock)
    after_second = await _counts(migrated)

    assert first.changed
    assert not second.changed
    assert after_second == after_first
    assert after_first["organisation"] == len(demo.ORGANISATIONS) == 7
    assert after_first["person"] == len(demo.PEOPLE)
    assert after_first["agreement"] == 2
    assert after_first[ApiToken.__tablename__] == 0  # the demo hands out no credentials
    assert after_first[HistoryEvent.__tablename__] > 20
    assert any("Collaboration agreement between Metropolis and UCLG ASPAC" in line
               for line in second.lines())


async def test_the_seed_agreement_is_active_signed_in_montevideo(migrated: Database, clock: FixedClock,
                                                                 documents_dir: Path) -> None:
    await demo.load_demo(migrated, clock)
    async with migrated.transaction(write=False) as session:
        agreement_id = await session.scalar(
            select(col(Agreement.id)).where(col(Agreement.title) == demo.COLLABORATION_TITLE))
        assert agreement_id is not None
        agreement = await snapshot.load(session, agreement_id, Actor.scheduler())
        history = list(await session.scalars(
            select(HistoryEvent).where(col(HistoryEvent.agreement_id) == agreement_id)
            .order_by(col(HistoryEvent.version))))

    assert agreement.state == "active"
    assert agreement.workflow_name == "collaboration_agreement"
    assert agreement.effective_from == date(2019, 4, 6)
    assert agreement.signed_on == date(2019, 4, 6)
    assert agreement.signing_place == "Montevideo"
    assert agreement.review_every_months == 12
    # The next anniversary after "today" (2026-11-23 on the test clock).
    assert agreement.next_review_on == date(2027, 4, 6)
    assert "since 2007" in (agreement.background or "")
    assert "54 UCLG joint members" in (agreement.background or "")

    assert [(s.signed_on, s.place) for s in agreement.signatures] == [
        (date(2019, 4, 6), "Montevideo"), (date(2019, 4, 6), "Montevideo")]
    # Its signed copy, a PDF made by the demo, kept in the documents folder before the last signature.
    [copy] = agreement.documents
    assert (copy.kind, copy.content_type, copy.filename) == (
        "signed_agreement", "application/pdf", "metropolis-uclg-aspac-2019-signed.pdf")
    content = (documents_dir / copy.sha256[:2] / copy.sha256).read_bytes()
    assert content.startswith(b"%PDF-1.4")
    assert content.rstrip().endswith(b"%%EOF")
    assert b"Montevideo" in content
    # One merged administrative amendment: the Metropolis focal point's new title, approved by
    # both parties' focal points; the agreement's reference says so.
    capacities = {c.capacity for c in agreement.contacts if c.kind == "focal_point"}
    assert "Director of Institutional Relations & Asia" in capacities
    assert "Senior Manager for Institutional Relations & Asia" not in capacities
    assert (agreement.reference or "").endswith("-A1")
    [amended] = [h for h in history if h.kind == "amended"]
    assert amended.at.date() == date(2026, 10, 21)
    assert (amended.data or {})["amendment"] == 1
    [contact] = (amended.diff or {})["parts"]
    assert contact["changes"]["capacity"] == ["Senior Manager for Institutional Relations & Asia",
                                              "Director of Institutional Relations & Asia"]
    assert [a.title for a in agreement.areas] == demo.COLLABORATION_AREAS
    assert len(agreement.areas) == 4
    per_area = {a.id: [d for d in agreement.deliverables if d.area_id == a.id]
                for a in agreement.areas}
    assert all(2 <= len(items) <= 3 for items in per_area.values())
    focal_points = {c.person_id for c in agreement.contacts if c.kind == "focal_point"}
    assert all(d.owner_id in focal_points for d in agreement.deliverables)
    today = date(2026, 11, 23)
    overdue = [d for d in agreement.deliverables
               if d.status in ("planned", "in_progress") and d.due_on and d.due_on < today]
    assert len(overdue) == 1
    assert {d.status for d in agreement.deliverables} >= {"done", "in_progress", "planned"}
    assert all(d.completed_on is not None for d in agreement.deliverables if d.status == "done")

    # Made through the engine: the history tells the whole story, in order.
    transitions = [(h.event, h.to_state) for h in history if h.kind == "transition"]
    assert transitions == [("submit_for_signature", "pending_signature"),
                           ("sign", "pending_signature"), ("sign", "signed"),
                           ("activate", "active")]
    assert [h.version for h in history] == list(range(1, agreement.version + 1))
    assert all(a.at <= b.at for a, b in zip(history, history[1:], strict=False))


async def test_the_focal_point_at_metropolis_is_agnes_bickart(migrated: Database,
                                                              clock: FixedClock) -> None:
    await demo.load_demo(migrated, clock)
    async with migrated.transaction(write=False) as session:
        agnes = await session.scalar(select(Person).where(col(Person.email) == demo.AGNES))
        assert agnes is not None
        named = list(await session.scalars(
            select(col(Contact.kind)).where(col(Contact.person_id) == agnes.id)))
        metropolis = await session.scalar(
            select(Organisation).where(col(Organisation.name) == "Metropolis"))
    assert agnes.name == "Agnès Bickart"
    assert agnes.job_title == "Senior Manager for Institutional Relations & Asia"
    assert agnes.timezone == "Europe/Madrid"
    assert agnes.role == "staff"
    assert agnes.email.endswith(".example")
    assert named == ["focal_point"]
    assert metropolis is not None
    assert metropolis.timezone == "Europe/Madrid"


async def test_the_city_to_city_cooperation_is_marked_as_demo(migrated: Database,
                                                              clock: FixedClock) -> None:
    await demo.load_demo(migrated, clock)
    async with migrated.transaction(write=False) as session:
        agreement = await session.scalar(
            select(Agreement).where(col(Agreement.workflow_name) == "city_to_city"))
        assert agreement is not None
        roles = dict((await session.execute(
            select(col(Organisation.name), col(Party.role))
            .join(Party, col(Party.organisation_id) == col(Organisation.id))
            .where(col(Party.agreement_id) == agreement.id))).all())
        signatures = await session.scalar(select(func.count()).select_from(Signature)
                                          .where(col(Signature.agreement_id) == agreement.id))
        areas = await session.scalar(select(func.count()).select_from(CollaborationArea)
                                     .where(col(CollaborationArea.agreement_id) == agreement.id))
        deliverables = await session.scalar(select(func.count()).select_from(Deliverable)
                                            .where(col(Deliverable.agreement_id) == agreement.id))
    assert agreement.title.startswith("Demo")
    assert agreement.state == "active"
    assert roles == {"Tabriz Municipality": "party", "Bishkek City Hall": "party",
                     "Asian Mayors Forum": "supporter"}
    assert signatures == 2
    assert areas == 2
    assert deliverables == 3


async def test_demo_people_have_example_addresses(migrated: Database, clock: FixedClock) -> None:
    await demo.load_demo(migrated, clock, Settings().zone)
    async with migrated.transaction(write=False) as session:
        emails = list(await session.scalars(select(col(Person.email))))
    assert emails
    assert all(email.rsplit(".", 1)[-1] == "example" for email in emails)
