"""Assertions the API tests share: problem+json answers, history and the version invariant."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import World

PROBLEM = "application/problem+json"
PAST_START = "2026-11-01"  # before the test clock's day, 2026-11-23


def problem(response: httpx.Response, status: int, *mentions: str) -> dict[str, Any]:
    """Assert an RFC 9457 answer with `status` whose `detail` mentions every word given."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM), response.headers["content-type"]
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    detail = body["detail"]
    assert isinstance(detail, str)
    assert detail.strip()
    for mention in mentions:
        assert mention in detail, (mention, detail)
    return body


async def history(world: World, agreement_id: int) -> list[dict[str, Any]]:
    page = await world.ok("admin", "GET", f"/agreements/{agreement_id}/history",
                          params={"limit": 200})
    assert page["total"] == len(page["items"])
    items: list[dict[str, Any]] = page["items"]
    assert [h["version"] for h in items] == list(range(1, len(items) + 1))
    return items


async def snapshot(world: World, agreement_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The agreement as an admin reads it and its history; checks version == history rows."""
    agreement: dict[str, Any] = await world.ok("admin", "GET", f"/agreements/{agreement_id}")
    rows = await history(world, agreement_id)
    assert agreement["version"] == len(rows)
    return agreement, rows


async def fire_ok(world: World, who: str, agreement_id: int, event: str,
                  **fields: Any) -> dict[str, Any]:
    response = await world.fire(who, agreement_id, event, **fields)
    assert response.status_code == 200, (event, response.status_code, response.text)
    body: dict[str, Any] = response.json()
    return body


async def active(world: World, **overrides: Any) -> dict[str, Any]:
    """A signed agreement whose term has started, activated by Metropolis's focal point."""
    overrides.setdefault("effective_from", PAST_START)
    agreement = await world.signed(**overrides)
    return await fire_ok(world, "metro_staff", agreement["id"], "activate")


async def reviewed(world: World, outcome: str, **overrides: Any) -> dict[str, Any]:
    agreement = await active(world, **overrides)
    await fire_ok(world, "metro_staff", agreement["id"], "start_review")
    return await fire_ok(world, "metro_staff", agreement["id"], "complete_review", outcome=outcome,
                         summary="All four areas on track.")
