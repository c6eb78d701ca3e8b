"""An amendment's lifecycle: the workflow file `workflows/amendments/amendment.v1.yaml`, read
once and compiled into a small `transitions` machine.

The file is data like the agreements' workflows, but apart from them: their loader checks guards
and effects that read an agreement, and an amendment has none — only states, the events a person
sends and the steps Accord takes (`complete`, `merge`, `reopen`). `read_lifecycle` refuses a file
whose states or events are not those Accord knows (engine/statuses.py: AmendmentState,
AmendmentEvent), whose steps are not the service's, or whose transitions name anything else, with
every problem named. `allowed` and `target` are what engine/amendments/service.py asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from transitions import Machine

from engine.statuses import AmendmentEvent, AmendmentState

FILE = Path(__file__).resolve().parent.parent.parent / "workflows" / "amendments" / "amendment.v1.yaml"
# The machine's own steps, taken by the service, never sent by a person.
COMPLETE, MERGE, REOPEN = "complete", "merge", "reopen"
STEPS = (COMPLETE, MERGE, REOPEN)


class LifecycleFileError(ValueError):
    """The amendment's workflow file cannot be used; the message lists every problem."""


@dataclass(frozen=True)
class Lifecycle:
    name: str
    version: int
    events: tuple[str, ...]
    machine: Machine


def read_lifecycle(path: Path) -> Lifecycle:
    """The lifecycle the file at `path` declares, checked against the states, events and steps
    Accord's amendments have."""
    raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise LifecycleFileError(f"{path.name}: expected a mapping with name, version, states, events, "
                                 "steps and transitions")
    problems: list[str] = []
    states, events, steps = (list(raw.get(key) or []) for key in ("states", "events", "steps"))
    known_states = {s.value for s in AmendmentState}
    known_events = {e.value for e in AmendmentEvent}
    if set(states) != known_states:
        problems.append(f"states must be exactly {sorted(known_states)}, not {sorted(map(str, states))}")
    if set(events) != known_events:
        problems.append(f"events must be exactly {sorted(known_events)}, not {sorted(map(str, events))}")
    if set(steps) != set(STEPS):
        problems.append(f"steps must be exactly {sorted(STEPS)}, not {sorted(map(str, steps))}")
    if raw.get("initial") not in states:
        problems.append(f"initial {raw.get('initial')!r} is not one of its states")
    if not isinstance(raw.get("version"), int) or raw.get("name") != "amendment":
        problems.append("name must be 'amendment' and version a whole number")
    transitions = []
    for number, item in enumerate(raw.get("transitions") or [], start=1):
        sources = item.get("from") if isinstance(item, dict) else None
        sources = sources if isinstance(sources, list) else [sources]
        trigger, dest = (item.get("event"), item.get("to")) if isinstance(item, dict) else (None, None)
        if trigger not in [*events, *steps]:
            problems.append(f"transition {number}: {trigger!r} is neither an event nor a step")
        for name in [*sources, dest]:
            if name not in states:
                problems.append(f"transition {number}: {name!r} is not a state")
        transitions.append({"trigger": str(trigger), "source": [str(s) for s in sources], "dest": str(dest)})
    final = set(raw.get("final") or [])
    for transition in transitions:
        if final & set(transition["source"]):
            problems.append(f"{transition['trigger']} leaves a final state ({', '.join(sorted(final))})")
    if problems:
        raise LifecycleFileError(f"{path.name}: " + "; ".join(problems))
    machine = Machine(model=[], states=states, initial=raw["initial"], auto_transitions=False,
                      transitions=transitions)
    return Lifecycle(name=raw["name"], version=raw["version"], events=tuple(events), machine=machine)


_LIFECYCLE = read_lifecycle(FILE)
VERSION = _LIFECYCLE.version


def allowed(state: str) -> list[str]:
    """The events a person may send to an amendment in `state`, in the order the file declares."""
    triggers = set(_LIFECYCLE.machine.get_triggers(str(state)))
    return [e for e in _LIFECYCLE.events if e in triggers]


def target(step: str, state: str) -> str:
    """Where `step` (an event or the machine's own step) leads from `state`."""
    found = _LIFECYCLE.machine.get_transitions(trigger=str(step), source=str(state))
    assert found, f"{step} is not a step from {state}"
    return str(found[0].dest)


def is_event(name: str) -> bool:
    return name in _LIFECYCLE.events
