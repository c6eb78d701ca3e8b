"""Fixtures for the load and fault tests: a fresh database per test (a SQLite file, or a PostgreSQL
database `accord_soak_<hex>` created and dropped here), migrated with `accord migrate`, an
administrator token from `accord admin create`, and a real SMTP server on loopback.

`ACCORD_SOAK_SECONDS` sets how long each load runs (default 3 s, so `make test` can afford it;
`make soak` runs 30 s).
"""

from __future__ import annotations

import asyncio
import email
import logging
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import PG_ADMIN_DSN, database_kind
from tests.soak.harness import accord, base_env, free_port

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP line

DEFAULT_SOAK_SECONDS = 3.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: load and fault tests with real processes "
                            "(ACCORD_SOAK_SECONDS sets their length)")


def soak_seconds() -> float:
    return float(os.environ.get("ACCORD_SOAK_SECONDS", DEFAULT_SOAK_SECONDS))


@dataclass
class SoakDatabase:
    url: str
    kind: str
    work: Path
    admin_token: str

    def env(self, **extra: str) -> dict[str, str]:
        return base_env(self.url, self.work, **extra)


def _pg_server_dsn() -> tuple[str, str]:
    """(dsn of the maintenance database, SQLAlchemy URL prefix) for PostgreSQL at 127.0.0.1."""
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return PG_ADMIN_DSN, base.replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture
async def soak_database(tmp_path: Path) -> AsyncIterator[SoakDatabase]:
    """A migrated, empty database of its own, with an administrator."""
    kind = database_kind()
    name: str | None = None
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'accord.db'}"
    else:
        admin_dsn, prefix = _pg_server_dsn()
        try:
            admin = await asyncpg.connect(admin_dsn, timeout=5)
        except (OSError, asyncpg.PostgresError) as error:
            if os.environ.get("CI") == "true":
                pytest.fail(f"PostgreSQL is not reachable at {admin_dsn}: {error}")
            pytest.skip(f"PostgreSQL is not reachable at {admin_dsn}: {error}")
        name = f"accord_soak_{uuid.uuid4().hex[:12]}"
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        url = f"{prefix}/{name}"
    try:
        env = base_env(url, tmp_path)
        accord(env, "migrate")
        token = accord(env, "admin", "create", "--name", "Soak administrator",
                       "--email", "admin@soak.example").strip().splitlines()[-1]
        yield SoakDatabase(url=url, kind=kind, work=tmp_path, admin_token=token)
    finally:
        if name is not None:
            admin_dsn, _ = _pg_server_dsn()
            admin = await asyncpg.connect(admin_dsn, timeout=30)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()


@dataclass
class Mailbox:
    """aiosmtpd on 127.0.0.1: every message it accepted, by Message-ID."""

    port: int
    delay: float = 0.02
    messages: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content)
        with self.lock:
            self.messages.append(message)
        await asyncio.sleep(self.delay)  # a real server takes a moment: sending spans some time
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]).strip() for m in self.messages]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
