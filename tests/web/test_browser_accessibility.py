"""Every main page, in headless Chromium, checked by axe-core (the `axe-playwright-python` package
bundles it) and photographed at desktop and phone widths.

The test fails on any violation axe rates serious or critical (and on text axe measured at 1:1
contrast, which it leaves "incomplete"), on a page wider than a 390 px phone, and on a button or
field there under 24 px tall, printing each with the elements it names. Forms folded in <details>
are opened for axe, so their labels are checked too. The pictures land in
test-output/screenshots/<page>-<width>.png (and <page>-forms-390.png with the forms opened): look
at them after a change to the pages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import World
from tests.web.chromium import DESKTOP, PHONE, chromium, shot, sign_in, sign_out
from tests.web.conftest import LiveServer

axe_api = pytest.importorskip("axe_playwright_python.async_playwright",
                              reason="axe-playwright-python is not installed: pip install -e '.[dev]'")

pytestmark = pytest.mark.slow

GRAVE = frozenset({"serious", "critical"})
OPEN_DETAILS = "document.querySelectorAll('details').forEach(d => d.open = true)"
CLOSE_DETAILS = "document.querySelectorAll('details').forEach(d => d.open = false)"
TARGET = 24  # px: WCAG 2.2's minimum target size (2.5.8); links inside sentences are exempt
SMALL_TARGETS = f"""[...document.querySelectorAll('button, select, input:not([type=hidden]), summary')]
  .filter(e => e.getClientRects().length && e.getBoundingClientRect().height < {TARGET})
  .map(e => e.outerHTML.slice(0, 80))"""


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    async with chromium(tmp_path / "chromium-profile") as context:
        yield context


def _measured(node: dict[str, Any]) -> bool:
    """axe leaves text it measured at 1:1 contrast (the same colour as its background) "incomplete",
    as if it were meant to be hidden; on these pages such text is text nobody can read."""
    return "contrast ratio" in node.get("failureSummary", "")


class Inspector:
    """Runs axe on each page it is shown, photographs it at both widths, and keeps what is wrong."""

    def __init__(self) -> None:
        self.axe = axe_api.Axe()
        self.problems: list[str] = []
        self.seen: list[str] = []

    async def look(self, page: Any, name: str, *, forms: bool = False) -> None:
        self.seen.append(name)
        await page.evaluate(OPEN_DETAILS)
        results = (await self.axe.run(page, options={"resultTypes": ["violations", "incomplete"]})).response
        for kind in ("violations", "incomplete"):
            for violation in results[kind]:
                nodes = [node for node in violation["nodes"] if kind == "violations" or _measured(node)]
                if violation["impact"] not in GRAVE or not nodes:
                    continue
                where = "\n".join(f"    {' '.join(map(str, node['target']))}: {node.get('failureSummary', '')}"
                                  for node in nodes[:5])
                self.problems.append(f"{name}: {violation['id']} ({violation['impact']}): {violation['help']}\n{where}")
        await page.evaluate(CLOSE_DETAILS)
        await shot(page, f"{name}-{DESKTOP['width']}")
        await page.set_viewport_size(PHONE)
        width = await page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            self.problems.append(f"{name}: {width} px wide on a {PHONE['width']} px phone")
        small = await page.evaluate(SMALL_TARGETS)
        if small:
            self.problems.append(f"{name}: targets under {TARGET} px tall on a phone: {small}")
        await shot(page, f"{name}-{PHONE['width']}")
        if forms:
            await page.evaluate(OPEN_DETAILS)
            width = await page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                self.problems.append(f"{name} with its forms open: {width} px wide on a {PHONE['width']} px phone")
            await shot(page, f"{name}-forms-{PHONE['width']}")
            await page.evaluate(CLOSE_DETAILS)
        await page.set_viewport_size(DESKTOP)


async def _deliverables(world: World, agreement: dict[str, Any]) -> None:
    path = f"/agreements/{agreement['id']}/areas/{agreement['areas'][0]['id']}/deliverables"
    for title, due, owner in (("Joint capacity-building webinar series for shared members", "2026-11-01",
                               world.metro_staff.id),
                              ("Gender mainstreaming peer-learning session for joint members", "2027-09-30",
                               world.aspac_staff.id)):
        await world.ok("metro_staff", "POST", path, json={"title": title, "due_on": due, "owner_id": owner})


async def test_every_main_page_has_no_serious_accessibility_violation_and_fits_a_phone(
        browser: Any, live_server: LiveServer, world: World) -> None:
    draft = await world.ready(summary="A framework of collaboration benefiting the joint members of both networks.",
                              ends_on="2030-11-30")
    await _deliverables(world, draft)
    signed = await world.signed(title="Signed: collaboration on urban diplomacy", ends_on="2031-03-31")
    await _deliverables(world, signed)
    base = live_server.base_url
    inspector = Inspector()
    page = await browser.new_page()
    # axe does find what it should: a picture without words, a field without a label.
    await page.set_content('<html lang="en"><title>t</title><main><img src="x.png"><input></main></html>')
    found = {(v["id"], v["impact"]) for v in (await inspector.axe.run(page)).response["violations"]}
    assert {("image-alt", "critical"), ("label", "critical")} <= found, found
    await page.set_content('<html lang="en"><title>t</title><main><p style="color:#fff">Unseen</p></main></html>')
    await inspector.look(page, "axe-self-check")
    assert [p.split(":")[1].strip() for p in inspector.problems] == ["color-contrast (serious)"], inspector.problems
    inspector.problems.clear()
    inspector.seen.clear()

    await page.goto(base + "/sign-in")
    await inspector.look(page, "sign-in")
    await page.goto(base + "/sign-in/link/made-up-link")
    await page.get_by_role("heading", name="This sign-in link cannot be used any more").wait_for()
    await inspector.look(page, "sign-in-link")

    await sign_in(page, live_server, world.metro_staff.token)
    for name, path in (("overview", "/overview"), ("agreements", "/agreements"), ("new-agreement", "/agreements/new"),
                       ("agreement-draft", f"/agreements/{draft['id']}"),
                       ("agreement-signed", f"/agreements/{signed['id']}"),
                       ("confirm-terminate", f"/agreements/{signed['id']}/events/terminate"),
                       ("person", f"/people/{world.metro_partner.id}"), ("people", "/people"),
                       ("organisations", "/organisations"),
                       ("organisation", f"/organisations/{world.orgs['metropolis']}")):
        answer = await page.goto(base + path)
        assert answer is not None
        assert answer.status == 200, (path, answer.status)
        await inspector.look(page, name, forms=name == "agreement-draft")

    # The same agreement read in French and in Spanish (the language switch remembers the choice).
    for language in ("fr", "es"):
        await page.goto(f"{base}/language/{language}?next=/agreements/{signed['id']}")
        assert await page.locator("html").get_attribute("lang") == language
        await inspector.look(page, f"agreement-signed-{language}")
    await page.goto(f"{base}/language/en?next=/agreements")

    # A refused form: the problems beside their fields.
    await page.goto(base + "/agreements/new")
    await page.get_by_label("Title").fill("Typed title")
    await page.get_by_label("Ends on").fill("2020-01-01")
    await page.get_by_label("Effective from").fill("2026-12-01")
    await page.get_by_role("button", name="Create the draft").click()
    await page.get_by_role("alert").wait_for()
    await inspector.look(page, "new-agreement-refused")

    answer = await page.goto(f"{base}/agreements/999999")
    assert answer is not None
    assert answer.status == 404
    await inspector.look(page, "not-found")

    # An administrator's pages carry the forms for people, tokens and organisations.
    await page.goto(base + "/agreements")
    await sign_out(page)
    await sign_in(page, live_server, world.admin.token)
    for name, path in (("person-admin", f"/people/{world.metro_partner.id}"),
                       ("person-edit", f"/people/{world.metro_partner.id}/edit"), ("person-new", "/people/new"),
                       ("organisations-admin", "/organisations")):
        answer = await page.goto(base + path)
        assert answer is not None
        assert answer.status == 200, (path, answer.status)
        await inspector.look(page, name)

    assert len(inspector.seen) == 20
    print("\n\n".join(inspector.problems))
    assert inspector.problems == [], "\n\n".join(inspector.problems)
