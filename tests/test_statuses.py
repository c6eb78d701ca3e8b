"""Statuses, roles and kinds are the engine's StrEnums (engine/statuses.py): the API documents
and accepts exactly their values, and stores and answers them as plain strings."""

from __future__ import annotations

from typing import Any

import httpx

from engine.statuses import ContactKind, DeliverableStatus, DeliveryStatus, PartyRole, Role
from tests.support import World


def _enum(schema: dict[str, Any], model: str, field: str) -> list[str]:
    found = schema["components"]["schemas"][model]["properties"][field]
    options = found.get("anyOf", [found])
    return next(option["enum"] for option in options if "enum" in option)


def _query_enum(schema: dict[str, Any], path: str, name: str) -> list[str]:
    parameter = next(p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name)
    return next(option["enum"] for option in parameter["schema"]["anyOf"] if "enum" in option)


async def test_the_openapi_lists_each_family_as_it_is(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert _enum(schema, "DeliverableCreate", "status") == list(DeliverableStatus)
    assert _enum(schema, "DeliverableUpdate", "status") == list(DeliverableStatus)
    assert set(_enum(schema, "PersonCreate", "role")) == Role.PEOPLE
    assert _enum(schema, "PartyInput", "role") == list(PartyRole)
    assert _enum(schema, "ContactCreate", "kind") == list(ContactKind)
    assert _query_enum(schema, "/api/v1/notifications", "status") == list(DeliveryStatus)
    assert _query_enum(schema, "/api/v1/webhooks/{webhook_id}/deliveries", "status") == list(DeliveryStatus)


async def test_a_refused_status_quotes_the_values_and_a_stored_one_reads_as_a_string(world: World) -> None:
    agreement = await world.draft()
    area = agreement["areas"][0]["id"]
    path = f"/agreements/{agreement['id']}/areas/{area}/deliverables"
    refused = await world.call("metro_staff", "POST", path, json={"title": "A report", "status": "overdue"})
    assert refused.status_code == 422
    # Quoted as the strings a client sends, not as Python's picture of an enum member.
    assert "'planned', 'in_progress', 'done' or 'cancelled'" in refused.json()["detail"]
    assert "DeliverableStatus" not in refused.json()["detail"]
    made = await world.ok("metro_staff", "POST", path, json={"title": "A report", "status": "in_progress"})
    assert made["status"] == "in_progress"
    history = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}/history")
    assert [h["kind"] for h in history["items"]][-1] == "edited"
