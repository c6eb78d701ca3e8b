"""Copying an agreement and renewing it as a successor on the pages: the same actions as the API
(actions.CopyAgreement, the review's `renew_as_successor`), leading to the new draft, and the
predecessor and successor linking each other."""

from __future__ import annotations

import httpx

from tests.checks import active, fire_ok
from tests.support import World
from tests.web.helpers import sign_in, text_of


async def test_staff_copy_an_agreement_from_its_page_into_a_new_draft(client: httpx.AsyncClient,
                                                                      world: World) -> None:
    source = await active(world)
    area = source["areas"][0]["id"]
    path = f"/agreements/{source['id']}/areas/{area}/deliverables"
    await world.ok("metro_staff", "POST", path, json={"title": "City profile", "owner_id": world.metro_staff.id})
    done = await world.ok("metro_staff", "POST", path, json={"title": "Kick-off workshop"})
    await world.ok("metro_staff", "PATCH", f"/deliverables/{done['id']}", json={"status": "done"})

    csrf = await sign_in(client, world.metro_staff.token)
    page = await client.get(f"/agreements/{source['id']}")
    assert "Copy this agreement" in text_of(page.text)
    answer = await client.post(f"/agreements/{source['id']}/copies", data={
        "csrf": csrf, "form": "copy", "title": "Cooperation, second phase"})
    assert answer.status_code == 303, text_of(answer.text)
    copy_id = int(answer.headers["location"].split("?")[0].rsplit("/", 1)[1])
    copy = await world.ok("metro_staff", "GET", f"/agreements/{copy_id}")
    assert (copy["title"], copy["state"], copy["predecessor_id"]) == ("Cooperation, second phase", "draft", None)
    assert [d["title"] for a in copy["areas"] for d in a["deliverables"]] == ["City profile"]
    assert all(p["signature"] is None for p in copy["parties"])
    shown = text_of((await client.get(answer.headers["location"])).text)
    assert "The draft is copied" in shown
    assert f"Copied from agreement #{source['id']} by {world.metro_staff.name}" in shown
    assert "Not named on the copy" not in shown  # everyone named is still enabled

    # Ticked as its successor, the copy follows the source, and the pages link both ways; its
    # history names whom it could not copy.
    await world.ok("admin", "PATCH", f"/people/{world.aspac_signatory.id}", json={"active": False})
    answer = await client.post(f"/agreements/{source['id']}/copies", data={
        "csrf": csrf, "form": "copy", "title": "Cooperation, renewed", "successor": "yes"})
    successor_id = int(answer.headers["location"].split("?")[0].rsplit("/", 1)[1])
    successor_page = (await client.get(f"/agreements/{successor_id}")).text
    assert f'href="/agreements/{source["id"]}"' in successor_page
    assert (f"Not named on the copy (disabled, or no longer with their party): {world.aspac_signatory.name}."
            in text_of(successor_page))
    source_page = (await client.get(f"/agreements/{source['id']}")).text
    assert f'href="/agreements/{successor_id}"' in source_page
    assert f"Followed by agreement #{successor_id}" in text_of(source_page)


async def test_a_partner_is_told_why_they_cannot_copy_and_an_empty_csrf_is_refused(
        client: httpx.AsyncClient, world: World) -> None:
    source = await world.ready()
    await sign_in(client, world.metro_partner.token)
    page = text_of((await client.get(f"/agreements/{source['id']}")).text)
    assert "Copy this agreement" not in page
    assert "Partners cannot create agreements; the staff of a party do." in page
    refused = await client.post(f"/agreements/{source['id']}/copies", data={"form": "copy"})
    assert refused.status_code in (400, 403)
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 1


async def test_a_review_renewed_as_successor_leads_to_the_successors_draft(client: httpx.AsyncClient,
                                                                          world: World) -> None:
    agreement = await active(world)
    await fire_ok(world, "metro_staff", agreement["id"], "start_review")
    csrf = await sign_in(client, world.metro_staff.token)
    page = (await client.get(f"/agreements/{agreement['id']}")).text
    assert 'value="renew_as_successor"' in page
    answer = await client.post(f"/agreements/{agreement['id']}/events", data={
        "csrf": csrf, "event": "complete_review", "version": str(agreement["version"] + 1),
        "outcome": "renew_as_successor", "summary": "A new agreement for the next term."})
    assert answer.status_code == 303, text_of(answer.text)
    predecessor = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}")
    assert answer.headers["location"] == f"/agreements/{predecessor['successor_id']}?changed=successor#top"
    shown = text_of((await client.get(answer.headers["location"])).text)
    assert f"this draft is its successor, copied from agreement #{agreement['id']}" in shown
    assert f"Created as successor of agreement #{agreement['id']}" in shown
