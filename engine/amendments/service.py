"""Proposing, signing and merging amendments.

An amendment is a record of its own beside its agreement (`engine.models.Amendment`): proposing,
submitting, signing, withdrawing or cancelling one writes only its row (a compare-and-set on its
`version`, so of two parties signing at the same moment one wins and the other is told to send
again) and its signatures. The agreement changes once, when the last party signs: the merge is
one write through the one way in, `engine.agreements.service.apply` with a `MergeAmendment`
(engine/agreements/amending.py), in the same transaction as the signature that caused it. If
what the amendment changes was changed on the agreement since its `base_version`, the merge is
refused (`AmendmentConflict`) and the amendment is put back to draft with a fresh diff and no
signatures; `fire` then answers with the refusal beside the amendment, for the caller to commit
the return to draft and answer 409.

Who may do what is the agreement's policy (engine/agreements/policy.py): the staff of its
parties propose and move amendments; each signing party signs only for itself (an administrator
for any, on its behalf); an administrative amendment may be approved instead by a party's focal point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from engine import words
from engine.agreements import policy, service, snapshot
from engine.agreements.amending import MergeAmendment, check_kind, draft_of, kind_in_words, paths
from engine.agreements.values import AgreementSnapshot, PartyValue
from engine.amendments import lifecycle
from engine.clock import When
from engine.context import Actor
from engine.errors import AmendmentConflict, Conflict, InvalidInput, NotFound
from engine.i18n import gettext, pgettext
from engine.models import Amendment, AmendmentSignature
from engine.schemas import (
    AmendmentChanges,
    AmendmentCreate,
    AmendmentEventFire,
    AmendmentRead,
    AmendmentSignatureRead,
    OrganisationRef,
)
from engine.statuses import AmendmentAssent, AmendmentEvent, AmendmentKind, AmendmentState, HistoryKind, PartyRole
from engine.workflow.machine import catalog


@dataclass(frozen=True)
class Fired:
    """What an event did: the amendment as it is now, and the refusal of its merge, if any."""

    amendment: AmendmentRead
    refused: AmendmentConflict | None = None


async def _diff(session: AsyncSession, agreement: AgreementSnapshot, changes: AmendmentChanges,
                when: When) -> list[dict[str, Any]]:
    draft = await draft_of(session, agreement, changes, when)
    return paths(draft.finish(HistoryKind.AMENDED, "amendment_merged"))


async def propose(session: AsyncSession, agreement_id: int, actor: Actor, when: When,
                  data: AmendmentCreate) -> AmendmentRead:
    """A new amendment in draft, numbered after the agreement's last, with its diff."""
    agreement = await snapshot.load(session, agreement_id, actor)
    workflow = catalog().get(agreement.workflow_name, agreement.workflow_version)
    policy.require_editor(actor, agreement)
    policy.require_amendable(workflow, agreement)
    check_kind(data.kind, data.changes)
    diff = await _diff(session, agreement, data.changes, when)
    if not diff:
        raise InvalidInput(gettext("These changes change nothing: the agreement already says so."), field="changes")
    last = await session.scalar(select(func.max(col(Amendment.number)))
                                .where(col(Amendment.agreement_id) == agreement_id))
    row = Amendment(agreement_id=agreement_id, number=(last or 0) + 1, kind=data.kind, reason=data.reason,
                    state=AmendmentState.DRAFT, workflow_version=lifecycle.VERSION, version=1,
                    base_version=agreement.version, changes=data.changes.model_dump(mode="json", exclude_unset=True),
                    diff=diff, created_by_id=actor.person_id, created_at=when.now, updated_at=when.now)
    session.add(row)
    await session.flush()
    return await _read(session, agreement, row, actor)


async def _row(session: AsyncSession, agreement_id: int, number: int) -> Amendment:
    found = await session.scalar(select(Amendment).where(
        col(Amendment.agreement_id) == agreement_id, col(Amendment.number) == number)
        .execution_options(populate_existing=True))
    if found is None:
        raise NotFound(gettext("Agreement %(agreement)s has no amendment %(number)s.") % {
            "agreement": agreement_id, "number": number})
    return found


async def _signatures(session: AsyncSession, amendment_id: int) -> list[AmendmentSignature]:
    return list(await session.scalars(select(AmendmentSignature).where(
        col(AmendmentSignature.amendment_id) == amendment_id).order_by(col(AmendmentSignature.id))))


def _signing(agreement: AgreementSnapshot) -> list[PartyValue]:
    return [p for p in agreement.parties if p.role == PartyRole.PARTY]


async def get(session: AsyncSession, agreement_id: int, number: int, actor: Actor) -> AmendmentRead:
    agreement = await snapshot.load(session, agreement_id, actor)
    return await _read(session, agreement, await _row(session, agreement_id, number), actor)


async def list_amendments(session: AsyncSession, agreement_id: int, actor: Actor, *, limit: int,
                          offset: int) -> tuple[list[AmendmentRead], int]:
    agreement = await snapshot.load(session, agreement_id, actor)
    query = select(Amendment).where(col(Amendment.agreement_id) == agreement_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(col(Amendment.number)).limit(limit).offset(offset))
    return [await _read(session, agreement, row, actor) for row in rows], total


async def _claim(session: AsyncSession, row: Amendment, **values: Any) -> None:
    """Compare-and-set on the amendment's version: another write since it was read loses us the race."""
    result = await session.execute(
        update(Amendment).where(col(Amendment.id) == row.id, col(Amendment.version) == row.version)
        .values(version=row.version + 1, **values).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(gettext("Amendment %(number)s changed while this request was being handled (another party "
                               "signed it, or it was moved, at the same moment). Reload it and send again.") % {
            "number": row.number})


async def fire(session: AsyncSession, agreement_id: int, number: int, actor: Actor, when: When,
               data: AmendmentEventFire) -> Fired:
    agreement = await snapshot.load(session, agreement_id, actor)
    row = await _row(session, agreement_id, number)
    workflow = catalog().get(agreement.workflow_name, agreement.workflow_version)
    policy.require_editor(actor, agreement)
    event = data.event
    allowed = lifecycle.allowed(row.state)
    if event not in allowed:
        raise Conflict(gettext("Amendment %(number)s is %(state)s: '%(event)s' is not allowed now. Events allowed "
                               "now: %(allowed)s.") % {
            "number": number, "state": pgettext(words.AMENDMENT, words.AMENDMENT_STATE.get(row.state, row.state)),
            "event": event,
            "allowed": ", ".join(allowed) or gettext("none")})
    if data.organisation_id is not None and event not in (AmendmentEvent.SIGN, AmendmentEvent.APPROVE):
        raise InvalidInput(gettext("%(event)s does not take organisation_id; remove it.") % {"event": event},
                           field="organisation_id")
    stamp = {"updated_at": when.now}
    if event == AmendmentEvent.SUBMIT:
        policy.require_amendable(workflow, agreement)
        await _claim(session, row, state=lifecycle.target(event, row.state), **stamp)
    elif event in (AmendmentEvent.WITHDRAW, AmendmentEvent.CANCEL):
        await _claim(session, row, state=lifecycle.target(event, row.state), **stamp)
        await session.execute(delete(AmendmentSignature).where(col(AmendmentSignature.amendment_id) == row.id))
    else:
        return await _sign(session, agreement, row, actor, when, data)
    return Fired(await _read(session, agreement, await _row(session, agreement_id, number), actor))


async def _sign(session: AsyncSession, agreement: AgreementSnapshot, row: Amendment, actor: Actor, when: When,
                data: AmendmentEventFire) -> Fired:
    assert row.id is not None
    event = data.event
    if event == AmendmentEvent.APPROVE and row.kind != AmendmentKind.ADMINISTRATIVE:
        raise InvalidInput(gettext("Amendment %(number)s is a %(kind)s amendment: each party signs it. Only an "
                                   "administrative amendment may be approved by the parties' focal points.") % {
            "number": row.number, "kind": kind_in_words(row.kind)}, field="event")
    organisation_id = data.organisation_id if data.organisation_id is not None else actor.organisation_id
    party = agreement.party_of(organisation_id)
    if party is None or party.role != PartyRole.PARTY:
        refusal = policy.signing_refusal(actor, agreement, organisation_id) if party is not None else None
        policy.require(refusal)
        signers = ", ".join(f"{p.organisation.name} ({p.organisation_id})" for p in _signing(agreement))
        raise InvalidInput(gettext("Organisation %(id)s is not a signing party of this agreement; name one of its "
                                   "signing parties in organisation_id: %(parties)s.") % {
            "id": organisation_id, "parties": signers}, field="organisation_id")
    if event == AmendmentEvent.SIGN:
        policy.require(policy.signing_refusal(actor, agreement, organisation_id))
    else:
        policy.require(policy.approval_refusal(actor, agreement, party))
    signed = {s.party_id for s in await _signatures(session, row.id)}
    if party.id in signed:
        done = (gettext("%(party)s has already signed amendment %(number)s.") if event == AmendmentEvent.SIGN
                else gettext("%(party)s has already approved amendment %(number)s."))
        raise Conflict(done % {"party": party.organisation.name, "number": row.number})
    last = not [p for p in _signing(agreement) if p.id not in signed | {party.id}]
    state = lifecycle.target(lifecycle.COMPLETE if last else event, row.state)
    await _claim(session, row, state=state, updated_at=when.now)
    session.add(AmendmentSignature(
        amendment_id=row.id, party_id=party.id, organisation_id=party.organisation_id,
        assent=AmendmentAssent.SIGNED if event == AmendmentEvent.SIGN else AmendmentAssent.APPROVED,
        person_id=actor.person_id, actor=actor.label, at=when.now))
    await session.flush()
    if last:
        return await _merge(session, agreement, await _row(session, agreement.id, row.number), actor, when)
    return Fired(await _read(session, agreement, await _row(session, agreement.id, row.number), actor))


async def _merge(session: AsyncSession, agreement: AgreementSnapshot, row: Amendment, actor: Actor,
                 when: When) -> Fired:
    changes = AmendmentChanges.model_validate(row.changes)
    action = MergeAmendment(number=row.number, kind=row.kind, reason=row.reason, changes=changes,
                            base_version=row.base_version, drafted=tuple(entry["path"] for entry in row.diff))
    try:
        outcome = await service.apply(session, agreement.id, actor, when, action)
    except AmendmentConflict as refused:
        try:
            diff = await _diff(session, agreement, changes, when)
        except InvalidInput:
            diff = row.diff
        await _claim(session, row, state=lifecycle.target(lifecycle.REOPEN, row.state), base_version=agreement.version,
                     diff=diff, updated_at=when.now)
        await session.execute(delete(AmendmentSignature).where(col(AmendmentSignature.amendment_id) == row.id))
        fresh = await _row(session, agreement.id, row.number)
        return Fired(await _read(session, agreement, fresh, actor), refused)
    assert outcome.change is not None
    await _claim(session, row, state=lifecycle.target(lifecycle.MERGE, row.state), diff=paths(outcome.change),
                 merged_at=when.now, merged_version=outcome.agreement.version, updated_at=when.now)
    return Fired(await _read(session, outcome.agreement, await _row(session, agreement.id, row.number), actor))


def _events(agreement: AgreementSnapshot, row: Amendment, signed: set[int], actor: Actor) -> list[str]:
    """The events `actor` may send to the amendment now."""
    if not policy.may_edit(actor, agreement):
        return []
    awaiting = [p for p in _signing(agreement) if p.id not in signed]
    events = []
    for event in lifecycle.allowed(row.state):
        if event == AmendmentEvent.SIGN:
            if not any(policy.signing_refusal(actor, agreement, p.organisation_id) is None for p in awaiting):
                continue
        elif event == AmendmentEvent.APPROVE:
            if row.kind != AmendmentKind.ADMINISTRATIVE or not any(
                    policy.approval_refusal(actor, agreement, p) is None for p in awaiting):
                continue
        events.append(event)
    return events


async def _read(session: AsyncSession, agreement: AgreementSnapshot, row: Amendment, actor: Actor) -> AmendmentRead:
    assert row.id is not None
    signatures = await _signatures(session, row.id)
    signed = {s.party_id for s in signatures}
    final = row.state in AmendmentState.FINAL
    awaiting = [] if final else [OrganisationRef.model_validate(p.organisation)
                                 for p in _signing(agreement) if p.id not in signed]
    return AmendmentRead(
        id=row.id, agreement_id=row.agreement_id, number=row.number, kind=row.kind, reason=row.reason,
        state=row.state, version=row.version, base_version=row.base_version, changes=row.changes,
        diff=row.diff, signatures=[AmendmentSignatureRead.model_validate(s) for s in signatures],
        awaiting=awaiting, available_events=_events(agreement, row, signed, actor),
        created_at=row.created_at, merged_at=row.merged_at, merged_version=row.merged_version)

