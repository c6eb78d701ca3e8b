"""The floor for bench/http_transitions.py: the honest minimum a transition over HTTP costs.

A FastAPI app on Accord's own schema and database set-up (engine.db.Database: the same driver,
pool, SQLite pragmas and `BEGIN IMMEDIATE`), served the same way (uvicorn). Per request it does
only what any correct implementation must:

1. look the bearer token up by its SHA-256 hash (not revoked) and read its person;
2. read the agreement's state and version;
3. compare-and-set UPDATE of state and version;
4. INSERT the history row;
5. commit, and answer a small JSON body.

It knows two events only, `suspend` (active -> suspended) and `resume` (suspended -> active),
which the benchmark repeats forever. No guards beyond the state, no scoping, no timers,
reminders or webhooks, no ETag: what Accord does on top of this is what the ratio measures.

    ACCORD_DATABASE_URL=... .venv/bin/python -m uvicorn bench.floor_app:create_app --factory
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from engine.db import Database
from engine.settings import Settings

MOVES = {"suspend": ("active", "suspended"), "resume": ("suspended", "active")}


class Fire(BaseModel):
    event: str
    reason: str | None = None


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"status": status, "detail": detail}, status_code=status,
                        media_type="application/problem+json")


def create_app() -> FastAPI:
    settings = Settings()
    database = Database.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await database.dispose()

    app = FastAPI(title="Accord floor", lifespan=lifespan)
    app.state.database = database  # for bench/profile_transition.py's statement count

    @app.post("/api/v1/agreements/{agreement_id}/events")
    async def fire(agreement_id: int, body: Fire,
                   authorization: str = Header(default="")) -> Any:
        move = MOVES.get(body.event)
        if move is None:
            return _problem(409, f"{body.event} is not an event of the floor")
        token = authorization.removeprefix("Bearer ").strip()
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = datetime.now(UTC)
        async with database.transaction() as session:
            person = (await session.execute(text(
                "SELECT person.id, person.name FROM api_token JOIN person ON person.id = api_token.person_id "
                "WHERE api_token.token_hash = :digest AND api_token.revoked_at IS NULL"),
                {"digest": digest})).first()
            if person is None:
                return _problem(401, "unknown token")
            row = (await session.execute(text("SELECT state, version FROM agreement WHERE id = :id"),
                                         {"id": agreement_id})).first()
            if row is None:
                return _problem(404, "no such agreement")
            source, dest = move
            if row.state != source:
                return _problem(409, f"{body.event} is not allowed in {row.state}")
            changed = await session.execute(text(
                "UPDATE agreement SET state = :dest, version = :next, updated_at = :now "
                "WHERE id = :id AND version = :version"),
                {"dest": dest, "next": row.version + 1, "now": now, "id": agreement_id,
                 "version": row.version})
            if getattr(changed, "rowcount", 0) != 1:
                return _problem(409, "the agreement changed meanwhile")
            await session.execute(text(
                "INSERT INTO agreement_event (agreement_id, version, at, actor_id, actor, kind, event, "
                "from_state, to_state, comment) VALUES (:id, :version, :now, :actor_id, :actor, "
                "'transition', :event, :source, :dest, :comment)"),
                {"id": agreement_id, "version": row.version + 1, "now": now, "actor_id": person.id,
                 "actor": person.name, "event": body.event, "source": source, "dest": dest,
                 "comment": body.reason})
        return {"id": agreement_id, "state": dest, "version": row.version + 1}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
