"""Workflow diagrams: Mermaid text, and SVG.

    svg(workflow, highlight=None) -> str    an <svg> element ready to inline in HTML
    states_in_order(workflow) -> [...]      the states and where each event leads: the accessible
                                            list a page shows beside the picture

The SVG is laid out by Graphviz's `dot` when the server has it (transitions' `GraphMachine` with
the graphviz engine; every node is then relabelled with its state's label and the highlighted
state drawn dark with white text), and otherwise drawn in Python (`engine.workflow.drawing`): a
fresh machine with no Graphviz and no internet draws the diagram all the same. Rendered SVG is
cached per (workflow, version, highlight, renderer, language): a workflow version never changes
once loaded. In every language its title and its states' and events' labels (those on the arrows
too, with either renderer) are the workflow file's own in that language (`WorkflowSpec.label_of`),
and the words around them come from the catalogs (engine/i18n.py).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass

from engine import i18n
from engine.i18n import gettext as _
from engine.statuses import Language
from engine.workflow import drawing
from engine.workflow.machine import CompiledWorkflow
from workflows.definition import WorkflowSpec

_FONT = "Helvetica,Arial,sans-serif"
_PLAIN = {"style": "rounded,filled", "fillcolor": "#ffffff", "color": "#4b5563", "fontcolor": "#111827",
          "penwidth": "1", "peripheries": "1"}
_FINAL = {**_PLAIN, "fillcolor": "#f3f4f6", "peripheries": "2"}
_CURRENT = {"style": "rounded,filled,bold", "fillcolor": "#1e3a8a", "color": "#1e3a8a", "fontcolor": "#ffffff",
            "penwidth": "3", "peripheries": "1"}


class _DotMissing(Exception):
    """`dot` went missing between the check and the run: the picture is drawn in Python instead."""


def dot_available() -> bool:
    return shutil.which("dot") is not None


def svg(workflow: CompiledWorkflow, highlight: str | None = None, language: Language = i18n.SOURCE) -> str:
    """The workflow as an inline-able <svg>, `highlight` (a state name) marked as current, its
    words in `language`."""
    if highlight is not None and highlight not in workflow.spec.states:
        highlight = None
    renderer = "dot" if dot_available() else "python"
    key = (workflow.spec.name, workflow.spec.version, highlight, renderer, language)
    cached = _CACHE.get(key)
    if cached is None:
        with i18n.reading(language):
            spec = workflow.spec
            if renderer == "dot":
                try:
                    cached = _render(spec, highlight)
                except _DotMissing:
                    return drawing.draw(spec, highlight, title=_title(spec, highlight))
            else:
                cached = drawing.draw(spec, highlight, title=_title(spec, highlight))
        _CACHE[key] = cached
    return cached


# (workflow, version, highlight, renderer, language) -> SVG; bounded by the loaded workflows' states.
_CACHE: dict[tuple[str, int, str | None, str, str], str] = {}


def _title(spec: WorkflowSpec, highlight: str | None) -> str:
    if highlight:
        return _("Lifecycle of a %(workflow)s; current state: %(state)s") % {
            "workflow": spec.title_in(i18n.current()).lower(), "state": spec.label_of(highlight, i18n.current())}
    return _("Lifecycle of a %(workflow)s") % {"workflow": spec.title_in(i18n.current()).lower()}


def _render(spec: WorkflowSpec, highlight: str | None) -> str:
    import graphviz  # type: ignore[import-untyped]  # the package ships no type hints
    from transitions.extensions import GraphMachine

    machine = GraphMachine(
        states=list(spec.states), initial=highlight or spec.initial, auto_transitions=False,
        # Each arrow is named by its event's label, not its name: the trigger is what Graphviz writes.
        transitions=[{"trigger": spec.label_of(t.event, i18n.current()), "source": list(t.source), "dest": t.dest}
                     for t in spec.transitions],
        graph_engine="graphviz", title=spec.title_in(i18n.current()), show_conditions=False,
    )
    graph = machine.get_graph()
    # Defaults written at the top of the file, so they reach the nodes and edges transitions declared.
    graph.graph_attr.update(fontname=_FONT, bgcolor="transparent", label="", nodesep="0.3", ranksep="0.45")
    graph.node_attr.update(fontname=_FONT, fontsize="13")
    graph.edge_attr.update(fontname=_FONT, fontsize="11", color="#4b5563", fontcolor="#374151")
    for state_name, state in spec.states.items():
        # A second statement for a node overrides the attributes transitions gave it.
        style = _CURRENT if state_name == highlight else _FINAL if state.final else _PLAIN
        label = spec.label_of(state_name, i18n.current()) + (_(" (current)") if state_name == highlight else "")
        graph.node(state_name, label=label, **style)
    try:
        raw = graph.pipe(format="svg", engine="dot").decode()
    except graphviz.ExecutableNotFound:
        raise _DotMissing() from None
    return _inline(raw, _title(spec, highlight))


def _inline(raw: str, title: str) -> str:
    """Drop the XML prologue and fixed size so the picture scales with the page; name it for screen readers."""
    start = raw.index("<svg")
    body = raw[start:]
    body = re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg class="diagram" role="img" '
                  'aria-labelledby="diagram-title" preserveAspectRatio="xMidYMid meet"', body, count=1)
    body = re.sub(r"<!--.*?-->\n?", "", body, flags=re.S)
    escaped = title.replace("&", "&amp;").replace("<", "&lt;")
    return body.replace(">", f'><title id="diagram-title">{escaped}</title>', 1).strip() + "\n"


@dataclass(frozen=True)
class StateStep:
    name: str
    label: str
    final: bool
    current: bool
    leads_to: list[tuple[str, str]]  # (event label, destination state label)


def states_in_order(workflow: CompiledWorkflow, current: str | None = None) -> list[StateStep]:
    """The labels in English: the page shows them in its language (its template's `label()`)."""
    spec = workflow.spec
    steps = []
    for name, state in spec.states.items():
        leads: list[tuple[str, str]] = []
        for transition in spec.transitions:
            if name in transition.source:
                pair = (spec.events[transition.event].label, spec.states[transition.dest].label)
                if pair not in leads:
                    leads.append(pair)
        steps.append(StateStep(name=name, label=state.label, final=state.final, current=name == current,
                               leads_to=leads))
    return steps
