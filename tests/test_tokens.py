"""Tokens: listing without secrets, revocation that bites at once, one 401 for every bad token."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import API, World


async def issue(world: World, person: str, label: str | None = None) -> str:
    body = {"label": label} if label else None
    token: str = (await world.ok("admin", "POST", f"/people/{world.people[person].id}/tokens", json=body))["token"]
    return token


async def tokens_of(world: World, who: str, person: str) -> list[dict[str, Any]]:
    page = await world.ok(who, "GET", f"/people/{world.people[person].id}/tokens")
    items: list[dict[str, Any]] = page["items"]
    assert page["total"] == len(items)
    return items


async def test_admin_lists_a_persons_tokens_without_the_secrets(world: World) -> None:
    secret = await issue(world, "aspac_staff", label="laptop")
    listed = await tokens_of(world, "admin", "aspac_staff")
    assert [t["label"] for t in listed] == [None, "laptop"]  # the fixture's token, then the new one
    laptop = listed[1]
    assert set(laptop) == {"id", "person_id", "label", "created_at", "revoked_at", "issued_by_id"}
    assert laptop["person_id"] == world.aspac_staff.id
    assert laptop["issued_by_id"] == world.admin.id  # who saw it once
    assert laptop["created_at"].startswith("2026-11-23T09:00:00")
    assert laptop["revoked_at"] is None
    response = await world.call("admin", "GET", f"/people/{world.aspac_staff.id}/tokens")
    assert secret not in response.text
    assert world.aspac_staff.token not in response.text


async def test_a_person_lists_their_own_tokens_but_not_anyone_elses(world: World) -> None:
    own = await tokens_of(world, "metro_partner", "metro_partner")
    assert len(own) == 1
    refused = await world.call("metro_partner", "GET", f"/people/{world.metro_staff.id}/tokens")
    assert refused.status_code == 403
    assert "administrator" in refused.json()["detail"]
    missing = await world.call("admin", "GET", "/people/987654/tokens")
    assert missing.status_code == 404


async def test_admin_revokes_a_token_and_it_stops_working_at_once(world: World) -> None:
    secret = await issue(world, "aspac_staff", label="old phone")
    headers = {"Authorization": f"Bearer {secret}"}
    assert (await world.client.get(f"{API}/agreements", headers=headers)).status_code == 200
    token_id = (await tokens_of(world, "admin", "aspac_staff"))[1]["id"]

    revoked = await world.call("admin", "DELETE", f"/tokens/{token_id}")
    assert revoked.status_code == 204
    assert (await world.client.get(f"{API}/agreements", headers=headers)).status_code == 401
    # The person's other token still works, and the listing shows when the token was revoked.
    assert (await world.call("aspac_staff", "GET", "/agreements")).status_code == 200
    listed = await tokens_of(world, "admin", "aspac_staff")
    assert listed[1]["revoked_at"].startswith("2026-11-23T09:00:00")
    assert listed[0]["revoked_at"] is None
    again = await world.call("admin", "DELETE", f"/tokens/{token_id}")
    assert again.status_code == 204


async def test_a_person_revokes_their_own_token(world: World) -> None:
    spare = await issue(world, "amf_partner")
    own = await tokens_of(world, "amf_partner", "amf_partner")
    response = await world.client.delete(f"{API}/tokens/{own[1]['id']}",
                                         headers={"Authorization": f"Bearer {spare}"})
    assert response.status_code == 204
    assert (await world.client.get(f"{API}/agreements",
                                   headers={"Authorization": f"Bearer {spare}"})).status_code == 401
    assert (await world.call("amf_partner", "GET", "/agreements")).status_code == 200


async def test_nobody_revokes_a_token_of_someone_they_do_not_look_after(world: World) -> None:
    victim = (await tokens_of(world, "admin", "metro_signatory"))[0]["id"]
    for who in ("aspac_staff", "metro_partner", "amf_staff"):
        response = await world.call(who, "DELETE", f"/tokens/{victim}")
        assert response.status_code == 404  # the same answer as for a token that does not exist
        unknown = await world.call(who, "DELETE", "/tokens/99999")
        assert response.json()["detail"].replace(str(victim), "N") == unknown.json()["detail"].replace("99999", "N")
    assert (await world.call("metro_signatory", "GET", "/agreements")).status_code == 200
    # Staff of the person's own organisation may (tests/test_directory.py).
    assert (await world.call("metro_staff", "DELETE", f"/tokens/{victim}")).status_code == 204
    assert (await world.call("metro_signatory", "GET", "/agreements")).status_code == 401


@pytest.mark.parametrize("authorization", [
    None,                                   # no header
    "",                                     # empty
    "Bearer",                               # scheme only
    "Bearer ",                              # blank token
    "Basic YWRtaW46YWRtaW4=",               # another scheme
    "Bearer acc_not_a_token",               # unknown
    "Bearer " + "x" * 5000,                 # absurdly long
    "Bearer acc_test_admin extra words",    # malformed
    "Token acc_test_admin",                 # right token, wrong scheme
])
async def test_every_bad_token_gets_the_same_401(world: World, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await world.client.get(f"{API}/agreements", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    reference = await world.client.get(f"{API}/agreements", headers={"Authorization": "Bearer acc_nope"})
    assert response.json() == reference.json()
    assert response.json()["status"] == 401
    assert "bearer token" in response.json()["detail"]


async def test_a_revoked_token_gets_the_same_401_as_an_unknown_one(world: World) -> None:
    secret = await issue(world, "metro_staff")
    token_id = (await tokens_of(world, "admin", "metro_staff"))[1]["id"]
    await world.ok("admin", "DELETE", f"/tokens/{token_id}")
    revoked = await world.client.post(f"{API}/agreements", json={}, headers={"Authorization": f"Bearer {secret}"})
    unknown = await world.client.post(f"{API}/agreements", json={}, headers={"Authorization": "Bearer acc_nope"})
    assert revoked.status_code == unknown.status_code == 401
    assert revoked.json() == unknown.json()
    assert revoked.headers["content-type"] == unknown.headers["content-type"] == "application/problem+json"
