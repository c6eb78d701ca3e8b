"""If-Match on every write of an agreement or of its parts, and If-None-Match on reading one.

The agreement's `version` is its ETag (`"7"`). Every write of the agreement or a part of it
(PATCH agreement, parties added and their roles changed, focal points named and withdrawn,
areas added, edited and removed, deliverables added, updated and removed, events) takes
`If-Match`: a version that is not the current one is 412 and changes nothing; `*`, a weak
`W/"7"` and a list naming the current version all match. A write that loses a race without
If-Match (or with `*`) is 409; tests/test_concurrency.py races them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.checks import problem, snapshot
from tests.support import World

Request = tuple[int, str, str, dict[str, Any] | None]
"""The agreement a write changes, and the write: method, path, JSON body."""


def _party(agreement: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in agreement["parties"] if p["organisation"]["name"] == name)


async def _patch_agreement(world: World) -> Request:
    agreement = await world.draft()
    return agreement["id"], "PATCH", f"/agreements/{agreement['id']}", {"summary": "Edited."}


async def _add_party(world: World) -> Request:
    agreement = await world.draft()
    return (agreement["id"], "POST", f"/agreements/{agreement['id']}/parties",
            {"organisation_id": world.orgs["amf"], "role": "supporter"})


async def _name_contact(world: World) -> Request:
    agreement = await world.draft()
    return (agreement["id"], "POST", f"/agreements/{agreement['id']}/focal-points",
            {"person_id": world.metro_partner.id, "kind": "focal_point"})


async def _remove_contact(world: World) -> Request:
    agreement = await world.ready()
    read = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}")
    contact = _party(read, "Metropolis")["signatories"][0]["id"]
    return agreement["id"], "DELETE", f"/agreements/{agreement['id']}/focal-points/{contact}", None


async def _add_area(world: World) -> Request:
    agreement = await world.draft()
    return (agreement["id"], "POST", f"/agreements/{agreement['id']}/areas",
            {"title": "Urban resilience"})


async def _add_deliverable(world: World) -> Request:
    agreement = await world.draft()
    area = agreement["areas"][0]["id"]
    return (agreement["id"], "POST", f"/agreements/{agreement['id']}/areas/{area}/deliverables",
            {"title": "Joint report on gender mainstreaming"})


async def _update_deliverable(world: World) -> Request:
    agreement = await world.draft()
    area = agreement["areas"][0]["id"]
    deliverable = await world.ok("metro_staff", "POST",
                                 f"/agreements/{agreement['id']}/areas/{area}/deliverables",
                                 json={"title": "Joint report"})
    return agreement["id"], "PATCH", f"/deliverables/{deliverable['id']}", {"status": "in_progress"}


async def _edit_area(world: World) -> Request:
    agreement = await world.draft(areas=[{"title": "Mobility"}, {"title": "Housing"}])
    area = agreement["areas"][1]["id"]
    return agreement["id"], "PATCH", f"/areas/{area}", {"title": "Affordable housing", "position": 0}


async def _remove_area(world: World) -> Request:
    agreement = await world.draft(areas=[{"title": "Mobility"}, {"title": "Housing"}])
    return agreement["id"], "DELETE", f"/areas/{agreement['areas'][0]['id']}", None


async def _remove_deliverable(world: World) -> Request:
    agreement = await world.draft()
    area = agreement["areas"][0]["id"]
    deliverable = await world.ok("metro_staff", "POST",
                                 f"/agreements/{agreement['id']}/areas/{area}/deliverables",
                                 json={"title": "Joint report"})
    return agreement["id"], "DELETE", f"/deliverables/{deliverable['id']}", None


async def _change_party_role(world: World) -> Request:
    agreement = await world.draft()
    party = _party(agreement, "UCLG ASPAC")["id"]
    return agreement["id"], "PATCH", f"/agreements/{agreement['id']}/parties/{party}", {"role": "supporter"}


async def _fire_event(world: World) -> Request:
    agreement = await world.ready()
    return (agreement["id"], "POST", f"/agreements/{agreement['id']}/events",
            {"event": "submit_for_signature"})


WRITES: dict[str, Callable[[World], Awaitable[Request]]] = {
    "patch agreement": _patch_agreement,
    "add party": _add_party,
    "name focal point": _name_contact,
    "withdraw signatory": _remove_contact,
    "add area": _add_area,
    "add deliverable": _add_deliverable,
    "update deliverable": _update_deliverable,
    "edit area": _edit_area,
    "remove area": _remove_area,
    "remove deliverable": _remove_deliverable,
    "change party role": _change_party_role,
    "fire event": _fire_event,
}

MATCHING: dict[str, Callable[[int], str]] = {
    "the current version": lambda v: f'"{v}"',
    "weak": lambda v: f'W/"{v}"',
    "any": lambda v: "*",
    "a list naming it": lambda v: f'"{v - 1}", W/"{v}"',
}


async def _send(world: World, request: Request, if_match: str | None, who: str = "metro_staff") -> Any:
    _, method, path, body = request
    headers = {} if if_match is None else {"If-Match": if_match.encode()}  # `²` as UTF-8 bytes
    return await world.call(who, method, path, json=body, headers=headers)


@pytest.mark.parametrize("form", MATCHING)
@pytest.mark.parametrize("write", WRITES)
async def test_every_write_honours_if_match(world: World, write: str, form: str) -> None:
    request = await WRITES[write](world)
    agreement_id = request[0]
    before = await snapshot(world, agreement_id)
    version = before[0]["version"]

    for stale in (f'"{version - 1}"', f'W/"{version - 1}"', f'"{version - 1}", "{version + 1}"'):
        problem(await _send(world, request, stale), 412, "If-Match", f"current version {version}",
                f'"{version}"')
        assert await snapshot(world, agreement_id) == before, stale  # nothing changed, no history

    response = await _send(world, request, MATCHING[form](version))
    assert response.status_code in (200, 201, 204), response.text
    assert response.headers["etag"] == f'"{version + 1}"'
    after, rows = await snapshot(world, agreement_id)
    assert after["version"] == version + 1
    assert len(rows) == version + 1


@pytest.mark.parametrize("write", WRITES)
async def test_an_if_match_that_cannot_match_is_412_and_says_why(world: World, write: str) -> None:
    request = await WRITES[write](world)
    agreement_id = request[0]
    before = await snapshot(world, agreement_id)
    version = before[0]["version"]
    for malformed in ("abc", str(version), f'"{version}', "W/", '""', '"²"', "²", '"-1"', '"1.5"',
                      '"99999999999999999999"', '"' + "9" * 5000 + '"', f'"{version}" "{version}"',
                      f'w/"{version}"', ",", f'*, "{version}"'):
        problem(await _send(world, request, malformed), 412, "If-Match", "cannot match",
                f'"{version}"')
        assert await snapshot(world, agreement_id) == before, malformed


@pytest.mark.parametrize("write", WRITES)
async def test_if_match_on_an_agreement_out_of_reach_is_404(world: World, write: str) -> None:
    request = await WRITES[write](world)
    before = await snapshot(world, request[0])
    for if_match in ("*", f'"{before[0]["version"]}"', '"0"', "abc"):
        problem(await _send(world, request, if_match, who="amf_staff"), 404)
    assert await snapshot(world, request[0]) == before


async def test_a_client_chains_writes_with_the_etag_each_answer_gives(world: World) -> None:
    """Every write answers with the agreement's new version as ETag, parts and 204 included."""
    created = await world.client.post("/api/v1/agreements", headers=world.metro_staff.headers, json={
        "title": "Chained", "effective_from": "2026-12-01",
        "parties": [{"organisation_id": world.orgs["metropolis"]}, {"organisation_id": world.orgs["aspac"]}]})
    assert created.status_code == 201
    agreement = created.json()
    base = f"/agreements/{agreement['id']}"
    etag = created.headers["etag"]
    assert etag == '"1"'

    async def write(method: str, path: str, body: dict[str, Any] | None, status: int) -> Any:
        nonlocal etag
        response = await world.call("metro_staff", method, path, json=body, headers={"If-Match": etag})
        assert response.status_code == status, response.text
        assert response.headers["etag"] == f'"{int(etag.strip(chr(34))) + 1}"'
        etag = response.headers["etag"]
        return response.json() if response.content else None

    area = await write("POST", base + "/areas", {"title": "Mobility"}, 201)
    deliverable = await write("POST", f"{base}/areas/{area['id']}/deliverables", {"title": "Study"}, 201)
    await write("PATCH", f"/deliverables/{deliverable['id']}", {"status": "in_progress"}, 200)
    contact = await write("POST", base + "/focal-points",
                          {"person_id": world.metro_partner.id, "kind": "focal_point"}, 201)
    await write("DELETE", f"{base}/focal-points/{contact['id']}", None, 204)
    await write("POST", base + "/parties", {"organisation_id": world.orgs["amf"], "role": "supporter"}, 201)
    await write("PATCH", base, {"summary": "Chained without reading."}, 200)
    await write("POST", base + "/events", {"event": "cancel"}, 200)
    assert etag == '"9"'
    read = await world.call("metro_staff", "GET", base)
    assert read.headers["etag"] == etag
    assert read.json()["state"] == "cancelled"


async def test_if_none_match_on_read_answers_304_with_the_etag(world: World) -> None:
    agreement = await world.draft()
    path = f"/agreements/{agreement['id']}"
    etag = (await world.call("metro_partner", "GET", path)).headers["etag"]
    assert etag == '"1"'
    for if_none_match in (etag, "W/" + etag, "*", f'"7", {etag}'):
        response = await world.call("metro_partner", "GET", path, headers={"If-None-Match": if_none_match})
        assert response.status_code == 304, (if_none_match, response.text)
        assert response.headers["etag"] == etag
        assert response.content == b""
    for other in ('"2"', '"0", W/"3"', "abc", '"²"'):
        response = await world.call("metro_partner", "GET", path, headers={"If-None-Match": other.encode()})
        assert response.status_code == 200, other
        assert response.json()["version"] == 1
    # After a change the old ETag no longer matches: the reader gets the new agreement.
    await world.ok("metro_staff", "PATCH", path, json={"summary": "Changed."})
    response = await world.call("metro_partner", "GET", path, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["etag"] == '"2"'
    assert response.json()["summary"] == "Changed."
    # Out of reach is 404 whatever the condition: `*` does not confirm that it exists.
    problem(await world.call("amf_staff", "GET", path, headers={"If-None-Match": "*"}), 404)
