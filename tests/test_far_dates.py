"""Dates are bounded: every date the API, the pages and the import accept lies from 1900-01-01 to
2199-12-31, and a date already stored outside that range (by an older version, by hand, or as
PostgreSQL's `infinity`) breaks no read, no write, no feed, no report and no worker pass: the
agreement shows it and can be corrected."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import text

from engine.clock import FixedClock
from engine.db import Database
from engine.settings import Settings
from notifications.worker import Worker
from tests.checks import active, fire_ok, problem
from tests.conftest import database_kind
from tests.support import World
from tests.web.helpers import sign_in, text_of

# (far future, far past) as they are written straight into the database.
STORED = [("9999-12-31", "0001-01-01"), ("2200-01-01", "1899-12-31")]
if database_kind() == "postgresql":
    STORED.append(("infinity", "-infinity"))  # what asyncpg writes for date.max and date.min
# As the API shows them: asyncpg reads infinity as date.max, -infinity as date.min.
SHOWN = {"infinity": "9999-12-31", "-infinity": "0001-01-01"}


async def _store(database: Database, table: str, column: str, value: str, row_id: int) -> None:
    """Straight into the database, past the API's checks (the values are this module's constants)."""
    async with database.transaction() as session:
        await session.execute(text(f"UPDATE {table} SET {column} = '{value}' WHERE id = :id"), {"id": row_id})


async def _timer_ids(database: Database, agreement_id: int, event: str) -> list[int]:
    async with database.transaction(write=False) as session:
        rows = await session.execute(text("SELECT id FROM timer WHERE agreement_id = :a AND event = :e "
                                          "AND status = 'pending'"), {"a": agreement_id, "e": event})
        return [row[0] for row in rows]


async def test_dates_outside_the_range_are_refused_naming_the_field(world: World) -> None:
    body = {"title": "Bounded", "parties": [{"organisation_id": world.orgs["metropolis"]},
                                            {"organisation_id": world.orgs["aspac"]}]}
    for overrides, field in [({"next_review_on": "9999-12-31"}, "next_review_on"),
                             ({"effective_from": "1899-12-31"}, "effective_from"),
                             ({"ends_on": "2200-01-01"}, "ends_on"),
                             ({"effective_from": "0001-01-01"}, "effective_from")]:
        answer = await world.call("metro_staff", "POST", "/agreements", json={**body, **overrides})
        found = problem(answer, 422, field, "1900-01-01", "2199-12-31")
        assert found["errors"][0]["field"] == field
    # The bounds themselves are days like any other.
    agreement = await world.ok("metro_staff", "POST", "/agreements",
                               json={**body, "effective_from": "1900-01-01", "ends_on": "2199-12-31"})
    await world.name_people(agreement["id"])
    area = agreement["areas"] or [await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/areas",
                                                 json={"title": "Capacity building"})]
    path = f"/agreements/{agreement['id']}/areas/{area[0]['id']}/deliverables"
    problem(await world.call("metro_staff", "POST", path, json={"title": "R", "due_on": "0001-01-01"}), 422,
            "due_on", "0001-01-01 is outside the dates Accord accepts")
    deliverable = await world.ok("metro_staff", "POST", path, json={"title": "R", "due_on": "2199-12-31"})
    problem(await world.call("metro_staff", "PATCH", f"/deliverables/{deliverable['id']}",
                             json={"due_on": "9999-12-31"}), 422, "due_on")
    problem(await world.call("metro_staff", "PATCH", f"/agreements/{agreement['id']}",
                             json={"next_review_on": "9999-12-31"}), 422, "next_review_on")
    await fire_ok(world, "metro_staff", agreement["id"], "submit_for_signature")
    problem(await world.fire("metro_staff", agreement["id"], "sign", signed_on="9999-12-31"), 422, "signed_on")
    # Query filters too.
    for path, name in [("/agreements", "review_due_before"), ("/exports/agreements.csv", "review_due_before"),
                       ("/exports/deliverables.csv", "review_due_before"), ("/reminders", "before")]:
        problem(await world.call("admin", "GET", path, params={name: "9999-12-31"}), 422, name, "2199-12-31")
        problem(await world.call("admin", "GET", path, params={name: "31/12/2026"}), 422, name, "use YYYY-MM-DD")
        assert (await world.call("admin", "GET", path, params={name: "2199-12-31"})).status_code == 200
    after = await world.ok("admin", "GET", f"/agreements/{agreement['id']}")
    assert after["state"] == "pending_signature"
    assert after["areas"][0]["deliverables"][0]["due_on"] == "2199-12-31"


async def test_bad_date_formats_say_use_yyyy_mm_dd(world: World) -> None:
    body = {"title": "Formats", "parties": [{"organisation_id": world.orgs["metropolis"]}]}
    for value in ("31/12/2026", "2026-12-1", "20261201", "2026-W49-1", "next year", 20261201,
                  "2026-12-01T00:00:00"):
        answer = await world.call("metro_staff", "POST", "/agreements", json={**body, "ends_on": value})
        problem(answer, 422, "ends_on", "use YYYY-MM-DD")
    problem(await world.call("metro_staff", "POST", "/agreements", json={**body, "ends_on": "2026-02-30"}),
            422, "2026-02-30 is not a day of the calendar", "use YYYY-MM-DD")
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0


async def test_the_event_form_refuses_a_far_date(client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.ready()
    await fire_ok(world, "metro_staff", agreement["id"], "submit_for_signature")
    csrf = await sign_in(client, world.metro_staff.token)
    answer = await client.post(f"/agreements/{agreement['id']}/events",
                               data={"csrf": csrf, "event": "sign", "signed_on": "9999-12-31",
                                     "version": str(agreement["version"] + 1)})
    assert answer.status_code == 422, answer.text
    assert "Signed on: " in text_of(answer.text)  # the field as the page names it
    assert "2199-12-31" in text_of(answer.text)
    after = await world.ok("admin", "GET", f"/agreements/{agreement['id']}")
    assert after["parties"][0]["signature"] is None


@pytest.mark.parametrize(("far_future", "far_past"), STORED)
async def test_a_date_stored_outside_the_range_breaks_nothing_and_can_be_corrected(
        world: World, database: Database, client: httpx.AsyncClient, settings: Settings, clock: FixedClock,
        far_future: str, far_past: str) -> None:
    agreement = await active(world, ends_on="2030-12-31", notice_period_days=90)
    aid = agreement["id"]
    area = agreement["areas"][0]["id"]
    deliverable = await world.ok("metro_staff", "POST", f"/agreements/{aid}/areas/{area}/deliverables",
                                 json={"title": "Joint report", "owner_id": world.metro_staff.id,
                                       "due_on": "2027-03-01"})
    person_feed = await world.ok("metro_staff", "POST", "/feeds", json=None)
    agreement_feed = await world.ok("metro_staff", "POST", "/feeds", json={"agreement_id": aid})

    await _store(database, "agreement", "next_review_on", far_future, aid)
    await _store(database, "agreement", "ends_on", far_future, aid)
    await _store(database, "deliverable", "due_on", far_past, deliverable["id"])

    # Reads: the agreement shows what is stored, so that it can be seen and corrected.
    read = await world.ok("metro_staff", "GET", f"/agreements/{aid}")
    assert read["next_review_on"] == SHOWN.get(far_future, far_future)
    assert read["areas"][0]["deliverables"][0]["due_on"] == SHOWN.get(far_past, far_past)
    assert (await world.ok("metro_staff", "GET", "/agreements"))["total"] == 1
    assert (await world.ok("metro_staff", "GET", "/agreements", params={"review_due_before": "2199-12-31"}))[
        "items"] == []
    summary = await world.ok("metro_staff", "GET", "/reports/summary", params={"days": 365})
    assert summary["total"] == 1
    for export in ("/exports/agreements.csv", "/exports/deliverables.csv"):
        answer = await world.call("metro_staff", "GET", export)
        assert answer.status_code == 200, answer.text
        assert "Joint report" in answer.text or str(aid) in answer.text
    history = await world.ok("metro_staff", "GET", f"/agreements/{aid}/history")
    assert history["total"] == read["version"]
    assert (await world.call("metro_staff", "GET", "/reminders")).status_code == 200

    # Calendar feeds: the unusable dates are left out, the rest is there.
    for feed in (person_feed, agreement_feed):
        answer = await client.get(urlsplit(feed["url"]).path)
        assert answer.status_code == 200, answer.text
        uids = {str(e["UID"]) for e in Calendar.from_ical(answer.content).walk("VEVENT")}
        assert not any(uid.startswith(("review-", "expiry-", "notice-", "deliverable-")) for uid in uids), uids

    # The agreement page, with its timeline.
    await sign_in(client, world.metro_staff.token)
    page = await client.get(f"/agreements/{aid}")
    assert page.status_code == 200, page.text
    assert "Joint report" in text_of(page.text)

    # The worker's pass: nothing fails, nothing is scheduled for the unusable dates.
    worker = Worker(database, settings, owner="far-dates")
    report = await worker.run_pass(clock.now())
    assert report.timers_failed == 0, report

    # Writes: an event, then the dates corrected.
    await fire_ok(world, "metro_staff", aid, "start_review")
    corrected = await world.ok("metro_staff", "PATCH", f"/agreements/{aid}", json={"next_review_on": "2027-11-01"})
    assert corrected["next_review_on"] == "2027-11-01"
    fixed = await world.ok("metro_staff", "PATCH", f"/deliverables/{deliverable['id']}", json={"due_on": "2027-03-01"})
    assert fixed["due_on"] == "2027-03-01"
    events: dict[str, Any] = {}
    answer = await client.get(urlsplit(person_feed["url"]).path)
    for event in Calendar.from_ical(answer.content).walk("VEVENT"):
        events[str(event["UID"])] = event
    assert f"deliverable-{deliverable['id']}@accord" in events
    assert f"review-{aid}-2027-11-01@accord" in events


@pytest.mark.parametrize(("far_future", "far_past"), STORED)
async def test_the_activation_timer_fires_whatever_dates_are_stored(
        world: World, database: Database, settings: Settings, far_future: str, far_past: str) -> None:
    """Signed agreements whose start, review or end dates were stored outside the range (an
    activation timer with them) are activated by the worker, not sent to `failed`."""
    early = await world.signed(effective_from="2026-12-01", review_every_months=1)
    late = await world.signed(effective_from="2026-12-01", review_every_months=12)
    for timer_id in await _timer_ids(database, early["id"], "activate"):
        await _store(database, "timer", "due_on", far_past, timer_id)
    await _store(database, "agreement", "effective_from", far_past, early["id"])
    await _store(database, "agreement", "next_review_on", far_future, late["id"])
    await _store(database, "agreement", "ends_on", far_future, late["id"])  # its expiry timer: ends_on + 1

    worker = Worker(database, settings, owner="far-dates")
    report = await worker.run_pass(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    assert (report.timers_fired, report.timers_failed) == (2, 0), report
    for agreement in (early, late):
        after = await world.ok("admin", "GET", f"/agreements/{agreement['id']}")
        assert after["state"] == "active", after
    # Monthly reviews counted from the stored start: the first one after the activation day.
    next_review_on = (await world.ok("admin", "GET", f"/agreements/{early['id']}"))["next_review_on"]
    assert "2026-12-01" < next_review_on <= "2027-01-01"
