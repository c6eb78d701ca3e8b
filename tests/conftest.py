"""Fixtures: a real database per test (a SQLite file, or a PostgreSQL schema), the app, a clock.

`ACCORD_TEST_DATABASE=postgresql` runs the suite on PostgreSQL at 127.0.0.1:5432 (database
`test`); `make test` runs it once on each. On CI an unreachable PostgreSQL fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import SQLModel

import engine.models  # noqa: F401  (registers the tables)
from api.app import create_app
from engine import i18n
from engine.clock import FixedClock
from engine.db import Database
from engine.settings import Settings, get_settings
from tests.support import World, build_world

PG_ADMIN_DSN = os.environ.get("ACCORD_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
PG_URL = os.environ.get("ACCORD_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def database_kind() -> str:
    return os.environ.get("ACCORD_TEST_DATABASE", "sqlite")


async def _postgres_reachable() -> bool:
    try:
        connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs() -> None:
    """The translations compiled from the catalogs as they are now, as `make catalogs` does, so a
    test never reads a stale `.mo` (engine/i18n.py)."""
    i18n.compile_catalogs()


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[tuple[str, str | None]]:
    """(url, search_path) of an empty database for this test alone."""
    if database_kind() == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'accord.db'}", None
        return
    if not await _postgres_reachable():
        message = f"PostgreSQL is not reachable at {PG_ADMIN_DSN}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (on CI this is a failure, not a skip)")
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield PG_URL, schema
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


@pytest.fixture
async def database(database_url: tuple[str, str | None]) -> AsyncIterator[Database]:
    url, search_path = database_url
    db = Database(url, search_path=search_path, pool_size=30)
    async with db.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))


@pytest.fixture(autouse=True)
def documents_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test's documents folder, in its own tmp_path, for settings read from the environment too."""
    folder = tmp_path / "documents"
    monkeypatch.setenv("ACCORD_DOCUMENTS_DIR", str(folder))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


@pytest.fixture
def settings(database: Database, tmp_path: Path, documents_dir: Path) -> Settings:
    return Settings(database_url=database.url, scheduler_enabled=False,
                    outbox_dir=str(tmp_path / "outbox"), documents_dir=str(documents_dir))


@pytest.fixture
def app(settings: Settings, clock: FixedClock, database: Database) -> FastAPI:
    return create_app(settings, clock=clock, database=database)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://accord.test") as http:
        yield http


@pytest.fixture
async def world(database: Database, client: httpx.AsyncClient, clock: FixedClock) -> World:
    return await build_world(database, client, clock)
