"""Hostile input: generated requests against every operation of the OpenAPI schema, and injection.

Schemathesis generates requests (valid and invalid) for each operation the app documents, and
sends them with an administrator's token to the real app on a real database with a seeded
world. Every answer must be below 500 and match what the OpenAPI says (status, content type,
body schema; errors are problem+json). The examples per operation are bounded so that the
whole run stays within a minute.

The app runs on an event loop of this module's own (`asyncio.Runner`): hypothesis drives a
plain function, and the database connections must live on the loop that uses them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import pytest
import schemathesis
from alembic import command
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text as sql
from sqlmodel import SQLModel

from api.app import create_app
from engine.clock import FixedClock
from engine.db import Database
from engine.directory.service import hash_token
from engine.migrate import alembic_config
from engine.models import ApiToken
from engine.settings import Settings
from tests.conftest import PG_ADMIN_DSN, PG_URL, database_kind
from tests.support import API, World, build_world

# Enough to hit every operation with valid and invalid data; `HOSTILE_EXAMPLES=200` digs deeper.
EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "10"))
BASE = "http://accord.test"


def _documented_app() -> Any:
    # The schema only: no request reaches this app, so its database is never opened.
    return create_app(Settings(database_url="sqlite+aiosqlite:///schema-only.db", scheduler_enabled=False))


schema = schemathesis.openapi.from_dict(_documented_app().openapi())


@dataclass
class Target:
    runner: asyncio.Runner
    database: Database
    client: httpx.AsyncClient
    clock: FixedClock
    world: World
    headers: dict[str, str]

    def send(self, **kwargs: Any) -> httpx.Response:
        async def sent() -> httpx.Response:
            request = self.client.build_request(**kwargs)
            await request.aread()  # a multipart body too, which schemathesis reads back to check the answer
            return await self.client.send(request)
        return self.runner.run(sent())

    def reset(self) -> None:
        """Back to the seeded world: every table emptied (ids restart) and seeded again, so that a
        stateful scenario sees the same answers each time hypothesis replays it."""
        self.world = self.runner.run(_reset_and_seed(self.database, self.client, self.clock))


# The token schemathesis sends. Its row id is far from the ids that generated requests use, so a
# generated DELETE /tokens/{token_id} cannot revoke it halfway through the run.
HOSTILE_TOKEN = "acc_test_hostile_admin"
HOSTILE_TOKEN_ID = 1_999_999_999


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The app on a database of its own (shared by all operations, as a real deployment is),
    at the current schema, with the test world and agreements in several states."""
    tmp_path = tmp_path_factory.mktemp("hostile")
    schema_name = f"t_hostile_{uuid.uuid4().hex[:12]}"
    postgres = database_kind() == "postgresql"
    url = PG_URL if postgres else f"sqlite+aiosqlite:///{tmp_path / 'accord.db'}"

    async def start() -> tuple[Database, httpx.AsyncClient, World]:
        if postgres:
            admin = await asyncpg.connect(PG_ADMIN_DSN)
            await admin.execute(f'CREATE SCHEMA "{schema_name}"')
            await admin.close()
        database = Database(url, search_path=schema_name if postgres else None)
        async with database.engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.create_all)
            await connection.run_sync(lambda sync: command.stamp(alembic_config(sync), "head"))
        app = create_app(Settings(database_url=url, scheduler_enabled=False, outbox_dir=str(tmp_path / "outbox")),
                         clock=clock, database=database)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
        return database, client, await _seed(database, client, clock)

    async def stop(database: Database, client: httpx.AsyncClient) -> None:
        await client.aclose()
        await database.dispose()
        if postgres:
            admin = await asyncpg.connect(PG_ADMIN_DSN)
            await admin.execute(f'DROP SCHEMA "{schema_name}" CASCADE')
            await admin.close()

    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    with asyncio.Runner() as runner:
        database, client, world = runner.run(start())
        try:
            yield Target(runner, database, client, clock, world, {"Authorization": f"Bearer {HOSTILE_TOKEN}"})
        finally:
            runner.run(stop(database, client))


async def _seed(database: Database, client: httpx.AsyncClient, clock: FixedClock) -> World:
    """The test world, the hostile token, and agreements in several states."""
    world = await build_world(database, client, clock)
    async with database.transaction() as session:
        session.add(ApiToken(id=HOSTILE_TOKEN_ID, person_id=world.admin.id, token_hash=hash_token(HOSTILE_TOKEN),
                             created_at=clock.now()))
    await world.draft()
    await world.ready()
    signed = await world.signed()
    await world.ok("admin", "POST", f"/agreements/{signed['id']}/areas/{signed['areas'][0]['id']}/deliverables",
                   json={"title": "Joint training on gender mainstreaming", "due_on": "2027-03-01"})
    return world


async def _reset_and_seed(database: Database, client: httpx.AsyncClient, clock: FixedClock) -> World:
    tables = [table for table in reversed(SQLModel.metadata.sorted_tables) if table.name != "alembic_version"]
    async with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            await connection.execute(sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await connection.execute(table.delete())
    return await _seed(database, client, clock)


def _part(value: Any) -> Any:
    if isinstance(value, tuple):
        return (value[0], _part(value[1]), *value[2:])
    return value if isinstance(value, (bytes, str)) else str(value).encode()


def _httpx_kwargs(case: schemathesis.Case[Any], headers: dict[str, str]) -> dict[str, Any]:
    """What schemathesis prepares for `requests`, in the words httpx uses."""
    kwargs = case.as_transport_kwargs(base_url=BASE, headers=headers)
    data = kwargs.pop("data", None)
    if isinstance(data, (bytes, str)):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    files = kwargs.get("files")
    if files:  # a multipart part generated as a number or null: httpx sends bytes, as requests would
        kwargs["files"] = [(name, _part(value)) for name, value in (files.items() if isinstance(files, dict)
                                                                    else files)]
    cookies = kwargs.pop("cookies", None)
    if cookies:  # httpx takes cookies on the client only
        kwargs["headers"]["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return {k: v for k, v in kwargs.items() if k in ("method", "url", "headers", "params", "json", "content",
                                                      "data", "files")}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_generated_requests_never_fail_and_match_the_schema(case: schemathesis.Case[Any], target: Target) -> None:
    response = target.send(**_httpx_kwargs(case, target.headers))
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                             content_type_conformance, response_schema_conformance])


# --- injection and bounds, by hand --------------------------------------------------------------

async def _titles(world: World, **params: Any) -> list[str]:
    response = await world.call("admin", "GET", "/agreements", params=params)
    assert response.status_code == 200, response.text
    return sorted(item["title"] for item in response.json()["items"])


@pytest.fixture
async def titled(world: World) -> World:
    for title in ("100% renewable cities", "C2C_exchange on waste", "Mayors' forum on water",
                  "Collaboration agreement between Metropolis and UCLG ASPAC"):
        await world.draft(title=title)
    return world


@pytest.mark.parametrize(("q", "expected"), [
    ("%", ["100% renewable cities"]),
    ("_", ["C2C_exchange on waste"]),
    ("0%_r", []),
    ("%%", []),
    ("C2C%waste", []),
    ("Mayors'", ["Mayors' forum on water"]),
    ("' OR '1'='1", []),
    ("' OR 1=1 --", []),
    ("'; DROP TABLE agreement; --", []),
    ('" OR ""="', []),
    ("\\", []),
    ("\\%", []),
    ("[a-z]*", []),
    ("metropolis", ["Collaboration agreement between Metropolis and UCLG ASPAC"]),
])
async def test_search_text_is_matched_literally(titled: World, q: str, expected: list[str]) -> None:
    assert await _titles(titled, q=q) == expected
    # Nothing was dropped or changed by what was sent.
    assert len(await _titles(titled)) == 4


@pytest.mark.parametrize("state", ["draft' OR '1'='1", "draft%", "%", "_raft", "draft; --"])
async def test_state_and_workflow_filters_do_not_over_match(titled: World, state: str) -> None:
    assert await _titles(titled, state=state) == []
    assert await _titles(titled, workflow=state) == []
    assert len(await _titles(titled, state="draft")) == 4


@pytest.mark.parametrize("agreement_id", ["1 OR 1=1", "1;DROP TABLE agreement", "1'", "1e3", "-1", "0",
                                          "0x10", "99999999999999999999999"])
async def test_ids_that_are_not_ids_are_refused(titled: World, agreement_id: str) -> None:
    response = await titled.call("admin", "GET", f"/agreements/{agreement_id}")
    assert response.status_code in (404, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert len(await _titles(titled)) == 4


@pytest.mark.parametrize("text", ["\x00", "draft\x00"])
async def test_a_nul_character_in_a_filter_is_refused_on_every_database(titled: World, text: str) -> None:
    for name in ("q", "state", "workflow"):
        response = await titled.call("admin", "GET", "/agreements", params={name: text})
        assert response.status_code == 422, (name, response.status_code, response.text)
        assert "NUL" in response.json()["detail"]
    response = await titled.call("admin", "GET", "/workflows/collaboration_agreement%00")
    assert response.status_code == 422


@pytest.mark.parametrize("text", ["\x01\x02\x1b[31m", "draft\r\nX-Injected: 1", "\t", "\x7f", "\x85", "\u2028"])
async def test_a_control_character_in_a_filter_or_a_path_is_refused(titled: World, text: str) -> None:
    for name in ("q", "state", "workflow"):
        response = await titled.call("admin", "GET", "/agreements", params={name: text})
        assert response.status_code == 422, (name, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        detail = response.json()["detail"]
        assert f"query parameter '{name}'" in detail, detail
        assert "U+" in detail, detail
    encoded = quote(text, safe="")
    for path in (f"/workflows/collaboration_agreement{encoded}", f"/agreements?q=a{encoded}b"):
        response = await titled.call("admin", "GET", path)
        assert response.status_code == 422, (path, response.text)
    assert (await titled.client.get(f"/agreements?q={encoded}")).status_code == 422  # a page too


async def test_odd_characters_in_filters_are_just_text(titled: World) -> None:
    for text in ("\u202e\u200b", "é" * 50, "\U0001f600", "\ufffd", "tab\\t and newline\\n, written out"):
        for name in ("q", "state", "workflow"):
            assert await _titles(titled, **{name: text}) == []


@pytest.mark.parametrize(("params", "field"), [
    ({"q": "x" * 201}, "q"),
    ({"workflow": "w" * 65}, "workflow"),
    ({"limit": 10_000}, "limit"),
    ({"offset": -1}, "offset"),
    ({"state": ["draft"] * 21}, "state"),
])
async def test_query_parameters_are_bounded(world: World, params: dict[str, Any], field: str) -> None:
    response = await world.call("admin", "GET", "/agreements", params=params)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


async def test_bodies_are_bounded_field_by_field(world: World) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"title": "t" * 301}, "title"),
        ({"summary": "s" * 20_001}, "summary"),
        ({"areas": [{"title": f"area {n}"} for n in range(51)]}, "areas"),
        ({"parties": [{"organisation_id": world.orgs["metropolis"]}] * 51}, "parties"),
        ({"workflow": "w" * 65}, "workflow"),
    ]
    for override, field in cases:
        body = {"title": "Bounded", "parties": [{"organisation_id": world.orgs["metropolis"]}], **override}
        response = await world.call("metro_staff", "POST", "/agreements", json=body)
        assert response.status_code == 422, (field, response.text)
        assert field in response.json()["detail"], (field, response.json()["detail"])
    page = await world.ok("admin", "GET", "/agreements")
    assert page["total"] == 0


async def test_a_body_over_the_size_limit_is_refused_before_it_is_read(world: World) -> None:
    body = b'{"title": "' + b"x" * 2_000_000 + b'"}'
    response = await world.client.post(f"{API}/agreements", content=body,
                                       headers={**world.metro_staff.headers, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "at most" in response.json()["detail"]


# Fields that name an organisation or a person: a random whole number almost never names one that
# exists, so a generated agreement would never be created and nothing would follow from it.
_ORGANISATION_FIELDS = ("organisation_id",)
_PERSON_FIELDS = ("person_id", "owner_id", "signatory_id")


def _aim_at_the_world(body: Any, world: World) -> None:
    """Point the whole numbers a generated body gives for organisations and people at ones the
    seeded world has (the same number always to the same one), leaving everything else as
    generated — wrong types, missing fields and the rest of the fuzz stay."""
    organisations = sorted(world.orgs.values())
    people = sorted(member.id for member in world.people.values())
    if isinstance(body, list):
        for item in body:
            _aim_at_the_world(item, world)
        return
    if not isinstance(body, dict):
        return
    for name, value in body.items():
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            if name in _ORGANISATION_FIELDS:
                body[name] = organisations[value % len(organisations)]
            elif name in _PERSON_FIELDS:
                body[name] = people[value % len(people)]
        elif isinstance(value, list | dict):
            _aim_at_the_world(value, world)


# --- stateful: chains of calls that follow the links between operations ---------------------------

APIWorkflow = schema.as_state_machine()


def test_stateful_sequences_never_fail_and_match_the_schema(target: Target) -> None:
    """Schemathesis's stateful phase: it creates resources and feeds their ids (from bodies and
    `Location` headers) to the operations that take them, as an administrator, so that reads,
    edits and deletes of things that exist are generated, not only of random ids."""

    class AccordWorkflow(APIWorkflow):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            target.reset()

        def before_call(self, case: schemathesis.Case[Any]) -> None:
            _aim_at_the_world(case.body, target.world)

        def call(self, case: schemathesis.Case[Any], **kwargs: Any) -> schemathesis.Response:
            return schemathesis.Response.from_any(target.send(**_httpx_kwargs(case, target.headers)))

        def validate_response(self, response: schemathesis.Response, case: schemathesis.Case[Any],
                              additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                     content_type_conformance, response_schema_conformance])

    AccordWorkflow.run(settings=settings(max_examples=EXAMPLES * 3, stateful_step_count=10, deadline=None,
                                         derandomize=True, database=None,
                                         suppress_health_check=list(HealthCheck)))
