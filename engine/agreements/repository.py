"""Writing a change set: Core statements on the tables, built once, in the caller's transaction.

    UPDATE agreement SET <changed fields>, version = v + 1, updated_at = now
        WHERE id = :id AND version = v                  -- compare-and-set, or `StaleVersion`
    DELETE / INSERT ... RETURNING id / UPDATE          -- the parts removed, added, changed
    INSERT agreement_event                              -- the history row, with the diff

On PostgreSQL a change that adds no row (most events, edits, updates of a part) claims the
version and records the history in one statement (`_claim_and_record`).

A new agreement is an INSERT (version 1) instead of the compare-and-set. The compare-and-set
runs first, so on PostgreSQL it takes the row lock before anything else of the change is
written and the loser of a race fails there. A part not yet written carries a negative id
(`engine.agreements.values.Ids`); it gets its row's id here, and so do the parts that name it
(a contact its new party, a deliverable its new area). `write` answers with the agreement as
the change left it and the change set with every id real, without reading the rows again.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import Any

from sqlalchemy import CursorResult, Delete, Insert, Table, Update, bindparam, select
from sqlmodel import SQLModel

from engine.agreements.changes import ChangeSet, PartChange, apply_changes
from engine.agreements.values import (
    COLLECTIONS,
    REFERENCES,
    AgreementSnapshot,
    PartValue,
    columns_of,
)
from engine.clock import When
from engine.context import Actor
from engine.db import Executor, dialect_name
from engine.errors import StaleVersion
from engine.models import (
    Agreement,
    CollaborationArea,
    Contact,
    Deliverable,
    Document,
    HistoryEvent,
    Party,
    Signature,
)

MODELS: dict[str, type[SQLModel]] = {
    "agreement": Agreement, "party": Party, "agreement_contact": Contact, "signature": Signature,
    "collaboration_area": CollaborationArea, "deliverable": Deliverable, "document": Document,
    "agreement_event": HistoryEvent,
}
# The order parts are written in: what a part names is written before it.
WRITE_ORDER = tuple(COLLECTIONS.values())


def table(name: str) -> Table:
    found = MODELS[name].__table__  # type: ignore[attr-defined]
    assert isinstance(found, Table)
    return found


@cache
def _compare_and_set(columns: tuple[str, ...]) -> Update:
    """`UPDATE agreement SET <columns> WHERE id = :row_id AND version = :expected`, once per set."""
    agreement = table("agreement")
    return (agreement.update()
            .where(agreement.c.id == bindparam("row_id"), agreement.c.version == bindparam("expected"))
            .values({name: bindparam(f"new_{name}") for name in columns}))


@cache
def _insert(name: str) -> Insert:
    return table(name).insert()


@cache
def _insert_returning(name: str) -> Insert:
    found = table(name)
    return found.insert().returning(found.c.id)


@cache
def _update(name: str, columns: tuple[str, ...]) -> Update:
    found = table(name)
    return (found.update().where(found.c.id == bindparam("row_id"))
            .values({column: bindparam(f"new_{column}") for column in columns}))


@cache
def _delete(name: str) -> Delete:
    found = table(name)
    return found.delete().where(found.c.id == bindparam("row_id"))


HISTORY_COLUMNS = ("version", "at", "actor_id", "actor", "kind", "event", "from_state", "to_state", "comment",
                   "data", "diff")


@cache
def _claim_and_record(columns: tuple[str, ...]) -> Insert:
    """PostgreSQL: the compare-and-set and the history row in one statement,

        WITH claimed AS (UPDATE agreement SET ... WHERE id = :row_id AND version = :expected
                         RETURNING id)
        INSERT INTO agreement_event (agreement_id, ...) SELECT claimed.id, ... FROM claimed
        RETURNING agreement_event.id

    which inserts nothing (and returns no row) when another write won."""
    agreement, history = table("agreement"), table("agreement_event")
    claimed = (agreement.update()
               .where(agreement.c.id == bindparam("row_id"), agreement.c.version == bindparam("expected"))
               .values({name: bindparam(f"new_{name}") for name in columns})
               .returning(agreement.c.id).cte("claimed"))
    values = select(claimed.c.id, *(bindparam(f"h_{name}", type_=history.c[name].type) for name in HISTORY_COLUMNS))
    return history.insert().from_select(["agreement_id", *HISTORY_COLUMNS], values).returning(history.c.id)


def _history(version: int, change: ChangeSet, actor: Actor, when: When) -> dict[str, Any]:
    return {"version": version, "at": when.now, "actor_id": actor.person_id, "actor": actor.label,
            "kind": change.kind, "event": change.event, "from_state": change.from_state,
            "to_state": change.to_state, "comment": change.comment,
            "data": dict(change.facts) if change.facts else None, "diff": change.diff() or None}


async def write(session: Executor, before: AgreementSnapshot, change: ChangeSet, actor: Actor,
                when: When) -> tuple[AgreementSnapshot, ChangeSet]:
    """Write `change` to `before` (a new agreement when its id is not positive); the agreement
    after, and `change` with the ids of the rows it added."""
    fields = {f.name: f.new for f in change.fields}
    version = before.version + 1
    stamp = {"version": version, "updated_at": when.now}
    if before.id > 0 and dialect_name(session) == "postgresql" and not change.of_op("added"):
        # No new row whose id the diff must name: claim and record at once (one round trip).
        values = {**fields, **stamp}
        recorded = await session.execute(_claim_and_record(tuple(values)), {
            "row_id": before.id, "expected": before.version, **{f"new_{k}": v for k, v in values.items()},
            **{f"h_{k}": v for k, v in _history(version, change, actor, when).items()}})
        if recorded.first() is None:
            raise StaleVersion(before.version)
        parts = await _write_parts(session, before.id, change.parts)
        return apply_changes(before, values, parts), change
    if before.id > 0:
        agreement_id = before.id
        values = {**fields, **stamp}
        result = await session.execute(
            _compare_and_set(tuple(values)),
            {"row_id": agreement_id, "expected": before.version, **{f"new_{k}": v for k, v in values.items()}})
        assert isinstance(result, CursorResult)
        if result.rowcount != 1:
            raise StaleVersion(before.version)
    else:
        row = {**before.columns(), **fields, **stamp}
        del row["id"]
        agreement_id = (await session.execute(_insert_returning("agreement"), row)).scalar_one()
    parts = await _write_parts(session, agreement_id, change.parts)
    written = replace(change, parts=parts)
    await session.execute(_insert("agreement_event"),
                          {"agreement_id": agreement_id, **_history(version, written, actor, when)})
    start = before if before.id == agreement_id else replace(before, id=agreement_id)
    after = apply_changes(start, {**fields, **stamp}, parts)
    return after, written


async def _write_parts(session: Executor, agreement_id: int,
                       changes: tuple[PartChange, ...]) -> tuple[PartChange, ...]:
    """Each part change written: removals, then additions (in `WRITE_ORDER`), then changes."""
    ids: dict[tuple[type[Any], int], int] = {}
    resolved: dict[int, PartChange] = {}
    for i, change in enumerate(changes):
        if change.op == "removed":
            await session.execute(_delete(change.value.TABLE), {"row_id": change.id})
            resolved[i] = change
    for collection in WRITE_ORDER:
        for i, change in enumerate(changes):
            if change.op != "added" or COLLECTIONS[type(change.value)] != collection:
                continue
            part = _with_real_ids(change.value, agreement_id, ids)
            row = columns_of(part)
            del row["id"]
            real = (await session.execute(_insert_returning(part.TABLE), row)).scalar_one()
            ids[(type(part), change.id)] = real
            resolved[i] = PartChange("added", None, replace(part, id=real))
    for i, change in enumerate(changes):
        if change.op == "changed":
            columns = change.changed_columns()
            if columns:
                await session.execute(_update(change.value.TABLE, tuple(columns)), {
                    "row_id": change.id, **{f"new_{k}": new for k, (_, new) in columns.items()}})
            resolved[i] = change
    return tuple(resolved[i] for i in range(len(changes)))


def _with_real_ids(part: PartValue, agreement_id: int, ids: dict[tuple[type[Any], int], int]) -> PartValue:
    """`part` naming its agreement, and the parts written before it, by their rows' ids."""
    updates: dict[str, Any] = {"agreement_id": agreement_id}
    for column, kind in REFERENCES.get(type(part), {}).items():
        named = getattr(part, column)
        if named is not None and named < 0:
            updates[column] = ids[(kind, named)]
    return replace(part, **updates)

