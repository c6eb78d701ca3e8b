"""Drafting and correcting an agreement on the pages: every form goes through the same actions as
the API (engine.agreements.actions, by engine.agreements.service.apply), with the page's CSRF value
and the agreement's version as If-Match; what stops a form is said beside it."""

from __future__ import annotations

import re

import httpx

from tests.support import World
from tests.web.helpers import sign_in, text_of


async def _created_on_the_page(client: httpx.AsyncClient, world: World) -> tuple[str, int]:
    """Metropolis staff create a draft with UCLG ASPAC and two areas through /agreements/new."""
    csrf = await sign_in(client, world.metro_staff.token)
    listing = await client.get("/agreements")
    assert 'href="/agreements/new"' in listing.text
    form = await client.get("/agreements/new")
    assert form.status_code == 200
    # The reader's own organisation comes first, chosen as a signing party.
    assert form.text.index("Metropolis") < form.text.index("UCLG ASPAC")
    answer = await client.post("/agreements/new", data={
        "csrf": csrf, "title": "Cooperation on urban resilience", "workflow": "collaboration_agreement",
        "summary": "Metropolis and UCLG ASPAC work together.", "effective_from": "2026-12-01",
        "ends_on": "2029-12-01", "review_every_months": "12",
        f"role-{world.orgs['metropolis']}": "party", f"role-{world.orgs['aspac']}": "party",
        f"role-{world.orgs['amf']}": "", "areas": "Urban resilience\nGender mainstreaming\n"})
    assert answer.status_code == 303, text_of(answer.text)
    path = answer.headers["location"].split("?")[0]
    agreement_id = int(path.rsplit("/", 1)[1])
    return csrf, agreement_id


async def _version(world: World, agreement_id: int) -> str:
    return str((await world.ok("metro_staff", "GET", f"/agreements/{agreement_id}"))["version"])


async def test_staff_create_an_agreement_with_two_parties_and_two_areas(client: httpx.AsyncClient,
                                                                       world: World) -> None:
    _, agreement_id = await _created_on_the_page(client, world)
    agreement = await world.ok("metro_staff", "GET", f"/agreements/{agreement_id}")
    assert agreement["title"] == "Cooperation on urban resilience"
    assert agreement["state"] == "draft"
    assert agreement["ends_on"] == "2029-12-01"
    assert sorted(p["organisation"]["name"] for p in agreement["parties"]) == ["Metropolis", "UCLG ASPAC"]
    assert [a["title"] for a in agreement["areas"]] == ["Urban resilience", "Gender mainstreaming"]
    page = text_of((await client.get(f"/agreements/{agreement_id}")).text)
    assert "Cooperation on urban resilience" in page


async def test_a_bad_date_keeps_what_was_typed_and_says_what_is_wrong_beside_it(client: httpx.AsyncClient,
                                                                                world: World) -> None:
    csrf = await sign_in(client, world.metro_staff.token)
    before = await world.ok("metro_staff", "GET", "/agreements")
    for ends_on, said in (("2026-02-30", "2026-02-30 is not a day of the calendar"),
                          ("2026-06-01", "ends_on (2026-06-01) must be after effective_from (2026-12-01)")):
        answer = await client.post("/agreements/new", data={
            "csrf": csrf, "title": "Typed title", "effective_from": "2026-12-01", "ends_on": ends_on,
            f"role-{world.orgs['metropolis']}": "party", f"role-{world.orgs['aspac']}": "supporter",
            "areas": "First area\nSecond area"})
        assert answer.status_code == 422, answer.status_code
        assert 'value="Typed title"' in answer.text
        assert f'value="{ends_on}"' in answer.text
        assert "First area\nSecond area" in answer.text
        assert re.search(r'<option value="supporter" selected>', answer.text)
        # The problem is said beside the field it names, right after it.
        beside = re.search(r'name="ends_on"[^>]*>\s*<p class="field-problem" id="ends_on-problem">([^<]+)</p>',
                           answer.text)
        assert beside, answer.text
        assert said in beside.group(1)
    assert (await world.ok("metro_staff", "GET", "/agreements")) == before


async def test_a_partner_may_not_create(client: httpx.AsyncClient, world: World) -> None:
    csrf = await sign_in(client, world.metro_partner.token)
    assert 'href="/agreements/new"' not in (await client.get("/agreements")).text
    assert (await client.get("/agreements/new")).status_code == 403
    answer = await client.post("/agreements/new", data={
        "csrf": csrf, "title": "Crafted", f"role-{world.orgs['metropolis']}": "party"})
    assert answer.status_code == 403
    assert "Partners cannot create agreements" in text_of(answer.text)
