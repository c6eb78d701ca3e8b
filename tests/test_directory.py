"""The directory beyond one person: editing an organisation (`PATCH /organisations/{id}`), what
a new time zone does to reminders, and what staff may do for their own organisation's people
(add them, issue and revoke their tokens) — the rules of `engine/directory/rules.py`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.checks import active, problem
from tests.support import API, World


async def organisation(world: World, key: str) -> dict[str, Any]:
    found: dict[str, Any] = await world.ok("admin", "GET", f"/organisations/{world.orgs[key]}")
    return found


async def patch(world: World, who: str, key: str, body: dict[str, Any]) -> httpx.Response:
    return await world.call(who, "PATCH", f"/organisations/{world.orgs[key]}", json=body)


# --- editing an organisation ------------------------------------------------------------------

async def test_an_administrator_edits_any_organisation_and_staff_their_own(world: World) -> None:
    changed = await world.ok("admin", "PATCH", f"/organisations/{world.orgs['aspac']}", json={
        "short_name": " ASPAC ", "kind": "association", "city": "Jakarta", "country": "Indonesia"})
    assert changed == {"id": world.orgs["aspac"], "name": "UCLG ASPAC", "short_name": "ASPAC",
                       "kind": "association", "city": "Jakarta", "country": "Indonesia",
                       "timezone": "Asia/Jakarta", "language": None}
    assert await organisation(world, "aspac") == changed
    # Its people who chose no language read in its own from now on; null gives them the default again.
    spanish = await world.ok("admin", "PATCH", f"/organisations/{world.orgs['aspac']}", json={"language": "es"})
    assert spanish["language"] == "es"
    assert (await world.ok("admin", "PATCH", f"/organisations/{world.orgs['aspac']}",
                           json={"language": None}))["language"] is None

    own = await world.ok("metro_staff", "PATCH", f"/organisations/{world.orgs['metropolis']}",
                         json={"name": "Metropolis – World Association of the Major Metropolises",
                               "city": "Barcelona"})
    assert (own["name"], own["city"], own["timezone"]) == (
        "Metropolis – World Association of the Major Metropolises", "Barcelona", "Europe/Madrid")
    # null clears what may be empty; fields left out stay as they are.
    cleared = await world.ok("metro_staff", "PATCH", f"/organisations/{world.orgs['metropolis']}",
                             json={"city": None})
    assert (cleared["city"], cleared["name"]) == (None, own["name"])


async def test_nobody_else_edits_an_organisation(world: World) -> None:
    before = {key: await organisation(world, key) for key in ("metropolis", "aspac", "amf")}
    problem(await patch(world, "metro_staff", "aspac", {"city": "Bandung"}), 403,
            "Only an administrator, or staff of UCLG ASPAC, can change UCLG ASPAC.")
    problem(await patch(world, "aspac_staff", "amf", {"timezone": "UTC"}), 403, "staff of Asian Mayors Forum")
    problem(await patch(world, "metro_partner", "metropolis", {"city": "Barcelona"}), 403,
            "staff of Metropolis")
    problem(await world.call("admin", "PATCH", "/organisations/999999", json={"city": "Nowhere"}), 404,
            "no organisation 999999")
    for key, was in before.items():
        assert await organisation(world, key) == was


@pytest.mark.parametrize(("body", "mention"), [
    ({}, "at least one"),
    ({"name": None}, "name cannot be null"),
    ({"timezone": None}, "timezone cannot be null"),
    ({"kind": None}, "kind cannot be null"),
    ({"name": "  "}, "name"),
    ({"timezone": "Europe/Barcelona"}, "unknown time zone"),
    ({"kind": "city"}, "kind"),
    ({"short_name": "x" * 41}, "short_name"),
    ({"city": "Barcelona\nSpain"}, "line feed"),
    ({"organisation_id": 2}, "organisation_id"),
])
async def test_a_bad_body_is_a_422_that_names_the_field(world: World, body: dict[str, Any], mention: str) -> None:
    before = await organisation(world, "metropolis")
    answer = await patch(world, "admin", "metropolis", body)
    assert answer.status_code == 422, answer.text
    assert mention in answer.text
    assert await organisation(world, "metropolis") == before


async def test_a_name_another_organisation_has_is_a_409(world: World) -> None:
    problem(await patch(world, "admin", "metropolis", {"name": "uclg aspac"}), 409, "already exists")
    assert (await organisation(world, "metropolis"))["name"] == "Metropolis"
    # Its own name in other letters is no clash.
    assert (await world.ok("admin", "PATCH", f"/organisations/{world.orgs['metropolis']}",
                           json={"name": "METROPOLIS"}))["name"] == "METROPOLIS"


# --- a new time zone moves reminders ------------------------------------------------------------

async def reminders_of(world: World, who: str) -> list[dict[str, Any]]:
    page = await world.ok("admin", "GET", "/reminders", params={"person_id": world.people[who].id, "limit": 200})
    items: list[dict[str, Any]] = page["items"]
    assert items, f"{who} has no pending reminder"
    return items


def at_nine(due_on: str, zone: str) -> datetime:
    return datetime.combine(date.fromisoformat(due_on), time(9), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def send_times(reminders: list[dict[str, Any]]) -> list[datetime]:
    return [datetime.fromisoformat(r["send_at"]) for r in reminders]


async def test_a_new_time_zone_moves_the_reminders_still_to_be_sent(world: World) -> None:
    agreement = await active(world, ends_on="2029-12-31")
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/areas/{agreement['areas'][0]['id']}"
                   "/deliverables", json={"title": "City profile", "owner_id": world.metro_staff.id,
                                          "due_on": "2027-03-01"})
    staff = await reminders_of(world, "metro_staff")  # the review and the deliverable
    assert {r["rule"] for r in staff} >= {"review_due", "deliverable_due"}
    assert send_times(staff) == [at_nine(r["due_on"], "Europe/Madrid") for r in staff]
    aspac = await reminders_of(world, "aspac_staff")

    # A person's own zone: their reminders follow it.
    await world.ok("admin", "PATCH", f"/people/{world.metro_signatory.id}", json={"timezone": "America/Mexico_City"})
    signatory = await reminders_of(world, "metro_signatory")  # the agreement ends soon
    assert send_times(signatory) == [at_nine(r["due_on"], "America/Mexico_City") for r in signatory]

    # The organisation's zone: the reminders of its people without a zone of their own follow it.
    await world.ok("metro_staff", "PATCH", f"/organisations/{world.orgs['metropolis']}",
                   json={"timezone": "Asia/Tokyo"})
    moved = await reminders_of(world, "metro_staff")
    assert [r["id"] for r in moved] == [r["id"] for r in staff]
    assert send_times(moved) == [at_nine(r["due_on"], "Asia/Tokyo") for r in moved]
    assert send_times(moved)[0] != send_times(staff)[0]
    assert await reminders_of(world, "metro_signatory") == signatory  # their own zone stands
    assert await reminders_of(world, "aspac_staff") == aspac  # another organisation's people


# --- staff for their own organisation -----------------------------------------------------------

async def test_staff_add_people_to_their_own_organisation_only(world: World) -> None:
    body = {"name": "Lucía Martín", "email": "lucia.martin@metropolis.example",
            "organisation_id": world.orgs["metropolis"], "role": "staff"}
    added = await world.call("metro_staff", "POST", "/people", json=body)
    assert added.status_code == 201, added.text
    assert added.headers["location"] == f"{API}/people/{added.json()['id']}"
    assert (added.json()["organisation_id"], added.json()["role"]) == (world.orgs["metropolis"], "staff")

    problem(await world.call("metro_staff", "POST", "/people", json={**body, "email": "x@metropolis.example",
                                                                     "role": "admin"}),
            403, "Only an administrator can make someone an administrator.")
    problem(await world.call("metro_staff", "POST", "/people", json={
        **body, "email": "someone@aspac.example", "organisation_id": world.orgs["aspac"]}), 403,
        "Staff add people only to their own organisation; an administrator can add someone to UCLG ASPAC.")
    problem(await world.call("metro_partner", "POST", "/people", json={**body, "email": "p@metropolis.example",
                                                                       "role": "partner"}),
            403, "Only an administrator, or staff for their own organisation, can add people.")
    emails = [p["email"] for p in (await world.ok("admin", "GET", "/people", params={"limit": 200}))["items"]]
    assert "lucia.martin@metropolis.example" in emails
    assert not {"x@metropolis.example", "someone@aspac.example", "p@metropolis.example"} & set(emails)


async def test_staff_issue_list_and_revoke_tokens_of_their_own_organisations_people(world: World) -> None:
    issued = await world.ok("metro_staff", "POST", f"/people/{world.metro_partner.id}/tokens",
                            json={"label": "reporting script"})
    bearer = {"Authorization": f"Bearer {issued['token']}"}
    assert (await world.client.get(f"{API}/agreements", headers=bearer)).status_code == 200
    listed = (await world.ok("metro_staff", "GET", f"/people/{world.metro_partner.id}/tokens"))["items"]
    assert [t["label"] for t in listed] == [None, "reporting script"]
    assert (await world.call("metro_staff", "DELETE", f"/tokens/{issued['id']}")).status_code == 204
    assert (await world.client.get(f"{API}/agreements", headers=bearer)).status_code == 401
    # Their own too.
    assert (await world.call("metro_staff", "POST", f"/people/{world.metro_staff.id}/tokens")).status_code == 201


async def test_staff_touch_no_token_of_an_administrator_or_of_another_organisation(world: World) -> None:
    await world.draft()  # Metropolis and UCLG ASPAC share an agreement: each sees the other's people
    await world.ok("admin", "PATCH", f"/people/{world.metro_signatory.id}", json={"role": "admin"})
    admins_token = (await world.ok("admin", "GET", f"/people/{world.metro_signatory.id}/tokens"))["items"][0]["id"]
    aspac_token = (await world.ok("admin", "GET", f"/people/{world.aspac_partner.id}/tokens"))["items"][0]["id"]

    signatory, aspac, amf = world.metro_signatory.id, world.aspac_partner.id, world.amf_partner.id
    problem(await world.call("metro_staff", "POST", f"/people/{signatory}/tokens"), 403,
            "Only an administrator can issue tokens for Secretary General, Metropolis, an administrator.")
    problem(await world.call("metro_staff", "GET", f"/people/{signatory}/tokens"), 403, "administrator")
    problem(await world.call("metro_staff", "POST", f"/people/{aspac}/tokens"), 403,
            "Only an administrator, or staff of UCLG ASPAC, can issue tokens for UCLG ASPAC programme officer.")
    problem(await world.call("metro_staff", "GET", f"/people/{aspac}/tokens"), 403, "staff of UCLG ASPAC")
    problem(await world.call("metro_staff", "POST", f"/people/{amf}/tokens"), 404, "that you can see")
    problem(await world.call("metro_staff", "GET", f"/people/{amf}/tokens"), 404, "that you can see")
    for token_id in (admins_token, aspac_token):
        problem(await world.call("metro_staff", "DELETE", f"/tokens/{token_id}"), 404, "no token")
    # Partners issue none, not even their own.
    problem(await world.call("metro_partner", "POST", f"/people/{world.metro_partner.id}/tokens"), 403,
            "staff of Metropolis")
    problem(await world.call("metro_partner", "POST", f"/people/{world.metro_staff.id}/tokens"), 403)
    for who in ("metro_signatory", "aspac_partner"):
        assert (await world.call(who, "GET", "/agreements")).status_code == 200
        assert len((await world.ok("admin", "GET", f"/people/{world.people[who].id}/tokens"))["items"]) == 1
