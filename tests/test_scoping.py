"""The role x organisation matrix on every endpoint.

The agreement is between Metropolis and UCLG ASPAC. Callers: an administrator, staff and a
partner of a party (Metropolis), staff and a partner of a non-party (the Asian Mayors Forum).
Each test walks one endpoint through every caller, refused callers first, and checks that a
refusal wrote nothing.
"""

from __future__ import annotations

from typing import Any

from tests.checks import active, problem, snapshot
from tests.support import World

OUTSIDERS = ["amf_staff", "amf_partner"]


async def refused(world: World, agreement_id: int, expected: dict[str, int], method: str,
                  path: str, **kwargs: Any) -> None:
    """Every caller in `expected` gets that status (a problem) and the agreement is unchanged."""
    before, rows = await snapshot(world, agreement_id)
    for who, status in expected.items():
        response = await world.call(who, method, path, **kwargs)
        assert response.status_code == status, (who, method, path, response.text)
        problem(response, status)
    after, rows_after = await snapshot(world, agreement_id)
    assert after["version"] == before["version"]
    assert rows_after == rows


async def test_read_agreement(world: World) -> None:
    agreement = await world.ready()
    path = f"/agreements/{agreement['id']}"
    await refused(world, agreement["id"], dict.fromkeys(OUTSIDERS, 404), "GET", path)
    for who in ("admin", "metro_staff", "metro_partner", "aspac_staff", "aspac_partner"):
        body = await world.ok(who, "GET", path)
        assert body["id"] == agreement["id"]
        # Only those who may act see what they could do.
        assert bool(body["available_events"]) == who.endswith(("admin", "staff")), who


async def test_edit_agreement(world: World) -> None:
    agreement = await world.draft()
    path = f"/agreements/{agreement['id']}"
    await refused(world, agreement["id"], {"metro_partner": 403, "aspac_partner": 403,
                                           "amf_staff": 404, "amf_partner": 404},
                  "PATCH", path, json={"summary": "Edited."})
    for who in ("admin", "metro_staff", "aspac_staff"):
        body = await world.ok(who, "PATCH", path, json={"summary": f"Edited by {who}."})
        assert body["summary"] == f"Edited by {who}."
    after, _ = await snapshot(world, agreement["id"])
    assert after["version"] == 4


async def test_list_shows_only_agreements_in_reach(world: World) -> None:
    ours = await world.draft()
    theirs = await world.draft("aspac_staff", title="ASPAC and AMF",
                               parties=[{"organisation_id": world.orgs["aspac"]},
                                        {"organisation_id": world.orgs["amf"]}])
    expected = {"admin": {ours["id"], theirs["id"]}, "metro_staff": {ours["id"]},
                "metro_partner": {ours["id"]}, "aspac_partner": {ours["id"], theirs["id"]},
                "amf_staff": {theirs["id"]}, "amf_partner": {theirs["id"]}}
    for who, ids in expected.items():
        page = await world.ok(who, "GET", "/agreements")
        assert {a["id"] for a in page["items"]} == ids, who
        assert page["total"] == len(ids)
        # A filter cannot reach beyond either.
        filtered = await world.ok(who, "GET", "/agreements",
                                  params={"party": world.orgs["metropolis"]})
        assert {a["id"] for a in filtered["items"]} == ids & {ours["id"]}, who


async def test_non_party_sees_no_agreements(world: World) -> None:
    await world.draft()
    for who in OUTSIDERS:
        page = await world.ok(who, "GET", "/agreements", params={"q": "Metropolis"})
        assert page == {"items": [], "total": 0, "limit": 50, "offset": 0}


async def test_fire_event(world: World) -> None:
    agreement = await world.ready()
    path = f"/agreements/{agreement['id']}/events"
    await refused(world, agreement["id"], {"metro_partner": 403, "aspac_partner": 403,
                                           "amf_staff": 404, "amf_partner": 404},
                  "POST", path, json={"event": "submit_for_signature"})
    body = await world.ok("admin", "POST", path, json={"event": "submit_for_signature"})
    assert body["state"] == "pending_signature"
    body = await world.ok("metro_staff", "POST", path, json={"event": "withdraw"})
    assert body["state"] == "draft"
    body = await world.ok("aspac_staff", "POST", path, json={"event": "cancel"})
    assert body["state"] == "cancelled"


async def test_history(world: World) -> None:
    agreement = await world.draft()
    path = f"/agreements/{agreement['id']}/history"
    await refused(world, agreement["id"], dict.fromkeys(OUTSIDERS, 404), "GET", path)
    for who in ("admin", "metro_staff", "metro_partner", "aspac_partner"):
        body = await world.ok(who, "GET", path)
        assert [h["event"] for h in body["items"]] == ["create"], who


async def test_name_focal_point(world: World) -> None:
    agreement = await world.draft()
    path = f"/agreements/{agreement['id']}/focal-points"
    await refused(world, agreement["id"], {"metro_partner": 403, "amf_staff": 404,
                                           "amf_partner": 404},
                  "POST", path, json={"person_id": world.metro_partner.id})
    for who, person in (("admin", "metro_partner"), ("metro_staff", "metro_staff"),
                        ("aspac_staff", "aspac_staff")):
        response = await world.call(who, "POST", path, json={"person_id": world.people[person].id})
        assert response.status_code == 201, (who, response.text)


async def test_add_area(world: World) -> None:
    agreement = await world.draft()
    path = f"/agreements/{agreement['id']}/areas"
    await refused(world, agreement["id"], {"metro_partner": 403, "amf_staff": 404,
                                           "amf_partner": 404},
                  "POST", path, json={"title": "Urban innovation"})
    for who in ("admin", "metro_staff"):
        response = await world.call(who, "POST", path, json={"title": f"Area of {who}"})
        assert response.status_code == 201, (who, response.text)


async def test_add_deliverable(world: World) -> None:
    agreement = await world.draft()
    path = f"/agreements/{agreement['id']}/areas/{agreement['areas'][0]['id']}/deliverables"
    await refused(world, agreement["id"], {"metro_partner": 403, "aspac_partner": 403,
                                           "amf_staff": 404, "amf_partner": 404},
                  "POST", path, json={"title": "Joint training"})
    for who in ("admin", "metro_staff"):
        response = await world.call(who, "POST", path, json={"title": f"Training by {who}"})
        assert response.status_code == 201, (who, response.text)


async def deliverable_owned_by_metro_partner(world: World) -> tuple[dict[str, Any], int]:
    agreement = await active(world)
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/focal-points",
                   json={"person_id": world.metro_partner.id, "kind": "focal_point"})
    deliverable = await world.ok(
        "metro_staff", "POST",
        f"/agreements/{agreement['id']}/areas/{agreement['areas'][0]['id']}/deliverables",
        json={"title": "Gender mainstreaming toolkit", "owner_id": world.metro_partner.id,
              "due_on": "2027-03-31"})
    after, _ = await snapshot(world, agreement["id"])
    return after, deliverable["id"]


async def test_update_deliverable(world: World) -> None:
    agreement, deliverable_id = await deliverable_owned_by_metro_partner(world)
    path = f"/deliverables/{deliverable_id}"
    progress = {"status": "in_progress", "progress_note": "Draft circulated.",
                "evidence_url": "https://www.metropolis.org/"}
    await refused(world, agreement["id"], {"aspac_partner": 403, "amf_staff": 404,
                                           "amf_partner": 404}, "PATCH", path, json=progress)
    # The owner, a partner, may update progress but nothing else.
    for field in ({"title": "Renamed"}, {"due_on": "2028-01-01"},
                  {"owner_id": world.metro_staff.id}, {"description": "More."}):
        response = await world.call("metro_partner", "PATCH", path, json={**field, "status": "done"})
        problem(response, 403, "status, progress_note and evidence_url", next(iter(field)))
    body = await world.ok("metro_partner", "PATCH", path, json=progress)
    assert (body["status"], body["progress_note"]) == ("in_progress", "Draft circulated.")
    assert body["evidence_url"] == "https://www.metropolis.org/"
    # Staff of either party and the administrator may change every field.
    for who, note in (("admin", "By admin."), ("metro_staff", "By Metropolis.")):
        body = await world.ok(who, "PATCH", path, json={"progress_note": note})
        assert body["progress_note"] == note
    body = await world.ok("aspac_staff", "PATCH", path,
                          json={"title": "Toolkit", "due_on": "2027-06-30",
                                "owner_id": world.metro_staff.id, "status": "done"})
    assert (body["title"], body["owner_id"], body["completed_on"]) == (
        "Toolkit", world.metro_staff.id, "2026-11-23")
    after, rows = await snapshot(world, agreement["id"])
    assert after["version"] == agreement["version"] + 4
    assert [r["event"] for r in rows[-4:]] == ["deliverable_updated"] * 4
    # No longer the owner, the partner may not touch it.
    problem(await world.call("metro_partner", "PATCH", path, json={"status": "in_progress"}),
            403, "only the deliverables you own")


async def test_directory_writes_are_for_admins(world: World) -> None:
    """Adding organisations, administrators and people elsewhere, and tokens beyond one's own
    organisation's people, is for administrators (staff within their own: tests/test_directory.py)."""
    for who in ("metro_staff", "metro_partner", "amf_staff", "amf_partner"):
        problem(await world.call(who, "POST", "/organisations",
                                 json={"name": f"Network of {who}"}), 403, "administrator")
        problem(await world.call(who, "POST", "/people",
                                 json={"name": "New person", "email": f"new.{who}@example.org",
                                       "organisation_id": world.orgs["amf"], "role": "admin"}),
                403, "administrator")
        if who.endswith("partner"):
            problem(await world.call(who, "POST", f"/people/{world.people[who].id}/tokens"), 403,
                    "administrator")
        problem(await world.call(who, "POST", f"/people/{world.admin.id}/tokens"), 404)
    assert (await world.ok("admin", "GET", "/organisations"))["total"] == 4
    assert (await world.ok("admin", "GET", "/people"))["total"] == 9

    organisation = await world.ok("admin", "POST", "/organisations",
                                  json={"name": "Seoul", "timezone": "Asia/Seoul"})
    person = await world.ok("admin", "POST", "/people", json={
        "name": "New person", "email": "New.Person@Example.org",
        "organisation_id": organisation["id"], "role": "staff"})
    assert person["email"] == "new.person@example.org"
    token = await world.ok("admin", "POST", f"/people/{person['id']}/tokens",
                           json={"label": "laptop"})
    assert token["token"].startswith("acc_")
    assert token["person_id"] == person["id"]
    me = await world.client.get("/api/v1/agreements",
                                headers={"Authorization": f"Bearer {token['token']}"})
    assert me.status_code == 200
    assert me.json()["total"] == 0


async def test_people_list(world: World) -> None:
    """Admins see everyone; staff their organisation's people and those of organisations they share
    an agreement with; partners their own organisation's people."""

    async def seen(who: str, **params: Any) -> set[int]:
        page = await world.ok(who, "GET", "/people", params=params)
        assert page["total"] == len(page["items"]), who
        return {p["organisation_id"] for p in page["items"]}

    metropolis, aspac, amf = world.orgs["metropolis"], world.orgs["aspac"], world.orgs["amf"]
    assert (await world.ok("admin", "GET", "/people"))["total"] == 9
    # No agreement yet: staff see their own organisation only.
    assert await seen("metro_staff") == {metropolis}
    assert await seen("amf_staff") == {amf}
    assert await seen("metro_staff", organisation_id=aspac) == set()
    problem(await world.call("metro_staff", "GET", f"/people/{world.aspac_staff.id}"), 404, "no person")

    await world.draft()  # Metropolis and UCLG ASPAC
    assert await seen("metro_staff") == {metropolis, aspac}
    assert await seen("aspac_staff") == {metropolis, aspac}
    assert await seen("amf_staff") == {amf}
    assert (await world.ok("metro_staff", "GET", f"/people/{world.aspac_staff.id}"))["name"] == world.aspac_staff.name
    problem(await world.call("metro_staff", "GET", f"/people/{world.amf_staff.id}"), 404, "no person")

    await world.draft(parties=[{"organisation_id": metropolis}, {"organisation_id": amf}])
    assert await seen("metro_staff") == {metropolis, aspac, amf}
    assert await seen("amf_staff") == {metropolis, amf}  # not UCLG ASPAC: they share nothing
    assert await seen("amf_staff", organisation_id=aspac) == set()

    for who, own in (("metro_partner", metropolis), ("amf_partner", amf)):
        assert await seen(who) == {own}
        assert await seen(who, organisation_id=aspac) == set()
    assert {p["active"] for p in (await world.ok("admin", "GET", "/people"))["items"]} == {True}


async def test_workflows_and_organisations_for_anyone_signed_in(world: World) -> None:
    for who in ("admin", "metro_staff", "metro_partner", "amf_staff", "amf_partner"):
        workflows = await world.ok(who, "GET", "/workflows")
        assert {w["name"] for w in workflows} == {"collaboration_agreement", "city_to_city"}
        one = await world.ok(who, "GET", "/workflows/collaboration_agreement")
        assert one["version"] == 1
        orgs = await world.ok(who, "GET", "/organisations")
        assert orgs["total"] == 4
        await world.ok(who, "GET", f"/organisations/{world.orgs['aspac']}")


async def test_staff_cannot_create_an_agreement_for_others(world: World) -> None:
    problem(await world.call("amf_staff", "POST", "/agreements", json={
        "title": "Not ours", "parties": [{"organisation_id": world.orgs["metropolis"]},
                                         {"organisation_id": world.orgs["aspac"]}]}), 422,
            "Your organisation must be one of the parties")
    created = await world.draft("admin")
    assert created["state"] == "draft"
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 1


async def test_remove_focal_point(world: World) -> None:
    agreement = await world.ready()
    contacts = {c["person"]["id"]: c["id"] for p in (await snapshot(world, agreement["id"]))[0]
                ["parties"] for c in p["focal_points"] + p["signatories"]}
    path = f"/agreements/{agreement['id']}/focal-points/{contacts[world.aspac_signatory.id]}"
    await refused(world, agreement["id"], {"aspac_partner": 403, "amf_staff": 404,
                                           "amf_partner": 404}, "DELETE", path)
    response = await world.call("aspac_staff", "DELETE", path)
    assert response.status_code == 204
    problem(await world.call("aspac_staff", "DELETE", path), 404, "no focal point or signatory")
    after, _ = await snapshot(world, agreement["id"])
    assert after["version"] == agreement["version"] + 5
    assert "UCLG ASPAC has not named a signatory." in after["unmet_conditions"][
        "submit_for_signature"]
