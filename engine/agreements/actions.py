"""What can be done to an agreement, each as a value: `decide` checks it with the policy and
returns the change it makes (a `ChangeSet`), or None when it changes nothing.

An action does no write: `engine.agreements.service.apply` hands it the snapshot (read within
the actor's reach, If-Match already checked) and the agreement's workflow, and writes what it
returns. An action may read what it names (a person, an organisation, a predecessor) to check it.

    Fire              a lifecycle event: the workflow's guards and effects (engine.workflow.rules)
    Create            a new agreement in its workflow's first state, with parties and areas
    CopyAgreement     a new draft copied from an agreement (parties, people, areas, open deliverables)
    Edit              the terms (while editable) and the next review (any time)
    AddParty          another party or supporter (while the terms are editable)
    ChangePartyRole   a party made a supporter or a supporter a party (while the terms are editable)
    NameContact       a focal point or signatory of a party
    RemoveContact     a focal point or signatory withdrawn
    AddArea           an area of collaboration
    EditArea          an area renamed, described, or moved among the others
    RemoveArea        an area and its deliverables, while none of them has progress
    AddDeliverable    a deliverable of an area
    UpdateDeliverable its status, progress, evidence (its owner), or anything (staff)
    RemoveDeliverable a deliverable that is not done
    Supersede         a predecessor replaced by its successor, once the successor is signed
    AttachDocument    a document, its file already stored by content (engine.documents)
    WithdrawDocument  a document withdrawn by an administrator, with a reason (its content kept)
    MoveWorkflow      the agreement moved to a newer version of its workflow (an administrator)

A change may make another change due on another agreement (`follow_ups`): a review that renews
as successor creates the successor's draft; a successor's last signature supersedes its
predecessor. `apply` applies them next, in the same transaction, each through `apply`.

An amendment's merge, `MergeAmendment`, is in engine/agreements/amending.py beside the builder
it shares with the amendment's proposal.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from engine import words
from engine.access import in_reach
from engine.agreements import policy
from engine.agreements.changes import ChangeSet, Draft, jsonable
from engine.agreements.snapshot import load, organisation_value, person_value
from engine.agreements.values import (
    AgreementSnapshot,
    AreaValue,
    ContactValue,
    DeliverableValue,
    DocumentValue,
    OrganisationValue,
    PartyValue,
)
from engine.clock import When
from engine.context import Actor
from engine.documents import Stored, safe_filename
from engine.errors import Conflict, GuardFailed, InvalidInput, NotFound, NotPermitted
from engine.i18n import N_, current, gettext, ngettext
from engine.models import Agreement, Organisation
from engine.schemas import (
    AgreementCopy,
    AgreementCreate,
    AgreementUpdate,
    AreaCreate,
    AreaUpdate,
    ContactCreate,
    DeliverableCreate,
    DeliverableUpdate,
    DocumentUpload,
    EventInput,
    PartyCreate,
    PartyUpdate,
)
from engine.statuses import ContactKind, DeliverableStatus, HistoryKind, PartyRole
from engine.workflow.event import EventContext
from engine.workflow.machine import CompiledWorkflow, catalog
from engine.workflow.rules import RENEW_AS_SUCCESSOR, sentence_day

# The event a successor's last signature fires on its predecessor (Accord fires it, as the scheduler).
SUPERSEDE = "supersede"
# Event fields that are worth keeping in the history beside what effects record.
_KEPT_FIELDS = ("reason", "outcome", "summary", "ends_on", "starts_on", "signed_on", "place")
# Words a refusal says, from tables, translated where read (`gettext(_FIELD_WORDS[name])`): the fields
# a refusal names, a contact's kind, a deliverable's status.
_FIELD_WORDS = {"title": N_("title"), "status": N_("status"), "position": N_("position")}


def empty_refusal(name: str) -> str:
    """A required field sent empty (`title`, `status`, `position`), in a sentence."""
    return gettext("%(field)s cannot be empty.") % {
        "field": gettext(_FIELD_WORDS[name]) if name in _FIELD_WORDS else name}


class Action(Protocol):
    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet | None: ...


@runtime_checkable
class Creation(Action, Protocol):
    """An action that makes a new agreement: `blank` is the agreement before it (no id yet)."""

    async def blank(self, session: AsyncSession, actor: Actor, when: When) -> AgreementSnapshot: ...


# --- events ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fire:
    event: str
    data: EventInput = policy.NO_FIELDS

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet:
        event, data = self.event, self.data
        if workflow.event(event) is None:
            raise InvalidInput(gettext("Unknown event %(event)s. The events of workflow '%(workflow)s' are: "
                                       "%(events)s.") % {"event": repr(event), "workflow": workflow.spec.name,
                                                         "events": ", ".join(workflow.spec.events)}, field="event")
        policy.require_fire(workflow, actor, agreement, event)
        given = given_fields(data)
        only_fields_of(workflow, event, given)
        ctx = EventContext(snapshot=agreement, event=event, actor=actor, data=data,
                           today=when.today, now=when.now, zone=when.zone,
                           named=workflow.spec.label_of(event, current()).lower())
        policy.require(workflow.refusal(ctx))
        unmet = workflow.unmet(ctx)
        if unmet:
            raise GuardFailed(event, unmet, named=ctx.event_words)
        to_state = workflow.step(agreement.state, ctx)
        if to_state is None:
            raise GuardFailed(event, [gettext("No transition of '%(event)s' fits the agreement as it is now.") % {
                "event": event}])
        ctx.draft.set("state", to_state)
        facts = {k: jsonable(v) for k, v in given.items() if k in _KEPT_FIELDS}
        facts.update(ctx.facts)
        if (agreement.predecessor_id is not None and workflow.signs(agreement.state, to_state)
                and await _supersedable(session, agreement.predecessor_id)):
            facts["supersedes"] = agreement.predecessor_id  # `follow_ups` supersedes it
        return ctx.draft.finish(HistoryKind.TRANSITION, event, from_state=agreement.state, to_state=to_state,
                                facts=facts or None, comment=data.comment or data.reason)


def given_fields(data: EventInput) -> dict[str, Any]:
    """The event fields `data` sets, in their declared order (an `EventFire` is read for its fields only)."""
    return {name: value for name in EventInput.model_fields if (value := getattr(data, name)) is not None}


def only_fields_of(workflow: CompiledWorkflow, event: str, given: dict[str, Any]) -> None:
    """Refuse a field the event does not take: it would be ignored, and the caller would not know
    (the pages ask it too before showing an event's confirmation page)."""
    takes = workflow.fields(event)
    extra = [name for name in given if name not in takes]
    if extra:
        raise InvalidInput(ngettext(
            "%(event)s does not take %(extra)s; remove it. The fields of %(event)s are: %(fields)s.",
            "%(event)s does not take %(extra)s; remove them. The fields of %(event)s are: %(fields)s.",
            len(extra)) % {"event": event, "extra": ", ".join(extra), "fields": ", ".join(takes)}, field=extra[0])


async def _supersedable(session: AsyncSession, agreement_id: int) -> bool:
    """Whether `agreement_id`'s workflow lets it be superseded in its state now (a predecessor
    already ended, or on a workflow without `supersede`, stays as it is)."""
    row = (await session.execute(
        select(col(Agreement.workflow_name), col(Agreement.workflow_version), col(Agreement.state))
        .where(col(Agreement.id) == agreement_id))).first()
    if row is None:
        return False
    name, version, state = row
    return SUPERSEDE in catalog().get(name, version).allowed_events(state)


# --- creating and editing --------------------------------------------------------------------

def _check_dates(effective_from: date | None, ends_on: date | None, next_review_on: date | None) -> None:
    if effective_from and ends_on and ends_on <= effective_from:
        raise InvalidInput(gettext("ends_on (%(ends_on)s) must be after effective_from (%(effective_from)s).") % {
            "ends_on": ends_on, "effective_from": effective_from}, field="ends_on")
    if effective_from and next_review_on and next_review_on <= effective_from:
        raise InvalidInput(gettext("next_review_on (%(next_review_on)s) must be after effective_from "
                                   "(%(effective_from)s).") % {
            "next_review_on": next_review_on, "effective_from": effective_from}, field="next_review_on")


async def _check_predecessor(session: AsyncSession, predecessor_id: int | None, actor: Actor,
                             agreement_id: int | None = None) -> None:
    if predecessor_id is None:
        return
    if predecessor_id == agreement_id:
        raise InvalidInput(gettext("An agreement cannot be its own predecessor."), field="predecessor_id")
    found = await session.scalar(in_reach(select(col(Agreement.id)).where(col(Agreement.id) == predecessor_id),
                                                 actor))
    if found is None:
        raise InvalidInput(gettext("There is no agreement %(id)s that you can see to name as predecessor.") % {
            "id": predecessor_id}, field="predecessor_id")


async def _organisations(session: AsyncSession, ids: list[int]) -> dict[int, OrganisationValue]:
    found: dict[int, OrganisationValue] = {}
    for organisation in await session.scalars(select(Organisation).where(col(Organisation.id).in_(ids))):
        value = organisation_value(organisation)
        found[value.id] = value
    return found


def _blank(workflow: CompiledWorkflow, title: str, actor: Actor, when: When) -> AgreementSnapshot:
    """A new agreement, not yet written, in `workflow`'s first state."""
    return AgreementSnapshot(
        id=-1, title=title, summary=None, background=None, workflow_name=workflow.spec.name,
        workflow_version=workflow.spec.version, state=workflow.spec.initial, version=0,
        effective_from=None, ends_on=None, term_starts_on=None, review_every_months=None,
        next_review_on=None, notice_period_days=None, signing_place=None, signed_on=None,
        submitted_on=None, review_outcome=None, review_summary=None, predecessor_id=None,
        created_by_id=actor.person_id, created_at=when.now, updated_at=when.now)


@dataclass(frozen=True)
class Create:
    """A new agreement in its workflow's first state (`draft`), with its parties and areas."""

    data: AgreementCreate
    # What a creation makes besides (an import's people, deliverables, state): see engine.importing.
    kind: str = HistoryKind.CREATED
    event: str = "create"

    async def blank(self, session: AsyncSession, actor: Actor, when: When) -> AgreementSnapshot:
        try:
            workflow = catalog().latest(self.data.workflow)
            if self.data.workflow_version is not None:
                workflow = catalog().get(self.data.workflow, self.data.workflow_version)
        except NotFound as error:
            raise InvalidInput(error.detail, field="workflow") from None
        return _blank(workflow, self.data.title, actor, when)

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet:
        org_ids = [p.organisation_id for p in self.data.parties]
        own = policy.require_creator(actor, org_ids)
        organisations = await _organisations(session, org_ids)
        missing = [str(i) for i in org_ids if i not in organisations]
        if missing:
            raise InvalidInput(gettext("There is no organisation %(ids)s; create it first or correct parties.") % {
                "ids": ", ".join(missing)}, field="parties")
        if own:
            raise InvalidInput(own, field="parties")
        await _check_predecessor(session, self.data.predecessor_id, actor)
        draft = Draft(agreement)
        draft.update(self.data.model_dump(exclude={"workflow", "workflow_version", "parties", "areas", "title"}))
        for p in self.data.parties:
            draft.add(PartyValue(id=draft.ids.next(), agreement_id=agreement.id, organisation_id=p.organisation_id,
                                 role=p.role, organisation=organisations[p.organisation_id]))
        for i, a in enumerate(self.data.areas):
            draft.add(AreaValue(id=draft.ids.next(), agreement_id=agreement.id, title=a.title,
                                description=a.description, position=i))
        return draft.finish(self.kind, self.event, to_state=agreement.state,
                            facts={"workflow": workflow.spec.name, "workflow_version": workflow.spec.version})


# The terms a copy takes from its source (dates are the copy's own).
_COPIED_TERMS = ("summary", "background", "review_every_months", "notice_period_days")


@dataclass(frozen=True)
class CopyAgreement:
    """A new draft copied from the agreement `source_id` (within the actor's reach: NotFound
    otherwise), on the newest version of its workflow: its parties with their roles, the focal
    points and signatories still enabled (and still of their party's organisation), its areas, and
    its open deliverables with their owners when those were copied — never its signatures, its
    history, or the deliverables done or cancelled. `data` replaces what is copied; `successor`
    makes it the source's successor (`predecessor_id`), which a review's `renew_as_successor`
    does. The staff of one of the source's parties copy it, or an administrator."""

    source_id: int
    data: AgreementCopy = field(default_factory=AgreementCopy)
    successor: bool = False

    async def blank(self, session: AsyncSession, actor: Actor, when: When) -> AgreementSnapshot:
        source = await load(session, self.source_id, actor)
        return _blank(catalog().latest(source.workflow_name), self.title(source), actor, when)

    def title(self, source: AgreementSnapshot) -> str:
        if self.data.title is not None:
            return self.data.title
        # In the copier's language, as everything Accord writes for them (they may retitle it).
        said = gettext("Renewal of %(title)s") if self.successor else gettext("Copy of %(title)s")
        return (said % {"title": source.title})[:300]

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet:
        source = await load(session, self.source_id, actor)
        own = policy.require_creator(actor, [p.organisation_id for p in source.parties])
        if own:
            raise NotPermitted(gettext("%(refusal)s You can read agreement %(id)s; its parties' staff copy it.") % {
                "refusal": own, "id": source.id})
        changes = self.data.model_dump(exclude_unset=True, exclude={"title"})
        if self.successor:
            changes["predecessor_id"] = source.id
        await _check_predecessor(session, changes.get("predecessor_id"), actor)
        draft = Draft(agreement)
        draft.update({**{name: getattr(source, name) for name in _COPIED_TERMS}, **changes})
        _check_dates(draft.view.effective_from, draft.view.ends_on, draft.view.next_review_on)
        parties: dict[int, int] = {}
        for p in source.parties:
            parties[p.id] = draft.add(replace(p, id=draft.ids.next(), agreement_id=agreement.id)).id
        copied: set[int] = set()
        left: list[str] = []
        for c in source.contacts:
            party = source.party(c.party_id)
            if c.person.active and party is not None and c.person.organisation_id == party.organisation_id:
                draft.add(replace(c, id=draft.ids.next(), agreement_id=agreement.id, party_id=parties[c.party_id]))
                if c.kind == ContactKind.FOCAL_POINT:
                    copied.add(c.person_id)
            else:
                left.append(c.person.name)
        areas: dict[int, int] = {}
        for a in source.areas:
            areas[a.id] = draft.add(replace(a, id=draft.ids.next(), agreement_id=agreement.id)).id
        for d in source.deliverables:
            if d.status in DeliverableStatus.OPEN:
                draft.add(replace(d, id=draft.ids.next(), agreement_id=agreement.id, area_id=areas[d.area_id],
                                  owner_id=d.owner_id if d.owner_id in copied else None,
                                  created_at=when.now, updated_at=when.now))
        facts: dict[str, Any] = {"copied_from": source.id, "workflow": workflow.spec.name,
                                 "workflow_version": workflow.spec.version}
        if left:
            facts["not_copied"] = sorted(set(left))  # disabled, or no longer of their party
        return draft.finish(HistoryKind.CREATED, "create_successor" if self.successor else "copy",
                            to_state=agreement.state, facts=facts)


@dataclass(frozen=True)
class Edit:
    """The terms while the agreement is editable (draft, unsigned); `next_review_on` any time."""

    data: AgreementUpdate

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet | None:
        policy.require_editor(actor, agreement)
        policy.require_open(workflow, agreement, N_("edit it"))
        changes = self.data.model_dump(exclude_unset=True)
        if not changes:
            raise InvalidInput(gettext("Nothing to change: send at least one field to edit."))
        if "title" in changes and changes["title"] is None:
            raise InvalidInput(empty_refusal("title"), field="title")
        terms = [name for name in changes if name != "next_review_on"]
        if terms:
            policy.require_terms_editable(workflow, agreement, terms)
        _check_dates(*(changes.get(name, getattr(agreement, name))
                       for name in ("effective_from", "ends_on", "next_review_on")))
        if "predecessor_id" in changes:
            await _check_predecessor(session, changes["predecessor_id"], actor, agreement.id)
        draft = Draft(agreement)
        draft.update(changes)
        if not draft.fields:
            return None
        diff = {name: [jsonable(getattr(agreement, name)), jsonable(value)] for name, value in draft.fields.items()}
        return draft.finish(HistoryKind.EDITED, "edit", facts={"changes": diff})


@dataclass(frozen=True)
class AddParty:
    data: PartyCreate

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet:
        policy.require_editor(actor, agreement)
        policy.require_terms_editable(workflow, agreement, ["parties"])
        organisation = await session.get(Organisation, self.data.organisation_id)
        if organisation is None:
            raise InvalidInput(gettext("There is no organisation %(id)s.") % {"id": self.data.organisation_id},
                               field="organisation_id")
        if agreement.party_of(self.data.organisation_id) is not None:
            raise Conflict(gettext("%(organisation)s is already a party to this agreement.") % {
                "organisation": organisation.name})
        draft = Draft(agreement)
        draft.add(PartyValue(id=draft.ids.next(), agreement_id=agreement.id,
                             organisation_id=self.data.organisation_id, role=self.data.role,
                             organisation=organisation_value(organisation)))
        return draft.finish(HistoryKind.EDITED, "party_added",
                            facts={"organisation_id": self.data.organisation_id, "role": self.data.role})


def supporter_refusal(agreement: AgreementSnapshot, party: PartyValue) -> str | None:
    """Why `party` cannot become a supporter yet (it has named a signatory, and a supporter never
    has one), or None: `ChangePartyRole` raises it, the page says it instead of offering the button."""
    signatories = [c.person.name for c in agreement.contacts
                   if c.party_id == party.id and c.kind == ContactKind.SIGNATORY]
    if not signatories:
        return None
    return gettext("%(party)s has named a signatory (%(signatories)s); a supporter signs nothing, so withdraw its "
                   "signatory first, then make it a supporter.") % {
        "party": party.organisation.name, "signatories": "; ".join(signatories)}


@dataclass(frozen=True)
class ChangePartyRole:
    """A party's role while the terms are editable: `party` (signs) or `supporter` (never signs).
    A party that names a signatory becomes a supporter only once the signatory is withdrawn, so
    that a supporter never has one; the workflow's guards then count the signing parties anew."""

    party_id: int
    data: PartyUpdate

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet | None:
        party = agreement.party(self.party_id)
        if party is None:
            raise NotFound(gettext("Agreement %(agreement)s has no party %(id)s.") % {
                "agreement": agreement.id, "id": self.party_id})
        policy.require_editor(actor, agreement)
        policy.require_terms_editable(workflow, agreement, ["parties"])
        if party.role == self.data.role:
            return None
        if self.data.role == PartyRole.SUPPORTER:
            kept = supporter_refusal(agreement, party)
            if kept is not None:
                raise Conflict(kept)
        draft = Draft(agreement)
        draft.change(party, replace(party, role=self.data.role))
        return draft.finish(HistoryKind.EDITED, "party_role_changed", facts={
            "organisation_id": party.organisation_id, "role": [party.role, self.data.role]})


# --- people ----------------------------------------------------------------------------------

def _behalf(facts: dict[str, Any], actor: Actor, party: PartyValue) -> dict[str, Any]:
    behalf = policy.on_behalf_of(actor, party)
    if behalf is not None:
        facts["on_behalf_of"] = behalf
    return facts


@dataclass(frozen=True)
class NameContact:
    data: ContactCreate

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet:
        data = self.data
        policy.require_editor(actor, agreement)
        policy.require_open(workflow, agreement, N_("name people for it"))
        person = await person_value(session, data.person_id)
        if person is None:
            raise InvalidInput(gettext("There is no person %(id)s.") % {"id": data.person_id}, field="person_id")
        if not person.active:
            raise InvalidInput(gettext("%(person)s is disabled; name someone else, or ask an administrator or their "
                                       "organisation's staff to enable them.") % {"person": person.name},
                               field="person_id")
        org_id = data.organisation_id or person.organisation_id
        party = agreement.party_of(org_id)
        if party is None:
            raise InvalidInput(gettext("Organisation %(id)s is not a party to this agreement; a focal point or "
                                       "signatory is named by one of its parties.") % {"id": org_id},
                               field="organisation_id")
        policy.require(policy.contact_refusal(actor, agreement, party))
        if person.organisation_id != party.organisation_id:
            raise InvalidInput(gettext("%(person)s belongs to %(organisation)s, not to %(party)s: each party names "
                                       "its own people.") % {"person": person.name,
                                                             "organisation": person.organisation.name,
                                                             "party": party.organisation.name}, field="person_id")
        if data.kind == ContactKind.SIGNATORY and party.role != PartyRole.PARTY:
            raise InvalidInput(gettext("%(party)s supports this agreement and does not sign it, so it names no "
                                       "signatory.") % {"party": party.organisation.name}, field="kind")
        if any(c.party_id == party.id and c.person_id == person.id and c.kind == data.kind
               for c in agreement.contacts):
            raise Conflict(gettext("%(person)s is already named %(kind)s for %(party)s.") % {
                "person": person.name, "kind": gettext(words.CONTACT_KIND[data.kind]),
                "party": party.organisation.name})
        draft = Draft(agreement)
        draft.add(ContactValue(id=draft.ids.next(), agreement_id=agreement.id, party_id=party.id,
                               person_id=person.id, kind=data.kind, capacity=data.capacity, person=person))
        facts = _behalf({"person_id": person.id, "organisation_id": party.organisation_id,
                         "capacity": data.capacity}, actor, party)
        return draft.finish(HistoryKind.EDITED, f"{data.kind}_named", facts=facts)


def withdrawal_refusal(workflow: CompiledWorkflow, agreement: AgreementSnapshot, contact: ContactValue) -> str | None:
    """Why `contact` cannot be withdrawn, whoever asks (a signatory whose signature is recorded;
    a focal point who owns deliverables), or None: `RemoveContact` raises it, the page says it
    instead of offering the button."""
    party = agreement.party(contact.party_id)
    name = party.organisation.name if party is not None else gettext("its party")
    signature = agreement.signature_of(contact.party_id) if contact.kind == ContactKind.SIGNATORY else None
    if signature is not None and signature.signatory_id == contact.person_id:
        hint = (" " + gettext("To change the signatory, withdraw the agreement from signature first (that "
                              "clears the signatures).") if "withdraw" in workflow.allowed_events(agreement.state)
                else "")
        return gettext("%(person)s signed for %(party)s on %(day)s, so they stay named as its signatory: a recorded "
                       "signature keeps its signatory.") % {
            "person": contact.person.name, "party": name, "day": sentence_day(signature.signed_on)} + hint
    still_focal = any(c.person_id == contact.person_id and c.kind == ContactKind.FOCAL_POINT
                      and c.id != contact.id for c in agreement.contacts)
    owned = [d.title for d in agreement.deliverables
             if d.owner_id == contact.person_id and contact.kind == ContactKind.FOCAL_POINT and not still_focal]
    if owned:
        return gettext("%(person)s owns deliverables (%(deliverables)s); give them another owner first.") % {
            "person": contact.person.name, "deliverables": "; ".join(owned)}
    return None


@dataclass(frozen=True)
class RemoveContact:
    contact_id: int

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet:
        policy.require_editor(actor, agreement)
        policy.require_open(workflow, agreement, N_("change who is named for it"))
        contact = agreement.contact(self.contact_id)
        if contact is None:
            raise NotFound(gettext("Agreement %(agreement)s has no focal point or signatory %(id)s.") % {
                "agreement": agreement.id, "id": self.contact_id})
        party = agreement.party(contact.party_id)
        assert party is not None
        policy.require(policy.contact_refusal(actor, agreement, party))
        kept = withdrawal_refusal(workflow, agreement, contact)
        if kept is not None:
            raise Conflict(kept)
        draft = Draft(agreement)
        draft.remove(contact)
        facts = _behalf({"person_id": contact.person_id, "organisation_id": party.organisation_id}, actor, party)
        return draft.finish(HistoryKind.EDITED, f"{contact.kind}_removed", facts=facts)


# --- areas and deliverables ------------------------------------------------------------------

@dataclass(frozen=True)
class AddArea:
    data: AreaCreate

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet:
        policy.require_editor(actor, agreement)
        policy.require_open(workflow, agreement, N_("add areas of collaboration"))
        if any(a.title.casefold() == self.data.title.casefold() for a in agreement.areas):
            raise Conflict(gettext("The agreement already has an area of collaboration titled %(title)s.") % {
                "title": repr(self.data.title)})
        draft = Draft(agreement)
        draft.add(AreaValue(id=draft.ids.next(), agreement_id=agreement.id, title=self.data.title,
                            description=self.data.description, position=len(agreement.areas)))
        return draft.finish(HistoryKind.EDITED, "area_added", facts={"title": self.data.title})


@dataclass(frozen=True)
class EditArea:
    """An area renamed (unique within the agreement, whatever the case), described, or moved: at
    `position` (from 0) the others shift to make room, so positions stay 0, 1, 2, ..."""

    area_id: int
    data: AreaUpdate

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet | None:
        area = agreement.area(self.area_id)
        if area is None:
            raise NotFound(gettext("There is no area of collaboration %(id)s that you can see.") % {"id": self.area_id})
        policy.require_editor(actor, agreement)
        policy.require_open(workflow, agreement, N_("change its areas of collaboration"))
        changes = self.data.model_dump(exclude_unset=True)
        if not changes:
            raise InvalidInput(gettext("Nothing to change: send title, description or position."))
        for required in ("title", "position"):
            if required in changes and changes[required] is None:
                raise InvalidInput(empty_refusal(required), field=required)
        title = changes.get("title")
        if title is not None and any(a.title.casefold() == title.casefold() and a.id != area.id
                                     for a in agreement.areas):
            raise Conflict(gettext("The agreement already has an area of collaboration titled %(title)s; choose "
                                   "another title.") % {"title": repr(title)})
        count = len(agreement.areas)
        position = changes.get("position")
        if position is not None and position >= count:
            raise InvalidInput(ngettext(
                "position must be from 0 to %(last)s: the agreement has %(count)s area of collaboration.",
                "position must be from 0 to %(last)s: the agreement has %(count)s areas of collaboration.",
                count) % {"last": count - 1, "count": count}, field="position")
        draft = Draft(agreement)
        draft.change(area, replace(area, **changes))
        if position is not None:  # the others, in their order, around the place it moved to
            _renumber(draft, [a for a in agreement.areas if a.id != area.id], skip=position)
        diff = {name: [getattr(area, name), value] for name, value in changes.items()
                if getattr(area, name) != value}
        if not draft.parts:
            return None
        return draft.finish(HistoryKind.EDITED, "area_updated",
                            facts={"area_id": area.id, "title": title or area.title, "changes": diff})


def _renumber(draft: Draft, areas: list[AreaValue], skip: int | None = None) -> None:
    """Give `areas`, in this order, the positions 0, 1, 2, ... (leaving out `skip`, the place of
    an area moved there), changing those whose position differs."""
    positions = [i for i in range(len(areas) + (skip is not None)) if i != skip]
    for area, position in zip(areas, positions, strict=True):
        draft.change(area, replace(area, position=position))


def progress_of(deliverable: DeliverableValue) -> str | None:
    """What shows work on a deliverable (a status other than planned, a progress note, evidence),
    in words, or None when there is none."""
    status = deliverable.status
    shown = [gettext("status %(status)s") % {"status": gettext(words.DELIVERABLE_STATUS.get(status, status))}] \
        if status != DeliverableStatus.PLANNED else []
    shown += [gettext("a progress note")] if deliverable.progress_note else []
    shown += [gettext("evidence")] if deliverable.evidence_url else []
    return ", ".join(shown) or None


def area_removal_refusal(agreement: AgreementSnapshot, area: AreaValue) -> str | None:
    """Why `area` cannot be removed (a deliverable of it has progress, which the removal would
    lose), or None: `RemoveArea` raises it, the page says it instead of offering the button."""
    progressed = [f"{d.title!r} ({shown})" for d in agreement.deliverables
                  if d.area_id == area.id and (shown := progress_of(d))]
    if not progressed:
        return None
    said = {"area": repr(area.title), "deliverables": "; ".join(progressed)}
    if len(progressed) > 1:
        return gettext("The area %(area)s cannot be removed: these deliverables have progress recorded, which a "
                       "removal would lose: %(deliverables)s. Remove them first (a deliverable that is done stays "
                       "on the record), or keep the area.") % said
    return gettext("The area %(area)s cannot be removed: this deliverable has progress recorded, which a removal "
                   "would lose: %(deliverables)s. Remove it first (a deliverable that is done stays on the "
                   "record), or keep the area.") % said


@dataclass(frozen=True)
class RemoveArea:
    """An area and, in the same change, its deliverables: only while none of them has progress
    (`progress_of`), so that recorded work never goes with a correction. The areas after it move
    up, so positions stay 0, 1, 2, ..."""

    area_id: int

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet:
        area = agreement.area(self.area_id)
        if area is None:
            raise NotFound(gettext("There is no area of collaboration %(id)s that you can see.") % {"id": self.area_id})
        policy.require_editor(actor, agreement)
        policy.require_open(workflow, agreement, N_("remove its areas of collaboration"))
        kept = area_removal_refusal(agreement, area)
        if kept is not None:
            raise Conflict(kept)
        deliverables = [d for d in agreement.deliverables if d.area_id == area.id]
        _keep_evidence(agreement, deliverables)
        draft = Draft(agreement)
        draft.remove_all(deliverables)
        draft.remove(area)
        _renumber(draft, [a for a in agreement.areas if a.id != area.id])
        return draft.finish(HistoryKind.EDITED, "area_removed", facts={
            "area_id": area.id, "title": area.title, "deliverables": [d.title for d in deliverables]})


def _keep_evidence(agreement: AgreementSnapshot, deliverables: list[DeliverableValue]) -> None:
    """Refuse to remove deliverables that documents are evidence of: the documents stay, and
    they name their deliverable."""
    ids = {d.id: d.title for d in deliverables}
    kept = [gettext("%(document)s (document %(id)s, of %(deliverable)s)") % {
        "document": repr(d.title), "id": d.id, "deliverable": repr(ids[d.deliverable_id])}
        for d in agreement.documents if d.deliverable_id in ids]
    if kept:
        raise Conflict(gettext("Documents are kept as evidence of this work: %(documents)s. A document stays on the "
                               "agreement's record, so the deliverable it names stays too.") % {
            "documents": "; ".join(kept)})


def _check_owner(agreement: AgreementSnapshot, owner_id: int | None) -> None:
    if owner_id is None:
        return
    focal = [c for c in agreement.contacts if c.person_id == owner_id and c.kind == ContactKind.FOCAL_POINT]
    if not focal:
        raise InvalidInput(gettext("Person %(id)s is not a focal point of this agreement; a deliverable is owned by "
                                   "one of its focal points.") % {"id": owner_id}, field="owner_id")
    if not focal[0].person.active:
        raise InvalidInput(gettext("%(person)s is disabled; give the deliverable an active focal point as owner.") % {
            "person": focal[0].person.name}, field="owner_id")


@dataclass(frozen=True)
class AddDeliverable:
    area_id: int
    data: DeliverableCreate

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet:
        data = self.data
        policy.require_editor(actor, agreement)
        policy.require_open(workflow, agreement, N_("add deliverables"))
        if agreement.area(self.area_id) is None:
            raise NotFound(gettext("Agreement %(agreement)s has no area of collaboration %(id)s.") % {
                "agreement": agreement.id, "id": self.area_id})
        _check_owner(agreement, data.owner_id)
        draft = Draft(agreement)
        draft.add(DeliverableValue(
            id=draft.ids.next(), agreement_id=agreement.id, area_id=self.area_id, title=data.title,
            description=data.description, owner_id=data.owner_id, due_on=data.due_on, status=data.status,
            progress_note=None, evidence_url=None,
            completed_on=when.today if data.status == DeliverableStatus.DONE else None,
            created_at=when.now, updated_at=when.now))
        return draft.finish(HistoryKind.EDITED, "deliverable_added", facts={
            "title": data.title, "area_id": self.area_id, "owner_id": data.owner_id,
            "due_on": jsonable(data.due_on)})


@dataclass(frozen=True)
class UpdateDeliverable:
    deliverable_id: int
    data: DeliverableUpdate
    changes: dict[str, Any] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "changes", self.data.model_dump(exclude_unset=True))

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet | None:
        deliverable = agreement.deliverable(self.deliverable_id)
        if deliverable is None:
            raise NotFound(gettext("There is no deliverable %(id)s that you can see.") % {"id": self.deliverable_id})
        changes = self.changes
        if not changes:
            raise InvalidInput(gettext("Nothing to change: send at least one field to update."))
        policy.require_deliverable_editor(actor, agreement, deliverable, list(changes))
        policy.require_open(workflow, agreement, N_("update its deliverables"))
        for required in ("title", "status"):
            if required in changes and changes[required] is None:
                raise InvalidInput(empty_refusal(required), field=required)
        if "owner_id" in changes:
            _check_owner(agreement, changes["owner_id"])
        diff = {name: [jsonable(getattr(deliverable, name)), jsonable(value)]
                for name, value in changes.items() if getattr(deliverable, name) != value}
        if not diff:
            return None
        after = replace(deliverable, **changes, updated_at=when.now)
        if "status" in diff:
            after = replace(after, completed_on=when.today if after.status == DeliverableStatus.DONE else None)
        draft = Draft(agreement)
        draft.change(deliverable, after)
        return draft.finish(HistoryKind.EDITED, "deliverable_updated", comment=changes.get("progress_note"),
                            facts={"deliverable_id": self.deliverable_id, "changes": diff})


def deliverable_removal_refusal(deliverable: DeliverableValue) -> str | None:
    """Why `deliverable` cannot be removed (it is done), or None: `RemoveDeliverable` raises it,
    the page says it instead of offering the button."""
    if deliverable.status != DeliverableStatus.DONE:
        return None
    if deliverable.completed_on:
        done = gettext("%(deliverable)s was done on %(day)s") % {"deliverable": repr(deliverable.title),
                                                                  "day": sentence_day(deliverable.completed_on)}
    else:
        done = gettext("%(deliverable)s was done") % {"deliverable": repr(deliverable.title)}
    return gettext("%(done)s: delivered work stays on the agreement's record, so it cannot be removed. If it was "
                   "marked done by mistake, give it its right status first; then it can be removed.") % {"done": done}


@dataclass(frozen=True)
class RemoveDeliverable:
    """A deliverable removed by the staff of a party (or an administrator), with any progress it
    has: the history keeps its last values in the diff. A deliverable that is done is refused
    (`Conflict`): delivered work stays on the agreement's record; one marked done by mistake is
    given its right status first, and that change is recorded too."""

    deliverable_id: int

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet:
        deliverable = agreement.deliverable(self.deliverable_id)
        if deliverable is None:
            raise NotFound(gettext("There is no deliverable %(id)s that you can see.") % {"id": self.deliverable_id})
        policy.require_deliverable_remover(actor, agreement, deliverable)
        policy.require_open(workflow, agreement, N_("remove its deliverables"))
        kept = deliverable_removal_refusal(deliverable)
        if kept is not None:
            raise Conflict(kept)
        _keep_evidence(agreement, [deliverable])
        draft = Draft(agreement)
        draft.remove(deliverable)
        return draft.finish(HistoryKind.EDITED, "deliverable_removed", facts={
            "deliverable_id": deliverable.id, "title": deliverable.title, "area_id": deliverable.area_id})


# --- what a change makes due elsewhere -------------------------------------------------------

@dataclass(frozen=True)
class Supersede:
    """The predecessor of an agreement just signed (`successor_id`) moves on by its workflow's
    `supersede` event, into a final state: its timers and reminders are cancelled as for any final
    state, and its history names the successor. Fired by Accord (as the scheduler); nothing when
    its state does not allow it now."""

    successor_id: int

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet | None:
        if SUPERSEDE not in workflow.allowed_events(agreement.state):
            return None
        # No comment: its history line says why from `successor_id`, in its reader's language (engine/history_text.py).
        change = await Fire(SUPERSEDE, EventInput()).decide(session, agreement, actor, when, workflow)
        return replace(change, facts={**(change.facts or {}), "successor_id": self.successor_id})


@dataclass(frozen=True)
class FollowUp:
    """A change a written change makes due: `action` on `agreement_id` (None: a new agreement),
    by the same actor, or by Accord itself (`by_accord`: the scheduler)."""

    agreement_id: int | None
    action: Action
    by_accord: bool = False


def follow_ups(agreement: AgreementSnapshot, change: ChangeSet) -> list[FollowUp]:
    """What `change`, as written, leaving `agreement`, makes due on other agreements."""
    if change.kind != HistoryKind.TRANSITION or not change.facts:
        return []
    due: list[FollowUp] = []
    if change.facts.get("outcome") == RENEW_AS_SUCCESSOR:
        due.append(FollowUp(None, CopyAgreement(agreement.id, successor=True)))
    supersedes = change.facts.get("supersedes")
    if isinstance(supersedes, int):
        due.append(FollowUp(supersedes, Supersede(agreement.id), by_accord=True))
    return due


# --- documents and the workflow's version ------------------------------------------------------

@dataclass(frozen=True)
class AttachDocument:
    """A document kept with the agreement: `stored` is its file, already in the documents folder
    (`engine.documents.store`), so the row names content that is there."""

    data: DocumentUpload
    filename: str
    stored: Stored

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet:
        data = self.data
        deliverable = None
        if data.deliverable_id is not None:
            deliverable = agreement.deliverable(data.deliverable_id)
            if deliverable is None:
                raise InvalidInput(gettext("Agreement %(agreement)s has no deliverable %(id)s; name one of its "
                                           "deliverables, or none.") % {"agreement": agreement.id,
                                                                        "id": data.deliverable_id},
                                   field="deliverable_id")
        if data.amendment_id is not None and not any(m.id == data.amendment_id for m in agreement.amendments):
            listed = ", ".join(gettext("%(id)s (amendment %(number)s)") % {"id": m.id, "number": m.number}
                               for m in agreement.amendments) or gettext("it has none")
            raise InvalidInput(gettext("Agreement %(agreement)s has no amendment with id %(id)s; name one of its "
                                       "amendments by id (%(amendments)s), or none.") % {
                "agreement": agreement.id, "id": data.amendment_id, "amendments": listed}, field="amendment_id")
        policy.require(policy.document_refusal(actor, agreement, data.kind, deliverable))
        filename = safe_filename(self.filename)
        draft = Draft(agreement)
        document = DocumentValue(
            id=draft.ids.next(), agreement_id=agreement.id, kind=data.kind, title=data.title or filename,
            filename=filename, content_type=self.stored.content_type, size=self.stored.size,
            sha256=self.stored.sha256, uploaded_by_id=actor.person_id, uploaded_at=when.now,
            deliverable_id=data.deliverable_id, amendment_id=data.amendment_id, withdrawn_at=None,
            withdrawn_by_id=None, withdrawn_reason=None)
        draft.add(document)
        return draft.finish(HistoryKind.EDITED, "document_added", facts={
            "kind": data.kind, "title": document.title, "filename": filename, "sha256": self.stored.sha256,
            "deliverable_id": data.deliverable_id})


@dataclass(frozen=True)
class WithdrawDocument:
    """A document an administrator withdraws, saying why: it stays listed as withdrawn, with its
    content, and no longer counts for the workflow's `document:` guards."""

    document_id: int
    reason: str

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet:
        document = agreement.document(self.document_id)
        if document is None:
            raise NotFound(gettext("There is no document %(id)s that you can see.") % {"id": self.document_id})
        policy.require_admin(actor, N_("withdraw a document"))
        if document.withdrawn_at is not None:
            raise Conflict(gettext("%(document)s was already withdrawn on %(day)s.") % {
                "document": repr(document.title), "day": sentence_day(document.withdrawn_at.date())})
        draft = Draft(agreement)
        draft.change(document, replace(document, withdrawn_at=when.now, withdrawn_by_id=actor.person_id,
                                       withdrawn_reason=self.reason))
        return draft.finish(HistoryKind.EDITED, "document_withdrawn", comment=self.reason, facts={
            "document_id": document.id, "kind": document.kind, "title": document.title})


@dataclass(frozen=True)
class MoveWorkflow:
    """The agreement moved to a newer `version` of its workflow, by an administrator: only when
    the state it is in exists there (an agreement keeps the version it started on otherwise)."""

    version: int

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet | None:
        policy.require_admin(actor, N_("move an agreement to another version of its workflow"))
        name, current = agreement.workflow_name, agreement.workflow_version
        if self.version == current:
            return None
        if self.version < current:
            raise InvalidInput(gettext("The agreement is on %(workflow)s version %(version)s; it moves only to a newer "
                                       "version, never back.") % {"workflow": name, "version": current},
                               field="version")
        try:
            target = catalog().get(name, self.version)
        except NotFound as error:
            raise InvalidInput(error.detail, field="version") from None
        if agreement.state not in target.spec.states:
            raise Conflict(gettext("The agreement is %(state)s, a state %(workflow)s version %(version)s does not have "
                                   "(%(states)s); it stays on version %(current)s.") % {
                "state": agreement.state, "workflow": name, "version": self.version,
                "states": ", ".join(target.spec.states), "current": current})
        draft = Draft(agreement)
        draft.set("workflow_version", self.version)
        return draft.finish(HistoryKind.EDITED, "workflow_version_changed",
                            facts={"workflow": name, "workflow_version": [current, self.version]})
