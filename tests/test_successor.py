"""A new draft copied from an agreement (`POST /agreements/{id}/copies`), and renewal as a
successor: `complete_review` with outcome `renew_as_successor` drafts the successor, whose last
signature supersedes its predecessor (both histories say so, the predecessor's schedule stops)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from engine.clock import FixedClock
from engine.db import Database
from engine.demo.signed_copy import signed_copy
from engine.importing import import_file
from engine.schedule import Notification, Timer
from engine.statuses import DeliveryStatus, DocumentKind, TimerStatus
from tests.checks import active, fire_ok, problem, snapshot
from tests.support import World


async def with_deliverables(world: World, agreement: dict[str, Any]) -> dict[str, int]:
    """An open deliverable owned by Metropolis's focal point, and one already done."""
    area = agreement["areas"][0]["id"]
    path = f"/agreements/{agreement['id']}/areas/{area}/deliverables"
    open_one = await world.ok("metro_staff", "POST", path, json={
        "title": "City profile", "owner_id": world.metro_staff.id, "due_on": "2027-06-30"})
    done = await world.ok("metro_staff", "POST", path, json={"title": "Kick-off workshop"})
    await world.ok("metro_staff", "PATCH", f"/deliverables/{done['id']}", json={"status": "done"})
    return {"open": open_one["id"], "done": done["id"]}


def people(agreement: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(p["organisation"]["name"], kind, c["person"]["name"])
            for p in agreement["parties"] for kind in ("focal_points", "signatories") for c in p[kind]}


def deliverables(agreement: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for area in agreement["areas"] for d in area["deliverables"]]


async def pending(database: Database, agreement_id: int) -> tuple[list[str], list[str]]:
    """The agreement's pending timers (events) and pending reminders (rules)."""
    async with database.transaction(write=False) as session:
        timers = await session.scalars(select(Timer).where(
            col(Timer.agreement_id) == agreement_id, col(Timer.status) == TimerStatus.PENDING))
        reminders = await session.scalars(select(Notification).where(
            col(Notification.agreement_id) == agreement_id, col(Notification.status) == DeliveryStatus.PENDING))
        return sorted(t.event for t in timers), sorted(n.rule for n in reminders)


# --- copies --------------------------------------------------------------------------------------

async def test_a_copy_takes_parties_people_areas_and_open_deliverables_not_signatures_or_history(
        world: World) -> None:
    source = await active(world, ends_on="2028-10-31", summary="Joint members first.")
    made = await with_deliverables(world, source)
    # Someone disabled since is not named on the copy.
    await world.ok("admin", "PATCH", f"/people/{world.aspac_signatory.id}", json={"active": False})

    response = await world.call("metro_staff", "POST", f"/agreements/{source['id']}/copies",
                                json={"effective_from": "2028-11-01"})
    assert response.status_code == 201, response.text
    copy = response.json()
    assert response.headers["Location"] == f"/api/v1/agreements/{copy['id']}"
    assert copy["id"] != source["id"]
    assert (copy["state"], copy["version"], copy["title"]) == ("draft", 1, f"Copy of {source['title']}")
    assert (copy["summary"], copy["review_every_months"]) == ("Joint members first.", 12)
    assert (copy["effective_from"], copy["ends_on"], copy["signed_on"]) == ("2028-11-01", None, None)
    assert copy["predecessor_id"] is None  # a copy, not a successor
    assert [p["organisation"]["name"] for p in copy["parties"]] == ["Metropolis", "UCLG ASPAC"]
    assert all(p["signature"] is None for p in copy["parties"])
    assert people(copy) == {("Metropolis", "focal_points", world.metro_staff.name),
                            ("Metropolis", "signatories", world.metro_signatory.name),
                            ("UCLG ASPAC", "focal_points", world.aspac_staff.name)}
    assert [a["title"] for a in copy["areas"]] == [a["title"] for a in source["areas"]]
    [carried] = deliverables(copy)
    assert (carried["title"], carried["owner_id"], carried["due_on"], carried["status"]) == (
        "City profile", world.metro_staff.id, "2027-06-30", "planned")
    assert carried["id"] != made["open"]

    _, rows = await snapshot(world, copy["id"])
    assert [(r["kind"], r["event"]) for r in rows] == [("created", "copy")]
    assert rows[0]["data"]["copied_from"] == source["id"]
    assert rows[0]["data"]["not_copied"] == [world.aspac_signatory.name]
    assert rows[0]["text"].startswith(f"Copied from agreement #{source['id']} by {world.metro_staff.name}")
    # The source is as it was.
    after, _ = await snapshot(world, source["id"])
    assert (after["state"], after["version"], after["successor_id"]) == ("active", source["version"] + 3, None)


async def test_a_copy_s_default_title_is_in_the_copier_s_language(world: World) -> None:
    source = await active(world)
    spanish = await world.call("metro_staff", "POST", f"/agreements/{source['id']}/copies", json={},
                               headers={"Accept-Language": "es"})
    assert spanish.status_code == 201, spanish.text
    assert spanish.json()["title"] == f"Copia de {source['title']}"


async def test_a_copy_is_within_reach_and_made_by_staff(world: World) -> None:
    source = await world.ready()
    problem(await world.call("amf_staff", "POST", f"/agreements/{source['id']}/copies"), 404,
            f"no agreement {source['id']}")
    problem(await world.call("metro_partner", "POST", f"/agreements/{source['id']}/copies"), 403,
            "Partners cannot create agreements")
    problem(await world.call("metro_staff", "POST", "/agreements/987654/copies"), 404)
    titled = await world.ok("aspac_staff", "POST", f"/agreements/{source['id']}/copies",
                            json={"title": "A second agreement"})
    assert titled["title"] == "A second agreement"
    admin = await world.ok("admin", "POST", f"/agreements/{source['id']}/copies")
    assert admin["state"] == "draft"


# --- renewal as a successor -----------------------------------------------------------------

async def renewed_as_successor(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """An active agreement, reviewed with outcome renew_as_successor: (predecessor, successor)."""
    source = await active(world, ends_on="2028-10-31")
    await with_deliverables(world, source)
    await fire_ok(world, "metro_staff", source["id"], "start_review")
    response = await world.fire("metro_staff", source["id"], "complete_review", outcome="renew_as_successor",
                                summary="A new agreement for the next four years.")
    assert response.status_code == 200, response.text
    predecessor = response.json()
    successor_id = predecessor["successor_id"]
    assert isinstance(successor_id, int)
    assert response.headers["Link"] == f'</api/v1/agreements/{successor_id}>; rel="successor-version"'
    successor = await world.ok("metro_staff", "GET", f"/agreements/{successor_id}")
    return predecessor, successor


async def test_renew_as_successor_drafts_a_successor_that_names_its_predecessor(world: World) -> None:
    predecessor, successor = await renewed_as_successor(world)
    assert (predecessor["state"], predecessor["review_outcome"]) == ("reviewed", "renew_as_successor")
    assert "continue" in predecessor["available_events"]  # it runs on until the successor is signed
    assert (successor["state"], successor["predecessor_id"], successor["successor_id"]) == (
        "draft", predecessor["id"], None)
    assert successor["title"] == f"Renewal of {predecessor['title']}"
    assert len(people(successor)) == 4
    assert [d["title"] for d in deliverables(successor)] == ["City profile"]
    _, rows = await snapshot(world, successor["id"])
    assert [(r["event"], r["data"]["copied_from"]) for r in rows] == [("create_successor", predecessor["id"])]
    assert rows[0]["actor_id"] == world.metro_staff.id
    # GET says the same as the event's answer, and the successor is in reach of both parties.
    assert (await world.ok("aspac_staff", "GET", f"/agreements/{predecessor['id']}"))["successor_id"] == \
        successor["id"]


async def test_signing_the_successor_supersedes_the_predecessor(world: World, database: Database) -> None:
    predecessor, successor = await renewed_as_successor(world)
    timers, reminders = await pending(database, predecessor["id"])
    assert "expire" in timers
    assert "expiry_approaching" in reminders

    await world.ok("metro_staff", "PATCH", f"/agreements/{successor['id']}",
                   json={"effective_from": "2028-11-01", "ends_on": "2032-10-31"})
    await fire_ok(world, "metro_staff", successor["id"], "submit_for_signature")
    await fire_ok(world, "metro_staff", successor["id"], "sign")
    still, _ = await snapshot(world, predecessor["id"])
    assert still["state"] == "reviewed"  # one signature is not the signing
    # A successor is a new agreement, so it starts on the newest workflow version, whose last
    # signature needs the signed copy.
    assert (predecessor["workflow"]["version"], successor["workflow"]["version"]) == (1, 2)
    copy = signed_copy("Renewed agreement", ["Signed by both parties."])
    uploaded = await world.call("metro_staff", "POST", f"/agreements/{successor['id']}/documents",
                                files={"file": ("signed.pdf", copy, "application/pdf")},
                                data={"kind": DocumentKind.SIGNED_AGREEMENT})
    assert uploaded.status_code == 201, uploaded.text
    signed = await fire_ok(world, "aspac_staff", successor["id"], "sign")
    assert signed["state"] == "signed"

    after, rows = await snapshot(world, predecessor["id"])
    assert (after["state"], after["final"], after["successor_id"]) == ("superseded", True, successor["id"])
    assert after["available_events"] == []
    last = rows[-1]
    assert (last["event"], last["from_state"], last["to_state"], last["actor"]) == (
        "supersede", "reviewed", "superseded", "scheduler")
    assert last["data"]["successor_id"] == successor["id"]
    assert last["comment"] is None  # the line says why, in its reader's language
    assert f"agreement #{successor['id']}, its successor, was signed" in last["text"]
    french = await world.call("aspac_staff", "GET", f"/agreements/{predecessor['id']}/history",
                              headers={"Accept-Language": "fr"})
    assert "son successeur, l’accord n°" in french.json()["items"][-1]["text"]
    assert await pending(database, predecessor["id"]) == ([], [])

    _, successor_rows = await snapshot(world, successor["id"])
    assert successor_rows[-1]["event"] == "sign"
    assert successor_rows[-1]["data"]["supersedes"] == predecessor["id"]
    assert f"supersedes agreement #{predecessor['id']}" in successor_rows[-1]["text"]


async def test_cancelling_the_successors_draft_leaves_the_predecessor_as_it_was(world: World,
                                                                               database: Database) -> None:
    predecessor, successor = await renewed_as_successor(world)
    schedule = await pending(database, predecessor["id"])
    await fire_ok(world, "metro_staff", successor["id"], "cancel")
    after, rows = await snapshot(world, predecessor["id"])
    assert (after["state"], after["version"]) == ("reviewed", predecessor["version"])
    assert await pending(database, predecessor["id"]) == schedule
    # The review's outcome lets it run on.
    assert (await fire_ok(world, "metro_staff", predecessor["id"], "continue"))["state"] == "active"


async def test_a_successor_named_by_hand_supersedes_its_predecessor_when_signed(world: World) -> None:
    """`predecessor_id` at creation, in the lighter city-to-city workflow, signed from its draft."""
    c2c = {"workflow": "city_to_city", "effective_from": "2026-11-01"}
    old = await world.ready(**c2c)
    new = await world.ready(**c2c, title="City-to-city cooperation, second phase", predecessor_id=old["id"])
    for agreement in (old, new):
        await fire_ok(world, "metro_staff", agreement["id"], "sign")
        await fire_ok(world, "aspac_staff", agreement["id"], "sign")
    after, rows = await snapshot(world, old["id"])
    assert (after["state"], after["successor_id"]) == ("superseded", new["id"])
    assert rows[-1]["data"]["successor_id"] == new["id"]


async def test_nobody_fires_supersede_by_hand(world: World) -> None:
    agreement = await active(world)
    problem(await world.fire("admin", agreement["id"], "supersede"), 403, "done by Accord itself")


# --- CSV export and import ----------------------------------------------------------------------

async def test_the_export_carries_the_link_and_the_import_restores_it(world: World, database: Database,
                                                                      clock: FixedClock, tmp_path: Path) -> None:
    predecessor, successor = await renewed_as_successor(world)
    export = await world.call("admin", "GET", "/exports/agreements.csv")
    rows = {int(r["id"]): r for r in csv.DictReader(io.StringIO(export.content.decode("utf-8-sig")))}
    assert (rows[predecessor["id"]]["predecessor_id"], rows[predecessor["id"]]["successor_id"]) == (
        "", str(successor["id"]))
    assert (rows[successor["id"]]["predecessor_id"], rows[successor["id"]]["successor_id"]) == (
        str(predecessor["id"]), "")

    # An import names a predecessor by the `id` of a row above it, or an agreement already in Accord.
    path = tmp_path / "agreements.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "parties", "state", "predecessor_id"])
        writer.writerow(["901", "Exchange, first phase", "Metropolis; UCLG ASPAC", "active", ""])
        writer.writerow(["902", "Exchange, second phase", "Metropolis; UCLG ASPAC", "draft", "901"])
        writer.writerow(["903", "Renewal, imported", "Metropolis; UCLG ASPAC", "draft", str(predecessor["id"])])
    report = await import_file(database, path, dry_run=False, clock=clock)
    assert report.ok, report.lines()
    first, second, third = (agreement_id for _, _, agreement_id in report.created)
    assert (await world.ok("admin", "GET", f"/agreements/{second}"))["predecessor_id"] == first
    assert (await world.ok("admin", "GET", f"/agreements/{first}"))["successor_id"] == second
    assert (await world.ok("admin", "GET", f"/agreements/{third}"))["predecessor_id"] == predecessor["id"]


async def test_an_import_refuses_a_predecessor_it_cannot_find(world: World, database: Database,
                                                              clock: FixedClock, tmp_path: Path) -> None:
    theirs = await world.draft(who="amf_staff", title="Not Metropolis's",
                               parties=[{"organisation_id": world.orgs["amf"]}])
    path = tmp_path / "agreements.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "parties", "predecessor_id"])
        writer.writerow(["701", "Successor first", "Metropolis; UCLG ASPAC", "702"])
        writer.writerow(["702", "Predecessor below", "Metropolis; UCLG ASPAC", ""])
        writer.writerow(["703", "Out of reach", "Metropolis; UCLG ASPAC", str(theirs["id"])])
        writer.writerow(["704", "Not an id", "Metropolis; UCLG ASPAC", "first"])
    report = await import_file(database, path, dry_run=True, clock=clock, actor_email="metro_staff@metropolis.example")
    said = "\n".join(report.lines())
    assert "line 2: its predecessor (id 702) is on line 3, below it" in said
    assert f"line 4: predecessor_id {theirs['id']} names no row of this file (column id) and no agreement" in said
    assert "line 5: predecessor_id 'first' is not an agreement's id" in said
    assert [line for _, line in report.bad_lines] == [2, 4, 5]
