"""The one way in: every write of an agreement or of anything it owns is `apply`.

    apply(session, agreement_id, actor, when, action, if_match=...)
        snapshot   the agreement and its parts, and its schedule rows, in one statement, within
                   the actor's reach (engine.agreements.snapshot; out of reach: NotFound)
        If-Match   the version the caller last saw, if they named one (PreconditionFailed)
        policy     inside the action: may this actor do this now (engine.agreements.policy)
        action     guards, effects or edits on the snapshot, returning a change set
                   (engine.agreements.actions, engine.agreements.changes)
        write      compare-and-set on `version`, the parts, the history row with the diff
                   (engine.agreements.repository)
        follow     timers, reminders and webhook deliveries re-derived from the change set,
                   only for what it touched (engine.schedule.follow)
        then       what the change makes due on other agreements (engine.agreements.actions.
                   follow_ups: a successor's draft, a predecessor superseded), each by `apply`

all in the caller's transaction, which the caller commits. An agreement id of None makes a new
agreement (the action is a `Creation`). `fire` is `apply` of a `Fire`, counted by event and outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy.ext.asyncio import AsyncSession

from engine import schedule
from engine.access import IfMatch, require_version
from engine.agreements import policy, repository, snapshot
from engine.agreements.actions import Action, Creation, Fire, follow_ups
from engine.agreements.changes import ChangeSet
from engine.agreements.values import AgreementSnapshot, PartValue
from engine.clock import When
from engine.context import Actor
from engine.metrics import count_transition, transition_workflow
from engine.schemas import EventInput
from engine.workflow.machine import catalog


@dataclass(frozen=True)
class Outcome:
    """What `apply` did: the agreement as it is now, the change it wrote (None: nothing to change),
    and what that change made due on other agreements, applied after it (`then`)."""

    agreement: AgreementSnapshot
    change: ChangeSet | None
    then: tuple[Outcome, ...] = field(default=())

    def successor(self) -> AgreementSnapshot | None:
        """The successor this change made (a review's `renew_as_successor`), if it made one."""
        return next((o.agreement for o in self.then if o.change is not None
                     and o.agreement.predecessor_id == self.agreement.id), None)

    def added(self) -> PartValue:
        """The part the change added (a contact, an area, a deliverable), with its row's id."""
        assert self.change is not None
        return next(p for p in self.change.parts if p.op == "added").value


async def apply(session: AsyncSession, agreement_id: int | None, actor: Actor, when: When, action: Action,
                *, if_match: IfMatch | None = None) -> Outcome:
    if session.new or session.dirty or session.deleted:
        await session.flush()  # what this transaction changed through the ORM is part of what it reads
    # The snapshot, the write and the schedule are Core statements: run on the session's connection
    # (the same transaction), they skip the ORM session's per-statement work.
    connection = await session.connection()
    if agreement_id is None:
        assert isinstance(action, Creation), "a new agreement is made by a Creation"
        before = await action.blank(session, actor, when)
        rows = schedule.ScheduleRows(timers=[], reminders=[], subscriptions=[])
    else:
        before, rows = await snapshot.load_for_change(connection, agreement_id, actor, when)
    transition_workflow(before.workflow_name)  # before If-Match, so that a stale one is counted too
    require_version(before, if_match)
    workflow = catalog().get(before.workflow_name, before.workflow_version)
    change = await action.decide(session, before, actor, when, workflow)
    if change is None:
        return Outcome(before, None)
    after, written = await repository.write(connection, before, change, actor, when)
    await schedule.follow(connection, after, written, actor.label, when, rows)
    then = [await apply(session, due.agreement_id, Actor.scheduler() if due.by_accord else actor, when, due.action)
            for due in follow_ups(after, written)]
    if then:
        transition_workflow(before.workflow_name)  # the event counted is this one, not a follow-up's
    made = [o.agreement.id for o in then if o.change is not None and o.agreement.predecessor_id == after.id]
    if made:  # the agreement as it is now names the successor just made
        after = replace(after, successor_id=max(made))
    return Outcome(after, written, tuple(then))


@count_transition
async def fire(session: AsyncSession, agreement_id: int, event: str, actor: Actor, when: When,
               data: EventInput = policy.NO_FIELDS, *, if_match: IfMatch | None = None) -> Outcome:
    """Fire a lifecycle event: `apply` of a `Fire`; the agreement as it is after, and what the
    event made due elsewhere (`Outcome.successor`)."""
    return await apply(session, agreement_id, actor, when, Fire(event, data), if_match=if_match)
