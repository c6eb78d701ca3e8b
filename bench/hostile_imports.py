"""What a hostile file costs `accord import` to read: time and peak memory, per file.

Builds each file in a temporary directory, then reads it with `engine.importing.read_tables`
(the part of an import that sees the file; the database comes after) in a fresh process, and
prints whether it was read or refused, the wall time and the process's peak resident memory.
The default limits apply (ACCORD_IMPORT_MAX_*, engine/settings.py).

    .venv/bin/python bench/hostile_imports.py
"""

from __future__ import annotations

import io
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"


def _plain(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Agreements"
    sheet.append(["title", "parties", "state", "areas"])
    sheet.append(["Metropolis work plan", "Metropolis", "draft", "Planning"])
    workbook.save(path)
    return path


def _honest(path: Path) -> Path:
    """The largest honest file: 10,000 agreements, every column filled."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Agreements"
    sheet.append(["title", "workflow", "state", "parties", "supporters", "summary", "effective_from", "ends_on",
                  "review_every_months", "next_review_on", "notice_period_days", "signed_on", "signing_place",
                  "focal_points", "signatories", "areas"])
    for i in range(10_000):
        sheet.append([f"Agreement {i}", "collaboration_agreement", "active", "Metropolis; UCLG ASPAC", "",
                      "A framework of collaboration. " * 10, date(2020, 1, 1), date(2030, 1, 1), 12,
                      date(2027, 1, 1), 90, date(2019, 4, 6), "Montevideo",
                      "Metropolis: a@metropolis.example; UCLG ASPAC: b@aspac.example",
                      "Metropolis: c@metropolis.example", "Capacity building; Knowledge sharing"])
    workbook.save(path)
    return path


def _with_sheet(path: Path, chunks: Callable[[], Iterator[bytes]], declared: str = "A1:XFD1048576") -> Path:
    """A valid workbook whose first sheet is `chunks` inside <sheetData>, declaring `declared`."""
    source = _plain(path.with_suffix(".plain.xlsx"))
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in original.infolist():
            if info.filename != SHEET:
                copy.writestr(info.filename, original.read(info.filename))
                continue
            with copy.open(SHEET, "w", force_zip64=True) as member:
                member.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                             b'<dimension ref="' + declared.encode() + b'"/><sheetData>'
                             b'<row r="1"><c r="A1" t="inlineStr"><is><t>title</t></is></c>'
                             b'<c r="B1" t="inlineStr"><is><t>parties</t></is></c></row>')
                for chunk in chunks():
                    member.write(chunk)
                member.write(b"</sheetData></worksheet>")
    return path


def _repeat(block: bytes, total: int) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        step = block * max(1, 1_000_000 // len(block))
        for _ in range(total // len(step) + 1):
            yield step
    return chunks


def _rows(make: Callable[[int], bytes], count: int, start: int = 2) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        buffer = io.BytesIO()
        for n in range(start, start + count):
            buffer.write(make(n))
            if buffer.tell() > 1_000_000:
                yield buffer.getvalue()
                buffer = io.BytesIO()
        yield buffer.getvalue()
    return chunks


def _letters(column: int) -> bytes:
    letters = b""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = bytes([65 + rest]) + letters
    return letters


def cases(folder: Path) -> list[tuple[str, Path]]:
    corner = b'<row r="1048576"><c r="BM1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    row = b'<row><c t="inlineStr"><is><t>Metropolis</t></is></c></row>'
    csv_wide = folder / "wide.csv"
    csv_wide.write_bytes(b"title,parties\n" + b"," * 9_000_000 + b"\n")
    csv_rows = folder / "rows.csv"
    csv_rows.write_bytes(b"title,parties\n" + b"Plan,Metropolis\n" * 600_000)
    return [
        ("declared A1:XFD1048576, value in BM1048576", _with_sheet(folder / "corner.xlsx", lambda: iter([corner]))),
        ("declared A1:XFD1048576, value in XFD1048576", _with_sheet(folder / "far.xlsx", lambda: iter([far]))),
        ("zip bomb: 400 MB of rows", _with_sheet(folder / "bomb.xlsx", _repeat(row, 400_000_000))),
        ("1M empty rows, each one styled cell in XFD",
         _with_sheet(folder / "styled.xlsx", _rows(lambda n: b'<row r="%d"><c r="XFD%d" s="0"/></row>' % (n, n),
                                                   1_000_000))),
        ("60 rows, each 16,384 styled cells", _with_sheet(folder / "styled-wide.xlsx", _rows(
            lambda n: b'<row r="%d">' % n + b"".join(b'<c r="%s%d" s="0"/>' % (_letters(c), n)
                                                    for c in range(1, 16385)) + b"</row>", 60))),
        ("within the limits: 40 rows, each 16,000 styled cells", _with_sheet(folder / "styled-most.xlsx", _rows(
            lambda n: b'<row r="%d">' % n + b"".join(b'<c r="%s%d" s="0"/>' % (_letters(c), n)
                                                    for c in range(1, 16001)) + b"</row>", 40))),
        ("within the limits: 10,000 rows of data, 16 columns", _honest(folder / "honest.xlsx")),
        ("one row, 16,384 styled cells repeated", _with_sheet(folder / "styled-row.xlsx", _rows(
            lambda n: b'<row r="2">' + b"".join(b'<c r="%s2" s="0"/>' % _letters(c) for c in range(1, 16385)) * 60
            + b"</row>", 1))),
        ("1M blank <row/> elements", _with_sheet(folder / "blank.xlsx", _repeat(b"<row/>", 6_000_000))),
        ("one row of 2M styled cells", _with_sheet(folder / "cells.xlsx", _rows(
            lambda n: b'<row r="2">' + b'<c s="0"/>' * 2_000_000 + b"</row>", 1))),
        ("10,001 rows of data", _with_sheet(folder / "many.xlsx", _rows(
            lambda n: b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>Plan %d</t></is></c></row>' % (n, n, n), 10_001))),
        ("CSV: 9 MB of commas on one line", csv_wide),
        ("CSV: 600,000 rows", csv_rows),
    ]


def read(path: str) -> None:
    from engine.importing import ImportFileError, ImportLimits, read_tables
    from engine.settings import Settings

    started = time.perf_counter()
    try:
        tables = read_tables(Path(path), None, ImportLimits.of(Settings()))
        outcome = f"read, {len(tables.agreements.rows)} row(s)"
    except ImportFileError as error:
        outcome = f"refused: {str(error)[:90]}"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{time.perf_counter() - started:7.2f} s {peak:7.0f} MB  {outcome}")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--read":
        read(sys.argv[2])
        return
    with tempfile.TemporaryDirectory() as folder:
        for name, path in cases(Path(folder)):
            print(f"{name} ({path.stat().st_size:,} bytes)")
            subprocess.run([sys.executable, __file__, "--read", str(path)], check=True)


if __name__ == "__main__":
    main()
