"""A small world for tests: organisations, people with tokens, and agreements built over HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.clock import FixedClock
from engine.db import Database
from engine.directory.service import hash_token
from engine.models import ApiToken, Organisation, Person

API = "/api/v1"


def free_port() -> int:
    """A loopback port nobody listens on now, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_answering(process: subprocess.Popen[bytes], url: str, log: Path, *, seconds: float = 30) -> None:
    """Until the server `process` started answers `url` with 200; fail with its log if it exits or
    stays silent for `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not answer within {seconds:.0f} s:\n{log.read_text()}")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server a test started: politely, then for good."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log lines in `text` (a server's or a captured stream), as objects."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@dataclass
class Member:
    id: int
    organisation_id: int
    token: str
    name: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    client: httpx.AsyncClient
    orgs: dict[str, int]
    people: dict[str, Member] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Member:
        try:
            return self.people[name]
        except KeyError:
            raise AttributeError(name) from None

    async def call(self, who: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.people[who].headers, **kwargs.pop("headers", {})}
        return await self.client.request(method, API + path, headers=headers, **kwargs)

    async def ok(self, who: str, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.call(who, method, path, **kwargs)
        assert response.status_code < 300, (response.status_code, response.text)
        return response.json() if response.content else None

    async def draft(self, who: str = "metro_staff", **overrides: Any) -> dict[str, Any]:
        """A draft agreement; on version 1 of its workflow, whose lifecycle these tests follow
        (version 2 asks for documents on the way: tests/test_documents.py)."""
        body = {"title": "Collaboration agreement between Metropolis and UCLG ASPAC", "workflow_version": 1,
                "effective_from": "2026-12-01", "review_every_months": 12,
                "parties": [{"organisation_id": self.orgs["metropolis"]},
                            {"organisation_id": self.orgs["aspac"]}],
                "areas": [{"title": "Capacity building and gender mainstreaming"}]}
        body.update(overrides)
        result: dict[str, Any] = await self.ok(who, "POST", "/agreements", json=body)
        return result

    async def name_people(self, agreement_id: int, who: str | None = None) -> None:
        """Each party's focal point and signatory, named by that party's own staff (a party acts
        only for itself), or all of them by `who` (an administrator)."""
        for person, kind, by in (("metro_staff", "focal_point", "metro_staff"),
                                 ("metro_signatory", "signatory", "metro_staff"),
                                 ("aspac_staff", "focal_point", "aspac_staff"),
                                 ("aspac_signatory", "signatory", "aspac_staff")):
            await self.ok(who or by, "POST", f"/agreements/{agreement_id}/focal-points",
                          json={"person_id": self.people[person].id, "kind": kind})

    async def ready(self, **overrides: Any) -> dict[str, Any]:
        """A draft with two parties, their focal points and signatories, and an area."""
        agreement = await self.draft(**overrides)
        await self.name_people(agreement["id"])
        return agreement

    async def fire(self, who: str, agreement_id: int, event: str, **fields: Any) -> httpx.Response:
        return await self.call(who, "POST", f"/agreements/{agreement_id}/events",
                               json={"event": event, **fields})

    async def signed(self, **overrides: Any) -> dict[str, Any]:
        agreement = await self.ready(**overrides)
        for who in ("metro_staff", "aspac_staff"):
            if who == "metro_staff":
                response = await self.fire(who, agreement["id"], "submit_for_signature")
                assert response.status_code == 200, response.text
            response = await self.fire(who, agreement["id"], "sign", place="Montevideo")
            assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


_PEOPLE = [
    # key, organisation key, role, name
    ("admin", "secretariat", "admin", "Accord Administrator"),
    ("metro_staff", "metropolis", "staff", "Agnès Bickart"),
    ("metro_signatory", "metropolis", "staff", "Secretary General, Metropolis"),
    ("metro_partner", "metropolis", "partner", "Metropolis programme officer"),
    ("aspac_staff", "aspac", "staff", "UCLG ASPAC focal point"),
    ("aspac_signatory", "aspac", "staff", "Secretary General, UCLG ASPAC"),
    ("aspac_partner", "aspac", "partner", "UCLG ASPAC programme officer"),
    ("amf_staff", "amf", "staff", "AMF secretariat officer"),
    ("amf_partner", "amf", "partner", "AMF partner"),
]

_ORGS = [
    ("secretariat", "Accord administrators", "UTC"),
    ("metropolis", "Metropolis", "Europe/Madrid"),
    ("aspac", "UCLG ASPAC", "Asia/Jakarta"),
    ("amf", "Asian Mayors Forum", "Asia/Tehran"),
]


async def build_world(database: Database, client: httpx.AsyncClient, clock: FixedClock) -> World:
    now = clock.now()
    orgs: dict[str, int] = {}
    members: dict[str, Member] = {}
    async with database.transaction() as session:
        for key, name, zone in _ORGS:
            organisation = Organisation(name=name, timezone=zone, created_at=now)
            session.add(organisation)
            await session.flush()
            assert organisation.id is not None
            orgs[key] = organisation.id
        for key, org_key, role, name in _PEOPLE:
            person = Person(organisation_id=orgs[org_key], name=name, role=role,
                            email=f"{key}@{org_key}.example", created_at=now)
            session.add(person)
            await session.flush()
            assert person.id is not None
            token = f"acc_test_{key}"
            session.add(ApiToken(person_id=person.id, token_hash=hash_token(token), created_at=now))
            members[key] = Member(id=person.id, organisation_id=orgs[org_key], token=token, name=name)
    return World(client=client, orgs=orgs, people=members)
