"""Health checks: live needs only the process; ready needs the database and a current schema."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from api.app import create_app
from engine.clock import FixedClock
from engine.db import Database
from engine.migrate import head_revision, upgrade_async
from engine.settings import Settings

UNREACHABLE = "postgresql+asyncpg://accord@127.0.0.1:1/accord"


@pytest.fixture
async def migrated(database_url: tuple[str, str | None]) -> AsyncIterator[Database]:
    """A database brought to the current schema by the migrations, as `accord migrate` does."""
    url, search_path = database_url
    database = Database(url, search_path=search_path)
    await upgrade_async(database.engine)
    try:
        yield database
    finally:
        await database.dispose()


async def _client_for(database: Database, clock: FixedClock) -> httpx.AsyncClient:
    app = create_app(Settings(database_url=database.url, scheduler_enabled=False), clock=clock, database=database)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test")


async def test_a_migrated_database_is_ready(migrated: Database, clock: FixedClock) -> None:
    async with await _client_for(migrated, clock) as client:
        for path in ("/health/ready", "/health"):
            response = await client.get(path)
            assert response.status_code == 200, response.text
            assert response.json() == {"status": "ok", "database": "reachable", "migrations": "current"}
        live = await client.get("/health/live")
    assert live.status_code == 200
    assert live.json() == {"status": "ok"}


async def test_an_unmigrated_database_is_live_but_not_ready(client: httpx.AsyncClient) -> None:
    # The `database` fixture creates the tables without Alembic: as if `accord migrate` was never run.
    assert (await client.get("/health/live")).status_code == 200
    for path in ("/health/ready", "/health"):
        response = await client.get(path)
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["database"] == "reachable"
        assert body["migrations"] == "behind"
        assert f"needs {head_revision()}" in body["detail"]
        assert "accord migrate" in body["detail"]


async def test_a_database_from_a_newer_accord_is_not_ready(migrated: Database, clock: FixedClock) -> None:
    async with migrated.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    async with await _client_for(migrated, clock) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["migrations"] == "ahead"
    assert "9999_from_the_future" in body["detail"]
    assert "newer Accord" in body["detail"]


async def test_an_unreachable_database_fails_ready_quickly_and_leaves_live_alone(clock: FixedClock) -> None:
    database = Database(UNREACHABLE)
    try:
        async with await _client_for(database, clock) as client:
            assert (await client.get("/health/live")).status_code == 200
            started = time.monotonic()
            response = await client.get("/health/ready")
            elapsed = time.monotonic() - started
    finally:
        await database.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "unreachable"
    assert body["migrations"] == "unknown"
    assert "ACCORD_DATABASE_URL" in body["detail"]
    assert elapsed < 5
