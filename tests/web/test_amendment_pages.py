"""Amendments on the agreement page: proposed with the form, listed with their diffs, signed by
each party with its button; the same service as the API (engine.amendments.service)."""

from __future__ import annotations

import httpx

from engine.demo.signed_copy import signed_copy
from engine.statuses import DocumentKind
from tests.support import World
from tests.web.helpers import csrf_of, sign_in, text_of

PDF = signed_copy("Amendment 1", ["Signed by both parties."])


async def _form_version(client: httpx.AsyncClient, agreement_id: int) -> tuple[str, str]:
    page = (await client.get(f"/agreements/{agreement_id}")).text
    version = page.split('name="version" value="', 1)[1].split('"', 1)[0]
    return csrf_of(page), version


async def test_propose_and_sign_an_amendment_on_the_page(client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.signed(ends_on="2029-12-01")
    agreement_id = agreement["id"]
    await sign_in(client, world.metro_staff.token)
    csrf, version = await _form_version(client, agreement_id)
    answer = await client.post(f"/agreements/{agreement_id}/amendments", data={
        "csrf": csrf, "version": version, "form": "amend", "kind": "terms",
        "reason": "Two more years, as agreed at the review.", "ends_on": "2031-12-01", "title": ""})
    assert answer.status_code == 303, text_of(answer.text)
    page = text_of((await client.get(answer.headers["location"])).text)
    assert "Amendment 1 · terms draft" in page
    assert "End date: 1 December 2029 → 1 December 2031" in page  # the diff, in words
    for event in ("submit", "sign"):
        answer = await client.post(f"/agreements/{agreement_id}/amendments/1/events",
                                   data={"csrf": csrf, "version": version, "form": f"amendment-1-{event}",
                                         "event": event})
        assert answer.status_code == 303, text_of(answer.text)
    page = text_of((await client.get(f"/agreements/{agreement_id}")).text)
    assert "Awaiting: UCLG ASPAC" in page
    csrf = await sign_in(client, world.aspac_staff.token)
    answer = await client.post(f"/agreements/{agreement_id}/amendments/1/events",
                               data={"csrf": csrf, "version": version, "form": "amendment-1-sign", "event": "sign"})
    assert answer.status_code == 303, text_of(answer.text)
    page = text_of((await client.get(f"/agreements/{agreement_id}")).text)
    assert "Amendment 1 · terms merged" in page
    assert f"Reference: {agreement_id}-A1" in page
    assert "Amendment merged" in page  # the history's entry
    assert (await world.ok("metro_staff", "GET", f"/agreements/{agreement_id}"))["ends_on"] == "2031-12-01"


async def test_a_field_the_kind_does_not_change_is_refused_beside_the_form(client: httpx.AsyncClient,
                                                                           world: World) -> None:
    agreement = await world.signed()
    await sign_in(client, world.metro_staff.token)
    csrf, version = await _form_version(client, agreement["id"])
    answer = await client.post(f"/agreements/{agreement['id']}/amendments", data={
        "csrf": csrf, "version": version, "form": "amend", "kind": "administrative",
        "reason": "Typed reason.", "ends_on": "2031-12-01"})
    assert answer.status_code == 422
    assert "Typed reason." in answer.text
    assert 'value="2031-12-01"' in answer.text
    assert 'id="amend-ends_on-problem"' in answer.text
    assert "not ends_on" in text_of(answer.text)
    assert (await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}/amendments"))["total"] == 0


async def test_a_refused_merge_is_said_and_the_amendment_is_back_in_draft(client: httpx.AsyncClient,
                                                                          world: World) -> None:
    agreement = await world.signed()
    agreement_id = agreement["id"]
    await world.ok("metro_staff", "POST", f"/agreements/{agreement_id}/amendments", json={
        "kind": "terms", "reason": "Later review.", "changes": {"next_review_on": "2028-01-15"}})
    for who, event in (("metro_staff", "submit"), ("metro_staff", "sign")):
        await world.ok(who, "POST", f"/agreements/{agreement_id}/amendments/1/events", json={"event": event})
    await world.ok("admin", "PATCH", f"/agreements/{agreement_id}", json={"next_review_on": "2027-06-01"})
    csrf = await sign_in(client, world.aspac_staff.token)
    csrf, version = await _form_version(client, agreement_id)
    answer = await client.post(f"/agreements/{agreement_id}/amendments/1/events",
                               data={"csrf": csrf, "version": version, "form": "amendment-1-sign", "event": "sign"})
    assert answer.status_code == 409
    page = text_of(answer.text)
    assert "the agreement changed in next_review_on" in page
    assert "Amendment 1 · terms draft" in page
    assert "Next review: 1 June 2027 → 15 January 2028" in page


async def test_the_signed_amendment_is_uploaded_and_listed_under_its_amendment(client: httpx.AsyncClient,
                                                                               world: World) -> None:
    agreement = await world.signed()
    agreement_id = agreement["id"]
    made = await world.ok("metro_staff", "POST", f"/agreements/{agreement_id}/amendments", json={
        "kind": "terms", "reason": "Later review.", "changes": {"next_review_on": "2028-01-15"}})
    await sign_in(client, world.metro_staff.token)
    csrf, version = await _form_version(client, agreement_id)
    page = (await client.get(f"/agreements/{agreement_id}")).text
    assert "Upload the signed amendment" in text_of(page)
    assert f'name="amendment_id" value="{made["id"]}"' in page
    answer = await client.post(f"/agreements/{agreement_id}/documents", data={
        "csrf": csrf, "version": version, "form": "amendment-1-upload", "kind": DocumentKind.AMENDMENT,
        "amendment_id": str(made["id"]), "title": "Amendment 1, signed"},
        files={"file": ("amendment-1.pdf", PDF, "application/pdf")})
    assert answer.status_code == 303, text_of(answer.text)
    assert answer.headers["location"].endswith("#amendments-title")
    page = (await client.get(answer.headers["location"])).text
    section = text_of(page.split('id="amendment-1"', 1)[1].split("</div>", 1)[0])
    assert "Signed amendment: Amendment 1, signed" in section
    [document] = (await world.ok("metro_staff", "GET", f"/agreements/{agreement_id}/documents"))["items"]
    assert document["amendment_id"] == made["id"]
    assert f'href="/documents/{document["id"]}/content"' in page.split('id="amendment-1"', 1)[1]
    download = await client.get(f"/documents/{document['id']}/content")
    assert download.content == PDF

    # A partner reaches the page but is offered no upload of the amendment.
    await sign_in(client, world.metro_partner.token)
    page = (await client.get(f"/agreements/{agreement_id}")).text
    assert "Signed amendment: Amendment 1, signed" in text_of(page)
    assert "Upload the signed amendment" not in text_of(page)


async def _merge_through_the_page(client: httpx.AsyncClient, world: World, agreement_id: int, number: int) -> str:
    """Submit and sign amendment `number` as Metropolis, then sign it as UCLG ASPAC, with the page's
    buttons; the page as it is then."""
    for token, events in ((world.metro_staff.token, ("submit", "sign")), (world.aspac_staff.token, ("sign",))):
        await sign_in(client, token)
        for event in events:
            csrf, version = await _form_version(client, agreement_id)
            answer = await client.post(f"/agreements/{agreement_id}/amendments/{number}/events", data={
                "csrf": csrf, "version": version, "form": f"amendment-{number}-{event}", "event": event})
            assert answer.status_code == 303, text_of(answer.text)
    return text_of((await client.get(f"/agreements/{agreement_id}")).text)


async def test_a_scope_amendment_from_its_form_to_merged(client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.signed()
    agreement_id = agreement["id"]
    [area] = (await world.ok("metro_staff", "GET", f"/agreements/{agreement_id}"))["areas"]
    await sign_in(client, world.metro_staff.token)
    csrf, version = await _form_version(client, agreement_id)
    fields = {"csrf": csrf, "version": version, "form": "amend-scope", "kind": "scope",
              "reason": "A new area and a first deliverable, agreed at the review.",
              "add_area_title": "Urban resilience", "rename_area_id": str(area["id"]), "rename_area_title": "",
              "deliverable_area_id": str(area["id"]), "deliverable_title": "Gender toolkit",
              "owner_id": str(world.metro_staff.id), "due_on": "2027-06-30"}
    # A rename without its new title is refused beside that field, with what was typed kept.
    refused = await client.post(f"/agreements/{agreement_id}/amendments", data=fields)
    assert refused.status_code == 422
    assert 'id="amend-scope-rename_area_title-problem"' in refused.text
    assert 'value="Urban resilience"' in refused.text
    assert 'value="Gender toolkit"' in refused.text
    fields["rename_area_title"] = "Capacity building"
    answer = await client.post(f"/agreements/{agreement_id}/amendments", data=fields)
    assert answer.status_code == 303, text_of(answer.text)
    page = text_of((await client.get(answer.headers["location"])).text)
    assert "Amendment 1 · scope draft" in page

    area_title = "Capacity building and gender mainstreaming"
    assert "Area “Urban resilience” added" in page
    assert f"Area “{area_title}”: title “{area_title}” → “Capacity building”" in page
    assert (f"Deliverable “Gender toolkit” added (area “{area_title}”, owner {world.metro_staff.name}, "
            "due 30 June 2027)") in page

    page = await _merge_through_the_page(client, world, agreement_id, 1)
    assert "Amendment 1 · scope merged" in page
    assert "Area “Urban resilience” added" in page
    after = await world.ok("metro_staff", "GET", f"/agreements/{agreement_id}")
    assert [a["title"] for a in after["areas"]] == ["Capacity building", "Urban resilience"]
    [deliverable] = after["areas"][0]["deliverables"]
    assert (deliverable["title"], deliverable["owner_id"], deliverable["due_on"]) == (
        "Gender toolkit", world.metro_staff.id, "2027-06-30")


async def test_a_parties_amendment_from_its_form_to_merged(client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.signed()
    agreement_id = agreement["id"]
    await sign_in(client, world.metro_staff.token)
    csrf, version = await _form_version(client, agreement_id)
    page = (await client.get(f"/agreements/{agreement_id}")).text
    assert f'<option value="{world.orgs["amf"]}">' in page.split('id="amend-parties-join_organisation_id"', 1)[1]
    answer = await client.post(f"/agreements/{agreement_id}/amendments", data={
        "csrf": csrf, "version": version, "form": "amend-parties", "kind": "parties",
        "reason": "AMF supports the programme.", "join_organisation_id": str(world.orgs["amf"]),
        "join_role": "supporter", "leave_organisation_id": ""})
    assert answer.status_code == 303, text_of(answer.text)
    page = await _merge_through_the_page(client, world, agreement_id, 1)
    assert "Amendment 1 · parties merged" in page
    assert "Asian Mayors Forum joins as supporter" in page
    client.cookies.set("accord_language", "fr")
    page = text_of((await client.get(f"/agreements/{agreement_id}")).text)
    assert "Asian Mayors Forum adhère en tant que partenaire d’appui" in page
    after = await world.ok("metro_staff", "GET", f"/agreements/{agreement_id}")
    assert {(p["organisation"]["id"], p["role"]) for p in after["parties"]} == {
        (world.orgs["metropolis"], "party"), (world.orgs["aspac"], "party"), (world.orgs["amf"], "supporter")}


async def test_a_parties_amendment_that_changes_nothing_is_refused_on_its_form(client: httpx.AsyncClient,
                                                                                world: World) -> None:
    agreement = await world.signed()
    await sign_in(client, world.metro_staff.token)
    csrf, version = await _form_version(client, agreement["id"])
    answer = await client.post(f"/agreements/{agreement['id']}/amendments", data={
        "csrf": csrf, "version": version, "form": "amend-parties", "kind": "parties", "reason": "Typed reason."})
    assert answer.status_code == 422
    assert 'id="amend-parties-changes-problem"' in answer.text
    assert "Typed reason." in answer.text
