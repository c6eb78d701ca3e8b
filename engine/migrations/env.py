"""Alembic environment for both databases, on the async engines the application uses.

`engine.migrate` hands a live connection in through `config.attributes["connection"]`;
run from the `alembic` command line instead, this opens its own engine on
`sqlalchemy.url` or, failing that, `ACCORD_DATABASE_URL`.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import engine.directory.signin  # noqa: F401

# Every module that defines tables, so SQLModel.metadata holds the whole schema.
import engine.feed_models  # noqa: F401
import engine.models  # noqa: F401
import engine.schedule  # noqa: F401
from engine.db import Database
from engine.settings import Settings

config = context.config
target_metadata = SQLModel.metadata

if config.config_file_name is not None and not config.attributes.get("connection"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings().database_url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite alters most things by copying the table; batch mode does that for us.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _run_migrations(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_migrations_on_new_engine() -> None:
    database = Database(_database_url(), pool_size=1)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(_run_migrations)
    finally:
        await database.dispose()


def run_migrations_offline() -> None:
    url = _database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run_migrations(connection)
    else:
        asyncio.run(_run_migrations_on_new_engine())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
