"""OpenAPI links: what a created resource's id leads to; and its address, the `Location` of a 201.

A `201` answer of `POST /api/v1/agreements` carries the new agreement's `id`; the links say that
this id is the `agreement_id` of `GET /api/v1/agreements/{agreement_id}`, of its events, parties,
areas and so on. Clients and generators (Swagger UI, schemathesis's stateful phase) follow them
to chain calls. Each link is derived from the paths themselves: a creating operation names the
path parameter its id fills, and every operation whose path takes that parameter is linked.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI

# The operation that creates a resource -> the path parameter its answer's `id` fills.
CREATES: dict[tuple[str, str], str] = {
    ("post", "/api/v1/organisations"): "organisation_id",
    ("post", "/api/v1/people"): "person_id",
    ("post", "/api/v1/people/{person_id}/tokens"): "token_id",
    ("post", "/api/v1/agreements"): "agreement_id",
    ("post", "/api/v1/agreements/{agreement_id}/copies"): "agreement_id",
    ("post", "/api/v1/agreements/{agreement_id}/focal-points"): "contact_id",
    ("post", "/api/v1/agreements/{agreement_id}/areas"): "area_id",
    ("post", "/api/v1/agreements/{agreement_id}/areas/{area_id}/deliverables"): "deliverable_id",
    ("post", "/api/v1/agreements/{agreement_id}/documents"): "document_id",
    ("post", "/api/v1/webhooks"): "webhook_id",
    ("post", "/api/v1/feeds"): "feed_id",
}

# Every 201 answer names what it made in `Location`: its address under /api/v1, where its reads,
# edits and removal go (`/api/v1/areas/7`, `/api/v1/agreements/3/parties/5`, `/api/v1/tokens/9`).
LOCATION: dict[str, Any] = {"Location": {
    "description": "the address of what was made, e.g. `/api/v1/areas/7`: where its reads, edits and "
                   "removal go", "schema": {"type": "string"}}}


def created(headers: dict[str, Any] | None = None) -> dict[int | str, dict[str, Any]]:
    """The documented 201 answer: `Location`, and any other `headers` it carries."""
    return {201: {"description": "created", "headers": {**LOCATION, **(headers or {})}}}


_PARAMETER = re.compile(r"\{([a-z_]+)\}")


def _link_name(method: str, path: str) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", path.removeprefix("/api/v1/")) if w]
    return method.capitalize() + "".join(word.capitalize() for word in words)


def links_in(schema: dict[str, Any]) -> None:
    """Add to each creating operation's 201 answer a link to every operation taking its id."""
    paths: dict[str, dict[str, Any]] = schema.get("paths", {})
    for (method, path), parameter in CREATES.items():
        created = paths.get(path, {}).get(method, {}).get("responses", {}).get("201")
        if created is None:
            continue
        given = set(_PARAMETER.findall(path))  # known when the creating call was made
        links = created.setdefault("links", {})
        for target_path, operations in paths.items():
            taken = set(_PARAMETER.findall(target_path))
            if parameter not in taken or not taken <= given | {parameter}:
                continue
            for target_method, operation in operations.items():
                if "operationId" not in operation:
                    continue
                values = {name: f"$request.path.{name}" for name in taken - {parameter}}
                values[parameter] = "$response.body#/id"
                links[_link_name(target_method, target_path)] = {
                    "operationId": operation["operationId"], "parameters": values}


def install(app: FastAPI) -> None:
    """Serve the OpenAPI document with the links (computed once, with whatever else wraps it)."""
    generate = app.openapi
    linked: list[bool] = []

    def openapi() -> dict[str, Any]:
        schema = generate()
        if not linked:
            links_in(schema)
            linked.append(True)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
