"""The overview's figures and the CSV exports, scoped like every other read.

    summary                 counts by state, what falls due in the next `days` days, overdue
                            deliverables grouped by partner organisation and by area
    week                    what needs an organisation in the 7 days from `when.today`: the
                            signatures it owes, the reviews due, its people's deliverables
                            (due or overdue) by owner; for an administrator, every organisation
    agreement_csv_rows      the agreements a filter selects, as CSV rows (header first)
    deliverable_csv_rows    their deliverables, as CSV rows (header first)

Admins see every agreement; everyone else the agreements their organisation is party to
(`engine.access.in_reach`). "Falls due" and "overdue" count only agreements that are not in
a final state: a terminated agreement's late deliverable is nobody's task any more.

The exports page through `engine.agreements.list_agreements`, so their filters are the list
endpoint's, and every cell that a spreadsheet would run as a formula (it starts with `=`,
`+`, `-`, `@`, a tab or a carriage return) is prefixed with a single quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from engine.access import in_reach, with_parts
from engine.agreements.reading import AgreementFilters, list_agreements
from engine.clock import When
from engine.context import Actor
from engine.days import usable
from engine.models import Agreement, CollaborationArea, Contact, Deliverable, Organisation, Party, Person, Signature
from engine.statuses import ContactKind, DeliverableStatus, Language, PartyRole
from engine.workflow.machine import catalog
from engine.workflow.rules import notice_deadline

# --- the summary -------------------------------------------------------------------------------

class DueItem(BaseModel):
    kind: str  # review, notice, expiry, deliverable
    due_on: date
    what: str
    deliverable_id: int | None = None


class DueAgreement(BaseModel):
    id: int
    title: str
    state: str
    first_due_on: date
    items: list[DueItem]


class OverdueDeliverable(BaseModel):
    id: int
    title: str
    status: str
    due_on: date
    days_overdue: int
    agreement_id: int
    agreement_title: str
    area_id: int
    area: str
    owner_id: int | None
    owner: str | None


class OrganisationGroup(BaseModel):
    organisation_id: int | None  # the owner's organisation; None: deliverables nobody owns
    organisation: str
    count: int
    deliverables: list[OverdueDeliverable]


class AreaGroup(BaseModel):
    area_id: int
    area: str
    agreement_id: int
    agreement_title: str
    count: int
    deliverables: list[OverdueDeliverable]


class Overdue(BaseModel):
    total: int
    by_organisation: list[OrganisationGroup]
    by_area: list[AreaGroup]


class Summary(BaseModel):
    as_of: date
    days: int
    total: int
    by_state: dict[str, int]
    due_soon: list[DueAgreement]
    overdue: Overdue


async def summary(session: AsyncSession, actor: Actor, today: date, days: int) -> Summary:
    reach = in_reach(select(col(Agreement.id)), actor)
    counts: dict[str, int] = {state: count for state, count in (await session.execute(
        select(col(Agreement.state), func.count()).where(col(Agreement.id).in_(reach))
        .group_by(col(Agreement.state)).order_by(col(Agreement.state))))}
    agreements = [a for a in await session.scalars(
        in_reach(select(Agreement), actor).options(*with_parts()).order_by(col(Agreement.id)))
        if not catalog().get(a.workflow_name, a.workflow_version).is_final(a.state)]
    owners = await _people(session, {d.owner_id for a in agreements for d in a.deliverables if d.owner_id})
    horizon = today + timedelta(days=days)
    due_soon = [due for a in agreements if (due := _due_soon(a, today, horizon)) is not None]
    due_soon.sort(key=lambda d: (d.first_due_on, d.id))
    return Summary(as_of=today, days=days, total=sum(counts.values()), by_state=counts,
                   due_soon=due_soon, overdue=_overdue(agreements, owners, today))


def _due_soon(agreement: Agreement, today: date, horizon: date) -> DueAgreement | None:
    items: list[DueItem] = []

    def add(kind: str, day: date | None, what: str, deliverable_id: int | None = None) -> None:
        if day is not None and today <= day <= horizon:
            items.append(DueItem(kind=kind, due_on=day, what=what, deliverable_id=deliverable_id))

    add("review", usable(agreement.next_review_on), "review the agreement")
    add("notice", notice_deadline(agreement), "last day to give notice")
    add("expiry", usable(agreement.ends_on), "the agreement ends")
    for deliverable in agreement.deliverables:
        if deliverable.status in DeliverableStatus.OPEN:
            add("deliverable", usable(deliverable.due_on), f"deliverable due: {deliverable.title}",
                deliverable.id)
    if not items:
        return None
    items.sort(key=lambda i: (i.due_on, i.kind))
    return DueAgreement(id=agreement.id or 0, title=agreement.title, state=agreement.state,
                        first_due_on=items[0].due_on, items=items)


def _overdue(agreements: list[Agreement], owners: dict[int, Person], today: date) -> Overdue:
    rows: list[tuple[OverdueDeliverable, Person | None]] = []
    for agreement in agreements:
        areas = {a.id: a.title for a in agreement.areas}
        for d in agreement.deliverables:
            if d.status in DeliverableStatus.OPEN and d.due_on is not None and d.due_on < today:
                owner = owners.get(d.owner_id) if d.owner_id else None
                rows.append((OverdueDeliverable(
                    id=d.id or 0, title=d.title, status=d.status, due_on=d.due_on,
                    days_overdue=(today - d.due_on).days, agreement_id=agreement.id or 0,
                    agreement_title=agreement.title, area_id=d.area_id, area=areas.get(d.area_id, ""),
                    owner_id=d.owner_id, owner=owner.name if owner else None), owner))
    rows.sort(key=lambda r: (r[0].due_on, r[0].id))
    by_org: dict[int | None, OrganisationGroup] = {}
    by_area: dict[int, AreaGroup] = {}
    for item, owner in rows:
        org_id = owner.organisation_id if owner else None
        group = by_org.setdefault(org_id, OrganisationGroup(
            organisation_id=org_id, organisation=owner.organisation.name if owner else "(no owner)",
            count=0, deliverables=[]))
        group.count += 1
        group.deliverables.append(item)
        area = by_area.setdefault(item.area_id, AreaGroup(
            area_id=item.area_id, area=item.area, agreement_id=item.agreement_id,
            agreement_title=item.agreement_title, count=0, deliverables=[]))
        area.count += 1
        area.deliverables.append(item)
    return Overdue(total=len(rows),
                   by_organisation=sorted(by_org.values(), key=lambda g: (-g.count, g.organisation)),
                   by_area=sorted(by_area.values(), key=lambda g: (-g.count, g.area, g.area_id)))


async def _people(session: AsyncSession, ids: set[int]) -> dict[int, Person]:
    if not ids:
        return {}
    return {p.id or 0: p for p in await session.scalars(select(Person).where(col(Person.id).in_(ids)))}


# --- the week: what needs an organisation -----------------------------------------------------

WEEK_DAYS = 7
REVIEW_DATE = "next_review_on"  # the date a workflow's timer starts a review on
SIGNING_EFFECT = "record_signature"  # the effect of the event by which a party signs


class AwaitedSignature(BaseModel):
    agreement_id: int
    agreement_title: str
    signatories: list[str]  # the names the party gave as its signatories; empty: none named yet


class ReviewDue(BaseModel):
    agreement_id: int
    agreement_title: str
    due_on: date
    days_overdue: int  # 0: due today or later this week
    focal_points: list[str]


class WeekDeliverable(BaseModel):
    id: int
    title: str
    status: str
    due_on: date
    days_overdue: int  # 0: due today or later this week
    agreement_id: int
    agreement_title: str


class OwnerWeek(BaseModel):
    owner_id: int | None  # None: deliverables nobody owns yet
    owner: str | None
    deliverables: list[WeekDeliverable]


class OrganisationWeek(BaseModel):
    organisation_id: int | None  # None (administrators only): deliverables nobody owns
    organisation: str
    signatures: list[AwaitedSignature]
    reviews: list[ReviewDue]
    owners: list[OwnerWeek]


class Week(BaseModel):
    starts_on: date
    ends_on: date  # the last of the 7 days, included
    organisations: list[OrganisationWeek]


async def week(session: AsyncSession, actor: Actor, when: When) -> Week:
    """What needs the actor's organisation in the 7 days from `when.today` (the reader's day):
    the signatures it owes on agreements pending signature, with its signatories; the reviews
    due by the week's end (or already past) on agreements in a state whose timer starts a review;
    and the open deliverables its people own (or nobody owns) due by the week's end, overdue
    ones included, by owner. Administrators have no party of their own: they get every
    organisation that has something, by name. Final agreements ask nothing of anyone."""
    today = when.today
    ends_on = today + timedelta(days=WEEK_DAYS - 1)
    workflows = catalog().workflows.values()
    signing = {(w.spec.name, w.spec.version, s) for w in workflows for s in w.spec.states
               if any(SIGNING_EFFECT in w.spec.events[e].effects for e in w.allowed_events(s))}
    reviewing = {(w.spec.name, w.spec.version, s) for w in workflows for t in w.spec.timers
                 if t.date_name == REVIEW_DATE for s in t.states}
    reach = in_reach(select(col(Agreement.id)), actor)
    ours = [] if actor.is_admin else [col(Party.organisation_id) == actor.organisation_id]

    parties = (await session.execute(
        select(col(Party.id), col(Party.organisation_id), col(Organisation.name), col(Agreement.id),
               col(Agreement.title), col(Agreement.workflow_name), col(Agreement.workflow_version),
               col(Agreement.state), col(Agreement.next_review_on))
        .join(Agreement, col(Agreement.id) == col(Party.agreement_id))
        .join(Organisation, col(Organisation.id) == col(Party.organisation_id))
        .where(col(Party.agreement_id).in_(reach), col(Party.role) == PartyRole.PARTY,
               col(Agreement.state).in_(sorted({s for _, _, s in signing | reviewing})), *ours)
        .order_by(col(Agreement.id)))).all()
    party_ids = [row[0] for row in parties]
    signed = set(await session.scalars(
        select(col(Signature.party_id)).where(col(Signature.party_id).in_(party_ids)))) if party_ids else set()
    named: dict[tuple[int | None, str], list[str]] = {}
    if party_ids:
        for contact_party, kind, name in await session.execute(
                select(col(Contact.party_id), col(Contact.kind), col(Person.name))
                .join(Person, col(Person.id) == col(Contact.person_id))
                .where(col(Contact.party_id).in_(party_ids)).order_by(col(Contact.id))):
            named.setdefault((contact_party, kind), []).append(name)

    groups: dict[int | None, OrganisationWeek] = {}

    def group(organisation_id: int | None, name: str) -> OrganisationWeek:
        return groups.setdefault(organisation_id, OrganisationWeek(
            organisation_id=organisation_id, organisation=name, signatures=[], reviews=[], owners=[]))

    if not actor.is_admin:  # their own organisation, even when nothing needs it
        own = await session.get(Organisation, actor.organisation_id)
        group(actor.organisation_id, own.name if own else "")
    for party_id, org_id, org_name, agreement_id, title, workflow, version, state, review_on in parties:
        if (workflow, version, state) in signing and party_id not in signed:
            group(org_id, org_name).signatures.append(AwaitedSignature(
                agreement_id=agreement_id, agreement_title=title,
                signatories=named.get((party_id, ContactKind.SIGNATORY), [])))
        due_on = usable(review_on)
        if (workflow, version, state) in reviewing and due_on is not None and due_on <= ends_on:
            group(org_id, org_name).reviews.append(ReviewDue(
                agreement_id=agreement_id, agreement_title=title, due_on=due_on,
                days_overdue=max(0, (today - due_on).days),
                focal_points=named.get((party_id, ContactKind.FOCAL_POINT), [])))

    owned = [] if actor.is_admin else [(col(Person.organisation_id) == actor.organisation_id)
                                       | col(Deliverable.owner_id).is_(None)]
    deliverables = (await session.execute(
        select(Deliverable, Person, col(Organisation.name), col(Agreement.title), col(Agreement.workflow_name),
               col(Agreement.workflow_version), col(Agreement.state))
        .join(Agreement, col(Agreement.id) == col(Deliverable.agreement_id))
        .outerjoin(Person, col(Person.id) == col(Deliverable.owner_id))
        .outerjoin(Organisation, col(Organisation.id) == col(Person.organisation_id))
        .where(col(Deliverable.agreement_id).in_(reach), col(Deliverable.status).in_(DeliverableStatus.OPEN),
               col(Deliverable.due_on) <= ends_on, *owned)
        .order_by(col(Deliverable.due_on), col(Deliverable.id)))).all()
    by_owner: dict[tuple[int | None, int | None], OwnerWeek] = {}
    for d, owner, org_name, title, workflow, version, state in deliverables:
        due_on = usable(d.due_on)
        if due_on is None or catalog().get(workflow, version).is_final(state):
            continue
        owners_org = owner.organisation_id if owner else (None if actor.is_admin else actor.organisation_id)
        key = (owners_org, d.owner_id)
        if key not in by_owner:
            by_owner[key] = OwnerWeek(owner_id=d.owner_id, owner=owner.name if owner else None, deliverables=[])
            group(owners_org, org_name if owner else "Deliverables nobody owns").owners.append(by_owner[key])
        by_owner[key].deliverables.append(WeekDeliverable(
            id=d.id or 0, title=d.title, status=d.status, due_on=due_on,
            days_overdue=max(0, (today - due_on).days), agreement_id=d.agreement_id, agreement_title=title))

    for g in groups.values():
        g.reviews.sort(key=lambda r: (r.due_on, r.agreement_id))
        g.owners.sort(key=lambda o: (o.owner is None, o.owner or "", o.owner_id or 0))
    return Week(starts_on=today, ends_on=ends_on,
                organisations=sorted(groups.values(), key=lambda g: (g.organisation_id is None, g.organisation)))


# --- CSV exports -------------------------------------------------------------------------------

AGREEMENT_COLUMNS = [
    "id", "title", "workflow", "workflow_version", "state", "version", "parties", "supporters",
    "effective_from", "ends_on", "review_every_months", "next_review_on", "notice_period_days",
    "signed_on", "signing_place", "focal_points", "signatories", "areas", "updated_at",
    "predecessor_id", "successor_id",
]
DELIVERABLE_COLUMNS = [
    "id", "agreement_id", "agreement", "area", "title", "owner", "owner_name", "due_on", "status",
    "overdue", "completed_on", "progress_note", "evidence_url", "updated_at",
]

# Each column's heading in French and Spanish (docs/glossary.md); in English it is the column's
# name, which `accord import` and the API's documentation use. Only the header row is translated:
# the values stay the machine's (states, statuses, days), so a file reads back the same in any
# language, and the importer takes a header in any of them (`column_of`).
HEADINGS: dict[str, dict[Language, str]] = {
    "id": {Language.FR: "numéro", Language.ES: "número"},
    "title": {Language.FR: "titre", Language.ES: "título"},
    "workflow": {Language.FR: "procédure", Language.ES: "procedimiento"},
    "workflow_version": {Language.FR: "version de la procédure", Language.ES: "versión del procedimiento"},
    "state": {Language.FR: "état", Language.ES: "estado"},
    "version": {Language.FR: "version", Language.ES: "versión"},
    "parties": {Language.FR: "parties", Language.ES: "partes"},
    "supporters": {Language.FR: "partenaires d'appui", Language.ES: "entidades de apoyo"},
    "effective_from": {Language.FR: "en vigueur le", Language.ES: "vigente desde"},
    "ends_on": {Language.FR: "fin le", Language.ES: "fecha de fin"},
    "review_every_months": {Language.FR: "révision tous les (mois)", Language.ES: "revisión cada (meses)"},
    "next_review_on": {Language.FR: "prochaine révision", Language.ES: "próxima revisión"},
    "notice_period_days": {Language.FR: "préavis (jours)", Language.ES: "plazo de preaviso (días)"},
    "signed_on": {Language.FR: "signé le", Language.ES: "firmado el"},
    "signing_place": {Language.FR: "lieu de signature", Language.ES: "lugar de firma"},
    "focal_points": {Language.FR: "points focaux", Language.ES: "puntos focales"},
    "signatories": {Language.FR: "signataires", Language.ES: "signatarios"},
    "areas": {Language.FR: "domaines de collaboration", Language.ES: "ámbitos de colaboración"},
    "updated_at": {Language.FR: "modifié le", Language.ES: "modificado el"},
    "predecessor_id": {Language.FR: "numéro du prédécesseur", Language.ES: "número del predecesor"},
    "successor_id": {Language.FR: "numéro du successeur", Language.ES: "número del sucesor"},
    "agreement_id": {Language.FR: "numéro de l'accord", Language.ES: "número del acuerdo"},
    "agreement": {Language.FR: "accord", Language.ES: "acuerdo"},
    "area": {Language.FR: "domaine de collaboration", Language.ES: "ámbito de colaboración"},
    "owner": {Language.FR: "responsable", Language.ES: "responsable"},
    "owner_name": {Language.FR: "nom du responsable", Language.ES: "nombre del responsable"},
    "due_on": {Language.FR: "date d'échéance", Language.ES: "fecha de vencimiento"},
    "status": {Language.FR: "statut", Language.ES: "estado del entregable"},
    "overdue": {Language.FR: "en retard", Language.ES: "con retraso"},
    "completed_on": {Language.FR: "terminé le", Language.ES: "completado el"},
    "progress_note": {Language.FR: "note d'avancement", Language.ES: "nota de avance"},
    "evidence_url": {Language.FR: "lien du justificatif", Language.ES: "enlace del justificante"},
    "summary": {Language.FR: "résumé", Language.ES: "resumen"},
    "description": {Language.FR: "description", Language.ES: "descripción"},
}


def heading(column: str, language: Language) -> str:
    """`column`'s heading in `language` (its own name in English)."""
    return column if language == Language.EN else HEADINGS[column][language]


def column_of(heading: str) -> str:
    """The column a header cell names, in any language (`heading`'s inverse, case and spaces
    aside); a heading no language has is returned as it is, for the importer to name."""
    wanted = heading.strip().casefold()
    for column, words in HEADINGS.items():
        if wanted in (column, *(word.casefold() for word in words.values())):
            return column
    return heading


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_BATCH = 200


def safe_cell(value: Any) -> str:
    """A cell as text that no spreadsheet runs as a formula."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, date) else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_line(cells: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(c) for c in cells])
    return buffer.getvalue()


async def _pages(session: AsyncSession, actor: Actor, filters: AgreementFilters) -> AsyncIterator[list[Agreement]]:
    offset = 0
    while True:
        rows, _total = await list_agreements(session, actor, filters, limit=_BATCH, offset=offset)
        if not rows:
            return
        yield rows
        offset += len(rows)


async def agreement_csv_rows(session: AsyncSession, actor: Actor, filters: AgreementFilters,
                             language: Language = Language.EN) -> AsyncIterator[str]:
    yield csv_line(heading(column, language) for column in AGREEMENT_COLUMNS)
    async for page in _pages(session, actor, filters):
        ids = [a.id for a in page]
        contacts = list(await session.scalars(
            select(Contact).where(col(Contact.agreement_id).in_(ids)).order_by(col(Contact.id))))
        areas = list(await session.scalars(
            select(CollaborationArea).where(col(CollaborationArea.agreement_id).in_(ids))
            .order_by(col(CollaborationArea.agreement_id), col(CollaborationArea.position))))
        # Each one's successor, as GET says it: the newest agreement naming it as predecessor.
        successors: dict[Any, Any] = {predecessor: successor for predecessor, successor in await session.execute(
            select(col(Agreement.predecessor_id), func.max(col(Agreement.id)))
            .where(col(Agreement.predecessor_id).in_(ids)).group_by(col(Agreement.predecessor_id)))}
        for a in page:
            org_names = {p.id: p.organisation.name for p in a.parties}
            people = [c for c in contacts if c.agreement_id == a.id]

            def named(kind: str, people: list[Contact] = people, org_names: dict[Any, str] = org_names) -> str:
                return "; ".join(f"{org_names.get(c.party_id, '')}: {c.person.email}"
                                 for c in people if c.kind == kind)

            yield csv_line([
                a.id, a.title, a.workflow_name, a.workflow_version, a.state, a.version,
                "; ".join(p.organisation.name for p in a.parties if p.role == PartyRole.PARTY),
                "; ".join(p.organisation.name for p in a.parties if p.role == PartyRole.SUPPORTER),
                a.effective_from, a.ends_on, a.review_every_months, a.next_review_on,
                a.notice_period_days, a.signed_on, a.signing_place,
                named(ContactKind.FOCAL_POINT), named(ContactKind.SIGNATORY),
                "; ".join(r.title for r in areas if r.agreement_id == a.id),
                a.updated_at.isoformat(), a.predecessor_id, successors.get(a.id),
            ])


async def deliverable_csv_rows(session: AsyncSession, actor: Actor, filters: AgreementFilters,
                               today: date, language: Language = Language.EN) -> AsyncIterator[str]:
    yield csv_line(heading(column, language) for column in DELIVERABLE_COLUMNS)
    async for page in _pages(session, actor, filters):
        titles = {a.id: a.title for a in page}
        rows = await session.execute(
            select(Deliverable, col(CollaborationArea.title), Person)
            .join(CollaborationArea, col(CollaborationArea.id) == col(Deliverable.area_id))
            .outerjoin(Person, col(Person.id) == col(Deliverable.owner_id))
            .where(col(Deliverable.agreement_id).in_(list(titles)))
            .order_by(col(Deliverable.agreement_id), col(CollaborationArea.position), col(Deliverable.id)))
        for d, area, owner in rows:
            overdue = d.status in DeliverableStatus.OPEN and d.due_on is not None and d.due_on < today
            yield csv_line([
                d.id, d.agreement_id, titles[d.agreement_id], area, d.title,
                owner.email if owner else None, owner.name if owner else None, d.due_on, d.status,
                "yes" if overdue else "no", d.completed_on, d.progress_note, d.evidence_url,
                d.updated_at.isoformat(),
            ])

