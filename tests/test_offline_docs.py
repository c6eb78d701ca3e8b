"""/docs and /redoc on a machine with no internet: every asset they load comes from Accord itself."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest

from tests.test_metrics import sample

# What a browser fetches for each kind of reference, and the type it must be served as
# (every answer carries `X-Content-Type-Options: nosniff`: a wrong type is a broken page).
EXPECTED_TYPES = {"script": ("text/javascript", "application/javascript"), "stylesheet": ("text/css",),
                  "icon": ("image/png",)}


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []  # (kind, URL)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.found.append(("script", attributes["src"] or ""))
        elif tag == "link" and attributes.get("href"):
            rel = attributes.get("rel") or ""
            self.found.append(("icon" if "icon" in rel else rel, attributes["href"] or ""))


def assets_of(page: str) -> list[tuple[str, str]]:
    parser = _Assets()
    parser.feed(page)
    return parser.found


@pytest.mark.parametrize(("page", "needs"), [("/docs", {"script", "stylesheet", "icon"}),
                                             ("/redoc", {"script", "icon"})])
async def test_api_documentation_loads_only_from_accord(client: httpx.AsyncClient, page: str,
                                                         needs: set[str]) -> None:
    answer = await client.get(page)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assets = assets_of(answer.text)
    assert {kind for kind, _ in assets} == needs
    assert "https://" not in answer.text  # no CDN, no web font
    assert "http://" not in answer.text
    assert "'/openapi.json'" in answer.text or '"/openapi.json"' in answer.text
    for kind, url in assets:
        assert url.startswith("/"), f"{url} is not on Accord's own origin"
        assert not url.startswith("//"), f"{url} is not on Accord's own origin"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].split(";")[0] in EXPECTED_TYPES[kind], url
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert len(asset.content) > 1000, url
    assert (await client.get("/openapi.json")).status_code == 200


async def test_documentation_assets_are_counted_under_their_mount(client: httpx.AsyncClient) -> None:
    labels = {"method": "GET", "route": "/docs-assets/{path}", "status": "200"}
    before = await sample(client, "accord_http_requests_total", **labels)
    page = await client.get("/docs")
    for _, url in assets_of(page.text):
        assert (await client.get(url)).status_code == 200
    assert await sample(client, "accord_http_requests_total", **labels) == before + 3
    missing = await client.get("/docs-assets/no-such-file.js")
    assert missing.status_code == 404
