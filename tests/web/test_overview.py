"""The overview's first section: what needs the reader's organisation in the 7 days from today
(signatures it owes, reviews due, its people's deliverables by owner); every organisation for an
administrator. Today is 2026-11-23 (the clock fixture), so the week runs to 2026-11-29."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col

from engine.clock import FixedClock
from engine.db import Database
from engine.models import Person
from tests.checks import active
from tests.support import World
from tests.web.helpers import sign_in, text_of


def _week(page: str) -> str:
    """The HTML of the week's section alone (the network-wide figures below list other things)."""
    found = re.search(r'<section aria-labelledby="this-week">.*?</section>', page, flags=re.S)
    assert found, "the overview has no section for the week"
    return found.group(0)


def _words(html: str) -> str:
    """The visible words, without the space `text_of` leaves where a tag ends before punctuation."""
    return re.sub(r" ([;,.])", r"\1", text_of(html))


async def _deliverable(world: World, agreement: dict[str, Any], who: str, owner: str, title: str,
                       due_on: str) -> int:
    area = agreement["areas"][0]["id"]
    made = await world.ok(who, "POST", f"/agreements/{agreement['id']}/areas/{area}/deliverables",
                          json={"title": title, "due_on": due_on, "owner_id": world.people[owner].id})
    return int(made["id"])


async def _portfolio(world: World) -> dict[str, Any]:
    # Pending signature: UCLG ASPAC has signed, Metropolis has not.
    pending = await world.ready(title="Urban Resilience Pact")
    assert (await world.fire("metro_staff", pending["id"], "submit_for_signature")).status_code == 200
    assert (await world.fire("aspac_staff", pending["id"], "sign", place="Jakarta")).status_code == 200

    # Active, its review due in 4 days; deliverables due in 3 days, overdue, in 10 days.
    running = await active(world, title="Metropolis–ASPAC Cooperation on SDG Localisation")
    await world.ok("metro_staff", "PATCH", f"/agreements/{running['id']}", json={"next_review_on": "2026-11-27"})
    await world.ok("metro_staff", "POST", f"/agreements/{running['id']}/focal-points",
                   json={"person_id": world.metro_partner.id, "kind": "focal_point"})
    soon = await _deliverable(world, running, "metro_staff", "metro_partner",
                              "Peer Learning Visit to Seoul with UN-Habitat", "2026-11-26")
    late = await _deliverable(world, running, "metro_staff", "metro_staff", "Joint Training on Gender Mainstreaming",
                              "2026-11-01")
    later = await _deliverable(world, running, "metro_staff", "metro_partner", "Toolkit for Local Climate Plans",
                               "2026-12-03")
    theirs = await _deliverable(world, running, "metro_staff", "aspac_staff", "ASPAC Regional Survey",
                                "2026-11-25")

    # A draft whose review date falls this week: a draft is not reviewed.
    draft = await world.draft(title="Draft Memorandum on Housing", effective_from="2026-11-02",
                              next_review_on="2026-11-25")

    # Between AMF and UCLG ASPAC only: Metropolis does not reach it.
    amf = await world.draft("amf_staff", title="Asian Mayors Forum Exchange",
                            parties=[{"organisation_id": world.orgs["amf"]}, {"organisation_id": world.orgs["aspac"]}])
    await world.ok("aspac_staff", "POST", f"/agreements/{amf['id']}/focal-points",
                   json={"person_id": world.aspac_staff.id, "kind": "focal_point"})
    await _deliverable(world, amf, "amf_staff", "aspac_staff", "Forum Exchange Report", "2026-11-24")
    return {"pending": pending, "running": running, "soon": soon, "late": late, "later": later,
            "theirs": theirs, "draft": draft, "amf": amf}


async def test_staff_see_what_their_organisation_owes_this_week_by_owner(client: httpx.AsyncClient,
                                                                         world: World) -> None:
    made = await _portfolio(world)
    await sign_in(client, world.metro_staff.token)
    page = (await client.get("/overview")).text
    week = _week(page)
    words = _words(week)
    running = made["running"]["id"]

    assert "What needs Metropolis this week" in words
    assert "From 23 November 2026 to 29 November 2026 (your time zone: Europe/Madrid)" in words
    assert ("Signatures awaited (1) Urban Resilience Pact — Metropolis has not signed yet; "
            "signatory: Secretary General, Metropolis") in words
    assert f'<a href="/agreements/{made["pending"]["id"]}">Urban Resilience Pact</a>' in week
    assert ("Reviews due (1) Metropolis–ASPAC Cooperation on SDG Localisation — review due 27 November 2026; "
            "focal point: Agnès Bickart, Metropolis programme officer") in words
    # Grouped by owner, each title as written, linked to its place on the agreement's page.
    assert ("Agnès Bickart (1) Joint Training on Gender Mainstreaming — due 1 November 2026, 22 days late; "
            "Metropolis–ASPAC Cooperation on SDG Localisation") in words
    assert ("Metropolis programme officer (1) Peer Learning Visit to Seoul with UN-Habitat — due 26 November 2026; "
            "Metropolis–ASPAC Cooperation on SDG Localisation") in words
    assert f'href="/agreements/{running}#deliverable-{made["soon"]}"' in week
    assert f'href="/agreements/{running}#deliverable-{made["late"]}"' in week
    # Not this week, not Metropolis's, not a state that is reviewed, not an agreement it is party to.
    assert "Toolkit for Local Climate Plans" not in words
    assert "ASPAC Regional Survey" not in words
    assert "Draft Memorandum on Housing" not in words
    assert "Asian Mayors Forum Exchange" not in page
    assert "Forum Exchange Report" not in page
    # The network-wide figures are still below, and keep titles as written too.
    everything = _words(page)
    assert "Deliverable due: Peer Learning Visit to Seoul with UN-Habitat" in everything
    assert "Overdue deliverables (1)" in everything


async def test_a_party_that_signed_is_not_asked_again(client: httpx.AsyncClient, world: World) -> None:
    await _portfolio(world)
    await sign_in(client, world.aspac_staff.token)
    words = _words(_week((await client.get("/overview")).text))
    assert "What needs UCLG ASPAC this week" in words
    assert "Signatures awaited" not in words
    assert "Urban Resilience Pact" not in words
    # Its own people's deliverables, on each agreement it is party to.
    assert "UCLG ASPAC focal point (2)" in words
    assert "Forum Exchange Report — due 24 November 2026; Asian Mayors Forum Exchange" in words
    assert "ASPAC Regional Survey — due 25 November 2026" in words


async def test_an_organisation_with_nothing_due_is_told_so(client: httpx.AsyncClient, world: World) -> None:
    await world.draft(title="Quiet Agreement")
    await sign_in(client, world.metro_staff.token)
    words = _words(_week((await client.get("/overview")).text))
    assert "Nothing needs Metropolis this week." in words


async def test_an_administrator_sees_every_organisation_grouped(client: httpx.AsyncClient, world: World) -> None:
    made = await _portfolio(world)
    await sign_in(client, world.admin.token)
    week = _week((await client.get("/overview")).text)
    words = _words(week)
    assert "What needs each organisation this week" in words
    groups = {_words(part).split(" ", 1)[0]: _words(part)
              for part in re.split(r'<h3 id="organisation-[^"]+">', week)[1:]}
    headings = re.findall(r'<h3 id="organisation-[^"]+">([^<]+)</h3>', week)
    assert headings == ["Metropolis", "UCLG ASPAC"]  # AMF owes nothing this week: no heading
    metropolis, aspac = groups["Metropolis"], groups["UCLG"]
    assert "Urban Resilience Pact — Metropolis has not signed yet" in metropolis
    assert "Agnès Bickart (1) Joint Training on Gender Mainstreaming" in metropolis
    assert "ASPAC Regional Survey" not in metropolis
    assert "Reviews due (1) Metropolis–ASPAC Cooperation on SDG Localisation — review due 27 November 2026" in aspac
    assert "UCLG ASPAC focal point (2)" in aspac
    assert "Forum Exchange Report" in aspac
    assert "has not signed" not in aspac
    assert f'href="/agreements/{made["amf"]["id"]}#deliverable-' in week


async def test_a_review_already_past_is_listed_as_late(client: httpx.AsyncClient, world: World) -> None:
    late = await active(world, title="Habitat III Follow-up")
    await world.ok("metro_staff", "PATCH", f"/agreements/{late['id']}", json={"next_review_on": "2026-11-20"})
    await sign_in(client, world.metro_staff.token)
    words = _words(_week((await client.get("/overview")).text))
    assert "Reviews due (1) Habitat III Follow-up — review due 20 November 2026, 3 days late" in words


async def test_the_week_is_the_readers_own(client: httpx.AsyncClient, world: World, database: Database,
                                           clock: FixedClock) -> None:
    running = await active(world, title="Cooperation on SDG Localisation")
    await _deliverable(world, running, "metro_staff", "metro_staff", "City Report", "2026-11-30")
    # 23:30 in London is already Tuesday 24 November in Madrid, Metropolis's time zone.
    clock.set(datetime(2026, 11, 23, 23, 30, tzinfo=UTC))
    await sign_in(client, world.metro_staff.token)
    words = _words(_week((await client.get("/overview")).text))
    assert "From 24 November 2026 to 30 November 2026 (your time zone: Europe/Madrid)" in words
    assert "City Report — due 30 November 2026" in words
    # A person's own time zone comes first: in New York it is still Monday 23.
    async with database.transaction() as session:
        await session.execute(update(Person).where(col(Person.id) == world.metro_staff.id)
                              .values(timezone="America/New_York"))
    words = _words(_week((await client.get("/overview")).text))
    assert "From 23 November 2026 to 29 November 2026 (your time zone: America/New_York)" in words
    assert "City Report" not in words
