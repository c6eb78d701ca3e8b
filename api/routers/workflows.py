"""Workflow definitions, with their diagrams."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentActor
from engine import i18n
from engine.schemas import WorkflowEventRead, WorkflowRead, WorkflowStateRead
from engine.workflow.machine import CompiledWorkflow, catalog
from workflows.definition import guard_name

router = APIRouter(tags=["workflows"])


def _read(workflow: CompiledWorkflow) -> WorkflowRead:
    """The workflow's words — title, description, labels — in the language being read (English,
    unless the request's Accept-Language names another: api/languages.py); its names never."""
    spec, language = workflow.spec, i18n.current()
    return WorkflowRead(
        name=spec.name, version=spec.version, title=spec.title_in(language), description=spec.description_in(language),
        initial=spec.initial,
        states=[WorkflowStateRead(name=n, label=s.labels.of(language), final=s.final, editable=s.editable,
                                  signed=s.signed,
                                  term_restarts=s.term_restarts, amendable=s.amendable,
                                  events=list(workflow.allowed_events(n)))
                for n, s in spec.states.items()],
        events=[WorkflowEventRead(name=n, label=e.labels.of(language), actors=list(e.actors),
                                  guards=[guard_name(g) for g in e.guards], effects=list(e.effects),
                                  fields=list(workflow.fields(n)),
                                  confirm=e.confirm, scheduled=e.scheduled)
                for n, e in spec.events.items()],
        diagram=workflow.mermaid(),
    )


@router.get("/workflows", response_model=list[WorkflowRead])
async def list_workflows(actor: CurrentActor) -> list[WorkflowRead]:
    return [_read(w) for _, w in sorted(catalog().workflows.items())]


@router.get("/workflows/{name}", response_model=WorkflowRead)
async def get_workflow(name: str, actor: CurrentActor, version: int | None = None) -> WorkflowRead:
    """The latest version, or the `version` asked for."""
    workflows = catalog()
    if version is None:
        return _read(workflows.latest(name))
    return _read(workflows.get(name, version))
