"""A change to an agreement, as a value: what the one way in checks, writes, records and shows.

A `ChangeSet` holds the agreement's changed fields with their old and new values, the parts it
adds, changes and removes, and the facts of the event (what the history row's `data` keeps).
It is made by an action on a snapshot (`engine.agreements.actions`) through a `Draft`, written
by `engine.agreements.repository.write`, followed by `engine.schedule.follow`, and stored in the
history row as its field-level `diff` (`ChangeSet.diff`). Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from engine.agreements.values import (
    COLLECTIONS,
    PART_NAMES,
    AgreementSnapshot,
    Ids,
    PartValue,
    columns_of,
)

Op = Literal["added", "changed", "removed"]
# Bookkeeping columns: written with a change, never shown as what it changed.
UNSHOWN = frozenset({"id", "agreement_id", "created_at", "updated_at"})


def jsonable(value: Any) -> Any:
    """A column value as JSON keeps it: days and instants as ISO text."""
    return value.isoformat() if isinstance(value, date | datetime) else value


@dataclass(frozen=True, slots=True)
class FieldChange:
    name: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class PartChange:
    """One part added (`before` is None), changed, or removed (`after` is None)."""

    op: Op
    before: PartValue | None
    after: PartValue | None

    @property
    def value(self) -> PartValue:
        value = self.after if self.after is not None else self.before
        assert value is not None
        return value

    @property
    def part(self) -> str:
        """`party`, `contact`, `signature`, `area` or `deliverable`."""
        return PART_NAMES[type(self.value)]

    @property
    def id(self) -> int:
        return self.value.id

    def changed_columns(self) -> dict[str, tuple[Any, Any]]:
        """For a change, each column whose value differs, as (old, new)."""
        if self.before is None or self.after is None:
            return {}
        old, new = columns_of(self.before), columns_of(self.after)
        return {name: (old[name], new[name]) for name in new if old[name] != new[name]}

    def as_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"part": self.part, "op": self.op, "id": self.id}
        if self.op == "changed":
            entry["changes"] = {k: [jsonable(o), jsonable(n)] for k, (o, n) in self.changed_columns().items()
                                if k not in UNSHOWN}
        else:
            entry["values"] = {k: jsonable(v) for k, v in columns_of(self.value).items() if k not in UNSHOWN}
        return entry


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What one action does to one agreement. `kind` is a `HistoryKind`, `event` what the history
    calls it (`suspend`, `edit`, `deliverable_updated`, ...)."""

    kind: str
    event: str
    fields: tuple[FieldChange, ...] = ()
    parts: tuple[PartChange, ...] = ()
    from_state: str | None = None
    to_state: str | None = None
    facts: Mapping[str, Any] | None = None
    comment: str | None = None

    def field(self, name: str) -> FieldChange | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)

    def of(self, part: str, op: Op | None = None) -> list[PartChange]:
        """The changes to parts of one kind (`deliverable`, ...), of one `op` if given."""
        return [p for p in self.parts if p.part == part and (op is None or p.op == op)]

    def of_op(self, op: Op) -> list[PartChange]:
        return [p for p in self.parts if p.op == op]

    def diff(self) -> dict[str, Any]:
        """The change as JSON: `{"fields": {name: [old, new]}, "parts": [{part, op, id, ...}]}`."""
        diff: dict[str, Any] = {}
        if self.fields:
            diff["fields"] = {f.name: [jsonable(f.old), jsonable(f.new)] for f in self.fields}
        if self.parts:
            diff["parts"] = [p.as_json() for p in self.parts]
        return diff

    def __str__(self) -> str:
        lines = [f"{self.kind} {self.event}" + (f" ({self.from_state} → {self.to_state})"
                                                 if self.from_state != self.to_state else "")]
        lines += [f"  {f.name}: {jsonable(f.old)!r} → {jsonable(f.new)!r}" for f in self.fields]
        for p in self.parts:
            detail = ", ".join(f"{k}: {jsonable(o)!r} → {jsonable(n)!r}"
                               for k, (o, n) in p.changed_columns().items() if k not in UNSHOWN)
            lines.append(f"  {p.op} {p.part} {p.id}" + (f" ({detail})" if detail else ""))
        return "\n".join(lines)


def apply_changes(snapshot: AgreementSnapshot, fields: Mapping[str, Any],
                  parts: Sequence[PartChange]) -> AgreementSnapshot:
    """`snapshot` with `fields` set and `parts` added, replaced and removed (in order)."""
    collections: dict[str, list[Any]] = {}
    for change in parts:
        name = COLLECTIONS[type(change.value)]
        items = collections.setdefault(name, list(getattr(snapshot, name)))
        if change.op == "added":
            items.append(change.after)
        elif change.op == "changed":
            items[:] = [change.after if p.id == change.id else p for p in items]
        else:
            items[:] = [p for p in items if p.id != change.id]
    if "areas" in collections:
        collections["areas"].sort(key=lambda a: (a.position, a.id < 0, abs(a.id)))
    if not fields and not collections:
        return snapshot
    values: dict[str, Any] = {**fields, **{name: tuple(items) for name, items in collections.items()}}
    return replace(snapshot, **values)


@dataclass
class Draft:
    """A change being made: effects and edits set fields and add, change or remove parts; `view`
    is the agreement as it would be so far, and `finish` makes the `ChangeSet`."""

    before: AgreementSnapshot
    ids: Ids = field(default_factory=Ids)
    fields: dict[str, Any] = field(default_factory=dict)
    parts: list[PartChange] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    _view: AgreementSnapshot | None = None

    @property
    def view(self) -> AgreementSnapshot:
        if self._view is None:
            self._view = apply_changes(self.before, self.fields, self.parts)
        return self._view

    def set(self, name: str, value: Any) -> None:
        if getattr(self.before, name) == value and type(getattr(self.before, name)) is type(value):
            self.fields.pop(name, None)
        else:
            self.fields[name] = value
        self._view = None

    def update(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            self.set(name, value)

    def add(self, part: PartValue) -> PartValue:
        self.parts.append(PartChange("added", None, part))
        self._view = None
        return part

    def change(self, before: PartValue, after: PartValue) -> None:
        if before == after:
            return
        for i, existing in enumerate(self.parts):
            if existing.op == "added" and existing.id == before.id and type(existing.value) is type(before):
                self.parts[i] = PartChange("added", None, after)
                break
        else:
            self.parts.append(PartChange("changed", before, after))
        self._view = None

    def remove(self, part: PartValue) -> None:
        kept = [p for p in self.parts if not (p.op == "added" and p.id == part.id
                                              and type(p.value) is type(part))]
        if len(kept) == len(self.parts):
            self.parts.append(PartChange("removed", part, None))
        else:
            self.parts = kept
        self._view = None

    def remove_all(self, parts: Iterable[PartValue]) -> None:
        for part in list(parts):
            self.remove(part)

    def finish(self, kind: str, event: str, *, from_state: str | None = None, to_state: str | None = None,
               facts: Mapping[str, Any] | None = None, comment: str | None = None) -> ChangeSet:
        return ChangeSet(
            kind=kind, event=event, from_state=from_state, to_state=to_state, comment=comment,
            fields=tuple(FieldChange(name, getattr(self.before, name), value)
                         for name, value in self.fields.items()),
            parts=tuple(self.parts), facts=facts)
