"""Schema migrations (Alembic), callable from sync code (the CLI, tests) and async code (the API).

    upgrade(url)            bring the database at `url` to `head` (or another revision)
    is_current(url)         whether the database is at `head`
    upgrade_async(engine), is_current_async(engine)   the same on an engine you already hold
    head_revision(), current_revision_async(engine)

The migration scripts live in the `engine.migrations` package and are found from
this file, not from the working directory, so an installed Accord migrates too.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from engine.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"

T = TypeVar("T")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "engine/migrations/versions holds no migration"
    return head


async def upgrade_async(engine: AsyncEngine, revision: str = "head") -> None:
    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def current_revision_async(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None when it was never migrated).

    Read with a plain query rather than Alembic's MigrationContext, which logs two lines each
    time: this is called by readiness checks.
    """

    def read(connection: Connection) -> str | None:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        versions = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
        found = sorted(versions)
        return found[0] if len(found) == 1 else None

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def is_current_async(engine: AsyncEngine) -> bool:
    return await current_revision_async(engine) == head_revision()


def upgrade(database_url: str, revision: str = "head", *, search_path: str | None = None) -> None:
    """Bring the database at `database_url` to `revision` (default: the newest)."""

    async def run() -> None:
        database = Database(database_url, pool_size=1, search_path=search_path)
        try:
            await upgrade_async(database.engine, revision)
        finally:
            await database.dispose()

    _run_sync(run())


def is_current(database_url: str, *, search_path: str | None = None) -> bool:
    """Whether the database at `database_url` is at the newest revision."""

    async def run() -> bool:
        database = Database(database_url, pool_size=1, search_path=search_path)
        try:
            return await is_current_async(database.engine)
        finally:
            await database.dispose()

    return _run_sync(run())


def _run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, also when called from inside a running event loop (then on a thread of its own)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(asyncio.run(coroutine))
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)

    thread = threading.Thread(target=target, name="accord-migrate")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
