"""Migrations: from an empty database to head, and the result is exactly the models' schema."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import engine
from engine import migrate
from engine.db import Database

# Every engine module, so SQLModel.metadata holds every table someone defined: a table module
# that engine/migrations/env.py forgets to import then shows up as a difference below.
for _module in pkgutil.iter_modules(engine.__path__):
    if _module.name != "migrations":
        importlib.import_module(f"engine.{_module.name}")


def _schema_diffs(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_upgrade_from_empty_gives_the_models_schema(
    database_url: tuple[str, str | None],
) -> None:
    url, search_path = database_url
    assert not migrate.is_current(url, search_path=search_path)

    migrate.upgrade(url, search_path=search_path)

    assert migrate.is_current(url, search_path=search_path)
    database = Database(url, search_path=search_path)
    try:
        assert await migrate.current_revision_async(database.engine) == migrate.head_revision()
        async with database.engine.connect() as connection:
            assert await connection.run_sync(_schema_diffs) == []
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await database.dispose()
    assert set(SQLModel.metadata.tables) <= tables


async def test_upgrade_twice_changes_nothing(database_url: tuple[str, str | None]) -> None:
    url, search_path = database_url
    migrate.upgrade(url, search_path=search_path)
    migrate.upgrade(url, search_path=search_path)
    assert migrate.is_current(url, search_path=search_path)


async def test_downgrade_to_base_and_back(database_url: tuple[str, str | None]) -> None:
    url, search_path = database_url
    migrate.upgrade(url, search_path=search_path)
    database = Database(url, search_path=search_path)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(
                lambda c: command.downgrade(migrate.alembic_config(c), "base"))
        async with database.engine.connect() as connection:
            left = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert left <= {"alembic_version"}
        assert not await migrate.is_current_async(database.engine)

        await migrate.upgrade_async(database.engine)
        assert await migrate.is_current_async(database.engine)
    finally:
        await database.dispose()


def test_migrations_are_found_from_the_package_not_the_working_directory() -> None:
    assert migrate.MIGRATIONS.is_dir()
    assert migrate.MIGRATIONS.parent == migrate.MIGRATIONS.parent.parent / "engine"
    # The head is the newest revision file shipped inside the package, found without a working directory.
    newest = max(path.name for path in (migrate.MIGRATIONS / "versions").glob("[0-9]*.py"))
    assert migrate.head_revision() == newest.split("_", 1)[0]
