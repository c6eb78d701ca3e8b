"""Organisations, people and their bearer tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from engine.context import Actor
from engine.errors import Conflict, InvalidInput, NotFound, NotPermitted
from engine.models import ApiToken, Organisation, Person
from engine.schemas import OrganisationCreate, PersonCreate

TOKEN_PREFIX = "acc_"


def require_admin(actor: Actor, doing: str) -> None:
    if not actor.is_admin:
        raise NotPermitted(f"Only an administrator can {doing}.")


async def create_organisation(
    session: AsyncSession, data: OrganisationCreate, actor: Actor, now: datetime
) -> Organisation:
    require_admin(actor, "create organisations")
    existing = await session.scalar(
        select(col(Organisation.id)).where(func.lower(col(Organisation.name)) == data.name.lower())
    )
    if existing is not None:
        raise Conflict(f"An organisation named {data.name!r} already exists (id {existing}).")
    organisation = Organisation(**data.model_dump(), created_at=now)
    session.add(organisation)
    await _flush_unique(session, f"An organisation named {data.name!r} already exists.")
    return organisation


async def get_organisation(session: AsyncSession, organisation_id: int) -> Organisation:
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"There is no organisation {organisation_id}.")
    return organisation


async def list_organisations(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[list[Organisation], int]:
    total = await session.scalar(select(func.count()).select_from(Organisation)) or 0
    rows = await session.scalars(select(Organisation).order_by(col(Organisation.id)).limit(limit).offset(offset))
    return list(rows), total


async def create_person(session: AsyncSession, data: PersonCreate, actor: Actor, now: datetime) -> Person:
    require_admin(actor, "create people")
    if await session.get(Organisation, data.organisation_id) is None:
        raise InvalidInput(f"There is no organisation {data.organisation_id}; create it first.",
                           field="organisation_id")
    email = data.email.lower()
    if await session.scalar(select(col(Person.id)).where(col(Person.email) == email)) is not None:
        raise Conflict(f"Someone with the email {email} already exists.")
    person = Person(**data.model_dump(exclude={"email"}), email=email, created_at=now)
    session.add(person)
    await _flush_unique(session, f"Someone with the email {email} already exists.")
    await session.refresh(person, ["organisation"])
    return person


async def get_person(session: AsyncSession, person_id: int) -> Person:
    person = await session.get(Person, person_id)
    if person is None:
        raise NotFound(f"There is no person {person_id}.")
    return person


async def list_people(
    session: AsyncSession, actor: Actor, *, organisation_id: int | None, limit: int, offset: int
) -> tuple[list[Person], int]:
    query = select(Person)
    if actor.role == "partner":
        # Partners see their own organisation's people; staff and admins keep the directory.
        query = query.where(col(Person.organisation_id) == actor.organisation_id)
    if organisation_id is not None:
        query = query.where(col(Person.organisation_id) == organisation_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(col(Person.id)).limit(limit).offset(offset))
    return list(rows), total


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(
    session: AsyncSession, person_id: int, actor: Actor, now: datetime, label: str | None = None
) -> str:
    """A new bearer token for the person; only its hash is stored, so it is returned once."""
    require_admin(actor, "issue tokens")
    await get_person(session, person_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(person_id=person_id, token_hash=hash_token(token), label=label, created_at=now))
    await session.flush()
    return token


_TOKEN: Table = ApiToken.__table__  # type: ignore[attr-defined]
_PERSON: Table = Person.__table__  # type: ignore[attr-defined]
# Built once: every request runs it.
_ACTOR_BY_DIGEST = (
    select(_TOKEN.c.token_hash, _PERSON.c.id, _PERSON.c.name, _PERSON.c.role, _PERSON.c.organisation_id)
    .join(_PERSON, _PERSON.c.id == _TOKEN.c.person_id)
    .where(_TOKEN.c.token_hash == bindparam("digest"), _TOKEN.c.revoked_at.is_(None))
)


async def actor_for_digest(session: AsyncSession, digest: str) -> Actor | None:
    """Who holds the (unrevoked) token whose SHA-256 is `digest`, or None. Only the columns an
    `Actor` needs: this runs on every request."""
    row = (await session.execute(_ACTOR_BY_DIGEST, {"digest": digest})).first()
    if row is None or not hmac.compare_digest(row[0], digest):
        return None
    _, person_id, name, role, organisation_id = row
    return Actor(label=name, role=role, person_id=person_id, organisation_id=organisation_id)


async def actor_for_token(session: AsyncSession, token: str) -> Actor | None:
    """Who holds the bearer token, or None for an unknown or revoked one."""
    return await actor_for_digest(session, hash_token(token))


async def _flush_unique(session: AsyncSession, detail: str) -> None:
    try:
        await session.flush()
    except IntegrityError as error:
        raise Conflict(detail) from error
