"""Request-scoped dependencies: the unit of work, the caller, the moment.

The dependencies routes declare are `async def`: FastAPI runs a plain `def` dependency in its
thread pool, a thread hop per dependency per request. The plain functions stay for callers
that are not dependencies (the web pages).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from api.observability import note_person
from engine import i18n
from engine.access import IfMatch
from engine.agreements.reading import AgreementFilters
from engine.clock import Clock, When
from engine.context import Actor
from engine.db import Database
from engine.directory.service import actor_for_token
from engine.errors import InvalidInput
from engine.schemas import Day
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
    # One answer for a missing, malformed, unknown or revoked token: nothing to learn by probing
    # (in Accept-Language's language, as every detail: api/languages.py).
    unauthorised = HTTPException(
        status_code=401,
        detail=i18n.gettext("Send a valid bearer token: 'Authorization: Bearer <token>'. An administrator issues "
                            "tokens with POST /api/v1/people/{id}/tokens or `accord admin create`."),
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
            raise InvalidInput(i18n.gettext("limit may be at most %(most)s.") % {"most": settings.page_size_max},
                               field="limit")
        self.limit = limit
        self.offset = offset


async def page_params(
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9, description="rows to skip")] = 0,
) -> PageParams:
    return PageParams(settings, limit, offset)


PageDep = Annotated[PageParams, Depends(page_params)]


async def agreement_filters(
    state: Annotated[list[str] | None, Query(max_length=20, description="repeat for several")] = None,
    party: Annotated[int | None, Query(ge=1, le=MAX_ID, description="an organisation id")] = None,
    review_due_before: Annotated[Day | None, Query(description="a day, YYYY-MM-DD")] = None,
    q: Annotated[str | None, Query(max_length=200, description="words in title or summary")] = None,
    workflow: Annotated[str | None, Query(max_length=64)] = None,
) -> AgreementFilters:
    """The agreement list's filters, the same for `GET /agreements` and the CSV exports."""
    return AgreementFilters(state=state, party=party, review_due_before=review_due_before, q=q,
                            workflow=workflow)


AgreementFiltersDep = Annotated[AgreementFilters, Depends(agreement_filters)]


# RFC 9110 §8.8.3 and §13.1.1: `If-Match = "*" / #entity-tag`, entity-tag = [ W/ ] DQUOTE *etagc DQUOTE.
_ENTITY_TAG = r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"'
_TAG_LIST = re.compile(rf"[ \t,]*(?:{_ENTITY_TAG}[ \t]*(?:,[ \t,]*|\Z))*")
_TAG = re.compile(r'(?:W/)?"([^"]*)"')
_VERSION = re.compile(r"[0-9]{1,18}")


def parse_if_match(value: str | None) -> IfMatch | None:
    """The condition an `If-Match` or `If-None-Match` header states: `*`, or the versions its
    entity tags name (`"7"`, weak `W/"7"`, or a comma-separated list: any one may match).

    The agreement's ETag is its version, so a weak tag names the same version as a strong one.
    A value that is not such a list, or whose tags name no version (`abc`, `7` unquoted, `"²"`),
    names no version and can never match: a write answers 412 (RFC 9110 §13.1.1: the condition
    is false), never 400 or 500; a read answers as if no condition had been sent.
    """
    if value is None:
        return None
    text = value.strip(" \t")
    if text == "*":
        return IfMatch(given=text, versions=None)
    versions: frozenset[int] = frozenset()
    if _TAG_LIST.fullmatch(text):
        versions = frozenset(int(tag) for tag in _TAG.findall(text) if _VERSION.fullmatch(tag))
    return IfMatch(given=text, versions=versions)


_IF_MATCH = Header(description=(
    'Make the write only if the agreement is still at this version: its ETag from a read or an '
    'earlier write (`"7"`; also `W/"7"`, a list `"7", "8"` of which any may match, or `*` for any '
    "version). A version that is not the current one, or a value that cannot name one, is 412 and "
    "changes nothing. Without If-Match, a write that another write overtook is 409."))
_IF_NONE_MATCH = Header(description=(
    'The ETag you hold (`"7"`, `W/"7"`, a list, or `*`): if the agreement is still at that version '
    "the answer is 304 with the ETag and no body."))


async def if_match_version(if_match: Annotated[str | None, _IF_MATCH] = None) -> IfMatch | None:
    return parse_if_match(if_match)


async def if_none_match_version(if_none_match: Annotated[str | None, _IF_NONE_MATCH] = None) -> IfMatch | None:
    return parse_if_match(if_none_match)


IfMatchDep = Annotated[IfMatch | None, Depends(if_match_version)]
IfNoneMatchDep = Annotated[IfMatch | None, Depends(if_none_match_version)]
