"""Reading agreements: the list (a simple query within reach), and the answers built from a snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlmodel import col

from engine.access import in_reach
from engine.agreements import policy
from engine.agreements.values import (
    AgreementSnapshot,
    AreaValue,
    ContactValue,
    DeliverableValue,
    DocumentValue,
    columns_of,
)
from engine.clock import When
from engine.context import Actor
from engine.errors import NotFound
from engine.i18n import gettext
from engine.models import Agreement, CollaborationArea, Deliverable, Document, HistoryEvent, Party
from engine.schemas import (
    AgreementRead,
    AgreementSummary,
    AmendmentRef,
    AreaRead,
    ContactRead,
    DeliverableRead,
    DocumentRead,
    OrganisationRef,
    PartyRead,
    PersonRef,
    SignatureRead,
    WorkflowRef,
)
from engine.statuses import ContactKind, DeliverableStatus
from engine.workflow.machine import catalog


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


def read_deliverable(deliverable: DeliverableValue, today: date) -> DeliverableRead:
    overdue = (deliverable.status in DeliverableStatus.OPEN and deliverable.due_on is not None
               and deliverable.due_on < today)
    return DeliverableRead.model_validate({**columns_of(deliverable), "overdue": overdue})


def read_area(agreement: AgreementSnapshot, area: AreaValue, today: date) -> AreaRead:
    """An area with its deliverables."""
    return AreaRead(id=area.id, title=area.title, description=area.description, position=area.position,
                    deliverables=[read_deliverable(d, today) for d in agreement.deliverables
                                  if d.area_id == area.id])


def read_contact(contact: ContactValue) -> ContactRead:
    return ContactRead(id=contact.id, person=PersonRef.model_validate(contact.person),
                       kind=contact.kind, capacity=contact.capacity)


_NOT_ANSWERED = ("workflow_name", "workflow_version", "created_by_id")


def read_agreement(agreement: AgreementSnapshot, actor: Actor, when: When) -> AgreementRead:
    """The agreement as `GET` answers it."""
    workflow = catalog().get(agreement.workflow_name, agreement.workflow_version)
    events, unmet = policy.available_events(workflow, agreement, actor, when)
    parties = []
    for party in agreement.parties:
        contacts = [c for c in agreement.contacts if c.party_id == party.id]
        signature = agreement.signature_of(party.id)
        parties.append(PartyRead(
            id=party.id, organisation=OrganisationRef.model_validate(party.organisation),
            role=party.role,
            focal_points=[read_contact(c) for c in contacts if c.kind == ContactKind.FOCAL_POINT],
            signatories=[read_contact(c) for c in contacts if c.kind == ContactKind.SIGNATORY],
            signature=SignatureRead.model_validate(signature) if signature else None,
        ))
    areas = [read_area(agreement, a, when.today) for a in agreement.areas]
    state = workflow.spec.states[agreement.state]
    columns = agreement.columns()
    for name in _NOT_ANSWERED:
        del columns[name]
    return AgreementRead(
        **columns,
        workflow=WorkflowRef(name=agreement.workflow_name, version=agreement.workflow_version),
        state_label=state.label, final=state.final,
        editable=policy.terms_editable(workflow, agreement),
        successor_id=agreement.successor_id,
        parties=parties, areas=areas, available_events=events, unmet_conditions=unmet,
        amendments=[AmendmentRef(number=m.number, kind=m.kind, state=m.state) for m in agreement.amendments],
    )


async def list_history(
    session: AsyncSession, agreement_id: int, *, limit: int, offset: int
) -> tuple[list[HistoryEvent], int]:
    query = select(HistoryEvent).where(col(HistoryEvent.agreement_id) == agreement_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(col(HistoryEvent.version)).limit(limit).offset(offset))
    return list(rows), total


async def agreement_of_deliverable(session: AsyncSession, deliverable_id: int, actor: Actor) -> int:
    """The agreement a deliverable belongs to, if `actor` reaches it (`NotFound` otherwise)."""
    agreement_id = await session.scalar(in_reach(
        select(col(Deliverable.agreement_id)).where(col(Deliverable.id) == deliverable_id), actor,
        Deliverable.agreement_id))
    if agreement_id is None:
        raise NotFound(gettext("There is no deliverable %(id)s that you can see.") % {"id": deliverable_id})
    return int(agreement_id)


async def agreement_of_document(session: AsyncSession, document_id: int, actor: Actor) -> int:
    """The agreement a document is kept with, if `actor` reaches it (`NotFound` otherwise)."""
    agreement_id = await session.scalar(in_reach(
        select(col(Document.agreement_id)).where(col(Document.id) == document_id), actor, Document.agreement_id))
    if agreement_id is None:
        raise NotFound(gettext("There is no document %(id)s that you can see.") % {"id": document_id})
    return int(agreement_id)


def read_document(document: DocumentValue) -> DocumentRead:
    return DocumentRead(
        id=document.id, agreement_id=document.agreement_id, kind=document.kind, title=document.title,
        filename=document.filename, content_type=document.content_type, size=document.size,
        sha256=document.sha256, uploaded_by=document.uploaded_by_id, uploaded_at=document.uploaded_at,
        deliverable_id=document.deliverable_id, amendment_id=document.amendment_id,
        withdrawn_at=document.withdrawn_at, withdrawn_by=document.withdrawn_by_id,
        withdrawn_reason=document.withdrawn_reason)


async def agreement_of_area(session: AsyncSession, area_id: int, actor: Actor) -> int:
    """The agreement an area of collaboration belongs to, if `actor` reaches it (`NotFound` otherwise)."""
    agreement_id = await session.scalar(in_reach(
        select(col(CollaborationArea.agreement_id)).where(col(CollaborationArea.id) == area_id), actor,
        CollaborationArea.agreement_id))
    if agreement_id is None:
        raise NotFound(gettext("There is no area of collaboration %(id)s that you can see.") % {"id": area_id})
    return int(agreement_id)
