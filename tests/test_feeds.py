"""Calendar feeds: the right all-day dates, stable UIDs, revocation, scoping."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlsplit

import httpx
from icalendar import Calendar

from tests.support import World


async def _agreement_with_dates(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    agreement = await world.ready(ends_on="2029-11-30", next_review_on="2027-12-01", notice_period_days=90)
    area_id = agreement["areas"][0]["id"]
    deliverable = await world.ok(
        "metro_staff", "POST", f"/agreements/{agreement['id']}/areas/{area_id}/deliverables",
        json={"title": "Joint training on gender mainstreaming", "owner_id": world.metro_staff.id,
              "due_on": "2027-03-01"})
    return agreement, deliverable


async def _new_feed(world: World, who: str, agreement_id: int | None = None) -> dict[str, Any]:
    body = {"agreement_id": agreement_id} if agreement_id else None
    feed: dict[str, Any] = await world.ok(who, "POST", "/feeds", json=body)
    return feed


async def _fetch(client: httpx.AsyncClient, feed: dict[str, Any]) -> httpx.Response:
    return await client.get(urlsplit(feed["url"]).path)  # no Authorization header: the URL is the key


def _events(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def _day(event: Any) -> date:
    start = event.decoded("DTSTART")
    assert type(start) is date, f"{event['SUMMARY']} is not an all-day event"
    assert event["DTSTART"].params.get("VALUE") == "DATE"
    return start


async def test_person_feed_holds_reviews_notice_expiry_and_own_deliverables(world: World) -> None:
    agreement, deliverable = await _agreement_with_dates(world)
    feed = await _new_feed(world, "metro_staff")
    assert feed["url"].startswith("http://127.0.0.1:8000/feeds/feed_")
    assert feed["url"].endswith(".ics")

    response = await _fetch(world.client, feed)
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Madrid"  # Metropolis' zone; the person has none
    events = _events(response)
    aid = agreement["id"]
    days = {uid: _day(event) for uid, event in events.items()}
    assert days == {
        f"review-{aid}-2027-12-01@accord": date(2027, 12, 1),
        f"notice-{aid}-2029-09-01@accord": date(2029, 9, 1),  # 90 days before 2029-11-30
        f"expiry-{aid}-2029-11-30@accord": date(2029, 11, 30),
        f"deliverable-{deliverable['id']}@accord": date(2027, 3, 1),
    }
    review = events[f"review-{aid}-2027-12-01@accord"]
    assert agreement["title"] in str(review["SUMMARY"])
    assert "record the outcome" in str(review["DESCRIPTION"])
    assert str(review["URL"]) == f"http://127.0.0.1:8000/agreements/{aid}"
    assert "Joint training" in str(events[f"deliverable-{deliverable['id']}@accord"]["SUMMARY"])

    # The other party's focal point sees the agreement's dates but not a deliverable they do not own.
    aspac = _events(await _fetch(world.client, await _new_feed(world, "aspac_staff")))
    assert set(aspac) == set(days) - {f"deliverable-{deliverable['id']}@accord"}
    # Someone named on nothing gets an empty, valid calendar.
    assert _events(await _fetch(world.client, await _new_feed(world, "metro_partner"))) == {}


async def test_feed_is_identical_across_fetches_and_updates_in_place(world: World) -> None:
    agreement, deliverable = await _agreement_with_dates(world)
    feed = await _new_feed(world, "metro_staff", agreement["id"])
    first = await _fetch(world.client, feed)
    second = await _fetch(world.client, feed)
    assert first.content == second.content
    events = _events(first)
    assert f"start-{agreement['id']}-2026-12-01@accord" in events  # the agreement feed has its start

    # Moving the deliverable keeps its UID, so a calendar app moves the event instead of adding one.
    await world.ok("metro_staff", "PATCH", f"/deliverables/{deliverable['id']}", json={"due_on": "2027-04-15"})
    moved = _events(await _fetch(world.client, feed))
    uid = f"deliverable-{deliverable['id']}@accord"
    assert set(moved) == set(events)
    assert _day(moved[uid]) == date(2027, 4, 15)
    assert int(moved[uid]["SEQUENCE"]) > int(events[uid]["SEQUENCE"])


async def test_revoked_and_unknown_feeds_are_404(world: World) -> None:
    await _agreement_with_dates(world)
    feed = await _new_feed(world, "metro_staff")
    listed = await world.ok("metro_staff", "GET", "/feeds")
    assert (listed["total"], listed["limit"], listed["offset"]) == (1, 50, 0)  # a page, like every list
    assert [f["id"] for f in listed["items"]] == [feed["id"]]
    assert "url" not in listed["items"][0]
    assert "token" not in listed["items"][0]
    assert (await world.ok("aspac_staff", "GET", "/feeds"))["items"] == []

    # Nobody else can revoke it.
    assert (await world.call("aspac_staff", "DELETE", f"/feeds/{feed['id']}")).status_code == 404
    assert (await world.call("metro_staff", "DELETE", f"/feeds/{feed['id']}")).status_code == 204

    gone = await _fetch(world.client, feed)
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert "revoked" in gone.json()["detail"]
    assert (await world.ok("metro_staff", "GET", "/feeds"))["total"] == 0
    unknown = await world.client.get("/feeds/feed_not-a-real-token.ics")
    assert unknown.status_code == 404


async def test_a_partner_cannot_make_a_feed_for_an_agreement_out_of_reach(world: World) -> None:
    agreement, _ = await _agreement_with_dates(world)
    response = await world.call("amf_partner", "POST", "/feeds", json={"agreement_id": agreement["id"]})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert (await world.ok("amf_partner", "GET", "/feeds"))["items"] == []
    # A partner of a party can.
    feed = await _new_feed(world, "aspac_partner", agreement["id"])
    assert _events(await _fetch(world.client, feed))


async def test_the_feeds_are_listed_a_page_at_a_time(world: World) -> None:
    made = [await _new_feed(world, "metro_staff") for _ in range(3)]
    assert made[0]["id"] < made[1]["id"] < made[2]["id"]
    first = await world.ok("metro_staff", "GET", "/feeds", params={"limit": 2})
    assert (first["total"], first["limit"], first["offset"]) == (3, 2, 0)
    assert [f["id"] for f in first["items"]] == [made[0]["id"], made[1]["id"]]
    rest = await world.ok("metro_staff", "GET", "/feeds", params={"limit": 2, "offset": 2})
    assert [f["id"] for f in rest["items"]] == [made[2]["id"]]
    assert rest["total"] == 3


async def test_creating_a_feed_needs_a_bearer_token(world: World) -> None:
    assert (await world.client.post("/api/v1/feeds")).status_code == 401


async def test_a_cancelled_agreement_leaves_the_person_feed(world: World) -> None:
    agreement, _ = await _agreement_with_dates(world)
    feed = await _new_feed(world, "metro_staff")
    assert _events(await _fetch(world.client, feed))
    response = await world.fire("metro_staff", agreement["id"], "cancel")
    assert response.status_code == 200, response.text
    assert _events(await _fetch(world.client, feed)) == {}


async def test_the_feed_names_the_person_s_own_time_zone(world: World) -> None:
    agreement, _ = await _agreement_with_dates(world)
    person = await world.ok("admin", "POST", "/people", json={
        "name": "UCLG ASPAC officer in Makassar", "email": "makassar@aspac.example", "role": "staff",
        "organisation_id": world.orgs["aspac"], "timezone": "Asia/Makassar"})
    token = (await world.ok("admin", "POST", f"/people/{person['id']}/tokens", json={}))["token"]
    await world.ok("aspac_staff", "POST", f"/agreements/{agreement['id']}/focal-points",
                   json={"person_id": person["id"], "kind": "focal_point"})
    created = await world.client.post("/api/v1/feeds", headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201, created.text

    response = await _fetch(world.client, created.json())
    assert str(Calendar.from_ical(response.content)["X-WR-TIMEZONE"]) == "Asia/Makassar"
    # All-day dates are the same day in every zone: the review is on 2027-12-01 in Makassar too.
    review = _events(response)[f"review-{agreement['id']}-2027-12-01@accord"]
    assert _day(review) == date(2027, 12, 1)
