"""`PATCH /api/v1/people/{id}`: who changes whom, and what disabling a person does at once."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from api.web import link_mail
from engine.settings import Settings
from tests.checks import problem
from tests.support import World
from tests.web.helpers import csrf_of, sign_in
from tests.web.test_sign_in_link import follow, link_in, outbox


async def person(world: World, person_id: int) -> dict[str, Any]:
    found: dict[str, Any] = await world.ok("admin", "GET", f"/people/{person_id}")
    return found


async def patch(world: World, who: str, person_id: int, body: dict[str, Any]) -> httpx.Response:
    return await world.call(who, "PATCH", f"/people/{person_id}", json=body)


async def test_an_administrator_changes_name_email_role_timezone(world: World) -> None:
    target = world.metro_partner.id
    changed = await world.ok("admin", "PATCH", f"/people/{target}", json={
        "name": "  Programme officer, Metropolis ", "email": "Officer@Metropolis.example", "role": "staff",
        "timezone": "Europe/Madrid"})
    assert changed["name"] == "Programme officer, Metropolis"
    assert changed["email"] == "officer@metropolis.example"
    assert (changed["role"], changed["timezone"], changed["active"]) == ("staff", "Europe/Madrid", True)
    assert changed["warnings"] == []
    assert await person(world, target) == {k: v for k, v in changed.items() if k != "warnings"}

    # timezone: null falls back to the organisation's; fields left out stay as they are.
    cleared = await world.ok("admin", "PATCH", f"/people/{target}", json={"timezone": None})
    assert (cleared["timezone"], cleared["role"], cleared["name"]) == (None, "staff",
                                                                      "Programme officer, Metropolis")


async def test_staff_set_and_clear_a_colleagues_job_title(world: World) -> None:
    target = world.metro_partner.id
    titled = await world.ok("metro_staff", "PATCH", f"/people/{target}", json={"job_title": " Programme officer "})
    assert titled["job_title"] == "Programme officer"
    assert (await person(world, target))["job_title"] == "Programme officer"
    cleared = await world.ok("metro_staff", "PATCH", f"/people/{target}", json={"job_title": None})
    assert cleared["job_title"] is None
    too_long = await patch(world, "metro_staff", target, {"job_title": "x" * 201})
    assert too_long.status_code == 422
    assert "job_title" in too_long.text


@pytest.mark.parametrize(("body", "mention"), [
    ({}, "at least one"),
    ({"name": None}, "name cannot be null"),
    ({"active": None}, "active cannot be null"),
    ({"active": "false"}, "active"),
    ({"role": "owner"}, "role"),
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"email": "not an address"}, "email"),
    ({"name": "x" * 201}, "name"),
    ({"organisation_id": 2}, "organisation_id"),
])
async def test_a_bad_body_is_a_422_that_names_the_field(world: World, body: dict[str, Any],
                                                        mention: str) -> None:
    before = await person(world, world.metro_partner.id)
    answer = await patch(world, "admin", world.metro_partner.id, body)
    assert answer.status_code == 422, answer.text
    assert mention in answer.text
    assert await person(world, world.metro_partner.id) == before


async def test_an_email_someone_else_has_is_a_409(world: World) -> None:
    problem(await patch(world, "admin", world.metro_partner.id, {"email": "Metro_Staff@metropolis.example"}),
            409, "metro_staff@metropolis.example")
    problem(await patch(world, "admin", 999_999, {"name": "Nobody"}), 404, "no person 999999")


async def test_who_may_change_whom(world: World) -> None:
    metro_partner, metro_signatory = world.metro_partner.id, world.metro_signatory.id
    before = {p: await person(world, p) for p in (world.aspac_staff.id, world.admin.id, metro_signatory)}

    # Staff change the people of their own organisation, between staff and partner.
    promoted = await world.ok("metro_staff", "PATCH", f"/people/{metro_partner}", json={"role": "staff"})
    assert promoted["role"] == "staff"
    assert (await world.ok("metro_staff", "PATCH", f"/people/{metro_partner}",
                           json={"role": "partner", "name": "Officer"}))["role"] == "partner"
    # ... but never make anyone an administrator, nor change a colleague's email.
    problem(await patch(world, "metro_staff", metro_partner, {"role": "admin"}), 403,
            "Only an administrator can make someone an administrator")
    problem(await patch(world, "metro_staff", metro_signatory, {"email": "mine@evil.example"}), 403,
            "Only an administrator can change")
    # Their own email, name and time zone they change; their own role and active they do not.
    mine = await world.ok("metro_staff", "PATCH", f"/people/{world.metro_staff.id}",
                          json={"email": "agnes@metropolis.example", "timezone": "Europe/Madrid"})
    assert mine["email"] == "agnes@metropolis.example"
    problem(await patch(world, "metro_staff", world.metro_staff.id, {"active": False}), 403, "yourself")
    problem(await patch(world, "metro_staff", world.metro_staff.id, {"role": "partner"}), 403, "your own role")
    problem(await patch(world, "admin", world.admin.id, {"active": False}), 403, "yourself")
    problem(await patch(world, "admin", world.admin.id, {"role": "staff"}), 403, "your own role")

    # People of other organisations: unseen is 404, seen (a shared agreement) is 403.
    problem(await patch(world, "metro_staff", world.aspac_staff.id, {"active": False}), 404)
    problem(await patch(world, "metro_staff", world.admin.id, {"active": False}), 404)
    await world.draft()
    problem(await patch(world, "metro_staff", world.aspac_staff.id, {"active": False}), 403,
            "staff of UCLG ASPAC")
    # Partners change no one.
    problem(await patch(world, "metro_partner", world.metro_staff.id, {"name": "X"}), 403, "staff of Metropolis")
    problem(await patch(world, "metro_partner", world.metro_partner.id, {"name": "X"}), 403)
    problem(await patch(world, "metro_partner", world.aspac_staff.id, {"name": "X"}), 404)

    # An administrator in their organisation is out of staff's hands.
    assert (await world.ok("admin", "PATCH", f"/people/{metro_signatory}", json={"role": "admin"}))["role"] == "admin"
    before[metro_signatory]["role"] = "admin"
    problem(await patch(world, "metro_staff", metro_signatory, {"name": "Renamed"}), 403,
            "only an administrator can change them")
    problem(await patch(world, "metro_staff", metro_signatory, {"active": False}), 403)

    for person_id, was in before.items():
        assert await person(world, person_id) == was  # every refusal changed nothing


async def test_staff_disable_and_enable_a_colleague(world: World) -> None:
    off = await world.ok("metro_staff", "PATCH", f"/people/{world.metro_partner.id}", json={"active": False})
    assert off["active"] is False
    assert (await world.call("metro_partner", "GET", "/agreements")).status_code == 401
    listed = await world.ok("metro_staff", "GET", "/people")
    assert {p["id"]: p["active"] for p in listed["items"]}[world.metro_partner.id] is False
    on = await world.ok("metro_staff", "PATCH", f"/people/{world.metro_partner.id}", json={"active": True})
    assert on["active"] is True
    # Enabling restores sign-in, not the old token.
    assert (await world.call("metro_partner", "GET", "/agreements")).status_code == 401


async def test_disabling_cuts_every_way_in_at_once(world: World, client: httpx.AsyncClient, app: Any,
                                                   settings: Settings) -> None:
    """Tokens, calendar feeds, web sessions and sign-in links of a disabled person stop working at
    once; their name stays in history; enabling them restores sign-in by link, not old tokens."""
    agreement = await world.draft("metro_staff")
    second = await world.ok("admin", "POST", f"/people/{world.metro_staff.id}/tokens", json={"label": "laptop"})
    feed = await world.ok("metro_staff", "POST", "/feeds", json={})
    feed_path = urlsplit(feed["url"]).path
    assert (await client.get(feed_path)).status_code == 200
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as browser:
        await sign_in(browser, world.metro_staff.token)
        assert (await browser.get("/agreements")).status_code == 200

        off = await world.ok("admin", "PATCH", f"/people/{world.metro_staff.id}", json={"active": False})
        assert off["active"] is False

        assert (await world.call("metro_staff", "GET", "/agreements")).status_code == 401
        assert (await client.get("/api/v1/agreements",
                                 headers={"Authorization": f"Bearer {second['token']}"})).status_code == 401
        assert (await client.get(feed_path)).status_code == 404
        page = await browser.get("/agreements")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/sign-in")
    tokens = await world.ok("admin", "GET", f"/people/{world.metro_staff.id}/tokens")
    assert all(t["revoked_at"] is not None for t in tokens["items"])
    assert len(tokens["items"]) == 2

    # A new sign-in is refused, by token on the page, and by link with the same answer as for a
    # stranger's address (and no mail).
    form = await client.get("/sign-in")
    refused = await client.post("/sign-in", data={"token": world.metro_staff.token, "csrf": csrf_of(form.text)})
    assert refused.status_code == 401
    stranger = await client.post("/sign-in/link", data={"email": "nobody@nowhere.example", "csrf": csrf_of(form.text)})
    disabled = await client.post("/sign-in/link", data={"email": "metro_staff@metropolis.example",
                                                        "csrf": csrf_of(form.text)})
    await link_mail.settle()
    assert (disabled.status_code, disabled.text) == (stranger.status_code, stranger.text)
    assert outbox(settings) == []
    problem(await world.call("admin", "POST", f"/people/{world.metro_staff.id}/tokens"), 409, "disabled")

    # The row stays: the agreement and its history still show who did what.
    history = await world.ok("admin", "GET", f"/agreements/{agreement['id']}/history")
    items = history["items"] if isinstance(history, dict) else history
    assert items[0]["actor"] == world.metro_staff.name

    on = await world.ok("admin", "PATCH", f"/people/{world.metro_staff.id}", json={"active": True})
    assert on["active"] is True
    assert (await world.call("metro_staff", "GET", "/agreements")).status_code == 401  # old tokens stay dead
    assert (await client.get(feed_path)).status_code == 404
    await client.post("/sign-in/link", data={"email": "metro_staff@metropolis.example", "csrf": csrf_of(form.text)})
    await link_mail.settle()
    [mail] = outbox(settings)
    assert (await follow(client, link_in(mail))).status_code == 303
    assert world.metro_staff.name in (await client.get("/agreements")).text


async def test_a_link_asked_for_before_disabling_does_not_sign_in(world: World, client: httpx.AsyncClient,
                                                                  settings: Settings) -> None:
    form = await client.get("/sign-in")
    await client.post("/sign-in/link", data={"email": "metro_partner@metropolis.example", "csrf": csrf_of(form.text)})
    await link_mail.settle()
    [mail] = outbox(settings)
    await world.ok("admin", "PATCH", f"/people/{world.metro_partner.id}", json={"active": False})
    assert (await follow(client, link_in(mail))).status_code == 410
    await world.ok("admin", "PATCH", f"/people/{world.metro_partner.id}", json={"active": True})
    assert (await follow(client, link_in(mail))).status_code == 410  # void for good, not only while disabled


async def test_disabling_warns_of_what_is_left_undone_and_the_guard_shows_it(world: World) -> None:
    agreement = await world.ready()
    agreement_id = agreement["id"]
    area = agreement["areas"][0]["id"]
    owned = await world.ok("metro_staff", "POST", f"/agreements/{agreement_id}/areas/{area}/deliverables",
                           json={"title": "Gender mainstreaming toolkit", "owner_id": world.metro_staff.id})
    assert (await world.ok("aspac_staff", "GET", f"/agreements/{agreement_id}"))["unmet_conditions"] \
        .get("submit_for_signature", []) == []

    off = await world.ok("admin", "PATCH", f"/people/{world.metro_staff.id}", json={"active": False})
    assert off["active"] is False
    assert [(w["kind"], w["agreement_id"], w["deliverable_id"]) for w in off["warnings"]] == [
        ("only_focal_point", agreement_id, None), ("owns_deliverable", agreement_id, owned["id"])]
    assert "only active focal point of Metropolis" in off["warnings"][0]["detail"]
    assert "Gender mainstreaming toolkit" in off["warnings"][1]["detail"]
    assert all(w["agreement_title"] == agreement["title"] for w in off["warnings"])

    # The agreement shows the gap as an unmet condition, and submitting is refused with it.
    read = await world.ok("aspac_staff", "GET", f"/agreements/{agreement_id}")
    [unmet] = read["unmet_conditions"]["submit_for_signature"]
    assert "Metropolis has not named a focal point (Agnès Bickart: disabled)" in unmet
    metro = next(p for p in read["parties"] if p["organisation"]["id"] == world.orgs["metropolis"])
    assert [(c["person"]["name"], c["person"]["active"]) for c in metro["focal_points"]] == [
        (world.metro_staff.name, False)]
    refused = await world.fire("aspac_staff", agreement_id, "submit_for_signature")
    problem(refused, 422)
    assert "Agnès Bickart: disabled" in refused.text

    # A disabled person cannot be named again, nor given a deliverable.
    problem(await world.call("aspac_staff", "POST", f"/agreements/{agreement_id}/focal-points",
                             json={"person_id": world.metro_staff.id, "kind": "signatory",
                                   "organisation_id": world.orgs["metropolis"]}), 422, "disabled")
    problem(await world.call("admin", "POST", f"/agreements/{agreement_id}/areas/{area}/deliverables",
                             json={"title": "Another", "owner_id": world.metro_staff.id}), 422, "disabled")

    # Another active focal point closes the gap; disabling a signatory warns of that one.
    await world.ok("admin", "POST", f"/agreements/{agreement_id}/focal-points",
                   json={"person_id": world.metro_partner.id, "kind": "focal_point"})
    assert "submit_for_signature" not in (await world.ok("admin", "GET", f"/agreements/{agreement_id}")
                                         )["unmet_conditions"]
    signatory_off = await world.ok("admin", "PATCH", f"/people/{world.aspac_signatory.id}", json={"active": False})
    assert [(w["kind"], w["agreement_id"]) for w in signatory_off["warnings"]] == [("only_signatory", agreement_id)]
    # Someone with nothing left undone: no warnings.
    assert (await world.ok("admin", "PATCH", f"/people/{world.amf_partner.id}", json={"active": False})
            )["warnings"] == []


async def test_a_disabled_signatory_signs_nothing(world: World) -> None:
    """Disabled after being named, a signatory is neither the default signer nor one to name:
    the party signs only once it names an active signatory."""
    agreement = await world.ready()
    agreement_id = agreement["id"]
    assert (await world.fire("metro_staff", agreement_id, "submit_for_signature")).status_code == 200
    await world.ok("admin", "PATCH", f"/people/{world.aspac_signatory.id}", json={"active": False})
    version = (await world.ok("aspac_staff", "GET", f"/agreements/{agreement_id}"))["version"]

    refused = await world.fire("aspac_staff", agreement_id, "sign")
    problem(refused, 422, "UCLG ASPAC has not named a signatory (Secretary General, UCLG ASPAC: disabled)")
    named = await world.fire("aspac_staff", agreement_id, "sign", signatory_id=world.aspac_signatory.id)
    problem(named, 422, "Secretary General, UCLG ASPAC: disabled")
    assert (await world.ok("aspac_staff", "GET", f"/agreements/{agreement_id}"))["version"] == version

    await world.ok("aspac_staff", "POST", f"/agreements/{agreement_id}/focal-points",
                   json={"person_id": world.aspac_partner.id, "kind": "signatory"})
    signed = await world.fire("aspac_staff", agreement_id, "sign")
    assert signed.status_code == 200, signed.text
    aspac = next(p for p in signed.json()["parties"] if p["organisation"]["id"] == world.orgs["aspac"])
    assert aspac["signature"]["signatory_id"] == world.aspac_partner.id
