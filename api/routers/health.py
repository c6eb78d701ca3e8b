"""Liveness and database reachability."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from engine.db import Database

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    database: Database = request.app.state.database
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure to reach the database is "not ready"
        return JSONResponse({"status": "unavailable", "database": "unreachable",
                             "detail": f"{type(error).__name__}: the database did not answer"},
                            status_code=503)
    return JSONResponse({"status": "ok", "database": "reachable"})
