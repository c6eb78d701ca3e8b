"""Reading an import's file within limits: CSV or XLSX to tables of cells (engine/importing/).

    read_tables    read a file within `ImportLimits` (size, rows, columns, characters in a cell;
                   for XLSX the archive is inspected before any of it is unpacked)

Reading is bounded before and while parsing: nothing a file declares about itself (an XLSX
sheet's dimension, an archive's sizes) is trusted beyond what `zipfile` enforces, and a file
that breaks a limit or cannot be read is one `ImportFileError` that says what to do. Nothing
here touches the database: checking and writing the rows is `engine.importing.service`.
"""

from __future__ import annotations

import csv
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler

import defusedxml.sax as defused_sax
from defusedxml import DefusedXmlException

from engine.reports import column_of
from engine.settings import Settings

# An XLSX workbook is a zip archive of a few dozen XML parts that deflate 5 to 20 times; a
# part that deflates more than 100 times (and unpacks to more than 1 MiB) is a zip bomb.
MAX_PARTS = 1000
EXCEL_COLUMNS = 16_384  # XFD, the last column of a sheet
MAX_RATIO = 100
RATIO_FROM_BYTES = 1024 * 1024
UNNAMED = "#unnamed"  # a row's key for the columns of its values under no name


class ImportFileError(Exception):
    """The file cannot be read at all (missing, not CSV or XLSX, no header, beyond a limit)."""


@dataclass(frozen=True)
class ImportLimits:
    """How much of a file `accord import` reads: `ACCORD_IMPORT_MAX_*` (engine/settings.py)."""

    max_bytes: int
    max_unpacked_bytes: int
    max_rows: int
    max_columns: int
    max_cell_chars: int

    @classmethod
    def of(cls, settings: Settings) -> ImportLimits:
        return cls(max_bytes=settings.import_max_bytes, max_unpacked_bytes=settings.import_max_unpacked_bytes,
                   max_rows=settings.import_max_rows, max_columns=settings.import_max_columns,
                   max_cell_chars=settings.import_max_cell_chars)


@dataclass(frozen=True)
class Table:
    source: str
    columns: list[str]
    rows: list[tuple[int, dict[str, Any]]]  # (line, cells by column)


@dataclass(frozen=True)
class ImportTables:
    """The agreements (and deliverables) of one import, read and within limits."""

    source: str
    agreements: Table
    deliverables: Table | None


def _column(name: Any) -> str:
    """The column a header cell names: an export's heading in any language (`reports.column_of`),
    else the cell as a column's name (`Due On` is `due_on`)."""
    text = str(name or "")
    found = column_of(text)
    return found if found != text else text.strip().lower().replace(" ", "_")


def quoted(text: str, limit: int = 80) -> str:
    """`text` quoted for a message, control characters escaped, cut when long."""
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


def shown(text: str, limit: int = 80) -> str:
    """`text` for a message: as it is when short and printable, else quoted."""
    return text if text.isprintable() and len(text) <= limit else quoted(text, limit)


def _check_cells(source: str, line: int, cells: Sequence[Any], limits: ImportLimits) -> None:
    for i, cell in enumerate(cells):
        if cell is None:
            continue
        if isinstance(cell, str) and len(cell) > limits.max_cell_chars:
            raise ImportFileError(f"{source} line {line} has a cell of more than {limits.max_cell_chars} "
                                  "characters (ACCORD_IMPORT_MAX_CELL_CHARS).")
        if i >= limits.max_columns and (not isinstance(cell, str) or cell.strip()):
            raise ImportFileError(f"{source} line {line} has a value in column {i + 1}; a file has at most "
                                  f"{limits.max_columns} columns (ACCORD_IMPORT_MAX_COLUMNS).")


def _table(source: str, rows: Iterable[tuple[int, Sequence[Any]]], limits: ImportLimits, empty: str) -> Table:
    """The header and the non-blank rows, refusing as soon as a limit is passed.

    Every row after the header counts toward `max_rows`, blank ones too: that bounds the work
    whatever the rows hold, and no row is left unread past the limit.
    """
    columns: list[str] | None = None
    body: list[tuple[int, dict[str, Any]]] = []
    for after_header, (line, cells) in enumerate(rows):
        if after_header > limits.max_rows:
            raise ImportFileError(f"{source} has more than {limits.max_rows} rows after its header "
                                  "(ACCORD_IMPORT_MAX_ROWS; blank rows count): delete the rows below your "
                                  "data, or split it into several files.")
        if cells.count(None) == len(cells):  # a blank row, or a sheet's padding: the fast way past
            columns = [] if columns is None else columns
            continue
        _check_cells(source, line, cells, limits)
        if columns is None:
            columns = [_column(c) for c in cells[:limits.max_columns]]
            continue
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        row = {name: cells[i] if i < len(cells) else None for i, name in enumerate(columns) if name}
        unnamed = [i + 1 for i, c in enumerate(cells)
                   if (i >= len(columns) or not columns[i]) and c is not None and str(c).strip()]
        if unnamed:
            row[UNNAMED] = unnamed  # reported as a bad row: a value is never dropped unseen
        body.append((line, row))
    if columns is None:
        raise ImportFileError(empty)
    return Table(source, columns, body)


def _read_csv(path: Path, limits: ImportLimits) -> Table:
    line = 1
    previous = csv.field_size_limit(limits.max_cell_chars)  # the csv module's bound while parsing
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)

            def records() -> Iterator[tuple[int, list[str]]]:
                nonlocal line
                for cells in reader:
                    yield line, cells  # the line the record starts on
                    line = reader.line_num + 1

            return _table(path.name, records(), limits, f"{path.name} is empty; the first line names the columns.")
    except UnicodeDecodeError:
        raise ImportFileError(f"{path.name} is not UTF-8 text; save it as CSV UTF-8.") from None
    except csv.Error as error:
        if "field limit" in str(error):
            raise ImportFileError(f"{path.name} line {line} has a cell of more than {limits.max_cell_chars} "
                                  "characters (ACCORD_IMPORT_MAX_CELL_CHARS).") from None
        raise ImportFileError(f"{path.name} is not a readable CSV file: {error}") from None
    finally:
        csv.field_size_limit(previous)


def _inspect_archive(path: Path, limits: ImportLimits) -> None:
    """Refuse a workbook that would cost too much to read, before openpyxl touches it.

    First from the archive's directory alone (parts, sizes, compression ratios: `zipfile` holds
    each part to the size its directory gives), then by counting the cells of its sheets as
    they stream past: openpyxl builds every cell of a row, even the ones past the column limit.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            _check_directory(path, parts, limits)
            counter = _CellCounter(path.name, limits)
            for part in parts:
                with archive.open(part) as stream:
                    counter.scan(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, NotImplementedError) as error:
        raise ImportFileError(f"{path.name} is not an XLSX workbook ({_reason(error)}); save it from the "
                              "spreadsheet as .xlsx, or as CSV UTF-8.") from None
    except DefusedXmlException as error:
        raise ImportFileError(_unreadable(path, error)) from None


def _check_directory(path: Path, parts: list[zipfile.ZipInfo], limits: ImportLimits) -> None:
    if len(parts) > MAX_PARTS:
        raise ImportFileError(f"{path.name} holds {len(parts)} parts, more than the {MAX_PARTS} of any "
                              "spreadsheet; it is not unpacked.")
    unpacked = sum(part.file_size for part in parts)
    if unpacked > limits.max_unpacked_bytes:
        raise ImportFileError(f"{path.name} unpacks to {unpacked:,} bytes, more than the "
                              f"{limits.max_unpacked_bytes:,} allowed (ACCORD_IMPORT_MAX_UNPACKED_BYTES).")
    for part in parts:
        if part.file_size > RATIO_FROM_BYTES and part.file_size > MAX_RATIO * part.compress_size:
            ratio = part.file_size // max(part.compress_size, 1)
            raise ImportFileError(f"{path.name}: its part {shown(part.filename)} is compressed {ratio} times; "
                                  f"a spreadsheet never is more than {MAX_RATIO} times, so it is not unpacked.")


class _CellCounter(ContentHandler):
    """Counts the cells (`<c>` in a `<row>`) of every XML part, refusing past the limits as it goes.

    A row holds at most Excel's 16384 cells; a workbook no more cells than the rows and columns
    openpyxl is asked for (`_read_sheet`), formatted empty cells included.
    """

    def __init__(self, name: str, limits: ImportLimits) -> None:
        super().__init__()
        self.name = name
        self.most = (limits.max_rows + 2) * (limits.max_columns + 1)
        self.cells = 0
        self.row_cells: int | None = None  # None outside a row

    def scan(self, stream: IO[bytes]) -> None:
        self.row_cells = None
        try:
            defused_sax.parse(stream, self)
        except SAXParseException:
            pass  # not XML (an image, say): openpyxl parses no cell from it either

    def startElement(self, name: str, attrs: Any) -> None:  # noqa: N802 (the SAX interface)
        local = name.rpartition(":")[2]
        if local == "row":
            self.row_cells = 0
        elif local == "c" and self.row_cells is not None:
            self.row_cells += 1
            self.cells += 1
            if self.row_cells > EXCEL_COLUMNS:
                raise ImportFileError(f"{self.name} has a row of more than {EXCEL_COLUMNS} cells, which no "
                                      "spreadsheet has; it is not read.")
            if self.cells > self.most:
                raise ImportFileError(f"{self.name} holds more than {self.most:,} cells, formatted empty ones "
                                      "included, more than its rows and columns may have (ACCORD_IMPORT_MAX_ROWS, "
                                      "ACCORD_IMPORT_MAX_COLUMNS): clear the formatting below and right of your "
                                      "data, or split the file.")

    def endElement(self, name: str) -> None:  # noqa: N802 (the SAX interface)
        if name.rpartition(":")[2] == "row":
            self.row_cells = None


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return shown(text[0], 200) if text else type(error).__name__


def _read_sheet(path: Path, sheet: Any, limits: ImportLimits) -> Table:
    # Explicit bounds, never the sheet's declared dimension (a 5 KB file may claim A1:XFD1048576):
    # one row and one column past the limits, so that anything there is seen and refused. (When
    # the sheet goes on further, openpyxl stops reading and pads the rows up to the bound.)
    rows = sheet.iter_rows(min_row=1, max_row=limits.max_rows + 2, min_col=1, max_col=limits.max_columns + 1,
                           values_only=True)
    return _table(f"{path.name} sheet {shown(sheet.title)}", enumerate(rows, start=1), limits,
                  f"sheet {shown(sheet.title)} of {path.name} is empty; its first row names the columns.")


def _read_xlsx(path: Path, limits: ImportLimits) -> tuple[Table, Table | None]:
    _inspect_archive(path, limits)
    import openpyxl

    # Whatever a broken or hostile workbook makes openpyxl raise, the answer is the same: it
    # cannot be read. (openpyxl parses XML with defusedxml, a dependency, against entity bombs.)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns of styles and extensions it leaves out
        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as error:
            raise ImportFileError(_unreadable(path, error)) from None
        try:
            names = {name.lower(): name for name in workbook.sheetnames}
            agreements = workbook[names.get("agreements", workbook.sheetnames[0])]
            deliverables = workbook[names["deliverables"]] if "deliverables" in names else None
            return (_read_sheet(path, agreements, limits),
                    _read_sheet(path, deliverables, limits) if deliverables is not None else None)
        except ImportFileError:
            raise
        except Exception as error:
            raise ImportFileError(_unreadable(path, error)) from None
        finally:
            workbook.close()


def _unreadable(path: Path, error: BaseException) -> str:
    return (f"{path.name} is not a readable XLSX workbook ({_reason(error)}); open it in a spreadsheet and "
            "save it again as .xlsx, or as CSV UTF-8.")


def _read(path: Path, limits: ImportLimits) -> tuple[Table, Table | None]:
    if not path.is_file():
        raise ImportFileError(f"there is no file {path}")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        raise ImportFileError(f"{path.name}: import reads .csv and .xlsx files, not {suffix or 'this file'}.")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise ImportFileError(f"{path.name} is {size:,} bytes, more than the {limits.max_bytes:,} allowed "
                              "(ACCORD_IMPORT_MAX_BYTES); split it into several files.")
    try:
        return (_read_csv(path, limits), None) if suffix == ".csv" else _read_xlsx(path, limits)
    except OSError as error:
        raise ImportFileError(f"cannot read {path}: {error.strerror or error}") from None


def read_tables(path: Path, deliverables_path: Path | None, limits: ImportLimits) -> ImportTables:
    """The agreements of `path` and the deliverables of its sheet or of `deliverables_path`."""
    agreements, deliverables = _read(path, limits)
    if deliverables_path is not None:
        if deliverables is not None:
            raise ImportFileError(f"{path.name} already has a deliverables sheet; leave out --deliverables.")
        deliverables, _ = _read(deliverables_path, limits)
    return ImportTables(path.name, agreements, deliverables)
