"""An agreement's history in words, for its page.

Each entry says when (in the viewer's time zone, as a person reads it: "23 November 2026, 11:00"),
what happened (`engine.history_text.words`, the same words as the API's `text`), and what it
changed, one line each, from the row's `diff` (`engine.agreements.changes.ChangeSet.diff`):

    End date: 31 December 2029 → 31 December 2031
    Deliverable “City profile”: status planned → done
    Signature of UCLG ASPAC: signed 25 November 2026 in Jakarta by Secretary General, UCLG ASPAC
    Recorded by Accord Administrator on behalf of UCLG ASPAC.
    Outcome: renew. Summary: “All four areas on track.”

A row written before diffs were kept (its `diff` is NULL) says what its `data` holds: the
changes an edit or a deliverable update recorded, a signature's day and place, a review's
outcome and summary. Parts are named as they were when the row was written (a deliverable
renamed later keeps its old title in the entries before the renaming).

The lines are the engine's words, in English for now; their days, like every day on a page,
are in the reader's language (`engine.i18n.format_day`, under the page's `i18n.reading`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from engine import history_text
from engine.agreements.values import AgreementSnapshot
from engine.i18n import N_, format_day
from engine.models import HistoryEvent
from engine.statuses import ContactKind, HistoryKind, PartyRole
from workflows.definition import WorkflowSpec

# The agreement's fields, in words a secretariat uses (English in the history; translated where
# an amendment's diff is said, api.web.amendment_diff).
FIELD_LABELS = {
    "title": N_("Title"), "summary": N_("Summary"), "background": N_("Background"),
    "effective_from": N_("Effective from"), "ends_on": N_("End date"), "term_starts_on": N_("Term starts"),
    "review_every_months": N_("Reviewed every"), "next_review_on": N_("Next review"),
    "notice_period_days": N_("Notice period"), "signing_place": N_("Place of signing"), "signed_on": N_("Signed on"),
    "submitted_on": N_("Submitted for signature on"), "predecessor_id": N_("Follows agreement"),
    "review_outcome": N_("Review outcome"), "review_summary": N_("Review summary"),
}
# A deliverable's and an area's columns, as they read after the part's name.
PART_LABELS = {
    "title": N_("title"), "description": N_("description"), "owner_id": N_("owner"), "due_on": N_("due"),
    "status": N_("status"), "progress_note": N_("progress note"), "evidence_url": N_("evidence link"),
    "completed_on": N_("completed on"), "area_id": N_("area"), "position": N_("position"), "capacity": N_("capacity"),
}
# Said by the heading (state) or kept for the machine (the rest); never a line of their own.
UNSAID = frozenset({"state", "version", "created_at", "updated_at", "recorded_at", "workflow_name",
                    "workflow_version", "created_by_id", "agreement_id"})
# The review's outcome and summary are said once, from the event's data, not as "old → new".
REVIEW_FIELDS = frozenset({"review_outcome", "review_summary"})
DAY_FIELDS = frozenset({"effective_from", "ends_on", "term_starts_on", "next_review_on", "signed_on",
                        "submitted_on", "due_on", "completed_on", "previous_ends_on"})
LONGEST = 200


@dataclass(frozen=True)
class Moment:
    """An instant as a person reads it in their time zone, its day in the language of the page it
    is shown on (`engine.i18n.format_day`): "23 November 2026, 11:00", "23 novembre 2026, 11:00"."""

    local: datetime

    def __str__(self) -> str:
        return f"{format_day(self.local.date())}, {self.local:%H:%M}"


@dataclass(frozen=True)
class Entry:
    at: datetime
    when: Moment  # `at` in words, in the viewer's time zone
    what: str
    rest: str
    comment: str | None
    lines: list[str]


def moment(at: datetime, zone: tzinfo) -> Moment:
    """An instant as a person reads it in `zone`, written when it is shown."""
    return Moment(at.astimezone(zone))


def _quoted(text: str) -> str:
    text = " ".join(text.split())
    return f"“{text[:LONGEST - 1]}…”" if len(text) > LONGEST else f"“{text}”"


@dataclass
class Names:
    """Whom and what a history row's ids name: as the agreement is now, updated row by row with
    what each row added or renamed, and the people looked up for the page."""

    parties: dict[int, str] = field(default_factory=dict)  # party id -> organisation
    organisations: dict[int, str] = field(default_factory=dict)
    people: dict[int, str] = field(default_factory=dict)
    areas: dict[int, str] = field(default_factory=dict)
    deliverables: dict[int, str] = field(default_factory=dict)
    party_roles: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, agreement: AgreementSnapshot, people: Mapping[int, str]) -> Names:
        names = cls(people=dict(people))
        for party in agreement.parties:
            names.parties[party.id] = names.organisations[party.organisation_id] = party.organisation.name
            names.party_roles[party.id] = party.role
        for contact in agreement.contacts:
            names.people.setdefault(contact.person_id, contact.person.name)
        names.areas.update((a.id, a.title) for a in agreement.areas)
        names.deliverables.update((d.id, d.title) for d in agreement.deliverables)
        return names

    def party(self, party_id: Any) -> str:
        return self.parties.get(party_id, "a party") if isinstance(party_id, int) else "a party"

    def person(self, person_id: Any) -> str:
        if not isinstance(person_id, int):
            return "nobody"
        return self.people.get(person_id, f"person {person_id}")


def referenced_people(rows: Iterable[HistoryEvent]) -> set[int]:
    """The people the rows' diffs and data name (contacts, signatories, owners), to look up once."""
    found: set[int] = set()

    def note(values: Mapping[str, Any]) -> None:
        for key in ("person_id", "signatory_id", "owner_id"):
            value = values.get(key)
            if isinstance(value, int):
                found.add(value)
            elif isinstance(value, list):
                found.update(v for v in value if isinstance(v, int))

    for row in rows:
        note(row.data or {})
        if isinstance((row.data or {}).get("changes"), dict):
            note(row.data["changes"])  # type: ignore[index]
        for part in (row.diff or {}).get("parts") or []:
            note(part.get("values") or {})
            note(part.get("changes") or {})
    return found


def _id(value: Any) -> int:
    """An id from JSON, or 0 (no row) when it is not one."""
    return value if isinstance(value, int) else 0


def _value(name: str, value: Any, names: Names) -> str:
    """A column's value in words."""
    if value is None or value == "":
        return "not set"
    if name in DAY_FIELDS and isinstance(value, str):
        try:
            return format_day(date.fromisoformat(value))
        except ValueError:
            return value
    if name == "review_every_months":
        return f"{value} month{'' if value == 1 else 's'}"
    if name == "notice_period_days":
        return f"{value} day{'' if value == 1 else 's'}"
    if name == "predecessor_id":
        return f"#{value}"
    if name == "owner_id":
        return names.person(value)
    if name == "area_id":
        return _quoted(names.areas.get(value, f"area {value}"))
    if name in ("status", "review_outcome", "outcome"):
        return str(value).replace("_", " ")
    if isinstance(value, str):
        return _quoted(value)
    return str(value)


def _change(label: str, name: str, old: Any, new: Any, names: Names) -> str:
    return f"{label} {_value(name, old, names)} → {_value(name, new, names)}"


def _field_lines(fields: Mapping[str, Any], names: Names, *, created: bool) -> list[str]:
    lines = []
    for name, pair in fields.items():
        if name in UNSAID or name in REVIEW_FIELDS or not isinstance(pair, list) or len(pair) != 2:
            continue
        label = FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
        old, new = pair
        if created:
            lines.append(f"{label}: {_value(name, new, names)}")
        else:
            lines.append(_change(f"{label}:", name, old, new, names))
    return lines


def _column_changes(changes: Mapping[str, Any], names: Names) -> str:
    said = [_change(PART_LABELS.get(n, n.replace("_", " ")), n, pair[0], pair[1], names)
            for n, pair in changes.items()
            if n not in UNSAID and isinstance(pair, list) and len(pair) == 2]
    return "; ".join(said)


def _part_line(part: Mapping[str, Any], names: Names) -> str | None:
    kind, op, part_id = part.get("part"), part.get("op"), _id(part.get("id"))
    values: Mapping[str, Any] = part.get("values") or {}
    changes: Mapping[str, Any] = part.get("changes") or {}
    if kind == "deliverable":
        title = names.deliverables.get(part_id) or values.get("title") or f"deliverable {part_id}"
        if op == "added":
            names.deliverables[part_id] = values.get("title") or title
            details = [f"in {_value('area_id', values.get('area_id'), names)}"] if values.get("area_id") else []
            details += [f"{PART_LABELS[n]} {_value(n, values[n], names)}"
                        for n in ("due_on", "owner_id", "status") if values.get(n) is not None]
            return f"Deliverable {_quoted(title)} added" + (f": {', '.join(details)}" if details else "")
        if op == "removed":
            return f"Deliverable {_quoted(title)} removed"
        line = f"Deliverable {_quoted(title)}: {_column_changes(changes, names)}"
        if isinstance(changes.get("title"), list):
            names.deliverables[part_id] = changes["title"][1]
        return line
    if kind == "area":
        title = names.areas.get(part_id) or values.get("title") or f"area {part_id}"
        if op == "added":
            names.areas[part_id] = values.get("title") or title
            return f"Area of collaboration {_quoted(title)} added"
        if op == "removed":
            return f"Area of collaboration {_quoted(title)} removed"
        line = f"Area of collaboration {_quoted(title)}: {_column_changes(changes, names)}"
        if isinstance(changes.get("title"), list):
            names.areas[part_id] = changes["title"][1]
        return line
    if kind == "party":
        organisation = names.organisations.get(_id(values.get("organisation_id")), "an organisation")
        if op == "added":
            names.parties[part_id] = organisation
            role = values.get("role")
            return f"{'Supporter' if role == PartyRole.SUPPORTER else 'Party'} added: {organisation}"
        return f"Party {names.party(part_id)} {'removed' if op == 'removed' else 'changed'}"
    if kind == "contact":
        what = "Signatory" if values.get("kind") == ContactKind.SIGNATORY else "Focal point"
        person = names.person(values.get("person_id"))
        capacity = f" ({values['capacity']})" if values.get("capacity") else ""
        party = names.party(values.get("party_id"))
        if op == "added":
            return f"{what} for {party} named: {person}{capacity}"
        if op == "removed":
            return f"{what} for {party} no longer named: {person}"
        return f"{what} for {party}: {_column_changes(changes, names)}"
    if kind == "document":
        if op == "added":
            kind_words = str(values.get("kind", "")).replace("_", " ")
            return f"Document {_quoted(str(values.get('title')))} uploaded ({kind_words}, {values.get('filename')})"
        if isinstance(changes.get("withdrawn_reason"), list):
            return f"Document {part_id} withdrawn: {_quoted(str(changes['withdrawn_reason'][1]))}"
        return None
    if kind == "signature":
        party = names.party(values.get("party_id"))
        signed_on = _value("signed_on", values.get("signed_on"), names)
        if op == "removed":
            return f"Signature of {party} (signed {signed_on}) cleared"
        place = f" in {values['place']}" if values.get("place") else ""
        signatory = f" by {names.person(values['signatory_id'])}" if values.get("signatory_id") else ""
        return f"Signature of {party}: signed {signed_on}{place}{signatory}"
    return None


def _data_lines(row: HistoryEvent, names: Names) -> list[str]:
    """What an old row (no diff) says in its data."""
    data: Mapping[str, Any] = row.data or {}
    lines: list[str] = []
    changes = data.get("changes")
    if isinstance(changes, dict):
        if row.event == "deliverable_updated":
            title = names.deliverables.get(_id(data.get("deliverable_id")), "a deliverable")
            lines.append(f"Deliverable {_quoted(title)}: {_column_changes(changes, names)}")
        else:
            lines += _field_lines(changes, names, created=False)
    if data.get("signed_on"):
        organisation = names.organisations.get(_id(data.get("organisation_id")), "a party")
        place = f" in {data['place']}" if data.get("place") else ""
        signatory = f" by {names.person(data['signatory_id'])}" if data.get("signatory_id") else ""
        lines.append(f"Signature of {organisation}: signed {_value('signed_on', data['signed_on'], names)}"
                     f"{place}{signatory}")
    if data.get("ends_on"):  # a renewal's new end date
        lines.append(_change("End date:", "ends_on", data.get("previous_ends_on"), data.get("ends_on"), names))
    if row.event == "area_added" and data.get("title"):
        lines.append(f"Area of collaboration {_quoted(data['title'])} added")
    if row.event == "deliverable_added" and data.get("title"):
        due = f": due {_value('due_on', data['due_on'], names)}" if data.get("due_on") else ""
        lines.append(f"Deliverable {_quoted(data['title'])} added{due}")
    return lines


def _review_and_behalf(row: HistoryEvent) -> list[str]:
    data: Mapping[str, Any] = row.data or {}
    lines = []
    if data.get("outcome"):
        lines.append(f"Outcome: {str(data['outcome']).replace('_', ' ')}")
    if data.get("summary"):
        lines.append(f"Summary: {_quoted(str(data['summary']))}")
    behalf = data.get("on_behalf_of")
    if isinstance(behalf, dict) and behalf.get("name"):
        lines.append(f"Recorded by {row.actor} on behalf of {behalf['name']}.")
    left = data.get("not_copied")
    if isinstance(left, list) and left:
        lines.append(f"Not named on the copy (disabled, or no longer with their party): {', '.join(map(str, left))}.")
    return lines


def entries(rows: Iterable[HistoryEvent], agreement: AgreementSnapshot, workflow: WorkflowSpec,
            people: Mapping[int, str], zone: tzinfo) -> list[Entry]:
    """The rows (oldest first) in words, newest first."""
    names = Names.of(agreement, people)
    labels = {name: event.label for name, event in workflow.events.items()}
    said: list[Entry] = []
    for row in rows:
        what, rest = history_text.words(row.event, row.from_state, row.to_state, row.actor, row.data,
                                        labels.get(row.event))
        if row.diff is not None:
            created = row.kind in (HistoryKind.CREATED, HistoryKind.IMPORTED)
            lines = _field_lines(row.diff.get("fields") or {}, names, created=created)
            lines += [line for part in row.diff.get("parts") or [] if (line := _part_line(part, names))]
        else:
            lines = _data_lines(row, names)
        lines += _review_and_behalf(row)
        comment = row.comment
        if comment and row.event == "deliverable_updated" and any("progress note" in line for line in lines):
            comment = None  # the progress note's line says it
        said.append(Entry(at=row.at, when=moment(row.at, zone), what=what, rest=rest, comment=comment,
                          lines=lines))
    return list(reversed(said))
