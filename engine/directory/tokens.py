"""Bearer tokens after they are issued: who holds which, and revoking one.

    list_tokens(session, person_id, actor, ...)   their tokens, never the secret
    revoke_token(session, token_id, actor, now)   idempotent

Who may (`engine.directory.rules.may_see_tokens`): an administrator anyone's; staff those of the
people of their own organisation who are not administrators; everyone their own. A token of
someone else's that one may not revoke is "not found", as an unknown one.

Issuing stays in engine.directory.service (`issue_token`; refused for a disabled person). A revoked
token is refused from the next request on: `engine.directory.service.actor_for_digest` reads
`revoked_at`, and the person's `active`, on every request. Disabling a person revokes all their
tokens at once (`engine.directory.service.update_person`).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from engine import i18n
from engine.context import Actor
from engine.directory import rules
from engine.directory.service import find_person
from engine.errors import NotFound
from engine.models import ApiToken, Person
from engine.schemas import Output


class TokenInfo(Output):
    id: int
    person_id: int
    label: str | None
    created_at: datetime
    revoked_at: datetime | None
    issued_by_id: int | None = Field(default=None, description="who issued it (its holder, a colleague on the "
                                     "staff of their organisation, or an administrator); none from the command line")


async def list_tokens(
    session: AsyncSession, person_id: int, actor: Actor, *, limit: int, offset: int
) -> tuple[list[ApiToken], int]:
    rules.check_see_tokens(actor, await find_person(session, person_id, actor))
    query = select(ApiToken).where(col(ApiToken.person_id) == person_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(col(ApiToken.id)).limit(limit).offset(offset))
    return list(rows), total


async def revoke_token(session: AsyncSession, token_id: int, actor: Actor, now: datetime) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    holder = await session.get(Person, token.person_id) if token is not None else None
    # A token one may not revoke is "not found", so token ids of other people cannot be probed.
    if token is None or holder is None or not rules.may_see_tokens(actor, holder):
        raise NotFound(i18n.gettext("There is no token %(id)s that you can revoke. List your tokens with GET "
                                    "/api/v1/people/{id}/tokens.") % {"id": token_id})
    if token.revoked_at is None:
        token.revoked_at = now
        await session.flush()
    return token
