"""`accord import FILE`: existing agreements from a CSV or XLSX file (format: docs/feeds-reports-import.md).

    read_tables    read a file within `ImportLimits` (engine/importing/files.py)
    import_tables  check every row by the API's own schemas, then (unless a dry run, and only
                   when no row is bad) write every new agreement in one transaction
    import_file    both; returns an `ImportReport`

Checking comes first and writes nothing: every bad row is reported with its line and reason,
and a dry run stops there. Each row passes through the schemas the API validates the same data
with (`AgreementCreate`, `DeliverableCreate`, `DeliverableUpdate`, the `sign` event's date), so
a dry run without bad rows is an import that writes every row; a real import with a bad row
writes none. An agreement already in the database (same title, same set of organisations) is
left as it is, so importing a file twice changes nothing. An imported agreement enters the
state its row names: the one place where `state` is set other than by `fire`, recorded as a
history event of kind `imported` (through `engine.agreements.service.apply`, so the version, timers and
reminders follow as for any change) that names the file and the line.

`predecessor_id` links a row to the agreement it succeeds, as the export writes it: the `id` of a
row above it in the same file (an export's own ids, whatever the new agreements' ids will be),
else an agreement already in Accord that the importer can see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlmodel import col

from engine.access import in_reach
from engine.agreements import actions
from engine.agreements.changes import ChangeSet, Draft
from engine.agreements.service import apply
from engine.agreements.snapshot import organisation_value, person_value_of
from engine.agreements.values import AgreementSnapshot, AreaValue, ContactValue, DeliverableValue, PartyValue
from engine.clock import Clock, When
from engine.context import Actor
from engine.db import Database
from engine.errors import NotFound
from engine.importing.files import (
    UNNAMED,
    ImportFileError,
    ImportLimits,
    ImportTables,
    Table,
    quoted,
    read_tables,
    shown,
)
from engine.models import Agreement, Organisation, Person
from engine.schemas import MAX_ID, AgreementCreate, DeliverableCreate, DeliverableUpdate, EventFire
from engine.settings import Settings
from engine.statuses import ContactKind, HistoryKind, PartyRole, Role
from engine.workflow.machine import CompiledWorkflow, catalog

DEFAULT_WORKFLOW = "collaboration_agreement"
IMPORTER = Actor(label="accord import", role=Role.ADMIN)

AGREEMENT_COLUMNS = {
    "title", "workflow", "state", "parties", "supporters", "summary", "effective_from", "ends_on",
    "review_every_months", "next_review_on", "notice_period_days", "signed_on", "signing_place",
    "focal_points", "signatories", "areas", "predecessor_id",
}
DELIVERABLE_COLUMNS = {"agreement", "area", "title", "owner", "due_on", "status", "description",
                       "progress_note", "evidence_url"}
# Columns `GET /exports/*.csv` adds that an import reads past, so an export imports as it is.
# (An agreement's `id` is read too: the `predecessor_id` of a row below may name it.)
_EXPORT_ONLY = {"id", "workflow_version", "version", "updated_at", "agreement_id", "owner_name",
                "overdue", "completed_on", "successor_id"}

_LOOKUP_CHUNK = 1000  # values per `IN (...)`, well under SQLite's and asyncpg's parameter limits

Progress = Callable[[str, int, int], None]  # (what, done, total)
M = TypeVar("M", bound=BaseModel)


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
        counts = (f"{len(self.created)} agreement(s) would be imported with {self.deliverables_created} "
                  f"deliverable(s), {len(self.unchanged)} already there")
        if self.dry_run and bad:
            out.append(f"Dry run: {bad} bad row(s), so an import would write nothing; without them, {counts}. "
                       "Nothing was written.")
        elif self.dry_run:
            out.append(f"Dry run: {counts}; 0 bad row(s). Nothing was written.")
        elif bad:
            out.append(f"Nothing was imported: {bad} bad row(s). Fix them and import again; --dry-run "
                       "checks a file without writing.")
        else:
            out.append(f"Imported {len(self.created)} agreement(s) with {self.deliverables_created} "
                       f"deliverable(s); {len(self.unchanged)} already there, left unchanged.")
        return out


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


def _date(cells: dict[str, Any], name: str) -> str | None:
    """A date cell (or text in a form `date.fromisoformat` reads) as the API receives it: YYYY-MM-DD."""
    value = cells.get(name)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = _text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise _Bad(f"{name} {quoted(text)} is not a date; write it as YYYY-MM-DD.") from None


def _whole(cells: dict[str, Any], name: str) -> int | None:
    text = _text(cells.get(name))
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise _Bad(f"{name} {quoted(text)} must be a whole number.") from None


def _list(cells: dict[str, Any], name: str) -> list[str]:
    return [item.strip() for item in (_text(cells.get(name)) or "").split(";") if item.strip()]


def _validated(schema: type[M], values: dict[str, Any], reasons: list[str], *, already: set[str],
               columns: dict[str, str] | None = None) -> M | None:
    """`values` checked by the API's own schema; each error a reason naming the file's column.

    Values left out (None) take the schema's defaults, as fields left out of a request do.
    Errors of fields in `already` are left out: the row's reasons name them already.
    """
    try:
        return schema.model_validate({name: value for name, value in values.items() if value is not None})
    except ValidationError as error:
        for item in error.errors():
            location = item.get("loc", ())
            name = str(location[0]) if location else ""
            if name in already:
                continue
            message = str(item.get("msg", "invalid")).removeprefix("Value error, ").rstrip(".")
            column = (columns or {}).get(name, name)
            if name == "areas" and len(location) > 1 and isinstance(location[1], int):
                message += f" (area {location[1] + 1})"
            reasons.append(f"{column}: {message}." if column else f"{message}.")
        return None


# --- checking ----------------------------------------------------------------------------------

def _unnamed(cells: dict[str, Any]) -> list[str]:
    numbers = cells.get(UNNAMED)
    if not numbers:
        return []
    return [f"a value in column {', '.join(str(n) for n in numbers)}, which has no name in the first row; "
            "name the column or clear the value."]


@dataclass
class _DeliverableRow:
    line: int
    area: str
    data: DeliverableCreate
    notes: DeliverableUpdate  # progress_note and evidence_url, which only an update sets in the API


@dataclass
class _AgreementRow:
    line: int
    workflow: CompiledWorkflow
    state: str
    data: AgreementCreate
    signed_on: date | None
    parties: list[tuple[Organisation, PartyRole]]
    people: list[tuple[Organisation, Person, ContactKind]]  # (party's organisation, person, kind)
    deliverables: list[_DeliverableRow] = field(default_factory=list)
    file_id: int | None = None  # its `id` cell: what a `predecessor_id` below names it by
    predecessor_id: int | None = None  # as the file says it
    # What that names: a row above it in the file, or an agreement already in Accord.
    predecessor_row: _AgreementRow | None = None
    predecessor_existing: int | None = None

    @property
    def title(self) -> str:
        return self.data.title

    @property
    def areas(self) -> list[str]:
        return [area.title for area in self.data.areas]

    @property
    def key(self) -> tuple[str, frozenset[int]]:
        return self.title.casefold(), frozenset(o.id or 0 for o, _ in self.parties)


@dataclass
class _Directory:
    organisations: dict[str, Organisation]  # by lower-case name and short name
    people: dict[str, Person]  # by lower-case email
    existing: dict[tuple[str, frozenset[int]], int]  # (title, organisations) -> agreement id
    agreements: set[int] = field(default_factory=set)  # the predecessors named that the importer sees


def _storable(text: str) -> bool:
    # PostgreSQL refuses U+0000 in any text, a query's parameters included; nothing stored has one.
    return "\x00" not in text


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(v for v in set(values) if _storable(v))
    for start in range(0, len(ordered), _LOOKUP_CHUNK):
        yield ordered[start:start + _LOOKUP_CHUNK]


async def _directory(session: AsyncSession, tables: list[Table], actor: Actor) -> _Directory:
    organisations: dict[str, Organisation] = {}
    for org in await session.scalars(select(Organisation)):
        organisations[org.name.lower()] = org
        if org.short_name:
            organisations.setdefault(org.short_name.lower(), org)
    emails = {entry.rpartition(":")[2].strip().lower()
              for table in tables for _, cells in table.rows
              for name in ("focal_points", "signatories", "owner") for entry in _list(cells, name)}
    people: dict[str, Person] = {}
    for chunk in _chunks(emails):
        people.update((p.email, p) for p in await session.scalars(select(Person).where(col(Person.email).in_(chunk))))
    titles = {(_text(cells.get("title")) or "").casefold() for _, cells in tables[0].rows}
    named = {number for _, cells in tables[0].rows if (number := _id_or_none(cells, "predecessor_id"))}
    agreements: set[int] = set()
    for chunk in _chunks(str(n) for n in named):
        agreements.update(await session.scalars(in_reach(
            select(col(Agreement.id)).where(col(Agreement.id).in_([int(n) for n in chunk])), actor)))
    return _Directory(organisations, people, await _existing(session, titles), agreements)


def _id_or_none(cells: dict[str, Any], name: str) -> int | None:
    """An id cell as a number, or None (empty, or not an id: `_check_agreement` says why)."""
    try:
        number = _whole(cells, name)
    except _Bad:
        return None
    return number if number is not None and 1 <= number <= MAX_ID else None


async def _existing(session: AsyncSession, titles: set[str]) -> dict[tuple[str, frozenset[int]], int]:
    """The agreements already there with these titles, by (title, set of organisations)."""
    existing: dict[tuple[str, frozenset[int]], int] = {}
    for chunk in _chunks(titles):
        found = await session.scalars(
            select(Agreement).where(func.lower(col(Agreement.title)).in_(chunk))
            .options(selectinload(Agreement.parties)))  # type: ignore[arg-type]
        for agreement in found:
            orgs = frozenset(p.organisation_id for p in agreement.parties)
            existing.setdefault((agreement.title.casefold(), orgs), agreement.id or 0)
    return existing


def _check_columns(table: Table, known: set[str], required: set[str]) -> list[RowProblem]:
    problems = []
    unknown = [shown(c) for c in table.columns if c and c not in known | _EXPORT_ONLY]
    if unknown:
        problems.append(RowProblem(table.source, 1, f"unknown column(s) {', '.join(unknown)}; the "
                                   f"columns are {', '.join(sorted(known))}."))
    named = [c for c in table.columns if c]
    twice = sorted({shown(c) for c in named if named.count(c) > 1})
    if twice:
        problems.append(RowProblem(table.source, 1, f"column(s) {', '.join(twice)} named more than once; "
                                   "keep one of each."))
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
            reasons.append(f"there is no organisation {quoted(org_name)} (in {name}); create it first "
                           "(POST /api/v1/organisations) or correct the name.")
        elif org in found:
            reasons.append(f"{org.name} is listed twice in {name}.")
        else:
            found.append(org)
    return found


def _people(cells: dict[str, Any], kind: ContactKind, column: str, parties: list[tuple[Organisation, PartyRole]],
            directory: _Directory, reasons: list[str]) -> list[tuple[Organisation, Person, ContactKind]]:
    named: list[tuple[Organisation, Person, ContactKind]] = []
    for entry in _list(cells, column):
        org_name, _, email = entry.rpartition(":")
        email = email.strip().lower()
        person = directory.people.get(email)
        if person is None:
            reasons.append(f"there is no person with the email {quoted(email)} (in {column}).")
            continue
        org_name = org_name.strip()
        wanted = org_name.lower()
        party = next(((o, role) for o, role in parties
                      if (o.id == person.organisation_id if not wanted
                          else wanted in (o.name.lower(), (o.short_name or "").lower()))), None)
        if party is None:
            reasons.append(f"{quoted(org_name or person.organisation.name)} is not one of this agreement's "
                           f"parties (in {column}: {quoted(entry)}).")
            continue
        org, role = party
        if not person.active:
            reasons.append(f"{person.name} ({email}) is disabled and cannot be named (in {column}); enable "
                           "them or name someone else.")
        elif person.organisation_id != org.id:
            reasons.append(f"{person.name} ({email}) belongs to {person.organisation.name}, not to "
                           f"{org.name}: each party names its own people (in {column}).")
        elif kind == ContactKind.SIGNATORY and role != PartyRole.PARTY:
            reasons.append(f"{org.name} is a supporter and does not sign, so it names no signatory.")
        elif any(p.id == person.id and o.id == org.id for o, p, _ in named):
            reasons.append(f"{email} is listed twice in {column}.")
        else:
            named.append((org, person, kind))
    return named


_AGREEMENT_DATES = ("effective_from", "ends_on", "next_review_on")
_AGREEMENT_NUMBERS = ("review_every_months", "notice_period_days")


def _check_agreement(line: int, cells: dict[str, Any], directory: _Directory, actor: Actor,
                     reasons: list[str]) -> _AgreementRow | None:
    """The row as the API would take it: names resolved here, every value checked by `AgreementCreate`."""
    already: set[str] = set()  # fields this function has given a reason for already
    values: dict[str, Any] = {"title": _text(cells.get("title"))}
    if values["title"] is None:
        reasons.append("title is missing.")
        already.add("title")
    workflow_name = _text(cells.get("workflow")) or DEFAULT_WORKFLOW
    workflow: CompiledWorkflow | None
    try:
        workflow = catalog().latest(workflow_name)
    except NotFound:
        workflow = None
        reasons.append(f"there is no workflow {quoted(workflow_name)}; known: "
                       f"{', '.join(sorted(catalog().names()))}.")
    state = _text(cells.get("state"))
    if workflow is not None:
        state = state or workflow.spec.initial
        if state not in workflow.spec.states:
            reasons.append(f"state {quoted(state)} is not a state of {workflow_name} (its states: "
                           f"{', '.join(workflow.spec.states)}).")
    for name in _AGREEMENT_DATES + _AGREEMENT_NUMBERS + ("signed_on",):
        try:
            values[name] = _date(cells, name) if name not in _AGREEMENT_NUMBERS else _whole(cells, name)
        except _Bad as bad:
            reasons.append(str(bad))
            already.add(name)
    values["summary"] = _text(cells.get("summary"))
    values["signing_place"] = _text(cells.get("signing_place"))
    ids: dict[str, int | None] = {}
    for name in ("id", "predecessor_id"):
        ids[name] = _id_or_none(cells, name)
        if ids[name] is None and _text(cells.get(name)) is not None:
            reasons.append(f"{name} {quoted(_text(cells.get(name)) or '')} is not an agreement's id (a whole "
                           f"number from 1 to {MAX_ID}).")

    parties = [(o, PartyRole.PARTY) for o in _organisations(cells, "parties", directory, reasons)]
    if not _list(cells, "parties"):
        reasons.append("parties is missing: name the organisations that are party, separated by ';'.")
    for org in _organisations(cells, "supporters", directory, reasons):
        if any(o.id == org.id for o, _ in parties):
            reasons.append(f"{org.name} is both a party and a supporter.")
        else:
            parties.append((org, PartyRole.SUPPORTER))
    if reasons and not parties:
        already.add("parties")
    if not actor.is_admin and parties and not any(o.id == actor.organisation_id for o, _ in parties):
        reasons.append("your organisation is not one of the parties; staff import their own "
                       "organisation's agreements.")
    people = (_people(cells, ContactKind.FOCAL_POINT, "focal_points", parties, directory, reasons)
              + _people(cells, ContactKind.SIGNATORY, "signatories", parties, directory, reasons))

    # The values as a request to the API carries them (text, whole numbers, ids, YYYY-MM-DD).
    signed_on = values.pop("signed_on")
    data = _validated(AgreementCreate, {
        **values, "workflow": workflow_name,
        "parties": [{"organisation_id": o.id, "role": role} for o, role in parties],
        "areas": [{"title": area} for area in _list(cells, "areas")],
    }, reasons, already=already)
    signing = None
    if signed_on is not None:  # the API takes a signature's date with the `sign` event
        signing = _validated(EventFire, {"event": "sign", "signed_on": signed_on}, reasons, already=already)
    if reasons or data is None or workflow is None or state is None:
        return None
    return _AgreementRow(line=line, workflow=workflow, state=state, data=data,
                         signed_on=signing.signed_on if signing else None, parties=parties, people=people,
                         file_id=ids["id"], predecessor_id=ids["predecessor_id"])


def _check_deliverable(cells: dict[str, Any], agreement: _AgreementRow, directory: _Directory,
                       reasons: list[str]) -> _DeliverableRow | None:
    """The row as the API would take it: by `DeliverableCreate`, and `DeliverableUpdate` for the rest."""
    already: set[str] = set()
    area = _text(cells.get("area"))
    title = _text(cells.get("title"))
    if title is None:
        reasons.append("title is missing.")
        already.add("title")
    if area is None:
        reasons.append("area is missing.")
    elif area.casefold() not in {a.casefold() for a in agreement.areas}:
        reasons.append(f"{quoted(area)} is not one of the areas of {agreement.title!r} (line "
                       f"{agreement.line}): {'; '.join(agreement.areas) or 'it has none'}.")
    owner_email = (_text(cells.get("owner")) or "").lower()
    owner = None
    if owner_email:
        owner = directory.people.get(owner_email)
        if owner is None:
            reasons.append(f"there is no person with the email {quoted(owner_email)} (owner).")
        elif not any(p.id == owner.id and kind == ContactKind.FOCAL_POINT for _, p, kind in agreement.people):
            reasons.append(f"{owner_email} is not a focal point of {agreement.title!r}; a deliverable "
                           "is owned by one of its focal points.")
    try:
        due_on = _date(cells, "due_on")
    except _Bad as bad:
        reasons.append(str(bad))
        already.add("due_on")
        due_on = None
    data = _validated(DeliverableCreate, {
        "title": title, "description": _text(cells.get("description")), "due_on": due_on,
        "owner_id": owner.id if owner else None, "status": _text(cells.get("status")),
    }, reasons, already=already, columns={"owner_id": "owner"})
    notes = _validated(DeliverableUpdate, {
        "progress_note": _text(cells.get("progress_note")), "evidence_url": _text(cells.get("evidence_url")),
    }, reasons, already=already)
    if reasons or data is None or notes is None or area is None:
        return None
    return _DeliverableRow(line=0, area=area, data=data, notes=notes)


def _check(agreements: Table, deliverables: Table | None, directory: _Directory, actor: Actor,
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
        reasons = _unnamed(cells)
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
    good_lines = {row.line for row in good}
    bad_ids = {number: line for line, cells in agreements.rows
               if (number := _id_or_none(cells, "id")) and line not in good_lines}
    good = _link_predecessors(agreements.source, good, bad_ids, directory, report)
    if deliverables is not None:
        _attach_deliverables(deliverables, good, bad_titles, directory, report)
    return good


def _link_predecessors(source: str, rows: list[_AgreementRow], bad_ids: dict[int, int], directory: _Directory,
                       report: ImportReport) -> list[_AgreementRow]:
    """Each row's `predecessor_id` resolved: a row above it in the file (by its `id`), else an
    agreement in Accord the importer sees; the rows it cannot resolve are bad."""
    by_id = {row.file_id: row for row in rows if row.file_id is not None}
    linked = []
    for row in rows:
        named = row.predecessor_id
        above = by_id.get(named) if named is not None else None
        reason = None
        if named is None:
            pass
        elif above is not None and above.line < row.line:
            row.predecessor_row = above
        elif above is not None:
            reason = (f"its predecessor (id {named}) is on line {above.line}, below it; put the predecessor "
                      "above its successor.")
        elif named in bad_ids:
            reason = f"its predecessor (id {named}) is on bad line {bad_ids[named]}, so it is not imported either."
        elif named in directory.agreements:
            row.predecessor_existing = named
        else:
            reason = (f"predecessor_id {named} names no row of this file (column id) and no agreement in "
                      "Accord that you can see.")
        if reason is None:
            linked.append(row)
        else:
            report.problems.append(RowProblem(source, row.line, reason))
    return linked


def _attach_deliverables(table: Table, good: list[_AgreementRow], bad_titles: dict[str, int],
                         directory: _Directory, report: ImportReport) -> None:
    report.deliverable_rows = len(table.rows)
    by_title: dict[str, list[_AgreementRow]] = {}
    for row in good:
        by_title.setdefault(row.title.casefold(), []).append(row)
    seen: dict[tuple[int, str, str], int] = {}
    for line, cells in table.rows:
        reasons = _unnamed(cells)
        title = _text(cells.get("agreement"))
        matches = by_title.get((title or "").casefold(), [])
        deliverable = None
        if title is None:
            reasons.append("agreement is missing: give the title of an agreement in the agreements file.")
        elif not matches:
            bad = bad_titles.get(title.casefold())
            reasons.append(f"its agreement {quoted(title)} is on bad line {bad}, so it is not imported either."
                           if bad else f"there is no agreement titled {quoted(title)} in the agreements file.")
        elif len(matches) > 1:
            reasons.append(f"several agreements are titled {quoted(title)} (lines "
                           f"{', '.join(str(m.line) for m in matches)}); give them distinct titles.")
        else:
            deliverable = _check_deliverable(cells, matches[0], directory, reasons)
        if deliverable is not None:
            key = (matches[0].line, deliverable.area.casefold(), deliverable.data.title.casefold())
            if key in seen:
                reasons.append(f"the same deliverable is already on line {seen[key]}.")
            else:
                seen[key] = line
                deliverable.line = line
                matches[0].deliverables.append(deliverable)
        report.problems += [RowProblem(table.source, line, r) for r in reasons]


# --- writing -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Import:
    """One checked row as a new agreement, through the one way in (`engine.agreements.service.apply`):
    its parties, areas, people and deliverables, in the row's state, recorded as `imported`."""

    row: _AgreementRow
    source: str

    async def blank(self, session: AsyncSession, actor: Actor, when: When) -> AgreementSnapshot:
        blank = await actions.Create(self.row.data).blank(session, actor, when)
        return replace(blank, workflow_name=self.row.workflow.spec.name,
                       workflow_version=self.row.workflow.spec.version, state=self.row.state)

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet:
        row = self.row
        draft = Draft(agreement)
        draft.update(row.data.model_dump(exclude={"workflow", "workflow_version", "parties", "areas", "title"}))
        draft.set("signed_on", row.signed_on)
        parties: dict[int, int] = {}
        for p in row.data.parties:
            organisation = next(o for o, _ in row.parties if o.id == p.organisation_id)
            party = draft.add(PartyValue(id=draft.ids.next(), agreement_id=agreement.id,
                                         organisation_id=p.organisation_id, role=p.role,
                                         organisation=organisation_value(organisation)))
            parties[p.organisation_id] = party.id
        areas: dict[str, int] = {}
        for i, a in enumerate(row.data.areas):
            area = draft.add(AreaValue(id=draft.ids.next(), agreement_id=agreement.id, title=a.title,
                                       description=a.description, position=i))
            areas[a.title.casefold()] = area.id
        for org, person, kind in row.people:
            draft.add(ContactValue(id=draft.ids.next(), agreement_id=agreement.id, party_id=parties[org.id or 0],
                                   person_id=person.id or 0, kind=kind, capacity=None,
                                   person=person_value_of(person)))
        for d in row.deliverables:
            data, notes = d.data, d.notes.model_dump(include={"progress_note", "evidence_url"})
            draft.add(DeliverableValue(
                id=draft.ids.next(), agreement_id=agreement.id, area_id=areas[d.area.casefold()], title=data.title,
                description=data.description, owner_id=data.owner_id, due_on=data.due_on, status=data.status,
                # as the API stores them
                progress_note=notes.get("progress_note"), evidence_url=notes.get("evidence_url"),
                completed_on=None, created_at=when.now, updated_at=when.now))
        lines = [row.line] + [d.line for d in row.deliverables]
        return draft.finish(
            HistoryKind.IMPORTED, "import", to_state=row.state,
            comment=f"Imported from {self.source} line {row.line}, in state {row.state}.",
            facts={"file": self.source, "line": row.line, "state": row.state, "deliverable_lines": lines[1:]})


async def _write(session: AsyncSession, row: _AgreementRow, source: str, actor: Actor, when: When) -> int:
    outcome = await apply(session, None, actor, when, _Import(row, source))
    return outcome.agreement.id


async def _actor(session: AsyncSession, email: str | None) -> Actor:
    if email is None:
        return IMPORTER
    wanted = email.strip().lower()
    person = await session.scalar(select(Person).where(col(Person.email) == wanted)) if _storable(wanted) else None
    if person is None:
        raise ImportFileError(f"there is no person with the email {quoted(email)} to import as.")
    if person.role not in (Role.ADMIN, Role.STAFF):
        raise ImportFileError(f"{person.name} is a partner; agreements are imported by staff or an "
                              "administrator.")
    return Actor.of(person)


async def import_tables(database: Database, tables: ImportTables, *, dry_run: bool, clock: Clock,
                        actor_email: str | None = None, zone: ZoneInfo | None = None,
                        progress: Progress | None = None) -> ImportReport:
    """Check every row of `tables`; unless `dry_run` or a row is bad, write every new agreement at once."""
    agreements, deliverables = tables.agreements, tables.deliverables
    report = ImportReport(source=tables.source, dry_run=dry_run)
    async with database.transaction(write=False) as session:
        actor = await _actor(session, actor_email)
        directory = await _directory(session, [agreements] + ([deliverables] if deliverables else []), actor)
    good = _check(agreements, deliverables, directory, actor, report, progress)
    if dry_run:
        for row in good:
            existing_id = directory.existing.get(row.key)
            if existing_id is not None:
                report.unchanged.append((row.line, row.title, existing_id))
            else:
                report.created.append((row.line, row.title, None))
                report.deliverables_created += len(row.deliverables)
        return report
    if not report.ok:
        return report  # every row or none: a bad row stops the import before it writes
    when = When.of(clock, zone or ZoneInfo("UTC"))
    async with database.transaction() as session:  # one transaction: all of it, or none if anything fails
        existing = await _existing(session, {row.title.casefold() for row in good})
        created: list[tuple[int, str, int | None]] = []
        ids: dict[int, int] = {}  # line -> the agreement's id, for the rows below naming it predecessor
        for done, row in enumerate(good, start=1):
            if row.key in existing:  # already there, or imported by someone else since the check
                ids[row.line] = existing[row.key]
                report.unchanged.append((row.line, row.title, existing[row.key]))
            else:
                predecessor = ids[row.predecessor_row.line] if row.predecessor_row else row.predecessor_existing
                linked = replace(row, data=row.data.model_copy(update={"predecessor_id": predecessor}))
                ids[row.line] = await _write(session, linked, tables.source, actor, when)
                created.append((row.line, row.title, ids[row.line]))
                report.deliverables_created += len(row.deliverables)
            if progress:
                progress("Importing", done, len(good))
    report.created = created
    return report


async def import_file(database: Database, path: Path, *, dry_run: bool, clock: Clock,
                      actor_email: str | None = None, deliverables_path: Path | None = None,
                      zone: ZoneInfo | None = None, progress: Progress | None = None,
                      limits: ImportLimits | None = None) -> ImportReport:
    """Check every row of `path` (and of its deliverables sheet or file); unless `dry_run`, import them.

    Raises `ImportFileError` when a file cannot be read at all or breaks a limit (default: the
    `ACCORD_IMPORT_MAX_*` settings); bad rows are in the report.
    """
    tables = read_tables(path, deliverables_path, limits or ImportLimits.of(Settings()))
    return await import_tables(database, tables, dry_run=dry_run, clock=clock, actor_email=actor_email,
                               zone=zone, progress=progress)

