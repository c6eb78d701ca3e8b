"""`accord import`: every bad row caught with its line, good files imported once, CSV and XLSX."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from engine.cli import app as cli
from engine.clock import FixedClock
from engine.db import Database
from engine.importer import ImportFileError, ImportReport, import_file
from tests.support import World

AGREEMENT_HEADER = ["title", "workflow", "parties", "supporters", "summary", "effective_from", "ends_on",
                    "review_every_months", "next_review_on", "state", "focal_points", "signatories", "areas"]
DELIVERABLE_HEADER = ["agreement", "area", "title", "owner", "due_on", "status"]

MOU = "Collaboration agreement between Metropolis and UCLG ASPAC"
AMF = "Memorandum between Metropolis and the Asian Mayors Forum"
C2C = "Jakarta – Barcelona urban innovation exchange"

GOOD = [
    [MOU, "", "Metropolis; UCLG ASPAC", "", "A framework of collaboration.\nSigned in Montevideo.",
     "2019-04-06", "2027-04-05", "12", "2027-01-15", "active",
     "Metropolis: metro_staff@metropolis.example; UCLG ASPAC: aspac_staff@aspac.example",
     "Metropolis: metro_signatory@metropolis.example; UCLG ASPAC: aspac_signatory@aspac.example",
     "Capacity building; Knowledge sharing"],
    [AMF, "collaboration_agreement", "Metropolis; Asian Mayors Forum", "", "", "2027-01-01", "", "", "",
     "draft", "metro_staff@metropolis.example", "", "Urban resilience"],
    [C2C, "", "Metropolis; UCLG ASPAC", "Asian Mayors Forum", "", "2026-01-01", "2028-12-31", "6", "2026-12-01",
     "signed", "UCLG ASPAC: aspac_staff@aspac.example; Asian Mayors Forum: amf_staff@amf.example",
     "UCLG ASPAC: aspac_signatory@aspac.example", "Innovation"],
]
DELIVERABLES = [
    [MOU, "Capacity building", "Gender mainstreaming workshop", "metro_staff@metropolis.example",
     "2026-06-30", "done"],
    [MOU, "Knowledge sharing", "Joint report on the 2030 Agenda", "aspac_staff@aspac.example",
     "2027-02-01", "in_progress"],
    [C2C, "Innovation", "Study visit to Barcelona", "amf_staff@amf.example", "2027-03-15", ""],
]


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _row(**cells: str) -> list[str]:
    base = dict(zip(AGREEMENT_HEADER, GOOD[1], strict=True))
    base.update(cells)
    return [base[name] for name in AGREEMENT_HEADER]


async def _import(database: Database, clock: FixedClock, path: Path, *, dry_run: bool = False,
                  **kwargs: Any) -> ImportReport:
    return await import_file(database, path, dry_run=dry_run, clock=clock, **kwargs)


async def _agreements(world: World) -> list[dict[str, Any]]:
    items = (await world.ok("admin", "GET", "/agreements"))["items"]
    return [await world.ok("admin", "GET", f"/agreements/{a['id']}") for a in items]


def _deliverables(agreement: dict[str, Any]) -> list[tuple[str, str, str | None, str]]:
    return [(area["title"], d["title"], d["due_on"], d["status"])
            for area in agreement["areas"] for d in area["deliverables"]]


async def test_a_good_file_imports_in_the_states_it_names(world: World, database: Database,
                                                          clock: FixedClock, tmp_path: Path) -> None:
    agreements = _csv(tmp_path / "agreements.csv", AGREEMENT_HEADER, GOOD)
    deliverables = _csv(tmp_path / "deliverables.csv", DELIVERABLE_HEADER, DELIVERABLES)

    report = await _import(database, clock, agreements, deliverables_path=deliverables)

    assert report.ok, report.lines()
    assert [line for line, _, _ in report.created] == [2, 4, 5]  # the summary on line 2 spans two lines
    assert report.deliverables_created == 3
    by_title = {a["title"]: a for a in await _agreements(world)}
    assert set(by_title) == {MOU, AMF, C2C}
    mou = by_title[MOU]
    assert (mou["state"], mou["version"], mou["effective_from"], mou["ends_on"], mou["next_review_on"],
            mou["review_every_months"]) == ("active", 1, "2019-04-06", "2027-04-05", "2027-01-15", 12)
    assert mou["summary"] == "A framework of collaboration.\nSigned in Montevideo."
    assert [(p["organisation"]["name"], [f["person"]["email"] for f in p["focal_points"]],
             [s["person"]["email"] for s in p["signatories"]]) for p in mou["parties"]] == [
        ("Metropolis", ["metro_staff@metropolis.example"], ["metro_signatory@metropolis.example"]),
        ("UCLG ASPAC", ["aspac_staff@aspac.example"], ["aspac_signatory@aspac.example"])]
    assert _deliverables(mou) == [
        ("Capacity building", "Gender mainstreaming workshop", "2026-06-30", "done"),
        ("Knowledge sharing", "Joint report on the 2030 Agenda", "2027-02-01", "in_progress")]
    assert by_title[AMF]["state"] == "draft"
    c2c = by_title[C2C]
    assert c2c["state"] == "signed"
    assert [(p["organisation"]["name"], p["role"]) for p in c2c["parties"]] == [
        ("Metropolis", "party"), ("UCLG ASPAC", "party"), ("Asian Mayors Forum", "supporter")]
    assert _deliverables(c2c) == [("Innovation", "Study visit to Barcelona", "2027-03-15", "planned")]

    [event] = (await world.ok("admin", "GET", f"/agreements/{mou['id']}/history"))["items"]
    assert (event["kind"], event["event"], event["to_state"], event["version"]) == ("imported", "import",
                                                                                     "active", 1)
    assert event["comment"] == "Imported from agreements.csv line 2, in state active."
    assert event["data"]["file"] == "agreements.csv"
    assert event["data"]["line"] == 2
    # An imported agreement is a normal agreement from here on: its events are the state's events.
    assert "start_review" in mou["available_events"]
    # Partners see imported agreements like any other, scoped by party.
    assert {a["title"] for a in (await world.ok("amf_partner", "GET", "/agreements"))["items"]} == {AMF, C2C}


async def test_importing_the_same_file_twice_changes_nothing(world: World, database: Database,
                                                             clock: FixedClock, tmp_path: Path) -> None:
    agreements = _csv(tmp_path / "agreements.csv", AGREEMENT_HEADER, GOOD)
    deliverables = _csv(tmp_path / "deliverables.csv", DELIVERABLE_HEADER, DELIVERABLES)
    await _import(database, clock, agreements, deliverables_path=deliverables)
    before = await _agreements(world)

    again = await _import(database, clock, agreements, deliverables_path=deliverables)

    assert again.ok
    assert again.created == []
    assert again.deliverables_created == 0
    assert [(line, title) for line, title, _ in again.unchanged] == [(2, MOU), (4, AMF), (5, C2C)]
    assert await _agreements(world) == before  # same rows, same versions, same deliverables
    assert "0 agreement(s) with 0 deliverable(s); 3 already there" in again.lines()[-1]


async def test_dry_run_reports_every_bad_row_and_writes_nothing(world: World, database: Database,
                                                                clock: FixedClock, tmp_path: Path) -> None:
    rows = [
        GOOD[0],                                                       # lines 2-3
        _row(title="Bad date", effective_from="2019-13-01"),           # line 4
        _row(title="Unknown state", state="signed_off"),               # line 5
        _row(title="Unknown organisation", parties="Metropolis; Atlantis League"),  # line 6
        _row(title=""),                                                # line 7
        _row(title="Ends before it starts", effective_from="2027-01-01", ends_on="2026-12-31"),  # line 8
        _row(title="Wrong person", focal_points="Metropolis: aspac_staff@aspac.example"),  # line 9
        _row(title=MOU, parties="UCLG ASPAC; Metropolis", areas="Other"),  # line 10: same as line 2
        _row(title="Bad number", review_every_months="twelve"),        # line 11
        GOOD[1],                                                       # line 12
    ]
    broken = _csv(tmp_path / "broken.csv", AGREEMENT_HEADER, rows)
    deliverables = _csv(tmp_path / "broken-deliverables.csv", DELIVERABLE_HEADER, [
        [MOU, "No such area", "Anything", "", "", ""],                               # line 2
        [MOU, "Capacity building", "Not a focal point's", "metro_signatory@metropolis.example", "", ""],
        [MOU, "Capacity building", "Odd status", "", "", "finished"],                # line 4
        ["Bad date", "Urban resilience", "Of a bad agreement", "", "", ""],          # line 5
        [AMF, "Urban resilience", "Bad due date", "", "next spring", ""],            # line 6
        [AMF, "Urban resilience", "Fine", "metro_staff@metropolis.example", "2027-05-01", ""],  # line 7
    ])

    report = await _import(database, clock, broken, dry_run=True, deliverables_path=deliverables)

    reasons = {(p.source, p.line): p.reason for p in report.problems}
    expected = {
        ("broken.csv", 4): "effective_from '2019-13-01' is not a date",
        ("broken.csv", 5): "state 'signed_off' is not a state of collaboration_agreement",
        ("broken.csv", 6): "there is no organisation 'Atlantis League'",
        ("broken.csv", 7): "title is missing",
        ("broken.csv", 8): "ends_on (2026-12-31) is not after effective_from (2027-01-01)",
        ("broken.csv", 9): "UCLG ASPAC focal point (aspac_staff@aspac.example) belongs to UCLG ASPAC, "
                           "not to Metropolis",
        ("broken.csv", 10): "the same agreement (title and parties) is already on line 2",
        ("broken.csv", 11): "review_every_months 'twelve' must be a whole number",
        ("broken-deliverables.csv", 2): "'No such area' is not one of the areas",
        ("broken-deliverables.csv", 3): "is not a focal point of",
        ("broken-deliverables.csv", 4): "status 'finished' is not one of",
        ("broken-deliverables.csv", 5): "its agreement 'Bad date' is on bad line 4",
        ("broken-deliverables.csv", 6): "due_on 'next spring' is not a date",
    }
    assert set(reasons) == set(expected), report.lines()
    for key, words in expected.items():
        assert words in reasons[key], (key, reasons[key])
    assert [(line, title) for line, title, _ in report.created] == [(2, MOU), (12, AMF)]
    assert "Nothing was written" in report.lines()[-1]
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0

    # A real import writes the good rows and still names the bad ones.
    real = await _import(database, clock, broken, deliverables_path=deliverables)
    assert {(p.source, p.line) for p in real.problems} == set(expected)
    assert {a["title"] for a in await _agreements(world)} == {MOU, AMF}


async def test_a_wrong_header_stops_before_any_row(world: World, database: Database, clock: FixedClock,
                                                   tmp_path: Path) -> None:
    path = _csv(tmp_path / "typo.csv", ["title", "parties", "ends_of"], [["A", "Metropolis", "2027-01-01"]])
    report = await _import(database, clock, path)
    [problem] = report.problems
    assert (problem.line, problem.reason.split(";")[0]) == (1, "unknown column(s) ends_of")
    assert report.created == []
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0
    with pytest.raises(ImportFileError, match="reads .csv and .xlsx"):
        await _import(database, clock, _csv(tmp_path / "agreements.txt", ["title"], []))


async def test_xlsx_with_a_deliverables_sheet(world: World, database: Database, clock: FixedClock,
                                              tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Agreements"
    sheet.append(AGREEMENT_HEADER)
    for row in GOOD:  # real date and number cells, as a spreadsheet holds them
        cells: list[Any] = list(row)
        for name in ("effective_from", "ends_on", "next_review_on"):
            i = AGREEMENT_HEADER.index(name)
            cells[i] = date.fromisoformat(cells[i]) if cells[i] else None
        i = AGREEMENT_HEADER.index("review_every_months")
        cells[i] = int(cells[i]) if cells[i] else None
        sheet.append(cells)
    sheet.append(_row(title="Bad date", effective_from="not a date"))
    deliverables = workbook.create_sheet("Deliverables")
    deliverables.append(DELIVERABLE_HEADER)
    for row in DELIVERABLES:
        deliverables.append([*row[:4], date.fromisoformat(row[4]), row[5]])
    path = tmp_path / "agreements.xlsx"
    workbook.save(path)

    dry = await _import(database, clock, path, dry_run=True)
    assert [(p.source, p.line) for p in dry.problems] == [("agreements.xlsx sheet Agreements", 5)]
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0

    report = await _import(database, clock, path)
    assert [line for line, _, _ in report.created] == [2, 3, 4]
    assert report.deliverables_created == 3
    by_title = {a["title"]: a for a in await _agreements(world)}
    assert by_title[MOU]["effective_from"] == "2019-04-06"
    assert by_title[MOU]["review_every_months"] == 12
    assert _deliverables(by_title[C2C]) == [("Innovation", "Study visit to Barcelona", "2027-03-15", "planned")]
    # The same agreements as CSV are recognised as already there.
    again = await _import(database, clock, _csv(tmp_path / "agreements.csv", AGREEMENT_HEADER, GOOD))
    assert again.created == []
    assert len(again.unchanged) == 3


async def test_an_export_imports_as_it_is(world: World, database: Database, clock: FixedClock,
                                          tmp_path: Path) -> None:
    agreement = await world.signed(next_review_on="2027-06-01")
    await world.draft(title="A second agreement")
    export = await world.call("admin", "GET", "/exports/agreements.csv")
    path = tmp_path / "export.csv"
    path.write_bytes(export.content)

    report = await _import(database, clock, path, dry_run=True)

    assert report.ok, report.lines()
    assert report.created == []
    assert [agreement_id for _, _, agreement_id in report.unchanged] == [agreement["id"], agreement["id"] + 1]


def test_the_accord_import_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCORD_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    created = runner.invoke(cli, ["admin", "create", "--name", "Ada", "--email", "ada@example.org",
                                  "--organisation", "Metropolis"])
    assert created.exit_code == 0, created.output
    good = _csv(tmp_path / "one.csv", ["title", "parties", "state", "focal_points", "areas"],
                [["Metropolis work plan", "Metropolis", "draft", "ada@example.org", "Planning"]])

    dry = runner.invoke(cli, ["import", str(good), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "1 agreement(s) would be imported" in dry.output
    assert "Nothing was written" in dry.output
    first = runner.invoke(cli, ["import", str(good), "--as", "ada@example.org"])
    assert first.exit_code == 0, first.output
    assert "Imported 1 agreement(s)" in first.output
    second = runner.invoke(cli, ["import", str(good)])
    assert "Imported 0 agreement(s) with 0 deliverable(s); 1 already there" in second.output

    bad = _csv(tmp_path / "bad.csv", ["title", "parties", "state"], [["X", "Nowhere", "draft"]])
    failed = runner.invoke(cli, ["import", str(bad), "--dry-run"])
    assert failed.exit_code == 1
    assert "bad.csv line 2: there is no organisation 'Nowhere'" in failed.output
    missing = runner.invoke(cli, ["import", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 1
    assert "there is no file" in missing.output

