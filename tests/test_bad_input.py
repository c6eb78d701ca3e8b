"""Bad input: always a 4xx with a `detail` that names what to fix, never a 500, nothing written."""

from __future__ import annotations

import json
from typing import Any

from tests.checks import fire_ok, problem, snapshot
from tests.support import API, World


def create_body(world: World, **overrides: Any) -> dict[str, Any]:
    body = {"title": "Collaboration agreement", "effective_from": "2026-12-01",
            "parties": [{"organisation_id": world.orgs["metropolis"]},
                        {"organisation_id": world.orgs["aspac"]}]}
    body.update(overrides)
    return body


async def agreement_count(world: World) -> int:
    page = await world.ok("admin", "GET", "/agreements")
    total: int = page["total"]
    return total


CREATE_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("title of the wrong type", {"title": 123}, ["title"]),
    ("months as words", {"review_every_months": "twelve"}, ["review_every_months"]),
    ("parties not a list", {"parties": "metropolis"}, ["parties"]),
    ("party id as text", {"parties": [{"organisation_id": "one"}]}, ["parties.0.organisation_id"]),
    ("impossible date", {"effective_from": "2026-02-30"}, ["effective_from"]),
    ("not a date", {"ends_on": "next year"}, ["ends_on"]),
    ("backwards dates", {"effective_from": "2027-01-01", "ends_on": "2026-12-31"},
     ["ends_on (2026-12-31) must be after effective_from (2027-01-01)"]),
    ("review before start", {"next_review_on": "2026-11-30"}, ["next_review_on"]),
    ("title too long", {"title": "T" * 301}, ["title", "300"]),
    ("empty title", {"title": "   "}, ["title"]),
    ("summary too long", {"summary": "s" * 100_000}, ["summary", "20000"]),
    ("party twice", {"parties": [{"organisation_id": 1}, {"organisation_id": 1}]},
     ["listed twice"]),
    ("area twice", {"areas": [{"title": "Gender"}, {"title": "gender"}]}, ["listed twice"]),
    ("unknown field", {"titel": "Typo"}, ["titel", "unknown field"]),
    ("unknown nested field", {"parties": [{"organisation_id": 1, "rank": 1}]},
     ["parties.0.rank", "unknown field"]),
    ("no parties", {"parties": []}, ["parties"]),
    ("party role", {"parties": [{"organisation_id": 1, "role": "sponsor"}]}, ["role"]),
    ("zero id", {"parties": [{"organisation_id": 0}]}, ["organisation_id"]),
    ("huge id", {"parties": [{"organisation_id": 2**70}]}, ["organisation_id"]),
    ("months out of range", {"review_every_months": 0}, ["review_every_months"]),
    ("unknown workflow", {"workflow": "handshake"}, ["handshake", "collaboration_agreement"]),
]


async def test_create_rejects(world: World) -> None:
    for name, overrides, mentions in CREATE_CASES:
        response = await world.call("metro_staff", "POST", "/agreements",
                                    json=create_body(world, **overrides))
        assert response.status_code == 422, (name, response.status_code, response.text)
        problem(response, 422, *mentions)
    assert await agreement_count(world) == 0


async def test_create_with_unknown_ids(world: World) -> None:
    problem(await world.call("metro_staff", "POST", "/agreements", json=create_body(
        world, parties=[{"organisation_id": world.orgs["metropolis"]},
                        {"organisation_id": 987654}])), 422, "no organisation 987654")
    problem(await world.call("metro_staff", "POST", "/agreements", json=create_body(
        world, predecessor_id=987654)), 422, "no agreement 987654", "predecessor")
    assert await agreement_count(world) == 0


async def test_predecessor_out_of_reach_is_unknown(world: World) -> None:
    theirs = await world.draft("amf_staff", parties=[{"organisation_id": world.orgs["amf"]},
                                                     {"organisation_id": world.orgs["aspac"]}])
    problem(await world.call("metro_staff", "POST", "/agreements",
                             json=create_body(world, predecessor_id=theirs["id"])),
            422, f"no agreement {theirs['id']}")
    assert await agreement_count(world) == 1


async def test_malformed_json(world: World) -> None:
    for content in (b'{"title": "A", ', b"not json", b"\xff\xfe", b""):
        response = await world.call("metro_staff", "POST", "/agreements", content=content,
                                    headers={"Content-Type": "application/json"})
        assert 400 <= response.status_code < 500
        problem(response, response.status_code)
    response = await world.call("metro_staff", "POST", "/agreements", content=b'{"title": "A", ',
                                headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    problem(response, response.status_code, "not valid JSON")
    response = await world.call("metro_staff", "POST", "/agreements", json=["a", "list"])
    problem(response, 422)
    assert await agreement_count(world) == 0


async def test_patch_dates_are_checked_against_the_stored_ones(world: World) -> None:
    agreement = await world.draft(ends_on="2028-11-30")  # effective_from 2026-12-01
    path = f"/agreements/{agreement['id']}"
    problem(await world.call("metro_staff", "PATCH", path, json={"ends_on": "2026-06-30"}), 422,
            "ends_on (2026-06-30) must be after effective_from (2026-12-01)")
    problem(await world.call("metro_staff", "PATCH", path, json={"effective_from": "2029-01-01"}),
            422, "ends_on (2028-11-30) must be after effective_from (2029-01-01)")
    problem(await world.call("metro_staff", "PATCH", path, json={"effective_from": "2026-02-30"}),
            422, "effective_from")
    problem(await world.call("metro_staff", "PATCH", path, json={"title": None}), 422, "title")
    problem(await world.call("metro_staff", "PATCH", path, json={}), 422, "Nothing to change")
    problem(await world.call("metro_staff", "PATCH", path, json={"state": "active"}), 422,
            "state", "unknown field")
    problem(await world.call("metro_staff", "PATCH", path, json={"version": 7}), 422, "version")
    problem(await world.call("metro_staff", "PATCH", path, json={"predecessor_id": agreement["id"]}),
            422, "own predecessor")
    problem(await world.call("metro_staff", "PATCH", path, json={"predecessor_id": 424242}), 422,
            "424242")
    problem(await world.call("metro_staff", "PATCH", path, json={"title": "x" * 301}), 422,
            "title")
    after, rows = await snapshot(world, agreement["id"])
    assert after["version"] == 1
    assert len(rows) == 1
    assert (after["effective_from"], after["ends_on"], after["state"]) == (
        "2026-12-01", "2028-11-30", "draft")


async def test_bad_parts(world: World) -> None:
    agreement = await world.draft()
    base = f"/agreements/{agreement['id']}"
    cases: list[tuple[str, dict[str, Any], int, list[str]]] = [
        ("/focal-points", {"person_id": 987654}, 422, ["no person 987654"]),
        ("/focal-points", {"person_id": world.amf_staff.id}, 422, ["not a party"]),
        ("/focal-points", {"person_id": world.aspac_staff.id,
                           "organisation_id": world.orgs["metropolis"]}, 422,
         ["belongs to UCLG ASPAC"]),
        ("/focal-points", {"person_id": world.metro_staff.id, "kind": "witness"}, 422, ["kind"]),
        ("/areas", {"title": ""}, 422, ["title"]),
        ("/areas", {"title": "A" * 301}, 422, ["title"]),
        ("/parties", {"organisation_id": 987654}, 422, ["no organisation 987654"]),
        (f"/areas/{agreement['areas'][0]['id']}/deliverables",
         {"title": "Report", "owner_id": world.amf_staff.id}, 422, ["not a focal point"]),
        (f"/areas/{agreement['areas'][0]['id']}/deliverables",
         {"title": "Report", "due_on": "2027-13-01"}, 422, ["due_on"]),
        (f"/areas/{agreement['areas'][0]['id']}/deliverables",
         {"title": "Report", "status": "overdue"}, 422, ["status"]),
        ("/areas/987654/deliverables", {"title": "Report"}, 404, ["987654"]),
    ]
    for suffix, body, status, mentions in cases:
        problem(await world.call("metro_staff", "POST", base + suffix, json=body), status,
                *mentions)
    after, _ = await snapshot(world, agreement["id"])
    assert after["version"] == 1


async def test_bad_deliverable_updates(world: World) -> None:
    agreement = await world.ready()
    area_id = agreement["areas"][0]["id"]
    deliverable = await world.ok("metro_staff", "POST",
                                 f"/agreements/{agreement['id']}/areas/{area_id}/deliverables",
                                 json={"title": "Joint report", "owner_id": world.metro_staff.id})
    before, _ = await snapshot(world, agreement["id"])
    path = f"/deliverables/{deliverable['id']}"
    for body, mentions in [
        ({"evidence_url": "not a url"}, ["evidence_url"]),
        ({"evidence_url": "javascript:alert(1)"}, ["evidence_url"]),
        ({"status": "overdue"}, ["status"]),
        ({"status": None}, ["status cannot be empty"]),
        ({"title": None}, ["title cannot be empty"]),
        ({"owner_id": world.aspac_signatory.id}, ["not a focal point"]),
        ({"progress_note": "p" * 100_000}, ["progress_note"]),
        ({}, ["Nothing to change"]),
        ({"agreement_id": 1}, ["agreement_id", "unknown field"]),
    ]:
        problem(await world.call("metro_staff", "PATCH", path, json=body), 422, *mentions)
    after, _ = await snapshot(world, agreement["id"])
    assert after["version"] == before["version"]
    assert after["areas"][0]["deliverables"][0]["status"] == "planned"


async def test_bad_events(world: World) -> None:
    agreement = await world.ready()
    path = f"/agreements/{agreement['id']}/events"
    for body, mentions in [
        ({"event": "approve"}, ["Unknown event 'approve'", "submit_for_signature", "cancel"]),
        ({"event": ""}, ["event"]),
        ({"event": "e" * 65}, ["event"]),
        ({}, ["event", "Field required"]),
        ({"event": "submit_for_signature", "urgent": True}, ["urgent", "unknown field"]),
        ({"event": "submit_for_signature", "comment": "c" * 100_000}, ["comment"]),
        ({"event": "sign", "signed_on": "2026-02-30"}, ["signed_on"]),
        ({"event": "sign", "organisation_id": "metropolis"}, ["organisation_id"]),
        ({"event": "complete_review", "outcome": "maybe"}, ["outcome"]),
        ({"event": "renew", "ends_on": "31/12/2030"}, ["ends_on"]),
        ({"event": 5}, ["event"]),
    ]:
        problem(await world.call("metro_staff", "POST", path, json=body), 422, *mentions)
    after, _ = await snapshot(world, agreement["id"])
    assert after["state"] == "draft"
    assert after["version"] == agreement["version"] + 4


async def test_signing_for_an_unknown_organisation(world: World) -> None:
    agreement = await world.ready()
    await fire_ok(world, "metro_staff", agreement["id"], "submit_for_signature")
    problem(await world.fire("admin", agreement["id"], "sign", organisation_id=987654), 422,
            "organisation 987654 is not a signing party")


LIST_CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"limit": 0}, ["limit"]),
    ({"limit": 10000}, ["limit may be at most 200"]),
    ({"limit": "ten"}, ["limit"]),
    ({"offset": -1}, ["offset"]),
    ({"offset": 10**12}, ["offset"]),
    ({"review_due_before": "2026-02-30"}, ["review_due_before"]),
    ({"party": 0}, ["party"]),
    ({"party": 2**70}, ["party"]),
    ({"q": "q" * 201}, ["q"]),
]


async def test_bad_list_parameters(world: World) -> None:
    for params, mentions in LIST_CASES:
        for path in ("/agreements", "/people", "/organisations"):
            if path != "/agreements" and set(params) - {"limit", "offset"}:
                continue
            response = await world.call("metro_staff", "GET", path, params=params)
            assert response.status_code == 422, (path, params, response.text)
            problem(response, 422, *mentions)
    problem(await world.call("metro_staff", "GET", "/people", params={"organisation_id": 2**64}),
            422, "organisation_id")


async def test_list_parameters_that_are_fine(world: World) -> None:
    await world.draft()
    page = await world.ok("metro_staff", "GET", "/agreements",
                          params={"limit": 200, "offset": 5, "q": "100%_\\"})
    assert (page["items"], page["limit"], page["offset"]) == ([], 200, 5)
    page = await world.ok("metro_staff", "GET", "/agreements", params={"q": "METROPOLIS"})
    assert page["total"] == 1


async def test_bad_if_match(world: World) -> None:
    """An If-Match that names no version can never match: 412 (RFC 9110), saying what to send.
    tests/test_if_match.py tries more of them on every write."""
    agreement = await world.draft()
    for if_match in ("abc", '"-1"', '"1.5"', '"99999999999999999999"', "W/", '""', '"²"'):
        response = await world.call("metro_staff", "PATCH", f"/agreements/{agreement['id']}",
                                    json={"summary": "S"}, headers={"If-Match": if_match.encode()})
        problem(response, 412, "If-Match", "cannot match", '"1"')
        response = await world.call("metro_staff", "POST", f"/agreements/{agreement['id']}/events",
                                    json={"event": "cancel"}, headers={"If-Match": if_match.encode()})
        problem(response, 412, "If-Match", "cannot match", '"1"')
    after, _ = await snapshot(world, agreement["id"])
    assert after["version"] == 1
    assert after["summary"] is None
    assert after["state"] == "draft"


async def test_bad_path_ids(world: World) -> None:
    for bad_id in ("abc", "1.5", "-1", "0", str(2**63), str(2**70)):
        for method, path in (("GET", f"/agreements/{bad_id}"),
                             ("GET", f"/agreements/{bad_id}/history"),
                             ("PATCH", f"/deliverables/{bad_id}"),
                             ("GET", f"/organisations/{bad_id}"),
                             ("POST", f"/people/{bad_id}/tokens")):
            response = await world.client.request(method, API + path, headers=world.admin.headers,
                                                  json={"status": "done"})
            assert response.status_code in (404, 422), (path, response.status_code, response.text)
            problem(response, response.status_code)


async def test_directory_input(world: World) -> None:
    org = world.orgs["metropolis"]
    for body, mentions in [
        ({"name": "N", "email": "not-an-email", "organisation_id": org}, ["email"]),
        ({"name": "N", "email": "n@x.example", "organisation_id": 987654},
         ["no organisation 987654"]),
        ({"name": "N", "email": "n@x.example", "organisation_id": org, "role": "root"}, ["role"]),
        ({"name": "N", "email": "n@x.example", "organisation_id": org, "timezone": "Mars/Olympus"},
         ["Mars/Olympus", "IANA"]),
        ({"name": "N" * 201, "email": "n@x.example", "organisation_id": org}, ["name"]),
    ]:
        problem(await world.call("admin", "POST", "/people", json=body), 422, *mentions)
    problem(await world.call("admin", "POST", "/organisations",
                             json={"name": "X", "timezone": "Nowhere"}), 422, "Nowhere")
    problem(await world.call("admin", "POST", "/organisations", json={"name": ""}), 422, "name")
    problem(await world.call("admin", "POST", f"/people/{world.metro_staff.id}/tokens",
                             json={"label": "l" * 201}), 422, "label")
    people = await world.ok("admin", "GET", "/people")
    assert people["total"] == 9


async def test_text_that_databases_choke_on(world: World) -> None:
    """A NUL character or a lone surrogate is refused as input, not a database failure."""
    for text in ('"Agreement\\u0000with a NUL"', '"Agreement \\ud800"'):
        body = json.dumps(create_body(world, title="T")).replace('"T"', text)
        response = await world.call("metro_staff", "POST", "/agreements", content=body.encode(),
                                    headers={"Content-Type": "application/json"})
        problem(response, 422, "title")
    agreement = await world.draft()
    response = await world.call("metro_staff", "PATCH", f"/agreements/{agreement['id']}",
                                json={"summary": "nul\x00"})
    problem(response, 422, "summary", "NUL")
    response = await world.fire("metro_staff", agreement["id"], "cancel", comment="\x00")
    problem(response, 422, "comment")
    assert await agreement_count(world) == 1
    assert (await snapshot(world, agreement["id"]))[0]["version"] == 1


async def test_text_longer_than_its_column_is_refused_before_the_database(world: World) -> None:
    # Each bound equals its column's length: one character more must be a 422, never a 500
    # (PostgreSQL refuses an overlong VARCHAR; SQLite would silently store it).
    admin = world.admin.id
    response = await world.call("admin", "POST", f"/people/{admin}/tokens", json={"label": "l" * 101})
    problem(response, 422, "label")
    response = await world.call("admin", "POST", "/organisations", json={"name": "Seoul", "city": "c" * 121})
    problem(response, 422, "city")
    draft = await world.ready()
    area_id = draft["areas"][0]["id"]
    deliverable = await world.ok("metro_staff", "POST", f"/agreements/{draft['id']}/areas/{area_id}/deliverables",
                                 json={"title": "Report"})
    response = await world.call("metro_staff", "PATCH", f"/deliverables/{deliverable['id']}",
                                json={"evidence_url": "https://example.org/" + "a" * 2000})
    problem(response, 422, "evidence_url")
    # At the bound, it is stored.
    response = await world.call("admin", "POST", f"/people/{admin}/tokens", json={"label": "l" * 100})
    assert response.status_code == 201, response.text
