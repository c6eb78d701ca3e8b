"""Agreements and what they own: creating, editing, naming people, areas, deliverables, reading.

Every function here changes the agreement through `record_change`, so each
change bumps `version` by one, leaves a history row, and loses cleanly to a
concurrent writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlmodel import col

from engine import authority
from engine.access import IfMatch, in_reach, load_agreement, require_editor
from engine.clock import When
from engine.context import Actor
from engine.errors import Conflict, InvalidInput, NotFound, NotPermitted
from engine.events import available_events
from engine.history import record_change
from engine.machine import CompiledWorkflow, catalog
from engine.models import Agreement, CollaborationArea, Contact, Deliverable, Organisation, Party, Person
from engine.schemas import (
    AgreementCreate,
    AgreementRead,
    AgreementSummary,
    AgreementUpdate,
    AreaCreate,
    AreaRead,
    ContactCreate,
    ContactRead,
    DeliverableCreate,
    DeliverableRead,
    DeliverableUpdate,
    OrganisationRef,
    PartyCreate,
    PartyRead,
    PersonRef,
    SignatureRead,
    WorkflowRef,
)
from engine.statuses import ContactKind, DeliverableStatus, HistoryKind, PartyRole, Role

# What a partner may change on a deliverable they own.
_OWNER_FIELDS = frozenset({"status", "progress_note", "evidence_url"})


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _workflow_of(agreement: Agreement) -> CompiledWorkflow:
    return catalog().get(agreement.workflow_name, agreement.workflow_version)


def _require_open(agreement: Agreement, doing: str) -> CompiledWorkflow:
    workflow = _workflow_of(agreement)
    if workflow.is_final(agreement.state):
        raise Conflict(f"The agreement is {agreement.state}, a final state: you cannot {doing}.")
    return workflow


def _require_terms_editable(agreement: Agreement, fields: list[str]) -> None:
    workflow = _workflow_of(agreement)
    listed = ", ".join(sorted(fields))
    if not workflow.is_editable(agreement.state):
        editable = [name for name, s in workflow.spec.states.items() if s.editable]
        raise Conflict(
            f"The agreement is {agreement.state}: its terms ({listed}) can be edited only while it "
            f"is {' or '.join(editable)}. To change them now, withdraw it first or record a "
            "successor agreement."
        )
    if agreement.signatures:
        raise Conflict(f"A party has already signed, so the terms ({listed}) can no longer change.")


def _check_dates(effective_from: date | None, ends_on: date | None,
                 next_review_on: date | None) -> None:
    if effective_from and ends_on and ends_on <= effective_from:
        raise InvalidInput(f"ends_on ({ends_on}) must be after effective_from ({effective_from}).",
                           field="ends_on")
    if effective_from and next_review_on and next_review_on <= effective_from:
        raise InvalidInput(f"next_review_on ({next_review_on}) must be after effective_from "
                           f"({effective_from}).", field="next_review_on")


async def _check_predecessor(session: AsyncSession, predecessor_id: int | None, actor: Actor,
                             agreement_id: int | None = None) -> None:
    if predecessor_id is None:
        return
    if predecessor_id == agreement_id:
        raise InvalidInput("An agreement cannot be its own predecessor.", field="predecessor_id")
    found = await session.scalar(in_reach(select(col(Agreement.id)).where(col(Agreement.id) == predecessor_id), actor))
    if found is None:
        raise InvalidInput(f"There is no agreement {predecessor_id} that you can see to name as "
                           "predecessor.", field="predecessor_id")


# --- creating and editing --------------------------------------------------------------------

async def create_agreement(session: AsyncSession, data: AgreementCreate, actor: Actor, when: When) -> Agreement:
    if actor.role == Role.PARTNER:
        raise NotPermitted("Partners cannot create agreements; the staff of a party do.")
    try:
        workflow = catalog().latest(data.workflow)
    except NotFound as error:
        raise InvalidInput(error.detail, field="workflow") from None
    org_ids = [p.organisation_id for p in data.parties]
    found = set(await session.scalars(select(col(Organisation.id)).where(col(Organisation.id).in_(org_ids))))
    missing = [str(i) for i in org_ids if i not in found]
    if missing:
        raise InvalidInput(f"There is no organisation {', '.join(missing)}; create it first or "
                           "correct parties.", field="parties")
    if not actor.is_admin and actor.organisation_id not in org_ids:
        raise InvalidInput("Your organisation must be one of the parties of an agreement you "
                           "create.", field="parties")
    await _check_predecessor(session, data.predecessor_id, actor)

    terms = data.model_dump(exclude={"workflow", "parties", "areas"})
    agreement = Agreement(
        **terms, workflow_name=workflow.spec.name, workflow_version=workflow.spec.version,
        state=workflow.spec.initial, version=0, created_by_id=actor.person_id,
        created_at=when.now, updated_at=when.now,
    )
    agreement.parties = [Party(organisation_id=p.organisation_id, role=p.role) for p in data.parties]
    agreement.areas = [CollaborationArea(title=a.title, description=a.description, position=i)
                       for i, a in enumerate(data.areas)]
    agreement.contacts, agreement.signatures, agreement.deliverables = [], [], []
    session.add(agreement)
    await session.flush()
    await record_change(session, agreement, actor, when, kind=HistoryKind.CREATED, event="create",
                        to_state=agreement.state,
                        data={"workflow": workflow.spec.name, "workflow_version": workflow.spec.version})
    return await load_agreement(session, agreement.id or 0, actor)


async def update_agreement(session: AsyncSession, agreement_id: int, data: AgreementUpdate, actor: Actor,
                           when: When, *, if_match: IfMatch | None = None) -> Agreement:
    agreement = await load_agreement(session, agreement_id, actor, change_at=when, if_match=if_match)
    require_editor(actor, agreement)
    _require_open(agreement, "edit it")
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput("Nothing to change: send at least one field to edit.")
    if "title" in changes and changes["title"] is None:
        raise InvalidInput("title cannot be empty.", field="title")
    terms = [name for name in changes if name != "next_review_on"]
    if terms:
        _require_terms_editable(agreement, terms)
    merged = {name: changes.get(name, getattr(agreement, name))
              for name in ("effective_from", "ends_on", "next_review_on")}
    _check_dates(**merged)
    if "predecessor_id" in changes:
        await _check_predecessor(session, changes["predecessor_id"], actor, agreement.id)

    diff = {name: [_jsonable(getattr(agreement, name)), _jsonable(value)]
            for name, value in changes.items() if getattr(agreement, name) != value}
    if not diff:
        return agreement
    for name, value in changes.items():
        setattr(agreement, name, value)
    await record_change(session, agreement, actor, when, kind=HistoryKind.EDITED, event="edit",
                        data={"changes": diff})
    return agreement


async def add_party(session: AsyncSession, agreement_id: int, data: PartyCreate, actor: Actor,
                    when: When, *, if_match: IfMatch | None = None) -> Agreement:
    agreement = await load_agreement(session, agreement_id, actor, change_at=when, if_match=if_match)
    require_editor(actor, agreement)
    _require_terms_editable(agreement, ["parties"])
    organisation = await session.get(Organisation, data.organisation_id)
    if organisation is None:
        raise InvalidInput(f"There is no organisation {data.organisation_id}.", field="organisation_id")
    if any(p.organisation_id == data.organisation_id for p in agreement.parties):
        raise Conflict(f"{organisation.name} is already a party to this agreement.")
    agreement.parties.append(Party(organisation_id=data.organisation_id, role=data.role))
    await record_change(session, agreement, actor, when, kind=HistoryKind.EDITED, event="party_added",
                        data={"organisation_id": data.organisation_id, "role": data.role})
    return await load_agreement(session, agreement_id, actor)


async def name_contact(session: AsyncSession, agreement_id: int, data: ContactCreate, actor: Actor,
                       when: When, *, if_match: IfMatch | None = None) -> Contact:
    agreement = await load_agreement(session, agreement_id, actor, change_at=when, if_match=if_match)
    require_editor(actor, agreement)
    _require_open(agreement, "name people for it")
    person = await session.get(Person, data.person_id)
    if person is None:
        raise InvalidInput(f"There is no person {data.person_id}.", field="person_id")
    if not person.active:
        raise InvalidInput(f"{person.name} is disabled; name someone else, or ask an administrator or "
                           "their organisation's staff to enable them.", field="person_id")
    org_id = data.organisation_id or person.organisation_id
    party = next((p for p in agreement.parties if p.organisation_id == org_id), None)
    if party is None:
        raise InvalidInput(f"Organisation {org_id} is not a party to this agreement; a focal point "
                           "or signatory is named by one of its parties.", field="organisation_id")
    authority.require(authority.contact_refusal(actor, agreement, party))
    if person.organisation_id != party.organisation_id:
        raise InvalidInput(f"{person.name} belongs to {person.organisation.name}, not to "
                           f"{party.organisation.name}: each party names its own people.",
                           field="person_id")
    if data.kind == ContactKind.SIGNATORY and party.role != PartyRole.PARTY:
        raise InvalidInput(f"{party.organisation.name} supports this agreement and does not sign "
                           "it, so it names no signatory.", field="kind")
    if any(c.party_id == party.id and c.person_id == person.id and c.kind == data.kind
           for c in agreement.contacts):
        raise Conflict(f"{person.name} is already named {data.kind.replace('_', ' ')} for "
                       f"{party.organisation.name}.")
    assert party.id is not None
    assert agreement.id is not None
    contact = Contact(agreement_id=agreement.id, party_id=party.id, person_id=person.id or 0,
                      kind=data.kind, capacity=data.capacity, person=person)
    agreement.contacts.append(contact)
    facts: dict[str, Any] = {"person_id": person.id, "organisation_id": party.organisation_id,
                             "capacity": data.capacity}
    behalf = authority.on_behalf_of(actor, party)
    if behalf is not None:
        facts["on_behalf_of"] = behalf
    await record_change(session, agreement, actor, when, kind=HistoryKind.EDITED, event=f"{data.kind}_named",
                        data=facts)
    return contact


async def remove_contact(session: AsyncSession, agreement_id: int, contact_id: int, actor: Actor,
                         when: When, *, if_match: IfMatch | None = None) -> None:
    agreement = await load_agreement(session, agreement_id, actor, change_at=when, if_match=if_match)
    require_editor(actor, agreement)
    workflow = _require_open(agreement, "change who is named for it")
    contact = next((c for c in agreement.contacts if c.id == contact_id), None)
    if contact is None:
        raise NotFound(f"Agreement {agreement_id} has no focal point or signatory {contact_id}.")
    party = next(p for p in agreement.parties if p.id == contact.party_id)
    authority.require(authority.contact_refusal(actor, agreement, party))
    signature = next((s for s in agreement.signatures if contact.kind == ContactKind.SIGNATORY
                      and s.party_id == contact.party_id and s.signatory_id == contact.person_id), None)
    if signature is not None:
        hint = (" To change the signatory, withdraw the agreement from signature first (that "
                "clears the signatures)." if "withdraw" in workflow.allowed_events(agreement.state)
                else "")
        raise Conflict(f"{contact.person.name} signed for {party.organisation.name} on "
                       f"{signature.signed_on.isoformat()}, so they stay named as its signatory: "
                       f"a recorded signature keeps its signatory.{hint}")
    owned = [d.title for d in agreement.deliverables
             if d.owner_id == contact.person_id and contact.kind == ContactKind.FOCAL_POINT
             and not any(c.person_id == contact.person_id and c.kind == ContactKind.FOCAL_POINT and c.id != contact.id
                         for c in agreement.contacts)]
    if owned:
        raise Conflict(f"{contact.person.name} owns deliverables ({'; '.join(owned)}); give them "
                       "another owner first.")
    agreement.contacts.remove(contact)
    facts: dict[str, Any] = {"person_id": contact.person_id, "organisation_id": party.organisation_id}
    behalf = authority.on_behalf_of(actor, party)
    if behalf is not None:
        facts["on_behalf_of"] = behalf
    await record_change(session, agreement, actor, when, kind=HistoryKind.EDITED, event=f"{contact.kind}_removed",
                        data=facts)


async def add_area(session: AsyncSession, agreement_id: int, data: AreaCreate, actor: Actor,
                   when: When, *, if_match: IfMatch | None = None) -> CollaborationArea:
    agreement = await load_agreement(session, agreement_id, actor, change_at=when, if_match=if_match)
    require_editor(actor, agreement)
    _require_open(agreement, "add areas of collaboration")
    if any(a.title.casefold() == data.title.casefold() for a in agreement.areas):
        raise Conflict(f"The agreement already has an area of collaboration titled {data.title!r}.")
    area = CollaborationArea(agreement_id=agreement_id, title=data.title, description=data.description,
                             position=len(agreement.areas))
    agreement.areas.append(area)
    await record_change(session, agreement, actor, when, kind=HistoryKind.EDITED, event="area_added",
                        data={"title": data.title})
    return area


async def add_deliverable(session: AsyncSession, agreement_id: int, area_id: int, data: DeliverableCreate,
                          actor: Actor, when: When, *, if_match: IfMatch | None = None) -> Deliverable:
    agreement = await load_agreement(session, agreement_id, actor, change_at=when, if_match=if_match)
    require_editor(actor, agreement)
    _require_open(agreement, "add deliverables")
    if not any(a.id == area_id for a in agreement.areas):
        raise NotFound(f"Agreement {agreement_id} has no area of collaboration {area_id}.")
    _check_owner(agreement, data.owner_id)
    deliverable = Deliverable(agreement_id=agreement_id, area_id=area_id, **data.model_dump(),
                              completed_on=when.today if data.status == DeliverableStatus.DONE else None,
                              created_at=when.now, updated_at=when.now)
    agreement.deliverables.append(deliverable)
    await record_change(session, agreement, actor, when, kind=HistoryKind.EDITED, event="deliverable_added",
                        data={"title": data.title, "area_id": area_id, "owner_id": data.owner_id,
                              "due_on": _jsonable(data.due_on)})
    return deliverable


def _check_owner(agreement: Agreement, owner_id: int | None) -> None:
    if owner_id is None:
        return
    focal = [c for c in agreement.contacts if c.person_id == owner_id and c.kind == ContactKind.FOCAL_POINT]
    if not focal:
        raise InvalidInput(f"Person {owner_id} is not a focal point of this agreement; a deliverable "
                           "is owned by one of its focal points.", field="owner_id")
    if not focal[0].person.active:
        raise InvalidInput(f"{focal[0].person.name} is disabled; give the deliverable an active focal point "
                           "as owner.", field="owner_id")


async def update_deliverable(session: AsyncSession, deliverable_id: int, data: DeliverableUpdate,
                             actor: Actor, when: When, *, if_match: IfMatch | None = None) -> Deliverable:
    agreement_id = await session.scalar(
        select(col(Deliverable.agreement_id)).where(col(Deliverable.id) == deliverable_id))
    if agreement_id is None:
        raise NotFound(f"There is no deliverable {deliverable_id} that you can see.")
    try:
        agreement = await load_agreement(session, agreement_id, actor, change_at=when, if_match=if_match)
    except NotFound:
        raise NotFound(f"There is no deliverable {deliverable_id} that you can see.") from None
    deliverable = next(d for d in agreement.deliverables if d.id == deliverable_id)
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput("Nothing to change: send at least one field to update.")
    if actor.role == Role.PARTNER:
        if deliverable.owner_id != actor.person_id:
            raise NotPermitted("You can update only the deliverables you own.")
        beyond = sorted(set(changes) - _OWNER_FIELDS)
        if beyond:
            raise NotPermitted(f"As the deliverable's owner you may update status, progress_note and "
                               f"evidence_url, not {', '.join(beyond)}.")
    else:
        require_editor(actor, agreement)
    _require_open(agreement, "update its deliverables")
    for required in ("title", "status"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required} cannot be empty.", field=required)
    if "owner_id" in changes:
        _check_owner(agreement, changes["owner_id"])
    diff = {name: [_jsonable(getattr(deliverable, name)), _jsonable(value)]
            for name, value in changes.items() if getattr(deliverable, name) != value}
    if not diff:
        return deliverable
    for name, value in changes.items():
        setattr(deliverable, name, value)
    if "status" in diff:
        deliverable.completed_on = when.today if deliverable.status == DeliverableStatus.DONE else None
    deliverable.updated_at = when.now
    await record_change(session, agreement, actor, when, kind=HistoryKind.EDITED, event="deliverable_updated",
                        comment=changes.get("progress_note"),
                        data={"deliverable_id": deliverable_id, "changes": diff})
    return deliverable


# --- reading ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgreementFilters:
    state: list[str] | None = None
    party: int | None = None
    review_due_before: date | None = None
    q: str | None = None
    workflow: str | None = None


async def list_agreements(session: AsyncSession, actor: Actor, filters: AgreementFilters, *,
                          limit: int, offset: int) -> tuple[list[Agreement], int]:
    query = in_reach(select(Agreement), actor)
    if filters.state:
        query = query.where(col(Agreement.state).in_(filters.state))
    if filters.workflow:
        query = query.where(col(Agreement.workflow_name) == filters.workflow)
    if filters.party is not None:
        query = query.where(col(Agreement.id).in_(
            select(col(Party.agreement_id)).where(col(Party.organisation_id) == filters.party)))
    if filters.review_due_before is not None:
        query = query.where(col(Agreement.next_review_on) < filters.review_due_before)
    if filters.q:
        pattern = "%" + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(col(Agreement.title).ilike(pattern, escape="\\"),
                                col(Agreement.summary).ilike(pattern, escape="\\")))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.options(selectinload(Agreement.parties))  # type: ignore[arg-type]
        .order_by(col(Agreement.id)).limit(limit).offset(offset)
    )
    return list(rows), total


def summarise(agreement: Agreement) -> AgreementSummary:
    return AgreementSummary(
        id=agreement.id or 0, title=agreement.title, state=agreement.state,
        workflow=WorkflowRef(name=agreement.workflow_name, version=agreement.workflow_version),
        version=agreement.version,
        parties=[OrganisationRef.model_validate(p.organisation) for p in agreement.parties],
        effective_from=agreement.effective_from, ends_on=agreement.ends_on,
        next_review_on=agreement.next_review_on, updated_at=agreement.updated_at,
    )


def read_deliverable(deliverable: Deliverable, today: date) -> DeliverableRead:
    overdue = (deliverable.status in DeliverableStatus.OPEN and deliverable.due_on is not None
               and deliverable.due_on < today)
    return DeliverableRead.model_validate({**deliverable.model_dump(), "overdue": overdue})


def read_agreement(agreement: Agreement, actor: Actor, when: When) -> AgreementRead:
    workflow = _workflow_of(agreement)
    events, unmet = available_events(workflow, agreement, actor, when)
    parties = []
    for party in agreement.parties:
        contacts = [c for c in agreement.contacts if c.party_id == party.id]
        signature = next((s for s in agreement.signatures if s.party_id == party.id), None)
        parties.append(PartyRead(
            id=party.id or 0, organisation=OrganisationRef.model_validate(party.organisation),
            role=party.role,
            focal_points=[_contact(c) for c in contacts if c.kind == ContactKind.FOCAL_POINT],
            signatories=[_contact(c) for c in contacts if c.kind == ContactKind.SIGNATORY],
            signature=SignatureRead.model_validate(signature) if signature else None,
        ))
    areas = [AreaRead(id=a.id or 0, title=a.title, description=a.description, position=a.position,
                      deliverables=[read_deliverable(d, when.today) for d in agreement.deliverables
                                    if d.area_id == a.id])
             for a in agreement.areas]
    state = workflow.spec.states[agreement.state]
    return AgreementRead(
        **agreement.model_dump(exclude={"workflow_name", "workflow_version", "created_by_id"}),
        workflow=WorkflowRef(name=agreement.workflow_name, version=agreement.workflow_version),
        state_label=state.label, final=state.final,
        editable=state.editable and not agreement.signatures,
        parties=parties, areas=areas, available_events=events, unmet_conditions=unmet,
    )


def _contact(contact: Contact) -> ContactRead:
    return ContactRead(id=contact.id or 0, person=PersonRef.model_validate(contact.person),
                       kind=contact.kind, capacity=contact.capacity)
