"""An amendment proposed, signed by both parties and merged, in headless Chromium
(tests/web/chromium.py: Debian's `chromium`, driven by Playwright; skipped without it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import World
from tests.web.chromium import PHONE, chromium, shot, sign_in, sign_out
from tests.web.conftest import LiveServer

pytestmark = pytest.mark.slow


def _proposal(page: Any, summary: str) -> Any:
    """The proposal form under the summary that says `summary`."""
    return page.get_by_role("region", name="Amendments").locator("details").filter(
        has=page.locator("summary").get_by_text(summary, exact=True))


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    async with chromium(tmp_path / "chromium-profile") as context:
        yield context


async def test_staff_propose_an_amendment_and_both_parties_sign_it(
        browser: Any, live_server: LiveServer, world: World) -> None:
    agreement = await world.signed(ends_on="2029-12-01")
    path = f"{live_server.base_url}/agreements/{agreement['id']}"
    page = await browser.new_page()
    await sign_in(page, live_server, world.metro_staff.token, then=f"/agreements/{agreement['id']}")
    await page.get_by_text("Propose an amendment", exact=True).click()
    proposal = _proposal(page, "Propose an amendment")
    await proposal.get_by_label("Kind").select_option("terms")
    await proposal.get_by_label("Reason").fill("Two more years, as agreed at the review.")
    await proposal.get_by_label("Ends on").fill("2031-12-01")
    await proposal.get_by_role("button", name="Propose amendment").click()
    amendment = page.locator("#amendment-1")
    await amendment.get_by_text("End date: 1 December 2029 → 1 December 2031").wait_for()
    await shot(page, "amendment-draft")
    await amendment.get_by_role("button", name="Submit for signature").click()
    await page.locator("#amendment-1").get_by_role("button", name="Sign", exact=True).click()
    await page.locator("#amendment-1").get_by_text("Awaiting: UCLG ASPAC.").wait_for()
    await sign_out(page)

    await sign_in(page, live_server, world.aspac_staff.token, then=f"/agreements/{agreement['id']}")
    await page.locator("#amendment-1").get_by_role("button", name="Sign", exact=True).click()
    await page.locator("#amendment-1 .badge").get_by_text("merged").wait_for()
    await page.get_by_text(f"Reference: {agreement['id']}-A1").wait_for()
    await shot(page, "amendment-merged")
    # On a phone the amendment and its diff read in one column.
    await page.set_viewport_size(PHONE)
    await page.goto(path + "#amendment-1")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 400
    await shot(page, "amendment-merged-phone")
    assert (await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}"))["ends_on"] == "2031-12-01"


async def test_a_scope_amendment_proposed_in_the_browser_and_signed_by_both_parties(
        browser: Any, live_server: LiveServer, world: World) -> None:
    agreement = await world.signed()
    page = await browser.new_page()
    await sign_in(page, live_server, world.metro_staff.token, then=f"/agreements/{agreement['id']}")
    await page.get_by_text("Propose a scope amendment", exact=True).click()
    proposal = _proposal(page, "Propose a scope amendment")
    await proposal.get_by_label("Reason").fill("Resilience joins the programme.")
    await proposal.get_by_role("group", name="Add an area of collaboration").get_by_label("Title").fill(
        "Urban resilience")
    deliverable = proposal.get_by_role("group", name="Add a deliverable")
    await deliverable.get_by_label("Area").select_option(label="Capacity building and gender mainstreaming")
    await deliverable.get_by_label("Title").fill("Gender toolkit")
    await deliverable.get_by_label("Owner").select_option(label=world.metro_staff.name)
    await deliverable.get_by_label("Due on").fill("2027-06-30")
    await proposal.get_by_role("button", name="Propose amendment").click()
    amendment = page.locator("#amendment-1")
    await amendment.get_by_text("Area “Urban resilience” added").wait_for()
    await shot(page, "amendment-scope-draft")
    await amendment.get_by_role("button", name="Submit for signature").click()
    await page.locator("#amendment-1").get_by_role("button", name="Sign", exact=True).click()
    await page.locator("#amendment-1").get_by_text("Awaiting: UCLG ASPAC.").wait_for()
    await sign_out(page)

    await sign_in(page, live_server, world.aspac_staff.token, then=f"/agreements/{agreement['id']}")
    await page.locator("#amendment-1").get_by_role("button", name="Sign", exact=True).click()
    await page.locator("#amendment-1 .badge").get_by_text("merged").wait_for()
    await page.get_by_role("heading", name="Urban resilience").wait_for()
    await shot(page, "amendment-scope-merged")
    after = await world.ok("aspac_staff", "GET", f"/agreements/{agreement['id']}")
    assert [a["title"] for a in after["areas"]] == ["Capacity building and gender mainstreaming", "Urban resilience"]
    assert [d["title"] for d in after["areas"][0]["deliverables"]] == ["Gender toolkit"]
