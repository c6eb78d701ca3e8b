"""The engine's own cost per transition, outside the database.

Measures what `engine.events.fire` does between loading the agreement and writing it:
building the event context, evaluating every guard, and the machine step with its
effects — on a review cycle (start_review -> complete_review -> continue), the
signing of a two-party agreement, and a bare `transitions` trigger for comparison.
Also checks that no Machine is built while firing.

    .venv/bin/python bench/engine_transition.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, date, datetime

import transitions

from engine.context import Actor, EventContext
from engine.machine import catalog
from engine.models import Agreement, CollaborationArea, Contact, Organisation, Party, Person
from engine.schemas import EventInput

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


def _agreement(state: str) -> Agreement:
    agreement = Agreement(id=1, title="Bench", workflow_name="collaboration_agreement", workflow_version=1,
                          state=state, version=1, effective_from=date(2019, 4, 6), review_every_months=12,
                          next_review_on=date(2026, 11, 1), created_at=NOW, updated_at=NOW)
    orgs = [Organisation(id=i, name=f"Org {i}", created_at=NOW) for i in (1, 2)]
    agreement.parties = [Party(id=i, agreement_id=1, organisation_id=i, role="party", organisation=orgs[i - 1])
                         for i in (1, 2)]
    agreement.contacts = [
        Contact(id=10 * i + k, agreement_id=1, party_id=i, person_id=10 * i + k, kind=kind,
                person=Person(id=10 * i + k, organisation_id=i, name="P", email=f"{i}{k}@x.example",
                              role="staff", created_at=NOW))
        for i in (1, 2) for k, kind in enumerate(("focal_point", "signatory"))
    ]
    agreement.areas = [CollaborationArea(id=1, agreement_id=1, title="Area")]
    agreement.signatures = []
    agreement.deliverables = []
    return agreement


def _engine_step(agreement: Agreement, event: str, actor: Actor, data: EventInput) -> None:
    """What fire() does in memory: context, authority, every guard, machine step with effects."""
    workflow = catalog().get("collaboration_agreement", 1)
    if event not in workflow.allowed_events(agreement.state) or not workflow.may_fire(actor, event):
        raise RuntimeError(f"{event} not allowed in {agreement.state}")
    ctx = EventContext(agreement=agreement, event=event, actor=actor, data=data, today=TODAY, now=NOW)
    refused = workflow.refusal(ctx)
    if refused:
        raise RuntimeError(refused)
    unmet = workflow.unmet(ctx)
    if unmet:
        raise RuntimeError(unmet)
    new_state = workflow.step(agreement.state, ctx)
    assert new_state is not None
    agreement.state = new_state


class _PlainAgreement:
    """The fields the review cycle touches, on a plain object: the engine without ORM instrumentation."""

    def __init__(self) -> None:
        self.id, self.state, self.version = 1, "active", 1
        self.review_every_months, self.next_review_on = 12, date(2026, 11, 1)
        self.review_outcome: str | None = None
        self.review_summary: str | None = None
        self.parties: list[Party] = []


def bench_review_cycle(rounds: int, *, plain: bool = False) -> list[float]:
    agreement: Agreement = _PlainAgreement() if plain else _agreement("active")  # type: ignore[assignment]
    actor = Actor(label="bench", role="admin", person_id=1, organisation_id=1)
    cycle = [("start_review", EventInput()),
             ("complete_review", EventInput(outcome="continue", summary="On track.")),
             ("continue", EventInput())]
    samples = []
    for _ in range(rounds):
        agreement.next_review_on = date(2026, 11, 1)  # each cycle schedules a year later
        start = time.perf_counter_ns()
        for event, data in cycle:
            _engine_step(agreement, event, actor, data)
        samples.append((time.perf_counter_ns() - start) / len(cycle) / 1000)
    return samples


def bench_signing(rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        agreement = _agreement("pending_signature")
        start = time.perf_counter_ns()
        for org in (1, 2):
            actor = Actor(label="bench", role="staff", person_id=org * 10, organisation_id=org)
            _engine_step(agreement, "sign", actor, EventInput(place="Montevideo"))
        samples.append((time.perf_counter_ns() - start) / 2 / 1000)
        assert agreement.state == "signed"
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


def _report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(f"{name:<44} p50 {p50:7.2f} µs   p99 {p99:7.2f} µs   mean {statistics.fmean(ordered):7.2f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20_000)
    rounds = parser.parse_args().rounds
    catalog()  # built once, as the app does at start-up

    built = 0
    original_init = transitions.Machine.__init__

    def counting_init(self: transitions.Machine, *args: object, **kwargs: object) -> None:
        nonlocal built
        built += 1
        original_init(self, *args, **kwargs)

    transitions.Machine.__init__ = counting_init  # type: ignore[method-assign]
    review = bench_review_cycle(rounds)
    review_plain = bench_review_cycle(rounds, plain=True)
    signing = bench_signing(rounds // 4)
    transitions.Machine.__init__ = original_init  # type: ignore[method-assign]
    bare = bench_bare_transitions(rounds)

    print(f"engine transition cost outside the database ({rounds} rounds)")
    _report("engine: review cycle (per transition)", review)
    _report("engine: review cycle, plain object (no ORM)", review_plain)
    _report("engine: two-party signing, incl. Signature row", signing)
    _report("bare transitions trigger (per transition)", bare)
    print(f"machines built while firing: {built}")
    print(f"engine/bare ratio (p50): {statistics.median(review) / statistics.median(bare):.1f}x; target <= 30 µs")


if __name__ == "__main__":
    main()
