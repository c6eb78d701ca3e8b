"""Every change to an agreement goes through `record_change`: compare-and-set, then history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from engine import schedule
from engine.clock import When
from engine.context import Actor
from engine.errors import StaleVersion
from engine.models import Agreement, HistoryEvent


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
    with session.no_autoflush:
        result = await session.execute(
            update(Agreement)
            .where(col(Agreement.id) == agreement.id, col(Agreement.version) == expected)
            .values(**changed)
            .execution_options(synchronize_session=False)
        )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        raise StaleVersion(expected)
    for key, value in changed.items():
        set_committed_value(agreement, key, value)
    assert agreement.id is not None
    entry = HistoryEvent(
        agreement_id=agreement.id, version=expected + 1, at=when.now, actor_id=actor.person_id,
        actor=actor.label, kind=kind, event=event, from_state=from_state, to_state=to_state,
        comment=comment, data=data,
    )
    session.add(entry)
    await session.flush()
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
