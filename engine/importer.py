"""`accord import FILE`: existing agreements from a CSV or XLSX file (format: docs/feeds-reports-import.md).

    import_file    check every row, then (unless a dry run) write each good, new agreement in
                   its own transaction; returns an `ImportReport`
    importer_cli   the typer command `accord import FILE [--deliverables FILE] [--dry-run] [--as EMAIL]`

Checking comes first and touches nothing: every bad row is reported with its line and reason,
and a dry run stops there. An agreement already in the database (same title, same set of
organisations) is left as it is, so importing a file twice changes nothing. An imported
agreement enters the state its row names: the one place where `state` is set other than by
`fire`, recorded as a history event of kind `imported` (through `record_change`, so the
version, timers and reminders follow as for any change) that names the file and the line.
"""

from __future__ import annotations

import asyncio
import csv
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, get_args
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlmodel import col

from engine import migrate as migrations
from engine.access import load_agreement
from engine.clock import Clock, SystemClock, When
from engine.context import Actor
from engine.db import Database
from engine.errors import AccordError, NotFound
from engine.history import record_change
from engine.machine import CompiledWorkflow, catalog
from engine.models import Agreement, CollaborationArea, Contact, Deliverable, Organisation, Party, Person
from engine.schemas import DeliverableStatus
from engine.settings import Settings

DEFAULT_WORKFLOW = "collaboration_agreement"
IMPORTER = Actor(label="accord import", role="admin")

AGREEMENT_COLUMNS = {
    "title", "workflow", "state", "parties", "supporters", "summary", "effective_from", "ends_on",
    "review_every_months", "next_review_on", "notice_period_days", "signed_on", "signing_place",
    "focal_points", "signatories", "areas",
}
DELIVERABLE_COLUMNS = {"agreement", "area", "title", "owner", "due_on", "status", "description",
                       "progress_note", "evidence_url"}
# Columns `GET /exports/*.csv` adds that an import reads past, so an export imports as it is.
_EXPORT_ONLY = {"id", "workflow_version", "version", "updated_at", "agreement_id", "owner_name",
                "overdue", "completed_on"}
_STATUSES = frozenset(get_args(DeliverableStatus))

Progress = Callable[[str, int, int], None]  # (what, done, total)


class ImportFileError(Exception):
    """The file cannot be read at all (missing, not CSV or XLSX, no header)."""


@dataclass(frozen=True)
class RowProblem:
    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source} line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    source: str
    dry_run: bool
    agreement_rows: int = 0
    deliverable_rows: int = 0
    created: list[tuple[int, str, int | None]] = field(default_factory=list)  # line, title, id
    unchanged: list[tuple[int, str, int]] = field(default_factory=list)  # line, title, existing id
    deliverables_created: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_lines(self) -> list[tuple[str, int]]:
        return sorted({(p.source, p.line) for p in self.problems})

    def lines(self) -> list[str]:
        out = [str(p) for p in self.problems]
        bad = len(self.bad_lines)
        if self.dry_run:
            out.append(f"Dry run: {len(self.created)} agreement(s) would be imported with "
                       f"{self.deliverables_created} deliverable(s), {len(self.unchanged)} already "
                       f"there; {bad} bad row(s). Nothing was written.")
        else:
            out.append(f"Imported {len(self.created)} agreement(s) with {self.deliverables_created} "
                       f"deliverable(s); {len(self.unchanged)} already there, left unchanged; "
                       f"{bad} bad row(s) skipped.")
        return out


# --- reading files -----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Table:
    source: str
    columns: list[str]
    rows: list[tuple[int, dict[str, Any]]]  # (line, cells by column)


def _column(name: Any) -> str:
    return str(name or "").strip().lower().replace(" ", "_")


def _table(source: str, header: list[Any], rows: Iterator[tuple[int, list[Any]]]) -> _Table:
    columns = [_column(c) for c in header]
    body = []
    for line, cells in rows:
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        body.append((line, {name: cells[i] if i < len(cells) else None
                            for i, name in enumerate(columns) if name}))
    return _Table(source, columns, body)


def _read_csv(path: Path) -> _Table:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise ImportFileError(f"{path.name} is empty; the first line names the columns.")
            rows = []
            line = reader.line_num
            for cells in reader:
                rows.append((line + 1, list(cells)))  # the line the record starts on
                line = reader.line_num
    except UnicodeDecodeError:
        raise ImportFileError(f"{path.name} is not UTF-8 text; save it as CSV UTF-8.") from None
    except csv.Error as error:
        raise ImportFileError(f"{path.name} is not a readable CSV file: {error}") from None
    return _table(path.name, header, iter(rows))


def _read_sheet(path: Path, sheet: Any) -> _Table:
    values = sheet.iter_rows(values_only=True)
    header = next(values, None)
    if header is None:
        raise ImportFileError(f"sheet {sheet.title!r} of {path.name} is empty; its first row names "
                              "the columns.")
    rows = ((number, list(cells)) for number, cells in enumerate(values, start=2))
    return _table(f"{path.name} sheet {sheet.title}", list(header), rows)


def _read_xlsx(path: Path) -> tuple[_Table, _Table | None]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError) as error:
        raise ImportFileError(f"{path.name} is not a readable XLSX workbook: {error}") from None
    try:
        names = {name.lower(): name for name in workbook.sheetnames}
        agreements = workbook[names.get("agreements", workbook.sheetnames[0])]
        deliverables = workbook[names["deliverables"]] if "deliverables" in names else None
        return (_read_sheet(path, agreements),
                _read_sheet(path, deliverables) if deliverables is not None else None)
    finally:
        workbook.close()


def _read(path: Path) -> tuple[_Table, _Table | None]:
    if not path.is_file():
        raise ImportFileError(f"there is no file {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path), None
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    raise ImportFileError(f"{path.name}: import reads .csv and .xlsx files, not {suffix or 'this file'}.")


# --- cells -------------------------------------------------------------------------------------

class _Bad(Exception):
    pass


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _date(cells: dict[str, Any], name: str) -> date | None:
    value = cells.get(name)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _Bad(f"{name} {text!r} is not a date; write it as YYYY-MM-DD.") from None


def _int(cells: dict[str, Any], name: str, low: int, high: int) -> int | None:
    text = _text(cells.get(name))
    if text is None:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise _Bad(f"{name} {text!r} must be a whole number from {low} to {high}.")
    return int(text)


def _list(cells: dict[str, Any], name: str) -> list[str]:
    return [item.strip() for item in (_text(cells.get(name)) or "").split(";") if item.strip()]


# --- checking ----------------------------------------------------------------------------------

@dataclass
class _DeliverableRow:
    line: int
    area: str
    title: str
    owner: Person | None
    due_on: date | None
    status: str
    description: str | None
    progress_note: str | None
    evidence_url: str | None


@dataclass
class _AgreementRow:
    line: int
    title: str
    workflow: CompiledWorkflow
    state: str
    parties: list[tuple[Organisation, str]]  # (organisation, party or supporter)
    people: list[tuple[Organisation, Person, str]]  # (party's organisation, person, kind)
    areas: list[str]
    terms: dict[str, Any]
    existing_id: int | None = None
    deliverables: list[_DeliverableRow] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, frozenset[int]]:
        return self.title.casefold(), frozenset(o.id or 0 for o, _ in self.parties)


@dataclass
class _Directory:
    organisations: dict[str, Organisation]  # by lower-case name and short name
    people: dict[str, Person]  # by lower-case email
    existing: dict[tuple[str, frozenset[int]], int]  # (title, organisations) -> agreement id


async def _directory(session: AsyncSession, tables: list[_Table]) -> _Directory:
    organisations: dict[str, Organisation] = {}
    for org in await session.scalars(select(Organisation)):
        organisations[org.name.lower()] = org
        if org.short_name:
            organisations.setdefault(org.short_name.lower(), org)
    emails = {entry.rpartition(":")[2].strip().lower()
              for table in tables for _, cells in table.rows
              for name in ("focal_points", "signatories", "owner") for entry in _list(cells, name)}
    people = {p.email: p for p in await session.scalars(
        select(Person).where(col(Person.email).in_(sorted(emails))))} if emails else {}
    titles = {(_text(cells.get("title")) or "").casefold() for _, cells in tables[0].rows}
    return _Directory(organisations, people, await _existing(session, titles))


async def _existing(session: AsyncSession, titles: set[str]) -> dict[tuple[str, frozenset[int]], int]:
    """The agreements already there with these titles, by (title, set of organisations)."""
    existing: dict[tuple[str, frozenset[int]], int] = {}
    if titles:
        found = await session.scalars(
            select(Agreement).where(func.lower(col(Agreement.title)).in_(sorted(titles)))
            .options(selectinload(Agreement.parties)))  # type: ignore[arg-type]
        for agreement in found:
            orgs = frozenset(p.organisation_id for p in agreement.parties)
            existing.setdefault((agreement.title.casefold(), orgs), agreement.id or 0)
    return existing


def _check_columns(table: _Table, known: set[str], required: set[str]) -> list[RowProblem]:
    problems = []
    unknown = [c for c in table.columns if c and c not in known | _EXPORT_ONLY]
    if unknown:
        problems.append(RowProblem(table.source, 1, f"unknown column(s) {', '.join(unknown)}; the "
                                   f"columns are {', '.join(sorted(known))}."))
    missing = sorted(required - set(table.columns))
    if missing:
        problems.append(RowProblem(table.source, 1, f"missing column(s) {', '.join(missing)}."))
    return problems


def _organisations(cells: dict[str, Any], name: str, directory: _Directory,
                   reasons: list[str]) -> list[Organisation]:
    found = []
    for org_name in _list(cells, name):
        org = directory.organisations.get(org_name.lower())
        if org is None:
            reasons.append(f"there is no organisation {org_name!r} (in {name}); create it first "
                           "(POST /api/v1/organisations) or correct the name.")
        elif org in found:
            reasons.append(f"{org.name} is listed twice in {name}.")
        else:
            found.append(org)
    return found


def _people(cells: dict[str, Any], kind: str, column: str, parties: list[tuple[Organisation, str]],
            directory: _Directory, reasons: list[str]) -> list[tuple[Organisation, Person, str]]:
    named: list[tuple[Organisation, Person, str]] = []
    for entry in _list(cells, column):
        org_name, _, email = entry.rpartition(":")
        email = email.strip().lower()
        person = directory.people.get(email)
        if person is None:
            reasons.append(f"there is no person with the email {email!r} (in {column}).")
            continue
        org_name = org_name.strip()
        wanted = org_name.lower()
        party = next(((o, role) for o, role in parties
                      if (o.id == person.organisation_id if not wanted
                          else wanted in (o.name.lower(), (o.short_name or "").lower()))), None)
        if party is None:
            reasons.append(f"{org_name or person.organisation.name!r} is not one of this agreement's "
                           f"parties (in {column}: {entry!r}).")
            continue
        org, role = party
        if person.organisation_id != org.id:
            reasons.append(f"{person.name} ({email}) belongs to {person.organisation.name}, not to "
                           f"{org.name}: each party names its own people (in {column}).")
        elif kind == "signatory" and role != "party":
            reasons.append(f"{org.name} is a supporter and does not sign, so it names no signatory.")
        elif any(p.id == person.id and o.id == org.id for o, p, _ in named):
            reasons.append(f"{email} is listed twice in {column}.")
        else:
            named.append((org, person, kind))
    return named


def _check_agreement(line: int, cells: dict[str, Any], directory: _Directory, actor: Actor,
                     reasons: list[str]) -> _AgreementRow | None:
    title = _text(cells.get("title"))
    if title is None:
        reasons.append("title is missing.")
    elif len(title) > 300:
        reasons.append("title is longer than 300 characters.")
    workflow_name = _text(cells.get("workflow")) or DEFAULT_WORKFLOW
    workflow: CompiledWorkflow | None
    try:
        workflow = catalog().latest(workflow_name)
    except NotFound:
        workflow = None
        reasons.append(f"there is no workflow {workflow_name!r}; known: {', '.join(sorted(catalog().names()))}.")
    state = _text(cells.get("state"))
    if workflow is not None:
        state = state or workflow.spec.initial
        if state not in workflow.spec.states:
            reasons.append(f"state {state!r} is not a state of {workflow_name} (its states: "
                           f"{', '.join(workflow.spec.states)}).")
    terms: dict[str, Any] = {}
    for name in ("effective_from", "ends_on", "next_review_on", "signed_on"):
        try:
            terms[name] = _date(cells, name)
        except _Bad as bad:
            reasons.append(str(bad))
    for name, low, high in (("review_every_months", 1, 120), ("notice_period_days", 1, 3650)):
        try:
            terms[name] = _int(cells, name, low, high)
        except _Bad as bad:
            reasons.append(str(bad))
    terms["summary"] = _text(cells.get("summary"))
    terms["signing_place"] = _text(cells.get("signing_place"))
    start, end, review = terms.get("effective_from"), terms.get("ends_on"), terms.get("next_review_on")
    if start and end and end <= start:
        reasons.append(f"ends_on ({end}) is not after effective_from ({start}): the agreement would "
                       "end before it starts.")
    if start and review and review <= start:
        reasons.append(f"next_review_on ({review}) is not after effective_from ({start}).")

    parties = [(o, "party") for o in _organisations(cells, "parties", directory, reasons)]
    if not _list(cells, "parties"):
        reasons.append("parties is missing: name the organisations that are party, separated by ';'.")
    for org in _organisations(cells, "supporters", directory, reasons):
        if any(o.id == org.id for o, _ in parties):
            reasons.append(f"{org.name} is both a party and a supporter.")
        else:
            parties.append((org, "supporter"))
    if not actor.is_admin and parties and not any(o.id == actor.organisation_id for o, _ in parties):
        reasons.append("your organisation is not one of the parties; staff import their own "
                       "organisation's agreements.")
    people = (_people(cells, "focal_point", "focal_points", parties, directory, reasons)
              + _people(cells, "signatory", "signatories", parties, directory, reasons))
    areas = _list(cells, "areas")
    if len({a.casefold() for a in areas}) != len(areas):
        reasons.append("an area is listed twice in areas.")
    if any(len(a) > 300 for a in areas):
        reasons.append("an area's title is longer than 300 characters.")
    if reasons or title is None or workflow is None or state is None:
        return None
    row = _AgreementRow(line=line, title=title, workflow=workflow, state=state, parties=parties,
                        people=people, areas=areas, terms=terms)
    row.existing_id = directory.existing.get(row.key)
    return row


def _check_deliverable(cells: dict[str, Any], agreement: _AgreementRow, directory: _Directory,
                       reasons: list[str]) -> _DeliverableRow | None:
    area = _text(cells.get("area"))
    title = _text(cells.get("title"))
    if title is None:
        reasons.append("title is missing.")
    if area is None:
        reasons.append("area is missing.")
    elif area.casefold() not in {a.casefold() for a in agreement.areas}:
        reasons.append(f"{area!r} is not one of the areas of {agreement.title!r} (line "
                       f"{agreement.line}): {'; '.join(agreement.areas) or 'it has none'}.")
    owner_email = (_text(cells.get("owner")) or "").lower()
    owner = None
    if owner_email:
        owner = directory.people.get(owner_email)
        if owner is None:
            reasons.append(f"there is no person with the email {owner_email!r} (owner).")
        elif not any(p.id == owner.id and kind == "focal_point" for _, p, kind in agreement.people):
            reasons.append(f"{owner_email} is not a focal point of {agreement.title!r}; a deliverable "
                           "is owned by one of its focal points.")
    status = _text(cells.get("status")) or "planned"
    if status not in _STATUSES:
        reasons.append(f"status {status!r} is not one of {', '.join(sorted(_STATUSES))}.")
    try:
        due_on = _date(cells, "due_on")
    except _Bad as bad:
        reasons.append(str(bad))
        due_on = None
    if reasons or title is None or area is None:
        return None
    return _DeliverableRow(line=0, area=area, title=title, owner=owner, due_on=due_on, status=status,
                           description=_text(cells.get("description")),
                           progress_note=_text(cells.get("progress_note")),
                           evidence_url=_text(cells.get("evidence_url")))


def _check(agreements: _Table, deliverables: _Table | None, directory: _Directory, actor: Actor,
           report: ImportReport, progress: Progress | None) -> list[_AgreementRow]:
    report.problems += _check_columns(agreements, AGREEMENT_COLUMNS, {"title", "parties"})
    if deliverables is not None:
        report.problems += _check_columns(deliverables, DELIVERABLE_COLUMNS, {"agreement", "area", "title"})
    if report.problems:
        return []  # a wrong header makes every row suspect; fix it first
    good: list[_AgreementRow] = []
    seen: dict[tuple[str, frozenset[int]], int] = {}
    bad_titles: dict[str, int] = {}
    report.agreement_rows = len(agreements.rows)
    for done, (line, cells) in enumerate(agreements.rows, start=1):
        reasons: list[str] = []
        row = _check_agreement(line, cells, directory, actor, reasons)
        if row is not None and row.key in seen:
            reasons.append(f"the same agreement (title and parties) is already on line {seen[row.key]}.")
            row = None
        if row is None:
            report.problems += [RowProblem(agreements.source, line, r) for r in reasons]
            bad_titles.setdefault((_text(cells.get("title")) or "").casefold(), line)
        else:
            seen[row.key] = line
            good.append(row)
        if progress:
            progress("Checking", done, len(agreements.rows))
    if deliverables is not None:
        _attach_deliverables(deliverables, good, bad_titles, directory, report)
    return good


def _attach_deliverables(table: _Table, good: list[_AgreementRow], bad_titles: dict[str, int],
                         directory: _Directory, report: ImportReport) -> None:
    report.deliverable_rows = len(table.rows)
    by_title: dict[str, list[_AgreementRow]] = {}
    for row in good:
        by_title.setdefault(row.title.casefold(), []).append(row)
    seen: dict[tuple[int, str, str], int] = {}
    for line, cells in table.rows:
        reasons: list[str] = []
        title = _text(cells.get("agreement"))
        matches = by_title.get((title or "").casefold(), [])
        deliverable = None
        if title is None:
            reasons.append("agreement is missing: give the title of an agreement in the agreements file.")
        elif not matches:
            bad = bad_titles.get(title.casefold())
            reasons.append(f"its agreement {title!r} is on bad line {bad}, so it is not imported either."
                           if bad else f"there is no agreement titled {title!r} in the agreements file.")
        elif len(matches) > 1:
            reasons.append(f"several agreements are titled {title!r} (lines "
                           f"{', '.join(str(m.line) for m in matches)}); give them distinct titles.")
        else:
            deliverable = _check_deliverable(cells, matches[0], directory, reasons)
        if deliverable is not None:
            key = (matches[0].line, deliverable.area.casefold(), deliverable.title.casefold())
            if key in seen:
                reasons.append(f"the same deliverable is already on line {seen[key]}.")
            else:
                seen[key] = line
                deliverable.line = line
                matches[0].deliverables.append(deliverable)
        report.problems += [RowProblem(table.source, line, r) for r in reasons]


# --- writing -----------------------------------------------------------------------------------

async def _write(session: AsyncSession, row: _AgreementRow, source: str, actor: Actor, when: When) -> int:
    spec = row.workflow.spec
    agreement = Agreement(
        title=row.title, workflow_name=spec.name, workflow_version=spec.version, state=row.state,
        version=0, created_by_id=actor.person_id, created_at=when.now, updated_at=when.now, **row.terms)
    agreement.parties = [Party(organisation_id=org.id or 0, role=role) for org, role in row.parties]
    agreement.areas = [CollaborationArea(title=title, position=i) for i, title in enumerate(row.areas)]
    agreement.contacts, agreement.signatures, agreement.deliverables = [], [], []
    session.add(agreement)
    await session.flush()
    assert agreement.id is not None
    party_ids = {p.organisation_id: p.id or 0 for p in agreement.parties}
    area_ids = {a.title.casefold(): a.id or 0 for a in agreement.areas}
    for org, person, kind in row.people:
        session.add(Contact(agreement_id=agreement.id, party_id=party_ids[org.id or 0],
                            person_id=person.id or 0, kind=kind))
    for d in row.deliverables:
        session.add(Deliverable(
            agreement_id=agreement.id, area_id=area_ids[d.area.casefold()], title=d.title,
            description=d.description, owner_id=d.owner.id if d.owner else None, due_on=d.due_on,
            status=d.status, progress_note=d.progress_note, evidence_url=d.evidence_url,
            created_at=when.now, updated_at=when.now))
    await session.flush()
    loaded = await load_agreement(session, agreement.id, actor)
    lines = [row.line] + [d.line for d in row.deliverables]
    await record_change(
        session, loaded, actor, when, kind="imported", event="import", to_state=row.state,
        comment=f"Imported from {source} line {row.line}, in state {row.state}.",
        data={"file": source, "line": row.line, "state": row.state, "deliverable_lines": lines[1:]})
    return agreement.id


async def _actor(session: AsyncSession, email: str | None) -> Actor:
    if email is None:
        return IMPORTER
    person = await session.scalar(select(Person).where(col(Person.email) == email.strip().lower()))
    if person is None:
        raise ImportFileError(f"there is no person with the email {email!r} to import as.")
    if person.role not in ("admin", "staff"):
        raise ImportFileError(f"{person.name} is a partner; agreements are imported by staff or an "
                              "administrator.")
    return Actor.of(person)


async def import_file(database: Database, path: Path, *, dry_run: bool, clock: Clock,
                      actor_email: str | None = None, deliverables_path: Path | None = None,
                      zone: ZoneInfo | None = None, progress: Progress | None = None) -> ImportReport:
    """Check every row of `path` (and of its deliverables sheet or file); unless `dry_run`, import the good ones.

    Raises `ImportFileError` when a file cannot be read at all; bad rows are in the report.
    """
    agreements, deliverables = _read(path)
    if deliverables_path is not None:
        if deliverables is not None:
            raise ImportFileError(f"{path.name} already has a deliverables sheet; leave out --deliverables.")
        deliverables, _ = _read(deliverables_path)
    report = ImportReport(source=path.name, dry_run=dry_run)
    async with database.transaction(write=False) as session:
        actor = await _actor(session, actor_email)
        directory = await _directory(session, [agreements] + ([deliverables] if deliverables else []))
    good = _check(agreements, deliverables, directory, actor, report, progress)
    when = When.of(clock, zone or ZoneInfo("UTC"))
    for done, row in enumerate(good, start=1):
        if row.existing_id is not None:
            report.unchanged.append((row.line, row.title, row.existing_id))
        elif dry_run:
            report.created.append((row.line, row.title, None))
            report.deliverables_created += len(row.deliverables)
        else:
            async with database.transaction() as session:
                existing = await _existing(session, {row.title.casefold()})
                if row.key in existing:  # imported by someone else since the check
                    report.unchanged.append((row.line, row.title, existing[row.key]))
                    continue
                agreement_id = await _write(session, row, agreements.source, actor, when)
            report.created.append((row.line, row.title, agreement_id))
            report.deliverables_created += len(row.deliverables)
        if progress and not dry_run:
            progress("Importing", done, len(good))
    return report


# --- the command -------------------------------------------------------------------------------

@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
    from rich.progress import Progress as Bar

    with Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done)

        yield update


def importer_cli(
    file: Annotated[Path, typer.Argument(help="a .csv or .xlsx file of agreements, one row each")],
    deliverables: Annotated[Path | None, typer.Option(
        "--deliverables", help="a CSV of deliverables to go with a CSV of agreements")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check every row, write nothing")] = False,
    as_email: Annotated[str | None, typer.Option(
        "--as", help="the email of the staff member or administrator the history names")] = None,
) -> None:
    """Import existing agreements from CSV or XLSX; the same file twice changes nothing."""
    settings = Settings()

    async def run(progress: Progress | None) -> ImportReport:
        database = Database.from_settings(settings)
        try:
            if not await migrations.is_current_async(database.engine):
                raise ImportFileError("the database is not at the current schema; run `accord migrate` first")
            return await import_file(database, file, dry_run=dry_run, clock=SystemClock(),
                                     actor_email=as_email, deliverables_path=deliverables,
                                     zone=settings.zone, progress=progress)
        finally:
            await database.dispose()

    try:
        with _progress_bar(sys.stdout.isatty()) as progress:
            report = asyncio.run(run(progress))
    except ImportFileError as error:
        typer.echo(f"accord: {error}", err=True)
        raise typer.Exit(1) from None
    except AccordError as error:
        typer.echo(f"accord: {error.detail}", err=True)
        raise typer.Exit(1) from None
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        typer.echo(f"accord: database error: {str(cause).splitlines()[0]}", err=True)
        raise typer.Exit(1) from None
    for line in report.lines():
        typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)
