"""The people page: who is listed, and disabling or enabling someone with a posted form."""

from __future__ import annotations

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
