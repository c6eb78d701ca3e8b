"""One-time sign-in links: issue one for an email address, redeem it once.

    request_link(session, email, now)  the person with that email gets a link row, unless they
                                       asked `LINKS_PER_HOUR` times in the last hour; None for an
                                       unknown address or over the limit (the caller answers the
                                       same either way, so no one learns who has an account)
    check_link(session, token, now)    the person an unused, unexpired link is for, or None
    redeem_link(session, token, now)   mark it used (a conditional UPDATE, so two clicks cannot
                                       both win) and issue a fresh API token labelled
                                       `LINK_TOKEN_LABEL` for the web session; None if the link
                                       is unknown, used or expired

Only the SHA-256 hash of a link's token is stored, like bearer tokens and feed tokens. A link
works once and for `LINK_LIFETIME`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from engine.types import UTCDateTime

# Not engine.models.instant: engine.models imports this module at its end, so importing it back
# at the top would break whichever of the two is imported first.

LINK_LIFETIME = timedelta(minutes=15)
LINKS_PER_HOUR = 5
LINK_TOKEN_PREFIX = "link_"
LINK_TOKEN_LABEL = "web sign-in link"
MAX_TOKEN_LENGTH = 200


class SignInLink(SQLModel, table=True):
    __tablename__ = "sign_in_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


@dataclass(frozen=True)
class IssuedLink:
    id: int
    token: str  # the only copy: it goes into the mail and nowhere else
    person_id: int
    name: str
    email: str
    zone: str  # the person's time zone, else their organisation's: the mail gives the expiry in it
    expires_at: datetime


def _plausible(token: str) -> bool:
    return token.startswith(LINK_TOKEN_PREFIX) and len(token) <= MAX_TOKEN_LENGTH


async def request_link(session: AsyncSession, email: str, now: datetime) -> IssuedLink | None:
    """A new link for the person with this email, or None (unknown address, or over the limit)."""
    from engine.directory import hash_token
    from engine.models import Person

    address = email.strip().lower()
    query = select(Person).where(col(Person.email) == address)
    if session.get_bind().dialect.name != "sqlite":
        # Two requests at once must not both slip under the limit. SQLite's write transactions
        # (BEGIN IMMEDIATE) already run one at a time.
        query = query.with_for_update(of=Person)
    person = await session.scalar(query)
    if person is None or person.id is None:
        return None
    recent = await session.scalar(select(func.count()).select_from(SignInLink).where(
        col(SignInLink.person_id) == person.id, col(SignInLink.created_at) > now - timedelta(hours=1)))
    if (recent or 0) >= LINKS_PER_HOUR:
        return None
    token = LINK_TOKEN_PREFIX + secrets.token_urlsafe(32)
    link = SignInLink(token_hash=hash_token(token), person_id=person.id, created_at=now,
                      expires_at=now + LINK_LIFETIME)
    session.add(link)
    await session.flush()
    assert link.id is not None
    return IssuedLink(id=link.id, token=token, person_id=person.id, name=person.name, email=person.email,
                      zone=person.timezone or person.organisation.timezone, expires_at=link.expires_at)


def _usable(token_hash: str, now: datetime) -> list[object]:
    return [col(SignInLink.token_hash) == token_hash, col(SignInLink.used_at).is_(None),
            col(SignInLink.expires_at) > now]


async def check_link(session: AsyncSession, token: str, now: datetime) -> str | None:
    """The name of the person an unused, unexpired link is for; None otherwise. Changes nothing."""
    from engine.directory import hash_token
    from engine.models import Person

    if not _plausible(token):
        return None
    name: str | None = await session.scalar(
        select(col(Person.name)).join(SignInLink, col(SignInLink.person_id) == col(Person.id))
        .where(*_usable(hash_token(token), now)))  # type: ignore[arg-type]
    return name


async def redeem_link(session: AsyncSession, token: str, now: datetime) -> str | None:
    """Use the link: a fresh API token (returned, never stored) for the person, or None."""
    from engine.directory import TOKEN_PREFIX, hash_token
    from engine.models import ApiToken

    if not _plausible(token):
        return None
    digest = hash_token(token)
    used = await session.execute(
        update(SignInLink).where(*_usable(digest, now)).values(used_at=now)  # type: ignore[arg-type]
        .execution_options(synchronize_session=False))
    if getattr(used, "rowcount", 0) != 1:
        return None
    person_id = await session.scalar(select(col(SignInLink.person_id)).where(col(SignInLink.token_hash) == digest))
    assert person_id is not None
    session_token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(person_id=person_id, token_hash=hash_token(session_token), label=LINK_TOKEN_LABEL,
                         created_at=now))
    await session.flush()
    return session_token


async def end_link_session(session: AsyncSession, token_hash: str, now: datetime) -> None:
    """Signing out of a session a link opened revokes its token (no one else holds it)."""
    from engine.models import ApiToken

    await session.execute(
        update(ApiToken).where(col(ApiToken.token_hash) == token_hash, col(ApiToken.label) == LINK_TOKEN_LABEL,
                               col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now).execution_options(synchronize_session=False))
