"""Who may see and change which agreement.

Admins reach every agreement; staff and partners reach the agreements their
organisation is party to (as party or supporter), and nothing else exists for
them: out of reach is `NotFound`, never a refusal that confirms existence.
Staff of a party change an agreement; partners only read it and update the
deliverables they own.

A write may require the agreement to be at a version it names (`IfMatch`, HTTP If-Match):
`load_agreement(..., if_match=...)` checks it once the agreement is known to be in reach, so
that out of reach is still 404 whatever the condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload
from sqlmodel import col

from engine import graph
from engine.clock import When
from engine.context import Actor
from engine.errors import NotFound, NotPermitted, PreconditionFailed
from engine.models import Agreement, Party
from engine.statuses import Role


@dataclass(frozen=True)
class IfMatch:
    """A condition on the agreement's version (RFC 9110 If-Match / If-None-Match): it matches when
    the version is one of `versions`, or any version when `versions` is None (`*`). An empty
    `versions` names no version at all and matches nothing. `given` is the header as sent."""

    given: str
    versions: frozenset[int] | None

    def matches(self, version: int) -> bool:
        return self.versions is None or version in self.versions


def require_version(agreement: Agreement, if_match: IfMatch | None) -> None:
    """Raise `PreconditionFailed` unless `agreement` is at a version `if_match` names."""
    if if_match is not None and not if_match.matches(agreement.version):
        raise PreconditionFailed(if_match.given, agreement.version, cannot_match=not if_match.versions)


def in_reach(query: Select[Any], actor: Actor, agreement_id: Any = None) -> Select[Any]:
    """`query` narrowed to the agreements `actor` reaches; `agreement_id` is the column that names
    the agreement in `query` (default `Agreement.id`; e.g. `Notification.agreement_id`)."""
    if actor.is_admin or actor.is_scheduler:
        return query
    parties_of_actor = select(col(Party.agreement_id)).where(col(Party.organisation_id) == actor.organisation_id)
    return query.where(col(agreement_id if agreement_id is not None else Agreement.id).in_(parties_of_actor))


def with_parts() -> list[Any]:
    return [
        selectinload(Agreement.parties),  # type: ignore[arg-type]  # sqlmodel types relationships as lists
        selectinload(Agreement.contacts),  # type: ignore[arg-type]
        selectinload(Agreement.signatures),  # type: ignore[arg-type]
        selectinload(Agreement.areas),  # type: ignore[arg-type]
        selectinload(Agreement.deliverables),  # type: ignore[arg-type]
    ]


def _one_agreement_parts() -> list[Any]:
    """`with_parts` for one agreement: its few parties come joined to its own row (one round
    trip fewer); the other parts, which can be many, still come one query each."""
    return [
        joinedload(Agreement.parties),  # type: ignore[arg-type]
        *with_parts()[1:],
    ]


async def load_agreement(
    session: AsyncSession, agreement_id: int, actor: Actor, *, parts: bool = True,
    change_at: When | None = None, if_match: IfMatch | None = None,
) -> Agreement:
    """The agreement `actor` reaches, with its parts unless `parts=False`. `change_at`: the
    agreement is loaded for a change made then; also read what that change's
    `engine.schedule.sync` compares against, in the same statement. `if_match`: the change is
    made only at a version it names (`PreconditionFailed` otherwise); the compare-and-set in
    `engine.history.record_change` then keeps it so until the change is written."""
    agreement: Agreement | None
    if parts and not graph.in_session(session, agreement_id):
        agreement = await graph.load_graph(
            session, agreement_id, scoped=not (actor.is_admin or actor.is_scheduler),
            organisation_id=actor.organisation_id, change_at=change_at)
    else:
        query = in_reach(select(Agreement).where(col(Agreement.id) == agreement_id), actor)
        if parts:
            query = query.options(*_one_agreement_parts())
        result = await session.execute(query.execution_options(populate_existing=True))
        agreement = result.unique().scalar_one_or_none()
    if agreement is None:
        raise NotFound(f"There is no agreement {agreement_id} that you can see.")
    require_version(agreement, if_match)
    return agreement


def is_party_staff(actor: Actor, agreement: Agreement) -> bool:
    return actor.role == Role.STAFF and any(
        p.organisation_id == actor.organisation_id for p in agreement.parties
    )


def require_editor(actor: Actor, agreement: Agreement) -> None:
    if actor.is_admin or actor.is_scheduler or is_party_staff(actor, agreement):
        return
    raise NotPermitted(
        "You can read this agreement but not change it: changes are made by the staff of its "
        "parties. Partners may update the deliverables they own."
    )
