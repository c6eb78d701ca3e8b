"""Timers: date-driven events fired through the engine, as the scheduler, exactly once."""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy import select
from sqlmodel import col

from engine.clock import FixedClock
from engine.db import Database
from engine.schedule import Timer
from engine.statuses import TimerStatus
from tests.notifications.conftest import MakeWorker, SmtpServer
from tests.notifications.helpers import at, notifications, subject
from tests.support import World


async def test_activation_on_the_effective_date_and_not_before(
        world: World, make_worker: MakeWorker, smtp: SmtpServer) -> None:
    agreement = await world.signed(effective_from="2026-12-01")
    worker = make_worker(smtp)

    report = await worker.run_pass(at("2026-11-30T23:59:59"))
    assert report.timers_fired == 0
    assert (await world.ok("admin", "GET", f"/agreements/{agreement['id']}"))["state"] == "signed"

    first, again = make_worker(smtp, owner="w1"), make_worker(smtp, owner="w2")
    report = await first.run_pass(at("2026-12-01T00:00:01"))
    assert report.timers_fired == 1
    assert (await again.run_pass(at("2026-12-01T00:00:02"))).timers_fired == 0

    current = await world.ok("admin", "GET", f"/agreements/{agreement['id']}")
    assert current["state"] == "active"
    assert current["next_review_on"] == "2027-12-01"
    history = await world.ok("admin", "GET", f"/agreements/{agreement['id']}/history")
    last = history["items"][-1]
    assert (last["event"], last["actor"], last["to_state"]) == ("activate", "scheduler", "active")


async def test_timer_rows_follow_state_and_dates(world: World, database: Database) -> None:
    agreement = await world.signed(effective_from="2026-12-01")
    async with database.transaction(write=False) as session:
        timers = list(await session.scalars(select(Timer).where(col(Timer.agreement_id) == agreement["id"])))
    assert [(t.event, t.due_on, t.status) for t in timers] == [
        ("activate", date(2026, 12, 1), "pending")]

    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/events",
                   json={"event": "terminate", "reason": "The parties agreed to stop."})
    async with database.transaction(write=False) as session:
        timer = await session.scalar(select(Timer).where(col(Timer.agreement_id) == agreement["id"]))
    assert timer is not None
    assert timer.status == "cancelled"


async def test_a_timer_whose_guard_fails_alerts_the_focal_points(
        world: World, database: Database, make_worker: MakeWorker, smtp: SmtpServer,
        clock: FixedClock) -> None:
    agreement = await world.signed(effective_from="2026-12-01")
    worker = make_worker(smtp)
    await worker.run_pass(at("2026-12-01T01:00"))
    # A stale timer: 'expire' due today, though the agreement has no end date.
    async with database.transaction() as session:
        session.add(Timer(agreement_id=agreement["id"], event="expire", due_on=date(2026, 12, 2),
                          created_at=clock.now(), updated_at=clock.now()))

    report = await worker.run_pass(at("2026-12-02T10:00"))
    assert report.timers_failed == 1
    async with database.transaction(write=False) as session:
        timer = await session.scalar(select(Timer).where(col(Timer.event) == "expire"))
    assert timer is not None
    assert timer.status == TimerStatus.FAILED
    assert "no end date" in (timer.last_error or "")
    alerts = await notifications(database, kind="alert")
    assert sorted(a.person_id for a in alerts) == sorted([world.metro_staff.id, world.aspac_staff.id])
    assert {a.status for a in alerts} == {"sent"}
    subjects = [subject(m) for m in smtp.messages]
    # The event by its workflow's label, as the pages name it.
    assert subjects.count("Scheduled 'Expire' could not run: " + agreement["title"]) == 2
    assert (await worker.run_pass(at("2026-12-03T10:00"))).timers_failed == 0


async def test_a_pass_fires_every_due_timer_once_across_agreements_and_workers(
        world: World, make_worker: MakeWorker, smtp: SmtpServer) -> None:
    """Timers of different agreements fire side by side on PostgreSQL (one after another on
    SQLite); two workers at once still fire each exactly once."""
    agreements = [await world.signed(effective_from="2026-12-01", title=f"Timer {n}") for n in range(6)]
    first, second = make_worker(smtp, owner="w1"), make_worker(smtp, owner="w2")
    reports = await asyncio.gather(first.run_pass(at("2026-12-01T06:00")),
                                   second.run_pass(at("2026-12-01T06:00")))
    assert sum(r.timers_fired for r in reports) == 6
    assert sum(r.timers_failed for r in reports) == 0
    for agreement in agreements:
        current = await world.ok("admin", "GET", f"/agreements/{agreement['id']}")
        assert current["state"] == "active"
        history = await world.ok("admin", "GET", f"/agreements/{agreement['id']}/history")
        assert [h["event"] for h in history["items"]].count("activate") == 1
