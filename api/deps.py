"""Request-scoped dependencies: the unit of work, the caller, the moment.

The dependencies routes declare are `async def`: FastAPI runs a plain `def` dependency in its
thread pool, a thread hop per dependency per request. The plain functions stay for callers
that are not dependencies (the web pages).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from api.observability import note_person
from engine.clock import Clock, When
from engine.context import Actor
from engine.db import Database
from engine.directory import actor_for_token
from engine.errors import InvalidInput
from engine.settings import Settings

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request; it commits when the route returns, before the response is sent."""
    async with get_database(request).transaction(write=request.method not in _READ_METHODS) as session:
        yield session


async def _settings(request: Request) -> Settings:
    return get_settings(request)


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(_settings)]


def get_when(request: Request) -> When:
    clock: Clock = request.app.state.clock
    return When.of(clock, get_settings(request).zone)


async def _when(request: Request) -> When:
    return get_when(request)


WhenDep = Annotated[When, Depends(_when)]


_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/people/{id}/tokens "
                     "or `accord admin create`.")


async def get_actor(
    session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None
) -> Actor:
    # One answer for a missing, malformed, unknown or revoked token: nothing to learn by probing.
    unauthorised = HTTPException(
        status_code=401,
        detail="Send a valid bearer token: 'Authorization: Bearer <token>'. An administrator "
               "issues tokens with POST /api/v1/people/{id}/tokens or `accord admin create`.",
    )
    token = credentials.credentials.strip() if credentials else ""
    if not token or len(token) > 200:
        raise unauthorised
    actor = await actor_for_token(session, token)
    if actor is None:
        raise unauthorised
    note_person(actor.person_id)
    return actor


CurrentActor = Annotated[Actor, Depends(get_actor)]

# Ids are 64-bit database keys: a larger number is a 422, not an overflow in the driver.
# Ids are PostgreSQL INTEGER columns; anything larger cannot name a row.
MAX_ID = 2**31 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


class PageParams:
    def __init__(self, settings: Settings, limit: int = 50, offset: int = 0) -> None:
        if limit > settings.page_size_max:
            raise InvalidInput(f"limit may be at most {settings.page_size_max}.", field="limit")
        self.limit = limit
        self.offset = offset


async def page_params(
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9, description="rows to skip")] = 0,
) -> PageParams:
    return PageParams(settings, limit, offset)


PageDep = Annotated[PageParams, Depends(page_params)]


def parse_if_match(if_match: str | None) -> int | None:
    """The version an `If-Match` header names: `"7"`, `W/"7"` or `7`; `*` means any."""
    if if_match is None or if_match.strip() == "*":
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()) or len(value) > 18:  # not '²', which int() refuses
        raise InvalidInput(f"If-Match must be an ETag this API gave out, like \"3\"; got {if_match!r}.",
                           field="If-Match")
    return int(value)


async def if_match_version(if_match: Annotated[str | None, Header()] = None) -> int | None:
    return parse_if_match(if_match)


IfMatchDep = Annotated[int | None, Depends(if_match_version)]
