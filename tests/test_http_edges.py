"""The edges of HTTP: a body that is not JSON, a method a path does not have, digits that are not
ASCII, ids past the columns' range, and `X-Content-Type-Options: nosniff` on every answer."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests.checks import PROBLEM, problem, snapshot
from tests.support import API, World
from tests.web.helpers import csrf_of, sign_in, text_of

TOO_BIG = str(2**31)  # one past the largest INTEGER id


async def test_a_json_endpoint_answers_415_to_another_content_type(world: World) -> None:
    body = b'{"title": "Agreement", "parties": [{"organisation_id": 2}]}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml",
                         "multipart/form-data; boundary=x", None):
        headers = {**world.metro_staff.headers, **({"Content-Type": content_type} if content_type else {})}
        answer = await world.client.post(f"{API}/agreements", content=body, headers=headers)
        found = problem(answer, 415, "Content-Type: application/json")
        assert found["title"] == "Unsupported media type"
    agreement = await world.draft()
    answer = await world.client.patch(f"{API}/agreements/{agreement['id']}", content=b"summary=S",
                                      headers={**world.metro_staff.headers,
                                               "Content-Type": "application/x-www-form-urlencoded"})
    problem(answer, 415, "application/json", "application/x-www-form-urlencoded")
    # JSON under its other names is JSON.
    answer = await world.client.patch(f"{API}/agreements/{agreement['id']}", content=b'{"summary": "S"}',
                                      headers={**world.metro_staff.headers,
                                               "Content-Type": "application/merge-patch+json"})
    assert answer.status_code == 200, answer.text
    # A write without a body still needs none.
    assert (await world.call("metro_staff", "POST", "/feeds")).status_code == 201
    after, _ = await snapshot(world, agreement["id"])
    assert (after["version"], after["summary"]) == (2, "S")
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 1


async def test_405_answers_say_which_methods_are_allowed(world: World) -> None:
    for method, path, allowed in [("DELETE", f"{API}/agreements", {"GET", "POST"}),
                                  ("PUT", f"{API}/agreements/1", {"GET", "PATCH"}),
                                  ("POST", "/health/live", {"GET"}),
                                  ("DELETE", "/agreements", {"GET"})]:
        answer = await world.client.request(method, path, headers=world.admin.headers)
        problem(answer, 405, method)
        assert set(answer.headers["allow"].replace(" ", "").split(",")) >= allowed, answer.headers


@pytest.mark.parametrize("digits", ["²", "١٢", "①", "𝟙"])
async def test_digits_that_are_not_ascii_are_refused_not_a_500(client: httpx.AsyncClient, world: World,
                                                             digits: str) -> None:
    assert digits.isdigit() or digits.isnumeric()
    agreement = await world.ready()
    aid = agreement["id"]
    before, _ = await snapshot(world, aid)
    # If-Match, sent as the raw bytes a client would put on the wire.
    for raw in (digits.encode(), f'"{digits}"'.encode(), digits.encode("latin-1", "ignore") or b"\xb2"):
        answer = await world.client.patch(f"{API}/agreements/{aid}", json={"summary": "S"},
                                          headers={**world.metro_staff.headers, "If-Match": raw})
        assert 400 <= answer.status_code < 500, (raw, answer.status_code, answer.text)
        assert answer.headers["content-type"] == PROBLEM
    # Query parameters of the API and of the CSV exports.
    for path, params in [("/agreements", {"party": digits}), ("/agreements", {"limit": digits}),
                         ("/exports/agreements.csv", {"party": digits}), ("/reminders", {"agreement_id": digits}),
                         ("/people", {"organisation_id": digits})]:
        problem(await world.call("admin", "GET", path, params=params), 422, next(iter(params)))
    # Form and query fields of the pages.
    await sign_in(client, world.metro_staff.token)
    listed = await client.get("/agreements", params={"party": digits})
    assert listed.status_code == 200, listed.text  # an unusable filter is no filter
    page = await client.get(f"/agreements/{aid}")
    answer = await client.post(f"/agreements/{aid}/events", data={
        "csrf": csrf_of(page.text), "event": "cancel", "version": digits})
    assert answer.status_code < 500, answer.text
    after, _ = await snapshot(world, aid)
    assert after["summary"] == before["summary"]


async def test_ids_past_the_columns_range_are_a_4xx_everywhere(client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.ready()
    aid = agreement["id"]
    area = agreement["areas"][0]["id"]
    deliverable = await world.ok("metro_staff", "POST", f"/agreements/{aid}/areas/{area}/deliverables",
                                 json={"title": "Report"})
    for params in ({"party": TOO_BIG}, {"party": "0"}, {"party": str(2**63)}):
        for export in ("/exports/agreements.csv", "/exports/deliverables.csv"):
            problem(await world.call("admin", "GET", export, params=params), 422, "party")
    await sign_in(client, world.metro_staff.token)
    page = await client.get(f"/agreements/{aid}")
    csrf = csrf_of(page.text)
    for bad in (TOO_BIG, str(2**63), "0", "-1"):
        for method, path, data in [("GET", f"/agreements/{bad}", None),
                                   ("POST", f"/agreements/{bad}/events", {"csrf": csrf, "event": "cancel"}),
                                   ("POST", f"/deliverables/{bad}", {"csrf": csrf, "status": "done"})]:
            answer = await client.request(method, path, data=data)
            assert answer.status_code in (404, 422), (path, answer.status_code, text_of(answer.text))
            assert "database is not reachable" not in text_of(answer.text)
    listed = await client.get("/agreements", params={"party": TOO_BIG})
    assert listed.status_code == 200, listed.text
    assert "database is not reachable" not in text_of(listed.text)
    after, _ = await snapshot(world, aid)
    assert after["state"] == "draft"
    assert after["areas"][0]["deliverables"][0]["status"] == deliverable["status"]


async def test_every_answer_says_nosniff(app: FastAPI, client: httpx.AsyncClient, world: World) -> None:
    async def fails() -> None:
        raise RuntimeError("an error nobody planned for")

    app.add_api_route("/test-only/fails", fails)  # a real 500, through the app's own error handling
    agreement = await world.ready()
    feed = await world.ok("metro_staff", "POST", "/feeds", json=None)
    answers = {
        "json": await world.call("admin", "GET", f"/agreements/{agreement['id']}"),
        "problem 404": await world.call("admin", "GET", "/agreements/987654"),
        "problem 401": await world.client.get(f"{API}/agreements"),
        "problem 405": await world.client.delete(f"{API}/agreements", headers=world.admin.headers),
        "problem 415": await world.client.post(f"{API}/agreements", content=b"x", headers={
            **world.admin.headers, "Content-Type": "text/plain"}),
        "control character": await world.call("admin", "GET", "/agreements", params={"q": "\x1b"}),
        "body too large": await world.client.post(f"{API}/agreements", content=b"x" * 2_000_000, headers={
            **world.admin.headers, "Content-Type": "application/json"}),
        "csv": await world.call("admin", "GET", "/exports/agreements.csv"),
        "calendar": await world.client.get(urlsplit(feed["url"]).path),
        "page": await client.get("/sign-in"),
        "redirect": await client.get("/"),
        "static": await client.get("/static/web.css"),
        "health": await client.get("/health/live"),
        "metrics": await client.get("/metrics"),
        "openapi": await client.get("/openapi.json"),
    }
    # Starlette answers a 500 and raises the error again for the server to log: keep the answer.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://accord.test") as plain:
        answers["500"] = await plain.get("/test-only/fails")
    assert answers["500"].status_code == 500
    for name, answer in answers.items():
        assert answer.headers.get("x-content-type-options") == "nosniff", (name, answer.status_code, answer.headers)
        assert len(answer.headers.get_list("x-content-type-options")) == 1, name
