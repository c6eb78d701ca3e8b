"""Every error status of the API, each as problem+json with a `detail` that says what to fix."""

from __future__ import annotations

import httpx

from tests.checks import active, fire_ok, problem, snapshot
from tests.support import API, World

BAD_AUTHORIZATION = [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Basic YWRtaW46YWRtaW4=",
    "acc_test_admin",  # the token without its scheme
    "Bearer acc_unknown_token",
    "Bearer " + "x" * 5000,
    "Bearer acc_test_admin extra",
]


# --- 401 -----------------------------------------------------------------------------------

ENDPOINTS = [("GET", "/agreements"), ("POST", "/agreements"), ("GET", "/agreements/1"),
             ("POST", "/agreements/1/events"), ("GET", "/workflows"), ("GET", "/people"),
             ("POST", "/people/1/tokens")]


async def test_unauthenticated_calls_are_401_and_uniform(world: World) -> None:
    bodies = []
    for method, path in ENDPOINTS:
        for authorization in BAD_AUTHORIZATION:
            headers = {} if authorization is None else {"Authorization": authorization}
            response = await world.client.request(method, API + path, headers=headers,
                                                  json={"event": "cancel"})
            assert response.status_code == 401, (method, path, authorization, response.text)
            body = problem(response, 401, "bearer token")
            assert response.headers["www-authenticate"] == "Bearer"
            bodies.append(body)
    # Nothing in the answer tells a missing token from a malformed or an unknown one.
    assert all(body == bodies[0] for body in bodies)


async def test_unauthenticated_call_changes_nothing(world: World) -> None:
    agreement = await world.ready()
    response = await world.client.post(f"{API}/agreements/{agreement['id']}/events",
                                       json={"event": "cancel"},
                                       headers={"Authorization": "Bearer acc_guess"})
    problem(response, 401)
    assert (await snapshot(world, agreement["id"]))[0]["state"] == "draft"


# --- 403 -----------------------------------------------------------------------------------

async def test_partner_cannot_fire_events(world: World) -> None:
    agreement = await world.ready()
    problem(await world.fire("metro_partner", agreement["id"], "submit_for_signature"), 403,
            "staff of its parties")
    after, _ = await snapshot(world, agreement["id"])
    assert after["state"] == "draft"
    assert after["version"] == agreement["version"] + 4


async def test_staff_cannot_create_people_or_organisations(world: World) -> None:
    person = {"name": "Someone", "email": "someone@metropolis.example",
              "organisation_id": world.orgs["metropolis"], "role": "admin"}
    problem(await world.call("metro_staff", "POST", "/people", json=person), 403, "administrator")
    problem(await world.call("metro_staff", "POST", "/organisations",
                             json={"name": "Shadow network"}), 403, "administrator")
    people = await world.ok("admin", "GET", "/people")
    assert "someone@metropolis.example" not in {p["email"] for p in people["items"]}


async def test_partner_cannot_create_agreements(world: World) -> None:
    response = await world.call("metro_partner", "POST", "/agreements", json={
        "title": "A", "parties": [{"organisation_id": world.orgs["metropolis"]}]})
    problem(response, 403, "Partners cannot create agreements")


async def test_partner_of_a_party_cannot_start_a_review(world: World) -> None:
    agreement = await active(world)
    problem(await world.fire("aspac_partner", agreement["id"], "start_review"), 403)


# --- 404 -----------------------------------------------------------------------------------

async def test_unknown_and_out_of_reach_agreements_look_the_same(world: World) -> None:
    agreement = await world.ready()
    unknown_id = agreement["id"] + 1000
    for path in ("", "/history"):
        outside = problem(await world.call("amf_staff", "GET", f"/agreements/{agreement['id']}"
                                           + path), 404, "that you can see")
        unknown = problem(await world.call("amf_staff", "GET", f"/agreements/{unknown_id}"
                                           + path), 404, "that you can see")
        assert set(outside) == set(unknown)
        assert outside["title"] == unknown["title"]
        assert outside["detail"].replace(str(agreement["id"]), "N") == \
            unknown["detail"].replace(str(unknown_id), "N")
    problem(await world.fire("amf_staff", agreement["id"], "cancel"), 404)
    problem(await world.call("admin", "GET", f"/agreements/{unknown_id}"), 404)


async def test_unknown_resources_are_404(world: World) -> None:
    problem(await world.call("admin", "GET", "/organisations/999999"), 404, "no organisation")
    problem(await world.call("admin", "POST", "/people/999999/tokens"), 404, "no person")
    problem(await world.call("admin", "PATCH", "/deliverables/999999", json={"status": "done"}),
            404, "no deliverable")
    problem(await world.call("admin", "GET", "/workflows/no_such_flow"), 404, "no_such_flow")
    problem(await world.call("admin", "GET", "/workflows/collaboration_agreement",
                             params={"version": 99}), 404, "version 99")
    problem(await world.call("admin", "GET", "/no-such-thing"), 404, "/docs")
    agreement = await world.draft()
    problem(await world.call("metro_staff", "POST",
                             f"/agreements/{agreement['id']}/areas/999999/deliverables",
                             json={"title": "A report"}), 404, "no area of collaboration 999999")


async def test_unsupported_method_is_405_problem(world: World) -> None:
    problem(await world.call("admin", "DELETE", "/agreements"), 405, "DELETE is not supported")


# --- 409 -----------------------------------------------------------------------------------

async def test_event_not_allowed_names_state_and_allowed_events(world: World) -> None:
    agreement = await world.ready()
    body = problem(await world.fire("metro_staff", agreement["id"], "activate"), 409,
                   "Activate is not possible while the agreement is draft",
                   "Possible now: Submit for signature, Cancel")
    assert body["state"] == "draft"
    assert body["allowed_events"] == ["submit_for_signature", "cancel"]
    after, _ = await snapshot(world, agreement["id"])
    assert after["version"] == agreement["version"] + 4  # the four people named, nothing more


async def test_duplicate_area_title(world: World) -> None:
    agreement = await world.draft()
    problem(await world.call("metro_staff", "POST", f"/agreements/{agreement['id']}/areas",
                             json={"title": "capacity building and GENDER mainstreaming"}),
            409, "already has an area")
    after, _ = await snapshot(world, agreement["id"])
    assert len(after["areas"]) == 1
    assert after["version"] == 1


async def test_editing_terms_after_submission(world: World) -> None:
    agreement = await world.ready()
    await fire_ok(world, "metro_staff", agreement["id"], "submit_for_signature")
    before, _ = await snapshot(world, agreement["id"])
    problem(await world.call("metro_staff", "PATCH", f"/agreements/{agreement['id']}",
                             json={"title": "A different text"}), 409,
            "pending signature", "title", "withdraw")
    # The review date is not a term: it may move at any time.
    moved = await world.ok("metro_staff", "PATCH", f"/agreements/{agreement['id']}",
                           json={"next_review_on": "2027-06-01"})
    assert moved["next_review_on"] == "2027-06-01"
    assert moved["title"] == before["title"]
    problem(await world.call("metro_staff", "POST", f"/agreements/{agreement['id']}/parties",
                             json={"organisation_id": world.orgs["amf"]}), 409, "parties")


async def test_duplicates_in_the_directory_and_contacts(world: World) -> None:
    problem(await world.call("admin", "POST", "/organisations", json={"name": "metropolis"}), 409,
            "already exists")
    problem(await world.call("admin", "POST", "/people", json={
        "name": "Twin", "email": "METRO_STAFF@metropolis.example",
        "organisation_id": world.orgs["metropolis"]}), 409, "already exists")
    agreement = await world.ready()
    problem(await world.call("metro_staff", "POST", f"/agreements/{agreement['id']}/focal-points",
                             json={"person_id": world.metro_staff.id}), 409, "already named")
    problem(await world.call("metro_staff", "POST", f"/agreements/{agreement['id']}/parties",
                             json={"organisation_id": world.orgs["aspac"]}), 409,
            "already a party")


# --- 412 -----------------------------------------------------------------------------------

async def test_etag_is_the_version(world: World) -> None:
    agreement = await world.ready()
    response = await world.call("metro_partner", "GET", f"/agreements/{agreement['id']}")
    assert response.headers["etag"] == f'"{response.json()["version"]}"'
    assert response.json()["version"] == 5


async def test_stale_if_match_on_patch(world: World) -> None:
    agreement = await world.draft()
    first = await world.call("metro_staff", "PATCH", f"/agreements/{agreement['id']}",
                             json={"summary": "First."}, headers={"If-Match": '"1"'})
    assert first.status_code == 200
    assert first.headers["etag"] == '"2"'
    stale = problem(await world.call("aspac_staff", "PATCH", f"/agreements/{agreement['id']}",
                                     json={"summary": "Second."}, headers={"If-Match": '"1"'}),
                    412, "If-Match", "current version 2", '"2"')
    assert stale["title"]
    after, _ = await snapshot(world, agreement["id"])
    assert after["summary"] == "First."
    assert after["version"] == 2
    weak = await world.call("aspac_staff", "PATCH", f"/agreements/{agreement['id']}",
                            json={"summary": "Second."}, headers={"If-Match": 'W/"2"'})
    assert weak.status_code == 200, weak.text
    star = await world.call("aspac_staff", "PATCH", f"/agreements/{agreement['id']}",
                            json={"summary": "Third."}, headers={"If-Match": "*"})
    assert star.status_code == 200


async def test_stale_if_match_on_events(world: World) -> None:
    agreement = await world.ready()
    version = agreement["version"] + 4
    problem(await world.call("metro_staff", "POST", f"/agreements/{agreement['id']}/events",
                             json={"event": "submit_for_signature"},
                             headers={"If-Match": f'"{version - 1}"'}), 412,
            f"current version {version}")
    assert (await snapshot(world, agreement["id"]))[0]["state"] == "draft"
    fresh = await world.call("metro_staff", "POST", f"/agreements/{agreement['id']}/events",
                             json={"event": "submit_for_signature"},
                             headers={"If-Match": f'"{version}"'})
    assert fresh.status_code == 200
    assert fresh.headers["etag"] == f'"{version + 1}"'


# --- 422 -----------------------------------------------------------------------------------

async def test_guard_and_field_errors_are_422_with_field_names(world: World) -> None:
    agreement = await world.draft(effective_from=None, areas=[])
    body = problem(await world.fire("metro_staff", agreement["id"], "submit_for_signature"), 422,
                   "Cannot submit for signature")
    assert body["unmet"]
    invalid = problem(await world.fire("metro_staff", agreement["id"], "complete_review",
                                       outcome="maybe"), 422, "outcome")
    assert invalid["errors"][0]["field"] == "outcome"


async def test_problem_type_and_content_type_on_every_kind(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/agreements")
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "about:blank"


# --- problem types -------------------------------------------------------------------------

TYPES = "https://accord.example/problems/"


async def test_each_kind_of_engine_error_has_its_own_problem_type(world: World) -> None:
    """A client tells the kinds of problem apart by `type`, not by parsing `detail`; a plain
    HTTP answer (no such route, a method not supported) stays about:blank."""
    agreement = await world.ready()
    path = f"/agreements/{agreement['id']}"
    answers = {
        "not-found": await world.call("amf_staff", "GET", path),
        "not-permitted": await world.fire("metro_partner", agreement["id"], "submit_for_signature"),
        "transition-not-allowed": await world.fire("metro_staff", agreement["id"], "activate"),
        "conflict": await world.call("metro_staff", "POST", f"{path}/areas",
                                     json={"title": "capacity building and GENDER mainstreaming"}),
        "precondition-failed": await world.call("metro_staff", "PATCH", path, json={"summary": "Late."},
                                                headers={"If-Match": '"1"'}),
        "invalid-input": await world.fire("metro_staff", agreement["id"], "complete_review", outcome="maybe"),
    }
    unready = await world.draft(effective_from=None, areas=[])
    answers["guard-failed"] = await world.fire("metro_staff", unready["id"], "submit_for_signature")
    for slug, response in answers.items():
        body = problem(response, response.status_code)
        assert body["type"] == TYPES + slug, (slug, body)
    assert [answers[s].status_code for s in ("not-found", "not-permitted", "transition-not-allowed", "conflict",
                                             "precondition-failed", "invalid-input", "guard-failed")] == \
        [404, 403, 409, 409, 412, 422, 422]
    for plain in (await world.call("admin", "GET", "/no-such-thing"),
                  await world.call("admin", "DELETE", "/agreements")):
        assert problem(plain, plain.status_code)["type"] == "about:blank"


async def test_the_openapi_documents_the_problem_types(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    problem_type = schema["components"]["schemas"]["ProblemDetail"]["properties"]["type"]
    assert "an identifier, not a page to fetch" in problem_type["description"]
    assert {"about:blank", TYPES + "guard-failed", TYPES + "stale-version",
            TYPES + "precondition-failed"} <= set(problem_type["examples"])
