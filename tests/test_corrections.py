"""The API corrects what was entered wrong: areas renamed, moved and removed, deliverables read and
removed, a party's role changed; and every 201 says where the new thing lives (`Location`).

Each correction is a change through the one way in: it takes If-Match (tests/test_if_match.py
covers them with the other writes), answers with the agreement's new ETag, and leaves a history
row whose `diff` says what it changed.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.db import Database
from engine.settings import Settings
from tests.checks import active, fire_ok, history, problem, snapshot
from tests.notifications.helpers import notifications
from tests.support import API, World

AREAS = [{"title": "Capacity building"}, {"title": "Gender mainstreaming"}, {"title": "Urban resilience"},
         {"title": "Local finance"}]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Webhooks may point at a loopback address here: the test only subscribes, nothing is sent."""
    return settings.model_copy(update={"webhook_allow_private": True})


def _party(agreement: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in agreement["parties"] if p["organisation"]["name"] == name)


def _titles(agreement: dict[str, Any]) -> list[tuple[int, str]]:
    return [(a["position"], a["title"]) for a in agreement["areas"]]


async def _deliverable(world: World, agreement: dict[str, Any], area_id: int, **fields: Any) -> dict[str, Any]:
    created: dict[str, Any] = await world.ok(
        "metro_staff", "POST", f"/agreements/{agreement['id']}/areas/{area_id}/deliverables",
        json={"title": "Joint report", **fields})
    return created


async def _last(world: World, agreement_id: int) -> dict[str, Any]:
    return (await history(world, agreement_id))[-1]


# --- areas -----------------------------------------------------------------------------------------

async def test_an_area_is_renamed_and_described_and_the_history_shows_it(world: World) -> None:
    agreement = await world.draft(areas=AREAS[:2])
    area = agreement["areas"][1]
    response = await world.call("aspac_staff", "PATCH", f"/areas/{area['id']}",  # staff of either party
                                json={"title": "Gender equality", "description": "Women in city councils."},
                                headers={"If-Match": '"1"'})
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    assert response.json() == {"id": area["id"], "title": "Gender equality",
                               "description": "Women in city councils.", "position": 1, "deliverables": []}
    last = await _last(world, agreement["id"])
    assert (last["event"], last["actor"]) == ("area_updated", "UCLG ASPAC focal point")
    assert last["diff"] == {"parts": [{"part": "area", "op": "changed", "id": area["id"], "changes": {
        "title": ["Gender mainstreaming", "Gender equality"], "description": [None, "Women in city councils."]}}]}
    read = await world.ok("metro_partner", "GET", f"/areas/{area['id']}")
    assert read["title"] == "Gender equality"

    # Another area's title, whatever its case, is taken; the area's own title in another case is not.
    problem(await world.call("metro_staff", "PATCH", f"/areas/{area['id']}", json={"title": "CAPACITY building"}),
            409, "already has an area", "CAPACITY building")
    renamed = await world.ok("metro_staff", "PATCH", f"/areas/{area['id']}", json={"title": "GENDER equality"})
    assert renamed["title"] == "GENDER equality"
    # The same values again change nothing: no new version, no history row.
    before = await snapshot(world, agreement["id"])
    again = await world.call("metro_staff", "PATCH", f"/areas/{area['id']}", json={"title": "GENDER equality"})
    assert again.status_code == 200
    assert again.headers["etag"] == f'"{before[0]["version"]}"'
    assert await snapshot(world, agreement["id"]) == before
    problem(await world.call("metro_staff", "PATCH", f"/areas/{area['id']}", json={}), 422, "Nothing to change")
    problem(await world.call("metro_staff", "PATCH", f"/areas/{area['id']}", json={"title": None}), 422,
            "title cannot be empty")


async def test_moving_an_area_shifts_the_others_and_positions_stay_0_to_n(world: World) -> None:
    agreement = await world.draft(areas=AREAS)
    ids = {a["title"]: a["id"] for a in agreement["areas"]}
    moved = await world.ok("metro_staff", "PATCH", f"/areas/{ids['Local finance']}", json={"position": 0})
    assert moved["position"] == 0
    read = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}")
    assert _titles(read) == [(0, "Local finance"), (1, "Capacity building"), (2, "Gender mainstreaming"),
                             (3, "Urban resilience")]
    last = await _last(world, agreement["id"])
    assert last["event"] == "area_updated"
    assert [(p["id"], p["changes"]) for p in last["diff"]["parts"]] == [
        (ids["Local finance"], {"position": [3, 0]}), (ids["Capacity building"], {"position": [0, 1]}),
        (ids["Gender mainstreaming"], {"position": [1, 2]}), (ids["Urban resilience"], {"position": [2, 3]})]

    # Down the list: only the areas between the old and the new place move.
    await world.ok("metro_staff", "PATCH", f"/areas/{ids['Capacity building']}", json={"position": 2})
    read = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}")
    assert _titles(read) == [(0, "Local finance"), (1, "Gender mainstreaming"), (2, "Capacity building"),
                             (3, "Urban resilience")]
    assert {p["id"] for p in (await _last(world, agreement["id"]))["diff"]["parts"]} == {
        ids["Capacity building"], ids["Gender mainstreaming"]}

    problem(await world.call("metro_staff", "PATCH", f"/areas/{ids['Local finance']}", json={"position": 4}),
            422, "position must be from 0 to 3", "4 areas")
    problem(await world.call("metro_staff", "PATCH", f"/areas/{ids['Local finance']}", json={"position": -1}),
            422, "position")


async def test_removing_an_area_removes_its_untouched_deliverables_in_one_change(world: World) -> None:
    agreement = await world.draft(areas=AREAS[:3])
    first, middle, last_area = agreement["areas"]
    report = await _deliverable(world, agreement, middle["id"], title="Joint report", due_on="2027-03-01")
    toolkit = await _deliverable(world, agreement, middle["id"], title="Toolkit")
    kept = await _deliverable(world, agreement, first["id"], title="Training")
    version = (await snapshot(world, agreement["id"]))[0]["version"]

    response = await world.call("metro_staff", "DELETE", f"/areas/{middle['id']}",
                                headers={"If-Match": f'"{version}"'})
    assert response.status_code == 204, response.text
    assert response.headers["etag"] == f'"{version + 1}"'
    read = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}")
    assert _titles(read) == [(0, "Capacity building"), (1, "Urban resilience")]  # positions stay 0..n-1
    assert [d["id"] for a in read["areas"] for d in a["deliverables"]] == [kept["id"]]
    removal = await _last(world, agreement["id"])
    assert removal["event"] == "area_removed"
    assert removal["data"]["deliverables"] == ["Joint report", "Toolkit"]
    assert [(p["part"], p["op"], p["id"]) for p in removal["diff"]["parts"]] == [
        ("deliverable", "removed", report["id"]), ("deliverable", "removed", toolkit["id"]),
        ("area", "removed", middle["id"]), ("area", "changed", last_area["id"])]
    assert removal["diff"]["parts"][0]["values"]["due_on"] == "2027-03-01"
    assert removal["diff"]["parts"][2]["values"]["title"] == "Gender mainstreaming"
    assert removal["diff"]["parts"][3]["changes"] == {"position": [2, 1]}
    problem(await world.call("metro_staff", "GET", f"/areas/{middle['id']}"), 404)
    problem(await world.call("metro_staff", "GET", f"/deliverables/{report['id']}"), 404)
    # A new area goes after the ones left, at the next position.
    added = await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/areas", json={"title": "Housing"})
    assert added["position"] == 2


async def test_an_area_whose_deliverables_show_progress_is_kept_and_the_refusal_names_them(world: World) -> None:
    agreement = await world.ready(areas=AREAS[:2])
    area = agreement["areas"][0]
    started = await _deliverable(world, agreement, area["id"], title="Study")
    noted = await _deliverable(world, agreement, area["id"], title="Toolkit")
    proven = await _deliverable(world, agreement, area["id"], title="Workshop")
    await _deliverable(world, agreement, area["id"], title="Untouched")
    await world.ok("metro_staff", "PATCH", f"/deliverables/{started['id']}", json={"status": "in_progress"})
    await world.ok("metro_staff", "PATCH", f"/deliverables/{noted['id']}", json={"progress_note": "Outline agreed."})
    await world.ok("metro_staff", "PATCH", f"/deliverables/{proven['id']}",
                   json={"evidence_url": "https://www.metropolis.org/workshop"})
    before = await snapshot(world, agreement["id"])
    problem(await world.call("metro_staff", "DELETE", f"/areas/{area['id']}"), 409,
            "'Capacity building' cannot be removed", "'Study' (status in progress)",
            "'Toolkit' (a progress note)", "'Workshop' (evidence)")
    assert await snapshot(world, agreement["id"]) == before  # nothing removed, no history


async def test_area_corrections_are_refused_to_partners_outsiders_and_in_a_final_state(world: World) -> None:
    agreement = await world.draft(areas=AREAS[:2])
    area = agreement["areas"][0]["id"]
    for method, body in (("PATCH", {"title": "Renamed"}), ("DELETE", None)):
        problem(await world.call("metro_partner", method, f"/areas/{area}", json=body), 403,
                "can read this agreement but not change it")
        problem(await world.call("amf_staff", method, f"/areas/{area}", json=body), 404,
                f"no area of collaboration {area}")
    problem(await world.call("amf_staff", "GET", f"/areas/{area}"), 404)
    problem(await world.call("metro_staff", "PATCH", "/areas/999999", json={"title": "X"}), 404)
    await fire_ok(world, "metro_staff", agreement["id"], "cancel", comment="Entered twice.")
    for method, body in (("PATCH", {"title": "Renamed"}), ("DELETE", None)):
        problem(await world.call("admin", method, f"/areas/{area}", json=body), 409, "cancelled, a final state")


# --- deliverables ----------------------------------------------------------------------------------

async def test_a_deliverable_is_read_within_reach_and_removed_by_staff(world: World) -> None:
    agreement = await world.ready()
    area = agreement["areas"][0]["id"]
    deliverable = await _deliverable(world, agreement, area, title="City profile", owner_id=world.metro_staff.id,
                                     due_on="2027-03-01")
    response = await world.call("aspac_partner", "GET", f"/deliverables/{deliverable['id']}")
    assert response.status_code == 200
    assert response.json() == deliverable
    version = int(response.headers["etag"].strip('"'))
    problem(await world.call("amf_staff", "GET", f"/deliverables/{deliverable['id']}"), 404,
            f"no deliverable {deliverable['id']} that you can see")
    problem(await world.call("amf_staff", "DELETE", f"/deliverables/{deliverable['id']}"), 404)
    problem(await world.call("metro_partner", "DELETE", f"/deliverables/{deliverable['id']}"), 403,
            "removed by the staff of the agreement's parties")

    response = await world.call("aspac_staff", "DELETE", f"/deliverables/{deliverable['id']}",
                                headers={"If-Match": f'"{version}"'})
    assert response.status_code == 204, response.text
    assert response.headers["etag"] == f'"{version + 1}"'
    assert response.content == b""
    removal = await _last(world, agreement["id"])
    assert removal["event"] == "deliverable_removed"
    assert removal["diff"] == {"parts": [{"part": "deliverable", "op": "removed", "id": deliverable["id"], "values": {
        "area_id": area, "title": "City profile", "description": None, "owner_id": world.metro_staff.id,
        "due_on": "2027-03-01", "status": "planned", "progress_note": None, "evidence_url": None,
        "completed_on": None}}]}
    problem(await world.call("metro_staff", "GET", f"/deliverables/{deliverable['id']}"), 404)
    problem(await world.call("metro_staff", "DELETE", f"/deliverables/{deliverable['id']}"), 404)


async def test_a_partner_owner_may_not_remove_and_done_work_stays(world: World) -> None:
    agreement = await world.ready()
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/focal-points",
                   json={"person_id": world.metro_partner.id, "kind": "focal_point"})
    area = agreement["areas"][0]["id"]
    owned = await _deliverable(world, agreement, area, title="Survey", owner_id=world.metro_partner.id)
    problem(await world.call("metro_partner", "DELETE", f"/deliverables/{owned['id']}"), 403,
            "not by partners", "As its owner you may update its status")
    await world.ok("metro_partner", "PATCH", f"/deliverables/{owned['id']}",
                   json={"status": "done", "progress_note": "Published."})
    problem(await world.call("admin", "DELETE", f"/deliverables/{owned['id']}"), 409,
            "'Survey' was done on 23 Nov 2026", "stays on the agreement's record", "give it its right status first")
    # Marked done by mistake: given its right status, it can go (with its progress: the diff keeps it).
    await world.ok("metro_staff", "PATCH", f"/deliverables/{owned['id']}", json={"status": "in_progress"})
    await world.ok("metro_staff", "DELETE", f"/deliverables/{owned['id']}")
    removed = (await _last(world, agreement["id"]))["diff"]["parts"][0]
    assert (removed["op"], removed["values"]["progress_note"]) == ("removed", "Published.")


async def test_no_deliverable_is_removed_in_a_final_state(world: World) -> None:
    agreement = await world.draft()
    deliverable = await _deliverable(world, agreement, agreement["areas"][0]["id"])
    await fire_ok(world, "metro_staff", agreement["id"], "cancel")
    problem(await world.call("metro_staff", "DELETE", f"/deliverables/{deliverable['id']}"), 409,
            "cancelled, a final state", "remove its deliverables")
    assert (await world.ok("metro_staff", "GET", f"/deliverables/{deliverable['id']}"))["title"] == "Joint report"


async def test_removing_a_deliverable_cancels_its_pending_reminders(world: World, database: Database) -> None:
    agreement = await active(world)
    area = agreement["areas"][0]["id"]
    removed = await _deliverable(world, agreement, area, title="Joint report", owner_id=world.metro_staff.id,
                                 due_on="2027-03-01")
    other = await _deliverable(world, agreement, area, title="Toolkit", owner_id=world.aspac_staff.id,
                               due_on="2027-03-01")
    pending = await notifications(database, subject_type="deliverable", subject_id=removed["id"])
    assert {(r.rule, r.status) for r in pending} == {("deliverable_due", "pending"), ("deliverable_overdue", "pending")}
    assert len(pending) == 5  # three due reminders, two overdue ones

    await world.ok("metro_staff", "DELETE", f"/deliverables/{removed['id']}")
    rows = await notifications(database, subject_type="deliverable", subject_id=removed["id"])
    assert [r.id for r in rows] == [r.id for r in pending]
    assert {(r.status, r.note) for r in rows} == {("cancelled", "the deliverable was removed")}
    # The other deliverable's reminders are still due.
    kept = await notifications(database, subject_type="deliverable", subject_id=other["id"])
    assert len(kept) == 5
    assert {r.status for r in kept} == {"pending"}

    # Removing its area cancels them too.
    await world.ok("metro_staff", "DELETE", f"/areas/{area}")
    assert {r.status for r in await notifications(database, subject_type="deliverable",
                                                  subject_id=other["id"])} == {"cancelled"}


# --- parties ---------------------------------------------------------------------------------------

async def test_a_party_becomes_a_supporter_once_its_signatory_is_withdrawn(world: World) -> None:
    agreement = await world.ready()
    added = await world.call("metro_staff", "POST", f"/agreements/{agreement['id']}/parties",
                             json={"organisation_id": world.orgs["amf"], "role": "supporter"})
    assert added.status_code == 201
    amf = _party(added.json(), "Asian Mayors Forum")
    assert added.headers["location"] == f"/api/v1/agreements/{agreement['id']}/parties/{amf['id']}"
    version = int(added.headers["etag"].strip('"'))

    response = await world.call("aspac_staff", "PATCH", f"/agreements/{agreement['id']}/parties/{amf['id']}",
                                json={"role": "party"}, headers={"If-Match": f'"{version}"'})
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{version + 1}"'
    read = response.json()
    assert _party(read, "Asian Mayors Forum")["role"] == "party"
    # A signing party names a signatory before the agreement is submitted: the guard says so now.
    assert "Asian Mayors Forum has not named a signatory." in " ".join(
        read["unmet_conditions"]["submit_for_signature"])
    change = await _last(world, agreement["id"])
    assert (change["event"], change["data"]["role"]) == ("party_role_changed", ["supporter", "party"])
    assert change["diff"] == {"parts": [{"part": "party", "op": "changed", "id": amf["id"],
                                         "changes": {"role": ["supporter", "party"]}}]}

    metropolis = _party(read, "Metropolis")
    path = f"/agreements/{agreement['id']}/parties/{metropolis['id']}"
    signatory = metropolis["signatories"][0]
    problem(await world.call("metro_staff", "PATCH", path, json={"role": "supporter"}), 409,
            "Metropolis has named a signatory", "Secretary General, Metropolis", "withdraw its signatory first")
    await world.ok("metro_staff", "DELETE", f"/agreements/{agreement['id']}/focal-points/{signatory['id']}")
    read = await world.ok("metro_staff", "PATCH", path, json={"role": "supporter"})
    assert _party(read, "Metropolis")["role"] == "supporter"
    # The same role again changes nothing.
    again = await world.call("metro_staff", "PATCH", path, json={"role": "supporter"})
    assert again.status_code == 200
    assert again.json()["version"] == read["version"]
    # A supporter names no signatory, and does not sign.
    problem(await world.call("metro_staff", "POST", f"/agreements/{agreement['id']}/focal-points",
                             json={"person_id": world.metro_signatory.id, "kind": "signatory"}), 422,
            "does not sign")


async def test_a_party_role_changes_only_while_the_terms_are_editable_and_by_staff(world: World) -> None:
    agreement = await world.ready()
    aspac = _party(agreement, "UCLG ASPAC")
    path = f"/agreements/{agreement['id']}/parties/{aspac['id']}"
    problem(await world.call("aspac_partner", "PATCH", path, json={"role": "supporter"}), 403, "not change it")
    problem(await world.call("amf_staff", "PATCH", path, json={"role": "supporter"}), 404)
    problem(await world.call("metro_staff", "PATCH", f"/agreements/{agreement['id']}/parties/999999",
                             json={"role": "supporter"}), 404, "no party 999999")
    problem(await world.call("metro_staff", "PATCH", path, json={"role": "signer"}), 422, "role")
    await fire_ok(world, "metro_staff", agreement["id"], "submit_for_signature")
    problem(await world.call("metro_staff", "PATCH", path, json={"role": "party"}), 409,
            "pending signature", "can be edited only while it is draft", "withdraw it from signature first")


# --- Location on every 201 ------------------------------------------------------------------------

async def test_every_201_says_where_the_new_thing_lives(world: World) -> None:
    async def created(who: str, path: str, body: Any) -> tuple[str, dict[str, Any]]:
        response = await world.call(who, "POST", path, json=body)
        assert response.status_code == 201, (path, response.text)
        location = response.headers["location"]
        assert location.startswith(API + "/"), location
        return location, response.json()

    location, organisation = await created("admin", "/organisations", {"name": "Seoul Metropolitan Government"})
    assert location == f"{API}/organisations/{organisation['id']}"
    assert (await world.client.get(location, headers=world.admin.headers)).json() == organisation
    location, person = await created("admin", "/people", {
        "name": "Kim", "email": "kim@seoul.example", "organisation_id": organisation["id"], "role": "staff"})
    assert location == f"{API}/people/{person['id']}"
    assert (await world.client.get(location, headers=world.admin.headers)).json() == person
    location, token = await created("admin", f"/people/{person['id']}/tokens", {"label": "laptop"})
    assert location == f"{API}/tokens/{token['id']}"
    kim = {"Authorization": f"Bearer {token['token']}"}
    assert (await world.client.get(f"{API}/people/{person['id']}", headers=kim)).status_code == 200
    assert (await world.client.delete(location, headers=world.admin.headers)).status_code == 204
    assert (await world.client.get(f"{API}/people/{person['id']}", headers=kim)).status_code == 401

    location, agreement = await created("metro_staff", "/agreements", {
        "title": "Located", "parties": [{"organisation_id": world.orgs["metropolis"]},
                                        {"organisation_id": world.orgs["aspac"]}]})
    assert location == f"{API}/agreements/{agreement['id']}"
    base = f"/agreements/{agreement['id']}"
    location, read = await created("metro_staff", base + "/parties", {"organisation_id": world.orgs["amf"]})
    assert location == f"{API}{base}/parties/{_party(read, 'Asian Mayors Forum')['id']}"
    location, contact = await created("metro_staff", base + "/focal-points",
                                      {"person_id": world.metro_staff.id, "kind": "focal_point"})
    assert location == f"{API}{base}/focal-points/{contact['id']}"
    location, area = await created("metro_staff", base + "/areas", {"title": "Mobility"})
    assert location == f"{API}/areas/{area['id']}"
    assert (await world.client.get(location, headers=world.metro_partner.headers)).json() == area
    location, deliverable = await created("metro_staff", f"{base}/areas/{area['id']}/deliverables",
                                          {"title": "Study"})
    assert location == f"{API}/deliverables/{deliverable['id']}"
    assert (await world.client.get(location, headers=world.metro_partner.headers)).json() == deliverable
    location, webhook = await created("admin", "/webhooks", {
        "url": "http://127.0.0.1:9/hook", "secret": "a-secret-of-sixteen", "events": ["agreement.signed"]})
    assert location == f"{API}/webhooks/{webhook['id']}"
    assert (await world.client.delete(location, headers=world.admin.headers)).status_code == 204
    location, feed = await created("metro_staff", "/feeds", {"agreement_id": agreement["id"]})
    assert location == f"{API}/feeds/{feed['id']}"
    assert (await world.client.delete(location, headers=world.metro_staff.headers)).status_code == 204


async def test_the_openapi_document_lists_the_corrections_and_every_201_location(world: World) -> None:
    document = (await world.client.get("/openapi.json")).json()
    paths = document["paths"]
    assert set(paths[API + "/areas/{area_id}"]) == {"get", "patch", "delete"}
    assert set(paths[API + "/deliverables/{deliverable_id}"]) == {"get", "patch", "delete"}
    assert "patch" in paths[API + "/agreements/{agreement_id}/parties/{party_id}"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            answer = operation.get("responses", {}).get("201")
            if answer is not None:
                assert "Location" in answer.get("headers", {}), (method, path)
    feeds = paths[API + "/feeds"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert feeds["$ref"].endswith("Page_FeedRead_")
