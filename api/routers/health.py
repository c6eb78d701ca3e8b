"""Health checks for a load balancer or an orchestrator.

    GET /health/live    the process answers (no database): restart the process when this fails
    GET /health/ready   the database answers within a few seconds and its schema is the one this
                        code expects: send traffic only while this is 200
    GET /health         the same as /health/ready (docs/deploy.md, "Health checks"; README.md, API table)

A check that fails answers 503 as problem+json whose `detail` says what to do; the fields
`database` and `migrations` say which part failed.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from api.problems import PROBLEM
from engine.db import Database
from engine.migrate import alembic_config, current_revision_async, head_revision

READY_TIMEOUT_SECONDS = 3.0

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok"] = "ok"
    database: Literal["reachable"] = "reachable"
    migrations: Literal["current"] = "current"


class NotReady(BaseModel):
    type: str = "about:blank"
    title: str = "Service unavailable"
    status: int = 503
    detail: str
    database: Literal["reachable", "unreachable"]
    migrations: Literal["current", "behind", "ahead", "unknown"]


_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {"model": NotReady, "description": "not ready: the detail says why",
          "content": {PROBLEM: {}}},
}


@router.get("/health/live", response_model=Liveness)
async def live() -> Liveness:
    """The process is up and serving; says nothing about the database."""
    return Liveness()


@router.get("/health/ready", response_model=Readiness, responses=_NOT_READY)
async def ready(request: Request) -> Readiness | JSONResponse:
    """The database answers and is at the schema this version of Accord expects."""
    return await _readiness(request.app.state.database)


@router.get("/health", response_model=Readiness, responses=_NOT_READY)
async def health(request: Request) -> Readiness | JSONResponse:
    """Liveness and database reachability (and a current schema): the same as /health/ready."""
    return await _readiness(request.app.state.database)


async def _readiness(database: Database) -> Readiness | JSONResponse:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            async with database.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as error:  # whatever keeps the database from answering, the answer is "not ready"
        reason = (f"did not answer within {READY_TIMEOUT_SECONDS:g} s" if isinstance(error, TimeoutError)
                  else f"could not be reached ({type(error).__name__})")
        return _not_ready(f"The database {reason}. Check that it is running and that "
                          "ACCORD_DATABASE_URL points at it.", database="unreachable", migrations="unknown")
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            current = await current_revision_async(database.engine)
    except Exception as error:  # a database that answers SELECT 1 but not this is still not ready
        return _not_ready(f"The database answered, but reading its schema revision failed "
                          f"({type(error).__name__}).", database="reachable", migrations="unknown")
    head = head_revision()
    if current != head:
        behind = current is None or _is_older(current, head)
        return _not_ready(
            f"The database schema is at revision {current or 'none'}, this version of Accord needs {head}. "
            + ("Run `accord migrate`, then check again." if behind else
               "The database was migrated by a newer Accord; run that version instead."),
            database="reachable", migrations="behind" if behind else "ahead")
    return Readiness()


def _is_older(current: str, head: str) -> bool:
    """Whether `current` is an ancestor of `head` (a revision this code knows)."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return any(revision.revision == current for revision in scripts.walk_revisions("base", head))


def _not_ready(detail: str, *, database: Literal["reachable", "unreachable"],
               migrations: Literal["current", "behind", "ahead", "unknown"]) -> JSONResponse:
    body = NotReady(detail=detail, database=database, migrations=migrations)
    return JSONResponse(body.model_dump(), status_code=503, media_type=PROBLEM)
