"""Headless Chromium for the browser tests: Debian's `chromium`, driven by Playwright through its
executable path, with what every browser test shares — a fresh profile, signing in and out,
full-page screenshots in test-output/screenshots/.

Without /usr/bin/chromium (or Playwright) a module importing this skips and says how to install
it; on CI, where .ci/run installs Debian's chromium, a missing one fails instead.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

if not CHROMIUM.exists() and os.environ.get("CI") == "true":
    pytest.fail(f"Chromium not found at {CHROMIUM}: on CI .ci/run installs Debian's chromium; it must be there",
                pytrace=False)
if not CHROMIUM.exists():
    pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's chromium (apt-get install -y chromium) to run "
                "the browser tests", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.async_api", reason="Playwright for Python is not installed: "
                                     "pip install -e '.[dev]'")


@asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Any]:
    """A fresh Chromium profile; pages of one context share cookies, like one person's browser."""
    async with playwright_api.async_playwright() as driver:
        context = await driver.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=ARGS,
            viewport=DESKTOP, locale="en-GB", timezone_id="UTC",
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            await context.close()


async def shot(page: Any, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


async def sign_in(page: Any, live: LiveServer, token: str, *, then: str = "/agreements") -> None:
    await page.goto(live.base_url + then)
    await page.get_by_label("Access token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(live.base_url + then)


async def sign_out(page: Any) -> None:
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/sign-in")
