"""One agreement's whole life through the API, with the clock moved and worker passes firing its
timers: draft → pending_signature → signed → active → under_review → reviewed → renewed → active."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.clock import FixedClock
from engine.db import Database
from engine.settings import Settings
from notifications.worker import Worker
from tests.support import World


async def test_draft_to_renewed(world: World, clock: FixedClock, database: Database, settings: Settings) -> None:
    worker = Worker(database, settings)

    async def state(agreement_id: int) -> dict[str, Any]:
        current: dict[str, Any] = await world.ok("metro_staff", "GET", f"/agreements/{agreement_id}")
        return current

    async def fire(event: str, who: str = "metro_staff", **fields: Any) -> dict[str, Any]:
        response = await world.fire(who, agreement_id, event, **fields)
        assert response.status_code == 200, response.text
        fired: dict[str, Any] = response.json()
        return fired

    async def pass_on(day: str) -> dict[str, Any]:
        """A worker pass at 01:00 UTC on `day`, with the API's clock there too."""
        clock.set(datetime.fromisoformat(f"{day}T01:00:00+00:00"))
        await worker.run_pass(clock.now())
        return await state(agreement_id)

    agreement = await world.ready()  # effective from 2026-12-01, reviewed every 12 months
    agreement_id = agreement["id"]
    assert agreement["state"] == "draft"
    assert (await fire("submit_for_signature"))["state"] == "pending_signature"
    assert (await fire("sign", place="Montevideo"))["state"] == "pending_signature"
    signed = await fire("sign", "aspac_staff", place="Montevideo")
    assert (signed["state"], signed["signing_place"]) == ("signed", "Montevideo")

    # The scheduler activates it on its effective date, not a day before.
    assert (await pass_on("2026-11-30"))["state"] == "signed"
    active = await pass_on("2026-12-01")
    assert (active["state"], active["next_review_on"]) == ("active", "2027-12-01")

    # On the review date the scheduler starts the review; the parties complete it.
    assert (await pass_on("2027-11-30"))["state"] == "active"
    assert (await pass_on("2027-12-01"))["state"] == "under_review"
    reviewed = await fire("complete_review", outcome="renew", summary="Both networks want to go on.")
    assert (reviewed["state"], reviewed["review_outcome"]) == ("reviewed", "renew")
    renewed = await fire("renew", starts_on="2027-12-15", ends_on="2029-12-14")
    assert (renewed["state"], renewed["ends_on"]) == ("renewed", "2029-12-14")

    # The renewed term starts on its own date: active again, its next review a year on.
    assert (await pass_on("2027-12-14"))["state"] == "renewed"
    again = await pass_on("2027-12-15")
    assert (again["state"], again["term_starts_on"], again["next_review_on"]) == \
        ("active", "2027-12-15", "2028-12-15")

    history = await world.ok("admin", "GET", f"/agreements/{agreement_id}/history")
    steps = [(h["event"], h["actor"] if h["event"] in ("activate", "start_review") else "", h["to_state"])
             for h in history["items"] if h["from_state"] != h["to_state"]]
    assert steps == [("create", "", "draft"), ("submit_for_signature", "", "pending_signature"), ("sign", "", "signed"),
                     ("activate", "scheduler", "active"), ("start_review", "scheduler", "under_review"),
                     ("complete_review", "", "reviewed"), ("renew", "", "renewed"),
                     ("activate", "scheduler", "active")]
