"""Statuses, roles and kinds are the engine's StrEnums (engine/statuses.py): the API documents
and accepts exactly their values, and stores and answers them as plain strings; and the code that
used to spell them as strings names them by their members."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from jinja2 import Environment

from engine import statuses
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


# --- names are values, not strings (docs/architecture.md, rule 8) ---------------------------------

ROOT = Path(__file__).resolve().parent.parent
# The modules and templates that once spelled statuses, roles and kinds as strings; engine/statuses.py,
# which defines them, is not among them.
SPELLED_NOWHERE = ("engine/importing", "engine/demo", "api/web/templates", "notifications/templates")
FAMILIES = [family for family in vars(statuses).values()
            if isinstance(family, type) and issubclass(family, statuses.Choice)
            and family not in (statuses.Choice, statuses.Word) and not issubclass(family, statuses.Word)]
MEMBERS: dict[str, list[str]] = {}
for _family in FAMILIES:
    for _member in _family:
        MEMBERS.setdefault(_member.value, []).append(f"{_family.__name__}.{_member.name}")


def _spelled(path: Path) -> Iterator[tuple[int, str]]:
    """(line, value) of each string literal in `path` that is the value of a family's member:
    a Python constant, or a literal inside a template's `{{ }}` or `{% %}` (not the HTML around them)."""
    source = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        for node in ast.walk(ast.parse(source, filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in MEMBERS:
                yield node.lineno, node.value
    else:
        for line, token, value in Environment().lex(source, str(path)):
            if token == "string" and value[1:-1] in MEMBERS:
                yield line, value[1:-1]


def test_no_status_role_or_kind_is_spelled_as_a_string() -> None:
    files = sorted(p for place in SPELLED_NOWHERE for p in (ROOT / place).rglob("*")
                   if p.suffix in (".py", ".html", ".txt"))
    assert {".py", ".html", ".txt"} <= {p.suffix for p in files}  # the places are where they were
    spelled = [f"{p.relative_to(ROOT)}:{line}: {value!r}, write {' or '.join(MEMBERS[value])}"
               for p in files for line, value in sorted(_spelled(p))]
    assert not spelled, "spelled as strings (engine/statuses.py has them):\n" + "\n".join(spelled)
