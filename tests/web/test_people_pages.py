"""The people page: who is listed, and disabling or enabling someone with a posted form."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from tests.support import World
from tests.web.helpers import sign_in, text_of


def buttons(page: str) -> set[str]:
    """The people the page offers to disable or enable, as 'Disable <name>' / 'Enable <name>'."""
    return set(re.findall(r'aria-label="((?:Disable|Enable) [^"]+)"', page))


async def test_an_administrator_disables_and_enables_someone(client: httpx.AsyncClient, world: World,
                                                            app: Any) -> None:
    agreement = await world.ready()
    csrf = await sign_in(client, world.admin.token)
    page = await client.get("/people")
    assert page.status_code == 200
    assert 'aria-current="page">People' in page.text
    assert f"Disable {world.metro_staff.name}" in buttons(page.text)
    assert f"Disable {world.admin.name}" not in buttons(page.text)  # not themself

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as browser:
        await sign_in(browser, world.metro_staff.token)
        done = await client.post(f"/people/{world.metro_staff.id}/active", data={"csrf": csrf, "active": "false"})
        assert done.status_code == 200
        words = text_of(done.text)
        assert f"{world.metro_staff.name} is disabled." in words
        assert "only active focal point of Metropolis" in words
        assert f'href="/agreements/{agreement["id"]}"' in done.text
        assert f"Enable {world.metro_staff.name}" in buttons(done.text)
        # Their browser is signed out at once, and the API refuses their token.
        assert (await browser.get("/agreements")).status_code == 303
        assert (await world.call("metro_staff", "GET", "/agreements")).status_code == 401

    # The agreement page still names them, marked disabled.
    shown = text_of((await client.get(f"/agreements/{agreement['id']}")).text)
    assert f"{world.metro_staff.name} (disabled)" in shown

    again = await client.post(f"/people/{world.metro_staff.id}/active", data={"csrf": csrf, "active": "true"})
    assert f"{world.metro_staff.name} is enabled." in text_of(again.text)
    assert (await world.ok("admin", "GET", f"/people/{world.metro_staff.id}"))["active"] is True


async def test_the_form_needs_the_session_csrf_and_a_clear_answer(client: httpx.AsyncClient, world: World) -> None:
    csrf = await sign_in(client, world.admin.token)
    forged = await client.post(f"/people/{world.metro_partner.id}/active", data={"active": "false"})
    assert forged.status_code == 403
    assert "Form refused" in forged.text
    vague = await client.post(f"/people/{world.metro_partner.id}/active", data={"csrf": csrf, "active": "maybe"})
    assert vague.status_code == 422
    # The page is titled as the API's problem is: by the engine error's class.
    assert "Invalid input (422)" in text_of(vague.text)
    assert (await world.ok("admin", "GET", f"/people/{world.metro_partner.id}"))["active"] is True


async def test_staff_change_only_their_organisation_and_partners_no_one(client: httpx.AsyncClient,
                                                                       world: World, app: Any) -> None:
    await world.draft()  # Metropolis and UCLG ASPAC share an agreement
    csrf = await sign_in(client, world.metro_staff.token)
    page = await client.get("/people")
    words = text_of(page.text)
    assert world.aspac_staff.name in words
    assert world.amf_staff.name not in words  # no shared agreement
    assert buttons(page.text) == {f"Disable {world.metro_signatory.name}", f"Disable {world.metro_partner.name}"}
    refused = await client.post(f"/people/{world.aspac_staff.id}/active", data={"csrf": csrf, "active": "false"})
    assert refused.status_code == 403
    assert "staff of UCLG ASPAC" in text_of(refused.text)
    hidden = await client.post(f"/people/{world.amf_staff.id}/active", data={"csrf": csrf, "active": "false"})
    assert hidden.status_code == 404

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as partner:
        partner_csrf = await sign_in(partner, world.metro_partner.token)
        listed = await partner.get("/people")
        assert buttons(listed.text) == set()
        assert world.aspac_staff.name not in text_of(listed.text)
        no = await partner.post(f"/people/{world.metro_signatory.id}/active",
                                data={"csrf": partner_csrf, "active": "false"})
        assert no.status_code == 403
    for who in ("aspac_staff", "metro_signatory", "amf_staff"):
        assert (await world.ok("admin", "GET", f"/people/{world.people[who].id}"))["active"] is True


# --- a person's page, editing and adding people, tokens, organisations --------------------------

def field_problem(page: str, name: str) -> str:
    """The problem the form shows next to the field `name` ('' if none)."""
    found = re.search(rf'<p class="field-problem" id="f-{name}-problem">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else ""


def typed(page: str, name: str) -> str:
    found = re.search(rf'id="f-{name}" name="{name}" type="[a-z]+" value="([^"]*)"', page)
    assert found, f"the form has no field {name}"
    return html.unescape(found.group(1))


async def test_a_person_page_shows_their_agreements_and_open_deliverables(client: httpx.AsyncClient,
                                                                       world: World) -> None:
    agreement = await world.ready()
    agreement_id, area = agreement["id"], agreement["areas"][0]["id"]
    path = f"/agreements/{agreement_id}/areas/{area}/deliverables"
    await world.ok("metro_staff", "POST", path, json={
        "title": "City profile", "owner_id": world.metro_staff.id, "due_on": "2027-03-01"})
    done = await world.ok("metro_staff", "POST", path,
                          json={"title": "Launch webinar", "owner_id": world.metro_staff.id})
    await world.ok("metro_staff", "PATCH", f"/deliverables/{done['id']}", json={"status": "done"})
    await sign_in(client, world.aspac_staff.token)  # staff sharing the agreement with Metropolis

    page = await client.get(f"/people/{world.metro_staff.id}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert world.metro_staff.name in words
    assert "Metropolis" in words
    assert "staff" in words
    assert "metro_staff@metropolis.example" in words
    assert "Europe/Madrid (their organisation's)" in words
    assert f'<a href="/agreements/{agreement_id}">{agreement["title"]}</a>' in page.text
    assert "focal point for Metropolis" in words
    assert "City profile" in words
    assert "due 1 March 2027" in words
    assert "Launch webinar" not in words  # done: not open
    assert "Access tokens" not in words  # only an administrator or the person themself

    # The people list links to the page.
    assert f'href="/people/{world.metro_staff.id}"' in (await client.get("/people")).text


async def test_staff_do_not_see_a_person_of_an_organisation_they_share_nothing_with(client: httpx.AsyncClient,
                                                                                    world: World) -> None:
    await world.ready()  # Metropolis and UCLG ASPAC, not AMF
    csrf = await sign_in(client, world.metro_staff.token)
    shared = await client.get(f"/people/{world.aspac_staff.id}")  # an organisation they share an agreement with
    assert shared.status_code == 200
    assert world.aspac_staff.name in text_of(shared.text)
    for path in (f"/people/{world.amf_staff.id}", f"/people/{world.amf_staff.id}/edit"):
        hidden = await client.get(path)
        assert hidden.status_code == 404, path
        assert world.amf_staff.name not in hidden.text
    posted = await client.post(f"/people/{world.amf_staff.id}", data={"csrf": csrf, "name": "Someone else"})
    assert posted.status_code == 404
    assert (await world.ok("admin", "GET", f"/people/{world.amf_staff.id}"))["name"] == world.amf_staff.name


async def test_editing_keeps_what_was_typed_and_says_what_is_wrong_next_to_the_field(client: httpx.AsyncClient,
                                                                                   world: World) -> None:
    csrf = await sign_in(client, world.metro_staff.token)
    form = await client.get(f"/people/{world.metro_partner.id}/edit")
    assert form.status_code == 200
    assert typed(form.text, "name") == world.metro_partner.name

    bad = await client.post(f"/people/{world.metro_partner.id}", data={
        "csrf": csrf, "name": "Programme officer (Barcelona)", "job_title": "Programme officer",
        "timezone": "Europe/Barcelona", "role": "partner"})
    assert bad.status_code == 422
    assert "Unknown time zone 'Europe/Barcelona'" in field_problem(bad.text, "timezone")
    assert field_problem(bad.text, "name") == ""
    assert typed(bad.text, "name") == "Programme officer (Barcelona)"
    assert typed(bad.text, "timezone") == "Europe/Barcelona"
    assert typed(bad.text, "job_title") == "Programme officer"
    assert (await world.ok("admin", "GET", f"/people/{world.metro_partner.id}"))["name"] == world.metro_partner.name

    good = await client.post(f"/people/{world.metro_partner.id}", data={
        "csrf": csrf, "name": "Programme officer (Barcelona)", "job_title": "Programme officer",
        "timezone": "Europe/Madrid", "role": "partner"}, follow_redirects=True)
    assert good.status_code == 200
    words = text_of(good.text)
    assert "Saved." in words
    assert "Programme officer (Barcelona)" in words
    assert "Europe/Madrid" in words
    stored = await world.ok("admin", "GET", f"/people/{world.metro_partner.id}")
    assert (stored["name"], stored["job_title"], stored["timezone"]) == (
        "Programme officer (Barcelona)", "Programme officer", "Europe/Madrid")


async def test_only_an_administrator_makes_someone_an_administrator(client: httpx.AsyncClient, world: World,
                                                                   app: Any) -> None:
    csrf = await sign_in(client, world.metro_staff.token)
    form = await client.get(f"/people/{world.metro_partner.id}/edit")
    assert 'value="admin"' not in form.text  # not offered to staff
    refused = await client.post(f"/people/{world.metro_partner.id}", data={
        "csrf": csrf, "name": world.metro_partner.name, "role": "admin"})
    assert refused.status_code == 403
    assert "Only an administrator can make someone an administrator." in text_of(refused.text)
    assert (await world.ok("admin", "GET", f"/people/{world.metro_partner.id}"))["role"] == "partner"
    own = await client.get(f"/people/{world.metro_staff.id}/edit")
    assert 'name="role"' not in own.text  # nobody changes their own role

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as partner:
        await sign_in(partner, world.metro_partner.token)
        assert "Edit " not in text_of((await partner.get(f"/people/{world.metro_staff.id}")).text)
        assert (await partner.get(f"/people/{world.metro_staff.id}/edit")).status_code == 403

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as admin:
        admin_csrf = await sign_in(admin, world.admin.token)
        made = await admin.post(f"/people/{world.metro_partner.id}", data={
            "csrf": admin_csrf, "name": world.metro_partner.name, "email": "metro_partner@metropolis.example",
            "role": "admin"})
        assert made.status_code == 303
    assert (await world.ok("admin", "GET", f"/people/{world.metro_partner.id}"))["role"] == "admin"


async def test_an_administrator_adds_a_person_and_a_mistake_keeps_the_form(client: httpx.AsyncClient,
                                                                          world: World, app: Any) -> None:
    csrf = await sign_in(client, world.admin.token)
    assert 'href="/people/new"' in (await client.get("/people")).text
    typo = {"csrf": csrf, "name": "Lucía Martín", "email": "lucia.martin@metropolis", "job_title": "Analyst",
            "organisation_id": str(world.metro_staff.organisation_id), "role": "staff", "timezone": ""}
    bad = await client.post("/people", data=typo)
    assert bad.status_code == 422
    assert field_problem(bad.text, "email")
    assert typed(bad.text, "email") == "lucia.martin@metropolis"
    assert typed(bad.text, "name") == "Lucía Martín"
    added = await client.post("/people", data={**typo, "email": "lucia.martin@metropolis.example"})
    assert added.status_code == 303
    page = await client.get(added.headers["location"])
    assert "Lucía Martín" in text_of(page.text)
    assert "Metropolis" in text_of(page.text)
    listed = await world.ok("admin", "GET", f"/people?organisation_id={world.metro_staff.organisation_id}")
    assert "lucia.martin@metropolis.example" in [p["email"] for p in listed["items"]]

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as partner:
        partner_csrf = await sign_in(partner, world.metro_partner.token)
        assert 'href="/people/new"' not in (await partner.get("/people")).text
        assert (await partner.get("/people/new")).status_code == 403
        refused = await partner.post("/people", data={**typo, "csrf": partner_csrf, "email": "x@metropolis.example"})
        assert refused.status_code == 403
        assert "Only an administrator, or staff for their own organisation, can add people." in text_of(refused.text)


async def test_a_token_issued_on_the_page_works_until_it_is_revoked_there(client: httpx.AsyncClient,
                                                                         world: World, app: Any) -> None:
    await world.ready()
    csrf = await sign_in(client, world.admin.token)
    issued = await client.post(f"/people/{world.metro_partner.id}/tokens",
                               data={"csrf": csrf, "label": "Reporting script"})
    assert issued.status_code == 201
    assert "Copy this token now: it is shown only this once." in text_of(issued.text)
    token = re.search(r'<code class="secret">(acc_[^<]+)</code>', issued.text)
    assert token
    bearer = {"Authorization": f"Bearer {html.unescape(token.group(1))}"}
    assert (await world.client.get("/api/v1/agreements", headers=bearer)).status_code == 200

    again = await client.get(f"/people/{world.metro_partner.id}")
    assert "Reporting script" in text_of(again.text)
    assert token.group(1) not in again.text  # never shown again
    ids = re.findall(r'id="token-(\d+)">Reporting script', again.text)
    assert len(ids) == 1
    assert f'action="/tokens/{ids[0]}/revoke"' in again.text
    revoked = await client.post(f"/tokens/{ids[0]}/revoke", data={"csrf": csrf}, follow_redirects=True)
    assert revoked.status_code == 200
    assert "The token is revoked" in text_of(revoked.text)
    assert f'action="/tokens/{ids[0]}/revoke"' not in revoked.text  # nothing left to revoke
    assert (await world.client.get("/api/v1/agreements", headers=bearer)).status_code == 401

    # The person themself sees their tokens (never the secret) and may revoke them, not issue one.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as own:
        await sign_in(own, world.metro_partner.token)
        mine = await own.get(f"/people/{world.metro_partner.id}")
        assert "Reporting script" in text_of(mine.text)
        assert "Issue a token" not in text_of(mine.text)
    # Staff of another organisation (sharing the agreement, so they see the person) neither see nor issue
    # tokens; Metropolis's own staff do (tests/web/test_directory_pages.py).
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as staff:
        staff_csrf = await sign_in(staff, world.aspac_staff.token)
        assert "Access tokens" not in text_of((await staff.get(f"/people/{world.metro_partner.id}")).text)
        no = await staff.post(f"/people/{world.metro_partner.id}/tokens", data={"csrf": staff_csrf})
        assert no.status_code == 403


async def test_an_administrator_adds_an_organisation_and_staff_cannot(client: httpx.AsyncClient, world: World,
                                                                     app: Any) -> None:
    csrf = await sign_in(client, world.admin.token)
    page = await client.get("/organisations")
    assert page.status_code == 200
    assert 'aria-current="page">Organisations' in page.text
    assert "Asian Mayors Forum" in text_of(page.text)
    bad = await client.post("/organisations", data={"csrf": csrf, "name": "Cities Alliance", "kind": "network",
                                                     "city": "Brussels", "timezone": "Europe/Bruxelles"})
    assert bad.status_code == 422
    assert "Unknown time zone" in field_problem(bad.text, "timezone")
    assert typed(bad.text, "city") == "Brussels"
    added = await client.post("/organisations", data={"csrf": csrf, "name": "Cities Alliance", "kind": "network",
                                                       "city": "Brussels", "timezone": "Europe/Brussels"},
                              follow_redirects=True)
    assert added.status_code == 200
    assert "Cities Alliance is added." in text_of(added.text)
    twice = await client.post("/organisations", data={"csrf": csrf, "name": "cities alliance",
                                                       "timezone": "UTC", "kind": "network"})
    assert twice.status_code == 422
    assert "already exists" in field_problem(twice.text, "name")
    names = [o["name"] for o in (await world.ok("admin", "GET", "/organisations"))["items"]]
    assert names.count("Cities Alliance") == 1

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as staff:
        staff_csrf = await sign_in(staff, world.metro_staff.token)
        listed = await staff.get("/organisations")
        assert listed.status_code == 200
        assert "Add an organisation" not in text_of(listed.text)
        refused = await staff.post("/organisations", data={"csrf": staff_csrf, "name": "Staff's own network",
                                                           "kind": "network", "timezone": "UTC"})
        assert refused.status_code == 403
    names = [o["name"] for o in (await world.ok("admin", "GET", "/organisations"))["items"]]
    assert "Staff's own network" not in names
