"""Many requests on one agreement at once: exactly one wins, the rest lose cleanly.

Run on both databases: `ACCORD_TEST_DATABASE=postgresql pytest tests/test_concurrency.py`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from tests.checks import active, history, snapshot
from tests.support import API, World

N = 24


async def together(world: World, requests: list[tuple[str, str, str, dict[str, Any]]]
                   ) -> list[httpx.Response]:
    return await asyncio.gather(*(world.call(who, method, path, **kwargs)
                                  for who, method, path, kwargs in requests))


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


async def test_concurrent_start_review_has_one_winner(world: World) -> None:
    agreement = await active(world)
    path = f"/agreements/{agreement['id']}/events"
    responses = await together(world, [("metro_staff" if i % 2 else "aspac_staff", "POST", path,
                                         {"json": {"event": "start_review",
                                                   "comment": f"attempt {i}"}})
                                        for i in range(N)])
    counts = statuses(responses)
    assert counts == Counter({200: 1, 409: N - 1}), [r.text for r in responses
                                                     if r.status_code not in (200, 409)]
    for loser in (r for r in responses if r.status_code == 409):
        assert loser.headers["content-type"].startswith("application/problem+json")
        assert loser.json()["detail"]
        # Overtaken after its read (stale-version), or read after the winner (the event is no
        # longer allowed), or queued behind it by the database (conflict).
        assert loser.json()["type"].removeprefix("https://accord.example/problems/") in (
            "stale-version", "transition-not-allowed", "conflict"), loser.text
    after, rows = await snapshot(world, agreement["id"])
    assert after["state"] == "under_review"
    assert after["version"] == agreement["version"] + 1
    reviews = [r for r in rows if r["event"] == "start_review"]
    assert len(reviews) == 1
    winner = next(r for r in responses if r.status_code == 200)
    assert reviews[0]["comment"] == next(
        f"attempt {i}" for i, r in enumerate(responses) if r is winner)


async def test_concurrent_patches_with_the_same_if_match(world: World) -> None:
    agreement = await world.draft()
    path = f"/agreements/{agreement['id']}"
    etag = (await world.call("metro_staff", "GET", path)).headers["etag"]
    responses = await together(world, [("metro_staff", "PATCH", path,
                                         {"json": {"summary": f"Version by writer {i}"},
                                          "headers": {"If-Match": etag}}) for i in range(N)])
    counts = statuses(responses)
    # Every loser's If-Match is false by the time it writes, whether it read the agreement before
    # the winner wrote (its compare-and-set fails) or after (the check fails): 412, never 409.
    assert counts == Counter({200: 1, 412: N - 1}), [r.text for r in responses]
    for loser in (r for r in responses if r.status_code == 412):
        assert loser.headers["content-type"].startswith("application/problem+json")
        assert f"If-Match {etag}" in loser.json()["detail"]
        assert loser.json()["type"] == "https://accord.example/problems/precondition-failed"
    after, rows = await snapshot(world, agreement["id"])
    winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
    assert after["summary"] == f"Version by writer {winner}"
    assert after["version"] == 2
    assert len(rows) == 2


async def test_concurrent_patches_with_if_match_any_lose_as_without_it(world: World) -> None:
    """`*` names no version, so it is true for every writer; a writer overtaken by another one
    between its read and its compare-and-set gets 409, as without If-Match."""
    agreement = await world.draft()
    path = f"/agreements/{agreement['id']}"
    responses = await together(world, [("metro_staff", "PATCH", path,
                                         {"json": {"summary": f"Version by writer {i}"},
                                          "headers": {"If-Match": "*"}}) for i in range(N)])
    counts = statuses(responses)
    assert counts[200] >= 1, counts
    assert counts[200] + counts[409] == N, [r.text for r in responses]
    after, rows = await snapshot(world, agreement["id"])
    assert after["version"] == 1 + counts[200]
    assert len(rows) == 1 + counts[200]


async def test_concurrent_signatures_by_every_party_and_their_repeats(world: World) -> None:
    """Both parties sign, each many times at once: never two signatures of one party."""
    agreement = await world.ready()
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/events",
                   json={"event": "submit_for_signature"})
    path = f"/agreements/{agreement['id']}/events"
    responses = await together(world, [(who, "POST", path, {"json": {"event": "sign"}})
                                       for _ in range(N // 2)
                                       for who in ("metro_staff", "aspac_staff")])
    counts = statuses(responses)
    # At most one signature per party; a loser of a race gets a conflict (on SQLite writers
    # queue, so both parties get through; on PostgreSQL the other party may lose the race).
    assert 1 <= counts[200] <= 2, counts
    assert counts[200] + counts[409] + counts[422] == N, [r.text for r in responses]
    after, rows = await snapshot(world, agreement["id"])
    signs = [r for r in rows if r["event"] == "sign"]
    assert len(signs) == counts[200]
    assert len({r["data"]["organisation_id"] for r in signs}) == len(signs)
    signed = [p for p in after["parties"] if p["signature"] is not None]
    assert len(signed) == counts[200]
    assert after["state"] == ("signed" if counts[200] == 2 else "pending_signature")


async def test_concurrent_mixed_writes_keep_history_whole(world: World) -> None:
    """Events, edits and areas racing on one agreement: every success is exactly one history row."""
    agreement = await world.ready()
    base = f"/agreements/{agreement['id']}"
    requests: list[tuple[str, str, str, dict[str, Any]]] = []
    for i in range(N):
        kind = i % 3
        if kind == 0:
            requests.append(("metro_staff", "POST", base + "/areas",
                             {"json": {"title": f"Area {i}"}}))
        elif kind == 1:
            requests.append(("aspac_staff", "PATCH", base, {"json": {"summary": f"S{i}"}}))
        else:
            requests.append(("metro_staff", "POST", base + "/events",
                             {"json": {"event": "submit_for_signature"}}))
    responses = await together(world, requests)
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses]
    succeeded = sum(1 for r in responses if r.status_code < 300)
    after, rows = await snapshot(world, agreement["id"])
    assert after["version"] == agreement["version"] + 4 + succeeded
    assert sum(1 for r in rows if r["event"] == "submit_for_signature") <= 1
    assert len(after["areas"]) == 1 + sum(
        1 for (_, _, path, _), r in zip(requests, responses, strict=True)
        if path.endswith("/areas") and r.status_code == 201)


async def test_readers_never_see_a_half_written_change(world: World) -> None:
    agreement = await active(world)
    path = f"{API}/agreements/{agreement['id']}"
    writes = [world.fire("metro_staff", agreement["id"], "suspend", reason=f"r{i}")
              for i in range(N // 2)]
    reads = [world.client.get(path, headers=world.aspac_partner.headers) for _ in range(N // 2)]
    responses = await asyncio.gather(*writes, *reads)
    for read in responses[N // 2:]:
        assert read.status_code == 200
        body = read.json()
        assert (body["state"], body["version"]) in {("active", agreement["version"]),
                                                    ("suspended", agreement["version"] + 1)}
        assert read.headers["etag"] == f'"{body["version"]}"'
    rows = await history(world, agreement["id"])
    assert sum(1 for r in rows if r["event"] == "suspend") == 1
