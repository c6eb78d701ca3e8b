"""In headless Chromium: staff copy an agreement as its successor from its page, land on the new
draft, and the two pages link each other; screenshots at 1280 px and 390 px (test-output/screenshots/)."""

from __future__ import annotations

from typing import Any

from tests.checks import active
from tests.support import World
from tests.web.conftest import LiveServer
from tests.web.test_browser import browser, shot, sign_in  # noqa: F401  (browser: the fixture)


async def test_staff_copy_an_agreement_as_its_successor_in_the_browser(
        browser: Any, live_server: LiveServer, world: World) -> None:  # noqa: F811  (the fixture)
    source = await active(world, ends_on="2028-10-31")
    page = await browser.new_page()
    await sign_in(page, live_server, world.metro_staff.token, then=f"/agreements/{source['id']}")

    await page.get_by_text("Copy this agreement").click()
    await page.get_by_label("Title of the new draft").fill("Collaboration agreement, 2029-2033")
    await page.get_by_label("As its successor").check()
    await shot(page, "agreement-copy-form")
    await page.get_by_role("button", name="Copy into a new draft").click()
    await page.get_by_text("The draft is copied").wait_for()
    assert (await page.locator("h1").inner_text()).strip() == "Collaboration agreement, 2029-2033"
    assert (await page.locator(".page-head .badge").inner_text()).strip() == "Draft"
    await shot(page, "agreement-successor-draft")
    await page.set_viewport_size({"width": 390, "height": 844})
    await shot(page, "agreement-successor-draft-390")
    await page.set_viewport_size({"width": 1280, "height": 900})

    await page.get_by_role("link", name=f"agreement #{source['id']}").first.click()
    await page.wait_for_url(f"**/agreements/{source['id']}")
    successor_id = (await world.ok("metro_staff", "GET", f"/agreements/{source['id']}"))["successor_id"]
    await page.get_by_role("link", name=f"agreement #{successor_id}").wait_for()
