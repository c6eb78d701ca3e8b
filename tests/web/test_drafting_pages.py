"""Drafting and correcting an agreement on the pages: every form goes through the same actions as
the API (engine.agreements.actions, by engine.agreements.service.apply), with the page's CSRF value
and the agreement's version as If-Match; what stops a form is said beside it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx

from engine.clock import FixedClock
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
    assert "Deliverable “Joint resilience toolkit”: due 1 March 2027 → 30 June 2027" in history, history


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


def _move_buttons(page: str, area_id: int) -> dict[str, str]:
    """The "Move up" / "Move down" buttons of an area's form on the page: label -> position posted."""
    form = re.search(rf'<form method="post" action="/agreements/\d+/areas/{area_id}" class="move">(.*?)</form>',
                     page, flags=re.S)
    assert form, f"no move form for area {area_id}"
    return {label: value for value, label in
            re.findall(r'name="position" value="(\d+)">(Move (?:up|down))', form.group(1))}


async def test_staff_move_an_area_among_the_others(client: httpx.AsyncClient, world: World) -> None:
    csrf, agreement_id = await _created_on_the_page(client, world)
    path = f"/agreements/{agreement_id}"
    await world.ok("metro_staff", "POST", f"{path}/areas", json={"title": "Climate finance"})
    agreement = await world.ok("metro_staff", "GET", path)
    first, second, third = (a["id"] for a in agreement["areas"])
    page = (await client.get(path)).text
    assert _move_buttons(page, first) == {"Move down": "1"}
    assert _move_buttons(page, second) == {"Move up": "0", "Move down": "2"}
    assert _move_buttons(page, third) == {"Move up": "1"}

    # "Move up" on the last area, as the page posts it: EditArea with its position, as PATCH /areas/{id}.
    moved = await client.post(f"{path}/areas/{third}", data={
        "csrf": csrf, "version": str(agreement["version"]), "form": f"move-area-{third}",
        "position": _move_buttons(page, third)["Move up"]})
    assert moved.status_code == 303, text_of(moved.text)
    assert moved.headers["location"].endswith(f"#area-{third}")
    after = await world.ok("metro_staff", "GET", path)
    assert [a["title"] for a in after["areas"]] == ["Urban resilience", "Climate finance", "Gender mainstreaming"]
    words = text_of((await client.get(moved.headers["location"])).text)
    assert "Area of collaboration moved." in words
    areas = words[words.index("Areas of collaboration and deliverables"):words.index("History")]
    assert areas.index("Urban resilience") < areas.index("Climate finance") < areas.index("Gender mainstreaming")

    # The page it was read from is stale now: the same button changes nothing.
    again = await client.post(f"{path}/areas/{third}", data={
        "csrf": csrf, "version": str(agreement["version"]), "form": f"move-area-{third}", "position": "0"})
    assert again.status_code == 409
    assert "Someone changed this agreement after you opened the page" in text_of(again.text)
    assert (await world.ok("metro_staff", "GET", path))["version"] == after["version"]


async def test_a_signed_agreement_says_its_dates_and_next_review_in_words(client: httpx.AsyncClient, world: World,
                                                                         clock: FixedClock) -> None:
    agreement = await world.signed(ends_on="2029-11-30")  # effective 2026-12-01, reviewed every 12 months
    path = f"/agreements/{agreement['id']}"
    await sign_in(client, world.metro_staff.token)
    words = text_of((await client.get(path)).text)
    facts = words[words.index("Effective from"):words.index("What you can do")]
    assert "Effective from 1 December 2026" in facts
    assert "Ends on 30 November 2029" in facts
    assert "Next review 1 December 2027, once the term starts on 1 December 2026 (every 12 months)" in facts
    assert "Signed 23 November 2026, Montevideo" in facts
    # Every day the page says is in words, as the history says them (ISO stays in form values).
    assert not re.search(r"\d{4}-\d\d-\d\d", words), re.findall(r".{40}\d{4}-\d\d-\d\d.{20}", words)

    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    assert (await world.fire("metro_staff", agreement["id"], "activate")).status_code == 200
    await sign_in(client, world.metro_staff.token)  # a week on, the session has expired
    words = text_of((await client.get(path)).text)
    assert "Next review 1 December 2027 (every 12 months)" in words


# A refusal or unmet condition as a page shows it: no API path or method, no JSON field or state
# name (snake_case), no ISO day.
_NOT_FOR_A_PAGE = re.compile(r"/api/|\b(?:GET|POST|PATCH|DELETE|PUT)\b|\b[a-z]+_[a-z_]+\b|\d{4}-\d\d-\d\d")
_SAID = re.compile(r'<section class="problem".*?</section>|<p class="(?:why-not|field-problem)"[^>]*>.*?</p>'
                   r'|<div class="unmet">.*?</div>', flags=re.S)


def _sentences(page: str) -> list[str]:
    """What the page says stops something: its problem, the conditions not met, the why-nots."""
    return [text_of(found) for found in _SAID.findall(page)]


def _said_for_a_page(page: str, *expected: str) -> None:
    sentences = _sentences(page)
    for sentence in sentences:
        assert not _NOT_FOR_A_PAGE.search(sentence), sentence
    for words in expected:
        assert any(words in sentence for sentence in sentences), (words, sentences)


async def test_refusals_on_pages_are_said_in_words_beside_what_they_stop(client: httpx.AsyncClient,
                                                                        world: World) -> None:
    csrf = await sign_in(client, world.metro_staff.token)
    # A draft: a party that named a signatory is not offered "Make it a supporter"; submitting
    # lists what is missing.
    draft = await world.ready(effective_from=None)
    path = f"/agreements/{draft['id']}"
    page = (await client.get(path)).text
    _said_for_a_page(page, "Metropolis has named a signatory (Secretary General, Metropolis); a supporter signs "
                     "nothing, so withdraw its signatory first", "Set the effective date")
    assert "Make it a supporter" not in page
    metropolis = next(p for p in draft["parties"] if p["organisation"]["name"] == "Metropolis")
    version = await _version(world, draft["id"])
    refused = await client.post(f"{path}/parties/{metropolis['id']}/role", data={
        "csrf": csrf, "version": version, "role": "supporter"})
    assert refused.status_code == 409
    _said_for_a_page(refused.text, "withdraw its signatory first, then make it a supporter")
    refused = await client.post(f"{path}/events", data={"csrf": csrf, "version": version,
                                                        "event": "submit_for_signature"})
    assert refused.status_code == 422
    _said_for_a_page(refused.text, "Set the effective date, the day the agreement takes effect.")

    # Submitted: a signature on a day to come.
    await world.ok("metro_staff", "PATCH", path, json={"effective_from": "2026-12-01"})
    assert (await world.fire("metro_staff", draft["id"], "submit_for_signature")).status_code == 200
    refused = await client.post(f"{path}/events", data={"csrf": csrf, "version": await _version(world, draft["id"]),
                                                        "event": "sign", "signed_on": "2026-12-30"})
    assert refused.status_code == 422
    _said_for_a_page(refused.text, "The day of signing, 30 Dec 2026, is in the future")

    # Signed, with a deliverable done: what stays on the record is said in place of its button.
    signed = await world.signed()
    path = f"/agreements/{signed['id']}"
    area = signed["areas"][0]
    done = await world.ok("metro_staff", "POST", f"/agreements/{signed['id']}/areas/{area['id']}/deliverables",
                          json={"title": "City profile", "owner_id": world.metro_staff.id})
    await world.ok("metro_staff", "PATCH", f"/deliverables/{done['id']}", json={"status": "done"})
    read = await world.ok("metro_staff", "GET", path)
    signatory = next(p for p in read["parties"] if p["organisation"]["name"] == "Metropolis")["signatories"][0]
    page = (await client.get(path)).text
    row = page[page.index(f'id="deliverable-{done["id"]}"'):]
    row = row[:row.index("</li>")]
    _said_for_a_page(row, "'City profile' was done on 23 Nov 2026: delivered work stays on the agreement's "
                     "record, so it cannot be removed")
    assert f'action="/deliverables/{done["id"]}/remove"' not in page
    assert f'action="/agreements/{signed["id"]}/areas/{area["id"]}/remove"' not in page
    assert f'/contacts/{signatory["id"]}/withdraw"' not in page
    _said_for_a_page(page, "The agreement is signed: its terms (dates, parties, summary, title) can be edited only "
                     "while it is draft. To change them now, propose an amendment, which every party signs",
                     "cannot be removed: this deliverable has progress recorded",
                     "Secretary General, Metropolis signed for Metropolis on 23 Nov 2026, so they stay named")

    version = str(read["version"])
    for target, data, status, said in (
        (f"/deliverables/{done['id']}/remove", {}, 409, "delivered work stays on the agreement's record"),
        (f"{path}/areas/{area['id']}/remove", {}, 409, "'City profile' (status done)"),
        (f"{path}/contacts/{signatory['id']}/withdraw", {}, 409, "a recorded signature keeps its signatory"),
        (f"{path}/terms", {"title": "Changed after signing"}, 409, "propose an amendment"),
        (f"{path}/events", {"event": "cancel"}, 409,
         "Cancel is not possible while the agreement is signed. Possible now: Activate, Terminate."),
    ):
        answer = await client.post(target, data={"csrf": csrf, "version": version, **data})
        assert answer.status_code == status, (target, answer.status_code)
        _said_for_a_page(answer.text, said)
    assert str((await world.ok("metro_staff", "GET", path))["version"]) == version


async def test_a_form_with_nothing_to_choose_says_why(client: httpx.AsyncClient, world: World) -> None:
    """Every organisation already a party: no "Add a party" form but the reason; a party with
    nobody active to name: the reason beside its (empty) choice of person."""
    city = await world.ok("admin", "POST", "/organisations", json={"name": "City of Surabaya"})
    organisations = [*(world.orgs[key] for key in ("secretariat", "metropolis", "aspac", "amf")), city["id"]]
    agreement = await world.draft(parties=[{"organisation_id": o} for o in organisations])
    await sign_in(client, world.admin.token)
    page = (await client.get(f"/agreements/{agreement['id']}")).text
    assert "Add a party or supporter" not in page
    _said_for_a_page(page, "Every organisation in Accord is already part of this agreement",
                     "City of Surabaya has nobody active to name yet")
    assert "Metropolis has nobody active" not in page
