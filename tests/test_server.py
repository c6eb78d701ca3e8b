"""The real server: uvicorn in a subprocess, talked to over loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import free_port, stop, wait_until_answering

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    url: str
    log: Path
    token: str



def _accord(env: dict[str, str], *args: str) -> str:
    """Run the `accord` command line as an operator would; its output."""
    done = subprocess.run([str(Path(sys.executable).parent / "accord"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("server")
    database = directory / "accord.db"
    env = {**os.environ, "ACCORD_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
           "ACCORD_SCHEDULER_ENABLED": "false", "ACCORD_OUTBOX_DIR": str(directory / "outbox")}
    _accord(env, "migrate")
    token = _accord(env, "admin", "create", "--name", "Server test admin",
                    "--email", "admin@example.org").strip().splitlines()[-1]
    port = free_port()
    log = directory / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(process, f"{url}/health", log)
        yield Server(url=url, log=log, token=token)
    finally:
        stop(process)


def test_health(server: Server) -> None:
    response = httpx.get(f"{server.url}/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_docs_and_openapi(server: Server) -> None:
    docs = httpx.get(f"{server.url}/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    schema = httpx.get(f"{server.url}/openapi.json").json()
    assert "/api/v1/agreements/{agreement_id}/events" in schema["paths"]


def test_unauthenticated_call_is_a_problem(server: Server) -> None:
    response = httpx.get(f"{server.url}/api/v1/agreements")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "bearer token" in response.json()["detail"]


def test_an_administrator_works_over_the_wire(server: Server) -> None:
    headers = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=headers) as client:
        metropolis = client.post("/organisations", json={"name": "Metropolis"})
        aspac = client.post("/organisations", json={"name": "UCLG ASPAC"})
        assert (metropolis.status_code, aspac.status_code) == (201, 201)
        created = client.post("/agreements", json={
            "title": "Collaboration agreement", "effective_from": "2019-04-06",
            "parties": [{"organisation_id": metropolis.json()["id"]},
                        {"organisation_id": aspac.json()["id"]}]})
        assert created.status_code == 201, created.text
        agreement = client.get(f"/agreements/{created.json()['id']}")
        assert agreement.headers["etag"] == '"1"'
        refused = client.post(f"/agreements/{created.json()['id']}/events",
                              json={"event": "submit_for_signature"})
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert "Add at least one area" in refused.json()["detail"]
