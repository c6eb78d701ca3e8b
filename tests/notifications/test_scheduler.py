"""The loop inside a process (`Scheduler`, as `accord serve` runs it) and `run_once`."""

from __future__ import annotations

import asyncio
import json

import pytest

from engine.clock import FixedClock
from engine.db import Database
from engine.settings import Settings
from notifications.worker import Scheduler, run_once
from tests.conftest import database_kind
from tests.notifications.conftest import MakeWorker, Receiver, SmtpServer
from tests.notifications.helpers import at
from tests.support import World


async def test_the_scheduler_runs_passes_until_stopped(
        world: World, database: Database, settings: Settings, clock: FixedClock) -> None:
    agreement = await world.signed(effective_from="2026-12-01")
    clock.set(at("2026-12-01T06:00"))
    scheduler = Scheduler(settings.model_copy(update={"scheduler_interval_seconds": 0.05}),
                          database=database, clock=clock)
    await scheduler.start()
    try:
        for _ in range(100):
            current = await world.ok("admin", "GET", f"/agreements/{agreement['id']}")
            if current["state"] == "active":
                break
            await asyncio.sleep(0.05)
    finally:
        await scheduler.stop()
    assert current["state"] == "active"


@pytest.mark.skipif(database_kind() != "sqlite", reason="run_once opens the database its settings name")
async def test_run_once_is_one_pass_as_of_the_given_instant(
        world: World, settings: Settings) -> None:
    agreement = await world.signed(effective_from="2026-12-01")
    report = await run_once(settings, at("2026-11-30T12:00"))
    assert report.timers_fired == 0
    report = await run_once(settings, at("2026-12-01T12:00"))
    assert report.timers_fired == 1
    assert (await world.ok("admin", "GET", f"/agreements/{agreement['id']}"))["state"] == "active"
    assert report.mails_sent == 0


async def test_deliverable_updates_are_posted(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer,
        receiver: Receiver) -> None:
    agreement = await world.ready()
    await world.ok("admin", "POST", "/webhooks", json={
        "url": receiver.url, "secret": "another-long-secret", "events": ["deliverable.updated"]})
    area = agreement["areas"][0]["id"]
    created = await world.ok("metro_staff", "POST",
                             f"/agreements/{agreement['id']}/areas/{area}/deliverables",
                             json={"title": "City profile", "owner_id": world.metro_staff.id})
    await world.ok("metro_staff", "PATCH", f"/deliverables/{created['id']}",
                   json={"status": "in_progress", "progress_note": "Draft shared."})
    await make_worker(smtp).run_pass(at("2026-11-23T10:00"))
    # Deliveries are not ordered among themselves (retries would reorder them anyway); the
    # change's version is what orders them.
    bodies = sorted((json.loads(r.body) for r in receiver.requests), key=lambda b: b["change"]["version"])
    assert [b["event"] for b in bodies] == ["deliverable.updated", "deliverable.updated"]
    assert [b["deliverable"]["status"] for b in bodies] == ["planned", "in_progress"]
    assert bodies[1]["change"]["comment"] == "Draft shared."
    # what the change changed, field by field, as the history row keeps it
    assert bodies[1]["change"]["diff"] == {"parts": [{
        "part": "deliverable", "op": "changed", "id": created["id"],
        "changes": {"status": ["planned", "in_progress"], "progress_note": [None, "Draft shared."]}}]}
