"""Engine-level behaviour: machines are built once and reused, never on the request path."""

from __future__ import annotations

from typing import Any

import pytest
import transitions

from engine.workflow.machine import catalog
from tests.checks import fire_ok, reviewed, snapshot
from tests.support import World


def test_catalog_is_built_once() -> None:
    first = catalog()
    assert catalog() is first
    for key, workflow in first.workflows.items():
        again = catalog().get(*key)
        assert again is workflow
        assert again.machine is workflow.machine
    assert set(first.workflows) == {("collaboration_agreement", 1), ("collaboration_agreement", 2),
                                    ("city_to_city", 1)}
    assert first.latest("collaboration_agreement").spec.version == 2


def test_a_machine_serves_many_agreements_without_models() -> None:
    machine = catalog().get("collaboration_agreement", 1).machine
    assert machine.models == []  # no agreement is ever attached to the shared machine


async def test_firing_events_builds_no_machine(world: World,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    machines = {key: id(w.machine) for key, w in catalog().workflows.items()}
    built: list[str] = []
    original = transitions.Machine.__init__

    def counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(kwargs.get("name", "?"))
        original(self, *args, **kwargs)

    # Counting the third-party class's constructor is the only stand-in here.
    monkeypatch.setattr(transitions.Machine, "__init__", counting_init)

    agreement = await reviewed(world, "renew")
    await fire_ok(world, "metro_staff", agreement["id"], "renew", ends_on="2032-12-31")
    await fire_ok(world, "metro_staff", agreement["id"], "activate")
    c2c = await world.draft(workflow="city_to_city")
    await fire_ok(world, "metro_staff", c2c["id"], "cancel")
    await world.ok("metro_partner", "GET", f"/agreements/{agreement['id']}")
    final, _ = await snapshot(world, agreement["id"])
    assert final["state"] == "active"

    assert built == []
    assert {key: id(w.machine) for key, w in catalog().workflows.items()} == machines
    # The counter does see a construction when there is one.
    transitions.Machine(states=["a"], initial="a", name="probe")
    assert built == ["probe"]


async def test_an_agreement_keeps_its_workflow_version(world: World) -> None:
    agreement = await world.draft()
    assert agreement["workflow"] == {"name": "collaboration_agreement", "version": 1}
    listed = await world.ok("metro_staff", "GET", "/agreements",
                            params={"workflow": "collaboration_agreement"})
    assert listed["items"][0]["workflow"] == {"name": "collaboration_agreement", "version": 1}
    none = await world.ok("metro_staff", "GET", "/agreements", params={"workflow": "city_to_city"})
    assert none["total"] == 0


async def test_workflow_read_matches_the_lifecycle_table(world: World) -> None:
    body = await world.ok("amf_partner", "GET", "/workflows/collaboration_agreement")
    states = {s["name"]: s for s in body["states"]}
    assert states["draft"]["events"] == ["submit_for_signature", "cancel"]
    assert states["pending_signature"]["events"] == ["sign", "withdraw", "cancel"]
    assert states["active"]["events"] == ["start_review", "suspend", "terminate", "expire", "supersede"]
    assert states["reviewed"]["events"] == ["continue", "renew", "terminate", "expire", "supersede"]
    assert [n for n, s in states.items() if s["final"]] == ["terminated", "expired", "superseded", "cancelled"]
    assert all(states[n]["events"] == [] for n in ("terminated", "expired", "superseded", "cancelled"))
    # What the engine knows of a state, the workflow file says (README, "The lifecycle").
    assert [n for n, s in states.items() if not s["signed"]] == ["draft", "pending_signature", "cancelled"]
    assert [n for n, s in states.items() if s["term_restarts"]] == ["renewed"]
    events = {e["name"]: e for e in body["events"]}
    assert events["submit_for_signature"]["guards"] == [
        "two_or_more_parties", "parties_named_focal_points_and_signatories",
        "has_collaboration_area", "effective_from_set"]
    # How the pages offer an event, the workflow file says too.
    assert [n for n, e in events.items() if e["confirm"]] == ["withdraw", "suspend", "terminate", "expire", "cancel",
                                                              "supersede"]
    assert events["supersede"]["actors"] == ["scheduler"]  # Accord fires it when the successor is signed
    assert [n for n, e in events.items() if e["scheduled"]] == ["activate", "expire"]
    assert "stateDiagram" in body["diagram"]
