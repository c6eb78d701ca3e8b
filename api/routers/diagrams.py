"""A workflow's lifecycle diagram as Mermaid text or SVG, an agreement's current state highlighted."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.deps import MAX_ID, CurrentActor, SessionDep
from engine import i18n
from engine.access import reachable
from engine.errors import InvalidInput
from engine.workflow import diagrams
from engine.workflow.machine import CompiledWorkflow, catalog

router = APIRouter(tags=["workflows"])

MERMAID = "text/vnd.mermaid; charset=utf-8"
SVG = "image/svg+xml"


@router.get(
    "/workflows/{name}/diagram",
    response_class=Response,
    responses={
        200: {"content": {MERMAID: {}, SVG: {}}, "description": "the diagram"},
        404: {"description": "no such workflow, or an agreement you cannot see"},
    },
)
async def get_diagram(
    name: str, session: SessionDep, actor: CurrentActor,
    format: Annotated[Literal["mermaid", "svg"], Query(description="mermaid text or an SVG picture")] = "mermaid",
    agreement_id: Annotated[int | None, Query(ge=1, le=MAX_ID,
                                              description="highlight this agreement's current state")] = None,
    version: Annotated[int | None, Query(ge=1, le=10**6, description="default: the latest")] = None,
) -> Response:
    """The lifecycle diagram; with `agreement_id`, that agreement's workflow version and current state."""
    highlight: str | None = None
    if agreement_id is not None:
        agreement = await reachable(session, agreement_id, actor)
        if agreement.workflow_name != name:
            raise InvalidInput(i18n.gettext("Agreement %(id)s follows workflow '%(workflow)s', not '%(name)s'; ask "
                                            "for /workflows/%(workflow)s/diagram.")
                               % {"id": agreement_id, "workflow": agreement.workflow_name, "name": name},
                               field="agreement_id")
        workflow = catalog().get(agreement.workflow_name, agreement.workflow_version)
        highlight = agreement.state
    else:
        workflow = _workflow(name, version)
    if format == "mermaid":
        return Response(workflow.mermaid(highlight=highlight), media_type=MERMAID)
    # Its labels in the language the request asks for (api/languages.py), else English.
    return Response(diagrams.svg(workflow, highlight, i18n.current()), media_type=SVG,
                    headers={"Cache-Control": "private, max-age=60", "Vary": "Accept-Language"})


def _workflow(name: str, version: int | None) -> CompiledWorkflow:
    workflows = catalog()
    if version is None:
        return workflows.latest(name)
    return workflows.get(name, version)
