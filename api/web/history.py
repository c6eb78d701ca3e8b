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

The lines are written in the reader's language (gettext, with named placeholders, under the
page's `i18n.reading`), their days too (`engine.i18n.format_day`); what people typed (titles,
summaries, names) is quoted as typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from engine import history_text
from engine.agreements.values import AgreementSnapshot
from engine.i18n import N_, format_day, gettext, ngettext
from engine.models import HistoryEvent
from engine.statuses import ContactKind, HistoryKind, PartyRole
from workflows.definition import WorkflowSpec

# The agreement's fields, in words a secretariat uses (translated where they are shown).
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
    "completed_on": N_("completed on"), "area_id": N_("area"), "position": N_("position"),
    "capacity": N_("capacity"),
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
    """What a person typed, quoted as the reader quotes: “…”, « … », «…»."""
    text = " ".join(text.split())
    return gettext("“%(text)s”") % {"text": f"{text[:LONGEST - 1]}…" if len(text) > LONGEST else text}


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
        found = self.parties.get(party_id) if isinstance(party_id, int) else None
        return found or gettext("a party")

    def person(self, person_id: Any) -> str:
        if not isinstance(person_id, int):
            return gettext("nobody")
        return self.people.get(person_id) or gettext("person %(number)s") % {"number": person_id}


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


def value_in_words(name: str, value: Any, names: Names) -> str:
    """A column's value in words, as the history and an amendment's diff (api/web/amendment_diff.py) say it."""
    if value is None or value == "":
        return gettext("not set")
    if name in DAY_FIELDS and isinstance(value, str):
        try:
            return format_day(date.fromisoformat(value))
        except ValueError:
            return value
    if name == "review_every_months" and isinstance(value, int):
        return ngettext("%(num)d month", "%(num)d months", value) % {"num": value}
    if name == "notice_period_days" and isinstance(value, int):
        return ngettext("%(num)d day", "%(num)d days", value) % {"num": value}
    if name == "predecessor_id":
        return f"#{value}"
    if name == "owner_id":
        return names.person(value)
    if name == "area_id":
        return _quoted(names.areas.get(value) or gettext("area %(number)s") % {"number": value})
    if name in ("status", "review_outcome", "outcome"):
        return str(value).replace("_", " ")
    if isinstance(value, str):
        return _quoted(value)
    return str(value)


def _change(label: str, name: str, old: Any, new: Any, names: Names) -> str:
    return f"{label} {value_in_words(name, old, names)} → {value_in_words(name, new, names)}"


def _field_lines(fields: Mapping[str, Any], names: Names, *, created: bool) -> list[str]:
    lines = []
    for name, pair in fields.items():
        if name in UNSAID or name in REVIEW_FIELDS or not isinstance(pair, list) or len(pair) != 2:
            continue
        label = gettext(FIELD_LABELS[name]) if name in FIELD_LABELS else name.replace("_", " ").capitalize()
        old, new = pair
        said = gettext("%(label)s:") % {"label": label}
        if created:
            lines.append(f"{said} {value_in_words(name, new, names)}")
        else:
            lines.append(_change(said, name, old, new, names))
    return lines


def _part_label(name: str) -> str:
    return gettext(PART_LABELS[name]) if name in PART_LABELS else name.replace("_", " ")


def _column_changes(changes: Mapping[str, Any], names: Names) -> str:
    said = [_change(_part_label(n), n, pair[0], pair[1], names)
            for n, pair in changes.items()
            if n not in UNSAID and isinstance(pair, list) and len(pair) == 2]
    return "; ".join(said)


def _part_line(part: Mapping[str, Any], names: Names) -> str | None:
    kind, op, part_id = part.get("part"), part.get("op"), _id(part.get("id"))
    values: Mapping[str, Any] = part.get("values") or {}
    changes: Mapping[str, Any] = part.get("changes") or {}
    if kind == "deliverable":
        title = (names.deliverables.get(part_id) or values.get("title")
                 or gettext("deliverable %(number)s") % {"number": part_id})
        if op == "added":
            names.deliverables[part_id] = values.get("title") or title
            details = ([gettext("in %(area)s") % {"area": value_in_words("area_id", values.get("area_id"), names)}]
                       if values.get("area_id") else [])
            details += [f"{_part_label(n)} {value_in_words(n, values[n], names)}"
                        for n in ("due_on", "owner_id", "status") if values.get(n) is not None]
            if details:
                return gettext("Deliverable %(title)s added: %(details)s") % {
                    "title": _quoted(title), "details": ", ".join(details)}
            return gettext("Deliverable %(title)s added") % {"title": _quoted(title)}
        if op == "removed":
            return gettext("Deliverable %(title)s removed") % {"title": _quoted(title)}
        line = gettext("Deliverable %(title)s: %(changes)s") % {
            "title": _quoted(title), "changes": _column_changes(changes, names)}
        if isinstance(changes.get("title"), list):
            names.deliverables[part_id] = changes["title"][1]
        return line
    if kind == "area":
        title = names.areas.get(part_id) or values.get("title") or gettext("area %(number)s") % {"number": part_id}
        if op == "added":
            names.areas[part_id] = values.get("title") or title
            return gettext("Area of collaboration %(title)s added") % {"title": _quoted(title)}
        if op == "removed":
            return gettext("Area of collaboration %(title)s removed") % {"title": _quoted(title)}
        line = gettext("Area of collaboration %(title)s: %(changes)s") % {
            "title": _quoted(title), "changes": _column_changes(changes, names)}
        if isinstance(changes.get("title"), list):
            names.areas[part_id] = changes["title"][1]
        return line
    if kind == "party":
        organisation = names.organisations.get(_id(values.get("organisation_id"))) or gettext("an organisation")
        if op == "added":
            names.parties[part_id] = organisation
            added = (gettext("Supporter added: %(organisation)s") if values.get("role") == PartyRole.SUPPORTER
                     else gettext("Party added: %(organisation)s"))
            return added % {"organisation": organisation}
        gone = gettext("Party %(party)s removed") if op == "removed" else gettext("Party %(party)s changed")
        return gone % {"party": names.party(part_id)}
    if kind == "contact":
        signatory = values.get("kind") == ContactKind.SIGNATORY
        said = {"person": names.person(values.get("person_id")), "party": names.party(values.get("party_id")),
                "changes": ""}
        if op == "added":
            line = (gettext("Signatory for %(party)s named: %(person)s") if signatory
                    else gettext("Focal point for %(party)s named: %(person)s")) % said
            return line + (f" ({values['capacity']})" if values.get("capacity") else "")
        if op == "removed":
            return (gettext("Signatory for %(party)s no longer named: %(person)s") if signatory
                    else gettext("Focal point for %(party)s no longer named: %(person)s")) % said
        said["changes"] = _column_changes(changes, names)
        return (gettext("Signatory for %(party)s: %(changes)s") if signatory
                else gettext("Focal point for %(party)s: %(changes)s")) % said
    if kind == "document":
        if op == "added":
            return gettext("Document %(title)s uploaded (%(kind)s, %(file)s)") % {
                "title": _quoted(str(values.get("title"))), "kind": str(values.get("kind", "")).replace("_", " "),
                "file": values.get("filename")}
        if isinstance(changes.get("withdrawn_reason"), list):
            return gettext("Document %(number)s withdrawn: %(reason)s") % {
                "number": part_id, "reason": _quoted(str(changes["withdrawn_reason"][1]))}
        return None
    if kind == "signature":
        party = names.party(values.get("party_id"))
        signed_on = value_in_words("signed_on", values.get("signed_on"), names)
        if op == "removed":
            return gettext("Signature of %(party)s (signed %(day)s) cleared") % {"party": party, "day": signed_on}
        return _signature(party, signed_on, values, names)
    return None


def _signature(party: str, signed_on: str, values: Mapping[str, Any], names: Names) -> str:
    """"Signature of UCLG ASPAC: signed 25 November 2026 in Jakarta by Secretary General"."""
    line = gettext("Signature of %(party)s: signed %(day)s") % {"party": party, "day": signed_on}
    if values.get("place"):
        line += " " + gettext("in %(place)s") % {"place": values["place"]}
    if values.get("signatory_id"):
        line += " " + gettext("by %(person)s") % {"person": names.person(values["signatory_id"])}
    return line


def _data_lines(row: HistoryEvent, names: Names) -> list[str]:
    """What an old row (no diff) says in its data."""
    data: Mapping[str, Any] = row.data or {}
    lines: list[str] = []
    changes = data.get("changes")
    if isinstance(changes, dict):
        if row.event == "deliverable_updated":
            title = names.deliverables.get(_id(data.get("deliverable_id"))) or gettext("a deliverable")
            lines.append(gettext("Deliverable %(title)s: %(changes)s") % {
                "title": _quoted(title), "changes": _column_changes(changes, names)})
        else:
            lines += _field_lines(changes, names, created=False)
    if data.get("signed_on"):
        organisation = names.organisations.get(_id(data.get("organisation_id"))) or gettext("a party")
        lines.append(_signature(organisation, value_in_words("signed_on", data["signed_on"], names), data, names))
    if data.get("ends_on"):  # a renewal's new end date
        end_date = gettext("%(label)s:") % {"label": gettext("End date")}
        lines.append(_change(end_date, "ends_on", data.get("previous_ends_on"), data.get("ends_on"), names))
    if row.event == "area_added" and data.get("title"):
        lines.append(gettext("Area of collaboration %(title)s added") % {"title": _quoted(data["title"])})
    if row.event == "deliverable_added" and data.get("title"):
        if data.get("due_on"):
            lines.append(gettext("Deliverable %(title)s added: %(details)s") % {
                "title": _quoted(data["title"]),
                "details": f"{gettext('due')} {value_in_words('due_on', data['due_on'], names)}"})
        else:
            lines.append(gettext("Deliverable %(title)s added") % {"title": _quoted(data["title"])})
    return lines


def _review_and_behalf(row: HistoryEvent) -> list[str]:
    data: Mapping[str, Any] = row.data or {}
    lines = []
    if data.get("outcome"):
        lines.append(gettext("Outcome: %(outcome)s") % {"outcome": str(data["outcome"]).replace("_", " ")})
    if data.get("summary"):
        lines.append(gettext("Summary: %(summary)s") % {"summary": _quoted(str(data["summary"]))})
    behalf = data.get("on_behalf_of")
    if isinstance(behalf, dict) and behalf.get("name"):
        lines.append(gettext("Recorded by %(person)s on behalf of %(party)s.") % {
            "person": row.actor, "party": behalf["name"]})
    left = data.get("not_copied")
    if isinstance(left, list) and left:
        lines.append(gettext("Not named on the copy (disabled, or no longer with their party): %(people)s.") % {
            "people": ", ".join(map(str, left))})
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
        if comment and row.event == "deliverable_updated" and any(gettext("progress note") in line for line in lines):
            comment = None  # the progress note's line says it
        said.append(Entry(at=row.at, when=moment(row.at, zone), what=what, rest=rest, comment=comment,
                          lines=lines))
    return list(reversed(said))
