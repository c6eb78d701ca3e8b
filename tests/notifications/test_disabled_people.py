"""A disabled person gets no reminder: their rows are cancelled, none is written or revived for
them, and a worker pass sends nothing to them over a real SMTP server."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlmodel import col

from engine.clock import FixedClock
from engine.db import Database
from engine.models import Person
from tests.notifications.conftest import MakeWorker, SmtpServer
from tests.notifications.helpers import active_agreement, address, daily_passes, notifications, subject
from tests.support import World

METRO, ASPAC = "metro_staff@metropolis.example", "aspac_staff@aspac.example"


async def test_a_disabled_focal_point_gets_no_reminders(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer,
        database: Database) -> None:
    worker = make_worker(smtp)
    agreement = await active_agreement(world, clock, worker)
    assert len(await notifications(database, rule="review_due", person_id=world.aspac_staff.id,
                                   status="pending")) == 3

    await world.ok("admin", "PATCH", f"/people/{world.aspac_staff.id}", json={"active": False})
    rows = await notifications(database, rule="review_due", person_id=world.aspac_staff.id)
    assert {(r.status, r.note) for r in rows} == {("cancelled", "the person is disabled")}

    # Another change re-derives the agreement's reminders: still none for them.
    await world.ok("metro_staff", "POST",
                   f"/agreements/{agreement['id']}/areas/{agreement['areas'][0]['id']}/deliverables",
                   json={"title": "Joint training", "owner_id": world.metro_staff.id, "due_on": "2027-11-20"})
    rows = await notifications(database, person_id=world.aspac_staff.id)
    assert rows
    assert {r.status for r in rows} == {"cancelled"}

    await daily_passes([worker], date(2027, 10, 30), date(2027, 12, 1))
    review = [m for m in smtp.messages if subject(m).startswith("Review due")]
    assert [address(m) for m in review] == [METRO] * 2  # 30 and 7 days before; on the day the review has started
    assert ASPAC not in {address(m) for m in smtp.messages}


async def test_enabled_again_they_get_the_reminders_still_ahead(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer,
        database: Database) -> None:
    worker = make_worker(smtp)
    await active_agreement(world, clock, worker)
    await world.ok("admin", "PATCH", f"/people/{world.aspac_staff.id}", json={"active": False})
    await world.ok("admin", "PATCH", f"/people/{world.aspac_staff.id}", json={"active": True})
    assert len(await notifications(database, rule="review_due", person_id=world.aspac_staff.id,
                                   status="pending")) == 3

    await daily_passes([worker], date(2027, 10, 30), date(2027, 12, 1))
    review = [m for m in smtp.messages if subject(m).startswith("Review due")]
    assert sorted(address(m) for m in review) == [ASPAC] * 2 + [METRO] * 2


async def test_the_worker_sends_nothing_to_a_disabled_person_whatever_the_rows_say(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer,
        database: Database) -> None:
    """A row written for someone who is disabled by the time it is due (here: disabled behind the
    service's back, so the row stayed pending) is cancelled by the worker, not sent."""
    worker = make_worker(smtp)
    await active_agreement(world, clock, worker)
    async with database.transaction() as session:
        await session.execute(update(Person).where(col(Person.id) == world.aspac_staff.id).values(active=False))

    await daily_passes([worker], date(2027, 10, 30), date(2027, 11, 2))
    assert [address(m) for m in smtp.messages if subject(m).startswith("Review due")] == [METRO]
    [row] = await notifications(database, rule="review_due", person_id=world.aspac_staff.id,
                                due_on=date(2027, 11, 1))
    assert (row.status, row.note) == ("cancelled", "the person is disabled")
