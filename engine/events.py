"""`fire`: the one path that changes an agreement's state.

load (in reach) -> If-Match -> event known -> caller may fire it -> allowed in this
state -> only the event's own fields -> caller may act for the party concerned ->
every guard met -> machine step (effects, new state) -> compare-and-set on
`version` with its history row — all in the caller's transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from engine.access import IfMatch, is_party_staff, load_agreement, require_editor, require_version
from engine.clock import When
from engine.context import Actor, EventContext
from engine.errors import GuardFailed, InvalidInput, NotPermitted, TransitionNotAllowed
from engine.history import record_change
from engine.machine import CompiledWorkflow, catalog
from engine.metrics import count_transition, transition_workflow
from engine.models import Agreement
from engine.schemas import EventInput
from engine.statuses import HistoryKind

# Event fields that are worth keeping in the history beside what effects record.
_KEPT_FIELDS = ("reason", "outcome", "summary", "ends_on", "starts_on", "signed_on", "place")
# An event with no fields (immutable, so one will do).
NO_FIELDS = EventInput()


@count_transition
async def fire(
    session: AsyncSession,
    agreement_id: int,
    event: str,
    actor: Actor,
    when: When,
    data: EventInput | None = None,
    *,
    if_match: IfMatch | None = None,
) -> Agreement:
    data = data or NO_FIELDS
    agreement = await load_agreement(session, agreement_id, actor, change_at=when)
    transition_workflow(agreement.workflow_name)  # first, so that a stale If-Match is counted too
    require_version(agreement, if_match)
    workflow = catalog().get(agreement.workflow_name, agreement.workflow_version)
    if workflow.event(event) is None:
        known = ", ".join(workflow.spec.events)
        raise InvalidInput(f"Unknown event {event!r}. The events of workflow "
                           f"'{workflow.spec.name}' are: {known}.", field="event")
    if not actor.is_scheduler:
        require_editor(actor, agreement)
    if not workflow.may_fire(actor, event):
        raise NotPermitted(f"Event '{event}' is fired by the scheduler, not by a person.")
    allowed = [e for e in workflow.allowed_events(agreement.state) if workflow.may_fire(actor, e)]
    if event not in workflow.allowed_events(agreement.state):
        raise TransitionNotAllowed(event, agreement.state, allowed)

    _only_fields_of(workflow, event, data)
    ctx = EventContext(agreement=agreement, event=event, actor=actor, data=data,
                       today=when.today, now=when.now, zone=when.zone)
    refused = workflow.refusal(ctx)
    if refused:
        raise NotPermitted(refused)
    unmet = workflow.unmet(ctx)
    if unmet:
        raise GuardFailed(event, unmet)
    from_state = agreement.state
    to_state = workflow.step(from_state, ctx)
    if to_state is None:
        raise GuardFailed(event, [f"No transition of '{event}' fits the agreement as it is now."])
    agreement.state = to_state
    session.add_all(ctx.added)

    facts: dict[str, Any] = {k: v for k, v in _given(data).items() if k in _KEPT_FIELDS}
    facts = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in facts.items()}
    facts.update(ctx.facts)
    await record_change(session, agreement, actor, when, kind=HistoryKind.TRANSITION, event=event,
                        from_state=from_state, to_state=to_state,
                        comment=data.comment or data.reason, data=facts or None)
    return agreement


def _given(data: EventInput) -> dict[str, Any]:
    """The event fields `data` sets, in their declared order (an `EventFire` is read for its fields only)."""
    return {name: value for name in EventInput.model_fields if (value := getattr(data, name)) is not None}


def _only_fields_of(workflow: CompiledWorkflow, event: str, data: EventInput) -> None:
    """Refuse a field the event does not take: it would be ignored, and the caller would not know."""
    given = list(_given(data))
    takes = workflow.fields(event)
    extra = [name for name in given if name not in takes]
    if extra:
        raise InvalidInput(f"{event} does not take {', '.join(extra)}; remove "
                           f"{'it' if len(extra) == 1 else 'them'}. The fields of {event} are: "
                           f"{', '.join(takes)}.", field=extra[0])


def available_events(workflow: CompiledWorkflow, agreement: Agreement, actor: Actor,
                     when: When) -> tuple[list[str], dict[str, list[str]]]:
    """The events `actor` may fire now, and for each whose guards are unmet, what is missing. An
    event the caller may not fire for their party (a supporter's `sign`) is not listed."""
    if not (actor.is_scheduler or actor.is_admin or is_party_staff(actor, agreement)):
        return [], {}
    events: list[str] = []
    unmet: dict[str, list[str]] = {}
    for event in workflow.allowed_events(agreement.state):
        if not workflow.may_fire(actor, event):
            continue
        ctx = EventContext(agreement=agreement, event=event, actor=actor, data=NO_FIELDS,
                           today=when.today, now=when.now, zone=when.zone)
        if workflow.refusal(ctx):
            continue
        events.append(event)
        sentences = workflow.unmet(ctx, with_input=False)
        if sentences:
            unmet[event] = sentences
    return events, unmet
