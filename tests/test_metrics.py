"""/metrics, request ids and the JSON access log, as an operator sees them.

Counters are process-wide, so each test compares a value before and after what it does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from engine.clock import FixedClock
from engine.db import Database
from engine.settings import Settings
from tests.support import API, World, json_lines


async def sample(client: httpx.AsyncClient, name: str, **labels: str) -> float:
    """The value of one sample on /metrics (0 when it has not been counted yet)."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def transitions(**labels: str) -> dict[str, str]:
    return {"workflow": "collaboration_agreement", **labels}


async def test_requests_are_counted_by_route_template_not_by_raw_path(world: World) -> None:
    client = world.client
    agreement = await world.draft()
    template = "/api/v1/agreements/{agreement_id}"
    before = await sample(client, "accord_http_requests_total", method="GET", route=template, status="200")
    before_hist = await sample(client, "accord_http_request_duration_seconds_count", method="GET", route=template)
    for _ in range(3):
        await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}")
    missing = await world.call("metro_staff", "GET", "/agreements/999999")
    assert missing.status_code == 404

    assert await sample(client, "accord_http_requests_total", method="GET", route=template,
                        status="200") == before + 3
    assert await sample(client, "accord_http_requests_total", method="GET", route=template, status="404") >= 1
    assert await sample(client, "accord_http_request_duration_seconds_count", method="GET",
                        route=template) == before_hist + 4
    text = (await client.get("/metrics")).text
    assert f'route="/api/v1/agreements/{agreement["id"]}"' not in text


async def test_unknown_paths_and_odd_methods_share_one_label(world: World) -> None:
    client = world.client
    before = await sample(client, "accord_http_requests_total", method="other", route="unmatched", status="404")
    for n in range(3):
        response = await client.request("BREW", f"/no/such/place/{n}")
        assert response.status_code == 404
    assert await sample(client, "accord_http_requests_total", method="other", route="unmatched",
                        status="404") == before + 3
    assert "/no/such/place" not in (await client.get("/metrics")).text


async def test_transitions_are_counted_by_workflow_event_and_outcome(world: World) -> None:
    client = world.client

    async def count(event: str, outcome: str) -> float:
        return await sample(client, "accord_transitions_total", **transitions(event=event, outcome=outcome))

    before = {key: await count(*key) for key in [("submit_for_signature", "fired"), ("sign", "not_allowed"),
                                                 ("submit_for_signature", "guard_failed"), ("sign", "conflict")]}
    bare = await world.draft(areas=[])
    assert (await world.fire("metro_staff", bare["id"], "submit_for_signature")).status_code == 422
    assert (await world.fire("metro_staff", bare["id"], "sign")).status_code == 409
    ready = await world.ready()
    assert (await world.fire("metro_staff", ready["id"], "submit_for_signature")).status_code == 200
    stale = await world.call("metro_staff", "POST", f"/agreements/{ready['id']}/events",
                             json={"event": "sign"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    unknown = await world.fire("metro_staff", ready["id"], "dance")
    assert unknown.status_code == 422

    assert await count("submit_for_signature", "fired") == before[("submit_for_signature", "fired")] + 1
    assert await count("submit_for_signature", "guard_failed") == before[("submit_for_signature", "guard_failed")] + 1
    assert await count("sign", "not_allowed") == before[("sign", "not_allowed")] + 1
    assert await count("sign", "conflict") == before[("sign", "conflict")] + 1
    # An event the workflow does not know is refused as input, and never becomes a label.
    assert 'event="dance"' not in (await client.get("/metrics")).text


async def test_reminder_and_claim_metrics_are_published(client: httpx.AsyncClient) -> None:
    """Listed before anything is counted, so dashboards and alerts find them. That worker passes
    move them: tests/notifications/test_worker_metrics.py."""
    text = (await client.get("/metrics")).text
    for name, kind in [("accord_reminders_due_total", "counter"), ("accord_reminders_sent_total", "counter"),
                       ("accord_reminders_failed_total", "counter"), ("accord_reminders_dead_total", "counter"),
                       ("accord_lease_lost_total", "counter"), ("accord_timers_total", "counter"),
                       ("accord_claim_duration_seconds", "histogram"),
                       ("accord_transitions_total", "counter"), ("accord_http_requests_total", "counter"),
                       ("accord_http_request_duration_seconds", "histogram")]:
        assert f"# TYPE {name} {kind}" in text


async def test_request_id_is_kept_or_made_and_sent_back(client: httpx.AsyncClient) -> None:
    given = await client.get("/health/live", headers={"X-Request-ID": "lb-7f3a.42"})
    assert given.headers["X-Request-ID"] == "lb-7f3a.42"
    made = await client.get("/health/live")
    other = await client.get("/health/live")
    assert len(made.headers["X-Request-ID"]) == 32
    assert made.headers["X-Request-ID"] != other.headers["X-Request-ID"]
    # Something that does not look like an id is not echoed into headers and logs.
    for hostile in ('"><script>', "x" * 500, "a b"):
        response = await client.get("/health/live", headers={"X-Request-ID": hostile})
        assert response.headers["X-Request-ID"] != hostile
        assert len(response.headers["X-Request-ID"]) == 32


async def test_errors_carry_the_request_id_too(world: World) -> None:
    response = await world.call("metro_staff", "GET", "/agreements/424242", headers={"X-Request-ID": "req-404"})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "req-404"
    too_big = await world.client.post(f"{API}/agreements", content=b"x" * 2_000_000,
                                      headers={**world.admin.headers, "X-Request-ID": "req-413",
                                               "Content-Type": "application/json"})
    assert too_big.status_code == 413
    assert too_big.headers["X-Request-ID"] == "req-413"


@pytest.fixture
def json_app(settings: Settings, clock: FixedClock, database: Database) -> FastAPI:
    return create_app(settings.model_copy(update={"log_format": "json"}), clock=clock, database=database)


async def test_access_log_is_one_json_line_per_request_with_id_route_and_person(
    json_app: FastAPI, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    agreement = await world.draft()
    capsys.readouterr()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=json_app), base_url="http://accord.test") as http:
        response = await http.get(f"{API}/agreements/{agreement['id']}",
                                  headers={**world.metro_staff.headers, "X-Request-ID": "trace-1"})
        assert response.status_code == 200
        await http.get(f"{API}/agreements", headers={"Authorization": "Bearer nope", "X-Request-ID": "trace-2"})
    lines = [line for line in json_lines(capsys.readouterr().err) if line.get("logger") == "accord.access"]
    assert len(lines) == 2
    served, refused = lines
    assert served["request_id"] == "trace-1"
    assert served["person_id"] == world.metro_staff.id
    assert served["method"] == "GET"
    assert served["route"] == "/api/v1/agreements/{agreement_id}"
    assert served["path"] == f"/api/v1/agreements/{agreement['id']}"
    assert served["status"] == 200
    assert served["duration_ms"] >= 0
    assert served["level"] == "INFO"
    assert "time" in served
    assert refused["request_id"] == "trace-2"
    assert refused["status"] == 401
    assert "person_id" not in refused


async def test_every_line_written_during_a_request_carries_its_id(
    json_app: FastAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    async def crash() -> None:
        raise RuntimeError("boom")

    # A route that fails in a way nothing maps: the 500 path, whose error line must be traceable.
    json_app.add_api_route("/crash-for-test", crash)
    transport = httpx.ASGITransport(app=json_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://accord.test") as http:
        response = await http.get("/crash-for-test", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "trace-500"
    reference = response.json()["reference"]
    lines = json_lines(capsys.readouterr().err)
    error = next(line for line in lines if line.get("logger") == "accord.api")
    assert error["request_id"] == "trace-500"
    assert reference in error["message"]
    assert error["level"] == "ERROR"
    access = next(line for line in lines if line.get("logger") == "accord.access")
    assert access["request_id"] == "trace-500"
    assert access["status"] == 500


async def test_text_logs_for_a_terminal(settings: Settings, clock: FixedClock, database: Database,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app(settings.model_copy(update={"log_format": "text"}), clock=clock, database=database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as http:
        await http.get("/health/live", headers={"X-Request-ID": "trace-text"})
    line = next(x for x in capsys.readouterr().err.splitlines() if "accord.access" in x)
    assert "GET /health/live 200" in line
    assert line.endswith("[request trace-text]")


_WORKER_PROCESS = textwrap.dedent("""
    import asyncio, sys
    import httpx
    from api.app import create_app
    from engine.settings import Settings

    async def main() -> None:
        app = create_app(Settings(database_url=sys.argv[1], scheduler_enabled=False))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://w") as http:
            for _ in range(int(sys.argv[2])):
                assert (await http.get("/health/live")).status_code == 200

    asyncio.run(main())
""")


async def test_metrics_of_several_processes_are_added_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         client: httpx.AsyncClient) -> None:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"
    for served in (2, 3):  # two worker processes, one after the other, as uvicorn --workers would run them
        subprocess.run([sys.executable, "-c", _WORKER_PROCESS, url, str(served)], env=env, check=True,
                       timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    assert await sample(client, "accord_http_requests_total", method="GET", route="/health/live",
                        status="200") == 5
