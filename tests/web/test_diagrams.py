"""GET /api/v1/workflows/{name}/diagram: Mermaid and SVG, the current state highlighted, scoped."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from tests.support import World
from tests.web.helpers import sign_in, text_of

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's dot not found: install Debian's graphviz (apt-get install -y "
                                      "graphviz) to test SVG diagrams")


async def test_mermaid_text_highlights_the_agreements_state(world: World) -> None:
    agreement = await world.draft()
    plain = await world.call("metro_staff", "GET", "/workflows/collaboration_agreement/diagram")
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("text/vnd.mermaid")
    assert "stateDiagram-v2" in plain.text
    assert "s_active\n" not in plain.text.replace("classDef s_active", "")

    marked = await world.call("metro_staff", "GET", "/workflows/collaboration_agreement/diagram",
                              params={"agreement_id": agreement["id"]})
    assert "Class draft s_active" in marked.text


@needs_dot
async def test_svg_marks_the_current_state_and_is_cached(world: World) -> None:
    agreement = await world.signed()
    answer = await world.call("aspac_partner", "GET", "/workflows/collaboration_agreement/diagram",
                              params={"format": "svg", "agreement_id": agreement["id"]})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/svg+xml"
    assert answer.text.startswith("<svg")
    assert "current state: Signed" in answer.text
    assert "Signed (current)" in answer.text
    assert "Pending signature" in answer.text
    again = await world.call("aspac_partner", "GET", "/workflows/collaboration_agreement/diagram",
                             params={"format": "svg", "agreement_id": agreement["id"]})
    assert again.text == answer.text
    plain = await world.call("admin", "GET", "/workflows/city_to_city/diagram", params={"format": "svg"})
    assert plain.status_code == 200
    assert "(current)" not in plain.text


async def test_diagram_of_an_agreement_out_of_reach_is_not_found(world: World) -> None:
    agreement = await world.draft()
    for fmt in ("mermaid", "svg"):
        answer = await world.call("amf_staff", "GET", "/workflows/collaboration_agreement/diagram",
                                  params={"format": fmt, "agreement_id": agreement["id"]})
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
    wrong = await world.call("metro_staff", "GET", "/workflows/city_to_city/diagram",
                             params={"agreement_id": agreement["id"]})
    assert wrong.status_code == 422
    assert "follows workflow 'collaboration_agreement'" in wrong.json()["detail"]
    unknown = await world.call("metro_staff", "GET", "/workflows/nope/diagram")
    assert unknown.status_code == 404
    anonymous = await world.client.get("/api/v1/workflows/collaboration_agreement/diagram")
    assert anonymous.status_code == 401


async def test_without_graphviz_svg_is_503_and_the_page_lists_the_states(
        world: World, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    agreement = await world.draft()
    monkeypatch.setenv("PATH", str(tmp_path))  # a server on which Graphviz is not installed
    answer = await world.call("metro_staff", "GET", "/workflows/collaboration_agreement/diagram",
                              params={"format": "svg"})
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert "apt-get install -y graphviz" in answer.json()["detail"]

    await sign_in(client, world.metro_staff.token)
    page = await client.get(f"/agreements/{agreement['id']}")
    assert page.status_code == 200
    assert "<svg class=\"diagram\"" not in page.text
    words = text_of(page.text)
    assert "The diagram needs Graphviz on the server; here is the lifecycle as a list." in words
    assert "Draft — current state" in words
    assert "Submit for signature → Pending signature" in words
