"""The summary report and the CSV exports: figures, round trips, filters, scoping, formula safety."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.support import World

FORMULA_TITLE = "=HYPERLINK(\"http://evil.example\",\"Click\")"


async def _deliverable(world: World, agreement: dict[str, Any], who: str, title: str,
                       due_on: str, **extra: Any) -> dict[str, Any]:
    area_id = agreement["areas"][0]["id"]
    result: dict[str, Any] = await world.ok(
        "metro_staff", "POST", f"/agreements/{agreement['id']}/areas/{area_id}/deliverables",
        json={"title": title, "owner_id": world.people[who].id, "due_on": due_on, **extra})
    return result


async def _portfolio(world: World) -> dict[str, Any]:
    """Today is 2026-11-23 (the clock fixture)."""
    signed = await world.ready(next_review_on="2027-01-15", ends_on="2030-12-31")
    late = await _deliverable(world, signed, "metro_staff", "Report on the 2030 Agenda", "2026-11-01")
    soon = await _deliverable(world, signed, "aspac_staff", "Joint training", "2027-01-10")
    await _deliverable(world, signed, "aspac_staff", "Finished study", "2026-10-01", status="done")
    for who in ("metro_staff", "aspac_staff"):
        if who == "metro_staff":
            assert (await world.fire(who, signed["id"], "submit_for_signature")).status_code == 200
        assert (await world.fire(who, signed["id"], "sign", place="Montevideo")).status_code == 200
    # A draft that ends within 90 days, with a notice deadline inside the window too.
    ending = await world.draft(title=FORMULA_TITLE, effective_from="2026-01-01", ends_on="2027-02-10",
                               notice_period_days=30)
    metro_only = await world.draft(title="Metropolis internal plan",
                                   parties=[{"organisation_id": world.orgs["metropolis"]}])
    cancelled = await world.draft(title="Abandoned memorandum")
    assert (await world.fire("metro_staff", cancelled["id"], "cancel")).status_code == 200
    return {"signed": signed, "ending": ending, "metro_only": metro_only, "cancelled": cancelled,
            "late": late, "soon": soon}


async def test_summary_figures_match_the_agreements(world: World) -> None:
    made = await _portfolio(world)
    report = await world.ok("admin", "GET", "/reports/summary")
    assert report["as_of"] == "2026-11-23"
    assert report["days"] == 90
    assert report["by_state"] == {"cancelled": 1, "draft": 2, "signed": 1}
    assert report["total"] == 4

    due = {d["id"]: [(i["kind"], i["due_on"]) for i in d["items"]] for d in report["due_soon"]}
    assert due == {
        made["signed"]["id"]: [("deliverable", "2027-01-10"), ("review", "2027-01-15")],
        made["ending"]["id"]: [("notice", "2027-01-11"), ("expiry", "2027-02-10")],
    }
    assert [d["id"] for d in report["due_soon"]] == [made["signed"]["id"], made["ending"]["id"]]

    overdue = report["overdue"]
    assert overdue["total"] == 1  # the done one is not overdue, the January one is not late yet
    [by_org] = overdue["by_organisation"]
    assert (by_org["organisation"], by_org["count"]) == ("Metropolis", 1)
    assert by_org["deliverables"][0]["id"] == made["late"]["id"]
    assert by_org["deliverables"][0]["days_overdue"] == 22
    [by_area] = overdue["by_area"]
    assert by_area["area"] == "Capacity building and gender mainstreaming"
    assert by_area["agreement_id"] == made["signed"]["id"]

    # A shorter horizon drops what falls due later.
    short = await world.ok("admin", "GET", "/reports/summary", params={"days": 48})  # up to 2027-01-10
    assert {d["id"]: [i["kind"] for i in d["items"]] for d in short["due_soon"]} == {
        made["signed"]["id"]: ["deliverable"]}
    assert (await world.call("admin", "GET", "/reports/summary", params={"days": 0})).status_code == 422
    assert (await world.call("admin", "GET", "/reports/summary", params={"days": 366})).status_code == 422


async def test_summary_is_scoped_like_the_agreements(world: World) -> None:
    made = await _portfolio(world)
    aspac = await world.ok("aspac_partner", "GET", "/reports/summary")
    assert aspac["by_state"] == {"cancelled": 1, "draft": 1, "signed": 1}  # not Metropolis' own plan
    assert made["metro_only"]["id"] not in {d["id"] for d in aspac["due_soon"]}
    nothing = await world.ok("amf_partner", "GET", "/reports/summary")
    assert nothing["by_state"] == {}
    assert nothing["total"] == 0
    assert nothing["due_soon"] == []
    assert nothing["overdue"]["total"] == 0


def _rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def _unquote(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


async def test_agreements_csv_round_trips_to_the_list(world: World) -> None:
    await _portfolio(world)
    listed = (await world.ok("metro_staff", "GET", "/agreements"))["items"]
    rows = _rows(await world.call("metro_staff", "GET", "/exports/agreements.csv"))
    assert [int(r["id"]) for r in rows] == [a["id"] for a in listed]
    for row, item in zip(rows, listed, strict=True):
        assert _unquote(row["title"]) == item["title"]
        assert row["state"] == item["state"]
        assert int(row["version"]) == item["version"]
        assert row["workflow"] == item["workflow"]["name"]
        assert row["parties"].split("; ") == [p["name"] for p in item["parties"]]
        for name in ("effective_from", "ends_on", "next_review_on"):
            assert (row[name] or None) == item[name]

    detail = await world.ok("metro_staff", "GET", f"/agreements/{listed[0]['id']}")
    first = rows[0]
    assert first["focal_points"] == "Metropolis: metro_staff@metropolis.example; UCLG ASPAC: aspac_staff@aspac.example"
    assert first["signatories"] == ("Metropolis: metro_signatory@metropolis.example; "
                                    "UCLG ASPAC: aspac_signatory@aspac.example")
    assert first["areas"] == "; ".join(a["title"] for a in detail["areas"])
    assert first["signed_on"] == detail["signed_on"]


async def test_a_cell_that_looks_like_a_formula_is_defused(world: World) -> None:
    made = await _portfolio(world)
    rows = _rows(await world.call("admin", "GET", "/exports/agreements.csv", params={"q": "HYPERLINK"}))
    [row] = rows
    assert int(row["id"]) == made["ending"]["id"]
    assert row["title"] == "'" + FORMULA_TITLE


async def test_exports_take_the_list_filters(world: World) -> None:
    made = await _portfolio(world)
    for params in ({"state": "draft"}, {"state": ["signed", "cancelled"]},
                   {"party": world.orgs["aspac"]}, {"q": "internal"}, {"review_due_before": "2027-02-01"},
                   {"workflow": "collaboration_agreement"}):
        listed = (await world.ok("admin", "GET", "/agreements", params=params))["items"]
        rows = _rows(await world.call("admin", "GET", "/exports/agreements.csv", params=params))
        assert [int(r["id"]) for r in rows] == [a["id"] for a in listed], params
    drafts = _rows(await world.call("admin", "GET", "/exports/agreements.csv", params={"state": "draft"}))
    assert {int(r["id"]) for r in drafts} == {made["ending"]["id"], made["metro_only"]["id"]}


async def test_deliverables_csv_round_trips(world: World) -> None:
    made = await _portfolio(world)
    detail = await world.ok("metro_staff", "GET", f"/agreements/{made['signed']['id']}")
    expected = [d for area in detail["areas"] for d in area["deliverables"]]
    rows = _rows(await world.call("metro_staff", "GET", "/exports/deliverables.csv",
                                  params={"state": "signed"}))
    assert [int(r["id"]) for r in rows] == [d["id"] for d in expected]
    for row, item in zip(rows, expected, strict=True):
        assert int(row["agreement_id"]) == item["agreement_id"]
        assert row["agreement"] == detail["title"]
        assert row["title"] == item["title"]
        assert row["status"] == item["status"]
        assert row["due_on"] == item["due_on"]
        assert row["overdue"] == ("yes" if item["overdue"] else "no")
        assert (row["completed_on"] or None) == item["completed_on"]
    by_title = {r["title"]: r for r in rows}
    assert by_title["Report on the 2030 Agenda"]["owner"] == "metro_staff@metropolis.example"
    assert by_title["Report on the 2030 Agenda"]["overdue"] == "yes"
    assert by_title["Joint training"]["owner_name"] == "UCLG ASPAC focal point"


async def test_exports_are_scoped(world: World) -> None:
    await _portfolio(world)
    assert _rows(await world.call("amf_partner", "GET", "/exports/agreements.csv")) == []
    assert _rows(await world.call("amf_partner", "GET", "/exports/deliverables.csv")) == []
    aspac = _rows(await world.call("aspac_partner", "GET", "/exports/agreements.csv"))
    assert "Metropolis internal plan" not in {r["title"] for r in aspac}
    assert len(aspac) == 3
    assert (await world.client.get("/api/v1/exports/agreements.csv")).status_code == 401


async def test_a_large_export_streams_every_row(world: World) -> None:
    for number in range(230):  # more than one page of the export's batches
        await world.draft(title=f"Agreement {number:03d}")
    rows = _rows(await world.call("admin", "GET", "/exports/agreements.csv"))
    assert [r["title"] for r in rows] == [f"Agreement {n:03d}" for n in range(230)]


async def test_an_export_is_headed_in_the_language_asked_else_the_callers(world: World) -> None:
    # The header row is in French or Spanish as asked, else in the caller's own language; the values
    # stay the machine's (a state is `signed` in every file), so a spreadsheet reads the same data.
    agreement = await world.signed()
    french = await world.call("metro_staff", "GET", "/exports/agreements.csv", params={"lang": "fr"})
    rows = _rows(french)
    assert list(rows[0])[:6] == ["numéro", "titre", "procédure", "version de la procédure", "état", "version"]
    assert rows[0]["état"] == "signed"
    assert rows[0]["numéro"] == str(agreement["id"])
    spanish = _rows(await world.call("metro_staff", "GET", "/exports/deliverables.csv", params={"lang": "es"}))
    header = (await world.call("metro_staff", "GET", "/exports/deliverables.csv", params={"lang": "es"})
              ).content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("número,número del acuerdo,acuerdo,ámbito de colaboración,título,responsable")
    assert all(row["con retraso"] in ("yes", "no") for row in spanish)

    # No `lang`: the caller's language (a person who reads Spanish gets Spanish headings).
    await world.ok("metro_staff", "PATCH", f"/people/{world.metro_staff.id}", json={"language": "es"})
    theirs = _rows(await world.call("metro_staff", "GET", "/exports/agreements.csv"))
    assert "estado" in theirs[0]
    assert "state" in _rows(await world.call("metro_staff", "GET", "/exports/agreements.csv",
                                             params={"lang": "en"}))[0]
    refused = await world.call("metro_staff", "GET", "/exports/agreements.csv", params={"lang": "de"})
    assert refused.status_code == 422
