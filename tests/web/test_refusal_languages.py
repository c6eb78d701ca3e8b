"""The engine's refusals on the pages, in the page's language (engine/i18n.py): a signature dated
tomorrow refused on a French agreement page with the day in French, and why an area cannot be
removed said on a Spanish one with its deliverable's progress in Spanish words — the English words
nowhere, and nothing changed."""

from __future__ import annotations

import httpx

from engine.statuses import Language
from tests.support import World
from tests.web.helpers import sign_in, text_of


async def test_a_signature_dated_tomorrow_is_refused_in_french_on_the_page(
        client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.ready()
    assert (await world.fire("metro_staff", agreement["id"], "submit_for_signature")).status_code == 200
    await client.get(f"/language/{Language.FR}")
    csrf = await sign_in(client, world.metro_staff.token)

    refused = await client.post(f"/agreements/{agreement['id']}/events", data={
        "csrf": csrf, "event": "sign", "signed_on": "2026-11-24", "place": "Barcelona"})

    assert refused.status_code == 422
    words = text_of(refused.text.partition('id="problem"')[2].partition("</section>")[0])
    assert ("Le jour de signature, le 24 novembre 2026, est une date future ; enregistrez une signature le jour où "
            "elle est apposée, ou après.") in words, words
    assert "in the future" not in words
    after = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}")
    assert all(p["signature"] is None for p in after["parties"])


async def test_why_an_area_with_progress_stays_names_the_progress_in_spanish_on_the_page(
        client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.draft()
    area = agreement["areas"][0]
    toolkit = await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/areas/{area['id']}/deliverables",
                             json={"title": "Joint toolkit", "status": "in_progress"})
    await world.ok("metro_staff", "PATCH", f"/deliverables/{toolkit['id']}", json={"progress_note": "Drafted."})
    await client.get(f"/language/{Language.ES}")
    await sign_in(client, world.metro_staff.token)

    words = text_of((await client.get(f"/agreements/{agreement['id']}")).text)

    assert (f"El ámbito '{area['title']}' no se puede eliminar: este entregable tiene avances registrados, que una "
            "eliminación perdería: 'Joint toolkit' (estado «en curso», una nota de avance).") in words, words
    assert "status in progress" not in words
    assert "a progress note" not in words
