"""The secretariat's daily work in headless Chromium, from an empty database: Metropolis staff build
the Metropolis – UCLG ASPAC collaboration agreement (engine/demo/seed.py's data) with pages alone —
create it, add UCLG ASPAC, name Metropolis' people while UCLG ASPAC's staff name theirs in their own
browser, add the four areas and nine deliverables, submit it for signature — then correct a
deliverable and read the correction in the history, see that a partner gets no drafting forms, and
disable the partner on their page so that their token is refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.clock import FixedClock
from engine.db import Database
from engine.demo.seed import (
    AGNES,
    ASPAC,
    ASPAC_FOCAL,
    ASPAC_OFFICER,
    ASPAC_SG,
    COLLABORATION_AREAS,
    COLLABORATION_DELIVERABLES,
    COLLABORATION_SUMMARY,
    COLLABORATION_TITLE,
    LOADER,
    METROPOLIS,
    METROPOLIS_OFFICER,
    METROPOLIS_SG,
    ORGANISATIONS,
    PEOPLE,
)
from engine.directory.service import create_organisation, create_person, issue_token
from engine.schemas import PersonCreate
from tests.web.chromium import chromium, shot, sign_in
from tests.web.conftest import LiveServer

pytestmark = pytest.mark.slow

NAMES = {spec.email: spec.name for spec in PEOPLE}


@dataclass(frozen=True)
class Directory:
    """The seed's organisations and people, made through the directory; tokens for those who act."""

    ids: dict[str, int]  # email -> person id
    tokens: dict[str, str]  # email -> access token


async def _directory(database: Database, clock: FixedClock) -> Directory:
    now = clock.now()
    organisations: dict[str, int] = {}
    ids: dict[str, int] = {}
    tokens: dict[str, str] = {}
    async with database.transaction() as session:
        for spec in ORGANISATIONS:
            organisation = await create_organisation(session, spec, LOADER, now)
            assert organisation.id is not None
            organisations[spec.name] = organisation.id
        for person in PEOPLE:
            made = await create_person(session, PersonCreate(
                name=person.name, email=person.email, organisation_id=organisations[person.organisation],
                role=person.role, job_title=person.job_title, timezone=person.timezone), LOADER, now)
            assert made.id is not None
            ids[person.email] = made.id
        for email in (AGNES, ASPAC_FOCAL, METROPOLIS_OFFICER):
            tokens[email] = (await issue_token(session, ids[email], LOADER, now)).token
    return Directory(ids=ids, tokens=tokens)


@pytest.fixture
async def browsers(tmp_path: Path) -> AsyncIterator[tuple[Any, Any, Any]]:
    """Three people's browsers: Metropolis staff, UCLG ASPAC staff, a Metropolis partner."""
    async with (chromium(tmp_path / "metropolis") as metropolis, chromium(tmp_path / "aspac") as aspac,
                chromium(tmp_path / "partner") as partner):
        yield metropolis, aspac, partner


async def _open(page: Any, summary: str) -> Any:
    """Open the <details> whose summary starts with `summary`; its form."""
    details = page.locator("details").filter(has=page.locator("summary", has_text=summary))
    await details.locator("summary").click()
    return details


async def _notice(page: Any, words: str) -> None:
    await page.get_by_role("status").filter(has_text=words).wait_for()


async def _name(page: Any, party: str, email: str, kind: str, capacity: str) -> None:
    form = await _open(page, f"Name a focal point or signatory for {party}")
    await form.get_by_label("Person").select_option(label=NAMES[email])
    await form.get_by_label("As", exact=True).select_option(label=kind)
    await form.get_by_label("Capacity").fill(capacity)
    await form.get_by_role("button", name="Name").click()
    await _notice(page, "Named.")


def _card(page: Any, organisation: str) -> Any:
    return page.locator("li.card").filter(has=page.get_by_role("heading", name=organisation, exact=True))


async def test_metropolis_staff_build_the_collaboration_agreement_on_pages_from_an_empty_database(
        browsers: tuple[Any, Any, Any], live_server: LiveServer, database: Database, clock: FixedClock) -> None:
    directory = await _directory(database, clock)
    metropolis, aspac, partner = browsers
    page = await metropolis.new_page()
    await sign_in(page, live_server, directory.tokens[AGNES])
    await page.get_by_text("0 agreements.").wait_for()

    # Create: Metropolis alone at first (its staff's own organisation comes chosen), three areas.
    await page.get_by_role("link", name="New agreement").click()
    await page.get_by_role("heading", name="New agreement").wait_for()
    assert await page.get_by_label("Metropolis (your organisation)").input_value() == "party"
    await page.get_by_label("Title").fill(COLLABORATION_TITLE)
    await page.get_by_label("Summary").fill(COLLABORATION_SUMMARY)
    await page.get_by_label("Effective from").fill("2027-01-01")
    await page.get_by_label("Review every (months)").fill("12")
    await page.get_by_label("First areas of collaboration").fill("\n".join(COLLABORATION_AREAS[:3]))
    await page.get_by_role("button", name="Create the draft").click()
    await _notice(page, "The draft is created.")
    await page.get_by_role("heading", name=COLLABORATION_TITLE).wait_for()
    assert (await page.locator(".page-head .badge").inner_text()).strip() == "Draft"
    path = page.url.split("?")[0]
    agreement_id = int(path.rsplit("/", 1)[1])

    # UCLG ASPAC joins as a signing party; the fourth area is added on the page.
    form = await _open(page, "Add a party or supporter")
    await form.get_by_label("Organisation").select_option(label=ASPAC)
    await form.get_by_label("As", exact=True).select_option(label="Party (signs)")
    await form.get_by_role("button", name="Add").click()
    await _notice(page, "Parties changed.")
    await _card(page, ASPAC).wait_for()
    form = await _open(page, "Add an area of collaboration")
    await form.get_by_label("Title").fill(COLLABORATION_AREAS[3])
    await form.get_by_role("button", name="Add area").click()
    await _notice(page, "Area of collaboration added.")
    areas = page.locator(".area h3")
    assert [(await h.inner_text()).split(" (")[0] for h in await areas.all()] == COLLABORATION_AREAS

    # Metropolis names its own people, and only those: UCLG ASPAC's card says who names theirs.
    await _name(page, METROPOLIS, AGNES, "focal point", "Senior Manager for Institutional Relations & Asia")
    await _name(page, METROPOLIS, METROPOLIS_SG, "signatory", "Secretary General, Metropolis")
    assert "Only UCLG ASPAC names and withdraws its own focal points and signatories" in await _card(
        page, ASPAC).inner_text()
    assert await page.locator("summary", has_text="Name a focal point or signatory for UCLG ASPAC").count() == 0

    # UCLG ASPAC's staff, in their own browser, name UCLG ASPAC's.
    other = await aspac.new_page()
    await sign_in(other, live_server, directory.tokens[ASPAC_FOCAL], then=f"/agreements/{agreement_id}")
    for email, kind in ((ASPAC_FOCAL, "focal point"), (ASPAC_OFFICER, "focal point"), (ASPAC_SG, "signatory")):
        await _name(other, ASPAC, email, kind, NAMES[email])
    assert await other.locator("summary", has_text="Name a focal point or signatory for Metropolis").count() == 0

    await page.reload()
    metropolis_card, aspac_card = await _card(page, METROPOLIS).inner_text(), await _card(page, ASPAC).inner_text()
    assert f"{NAMES[AGNES]}, Senior Manager for Institutional Relations & Asia" in metropolis_card
    assert NAMES[METROPOLIS_SG] in metropolis_card
    for email in (ASPAC_FOCAL, ASPAC_OFFICER, ASPAC_SG):
        assert NAMES[email] in aspac_card

    # The nine deliverables, each under its area, owned by the focal point the seed names.
    for spec in COLLABORATION_DELIVERABLES:
        form = await _open(page, f"Add a deliverable to “{COLLABORATION_AREAS[spec.area][:40]}")
        await form.get_by_label("Title").fill(spec.title)
        await form.get_by_label("Owner").select_option(label=NAMES[spec.owner])
        await form.get_by_label("Due on").fill(spec.due_on.isoformat())
        await form.get_by_role("button", name="Add deliverable").click()
        await _notice(page, "Deliverable added.")
    await page.get_by_text("0 of 9").first.wait_for()
    for index, area in enumerate(await page.locator(".area").all()):
        expected = [d.title for d in COLLABORATION_DELIVERABLES if d.area == index]
        assert [await t.inner_text() for t in await area.locator(".deliverable-item strong").all()] == expected
        assert f"(0 of {len(expected)} done)" in await area.locator("h3").inner_text()

    # A partner of Metropolis reads the draft and gets none of its forms.
    reader = await partner.new_page()
    await sign_in(reader, live_server, directory.tokens[METROPOLIS_OFFICER], then=f"/agreements/{agreement_id}")
    await reader.get_by_role("heading", name=COLLABORATION_TITLE).wait_for()
    await reader.get_by_text("You can read this agreement; its parties' staff move it on.").wait_for()
    for offered in ("Edit the terms", "Name a focal point", "Add a party", "Add an area", "Add a deliverable",
                    "Correct “", "Rename or describe"):
        assert await reader.locator("summary", has_text=offered).count() == 0, offered
    assert await reader.get_by_role("button").filter(has_text="Submit for signature").count() == 0
    await shot(reader, "walk-draft-as-partner-1280")

    # Submitted for signature.
    await page.get_by_role("button", name="Submit for signature").click()
    await _notice(page, "Done: Submit for signature.")
    assert (await page.locator(".page-head .badge").inner_text()).strip() == "Pending signature"
    await shot(page, "walk-pending-signature-1280")

    # A deliverable corrected (due date and description); the history says old → new.
    brief = COLLABORATION_DELIVERABLES[2]
    form = await _open(page, f"Correct “{brief.title}”")
    await form.get_by_label("Due on").fill("2027-06-30")
    await form.get_by_label("Description").fill("Two pages for the joint members' mayors.")
    await form.get_by_role("button", name="Save corrections").click()
    await _notice(page, "Deliverable corrected.")
    item = page.locator(".deliverable-item").filter(has_text=brief.title)
    assert "due 30 Jun 2027" in await item.inner_text()
    newest = page.locator("ol.history > li").first
    changes = await newest.locator(".changes").inner_text()
    assert changes == (f"Deliverable “{brief.title}”: description not set → “Two pages for the joint members' "
                       "mayors.”; due 31 Mar 2027 → 30 Jun 2027"), changes
    await shot(page, "walk-corrected-1280")

    # Metropolis staff disable their partner on the partner's page: the partner's token is refused.
    officer = directory.ids[METROPOLIS_OFFICER]
    await page.goto(f"{live_server.base_url}/people/{officer}")
    await page.get_by_role("button", name=f"Disable {NAMES[METROPOLIS_OFFICER]}").click()
    await page.get_by_text(f"{NAMES[METROPOLIS_OFFICER]} is disabled.").wait_for()
    async with httpx.AsyncClient(base_url=live_server.base_url) as api:
        refused = await api.get(f"/api/v1/agreements/{agreement_id}",
                                headers={"Authorization": f"Bearer {directory.tokens[METROPOLIS_OFFICER]}"})
        assert refused.status_code == 401
        kept = await api.get(f"/api/v1/agreements/{agreement_id}",
                             headers={"Authorization": f"Bearer {directory.tokens[AGNES]}"})
    await reader.reload()
    await reader.wait_for_url("**/sign-in**")

    # What the pages built is the agreement the seed describes.
    built = kept.json()
    assert built["state"] == "pending_signature"
    assert [a["title"] for a in built["areas"]] == COLLABORATION_AREAS
    assert sum(len(a["deliverables"]) for a in built["areas"]) == len(COLLABORATION_DELIVERABLES)
    signatories = {p["organisation"]["name"]: [c["person"]["name"] for c in p["signatories"]]
                   for p in built["parties"]}
    assert signatories == {METROPOLIS: [NAMES[METROPOLIS_SG]], ASPAC: [NAMES[ASPAC_SG]]}
    assert date.fromisoformat(built["effective_from"]) == date(2027, 1, 1)
