"""The `accord` command, run as a user runs it: a subprocess on a real database.

On SQLite each test gets a file of its own; with ACCORD_TEST_DATABASE=postgresql each gets a
fresh PostgreSQL database (the CLI has no search_path, so a schema would not do).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Select, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col

from engine import migrate
from engine.db import Database
from engine.directory.service import actor_for_token
from engine.models import Agreement, Person
from tests.support import free_port

ACCORD = str(Path(sys.executable).with_name("accord"))
PG_URL = os.environ.get("ACCORD_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


@pytest.fixture
async def cli_database_url(tmp_path: Path) -> AsyncIterator[str]:
    if os.environ.get("ACCORD_TEST_DATABASE", "sqlite") == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
        return
    server = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT",
                                 connect_args={"timeout": 3})
    name = f"accord_cli_{uuid.uuid4().hex[:12]}"
    try:
        try:
            async with server.connect() as connection:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
        except (OSError, DBAPIError) as error:
            message = f"PostgreSQL is not reachable at {PG_URL}: {str(error).splitlines()[0]}"
            if os.environ.get("CI") == "true":
                pytest.fail(message + " (on CI this is a failure, not a skip)")
            pytest.skip(message)
        yield server.url.set(database=name).render_as_string(hide_password=False)
        async with server.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await server.dispose()


@pytest.fixture
def env(cli_database_url: str) -> dict[str, str]:
    variables = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    variables["ACCORD_DATABASE_URL"] = cli_database_url
    return variables


def accord(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ACCORD, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("accord: ")
    for word in words:
        assert word in lines[0]


async def _count(url: str, query: Select[Any]) -> int:
    database = Database(url)
    try:
        async with database.transaction(write=False) as session:
            return int(await session.scalar(query) or 0)
    finally:
        await database.dispose()


def test_migrate_from_empty_outside_the_source_tree(env: dict[str, str], tmp_path: Path,
                                                    cli_database_url: str) -> None:
    result = accord("migrate", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"revision {migrate.head_revision()} (head)" in result.stdout
    assert migrate.is_current(cli_database_url)

    again = accord("migrate", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr


async def test_demo_twice_then_admin_tokens_that_authenticate(
    env: dict[str, str], tmp_path: Path, cli_database_url: str,
) -> None:
    assert accord("migrate", env=env, cwd=tmp_path).returncode == 0

    first = accord("demo", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().endswith("Demo data loaded.")
    assert "acc_" not in first.stdout  # nothing secret
    second = accord("demo", env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout
    assert await _count(cli_database_url, select(func.count()).select_from(Agreement)) == 2

    args = ("admin", "create", "--name", "Demo administrator", "--email", "admin@accord.example")
    created = accord(*args, env=env, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    again = accord(*args, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "already exists" in again.stdout
    tokens = [created.stdout.strip().splitlines()[-1], again.stdout.strip().splitlines()[-1]]
    assert tokens[0] != tokens[1]

    database = Database(cli_database_url)
    try:
        async with database.transaction(write=False) as session:
            for token in tokens:
                actor = await actor_for_token(session, token)
                assert actor is not None
                person = await session.get(Person, actor.person_id)
                assert person is not None
                assert person.role == "admin"
                assert person.email == "admin@accord.example"
                assert person.organisation.name == "Accord administrators"
            admins = await session.scalar(select(func.count()).select_from(Person)
                                          .where(col(Person.email) == "admin@accord.example"))
    finally:
        await database.dispose()
    assert admins == 1


def test_admin_create_with_an_organisation_and_refusals(env: dict[str, str],
                                                        tmp_path: Path) -> None:
    assert accord("migrate", env=env, cwd=tmp_path).returncode == 0
    assert accord("demo", env=env, cwd=tmp_path).returncode == 0

    result = accord("admin", "create", "--name", "Operator", "--email", "operator@metropolis.example",
                    "--organisation", "Metropolis", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Metropolis" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("acc_")

    # A staff member is not silently promoted.
    refused = accord("admin", "create", "--name", "X", "--email", "agnes.bickart@metropolis.example",
                     env=env, cwd=tmp_path)
    assert_one_line_error(refused, "not an administrator")
    invalid = accord("admin", "create", "--name", "X", "--email", "not-an-email",
                     env=env, cwd=tmp_path)
    assert_one_line_error(invalid, "email")


def test_commands_refuse_an_unmigrated_database(env: dict[str, str], tmp_path: Path) -> None:
    for args in (("demo",), ("admin", "create", "--name", "A", "--email", "a@accord.example"),
                 ("serve", "--port", "1")):
        assert_one_line_error(accord(*args, env=env, cwd=tmp_path), "accord migrate")


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    variables = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    variables["ACCORD_DATABASE_URL"] = "postgresql+asyncpg://postgres@127.0.0.1:1/none"
    assert_one_line_error(accord("migrate", env=variables, cwd=tmp_path))
    variables["ACCORD_DATABASE_URL"] = "not a url"
    assert_one_line_error(accord("migrate", env=variables, cwd=tmp_path), "ACCORD_DATABASE_URL")


def test_worker_rejects_a_bad_now(env: dict[str, str], tmp_path: Path) -> None:
    assert_one_line_error(accord("worker", "--once", "--now", "next tuesday", env=env, cwd=tmp_path),
                          "--now", "ISO-8601")
    assert_one_line_error(accord("worker", "--now", "2026-11-23T09:00:00+00:00", env=env,
                                 cwd=tmp_path), "--once")


def test_worker_once_as_of_a_date(env: dict[str, str], tmp_path: Path) -> None:
    assert accord("migrate", env=env, cwd=tmp_path).returncode == 0
    result = accord("worker", "--once", "--now", "2026-11-23T09:00:00+00:00", env=env, cwd=tmp_path)
    if find_spec("notifications.worker") is None:
        # Until the scheduler exists the command says so plainly.
        assert_one_line_error(result, "notifications.worker")
    else:
        assert result.returncode == 0, result.stderr



@pytest.fixture
def served(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**env, "ACCORD_SCHEDULER_ENABLED": "false", "ACCORD_OUTBOX_DIR": str(tmp_path / "outbox")}
    server = subprocess.Popen([ACCORD, "serve", "--demo", "--port", str(port)], env=env,
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                output = server.stdout.read() if server.stdout else ""
                pytest.fail(f"accord serve exited with {server.returncode}:\n{output}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("accord serve did not answer /health within 60 s")
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout:
            server.stdout.close()


def test_serve_with_demo_answers(served: str, cli_database_url: str) -> None:
    assert httpx.get(f"{served}/health", timeout=5).status_code == 200
    assert httpx.get(f"{served}/docs", timeout=5).status_code == 200
    assert asyncio.run(_count(cli_database_url,
                              select(func.count()).select_from(Agreement))) == 2


def test_serve_on_a_port_makes_links_to_that_port(served: str, env: dict[str, str], tmp_path: Path) -> None:
    # `make run PORT=...` is `accord serve --port ...`; without ACCORD_BASE_URL the feed's address
    # (like every link in mail and sign-in mail) leads to the port it serves on, not to 8000.
    assert served != "http://127.0.0.1:8000"
    created = accord("admin", "create", "--name", "Feed reader", "--email", "reader@accord.example",
                     env=env, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    feed = httpx.post(f"{served}/api/v1/feeds", headers={"Authorization": f"Bearer {token}"}, json={},
                      timeout=5)
    assert feed.status_code == 201, feed.text
    assert feed.json()["url"].startswith(f"{served}/feeds/")
