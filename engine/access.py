"""Which agreements a person reaches, as a condition on a query; and If-Match.

Admins and the scheduler reach every agreement; staff and partners reach the agreements their
organisation is party to (as party or supporter), and nothing else exists for them: out of reach
is `NotFound`, never a refusal that confirms existence. What a person may do to an agreement they
reach is `engine.agreements.policy`'s to say.

A write may require the agreement to be at a version it names (`IfMatch`, HTTP If-Match):
`engine.agreements.service.apply` checks it once the agreement is known to be in reach, so that
out of reach is still 404 whatever the condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlmodel import col

from engine import i18n
from engine.agreements.values import AgreementSnapshot
from engine.context import Actor
from engine.errors import NotFound, PreconditionFailed
from engine.models import Agreement, Party


@dataclass(frozen=True)
class IfMatch:
    """A condition on the agreement's version (RFC 9110 If-Match / If-None-Match): it matches when
    the version is one of `versions`, or any version when `versions` is None (`*`). An empty
    `versions` names no version at all and matches nothing. `given` is the header as sent."""

    given: str
    versions: frozenset[int] | None

    def matches(self, version: int) -> bool:
        return self.versions is None or version in self.versions


def require_version(agreement: Agreement | AgreementSnapshot, if_match: IfMatch | None) -> None:
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
    """The loader options that read a list of agreements with their parts (reports, feeds)."""
    return [
        selectinload(Agreement.parties),  # type: ignore[arg-type]  # sqlmodel types relationships as lists
        selectinload(Agreement.contacts),  # type: ignore[arg-type]
        selectinload(Agreement.signatures),  # type: ignore[arg-type]
        selectinload(Agreement.areas),  # type: ignore[arg-type]
        selectinload(Agreement.deliverables),  # type: ignore[arg-type]
    ]


async def reachable(session: AsyncSession, agreement_id: int, actor: Actor) -> Agreement:
    """The agreement's own row, if `actor` reaches it (`NotFound` otherwise): for what needs to
    know it exists (its history, its diagram, its feed) but not its parts, which
    `engine.agreements.snapshot.load` reads."""
    agreement: Agreement | None = await session.scalar(
        in_reach(select(Agreement).where(col(Agreement.id) == agreement_id), actor))
    if agreement is None:
        raise NotFound(i18n.gettext("There is no agreement %(id)s that you can see.") % {"id": agreement_id})
    return agreement
