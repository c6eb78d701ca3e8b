"""Database set-up for both engines.

SQLite (the embedded default) runs in WAL mode with a busy timeout; a session
opened for writing starts with `BEGIN IMMEDIATE`, so writers queue for the one
write lock instead of failing when a read snapshot goes stale. Within one process
the writers first queue on an `asyncio.Lock` (first come, first served, handed over
without sleeping); SQLite's busy handler, which polls with sleeps of up to 100 ms and
is not fair, is then only met by writers of other processes (the CLI, a worker).
PostgreSQL gets a pre-pinged pool; its write races are settled by compare-and-set
on `version`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from engine.settings import Settings

_WRITE = "accord_write"


class _WriteLock:
    """A FIFO lock that the task holding it may take again (a write transaction opened inside
    another one in the same task must not wait for itself)."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.owner: asyncio.Task[Any] | None = None


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False,
                 search_path: str | None = None) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
            if ":memory:" in url or url.rstrip("/").endswith("sqlite+aiosqlite:"):
                raise ValueError("Accord needs a SQLite file, not an in-memory database")
        else:
            kwargs.update(pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size,
                          pool_recycle=1800)
            if search_path:  # tests give each test its own schema
                kwargs["connect_args"] = {"server_settings": {"search_path": search_path}}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._reader = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer = async_sessionmaker(
            self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False
        )
        # One lock per event loop: a Database may be used from more than one loop.
        self._write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _WriteLock] = (
            weakref.WeakKeyDictionary()
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.database_url, pool_size=settings.database_pool_size)

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends, rolls back if it raises.

        On SQLite a write transaction first takes this process's write lock (before its
        `BEGIN IMMEDIATE`) and keeps it until it has committed or rolled back.
        """
        if write and self.is_sqlite:
            lock, task = self._write_lock(), asyncio.current_task()
            if lock.owner is not task or task is None:
                async with lock.lock:
                    lock.owner = task
                    try:
                        async with self._unit(self._writer) as session:
                            yield session
                    finally:
                        lock.owner = None
                return
        async with self._unit(self._writer if write else self._reader) as session:
            yield session

    def _write_lock(self) -> _WriteLock:
        loop = asyncio.get_running_loop()
        lock = self._write_locks.get(loop)
        if lock is None:
            lock = self._write_locks[loop] = _WriteLock()
        return lock

    @asynccontextmanager
    async def _unit(self, maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
        async with maker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


# What runs a Core statement in a transaction: the unit of work's session, or its connection
# (`await session.connection()`), which runs it without the ORM's per-statement work (the hot
# path's statements: engine.agreements.snapshot, .repository, engine.schedule).
Executor = AsyncSession | AsyncConnection


def dialect_name(executor: Executor) -> str:
    bind = executor.get_bind() if isinstance(executor, AsyncSession) else executor
    return bind.dialect.name


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, say when a transaction begins (and how).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON",
                       "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")



