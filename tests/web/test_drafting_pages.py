"""Drafting and correcting an agreement on the pages: every form goes through the same actions as
the API (engine.agreements.actions, by engine.agreements.service.apply), with the page's CSRF value
and the agreement's version as If-Match; what stops a form is said beside it."""

from __future__ import annotations

import re
from typing import Any

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


async def test_staff_name_their_own_people_and_not_another_party_s(client: httpx.AsyncClient,
                                                                   world: World) -> None:
    csrf, agreement_id = await _created_on_the_page(client, world)
    path = f"/agreements/{agreement_id}"
    page = (await client.get(path)).text
    assert "Name a focal point or signatory for Metropolis" in page
    assert "Name a focal point or signatory for UCLG ASPAC" not in page
    # What stops the other party's form is said beside it.
    assert "Only UCLG ASPAC names and withdraws its own focal points and signatories" in text_of(page)
    for person, kind in ((world.metro_staff, "focal_point"), (world.metro_signatory, "signatory")):
        answer = await client.post(f"{path}/contacts", data={
            "csrf": csrf, "version": await _version(world, agreement_id), "form": "x",
            "organisation_id": str(world.orgs["metropolis"]), "person_id": str(person.id), "kind": kind})
        assert answer.status_code == 303, text_of(answer.text)
    agreement = await world.ok("metro_staff", "GET", path)
    metropolis = next(p for p in agreement["parties"] if p["organisation"]["name"] == "Metropolis")
    assert [c["person"]["name"] for c in metropolis["focal_points"]] == ["Agnès Bickart"]
    assert [c["person"]["name"] for c in metropolis["signatories"]] == ["Secretary General, Metropolis"]
    words = text_of((await client.get(path)).text)
    assert "Withdraw Secretary General, Metropolis as signatory" in words

    # A crafted form naming UCLG ASPAC's focal point is refused with the reason; nothing changes.
    refused = await client.post(f"{path}/contacts", data={
        "csrf": csrf, "version": str(agreement["version"]), "organisation_id": str(world.orgs["aspac"]),
        "person_id": str(world.aspac_staff.id), "kind": "focal_point"})
    assert refused.status_code == 403
    assert "Only UCLG ASPAC names and withdraws its own focal points" in text_of(refused.text)
    assert (await world.ok("metro_staff", "GET", path))["version"] == agreement["version"]

    # Withdrawing one's own signatory.
    signatory = metropolis["signatories"][0]["id"]
    withdrawn = await client.post(f"{path}/contacts/{signatory}/withdraw",
                                  data={"csrf": csrf, "version": str(agreement["version"])})
    assert withdrawn.status_code == 303, text_of(withdrawn.text)
    after = await world.ok("metro_staff", "GET", path)
    assert next(p for p in after["parties"] if p["organisation"]["name"] == "Metropolis")["signatories"] == []


async def _with_focal_point(client: httpx.AsyncClient, world: World) -> tuple[str, int, dict[str, Any]]:
    csrf, agreement_id = await _created_on_the_page(client, world)
    await world.ok("metro_staff", "POST", f"/agreements/{agreement_id}/focal-points",
                   json={"person_id": world.metro_staff.id, "kind": "focal_point"})
    return csrf, agreement_id, await world.ok("metro_staff", "GET", f"/agreements/{agreement_id}")


async def test_staff_add_an_area_and_a_deliverable_and_correct_its_due_date(client: httpx.AsyncClient,
                                                                            world: World) -> None:
    csrf, agreement_id, agreement = await _with_focal_point(client, world)
    path = f"/agreements/{agreement_id}"
    area = await client.post(f"{path}/areas", data={"csrf": csrf, "version": str(agreement["version"]),
                                                     "title": "Climate finance", "description": ""})
    assert area.status_code == 303, text_of(area.text)
    first_area = agreement["areas"][0]["id"]
    added = await client.post(f"{path}/areas/{first_area}/deliverables", data={
        "csrf": csrf, "version": await _version(world, agreement_id), "form": f"add-deliverable-{first_area}",
        "title": "Joint resilience toolkit", "owner_id": str(world.metro_staff.id), "due_on": "2027-03-01",
        "description": "A toolkit for member cities."})
    assert added.status_code == 303, text_of(added.text)
    after = await world.ok("metro_staff", "GET", path)
    assert [a["title"] for a in after["areas"]][-1] == "Climate finance"
    deliverable = after["areas"][0]["deliverables"][0]
    assert (deliverable["title"], deliverable["owner_id"], deliverable["due_on"]) == (
        "Joint resilience toolkit", world.metro_staff.id, "2027-03-01")

    # A bad date keeps what was typed in the deliverable's form and says what is wrong beside it.
    form = f"edit-deliverable-{deliverable['id']}"
    bad = await client.post(f"/deliverables/{deliverable['id']}/details", data={
        "csrf": csrf, "version": str(after["version"]), "form": form, "title": "Joint resilience toolkit",
        "owner_id": str(world.metro_staff.id), "due_on": "2027-02-31", "description": "Typed again."})
    assert bad.status_code == 422
    assert 'value="2027-02-31"' in bad.text
    assert "Typed again." in bad.text
    assert re.search(rf'name="due_on"[^>]*>\s*<p class="field-problem" id="{form}-due_on-problem">[^<]*'
                     r"2027-02-31 is not a day of the calendar", bad.text)

    corrected = await client.post(f"/deliverables/{deliverable['id']}/details", data={
        "csrf": csrf, "version": str(after["version"]), "form": form, "title": "Joint resilience toolkit",
        "owner_id": str(world.metro_staff.id), "due_on": "2027-06-30", "description": "A toolkit for member cities."})
    assert corrected.status_code == 303, text_of(corrected.text)
    assert (await world.ok("metro_staff", "GET", path))["areas"][0]["deliverables"][0]["due_on"] == "2027-06-30"
    words = text_of((await client.get(path)).text)
    history = words[words.index("History"):]
    assert "Deliverable “Joint resilience toolkit”: due 1 Mar 2027 → 30 Jun 2027" in history, history


async def test_a_stale_page_is_refused_and_nothing_changes(client: httpx.AsyncClient, world: World) -> None:
    csrf, agreement_id, agreement = await _with_focal_point(client, world)
    path = f"/agreements/{agreement_id}"
    stale = await client.post(f"{path}/areas", data={"csrf": csrf, "version": str(agreement["version"] - 1),
                                                      "title": "Climate finance"})
    assert stale.status_code == 409
    assert "Someone changed this agreement after you opened the page" in text_of(stale.text)
    assert (await world.ok("metro_staff", "GET", path))["version"] == agreement["version"]


async def test_a_partner_gets_no_drafting_forms_and_a_crafted_post_is_refused(client: httpx.AsyncClient,
                                                                              world: World) -> None:
    agreement = await world.ready()
    path = f"/agreements/{agreement['id']}"
    area = agreement["areas"][0]["id"]
    csrf = await sign_in(client, world.metro_partner.token)
    page = (await client.get(path)).text
    for form in ("/contacts", "/areas", "/deliverables", "Add an area", "Name a focal point"):
        assert form not in page, form
    version = str((await world.ok("metro_staff", "GET", path))["version"])
    for target, data in ((f"{path}/areas", {"title": "Crafted"}),
                         (f"{path}/contacts", {"person_id": str(world.metro_partner.id)}),
                         (f"{path}/areas/{area}/deliverables", {"title": "Crafted"})):
        answer = await client.post(target, data={"csrf": csrf, "version": version, **data})
        assert answer.status_code == 403, (target, answer.status_code)
        assert "You can read this agreement but not change it" in text_of(answer.text)
    assert str((await world.ok("metro_staff", "GET", path))["version"]) == version


async def test_staff_edit_the_terms_and_correct_parties_and_areas_while_a_draft(client: httpx.AsyncClient,
                                                                               world: World) -> None:
    csrf, agreement_id = await _created_on_the_page(client, world)
    path = f"/agreements/{agreement_id}"
    agreement = await world.ok("metro_staff", "GET", path)
    edited = await client.post(f"{path}/terms", data={
        "csrf": csrf, "version": str(agreement["version"]), "title": "Cooperation on urban resilience 2027",
        "summary": "", "effective_from": "2027-01-01", "ends_on": "2030-01-01", "review_every_months": "6"})
    assert edited.status_code == 303, text_of(edited.text)
    added = await client.post(f"{path}/parties", data={
        "csrf": csrf, "version": await _version(world, agreement_id), "organisation_id": str(world.orgs["amf"]),
        "role": "supporter"})
    assert added.status_code == 303, text_of(added.text)
    aspac = next(p for p in agreement["parties"] if p["organisation"]["name"] == "UCLG ASPAC")
    role = await client.post(f"{path}/parties/{aspac['id']}/role", data={
        "csrf": csrf, "version": await _version(world, agreement_id), "role": "supporter"})
    assert role.status_code == 303, text_of(role.text)
    first, second = (a["id"] for a in agreement["areas"])
    renamed = await client.post(f"{path}/areas/{first}", data={
        "csrf": csrf, "version": await _version(world, agreement_id), "title": "Resilient cities",
        "description": ""})
    assert renamed.status_code == 303, text_of(renamed.text)
    removed = await client.post(f"{path}/areas/{second}/remove", data={
        "csrf": csrf, "version": await _version(world, agreement_id)})
    assert removed.status_code == 303, text_of(removed.text)

    after = await world.ok("metro_staff", "GET", path)
    assert (after["title"], after["summary"], after["ends_on"], after["review_every_months"]) == (
        "Cooperation on urban resilience 2027", None, "2030-01-01", 6)
    assert {p["organisation"]["name"]: p["role"] for p in after["parties"]} == {
        "Metropolis": "party", "UCLG ASPAC": "supporter", "Asian Mayors Forum": "supporter"}
    assert [a["title"] for a in after["areas"]] == ["Resilient cities"]


async def test_once_signed_the_terms_form_gives_way_to_the_reason(client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.signed()
    path = f"/agreements/{agreement['id']}"
    csrf = await sign_in(client, world.metro_staff.token)
    page = await client.get(path)
    assert "Edit the terms" not in page.text
    assert "can be edited only while it is draft" in text_of(page.text)
    refused = await client.post(f"{path}/terms", data={"csrf": csrf, "version": str(agreement["version"]),
                                                       "title": "Changed after signing"})
    assert refused.status_code == 409
    assert "can be edited only while it is draft" in text_of(refused.text)
    assert (await world.ok("metro_staff", "GET", path))["title"] == agreement["title"]


async def test_staff_remove_a_deliverable(client: httpx.AsyncClient, world: World) -> None:
    csrf, agreement_id, agreement = await _with_focal_point(client, world)
    path = f"/agreements/{agreement_id}"
    area = agreement["areas"][0]["id"]
    deliverable = await world.ok("metro_staff", "POST", f"{path}/areas/{area}/deliverables",
                                 json={"title": "City profile"})
    removed = await client.post(f"/deliverables/{deliverable['id']}/remove", data={
        "csrf": csrf, "version": await _version(world, agreement_id)})
    assert removed.status_code == 303, text_of(removed.text)
    assert (await world.ok("metro_staff", "GET", path))["areas"][0]["deliverables"] == []
    assert "Deliverable “City profile” removed" in text_of((await client.get(path)).text)


async def test_an_administrator_names_people_for_any_party(client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.draft()
    path = f"/agreements/{agreement['id']}"
    csrf = await sign_in(client, world.admin.token)
    page = (await client.get(path)).text
    assert "Name a focal point or signatory for Metropolis" in page
    assert "Name a focal point or signatory for UCLG ASPAC" in page
    answer = await client.post(f"{path}/contacts", data={
        "csrf": csrf, "version": str(agreement["version"]), "person_id": str(world.aspac_staff.id),
        "kind": "focal_point"})
    assert answer.status_code == 303, text_of(answer.text)
    words = text_of((await client.get(path)).text)
    assert "Focal point for UCLG ASPAC named: UCLG ASPAC focal point" in words
    assert "on behalf of UCLG ASPAC" in words
