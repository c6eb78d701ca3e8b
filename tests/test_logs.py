"""No secret in the logs: a real `accord serve` is used with a calendar feed and a sign-in link,
and nothing it writes (its access lines, uvicorn's, error reports) or exposes as metrics holds
the tokens in their addresses.

On PostgreSQL the server gets a database of its own for the test (`accord serve` takes only
ACCORD_DATABASE_URL, so the per-test schema of the other tests cannot be handed to it).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from api.app import create_app
from api.web.pages import WebRoute
from engine.clock import FixedClock
from engine.db import Database
from engine.settings import Settings
from tests.conftest import PG_ADMIN_DSN, PG_URL, database_kind
from tests.support import free_port, json_lines, stop, wait_until_answering
from tests.web.helpers import csrf_of

ROOT = Path(__file__).resolve().parent.parent
ADMIN_EMAIL = "admin@example.org"
_LINK = re.compile(r"https?://\S+/sign-in/link/\S+")


@dataclass
class Served:
    url: str
    log: Path
    outbox: Path
    token: str  # the administrator's bearer token


def _accord(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(Path(sys.executable).parent / "accord"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
async def server_database(tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database for the server alone."""
    if database_kind() == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'accord.db'}"
        return
    try:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_DSN}")
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_DSN}")
    name = f"t_logs_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def served(server_database: str, tmp_path: Path) -> Iterator[Served]:
    """`accord serve` as an operator runs it (uvicorn's logging as it sets it up), JSON logs,
    stdout and stderr into one file."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ACCORD_DATABASE_URL": server_database, "ACCORD_SCHEDULER_ENABLED": "false",
           "ACCORD_OUTBOX_DIR": str(tmp_path / "outbox"), "ACCORD_BASE_URL": url,
           "ACCORD_LOG_FORMAT": "json", "ACCORD_LOG_LEVEL": "DEBUG",
           "ACCORD_SECRET_KEY": "a-secret-key-for-the-log-test"}
    _accord(env, "migrate")
    token = _accord(env, "admin", "create", "--name", "Log test admin", "--email", ADMIN_EMAIL
                    ).strip().splitlines()[-1]
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen([str(Path(sys.executable).parent / "accord"), "serve", "--host", "127.0.0.1",
                                    "--port", str(port)], cwd=ROOT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
    try:
        wait_until_answering(process, f"{url}/health/live", log)
        yield Served(url=url, log=log, outbox=tmp_path / "outbox", token=token)
    finally:
        stop(process)


async def _link_from_outbox(outbox: Path) -> str:
    """The sign-in link of the one mail in the outbox, once it has been written."""
    for _ in range(200):
        mails = sorted(outbox.glob("*.eml")) if outbox.is_dir() else []
        if mails:
            message = message_from_bytes(mails[0].read_bytes(), policy=policy.default)
            assert isinstance(message, EmailMessage)
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            found = _LINK.search(body.get_content())
            assert found, body.get_content()
            return found.group(0)
        await asyncio.sleep(0.05)
    raise AssertionError("no sign-in mail was written")


async def test_feed_and_sign_in_link_tokens_never_reach_the_logs_or_the_metrics(served: Served) -> None:
    bearer = {"Authorization": f"Bearer {served.token}"}
    async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
        feed = await client.post("/api/v1/feeds", headers=bearer, json={})
        assert feed.status_code == 201, feed.text
        feed_path = urlsplit(feed.json()["url"]).path
        feed_token = feed_path.removeprefix("/feeds/").removesuffix(".ics")
        calendar = await client.get(feed_path)
        assert calendar.status_code == 200
        assert "BEGIN:VCALENDAR" in calendar.text
        unknown_feed = "acc_feed_" + "Zz9" * 12
        assert (await client.get(f"/feeds/{unknown_feed}.ics")).status_code == 404

        form = await client.get("/sign-in")
        asked = await client.post("/sign-in/link", data={"email": ADMIN_EMAIL, "csrf": csrf_of(form.text)})
        assert asked.status_code == 200
        link_path = urlsplit(await _link_from_outbox(served.outbox)).path
        link_token = link_path.removeprefix("/sign-in/link/")
        page = await client.get(link_path)
        assert page.status_code == 200
        signed_in = await client.post(link_path, data={"csrf": csrf_of(page.text)})
        assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/agreements")
        assert (await client.get("/agreements")).status_code == 200  # signed in by the link
        # The same token in a path no route matches: nothing says it is a secret but its looks.
        assert (await client.get(f"/sign-in/link/{link_token}/again")).status_code == 404
        metrics = (await client.get("/metrics")).text

    secrets = {"feed token": feed_token, "unknown feed token": unknown_feed, "sign-in link token": link_token}
    await asyncio.sleep(0.2)  # the last access line is written after the answer has gone
    log = served.log.read_text()
    for what, secret in secrets.items():
        assert secret not in log, f"the {what} is in the server's log"
        assert secret not in metrics, f"the {what} is in the metrics"
    # The lines are there, with the route and a redacted path: the test looked where they are.
    access = [line for line in json_lines(log) if line.get("logger") == "accord.access"]
    seen = {(line["method"], line["route"], line["path"], line["status"]) for line in access}
    assert ("GET", "/feeds/{token}.ics", "/feeds/[redacted].ics", 200) in seen
    assert ("GET", "/feeds/{token}.ics", "/feeds/[redacted].ics", 404) in seen
    assert ("GET", "/sign-in/link/{token}", "/sign-in/link/[redacted]", 200) in seen
    assert ("POST", "/sign-in/link/{token}", "/sign-in/link/[redacted]", 303) in seen
    assert ("GET", "unmatched", "/sign-in/link/[redacted]/again", 404) in seen
    assert 'route="/feeds/{token}.ics"' in metrics


# --- error reports ----------------------------------------------------------------------------

@pytest.fixture
def json_app(settings: Settings, clock: FixedClock, database: Database) -> FastAPI:
    return create_app(settings.model_copy(update={"log_format": "json"}), clock=clock, database=database)


async def test_an_error_report_names_the_path_without_its_secret(
        json_app: FastAPI, capsys: pytest.CaptureFixture[str]) -> None:
    async def crash(token: str) -> None:
        raise RuntimeError("boom")

    # Routes that fail in a way nothing maps, with a secret in their address: one of the API,
    # one of the web pages (each has its own error report).
    json_app.add_api_route("/feeds/{token}/crash-for-test", crash)
    json_app.router.add_api_route("/sign-in/link/{token}/crash-for-test", crash, route_class_override=WebRoute)
    secret = "acc_link_" + "Qx7" * 14
    transport = httpx.ASGITransport(app=json_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://accord.test") as http:
        api = await http.get(f"/feeds/{secret}/crash-for-test")
        page = await http.get(f"/sign-in/link/{secret}/crash-for-test")
    assert (api.status_code, page.status_code) == (500, 500)
    output = capsys.readouterr().err
    reports = [line for line in json_lines(output) if "unexpected error" in line["message"]]
    assert len(reports) == 2
    assert "/feeds/[redacted]/crash-for-test" in reports[0]["message"]
    assert "/sign-in/link/[redacted]/crash-for-test" in reports[1]["message"]
    assert secret not in output
