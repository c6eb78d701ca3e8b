"""No control characters in text that reaches a header or a line: one-line fields refuse every
C0/C1 control character (line breaks and tabs included), multi-line fields keep line feeds and
tabs (CR LF becomes LF) and refuse the rest; on the API, the pages and in query strings alike."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from engine.schemas import Input
from tests.checks import fire_ok, problem, snapshot
from tests.support import World
from tests.web.helpers import sign_in, text_of

INJECTION = "Collaboration agreement\r\nBcc: thief@evil.example"
ONE_LINE_REFUSED = ["\r\n", "\n", "\r", "\t", "\x00", "\x1b[31m", "\x7f", "\x85", "\u2028", "\x0b"]
MULTI_LINE_REFUSED = ["\x00", "\x1b[31m", "\x7f", "\x85", "\u2028", "\x0b", "\x0c"]


def _body(world: World, **overrides: Any) -> dict[str, Any]:
    return {"title": "Collaboration agreement", "parties": [{"organisation_id": world.orgs["metropolis"]},
                                                            {"organisation_id": world.orgs["aspac"]}],
            **overrides}


async def test_one_line_fields_refuse_every_control_character(world: World) -> None:
    for character in ONE_LINE_REFUSED:
        for overrides, field in [({"title": f"Agreement{character}Bcc: x@evil.example"}, "title"),
                                 ({"signing_place": f"Monte{character}video"}, "signing_place"),
                                 ({"areas": [{"title": f"Gen{character}der"}]}, "areas.0.title"),
                                 ({"workflow": f"collaboration{character}agreement"}, "workflow")]:
            answer = await world.call("metro_staff", "POST", "/agreements", json=_body(world, **overrides))
            found = problem(answer, 422, field, "one line", f"U+{ord(character[0]):04X}")
            assert found["errors"][0]["field"] == field, found
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0
    # The finding: a title with CR LF is refused, naming the field and the character.
    answer = await world.call("metro_staff", "POST", "/agreements", json=_body(world, title=INJECTION))
    problem(answer, 422, "title", "carriage return (U+000D) at position 24")


async def test_one_line_fields_everywhere(world: World) -> None:
    agreement = await world.ready()
    aid, area = agreement["id"], agreement["areas"][0]["id"]
    before, _ = await snapshot(world, aid)
    bad = "x\r\nBcc: thief@evil.example"
    cases: list[tuple[str, str, str, dict[str, Any], str]] = [
        ("admin", "POST", "/organisations", {"name": bad}, "name"),
        ("admin", "POST", "/organisations", {"name": "Seoul", "city": bad}, "city"),
        ("admin", "POST", "/organisations", {"name": "Seoul", "short_name": bad}, "short_name"),
        ("admin", "POST", "/people", {"name": bad, "email": "n@x.example", "organisation_id": 1}, "name"),
        ("admin", "POST", "/people", {"name": "N", "email": "n@x.example\r\nBcc: t@evil.example",
                                      "organisation_id": 1}, "email"),
        ("admin", "POST", "/people", {"name": "N", "email": "n@x.example", "organisation_id": 1,
                                      "job_title": bad}, "job_title"),
        ("admin", "POST", f"/people/{world.admin.id}/tokens", {"label": bad}, "label"),
        ("metro_staff", "PATCH", f"/agreements/{aid}", {"title": bad}, "title"),
        ("metro_staff", "POST", f"/agreements/{aid}/areas", {"title": bad}, "title"),
        ("metro_staff", "POST", f"/agreements/{aid}/focal-points",
         {"person_id": world.metro_partner.id, "capacity": bad}, "capacity"),
        ("metro_staff", "POST", f"/agreements/{aid}/areas/{area}/deliverables", {"title": bad}, "title"),
        ("metro_staff", "POST", f"/agreements/{aid}/events", {"event": "cancel\r\n"}, "event"),
        ("metro_staff", "POST", f"/agreements/{aid}/events", {"event": "sign", "place": bad}, "place"),
        ("admin", "POST", "/webhooks", {"url": "https://hooks.example/a", "secret": "s" * 16 + "\r\n" + "t",
                                        "events": ["agreement.signed"]}, "secret"),
        ("admin", "POST", "/webhooks", {"url": "https://hooks.example/a\r\nX: 1", "secret": "s" * 20,
                                        "events": ["agreement.signed"]}, "url"),
    ]
    for who, method, path, body, field in cases:
        answer = await world.call(who, method, path, json=body)
        found = problem(answer, 422, field)
        assert found["errors"][0]["field"] == field, (path, found)
    after, _ = await snapshot(world, aid)
    assert after["version"] == before["version"]


async def test_multi_line_fields_keep_line_breaks_and_tabs_and_refuse_the_rest(world: World) -> None:
    agreement = await world.ready(summary="First line\r\nSecond line\rThird\tcolumn")
    assert agreement["summary"] == "First line\nSecond line\nThird\tcolumn"  # CR LF and CR become LF
    aid, area = agreement["id"], agreement["areas"][0]["id"]
    deliverable = await world.ok("metro_staff", "POST", f"/agreements/{aid}/areas/{area}/deliverables",
                                 json={"title": "Report", "description": "Two\r\nlines"})
    assert deliverable["description"] == "Two\nlines"
    for character in MULTI_LINE_REFUSED:
        for method, path, body, field in [
            ("PATCH", f"/agreements/{aid}", {"summary": f"a{character}b"}, "summary"),
            ("PATCH", f"/agreements/{aid}", {"background": f"a{character}b"}, "background"),
            ("POST", f"/agreements/{aid}/areas", {"title": "Area", "description": f"a{character}b"}, "description"),
            ("PATCH", f"/deliverables/{deliverable['id']}", {"progress_note": f"a{character}b"}, "progress_note"),
            ("POST", f"/agreements/{aid}/events", {"event": "cancel", "comment": f"a{character}b"}, "comment"),
            ("POST", f"/agreements/{aid}/events", {"event": "cancel", "reason": f"a{character}b"}, "reason"),
        ]:
            found = problem(await world.call("metro_staff", method, path, json=body), 422, field,
                            "no other control character")
            assert found["errors"][0]["field"] == field
    noted = await world.ok("metro_staff", "PATCH", f"/deliverables/{deliverable['id']}",
                           json={"progress_note": "Draft sent.\r\n\tWaiting for comments."})
    assert noted["progress_note"] == "Draft sent.\n\tWaiting for comments."
    cancelled = await fire_ok(world, "metro_staff", aid, "cancel", comment="Both secretariats agreed.\r\nNo cost.")
    history = await world.ok("admin", "GET", f"/agreements/{aid}/history")
    assert history["items"][-1]["comment"] == "Both secretariats agreed.\nNo cost."
    assert cancelled["state"] == "cancelled"


async def test_the_pages_refuse_control_characters_through_the_same_schemas(
        client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.ready()
    aid, area = agreement["id"], agreement["areas"][0]["id"]
    deliverable = await world.ok("metro_staff", "POST", f"/agreements/{aid}/areas/{area}/deliverables",
                                 json={"title": "Report", "owner_id": world.metro_staff.id})
    await fire_ok(world, "metro_staff", aid, "submit_for_signature")
    csrf = await sign_in(client, world.metro_staff.token)

    refused = await client.post(f"/agreements/{aid}/events", data={
        "csrf": csrf, "event": "sign", "place": "Monte\r\nvideo", "signed_on": "2026-11-20"})
    assert refused.status_code == 422, refused.text
    assert "place" in text_of(refused.text)
    assert "carriage return" in text_of(refused.text)
    for url, mention in [("javascript:alert(1)", "http"), ("ftp://files.example/report.pdf", "http"),
                         ("https://example.org/report\r\n.pdf", "control characters")]:
        answer = await client.post(f"/deliverables/{deliverable['id']}", data={
            "csrf": csrf, "status": "in_progress", "evidence_url": url})
        assert answer.status_code == 422, (url, answer.text)
        assert "evidence link: " in text_of(answer.text)  # the field as the page names it
        assert mention in text_of(answer.text)
    kept = await client.post(f"/deliverables/{deliverable['id']}", data={
        "csrf": csrf, "status": "in_progress", "progress_note": "Drafted.\r\nSent to UCLG ASPAC."})
    assert kept.status_code == 303, kept.text
    after, _ = await snapshot(world, aid)
    assert after["parties"][0]["signature"] is None
    [stored] = after["areas"][0]["deliverables"]
    assert (stored["status"], stored["progress_note"], stored["evidence_url"]) == (
        "in_progress", "Drafted.\nSent to UCLG ASPAC.", None)


def test_an_input_cannot_declare_a_text_field_that_skips_the_rules() -> None:
    from engine.schemas import SingleLine

    with pytest.raises(TypeError, match="Careless.note is a str that is neither SingleLine nor MultiLine"):
        class Careless(Input):
            note: str | None = None

    with pytest.raises(TypeError, match="Careless.due is a date that is not a Day"):
        class Careless(Input):  # type: ignore[no-redef]
            due: list[date] = []

    class Careful(Input):
        note: SingleLine | None = None

    assert Careful(note="one line").note == "one line"
