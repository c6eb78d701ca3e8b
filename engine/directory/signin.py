"""Signing in to the web pages: one-time links by email, and the sessions they (or a token) open.

    note_request(session, client, now, per_hour)
                                       count a link request from `client` (an IP address) and
                                       say how long it must wait if it asked `per_hour` times
                                       in the last hour; the same work whatever address it asks for
    request_link(session, email, now)  the person with that email gets a link row, unless they
                                       asked `LINKS_PER_HOUR` times in the last hour or are
                                       disabled; None for an unknown address or over the limit
                                       (the caller answers the same either way, so no one
                                       learns who has an account)
    check_link(session, token, now)    the person an unused, unexpired link is for, or None
    redeem_link(session, token, now)   mark it used (a conditional UPDATE, so two clicks cannot
                                       both win) and issue a fresh API token labelled
                                       `LINK_TOKEN_LABEL` for the web session; None if the link
                                       is unknown, used or expired, or its person is disabled
    open_session(session, token_hash, now)
                                       a `web_session` row for the holder of an unrevoked token;
                                       returns the session's key (the cookie carries it)
    session_actor(session, key, now)   who a session is, while it is open, unexpired, its token
                                       unrevoked and its person active; else None
    end_session(session, key, now)     sign out: the row is ended, so a copy of the cookie is
                                       refused; a link session's token is revoked too
    end_sessions_of(session, person_id, now)
                                       every open session of the person ends (disabling them)

Only SHA-256 hashes of link tokens and session keys are stored, like bearer tokens and feed
tokens. A link works once and for `LINK_LIFETIME`; a session for `SESSION_LIFETIME`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Index, Select, Table, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from engine.types import UTCDateTime

if TYPE_CHECKING:
    from engine.context import Actor

# Not engine.models.instant: engine.models imports this module at its end, so importing it back
# at the top would break whichever of the two is imported first.

LINK_LIFETIME = timedelta(minutes=15)
LINKS_PER_HOUR = 5
LINK_TOKEN_PREFIX = "link_"
LINK_TOKEN_LABEL = "web sign-in link"
MAX_TOKEN_LENGTH = 200
SESSION_LIFETIME = timedelta(hours=12)
CLIENT_WINDOW = timedelta(hours=1)


class SignInLink(SQLModel, table=True):
    __tablename__ = "sign_in_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class SignInRequest(SQLModel, table=True):
    """One request for a link, by client address: what the per-client limit counts. It names
    no person and no address, and is deleted once it has left the hour."""

    __tablename__ = "sign_in_request"
    __table_args__ = (Index("ix_sign_in_request_client_created_at", "client", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    client: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class WebSession(SQLModel, table=True):
    """A browser signed in to the pages: opened with a bearer token (pasted, or issued by a link),
    ended by signing out. The cookie holds the key, signed; only the key's hash is stored."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    token_id: int = Field(foreign_key="api_token.id", index=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


@dataclass(frozen=True)
class IssuedLink:
    id: int
    token: str  # the only copy: it goes into the mail and nowhere else
    person_id: int
    name: str
    email: str
    zone: str  # the person's time zone, else their organisation's: the mail gives the expiry in it
    expires_at: datetime
    language: str | None = None  # the person's language, else their organisation's (engine/i18n.py)


def _plausible(token: str) -> bool:
    return token.startswith(LINK_TOKEN_PREFIX) and len(token) <= MAX_TOKEN_LENGTH


async def note_request(session: AsyncSession, client: str, now: datetime, per_hour: int) -> timedelta | None:
    """Count one link request from `client`; None if it is within `per_hour` requests in the last
    hour, else how long until it may ask again (and nothing is counted). The work does not
    depend on the address asked for, so the answer takes the same time for every address."""
    client = client[:64]
    await session.execute(delete(SignInRequest).where(col(SignInRequest.created_at) <= now - CLIENT_WINDOW))
    if session.get_bind().dialect.name != "sqlite":
        # Requests from one client at the same moment count one after another (SQLite's write
        # transactions already run one at a time).
        lock = int.from_bytes(hashlib.sha256(f"accord.sign_in:{client}".encode()).digest()[:8], "big", signed=True)
        await session.execute(select(func.pg_advisory_xact_lock(lock)))
    recent = list(await session.scalars(
        select(col(SignInRequest.created_at)).where(col(SignInRequest.client) == client,
                                                    col(SignInRequest.created_at) > now - CLIENT_WINDOW)
        .order_by(col(SignInRequest.created_at)).limit(per_hour)))
    if len(recent) >= per_hour:
        return max(recent[0] + CLIENT_WINDOW - now, timedelta(seconds=1))
    session.add(SignInRequest(client=client, created_at=now))
    await session.flush()
    return None


async def request_link(session: AsyncSession, email: str, now: datetime) -> IssuedLink | None:
    """A new link for the person with this email, or None (unknown address, or over the limit)."""
    from engine.directory.service import hash_token
    from engine.models import Person

    address = email.strip().lower()
    query = select(Person).where(col(Person.email) == address, col(Person.active).is_(True))
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
                      zone=person.timezone or person.organisation.timezone, expires_at=link.expires_at,
                      language=person.language or person.organisation.language)


def _usable(token_hash: str, now: datetime) -> list[Any]:
    from engine.models import Person

    active = select(col(Person.id)).where(col(Person.active).is_(True))
    return [col(SignInLink.token_hash) == token_hash, col(SignInLink.used_at).is_(None),
            col(SignInLink.expires_at) > now, col(SignInLink.person_id).in_(active)]


async def check_link(session: AsyncSession, token: str, now: datetime) -> str | None:
    """The name of the person an unused, unexpired link is for; None otherwise. Changes nothing."""
    from engine.directory.service import hash_token
    from engine.models import Person

    if not _plausible(token):
        return None
    name: str | None = await session.scalar(
        select(col(Person.name)).join(SignInLink, col(SignInLink.person_id) == col(Person.id))
        .where(*_usable(hash_token(token), now)))
    return name


async def redeem_link(session: AsyncSession, token: str, now: datetime) -> str | None:
    """Use the link: a fresh API token (returned, never stored) for the person, or None."""
    from engine.directory.service import TOKEN_PREFIX, hash_token
    from engine.models import ApiToken

    if not _plausible(token):
        return None
    digest = hash_token(token)
    used = await session.execute(
        update(SignInLink).where(*_usable(digest, now)).values(used_at=now)
        .execution_options(synchronize_session=False))
    if getattr(used, "rowcount", 0) != 1:
        return None
    person_id = await session.scalar(select(col(SignInLink.person_id)).where(col(SignInLink.token_hash) == digest))
    assert person_id is not None
    session_token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(person_id=person_id, token_hash=hash_token(session_token), label=LINK_TOKEN_LABEL,
                         created_at=now, issued_by_id=person_id))
    await session.flush()
    return session_token


# --- web sessions ---------------------------------------------------------------------------------

async def open_session(session: AsyncSession, token_hash: str, now: datetime) -> str | None:
    """A new session for the holder of the unrevoked token whose hash is `token_hash` (their
    person active); its key, or None. Sessions that ran out are cleared away on the way."""
    from engine.directory.service import hash_token
    from engine.models import ApiToken, Person

    found = (await session.execute(
        select(col(ApiToken.id), col(ApiToken.person_id))
        .join(Person, col(Person.id) == col(ApiToken.person_id))
        .where(col(ApiToken.token_hash) == token_hash, col(ApiToken.revoked_at).is_(None),
               col(Person.active).is_(True)))).first()
    token_id, person_id = found if found is not None else (None, None)
    if token_id is None or person_id is None:
        return None
    await session.execute(delete(WebSession).where(col(WebSession.expires_at) < now))
    key = secrets.token_urlsafe(32)
    session.add(WebSession(key_hash=hash_token(key), person_id=person_id, token_id=token_id, created_at=now,
                           expires_at=now + SESSION_LIFETIME))
    await session.flush()
    return key


@cache
def _actor_by_session() -> Select[Any]:
    """Built once: every page runs it."""
    from engine.models import ApiToken, Organisation, Person

    web: Table = WebSession.__table__  # type: ignore[attr-defined]
    token: Table = ApiToken.__table__  # type: ignore[attr-defined]
    person: Table = Person.__table__  # type: ignore[attr-defined]
    organisation: Table = Organisation.__table__  # type: ignore[attr-defined]
    return (select(person.c.id, person.c.name, person.c.role, person.c.organisation_id,
                   func.coalesce(person.c.language, organisation.c.language))
            .select_from(web.join(token, token.c.id == web.c.token_id).join(person, person.c.id == web.c.person_id)
                         .join(organisation, organisation.c.id == person.c.organisation_id))
            .where(web.c.key_hash == bindparam("digest"), web.c.ended_at.is_(None),
                   web.c.expires_at > bindparam("now", type_=web.c.expires_at.type),
                   token.c.revoked_at.is_(None), person.c.active.is_(True)))


async def session_actor(session: AsyncSession, key: str, now: datetime) -> Actor | None:
    """Who the open session with this key is, or None (unknown, ended, run out, token revoked,
    person disabled)."""
    from engine.context import Actor
    from engine.directory.service import hash_token

    if not key or len(key) > MAX_TOKEN_LENGTH:
        return None
    row = (await session.execute(_actor_by_session(), {"digest": hash_token(key), "now": now})).first()
    if row is None:
        return None
    person_id, name, role, organisation_id, language = row
    return Actor(label=name, role=role, person_id=person_id, organisation_id=organisation_id, language=language)


async def end_session(session: AsyncSession, key: str, now: datetime) -> None:
    """Sign out: the session ends for good, so a kept copy of its cookie is refused. A session a
    sign-in link opened also revokes its token (no one else holds it)."""
    from engine.directory.service import hash_token
    from engine.models import ApiToken

    if not key or len(key) > MAX_TOKEN_LENGTH:
        return
    token_id = await session.scalar(
        update(WebSession).where(col(WebSession.key_hash) == hash_token(key), col(WebSession.ended_at).is_(None))
        .values(ended_at=now).returning(col(WebSession.token_id)).execution_options(synchronize_session=False))
    if token_id is not None:
        await session.execute(
            update(ApiToken).where(col(ApiToken.id) == token_id, col(ApiToken.label) == LINK_TOKEN_LABEL,
                                   col(ApiToken.revoked_at).is_(None))
            .values(revoked_at=now).execution_options(synchronize_session=False))


async def end_sessions_of(session: AsyncSession, person_id: int, now: datetime) -> int:
    """Every open session of the person ends; how many were open."""
    result = await session.execute(
        update(WebSession).where(col(WebSession.person_id) == person_id, col(WebSession.ended_at).is_(None))
        .values(ended_at=now).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
