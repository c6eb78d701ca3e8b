"""The engine's own cost per transition, outside the database.

Measures what `engine.agreements.service.apply` does between reading the agreement's row and
writing the change: the snapshot made from the statement's row (JSON text, as SQLite returns it),
then the `Fire` action — policy, every guard, the machine step with its effects — returning a
`ChangeSet`. On a review cycle (start_review -> complete_review -> continue), on a two-party
signing, and a bare `transitions` trigger for comparison. Also checks that no Machine is built
while firing.

    .venv/bin/python bench/engine_transition.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import transitions

from engine.agreements import snapshot
from engine.agreements.actions import Fire
from engine.agreements.changes import ChangeSet, apply_changes
from engine.agreements.values import AgreementSnapshot
from engine.clock import FixedClock, When
from engine.context import Actor
from engine.schemas import EventInput
from engine.workflow.machine import catalog

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
WHEN = When.of(FixedClock(NOW), ZoneInfo("UTC"))
STAMP = NOW.isoformat()


def _row(state: str) -> dict[str, str]:
    """The statement's row for a two-party agreement with its people and one area, as SQLite gives it."""
    organisations = [{"id": i, "name": f"Org {i}", "short_name": None, "kind": "network", "city": None,
                      "country": None, "timezone": "UTC", "created_at": STAMP} for i in (1, 2)]
    agreement = {"id": 1, "title": "Bench", "summary": None, "background": None,
                 "workflow_name": "collaboration_agreement", "workflow_version": 1, "state": state, "version": 1,
                 "effective_from": "2019-04-06", "ends_on": None, "term_starts_on": None, "review_every_months": 12,
                 "next_review_on": "2026-11-01", "notice_period_days": None, "signing_place": None,
                 "signed_on": None, "submitted_on": "2026-11-20", "review_outcome": None, "review_summary": None,
                 "predecessor_id": None, "created_by_id": None, "created_at": STAMP, "updated_at": STAMP}
    parties = [{"id": i, "agreement_id": 1, "organisation_id": i, "role": "party",
                "organisation": organisations[i - 1]} for i in (1, 2)]
    contacts = [{"id": 10 * i + k, "agreement_id": 1, "party_id": i, "person_id": 10 * i + k, "kind": kind,
                 "capacity": None, "person": {
                     "id": 10 * i + k, "organisation_id": i, "name": "P", "email": f"{i}{k}@x.example",
                     "role": "staff", "job_title": None, "timezone": None, "active": 1, "created_at": STAMP,
                     "organisation": organisations[i - 1]}}
                for i in (1, 2) for k, kind in enumerate(("focal_point", "signatory"))]
    areas = [{"id": 1, "agreement_id": 1, "title": "Area", "description": None, "position": 0}]
    return {"agreement": json.dumps(agreement), "parties": json.dumps(parties), "contacts": json.dumps(contacts),
            "signatures": "[]", "areas": json.dumps(areas), "deliverables": "[]"}


def _decide(agreement: AgreementSnapshot, event: str, actor: Actor, data: EventInput) -> ChangeSet:
    """What apply() does in memory for an event: policy, guards, machine step with effects."""
    workflow = catalog().get(agreement.workflow_name, agreement.workflow_version)
    coroutine = Fire(event, data).decide(None, agreement, actor, WHEN, workflow)  # type: ignore[arg-type]
    try:
        coroutine.send(None)  # it awaits nothing: run it to its end without an event loop
    except StopIteration as done:
        change: ChangeSet = done.value
        return change
    raise RuntimeError("Fire.decide awaited something")


def _after(agreement: AgreementSnapshot, change: ChangeSet) -> AgreementSnapshot:
    return apply_changes(agreement, {f.name: f.new for f in change.fields}, change.parts)


def bench_review_cycle(rounds: int) -> list[float]:
    agreement = snapshot.from_row(_row("active"))
    actor = Actor(label="bench", role="admin", person_id=1, organisation_id=1)
    cycle = [("start_review", EventInput()),
             ("complete_review", EventInput(outcome="continue", summary="On track.")),
             ("continue", EventInput())]
    samples = []
    for _ in range(rounds):
        elapsed = 0
        current = agreement
        for event, data in cycle:
            start = time.perf_counter_ns()
            change = _decide(current, event, actor, data)
            elapsed += time.perf_counter_ns() - start
            current = _after(current, change)
        assert current.state == "active"
        samples.append(elapsed / len(cycle) / 1000)
    return samples


def bench_signing(rounds: int) -> list[float]:
    pending = snapshot.from_row(_row("pending_signature"))
    samples = []
    for _ in range(rounds):
        current = pending
        elapsed = 0
        for org in (1, 2):
            actor = Actor(label="bench", role="staff", person_id=org * 10, organisation_id=org)
            start = time.perf_counter_ns()
            change = _decide(current, "sign", actor, EventInput(place="Montevideo"))
            elapsed += time.perf_counter_ns() - start
            current = _after(current, change)
        samples.append(elapsed / 2 / 1000)
        assert current.state == "signed"
    return samples


def bench_snapshot(rounds: int) -> list[float]:
    rows = [_row("active") for _ in range(rounds)]  # from_row consumes the parsed JSON: one row each
    samples = []
    for row in rows:
        start = time.perf_counter_ns()
        snapshot.from_row(row)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def bench_suspend_with_snapshot(rounds: int) -> list[float]:
    rows = [_row("active") for _ in range(rounds)]
    actor = Actor(label="bench", role="admin", person_id=1, organisation_id=1)
    data = EventInput(reason="Paused.")
    samples = []
    for row in rows:
        start = time.perf_counter_ns()
        _decide(snapshot.from_row(row), "suspend", actor, data)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def bench_bare_transitions(rounds: int) -> list[float]:
    class Model:
        pass

    model = Model()
    machine = transitions.Machine(model=model, states=["active", "under_review", "reviewed"], initial="active",
                                  auto_transitions=False, transitions=[
                                      ["start_review", "active", "under_review"],
                                      ["complete_review", "under_review", "reviewed"],
                                      ["continue_", "reviewed", "active"]])
    assert machine
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        model.trigger("start_review")  # type: ignore[attr-defined]
        model.trigger("complete_review")  # type: ignore[attr-defined]
        model.trigger("continue_")  # type: ignore[attr-defined]
        samples.append((time.perf_counter_ns() - start) / 3 / 1000)
    return samples


def _report(name: str, samples: list[float]) -> float:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(f"{name:<56} p50 {p50:7.2f} µs   p99 {p99:7.2f} µs   mean {statistics.fmean(ordered):7.2f} µs")
    return p50


def _counting_machines(run: Callable[[], Any]) -> tuple[Any, int]:
    built = 0
    original_init = transitions.Machine.__init__

    def counting_init(self: transitions.Machine, *args: object, **kwargs: object) -> None:
        nonlocal built
        built += 1
        original_init(self, *args, **kwargs)

    transitions.Machine.__init__ = counting_init  # type: ignore[method-assign]
    try:
        return run(), built
    finally:
        transitions.Machine.__init__ = original_init  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20_000)
    rounds = parser.parse_args().rounds
    catalog()  # built once, as the app does at start-up

    (review, signing), built = _counting_machines(lambda: (bench_review_cycle(rounds), bench_signing(rounds // 4)))
    made = bench_snapshot(rounds // 4)
    suspend = bench_suspend_with_snapshot(rounds // 4)
    bare = bench_bare_transitions(rounds)

    print(f"engine transition cost outside the database ({rounds} rounds)")
    p50 = _report("engine: review cycle, snapshot -> change set (per event)", review)
    _report("engine: two-party signing (per signature)", signing)
    _report("snapshot from the statement's row (2 parties, 4 people)", made)
    _report("snapshot from the row + suspend -> change set", suspend)
    _report("bare transitions trigger (per transition)", bare)
    print(f"machines built while firing: {built}")
    print(f"engine/bare ratio (p50): {p50 / statistics.median(bare):.1f}x; target <= 30 µs p50")


if __name__ == "__main__":
    main()
