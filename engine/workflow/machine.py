"""Workflows compiled into `transitions` machines, once per workflow version.

`catalog()` loads every file in `workflows/`, validates it against the rules
registry and builds one `Machine` per (name, version). A machine has no models
of its own: `CompiledWorkflow.step` triggers the event on a throwaway cursor
that carries the agreement's current state, so one machine serves every
agreement and nothing is built on the request path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from transitions import EventData, Machine

from engine.agreements.values import AgreementSnapshot
from engine.errors import NotFound
from engine.i18n import gettext
from engine.workflow import rules
from engine.workflow.event import EventContext
from workflows.definition import EventSpec, Labels, WorkflowSpec
from workflows.loader import WORKFLOW_DIR, load_workflows


class _Cursor:
    """The one attribute a machine reads and writes: the state."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def _context(event_data: EventData) -> EventContext:
    ctx = event_data.kwargs["ctx"]
    assert isinstance(ctx, EventContext)
    return ctx


def _effect_callback(apply: rules.EffectFn) -> Callable[[EventData], None]:
    return lambda event_data: apply(_context(event_data))


def _condition_callback(check: rules.ConditionFn) -> Callable[[EventData], bool]:
    return lambda event_data: check(_context(event_data))


def _note_destination(event_data: EventData) -> None:
    assert event_data.transition is not None
    _context(event_data).dest = event_data.transition.dest


@dataclass
class CompiledWorkflow:
    spec: WorkflowSpec
    machine: Machine
    events_by_state: dict[str, tuple[str, ...]]
    fields_by_event: dict[str, tuple[str, ...]]
    _diagram: str | None = field(default=None, repr=False)

    @classmethod
    def build(cls, spec: WorkflowSpec) -> CompiledWorkflow:
        transitions: list[dict[str, Any]] = []
        for transition in spec.transitions:
            event = spec.events[transition.event]
            transitions.append({
                "trigger": transition.event,
                "source": list(transition.source),
                "dest": transition.dest,
                "conditions": [_condition_callback(rules.CONDITIONS[transition.when])]
                if transition.when else [],
                "before": [_effect_callback(rules.EFFECTS[name].apply) for name in event.effects],
            })
        machine = Machine(
            model=[], states=list(spec.states), initial=spec.initial, transitions=transitions,
            auto_transitions=False, send_event=True, before_state_change=[_note_destination],
            name=f"{spec.name}.v{spec.version}",
        )
        events_by_state = {
            state: tuple(e for e in spec.events if e in machine.get_triggers(state))
            for state in spec.states
        }
        fields_by_event: dict[str, tuple[str, ...]] = {}
        for name, event in spec.events.items():
            fields = ["comment"]
            reads = [rules.guard_for(g).reads for g in event.guards] + [rules.EFFECTS[e].reads for e in event.effects]
            for names in reads:
                fields += [f for f in names if f not in fields]
            fields_by_event[name] = tuple(fields)
        return cls(spec=spec, machine=machine, events_by_state=events_by_state,
                   fields_by_event=fields_by_event)

    @property
    def key(self) -> tuple[str, int]:
        return (self.spec.name, self.spec.version)

    def event(self, name: str) -> EventSpec | None:
        return self.spec.events.get(name)

    def allowed_events(self, state: str) -> tuple[str, ...]:
        return self.events_by_state.get(state, ())

    def is_final(self, state: str) -> bool:
        return self.spec.states[state].final

    def is_editable(self, state: str) -> bool:
        return self.spec.states[state].editable

    def is_amendable(self, state: str) -> bool:
        """Whether an amendment may be proposed and merged in `state` (the workflow flags it `amendable`)."""
        return self.spec.states[state].amendable

    def is_signed(self, state: str | None) -> bool:
        """Whether the agreement is signed in `state` (the workflow flags such states `signed`)."""
        spec = self.spec.states.get(state) if state is not None else None
        return spec is not None and spec.signed

    def signs(self, from_state: str | None, to_state: str | None) -> bool:
        """Whether moving from `from_state` to `to_state` is the signing: unsigned, then signed."""
        return self.is_signed(to_state) and not self.is_signed(from_state)

    def destination(self, state: str, event: str) -> str | None:
        """The state `event` leads to from `state`: its branch without a condition, else its first
        branch; None if it does not leave `state`."""
        branches = [t for t in self.spec.transitions if t.event == event and state in t.source]
        plain = [t for t in branches if t.when is None]
        return (plain or branches)[0].dest if branches else None

    def consequences(self, event: str, agreement: AgreementSnapshot) -> list[str]:
        """What `event`'s effects would do to `agreement`, in sentences (their `consequence=`)."""
        sentences = []
        for name in self.spec.events[event].effects:
            say = rules.EFFECTS[name].consequence
            sentence = say(agreement) if say is not None else None
            if sentence:
                sentences.append(sentence)
        return sentences

    def fields(self, event: str) -> tuple[str, ...]:
        """The fields `event` takes: `comment` and what its guards and effects read."""
        return self.fields_by_event[event]

    def refusal(self, ctx: EventContext) -> str | None:
        """Why `ctx.actor` may not fire `ctx.event` for the party it acts for, or None."""
        for name in self.spec.events[ctx.event].effects:
            check = rules.EFFECTS[name].authority
            refused = check(ctx) if check is not None else None
            if refused:
                return refused
        return None

    def unmet(self, ctx: EventContext, *, with_input: bool = True) -> list[str]:
        """Every unmet guard of `ctx.event`, as sentences; input-dependent guards only if asked."""
        event = self.spec.events[ctx.event]
        sentences: list[str] = []
        for entry in event.guards:
            guard = rules.guard_for(entry)
            if guard.needs_input and not with_input:
                continue
            sentence = guard.check(ctx)
            if sentence and sentence not in sentences:
                sentences.append(sentence)
        return sentences

    def step(self, state: str, ctx: EventContext) -> str | None:
        """Run the event's transition from `state`: effects, then the new state; None if no branch fits."""
        cursor = _Cursor(state)
        ctx.leaving = self.spec.states[state]
        fired = self.machine.events[ctx.event].trigger(cursor, ctx=ctx)
        return cursor.state if fired else None

    def mermaid(self, highlight: str | None = None) -> str:
        """The workflow as a Mermaid state diagram, `highlight` marked as the current state."""
        if self._diagram is None:
            self._diagram = _mermaid(self.spec)
        if highlight is None or highlight not in self.spec.states:
            return self._diagram
        # transitions styles the state it stands in as s_active; mark the agreement's state so.
        return self._diagram.replace(f"Class {highlight} s_default", f"Class {highlight} s_active")


def _mermaid(spec: WorkflowSpec) -> str:
    from transitions.extensions import GraphMachine

    graph_machine = GraphMachine(
        states=list(spec.states), initial=spec.initial, auto_transitions=False,
        transitions=[
            {"trigger": t.event, "source": list(t.source), "dest": t.dest} for t in spec.transitions
        ],
        graph_engine="mermaid", title=spec.title, show_conditions=False,
    )
    text: str = graph_machine.get_graph().draw(None)
    # The diagram machine stands in its initial state; a plain diagram highlights nothing.
    lines = [line.replace("s_active", "s_default") if line.strip().startswith("Class ") else line
             for line in text.rstrip("\n").splitlines()]
    lines += [f"  {name} --> [*]" for name, state in spec.states.items() if state.final]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Catalog:
    workflows: dict[tuple[str, int], CompiledWorkflow]

    def get(self, name: str, version: int) -> CompiledWorkflow:
        try:
            return self.workflows[(name, version)]
        except KeyError:
            raise NotFound(gettext("There is no workflow “%(workflow)s” version %(version)s.") % {
                "workflow": name, "version": version}) from None

    def latest(self, name: str) -> CompiledWorkflow:
        versions = [w for (n, _), w in self.workflows.items() if n == name]
        if not versions:
            known = ", ".join(sorted(self.names()))
            raise NotFound(gettext("There is no workflow “%(workflow)s”. Known workflows: %(known)s.") % {
                "workflow": name, "known": known})
        return max(versions, key=lambda w: w.spec.version)

    def names(self) -> set[str]:
        return {name for name, _ in self.workflows}

    def words(self, english: str, language: str) -> str:
        """A workflow file's English words (a state's or an event's label, a workflow's title) in
        `language`, as the files themselves write them (`labels`, `titles`): for the pages, whose
        context carries the English label as far as the template (`label()`). Words no file has
        (already translated, or an amendment's) are returned as they are."""
        found = self._words.get(english)
        return found.of(language) if found else english

    @cached_property
    def _words(self) -> dict[str, Labels]:
        words: dict[str, Labels] = {}
        for workflow in self.workflows.values():
            spec = workflow.spec
            for labels in (spec.titles, *(s.labels for s in spec.states.values()),
                           *(e.labels for e in spec.events.values())):
                words[labels.en] = labels
        return words


@cache
def catalog() -> Catalog:
    specs = load_workflows(WORKFLOW_DIR, rules.vocabulary())
    return Catalog({key: CompiledWorkflow.build(spec) for key, spec in specs.items()})
