"""An organisation's page and its form; staff adding people to their own organisation and issuing
and revoking their tokens on the pages — the same rules as the API (`engine/directory/rules.py`)."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from tests.support import World
from tests.web.helpers import sign_in, text_of
from tests.web.test_people_pages import field_problem, typed


def browser(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test")


async def test_the_organisations_list_and_a_person_lead_to_the_organisation_page(client: httpx.AsyncClient,
                                                                               world: World) -> None:
    await world.draft()  # Metropolis and UCLG ASPAC share an agreement
    await sign_in(client, world.aspac_staff.token)
    metropolis = world.orgs["metropolis"]
    assert f'<a href="/organisations/{metropolis}"><strong>Metropolis</strong></a>' in (
        await client.get("/organisations")).text
    person = await client.get(f"/people/{world.metro_staff.id}")
    assert f'<a href="/organisations/{metropolis}">Metropolis</a>' in person.text

    page = await client.get(f"/organisations/{metropolis}")
    assert page.status_code == 200
    assert 'aria-current="page">Organisations' in page.text
    words = text_of(page.text)
    assert "Time zone Europe/Madrid" in words
    assert "3 people you can see." in words
    assert f'<a href="/people/{world.metro_partner.id}">{world.metro_partner.name}</a>' in page.text
    assert f'id="person-{world.aspac_staff.id}"' not in page.text  # only the organisation's own people
    assert 'name="timezone"' not in page.text  # not theirs to change
    assert "Add a person" not in words

    # Staff see only the people they may see: none of an organisation they share nothing with.
    amf = text_of((await client.get(f"/organisations/{world.orgs['amf']}")).text)
    assert "0 people you can see." in amf
    assert world.amf_staff.name not in amf
    assert (await client.get("/organisations/999999")).status_code == 404


async def test_staff_edit_their_organisation_keeping_what_was_typed(client: httpx.AsyncClient, world: World) -> None:
    csrf = await sign_in(client, world.metro_staff.token)
    path = f"/organisations/{world.orgs['metropolis']}"
    form = await client.get(path)
    assert typed(form.text, "name") == "Metropolis"
    assert typed(form.text, "timezone") == "Europe/Madrid"

    sent = {"csrf": csrf, "name": "Metropolis", "short_name": "Metropolis", "kind": "association",
            "city": "Barcelona", "country": "Spain", "timezone": "Europe/Barcelona"}
    bad = await client.post(path, data=sent)
    assert bad.status_code == 422
    assert "Unknown time zone 'Europe/Barcelona'" in field_problem(bad.text, "timezone")
    assert field_problem(bad.text, "city") == ""
    assert (typed(bad.text, "city"), typed(bad.text, "timezone")) == ("Barcelona", "Europe/Barcelona")
    assert 'value="association" selected' in bad.text
    clash = await client.post(path, data={**sent, "name": "uclg aspac", "timezone": "Europe/Madrid"})
    assert clash.status_code == 422
    assert "already exists" in field_problem(clash.text, "name")
    assert typed(clash.text, "name") == "uclg aspac"
    empty = await client.post(path, data={**sent, "name": " ", "timezone": "Europe/Madrid"})
    assert field_problem(empty.text, "name")
    assert (await world.ok("admin", "GET", f"/organisations/{world.orgs['metropolis']}"))["city"] is None

    saved = await client.post(path, data={**sent, "timezone": "Europe/Madrid"}, follow_redirects=True)
    assert saved.status_code == 200
    words = text_of(saved.text)
    assert "Saved." in words
    assert "Barcelona, Spain" in words
    stored = await world.ok("admin", "GET", f"/organisations/{world.orgs['metropolis']}")
    assert (stored["kind"], stored["city"], stored["country"]) == ("association", "Barcelona", "Spain")
    # Its language is its people's when they chose none: the staff member reads the next page in Spanish.
    spanish = await client.post(path, data={**sent, "timezone": "Europe/Madrid", "language": "es"},
                                follow_redirects=True)
    assert spanish.headers["content-language"] == "es"
    assert "Guardado. " in text_of(spanish.text)
    assert "Idioma Español" in text_of(spanish.text)
    assert (await world.ok("admin", "GET", path))["language"] == "es"

    forged = await client.post(path, data={**sent, "csrf": "", "timezone": "UTC"})
    assert forged.status_code == 403
    assert "Formulario rechazado" in forged.text  # refused in the reader's language, Spanish now


async def test_an_organisation_page_refuses_those_it_is_not_for(client: httpx.AsyncClient, world: World,
                                                               app: Any) -> None:
    csrf = await sign_in(client, world.metro_staff.token)
    aspac = f"/organisations/{world.orgs['aspac']}"
    refused = await client.post(aspac, data={"csrf": csrf, "name": "UCLG ASPAC", "kind": "network",
                                             "timezone": "UTC"})
    assert refused.status_code == 403
    assert "Only an administrator, or staff of UCLG ASPAC, can change UCLG ASPAC." in text_of(refused.text)
    async with browser(app) as partner:
        partner_csrf = await sign_in(partner, world.metro_partner.token)
        own = await partner.get(f"/organisations/{world.orgs['metropolis']}")
        assert 'name="timezone"' not in own.text
        no = await partner.post(f"/organisations/{world.orgs['metropolis']}",
                                data={"csrf": partner_csrf, "name": "Metropolis", "kind": "network", "timezone": "UTC"})
        assert no.status_code == 403
    async with browser(app) as admin:
        admin_csrf = await sign_in(admin, world.admin.token)
        assert 'name="timezone"' in (await admin.get(aspac)).text
        done = await admin.post(aspac, data={"csrf": admin_csrf, "name": "UCLG ASPAC", "kind": "network",
                                             "city": "Jakarta", "timezone": "Asia/Jakarta"})
        assert done.status_code == 303
    assert (await world.ok("admin", "GET", f"/organisations/{world.orgs['aspac']}"))["city"] == "Jakarta"
    assert (await world.ok("admin", "GET", f"/organisations/{world.orgs['metropolis']}"))["timezone"] == "Europe/Madrid"


async def test_staff_add_a_person_to_their_own_organisation_only(client: httpx.AsyncClient, world: World) -> None:
    csrf = await sign_in(client, world.metro_staff.token)
    assert 'href="/people/new"' in (await client.get("/people")).text
    page = await client.get(f"/organisations/{world.orgs['metropolis']}")
    assert f'href="/people/new?organisation_id={world.orgs["metropolis"]}"' in page.text
    form = await client.get(f"/people/new?organisation_id={world.orgs['metropolis']}")
    assert form.status_code == 200
    options = re.findall(r'<option value="(\d+)"', form.text)
    assert options == [str(world.orgs["metropolis"])]  # only their own organisation
    assert 'value="admin"' not in form.text  # nor an administrator

    sent = {"csrf": csrf, "name": "Lucía Martín", "email": "lucia.martin@metropolis.example",
            "organisation_id": str(world.orgs["metropolis"]), "role": "staff"}
    elsewhere = await client.post("/people", data={**sent, "organisation_id": str(world.orgs["aspac"])})
    assert elsewhere.status_code == 403
    assert "Staff add people only to their own organisation" in text_of(elsewhere.text)
    made_admin = await client.post("/people", data={**sent, "role": "admin"})
    assert made_admin.status_code == 403
    assert "Only an administrator can make someone an administrator." in text_of(made_admin.text)
    added = await client.post("/people", data=sent)
    assert added.status_code == 303
    shown = await client.get(added.headers["location"])
    assert "Lucía Martín" in text_of(shown.text)
    people = (await world.ok("admin", "GET", "/people", params={"organisation_id": world.orgs["aspac"]}))["items"]
    assert "lucia.martin@metropolis.example" not in [p["email"] for p in people]


async def test_staff_issue_and_revoke_a_colleagues_token_on_the_pages(client: httpx.AsyncClient, world: World,
                                                                     app: Any) -> None:
    await world.draft()  # UCLG ASPAC's people are in sight of Metropolis's staff
    csrf = await sign_in(client, world.metro_staff.token)
    issued = await client.post(f"/people/{world.metro_partner.id}/tokens",
                               data={"csrf": csrf, "label": "Reporting script"})
    assert issued.status_code == 201
    token = re.search(r'<code class="secret">(acc_[^<]+)</code>', issued.text)
    assert token
    bearer = {"Authorization": f"Bearer {html.unescape(token.group(1))}"}
    assert (await world.client.get("/api/v1/agreements", headers=bearer)).status_code == 200
    ids = re.findall(r'id="token-(\d+)">Reporting script', issued.text)
    # The colleague's page, which they read too, says who made the token (and could use it).
    assert f"issued by {world.metro_staff.name}" in text_of(issued.text)
    listed = await world.ok("metro_partner", "GET", f"/people/{world.metro_partner.id}/tokens")
    assert [t["issued_by_id"] for t in listed["items"] if t["label"] == "Reporting script"] == [world.metro_staff.id]
    revoked = await client.post(f"/tokens/{ids[0]}/revoke", data={"csrf": csrf}, follow_redirects=True)
    assert "The token is revoked" in text_of(revoked.text)
    assert (await world.client.get("/api/v1/agreements", headers=bearer)).status_code == 401

    # Another organisation's people: seen, but their tokens neither shown nor issued.
    other = await client.get(f"/people/{world.aspac_partner.id}")
    assert "Access tokens" not in text_of(other.text)
    refused = await client.post(f"/people/{world.aspac_partner.id}/tokens", data={"csrf": csrf})
    assert refused.status_code == 403
    assert "staff of UCLG ASPAC" in text_of(refused.text)
    unseen = await client.post(f"/people/{world.amf_partner.id}/tokens", data={"csrf": csrf})
    assert unseen.status_code == 404
    aspac_token = (await world.ok("admin", "GET", f"/people/{world.aspac_partner.id}/tokens"))["items"][0]["id"]
    assert (await client.post(f"/tokens/{aspac_token}/revoke", data={"csrf": csrf})).status_code == 404
    assert (await world.call("aspac_partner", "GET", "/agreements")).status_code == 200

    # Partners issue none.
    async with browser(app) as partner:
        partner_csrf = await sign_in(partner, world.metro_partner.token)
        assert "Issue a token" not in text_of((await partner.get(f"/people/{world.metro_partner.id}")).text)
        no = await partner.post(f"/people/{world.metro_partner.id}/tokens", data={"csrf": partner_csrf})
        assert no.status_code == 403
