"""Load and validate workflow files.

`load_workflows(directory, registry)` reads every `*.yaml` file, checks its shape
(`WorkflowSpec`) and its meaning — unknown states, events, guards, effects,
conditions or dates; unreachable states; states with no path to a final state;
state flags that contradict each other or the transitions (a signed initial state,
a transition from a signed state to an unsigned one, `term_restarts` on an unsigned
or final state); event flags that do not fit (an event into a final state that does
not `confirm`, a `scheduled` event no timer fires; a state or event not named in each of
en, fr and es) — and raises `WorkflowError` naming the file and every problem found.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from workflows.definition import DocumentGuard, EventActor, Labels, WorkflowSpec

WORKFLOW_DIR = Path(__file__).parent


class WorkflowError(ValueError):
    """A workflow file that cannot be used; the message names the file and each problem."""

    def __init__(self, path: Path, problems: Iterable[str]) -> None:
        self.path = path
        self.problems = list(problems)
        listed = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{path.name}: invalid workflow\n{listed}")


@dataclass(frozen=True)
class Vocabulary:
    """The names a workflow file may use, as the engine registers them."""

    guards: frozenset[str] = field(default_factory=frozenset)
    effects: frozenset[str] = field(default_factory=frozenset)
    conditions: frozenset[str] = field(default_factory=frozenset)
    dates: frozenset[str] = field(default_factory=frozenset)
    deliverable_dates: frozenset[str] = field(default_factory=frozenset)
    recipients: frozenset[str] = field(default_factory=frozenset)
    # The kinds of document a `{document: <kind>}` guard may require.
    documents: frozenset[str] = field(default_factory=frozenset)


def load_workflow(path: Path, vocabulary: Vocabulary) -> WorkflowSpec:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise WorkflowError(path, [f"not valid YAML: {error}"]) from error
    traps = list(_boolean_keys(raw))
    if traps:
        raise WorkflowError(path, traps)
    try:
        spec = WorkflowSpec.model_validate(raw)
    except ValidationError as error:
        raise WorkflowError(path, [_described(problem) for problem in error.errors()]) from error
    problems = list(_problems(spec, vocabulary))
    expected_stem = f"{spec.name}.v{spec.version}"
    if path.suffix == ".yaml" and path.stem != expected_stem:
        problems.append(f"file name should be {expected_stem}.yaml for workflow {spec.name!r} "
                        f"version {spec.version}")
    if problems:
        raise WorkflowError(path, problems)
    return spec


def load_workflows(directory: Path, vocabulary: Vocabulary) -> dict[tuple[str, int], WorkflowSpec]:
    specs: dict[tuple[str, int], WorkflowSpec] = {}
    # The pages find a label's other languages by its English (engine/workflow/machine.py,
    # `Catalog.words`): one English word is translated alike in every file.
    words: dict[str, Labels] = {}
    for path in sorted(directory.glob("*.yaml")):
        spec = load_workflow(path, vocabulary)
        key = (spec.name, spec.version)
        if key in specs:
            raise WorkflowError(path, [f"workflow {spec.name!r} version {spec.version} is defined twice"])
        specs[key] = spec
        for labels in (spec.titles, *(state.labels for state in spec.states.values()),
                       *(event.labels for event in spec.events.values())):
            known = words.setdefault(labels.en, labels)
            if known != labels:
                raise WorkflowError(path, [
                    f"{labels.en!r} is translated {labels.model_dump()} here but {known.model_dump()} "
                    "elsewhere (another state, event or workflow file): translate it alike"])
    return specs


_LANGUAGE_NAMES = {"en": "English", "fr": "French", "es": "Spanish"}


def _described(problem: ErrorDetails) -> str:
    """A pydantic problem as the loader reports it: where, then what; a missing label says which
    state or event lacks which language (`states.draft.labels.fr: state 'draft' has no French label ...`)."""
    loc = problem["loc"]
    where = ".".join(str(part) for part in loc) or "(top)"
    if problem["type"] == "missing" and loc[-2:-1] in (("labels",), ("titles",)) and loc[-1] in _LANGUAGE_NAMES:
        owner = f"{'state' if loc[0] == 'states' else 'event'} {loc[1]!r}" if len(loc) == 4 else "the workflow"
        return (f"{where}: {owner} has no {_LANGUAGE_NAMES[str(loc[-1])]} label: give it "
                "labels: {en: ..., fr: ..., es: ...} (every state and event is named in each language)")
    if problem["type"] == "extra_forbidden" and loc == ("description",):
        return ("description: a workflow describes itself in each language: write descriptions: {en: ..., "
                "fr: ..., es: ...} instead")
    if problem["type"] == "missing" and loc[:1] == ("descriptions",) and loc[-1] in _LANGUAGE_NAMES:
        return (f"{where}: the workflow has no {_LANGUAGE_NAMES[str(loc[-1])]} description: give it "
                "descriptions: {en: ..., fr: ..., es: ...} (it is read in each language)")
    return f"{where}: {problem['msg']}"


def _problems(spec: WorkflowSpec, vocabulary: Vocabulary) -> Iterable[str]:
    states = set(spec.states)
    for name in sorted(states & set(spec.events)):
        yield f"{name!r} is both a state and an event: give them different names"
    if spec.initial not in states:
        yield f"initial state {spec.initial!r} is not one of the states"
    if not any(state.final for state in spec.states.values()):
        yield "no state is final"
    if spec.initial in states and spec.states[spec.initial].signed:
        yield f"initial state {spec.initial!r} is signed: an agreement starts unsigned"
    for name, state in spec.states.items():
        if state.term_restarts and not state.signed:
            yield f"state {name!r} has term_restarts but is not signed: only a signed agreement has a term"
        if state.term_restarts and state.final:
            yield f"state {name!r} has term_restarts but is final: no term starts from it"
        if state.amendable and (state.final or not state.signed):
            yield f"state {name!r} is amendable but final or not signed: only a running, signed agreement is amended"

    for name, event in spec.events.items():
        for guard in event.guards:
            if isinstance(guard, DocumentGuard):
                if guard.document not in vocabulary.documents:
                    yield (f"event {name!r} requires unknown document kind {guard.document!r} (known: "
                           f"{', '.join(sorted(vocabulary.documents))})")
                if guard.when is not None and guard.when not in vocabulary.conditions:
                    yield f"event {name!r}: document guard names unknown condition {guard.when!r}"
            elif guard not in vocabulary.guards:
                yield f"event {name!r} names unknown guard {guard!r}"
        for effect in event.effects:
            if effect not in vocabulary.effects:
                yield f"event {name!r} names unknown effect {effect!r}"
        if not any(t.event == name for t in spec.transitions):
            yield f"event {name!r} has no transition"
        ends = sorted({t.dest for t in spec.transitions if t.event == name and t.dest in states
                       and spec.states[t.dest].final})
        if ends and not event.confirm:
            yield (f"event {name!r} leads to final state {ends[0]!r} but does not ask first: add "
                   "confirm: true (a person confirms what cannot be undone)")
        if event.scheduled and not any(timer.event == name for timer in spec.timers):
            yield (f"event {name!r} is scheduled but no timer fires it: add a timer for it, or drop "
                   "scheduled: true so that the pages offer it as a button")

    for index, transition in enumerate(spec.transitions):
        where = f"transition {index + 1} ({transition.event})"
        if transition.event not in spec.events:
            yield f"{where}: unknown event {transition.event!r}"
        for source in transition.source:
            if source not in states:
                yield f"{where}: comes from unknown state {source!r}"
            elif spec.states[source].final:
                yield f"{where}: leaves final state {source!r}"
            elif (spec.states[source].signed and transition.dest in states
                  and not spec.states[transition.dest].signed):
                yield (f"{where}: leads from signed state {source!r} to {transition.dest!r}, which is not "
                       "signed; mark it signed (a signature is never undone by a transition)")
        if transition.dest not in states:
            yield f"{where}: goes to unknown state {transition.dest!r}"
        if transition.when is not None and transition.when not in vocabulary.conditions:
            yield f"{where}: unknown condition {transition.when!r}"

    for index, timer in enumerate(spec.timers):
        where = f"timer {index + 1} ({timer.event})"
        if timer.event not in spec.events:
            yield f"{where}: unknown event {timer.event!r}"
        elif EventActor.SCHEDULER not in spec.events[timer.event].actors:
            yield f"{where}: event {timer.event!r} does not list 'scheduler' among its actors"
        yield from _unknown(where, "state", timer.states, states)
        if timer.date_name not in vocabulary.dates:
            yield f"{where}: unknown date {timer.date_name!r}"

    for reminder in spec.reminders:
        where = f"reminder {reminder.name!r}"
        yield from _unknown(where, "state", reminder.states, states)
        dates = vocabulary.deliverable_dates if reminder.subject == "deliverable" else vocabulary.dates
        if reminder.date_name not in dates:
            yield f"{where}: unknown {reminder.subject} date {reminder.date_name!r}"
        yield from _unknown(where, "recipient", reminder.recipients + reminder.escalate_to,
                            vocabulary.recipients)
        if reminder.escalate_to and reminder.escalate_after is None:
            yield f"{where}: escalate_to needs escalate_after (the offset from which to escalate)"
    names = [reminder.name for reminder in spec.reminders]
    for name in sorted({n for n in names if names.count(n) > 1}):
        yield f"reminder {name!r} is defined twice"

    if spec.initial in states:
        yield from _reachability(spec)


def _boolean_keys(node: object, where: str = "") -> Iterable[str]:
    """YAML 1.1 reads an unquoted on/off/yes/no key as a boolean: name it instead of a riddle."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, bool):
                spelled = "on, yes or true" if key else "off, no or false"
                yield (f"{where or '(top)'}: a key reads as the boolean {str(key).lower()} (YAML "
                       f"reads an unquoted {spelled} so); quote it, e.g. 'on':")
            yield from _boolean_keys(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _boolean_keys(item, f"{where}.{index}" if where else str(index))


def _unknown(where: str, kind: str, names: Iterable[str], known: Iterable[str]) -> Iterable[str]:
    known_set = set(known)
    for name in names:
        if name not in known_set:
            yield f"{where}: unknown {kind} {name!r}"


def _reachability(spec: WorkflowSpec) -> Iterable[str]:
    edges: dict[str, set[str]] = {state: set() for state in spec.states}
    for transition in spec.transitions:
        for source in transition.source:
            if source in edges and transition.dest in spec.states:
                edges[source].add(transition.dest)

    reachable = {spec.initial}
    frontier = [spec.initial]
    while frontier:
        for dest in edges[frontier.pop()]:
            if dest not in reachable:
                reachable.add(dest)
                frontier.append(dest)
    for state in spec.states:
        if state not in reachable:
            yield f"state {state!r} is unreachable from {spec.initial!r}"

    finishing = {name for name, state in spec.states.items() if state.final}
    changed = True
    while changed:
        changed = False
        for source, dests in edges.items():
            if source not in finishing and dests & finishing:
                finishing.add(source)
                changed = True
    for state in spec.states:
        if state not in finishing:
            yield f"state {state!r} has no path to a final state"
