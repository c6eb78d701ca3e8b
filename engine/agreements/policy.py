"""May this actor do this action to this agreement now: the one place that says.

Every write of an agreement (`engine.agreements.service.apply`) and everything that offers one
(the API's `available_events`, the pages' forms) asks here. The answers, in the order they are
asked:

1. Reach. Admins and the scheduler reach every agreement; staff and partners reach the
   agreements their organisation is party to (as party or supporter), and nothing else exists
   for them: out of reach is `NotFound`, never a refusal that confirms existence. The snapshot
   is read within reach (`engine.agreements.snapshot.load`), so a refusal here is never a 404.
2. Editing. Staff of a party change an agreement; partners only read it and update the
   deliverables they own (status, progress note, evidence), and remove nothing. A final state
   takes no change (`Conflict`); the terms (parties and their roles among them) change only
   while the state is `editable` and nobody has signed.
3. Events. The workflow file declares who fires each event (`actors:` — staff, the scheduler)
   beside its guards; the state says which events are allowed now (`TransitionNotAllowed`).
4. Party. Within an agreement a party acts only for itself: a person who is not an
   administrator records a signature only for their own organisation, and only when it is a
   signing party (a supporter never signs), and names or withdraws focal points and signatories
   only for their own party. An administrator may act for any party; what they do for a party
   that is not their own organisation is recorded `on_behalf_of` that party. An effect that acts
   for a party names its check (`engine.workflow.rules`, `authority=`), so every event with it is checked.

Each `*_refusal` returns `None` when the actor may, or a sentence that says why not; `require`
raises it as `NotPermitted` (403). The `require_*` functions raise the error to answer with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine import i18n
from engine.agreements.values import AgreementSnapshot, DeliverableValue, PartyValue
from engine.clock import When
from engine.context import Actor
from engine.errors import Conflict, NotPermitted, TransitionNotAllowed
from engine.schemas import EventInput
from engine.statuses import ContactKind, DocumentKind, PartyRole, Role
from engine.workflow.event import EventContext
from workflows.definition import EventActor

if TYPE_CHECKING:  # the workflow is passed in: engine.workflow.machine imports the rules, which ask this module
    from engine.workflow.machine import CompiledWorkflow

# An event with no fields (immutable, so one will do).
NO_FIELDS = EventInput()
# What a partner may change on a deliverable they own.
OWNER_FIELDS = frozenset({"status", "progress_note", "evidence_url"})
# A deliverable's fields as a refusal says them.
_DELIVERABLE_WORDS = {"due_on": i18n.N_("due date"), "owner_id": i18n.N_("owner"), "area_id": i18n.N_("area"),
                      "title": i18n.N_("title"), "description": i18n.N_("description")}
# The terms as a refusal names them (an agreement's field names, spaced, and "dates", "parties"),
# translated when the refusal is (`require_terms_editable`).
_TERM_WORDS = frozenset({
    i18n.N_("title"), i18n.N_("summary"), i18n.N_("background"), i18n.N_("dates"), i18n.N_("parties"),
    i18n.N_("effective from"), i18n.N_("ends on"), i18n.N_("review every months"),
    i18n.N_("notice period days"), i18n.N_("signing place"), i18n.N_("predecessor id")})


def acts_for_anyone(actor: Actor) -> bool:
    return actor.is_admin or actor.is_scheduler


def _name(agreement: AgreementSnapshot, organisation_id: int | None) -> str:
    party = agreement.party_of(organisation_id)
    return party.organisation.name if party is not None else i18n.gettext("organisation %(id)s") % {
        "id": organisation_id}


def signing_refusal(actor: Actor, agreement: AgreementSnapshot, organisation_id: int | None) -> str | None:
    """Why `actor` may not record the signature of `organisation_id` (default: their own), or None."""
    if acts_for_anyone(actor):
        return None
    own = _name(agreement, actor.organisation_id)
    if organisation_id is not None and organisation_id != actor.organisation_id:
        other = _name(agreement, organisation_id)
        return i18n.gettext("You act for %(own)s, and you record a signature only for your own organisation: "
                            "the signature of %(other)s is recorded by its own staff or by an administrator.") % {
            "own": own, "other": other}
    party = agreement.party_of(actor.organisation_id)
    if party is not None and party.role != PartyRole.PARTY:
        signers = ", ".join(p.organisation.name for p in agreement.parties if p.role == PartyRole.PARTY)
        return i18n.gettext("%(own)s supports this agreement and does not sign it; its signing parties "
                            "(%(signers)s) sign.") % {"own": own, "signers": signers}
    return None


def contact_refusal(actor: Actor, agreement: AgreementSnapshot, party: PartyValue) -> str | None:
    """Why `actor` may not name or withdraw a focal point or signatory of `party`, or None."""
    if acts_for_anyone(actor) or party.organisation_id == actor.organisation_id:
        return None
    own = _name(agreement, actor.organisation_id)
    return i18n.gettext("Only %(party)s names and withdraws its own focal points and signatories (or an "
                        "administrator does for it); you act for %(own)s, and only for your own organisation.") % {
        "party": party.organisation.name, "own": own}


def require(refusal: str | None) -> None:
    if refusal is not None:
        raise NotPermitted(refusal)


def parties_to_sign_for(actor: Actor, agreement: AgreementSnapshot) -> list[PartyValue]:
    """The signing parties that have not signed yet and whose signature `actor` may record."""
    signed = {s.party_id for s in agreement.signatures}
    return [p for p in agreement.parties
            if p.role == PartyRole.PARTY and p.id not in signed
            and signing_refusal(actor, agreement, p.organisation_id) is None]


def on_behalf_of(actor: Actor, party: PartyValue) -> dict[str, Any] | None:
    """History data naming `party` when `actor` (an administrator) acted for it from elsewhere."""
    if actor.is_scheduler or actor.organisation_id == party.organisation_id:
        return None
    return {"organisation_id": party.organisation_id, "name": party.organisation.name}


# --- editing ---------------------------------------------------------------------------------

def is_party_staff(actor: Actor, agreement: AgreementSnapshot) -> bool:
    return actor.role == Role.STAFF and agreement.party_of(actor.organisation_id) is not None


def may_edit(actor: Actor, agreement: AgreementSnapshot) -> bool:
    return actor.is_admin or actor.is_scheduler or is_party_staff(actor, agreement)


def require_editor(actor: Actor, agreement: AgreementSnapshot) -> None:
    if not may_edit(actor, agreement):
        raise NotPermitted(i18n.gettext(
            "You can read this agreement but not change it: changes are made by the staff of its "
            "parties. Partners may update the deliverables they own."))


def _label(workflow: CompiledWorkflow, state: str) -> str:
    """A state as a sentence says it: its label ("pending signature"), not its name, in the
    language being read."""
    return workflow.spec.label_of(state, i18n.current()).lower()


def require_open(workflow: CompiledWorkflow, agreement: AgreementSnapshot, doing: str) -> None:
    """`doing` is marked for the catalog where it is written (`N_`) and translated here."""
    if workflow.is_final(agreement.state):
        raise Conflict(i18n.gettext("The agreement is %(state)s, a final state: you cannot %(doing)s.") % {
            "state": _label(workflow, agreement.state), "doing": i18n.gettext(doing)})


def require_terms_editable(workflow: CompiledWorkflow, agreement: AgreementSnapshot, fields: list[str]) -> None:
    """The terms named by `fields` (an agreement's fields, or words such as "parties") said in words:
    the refusal in the language being read (`i18n.gettext`), the terms' names as given."""
    listed = ", ".join(i18n.gettext(word) if word in _TERM_WORDS else word
                       for word in sorted(name.replace("_", " ") for name in fields))
    if not workflow.is_editable(agreement.state):
        editable = [_label(workflow, name) for name, s in workflow.spec.states.items() if s.editable]
        if workflow.is_amendable(agreement.state):
            undo = i18n.gettext("propose an amendment, which every party signs (the agreement page's Amendments)")
        elif "withdraw" in workflow.allowed_events(agreement.state):
            undo = i18n.gettext("withdraw it from signature first (that clears the signatures), or record a "
                                "successor agreement")
        else:
            undo = i18n.gettext("record a successor agreement that follows this one")
        raise Conflict(i18n.gettext(
            "The agreement is %(state)s: its terms (%(terms)s) can be edited only while it is %(editable)s. "
            "To change them now, %(undo)s.") % {
            "state": _label(workflow, agreement.state), "terms": listed,
            "editable": i18n.gettext(" or ").join(editable), "undo": undo})
    if agreement.signatures:
        raise Conflict(i18n.gettext("A party has already signed, so the terms (%(terms)s) can no longer change.")
                       % {"terms": listed})


def require_amendable(workflow: CompiledWorkflow, agreement: AgreementSnapshot) -> None:
    """An amendment is proposed and merged only while the agreement is in a state its workflow
    flags `amendable` (signed and running); before that, its terms are edited directly."""
    if not workflow.is_amendable(agreement.state):
        states = [_label(workflow, name) for name, s in workflow.spec.states.items() if s.amendable]
        refusal = i18n.gettext("The agreement is %(state)s: it can be amended only while it is %(amendable)s.") % {
            "state": _label(workflow, agreement.state), "amendable": i18n.gettext(" or ").join(states)}
        if terms_editable(workflow, agreement):
            refusal += " " + i18n.gettext("While it is unsigned, edit its terms directly.")
        raise Conflict(refusal)


def approval_refusal(actor: Actor, agreement: AgreementSnapshot, party: PartyValue) -> str | None:
    """Why `actor` may not approve an administrative amendment for `party`, or None: its focal
    points approve (or an administrator, for it)."""
    if acts_for_anyone(actor):
        return None
    if any(c.party_id == party.id and c.person_id == actor.person_id and c.kind == ContactKind.FOCAL_POINT
           for c in agreement.contacts):
        return None
    return i18n.gettext("An administrative amendment is approved for %(party)s by its focal point on this "
                        "agreement; you are not one. Sign it instead, if you sign for it.") % {
        "party": party.organisation.name}


def terms_editable(workflow: CompiledWorkflow, agreement: AgreementSnapshot) -> bool:
    return workflow.is_editable(agreement.state) and not agreement.signatures


def require_deliverable_editor(actor: Actor, agreement: AgreementSnapshot, deliverable: DeliverableValue,
                               fields: list[str]) -> None:
    """Staff of a party (and admins) change any deliverable; a partner only the ones they own,
    and only their status, progress note and evidence."""
    if actor.role == Role.PARTNER:
        if deliverable.owner_id != actor.person_id:
            raise NotPermitted(i18n.gettext("You can update only the deliverables you own."))
        beyond = sorted(set(fields) - OWNER_FIELDS)
        if beyond:
            words = ", ".join(i18n.gettext(_DELIVERABLE_WORDS[name]) if name in _DELIVERABLE_WORDS
                              else name.replace("_", " ") for name in beyond)
            raise NotPermitted(i18n.gettext("As the deliverable's owner you may update its status, progress note "
                                            "and evidence link, not its %(fields)s.") % {"fields": words})
    else:
        require_editor(actor, agreement)


def require_deliverable_remover(actor: Actor, agreement: AgreementSnapshot, deliverable: DeliverableValue) -> None:
    """Staff of a party (and admins) remove a deliverable; a partner, even its owner, does not."""
    if actor.role == Role.PARTNER:
        refusal = i18n.gettext("Deliverables are removed by the staff of the agreement's parties, not by partners.")
        if deliverable.owner_id == actor.person_id:
            refusal += " " + i18n.gettext("As its owner you may update its status, progress note and evidence.")
        raise NotPermitted(refusal)
    require_editor(actor, agreement)


def may_update_deliverable(workflow: CompiledWorkflow, actor: Actor, agreement: AgreementSnapshot,
                           owner_id: int | None) -> bool:
    """Whether `actor` may update a deliverable (owned by `owner_id`) of `agreement` now: what
    the pages offer a form for (`require_deliverable_editor` and `require_open` decide)."""
    if workflow.is_final(agreement.state):
        return False
    if actor.role == Role.PARTNER:
        return owner_id is not None and owner_id == actor.person_id
    return may_edit(actor, agreement)


def require_creator(actor: Actor, organisation_ids: list[int]) -> str | None:
    """Raise unless `actor` may create an agreement between `organisation_ids`; a sentence if
    their own organisation is not among them (an input error, on `parties`)."""
    if actor.role == Role.PARTNER:
        raise NotPermitted(i18n.gettext("Partners cannot create agreements; the staff of a party do."))
    if not actor.is_admin and actor.organisation_id not in organisation_ids:
        return i18n.gettext("Your organisation must be one of the parties of an agreement you create.")
    return None


# --- documents -------------------------------------------------------------------------------

def document_refusal(actor: Actor, agreement: AgreementSnapshot, kind: str,
                     deliverable: DeliverableValue | None) -> str | None:
    """Why `actor` may not upload a document of `kind` (for `deliverable`), or None: staff of a
    party and administrators upload any kind; a partner only evidence of a deliverable they own."""
    if may_edit(actor, agreement):
        return None
    if actor.role == Role.PARTNER:
        if kind == DocumentKind.EVIDENCE and deliverable is not None and deliverable.owner_id == actor.person_id:
            return None
        return i18n.gettext("As a partner you upload only evidence (kind evidence) of a deliverable you own, "
                            "naming it as deliverable_id; other documents are uploaded by the staff of the parties.")
    return i18n.gettext("Documents are uploaded by the staff of the agreement's parties.")


def may_upload(actor: Actor, agreement: AgreementSnapshot) -> bool:
    """Whether the pages offer `actor` the upload form (what they may upload, `document_refusal` says)."""
    return may_edit(actor, agreement) or (actor.role == Role.PARTNER and any(
        d.owner_id == actor.person_id for d in agreement.deliverables))


def require_admin(actor: Actor, doing: str) -> None:
    """`doing` is marked for the catalog where it is written (`N_`) and translated here."""
    if not actor.is_admin:
        raise NotPermitted(i18n.gettext("Only an administrator may %(doing)s.") % {"doing": i18n.gettext(doing)})


# --- events ----------------------------------------------------------------------------------

def may_fire(workflow: CompiledWorkflow, actor: Actor, event: str) -> bool:
    """Whether the workflow file lets `actor` fire `event` (its `actors:`)."""
    spec = workflow.spec.events[event]
    if actor.is_scheduler:
        return EventActor.SCHEDULER in spec.actors
    return actor.role in (Role.ADMIN, Role.STAFF) and EventActor.STAFF in spec.actors


def require_fire(workflow: CompiledWorkflow, actor: Actor, agreement: AgreementSnapshot, event: str) -> None:
    """Editing, the workflow's `actors:`, and the state's allowed events, in that order."""
    if not actor.is_scheduler:
        require_editor(actor, agreement)
    if not may_fire(workflow, actor, event):
        raise NotPermitted(i18n.gettext("“%(event)s” is done by Accord itself (its scheduler, on the day or the "
                                        "event that calls for it), not by a person.") % {
            "event": workflow.spec.label_of(event, i18n.current())})
    allowed_now = workflow.allowed_events(agreement.state)
    if event not in allowed_now:
        spec, language = workflow.spec, i18n.current()
        raise TransitionNotAllowed(event, agreement.state, [e for e in allowed_now if may_fire(workflow, actor, e)],
                                   event_labels={name: spec.label_of(name, language) for name in spec.events},
                                   state_labels={name: spec.label_of(name, language) for name in spec.states})


def available_events(workflow: CompiledWorkflow, agreement: AgreementSnapshot, actor: Actor,
                     when: When) -> tuple[list[str], dict[str, list[str]]]:
    """The events `actor` may fire now, and for each whose guards are unmet, what is missing. An
    event the caller may not fire for their party (a supporter's `sign`) is not listed."""
    if not may_edit(actor, agreement):
        return [], {}
    events: list[str] = []
    unmet: dict[str, list[str]] = {}
    for event in workflow.allowed_events(agreement.state):
        if not may_fire(workflow, actor, event):
            continue
        ctx = EventContext(snapshot=agreement, event=event, actor=actor, data=NO_FIELDS,
                           today=when.today, now=when.now, zone=when.zone,
                           named=workflow.spec.label_of(event, i18n.current()).lower())
        if workflow.refusal(ctx):
            continue
        events.append(event)
        sentences = workflow.unmet(ctx, with_input=False)
        if sentences:
            unmet[event] = sentences
    return events, unmet
