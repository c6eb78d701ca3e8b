"""An amendment's diff in words, in the reader's language, for the agreement page.

The diff (`engine.agreements.amending.paths`: `ends_on`, `area/3/title`, `area/new`, `party/5`)
is said one change a line, fields labelled as the history labels them (api.web.history), days as
the reader writes them (`engine.i18n.format_day`):

    End date: 31 December 2029 → 31 December 2031
    Area “Urban resilience” added
    Focal point Agnès Bickart: capacity “Director” → “Director General”

Call it under `engine.i18n.reading` (the page's language): its words are translated when written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from api.web.history import FIELD_LABELS, PART_LABELS, Names, value_in_words
from engine.agreements.values import AgreementSnapshot
from engine.i18n import gettext
from engine.schemas import DiffEntry
from engine.statuses import ContactKind, PartyRole


def named_ids(diffs: Iterable[list[DiffEntry]]) -> tuple[set[int], set[int]]:
    """The people (owners) and organisations (joining or leaving parties) the diffs name, to look up once."""
    people: set[int] = set()
    organisations: set[int] = set()
    for diff in diffs:
        for entry in diff:
            for value in (entry.from_, entry.to):
                if isinstance(value, dict):
                    if isinstance(value.get("owner_id"), int):
                        people.add(value["owner_id"])
                    if entry.path.startswith("party/") and isinstance(value.get("organisation_id"), int):
                        organisations.add(value["organisation_id"])
            if entry.path.endswith("/owner_id"):
                people.update(v for v in (entry.from_, entry.to) if isinstance(v, int))
    return people, organisations


class _Words:
    def __init__(self, agreement: AgreementSnapshot, people: Mapping[int, str],
                 organisations: Mapping[int, str]) -> None:
        self.agreement = agreement
        self.people = people
        self.organisations = {**organisations, **{p.organisation_id: p.organisation.name for p in agreement.parties}}
        self.areas = {a.id: a.title for a in agreement.areas}
        self.names = Names.of(agreement, people)
        self.names.organisations.update(self.organisations)

    def value(self, name: str, value: Any) -> str:
        """A column's value in words, as the history says it."""
        return value_in_words(name, value, self.names)

    def change(self, name: str, old: Any, new: Any) -> str:
        return f"{self.value(name, old)} → {self.value(name, new)}"

    def line(self, entry: DiffEntry) -> str:
        parts = entry.path.split("/")
        if len(parts) == 1:
            label = gettext(FIELD_LABELS.get(entry.path, entry.path))
            return f"{label}: {self.change(entry.path, entry.from_, entry.to)}"
        kind, which = parts[0], parts[1]
        values = entry.to if isinstance(entry.to, dict) else entry.from_ if isinstance(entry.from_, dict) else {}
        part_id = int(which) if which.isdigit() else 0
        if len(parts) == 3:
            column = parts[2]
            said = f"{gettext(PART_LABELS.get(column, column))} {self.change(column, entry.from_, entry.to)}"
            return f"{self.part_name(kind, part_id, {})}: {said}"
        added = entry.from_ is None
        if kind == "party":
            organisation = self.organisations.get(values.get("organisation_id", 0), gettext("an organisation"))
            if not added:
                return gettext("%(organisation)s leaves") % {"organisation": organisation}
            if values.get("role") == PartyRole.SUPPORTER:
                return gettext("%(organisation)s joins as supporter") % {"organisation": organisation}
            return gettext("%(organisation)s joins as party") % {"organisation": organisation}
        name = self.part_name(kind, part_id, values)
        if kind == "deliverable" and added:
            details = [f"{gettext(PART_LABELS[n])} {self.value(n, values[n])}"
                       for n in ("area_id", "owner_id", "due_on") if values.get(n) is not None]
            return gettext("%(part)s added") % {"part": name} + (f" ({', '.join(details)})" if details else "")
        return (gettext("%(part)s added") if added else gettext("%(part)s removed")) % {"part": name}

    def part_name(self, kind: str, part_id: int, values: Mapping[str, Any]) -> str:
        """A part as the page names it: Area “X”, Deliverable “Y”, Focal point Agnès Bickart."""
        if kind == "area":
            return gettext("Area “%(title)s”") % {"title": values.get("title") or self.areas.get(part_id, part_id)}
        if kind == "deliverable":
            deliverable = self.agreement.deliverable(part_id) if part_id else None
            title = values.get("title") or (deliverable.title if deliverable else part_id)
            return gettext("Deliverable “%(title)s”") % {"title": title}
        if kind == "contact":
            contact = next((c for c in self.agreement.contacts if c.id == part_id), None)
            who = contact.person.name if contact else f"#{part_id}"
            if contact is not None and contact.kind == ContactKind.SIGNATORY:
                return gettext("Signatory %(name)s") % {"name": who}
            return gettext("Focal point %(name)s") % {"name": who}
        if kind == "party":
            party = next((p for p in self.agreement.parties if p.id == part_id), None)
            return party.organisation.name if party else f"#{part_id}"
        return f"{kind} #{part_id}"


def lines(diff: list[DiffEntry], agreement: AgreementSnapshot, people: Mapping[int, str],
          organisations: Mapping[int, str]) -> list[str]:
    """`diff` one change a line, in the language being read (`engine.i18n.reading`)."""
    words = _Words(agreement, people, organisations)
    return [words.line(entry) for entry in diff]
