"""Every change to an agreement goes through `record_change`: compare-and-set, then history."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import CursorResult, Table, Update, bindparam, func, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from engine import schedule
from engine.clock import When
from engine.context import Actor
from engine.errors import StaleVersion
from engine.models import Agreement, HistoryEvent

_HISTORY: Table = HistoryEvent.__table__  # type: ignore[attr-defined]
_AGREEMENT: Table = Agreement.__table__  # type: ignore[attr-defined]
_INSERT_HISTORY = insert(_HISTORY)


@cache
def _compare_and_set(columns: tuple[str, ...]) -> Update:
    """`UPDATE agreement SET <columns> WHERE id = :row_id AND version = :expected`, built once per
    set of columns (a Core statement on the table: no ORM bookkeeping, cheap to execute again)."""
    return (_AGREEMENT.update()
            .where(_AGREEMENT.c.id == bindparam("row_id"), _AGREEMENT.c.version == bindparam("expected"))
            .values({name: bindparam(f"new_{name}") for name in columns}))


async def record_change(
    session: AsyncSession,
    agreement: Agreement,
    actor: Actor,
    when: When,
    *,
    kind: str,
    event: str,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str | None = None,
    data: dict[str, Any] | None = None,
) -> HistoryEvent:
    """Claim the next version of `agreement` (or raise `StaleVersion`) and append its history row.

    The conditional UPDATE runs before anything else of the change is flushed, so on
    PostgreSQL it takes the row lock first and the loser of a race fails here. It also
    carries the agreement's own changed columns (its new state, dates, terms), so the row
    is written once, not once for the version and again when the session flushes.
    """
    expected = agreement.version
    changed = _changed_columns(agreement)
    changed.update(version=expected + 1, updated_at=when.now)
    with session.no_autoflush:  # the agreement's own changes are in this UPDATE, not flushed apart
        result = await session.execute(
            _compare_and_set(tuple(sorted(changed))),
            {"row_id": agreement.id, "expected": expected, **{f"new_{k}": v for k, v in changed.items()}})
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        raise StaleVersion(expected)
    for key, value in changed.items():
        set_committed_value(agreement, key, value)
    sync = session.sync_session
    if not sync.is_modified(agreement):
        # Everything it changed is written: not dirty any more, so the flush below (and the one
        # at commit) need not walk the agreement and all its parts.
        state = sa_inspect(agreement)
        state._commit_all(state.dict, sync.identity_map)
    assert agreement.id is not None
    values: dict[str, Any] = {
        "agreement_id": agreement.id, "version": expected + 1, "at": when.now, "actor_id": actor.person_id,
        "actor": actor.label, "kind": kind, "event": event, "from_state": from_state, "to_state": to_state,
        "comment": comment, "data": data}
    # A plain INSERT, not the ORM's unit of work: the row is never changed after.
    await session.execute(_INSERT_HISTORY, values)
    entry = HistoryEvent(**values)
    if sync.new or sync.dirty or sync.deleted:
        await session.flush()  # what the change added (a signature, a party) before sync reads
    # Timers, reminders and webhook deliveries follow the change in the same transaction.
    await schedule.sync(session, agreement, when, entry)
    return entry


def _changed_columns(agreement: Agreement) -> dict[str, Any]:
    """The column attributes of `agreement` set since it was loaded, with their new values."""
    state = sa_inspect(agreement)
    if state.transient or state.pending:
        return {}
    changed: dict[str, Any] = {}
    for prop in state.mapper.column_attrs:
        if prop.key in ("id", "version") or len(prop.columns) != 1:
            continue
        history = state.attrs[prop.key].history
        if history.added:
            changed[prop.key] = history.added[0]
    return changed


async def list_history(
    session: AsyncSession, agreement_id: int, *, limit: int, offset: int
) -> tuple[list[HistoryEvent], int]:
    query = select(HistoryEvent).where(col(HistoryEvent.agreement_id) == agreement_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(col(HistoryEvent.version)).limit(limit).offset(offset))
    return list(rows), total
