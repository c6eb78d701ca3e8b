"""End to end in headless Chromium (tests/web/chromium.py: Debian's `chromium`, driven by Playwright).

Each main page is saved to test-output/screenshots/ for review.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import World
from tests.web.chromium import ROOT, chromium, playwright_api, shot, sign_in, sign_out
from tests.web.conftest import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    async with chromium(tmp_path / "chromium-profile") as context:
        yield context


async def _agreement_with_deliverable(world: World) -> dict[str, Any]:
    agreement = await world.ready(summary="A framework of collaboration benefiting the joint members of both "
                                          "networks.", ends_on="2030-11-30", next_review_on="2027-06-01")
    aid = agreement["id"]
    await world.ok("metro_staff", "POST", f"/agreements/{aid}/focal-points",
                   json={"person_id": world.metro_partner.id, "kind": "focal_point"})
    area = agreement["areas"][0]["id"]
    for title, due, owner in (("Joint training on gender mainstreaming", "2026-11-01", world.metro_partner.id),
                              ("Peer learning visit to Seoul", "2027-03-15", world.aspac_staff.id)):
        await world.ok("metro_staff", "POST", f"/agreements/{aid}/areas/{area}/deliverables",
                       json={"title": title, "due_on": due, "owner_id": owner})
    await world.ok("metro_staff", "POST", f"/agreements/{aid}/areas",
                   json={"title": "Optimisation of resources towards the local implementation of the 2030 Agenda"})
    return agreement


async def test_staff_sign_an_agreement_and_see_a_guard_in_the_browser(
        browser: Any, live_server: LiveServer, world: World) -> None:
    agreement = await _agreement_with_deliverable(world)
    bare = await world.draft(title="Draft without people yet")
    page = await browser.new_page()

    await page.goto(live_server.base_url + "/")
    await page.wait_for_url("**/sign-in")
    await shot(page, "sign-in")
    await sign_in(page, live_server, world.metro_staff.token)
    await page.get_by_label("Search").fill("without people")
    await page.get_by_role("button", name="Filter").click()
    await page.get_by_role("link", name="Draft without people yet").wait_for()
    assert await page.get_by_role("link", name=agreement["title"]).count() == 0
    await page.goto(live_server.base_url + "/agreements")
    await shot(page, "agreements-list")

    # A guard's sentences, on the page, after pressing the button.
    await page.goto(f"{live_server.base_url}/agreements/{bare['id']}")
    await page.get_by_role("button", name="Submit for signature").click()
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert "Conditions not met" in await alert.inner_text()
    assert "focal point" in await alert.inner_text()
    await shot(page, "guard-unmet")

    # Submit and sign for Metropolis...
    await page.goto(f"{live_server.base_url}/agreements/{agreement['id']}")
    await shot(page, "agreement-draft")
    await page.get_by_role("button", name="Submit for signature").click()
    await page.get_by_text("Done: Submit for signature.").wait_for()
    await page.get_by_label("Place").fill("Barcelona")
    await page.get_by_role("button", name="Sign", exact=True).click()
    await page.get_by_text("Done: Sign.").wait_for()
    await sign_out(page)

    # ...and for UCLG ASPAC, by its own staff.
    await sign_in(page, live_server, world.aspac_staff.token, then=f"/agreements/{agreement['id']}")
    await page.get_by_label("Place").fill("Jakarta")
    await page.get_by_role("button", name="Sign", exact=True).click()
    await page.get_by_text("The agreement is now signed.").wait_for()
    badge = page.locator(".page-head .badge")
    assert (await badge.inner_text()).strip() == "Signed"
    assert await page.locator("svg.diagram").count() == 1  # drawn with Graphviz or, without it, in Python
    await shot(page, "agreement-signed")
    if os.environ.get("ACCORD_UPDATE_DOCS_IMAGE") == "1":  # the README's picture, refreshed on purpose only
        await page.screenshot(path=str(ROOT / "docs" / "img" / "agreement-page.png"), full_page=True)

    await page.goto(live_server.base_url + "/overview")
    await page.get_by_role("heading", name="Overdue deliverables (1)").wait_for()
    await shot(page, "overview")


    reading = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}")
    assert reading["state"] == "signed"

    # The scheduler activates it on its date: said, not offered as a button.
    await page.goto(f"{live_server.base_url}/agreements/{agreement['id']}")
    await page.get_by_text("On 1 December 2026 the agreement becomes Active.").wait_for()
    assert await page.get_by_role("button", name="Activate").count() == 0
    # Terminate asks first, on its own page; on a phone the history and that page read in one column.
    await page.set_viewport_size({"width": 390, "height": 844})
    assert await page.evaluate("document.documentElement.scrollWidth") <= 400
    await shot(page, "agreement-history-phone")
    await page.get_by_role("link", name="Terminate…").click()
    await page.get_by_role("heading", name="What will happen").wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 400
    await shot(page, "confirm-terminate-phone")
    await page.get_by_label("Reason").fill("The networks merged their programmes.")
    await page.get_by_role("button", name="Yes, terminate").click()
    await page.get_by_text("The agreement is now terminated.").wait_for()
    assert (await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}"))["state"] == "terminated"


async def test_partner_updates_a_deliverable_and_cannot_reach_another_organisation(
        browser: Any, live_server: LiveServer, world: World) -> None:
    agreement = await _agreement_with_deliverable(world)
    page = await browser.new_page()
    await sign_in(page, live_server, world.metro_partner.token, then=f"/agreements/{agreement['id']}")
    assert await page.get_by_role("button", name="Submit for signature").count() == 0
    assert await page.get_by_text("Update “Peer learning visit to Seoul”").count() == 0  # not theirs

    await page.get_by_text("Update “Joint training on gender mainstreaming”").click()
    await page.get_by_label("Status").select_option("done")
    await page.get_by_label("Progress note").fill("Held in Seoul with 40 officers from 12 member cities.")
    await page.get_by_label("Evidence link").fill("https://www.metropolis.org/training")
    await page.get_by_role("button", name="Save deliverable").click()
    await page.get_by_text("Deliverable updated.").wait_for()
    await page.get_by_text("(1 of 2 done)").wait_for()
    await shot(page, "deliverable-updated")

    # On a phone the same page reads in one column.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.reload()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page is {width}px wide on a 390px phone"
    await shot(page, "agreement-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})

    reading = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}")
    done = [d for a in reading["areas"] for d in a["deliverables"] if d["status"] == "done"]
    assert [d["title"] for d in done] == ["Joint training on gender mainstreaming"]

    await sign_out(page)
    await sign_in(page, live_server, world.amf_partner.token)
    answer = await page.goto(f"{live_server.base_url}/agreements/{agreement['id']}")
    assert answer is not None
    assert answer.status == 404
    assert f"There is no agreement {agreement['id']} that you can see." in await page.inner_text("main")
    await shot(page, "not-found")


async def test_api_documentation_and_the_lifecycle_diagram_work_offline(
        browser: Any, live_server: LiveServer, world: World, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """A machine with no internet and no Graphviz: /docs, /redoc and the diagram ask for nothing
    but Accord (any other request is refused and counted), and the diagram fits a 390 px phone."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert shutil.which("dot") is None
    elsewhere: list[str] = []

    async def only_accord(route: Any) -> None:
        if route.request.url.startswith(live_server.base_url + "/"):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await browser.route("**/*", only_accord)
    page = await browser.new_page()
    await page.goto(live_server.base_url + "/docs")
    await page.locator(".swagger-ui .info .title").filter(has_text="Accord").wait_for()
    await page.get_by_text("/api/v1/agreements/{agreement_id}/events").first.wait_for()
    await shot(page, "docs", full_page=False)
    assert elsewhere == []
    await page.goto(live_server.base_url + "/redoc")
    await page.get_by_role("heading", name="Accord").first.wait_for()
    await page.get_by_text("/api/v1/agreements/{agreement_id}/events").first.wait_for(state="attached")
    # ReDoc's bundle asks for its maker's logo, and hides it when it cannot be had: nothing else.
    assert set(elsewhere) <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
    elsewhere.clear()

    agreement = await world.draft()
    await page.set_viewport_size({"width": 390, "height": 844})
    await sign_in(page, live_server, world.metro_staff.token, then=f"/agreements/{agreement['id']}")
    diagram = page.locator("figure.lifecycle svg.diagram")
    await diagram.scroll_into_view_if_needed()
    assert await diagram.get_attribute("class") == "diagram layered"
    assert await diagram.get_by_text("Draft (current)").count() == 1
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page is {width}px wide on a 390px phone"
    drawn = await diagram.bounding_box()
    figure = await page.locator("figure.lifecycle").bounding_box()
    assert drawn is not None
    assert figure is not None
    assert drawn["width"] <= figure["width"]  # the whole lifecycle in view, no sideways scrolling
    natural = float(await diagram.get_attribute("width") or 0)
    assert 14 * drawn["width"] / natural >= 10, "the states' names are smaller than 10 px on a phone"
    await shot(page, "diagram-phone")
    assert elsewhere == []


async def test_the_last_signature_asks_for_the_signed_copy_uploaded_in_the_browser(
        browser: Any, live_server: LiveServer, world: World, tmp_path: Path) -> None:
    from engine.demo.signed_copy import signed_copy

    agreement = await world.ready(workflow_version=None)  # collaboration_agreement version 2
    assert (await world.fire("metro_staff", agreement["id"], "submit_for_signature")).status_code == 200
    assert (await world.fire("metro_staff", agreement["id"], "sign")).status_code == 200
    copy = tmp_path / "signed-copy.pdf"
    copy.write_bytes(signed_copy("Collaboration agreement", ["Signed by both parties."]))
    page = await browser.new_page()
    await sign_in(page, live_server, world.aspac_staff.token, then=f"/agreements/{agreement['id']}")
    await page.get_by_text("Upload the signed agreement").first.wait_for()

    await page.get_by_text("Upload a document").click()
    await page.locator("#upload-file").set_input_files(str(copy))
    await page.get_by_label("Kind").select_option("signed_agreement")
    await page.get_by_role("button", name="Upload").click()
    await page.get_by_text("Document uploaded.").wait_for()
    assert await page.get_by_role("link", name="Download").count() == 1
    await shot(page, "agreement-document-uploaded")

    await page.get_by_label("Place").fill("Jakarta")
    await page.get_by_role("button", name="Sign", exact=True).click()
    await page.get_by_text("The agreement is now signed.").wait_for()


async def test_the_metropolis_page_reads_in_spanish_after_the_switch(browser: Any, live_server: LiveServer,
                                                                     world: World) -> None:
    agreement = await world.ready(effective_from="2019-04-06", ends_on="2030-11-30")
    page = await browser.new_page()
    await sign_in(page, live_server, world.metro_staff.token)
    await page.get_by_role("link", name="Español").click()
    await page.wait_for_url(live_server.base_url + "/agreements")
    assert await page.get_attribute("html", "lang") == "es"
    await page.goto(f"{live_server.base_url}/agreements/{agreement['id']}")
    assert await page.get_attribute("html", "lang") == "es"
    facts = page.locator("dl.facts")
    await playwright_api.expect(facts).to_contain_text("En vigor desde")
    await playwright_api.expect(facts).to_contain_text("6 de abril de 2019")
    await playwright_api.expect(page.get_by_role("heading", name="Partes", exact=True)).to_be_visible()
    await playwright_api.expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()
    await shot(page, "agreement-es")
