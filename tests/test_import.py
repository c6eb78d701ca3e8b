"""`accord import`: every bad row caught with its line, good files imported once, CSV and XLSX."""

from __future__ import annotations

import csv
import random
import re
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import Result
from typer.testing import CliRunner

from api.cli import app as cli
from engine.clock import FixedClock
from engine.db import Database
from engine.importing import ImportFileError, ImportLimits, ImportReport, import_file
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
        ("broken.csv", 8): "ends_on (2026-12-31) must be after effective_from (2027-01-01)",
        ("broken.csv", 9): "UCLG ASPAC focal point (aspac_staff@aspac.example) belongs to UCLG ASPAC, "
                           "not to Metropolis",
        ("broken.csv", 10): "the same agreement (title and parties) is already on line 2",
        ("broken.csv", 11): "review_every_months 'twelve' must be a whole number",
        ("broken-deliverables.csv", 2): "'No such area' is not one of the areas",
        ("broken-deliverables.csv", 3): "is not a focal point of",
        ("broken-deliverables.csv", 4): "status: Input should be 'planned', 'in_progress', 'done' or 'cancelled'",
        ("broken-deliverables.csv", 5): "its agreement 'Bad date' is on bad line 4",
        ("broken-deliverables.csv", 6): "due_on 'next spring' is not a date",
    }
    assert set(reasons) == set(expected), report.lines()
    for key, words in expected.items():
        assert words in reasons[key], (key, reasons[key])
    assert [(line, title) for line, title, _ in report.created] == [(2, MOU), (12, AMF)]
    assert "Nothing was written" in report.lines()[-1]
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0

    # A real import names the same bad rows and writes none of the good ones: every row or none.
    real = await _import(database, clock, broken, deliverables_path=deliverables)
    assert {(p.source, p.line) for p in real.problems} == set(expected)
    assert real.created == []
    assert "Nothing was imported: 13 bad row(s)" in real.lines()[-1]
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0


async def test_a_wrong_header_stops_before_any_row(world: World, database: Database, clock: FixedClock,
                                                   tmp_path: Path) -> None:
    path = _csv(tmp_path / "typo.csv", ["title", "parties", "ends_of"], [["A", "Metropolis", "2027-01-01"]])
    report = await _import(database, clock, path)
    [problem] = report.problems
    assert (problem.line, problem.reason.split(";")[0]) == (1, "unknown column(s) ends_of")
    assert report.created == []
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0
    # A column named twice would keep one of its values and drop the other unseen.
    twice = _csv(tmp_path / "twice.csv", ["title", "parties", "Title"], [["A", "Metropolis", "B"]])
    [problem] = (await _import(database, clock, twice, dry_run=True)).problems
    assert (problem.line, problem.reason) == (1, "column(s) title named more than once; keep one of each.")
    # So would a value under no name.
    unnamed = _csv(tmp_path / "unnamed.csv", ["title", "parties", ""], [["A", "Metropolis", "a note"]])
    [problem] = (await _import(database, clock, unnamed, dry_run=True)).problems
    assert (problem.line, problem.reason) == (2, "a value in column 3, which has no name in the first row; "
                                                 "name the column or clear the value.")
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
    refused = await _import(database, clock, path)
    assert [(p.source, p.line) for p in refused.problems] == [("agreements.xlsx sheet Agreements", 5)]
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0

    sheet.delete_rows(5)
    workbook.save(path)
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



# --- hostile and broken files: bounded, refused in one line --------------------------------------

DIMENSION = re.compile(rb'<dimension ref="[^"]*"\s*/>')
SHEET = "xl/worksheets/sheet1.xml"


def _workbook(path: Path, rows: list[list[Any]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Agreements"
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def _rezip(source: Path, target: Path, sheet: Callable[[bytes], bytes]) -> Path:
    """`source` with its first sheet's XML passed through `sheet`: a workbook as a hostile tool writes it."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in original.infolist():
            data = original.read(info.filename)
            copy.writestr(info.filename, sheet(data) if info.filename == SHEET else data)
    return target


def _one_good_row(tmp_path: Path) -> Path:
    return _workbook(tmp_path / "plain.xlsx", [["title", "parties", "state", "areas"],
                                               ["Metropolis work plan", "Metropolis", "draft", "Planning"]])


def _declare_whole_sheet(data: bytes, extra_rows: bytes = b"") -> bytes:
    assert DIMENSION.search(data), data[:400]
    data = DIMENSION.sub(b'<dimension ref="A1:XFD1048576"/>', data)
    return data.replace(b"</sheetData>", extra_rows + b"</sheetData>")


def _invoke(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    variables = {"ACCORD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", **(env or {})}
    return CliRunner().invoke(cli, ["import", *args], env=variables)


def _assert_one_line(result: Result, *words: str) -> str:
    """The command refused in one `accord:` line on stderr, with exit status 1 and no traceback."""
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("accord: "), lines
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


async def test_a_declared_dimension_of_the_whole_sheet_costs_nothing(world: World, database: Database,
                                                                       clock: FixedClock,
                                                                       tmp_path: Path) -> None:
    # A1:XFD1048576 is 17 billion cells; only the two rows really in the sheet are read.
    path = _rezip(_one_good_row(tmp_path), tmp_path / "declared.xlsx", _declare_whole_sheet)

    report = await _import(database, clock, path)

    assert report.ok, report.lines()
    assert [(line, title) for line, title, _ in report.created] == [(2, "Metropolis work plan")]
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 1


async def test_a_value_far_out_in_the_sheet_is_refused(database: Database, clock: FixedClock,
                                                       tmp_path: Path) -> None:
    # The same 5 KB file with one value at the bottom of the sheet: once 20 minutes padding every
    # row to the 16384 columns declared, now a refusal as soon as the rows pass the limit.
    for far in (b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>',
                b'<row r="10002"><c r="A10002" t="inlineStr"><is><t>x</t></is></c></row>'):
        path = _rezip(_one_good_row(tmp_path), tmp_path / "far.xlsx", partial(_declare_whole_sheet, extra_rows=far))
        with pytest.raises(ImportFileError, match=r"far.xlsx sheet Agreements has more than 10000 rows after its "
                                                  r"header \(ACCORD_IMPORT_MAX_ROWS; blank rows count\)"):
            await _import(database, clock, path, dry_run=True)
    # One column past the limit, on the sheet's second row.
    wide = b'<row r="3"><c r="BM3" t="inlineStr"><is><t>x</t></is></c></row>'
    path = _rezip(_one_good_row(tmp_path), tmp_path / "wide.xlsx", lambda data: _declare_whole_sheet(data, wide))
    with pytest.raises(ImportFileError, match=r"wide.xlsx sheet Agreements line 3 has a value in column 65; a file "
                                              r"has at most 64 columns \(ACCORD_IMPORT_MAX_COLUMNS\)"):
        await _import(database, clock, path, dry_run=True)


async def test_a_zip_bomb_is_refused_before_it_is_unpacked(database: Database, clock: FixedClock,
                                                           tmp_path: Path) -> None:
    # 30 MB of rows that deflate to a few hundred KB: within the unpacked limit, far beyond any
    # spreadsheet's compression ratio.
    row = b'<row><c t="inlineStr"><is><t>Metropolis</t></is></c><c t="inlineStr"><is><t>x</t></is></c></row>'
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(_one_good_row(tmp_path)) as original, \
            zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as copy:
        for info in original.infolist():
            data = original.read(info.filename)
            if info.filename != SHEET:
                copy.writestr(info.filename, data)
                continue
            head, _, tail = data.partition(b"</sheetData>")
            with copy.open(SHEET, "w") as member:
                member.write(head)
                block = row * (1_000_000 // len(row))
                for _ in range(30):
                    member.write(block)
                member.write(b"</sheetData>" + tail)
    assert bomb.stat().st_size < 500_000

    with pytest.raises(ImportFileError, match=r"bomb.xlsx: its part xl/worksheets/sheet1.xml is compressed "
                                              r"\d+ times; a spreadsheet never is more than 100 times"):
        await _import(database, clock, bomb, dry_run=True)
    # The same file through the command: one line, exit status 1.
    _assert_one_line(_invoke(tmp_path, str(bomb), "--dry-run"), "bomb.xlsx", "compressed")


async def test_cells_are_counted_before_openpyxl_builds_them(database: Database, clock: FixedClock,
                                                             tmp_path: Path) -> None:
    # openpyxl builds every cell of a row, past the column limit too: 16385 cells in one row of a
    # 40 KB file would be 16385 of them, and a few million such cells hundreds of megabytes.
    def letters(column: int) -> str:
        return openpyxl.utils.get_column_letter(column)

    row = "".join(f'<c r="{letters(c)}2" s="0"/>' for c in range(1, 16386))
    path = _rezip(_one_good_row(tmp_path), tmp_path / "long-row.xlsx",
                  partial(_declare_whole_sheet, extra_rows=f'<row r="3">{row}</row>'.encode()))
    with pytest.raises(ImportFileError, match=r"long-row.xlsx has a row of more than 16384 cells"):
        await _import(database, clock, path, dry_run=True)

    # Formatted empty cells count: a few rows formatted far to the right hold more cells than
    # the rows and columns allowed.
    limits = ImportLimits(max_bytes=1_000_000, max_unpacked_bytes=1_000_000, max_rows=3, max_columns=6,
                          max_cell_chars=500)
    styled = "".join(f'<row r="{r}">' + "".join(f'<c r="{letters(c)}{r}" s="0"/>' for c in range(1, 12))
                     + "</row>" for r in range(3, 6))
    path = _rezip(_one_good_row(tmp_path), tmp_path / "styled.xlsx",
                  partial(_declare_whole_sheet, extra_rows=styled.encode()))
    with pytest.raises(ImportFileError, match=r"styled.xlsx holds more than 35 cells, formatted empty ones included"):
        await _import(database, clock, path, dry_run=True, limits=limits)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
async def test_rows_columns_and_cells_are_bounded(world: World, database: Database, clock: FixedClock,
                                                  tmp_path: Path, kind: str) -> None:
    header = ["title", "parties", "state", "areas"]

    def write(name: str, rows: list[list[Any]]) -> Path:
        if kind == "csv":
            return _csv(tmp_path / f"{name}.csv", header, rows)
        return _workbook(tmp_path / f"{name}.xlsx", [header, *rows])

    limits = ImportLimits(max_bytes=1_000_000, max_unpacked_bytes=1_000_000, max_rows=3, max_columns=6,
                          max_cell_chars=500)
    rows = [[f"Plan {i}", "Metropolis", "draft", "Planning"] for i in range(3)]
    three = await _import(database, clock, write("three", rows), dry_run=True, limits=limits)
    assert three.ok, three.lines()
    assert len(three.created) == 3

    with pytest.raises(ImportFileError, match=r"four\.\w+ (sheet Agreements )?has more than 3 rows after its header "
                                              r"\(ACCORD_IMPORT_MAX_ROWS; blank rows count\)"):
        await _import(database, clock, write("four", [*rows, ["Plan 4", "Metropolis", "draft", "x"]]),
                      limits=limits)
    with pytest.raises(ImportFileError, match=r"more than 3 rows after its header"):  # a blank row counts
        await _import(database, clock, write("blank", [rows[0], ["", "", "", ""], *rows[1:]]), limits=limits)
    wide = [[*row, "", "", ""] for row in rows]
    wide[1][6] = "a note in the seventh column"
    with pytest.raises(ImportFileError, match=r"line 3 has a value in column 7; a file has at most 6 columns "
                                              r"\(ACCORD_IMPORT_MAX_COLUMNS\)"):
        await _import(database, clock, write("wide", wide), limits=limits)
    long = [list(row) for row in rows]
    long[2][0] = "x" * 501
    with pytest.raises(ImportFileError, match=r"line 4 has a cell of more than 500 characters "
                                              r"\(ACCORD_IMPORT_MAX_CELL_CHARS\)"):
        await _import(database, clock, write("long", long), limits=limits)
    small = replace(limits, max_bytes=1024)
    big = write("big", [[f"Plan {i}", "Metropolis", "draft", "y" * 400] for i in range(3)])
    with pytest.raises(ImportFileError, match=r"big\.\w+ is [\d,]+ bytes, more than the 1,024 allowed "
                                              r"\(ACCORD_IMPORT_MAX_BYTES\)"):
        await _import(database, clock, big, limits=small)
    if kind == "xlsx":
        with pytest.raises(ImportFileError, match=r"unpacks to [\d,]+ bytes, more than the 5,000 allowed "
                                                  r"\(ACCORD_IMPORT_MAX_UNPACKED_BYTES\)"):
            await _import(database, clock, write("three", rows), limits=replace(limits, max_unpacked_bytes=5000))
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0


def test_the_limits_are_settings(tmp_path: Path) -> None:
    path = _csv(tmp_path / "two.csv", ["title", "parties"], [["A", "Metropolis"], ["B", "Metropolis"]])
    _assert_one_line(_invoke(tmp_path, str(path), "--dry-run", env={"ACCORD_IMPORT_MAX_ROWS": "1"}),
                     "two.csv has more than 1 rows after its header (ACCORD_IMPORT_MAX_ROWS")


def test_a_corrupt_file_is_one_line(tmp_path: Path) -> None:
    random_bytes = tmp_path / "random.xlsx"
    random_bytes.write_bytes(random.Random(9).randbytes(4096))
    good = _one_good_row(tmp_path)
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    not_a_workbook = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(not_a_workbook, "w") as archive:
        archive.writestr("holiday.jpg", b"\xff\xd8\xff" + bytes(100))
    broken_xml = _rezip(good, tmp_path / "broken.xlsx", lambda data: data[: len(data) // 2])
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("title,parties\nCoopération,Metropolis\n".encode("latin-1"))
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("title,parties\nPlan,Metropolis\n".encode("utf-16"))

    for path, words in [
        (random_bytes, ["random.xlsx is not an XLSX workbook"]),
        (truncated, ["truncated.xlsx is not an XLSX workbook"]),
        (not_a_workbook, ["photos.xlsx is not a readable XLSX workbook"]),
        (broken_xml, ["broken.xlsx is not a readable XLSX workbook"]),
        (empty, ["empty.xlsx is not an XLSX workbook"]),
        (latin1, ["latin1.csv is not UTF-8 text", "CSV UTF-8"]),
        (utf16, ["utf16.csv is not UTF-8 text"]),
    ]:
        _assert_one_line(_invoke(tmp_path, str(path), "--dry-run"), *words)
        _assert_one_line(_invoke(tmp_path, str(path)), *words)


# --- the dry run applies the API's rules; the real import writes every row or none ----------------

async def test_a_nul_in_a_cell_is_a_bad_row(world: World, database: Database, clock: FixedClock,
                                            tmp_path: Path) -> None:
    # PostgreSQL cannot hold U+0000: a NUL once broke the dry run's lookups there.
    path = _csv(tmp_path / "nul.csv", AGREEMENT_HEADER, [
        _row(title="Nul\x00title"),                                          # line 2
        _row(title="Nul summary", summary="A framework\x00of collaboration."),  # line 3
        _row(title="Nul email", focal_points="metro_staff@metropolis.example\x00"),  # line 4
        _row(title="Nul area", areas="Urban\x00resilience"),                   # line 5
        GOOD[1],                                                                # line 6
    ])
    deliverables = _csv(tmp_path / "nul-deliverables.csv", DELIVERABLE_HEADER + ["progress_note"], [
        [AMF, "Urban resilience", "Nul\x00report", "", "", "", ""],            # line 2
        [AMF, "Urban resilience", "Report", "", "", "", "Draft\x00sent"],      # line 3
    ])

    for dry_run in (True, False):
        report = await _import(database, clock, path, dry_run=dry_run, deliverables_path=deliverables)
        reasons = {(p.source, p.line): p.reason for p in report.problems}
        assert set(reasons) == {("nul.csv", 2), ("nul.csv", 3), ("nul.csv", 4), ("nul.csv", 5),
                                ("nul-deliverables.csv", 2), ("nul-deliverables.csv", 3)}, report.lines()
        assert reasons[("nul.csv", 2)].startswith("title: must be one line of text without control characters; "
                                                  "remove the NUL character (U+0000)")
        assert reasons[("nul.csv", 3)].startswith("summary: may hold line breaks and tabs but no other control "
                                                  "character; remove the NUL character (U+0000)")
        assert reasons[("nul.csv", 4)] == ("there is no person with the email 'metro_staff@metropolis.example\\x00' "
                                           "(in focal_points).")
        assert reasons[("nul.csv", 5)].startswith("areas: must be one line of text without control characters; "
                                                  "remove the NUL character (U+0000)")
        assert reasons[("nul-deliverables.csv", 2)].startswith("title: must be one line of text without control "
                                                               "characters; remove the NUL character (U+0000)")
        assert reasons[("nul-deliverables.csv", 3)].startswith("progress_note: may hold line breaks and tabs but no "
                                                               "other control character; remove the NUL character")
        assert report.created == ([(6, AMF, None)] if dry_run else [])
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0


async def test_a_value_too_long_is_caught_by_the_dry_run(world: World, database: Database, clock: FixedClock,
                                                         tmp_path: Path) -> None:
    # Each of these passed the dry run and then stopped the real import half-way on PostgreSQL.
    header = [*AGREEMENT_HEADER, "signing_place"]
    path = _csv(tmp_path / "long.csv", header, [
        [*GOOD[0], "Montevideo"],                                              # lines 2-3
        [*_row(title="Long place"), "M" * 201],                                # line 4
        [*_row(title="Long summary", summary="s" * 20_001), ""],               # line 5
        [*GOOD[1], ""],                                                        # line 6
    ])
    deliverables = _csv(tmp_path / "long-deliverables.csv", [*DELIVERABLE_HEADER, "evidence_url"], [
        [AMF, "Urban resilience", "T" * 301, "", "", "", ""],                  # line 2
        [AMF, "Urban resilience", "Evidence", "", "", "", "https://example.org/" + "e" * 2000],  # line 3
        [MOU, "Capacity building", "Gender mainstreaming workshop", "", "", "", ""],  # line 4
    ])

    dry = await _import(database, clock, path, dry_run=True, deliverables_path=deliverables)

    reasons = {(p.source, p.line): p.reason for p in dry.problems}
    assert reasons == {
        ("long.csv", 4): "signing_place: String should have at most 200 characters.",
        ("long.csv", 5): "summary: String should have at most 20000 characters.",
        ("long-deliverables.csv", 2): "title: String should have at most 300 characters.",
        ("long-deliverables.csv", 3): "evidence_url: URL should have at most 2000 characters.",
    }, dry.lines()
    real = await _import(database, clock, path, deliverables_path=deliverables)
    assert {(p.source, p.line): p.reason for p in real.problems} == reasons
    assert real.created == []
    assert real.lines()[-1] == ("Nothing was imported: 4 bad row(s). Fix them and import again; "
                                "--dry-run checks a file without writing.")
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0


async def test_a_real_import_writes_every_row_or_none(world: World, database: Database, clock: FixedClock,
                                                      tmp_path: Path) -> None:
    path = _csv(tmp_path / "agreements.csv", [*AGREEMENT_HEADER, "notice_period_days"],
                [[*row, ""] for row in GOOD] + [[*_row(title="Bad number"), "0"]])
    deliverables = _csv(tmp_path / "deliverables.csv", DELIVERABLE_HEADER, DELIVERABLES)

    refused = await _import(database, clock, path, deliverables_path=deliverables)

    assert [(p.line, p.reason) for p in refused.problems] == [
        (6, "notice_period_days: Input should be greater than or equal to 1.")]
    assert refused.created == []
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0
    # Fixed, the same file imports every row, with every deliverable.
    fixed = _csv(tmp_path / "agreements.csv", [*AGREEMENT_HEADER, "notice_period_days", "signed_on"],
                 [[*row, "", ""] for row in GOOD] + [[*_row(title="Bad number", state="signed"), "30", "2026-11-20"]])
    report = await _import(database, clock, fixed, deliverables_path=deliverables)
    assert report.ok, report.lines()
    assert [line for line, _, _ in report.created] == [2, 4, 5, 6]
    assert report.deliverables_created == 3
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 4
    written = await world.ok("admin", "GET", f"/agreements/{report.created[-1][2]}")
    assert (written["notice_period_days"], written["signed_on"], written["state"]) == (30, "2026-11-20", "signed")


async def test_an_evidence_url_is_http_or_https(world: World, database: Database, clock: FixedClock,
                                                tmp_path: Path) -> None:
    path = _csv(tmp_path / "agreements.csv", AGREEMENT_HEADER, [GOOD[1]])
    deliverables = _csv(tmp_path / "deliverables.csv", [*DELIVERABLE_HEADER, "evidence_url"], [
        [AMF, "Urban resilience", "Script", "", "", "", "javascript:alert(document.cookie)"],  # line 2
        [AMF, "Urban resilience", "Data", "", "", "", "data:text/html,<script>alert(1)</script>"],  # line 3
        [AMF, "Urban resilience", "Fine", "", "", "", "https://www.metropolis.org/report"],  # line 4
    ])

    dry = await _import(database, clock, path, dry_run=True, deliverables_path=deliverables)

    reasons = {p.line: p.reason for p in dry.problems}
    assert set(reasons) == {2, 3}, dry.lines()
    assert all(r.startswith("evidence_url: ") and "http" in r for r in reasons.values()), reasons
    real = await _import(database, clock, path, deliverables_path=deliverables)
    assert real.created == []
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0


async def test_dates_beyond_the_api_range_are_bad_rows(world: World, database: Database, clock: FixedClock,
                                                       tmp_path: Path) -> None:
    # Needs the bounded date type of engine/schemas.py (1900-01-01..2199-12-31).
    path = _csv(tmp_path / "agreements.csv", [*AGREEMENT_HEADER, "signed_on"], [
        [*_row(title="Far review", next_review_on="9999-12-31"), ""],        # line 2
        [*_row(title="Early start", effective_from="0001-01-01"), ""],       # line 3
        [*GOOD[1], ""],                                                       # line 4
        [*_row(title="Signed in the future", state="signed"), "9999-12-31"],  # line 5
    ])
    deliverables = _csv(tmp_path / "deliverables.csv", DELIVERABLE_HEADER, [
        [AMF, "Urban resilience", "Far away", "", "9999-12-31", ""],          # line 2
    ])

    dry = await _import(database, clock, path, dry_run=True, deliverables_path=deliverables)

    reasons = {(p.source, p.line): p.reason for p in dry.problems}
    assert set(reasons) == {("agreements.csv", 2), ("agreements.csv", 3), ("agreements.csv", 5),
                            ("deliverables.csv", 2)}, dry.lines()
    assert reasons[("agreements.csv", 2)].startswith("next_review_on: ")
    assert reasons[("agreements.csv", 3)].startswith("effective_from: ")
    assert reasons[("agreements.csv", 5)].startswith("signed_on: ")
    assert reasons[("deliverables.csv", 2)].startswith("due_on: ")
    real = await _import(database, clock, path, deliverables_path=deliverables)
    assert real.created == []
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0


async def test_control_characters_in_one_line_text_are_bad_rows(world: World, database: Database,
                                                                clock: FixedClock, tmp_path: Path) -> None:
    # Needs the control-character refusal of engine/schemas.py's Input base; summaries keep newlines.
    path = _csv(tmp_path / "agreements.csv", [*AGREEMENT_HEADER, "signing_place"], [
        [*_row(title="Reminder\r\nBcc: everyone@example.org"), ""],           # line 2
        [*_row(title="Escape"), "Montevideo\x1b[2J"],                          # line 4: the row above takes two
        [*_row(title="Two paragraphs", summary="First.\nSecond."), ""],        # lines 5-6
    ])

    dry = await _import(database, clock, path, dry_run=True)

    assert {p.line for p in dry.problems} == {2, 4}, dry.lines()
    assert [title for _, title, _ in dry.created] == ["Two paragraphs"]


async def test_a_disabled_person_is_not_named_by_an_import(world: World, database: Database, clock: FixedClock,
                                                           tmp_path: Path) -> None:
    await world.ok("admin", "PATCH", f"/people/{world.metro_staff.id}", json={"active": False})
    path = _csv(tmp_path / "agreements.csv", AGREEMENT_HEADER, [_row(title="Named while disabled")])

    for dry_run in (True, False):
        report = await _import(database, clock, path, dry_run=dry_run)
        assert [(p.line, p.reason) for p in report.problems] == [
            (2, "Agnès Bickart (metro_staff@metropolis.example) is disabled and cannot be named (in focal_points); "
                "enable them or name someone else.")], report.lines()
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0


async def test_an_export_headed_in_french_imports_as_it_is(world: World, database: Database, clock: FixedClock,
                                                          tmp_path: Path) -> None:
    # A file exported with French headings (`?lang=fr`) is read back: the importer knows each
    # column by its heading in any language.
    agreement = await world.signed(next_review_on="2027-06-01")
    export = await world.call("admin", "GET", "/exports/agreements.csv", params={"lang": "fr"})
    assert export.content.decode("utf-8-sig").startswith("numéro,titre,procédure,")
    path = tmp_path / "export.csv"
    path.write_bytes(export.content)

    report = await _import(database, clock, path, dry_run=True)

    assert report.ok, report.lines()
    assert [agreement_id for _, _, agreement_id in report.unchanged] == [agreement["id"]]
