"""GET /api/v1/workflows/{name}/diagram: Mermaid and SVG, the current state highlighted, scoped."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest

from engine.statuses import Language
from engine.workflow import diagrams, drawing
from engine.workflow.machine import catalog
from tests.support import World
from tests.web.helpers import sign_in, text_of

SVG = "{http://www.w3.org/2000/svg}"
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
    # Asked for in French, its words are French; the same state is current.
    french = await world.call("aspac_partner", "GET", "/workflows/collaboration_agreement/diagram",
                              params={"format": "svg", "agreement_id": agreement["id"]},
                              headers={"Accept-Language": "fr"})
    assert french.headers["content-language"] == "fr"
    assert "En attente de signature" in french.text
    assert "Pending signature" not in french.text


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


async def test_without_graphviz_the_svg_is_drawn_in_python_with_every_state_and_the_current_one(
        world: World, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    agreement = await world.draft()
    ask = {"format": "svg", "agreement_id": agreement["id"]}
    if shutil.which("dot"):  # drawn by Graphviz first: the cache must not hand that picture on
        await world.call("metro_staff", "GET", "/workflows/collaboration_agreement/diagram", params=ask)
    monkeypatch.setenv("PATH", str(tmp_path))  # a fresh server on which Graphviz is not installed
    assert shutil.which("dot") is None

    answer = await world.call("metro_staff", "GET", "/workflows/collaboration_agreement/diagram", params=ask)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/svg+xml"
    svg = ElementTree.fromstring(answer.text)  # well-formed, standalone SVG
    assert svg.tag == f"{SVG}svg"
    assert "layered" in svg.get("class", "")
    assert svg.get("role") == "img"
    assert svg.get("viewBox") == f"0 0 {svg.get('width')} {svg.get('height')}"  # scales with its box
    assert svg.findtext(f"{SVG}title") == "Lifecycle of a collaboration agreement; current state: Draft"
    description = svg.findtext(f"{SVG}desc") or ""
    assert "Draft (current state): Submit for signature leads to Pending signature; Cancel leads to Cancelled." \
        in description
    assert svg.get("aria-labelledby") == "diagram-title diagram-desc"

    texts = [t.text for t in svg.iter(f"{SVG}text")]
    workflow = catalog().latest("collaboration_agreement").spec
    labels = {state.label for state in workflow.states.values()}
    assert labels - {"Draft"} <= set(texts)
    assert "Draft (current)" in texts
    assert {event.label for event in workflow.events.values()} <= set(texts)  # every arrow says its event
    current = [g for g in svg.iter(f"{SVG}g") if "current" in g.get("class", "").split()]
    assert len(current) == 1
    assert current[0].findtext(f"{SVG}text") == "Draft (current)"
    assert current[0].find(f"{SVG}rect").get("fill") == "#1e3a8a"  # type: ignore[union-attr]
    assert current[0].find(f"{SVG}text").get("fill") == "#ffffff"  # type: ignore[union-attr]
    # Narrow enough for a 390 px phone: scaled into about 340 px, 14 px labels stay above 10 px.
    assert float(svg.get("width", "0")) <= 470

    plain = await world.call("admin", "GET", "/workflows/city_to_city/diagram", params={"format": "svg"})
    assert plain.status_code == 200
    assert "(current)" not in plain.text
    assert 'class="state current"' not in plain.text

    await sign_in(client, world.metro_staff.token)
    page = await client.get(f"/agreements/{agreement['id']}")
    assert page.status_code == 200
    assert '<figure class="lifecycle"><svg xmlns="http://www.w3.org/2000/svg" class="diagram layered"' in page.text
    words = text_of(page.text)
    assert "Lifecycle of a collaboration agreement; current state: Draft" in words
    assert "Graphviz" not in words
    # The lifecycle as a list stays beside the picture.
    assert "Draft — current state" in words
    assert "Submit for signature → Pending signature" in words


@pytest.mark.parametrize("name", ["collaboration_agreement", "city_to_city"])
def test_python_drawing_keeps_boxes_apart_and_arrows_between_rows(name: str) -> None:
    """What makes the picture readable: no two state boxes overlap, and every arrow joins two rows."""
    spec = catalog().latest(name).spec
    svg = ElementTree.fromstring(drawing.draw(spec, spec.initial, title="t"))
    boxes = []
    for group in svg.iter(f"{SVG}g"):
        if "state" in group.get("class", "").split():
            rect = group.find(f"{SVG}rect")
            assert rect is not None
            x, y, w, h = (float(rect.get(a, "0")) for a in ("x", "y", "width", "height"))
            boxes.append((x, y, x + w, y + h))
    assert len(boxes) == len(spec.states)
    for i, (l1, t1, r1, b1) in enumerate(boxes):
        for l2, t2, r2, b2 in boxes[i + 1:]:
            assert not (l1 < r2 and l2 < r1 and t1 < b2 and t2 < b1), "two states overlap"
    shift = float(re.fullmatch(r"translate\(([-\d.]+),0\)", svg.find(f"{SVG}g").get("transform", "")).group(1))  # type: ignore[union-attr]
    width, height = float(svg.get("width", "0")), float(svg.get("height", "0"))
    assert all(0 <= left + shift and right + shift <= width and 0 <= top and bottom <= height
               for left, top, right, bottom in boxes), "a state is outside the picture"


@pytest.mark.parametrize("renderer", ["dot", "python"])
def test_the_diagram_names_states_and_arrows_in_the_readers_language(
        renderer: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A French or Spanish reader sees the workflow file's own words on the boxes and on the arrows,
    # with Graphviz and without it; each language is drawn (and cached) apart.
    if renderer == "dot" and shutil.which("dot") is None:
        pytest.skip("Graphviz's dot not found")
    if renderer == "python":
        monkeypatch.setenv("PATH", str(tmp_path))
    workflow = catalog().get("collaboration_agreement", 2)
    french = diagrams.svg(workflow, "signed", Language.FR)
    spanish = diagrams.svg(workflow, "signed", Language.ES)
    english = diagrams.svg(workflow, "signed", Language.EN)
    for picture, state, arrow, title in (
            (french, "En vigueur", "Mettre en vigueur", "Cycle de vie"),
            (spanish, "Vigente", "Poner en vigor", "Ciclo de vida"),
            (english, "Active", "Activate", "Lifecycle")):
        texts = " ".join(t.text or "" for t in ElementTree.fromstring(picture).iter(f"{SVG}text"))
        assert state in texts
        assert arrow in texts  # the event's label on its arrow, not its name (`activate`)
        assert (ElementTree.fromstring(picture).findtext(f"{SVG}title") or "").startswith(title)
    assert "Activate" not in french
    assert "Pending signature" not in spanish
