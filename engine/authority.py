"""For which party a person may act: the one rule the API, the pages and the engine all use.

Reach and editing (`engine.access`) say whether a person may change an agreement at all. Within
an agreement, a party acts only for itself: a person who is not an administrator records a
signature only for their own organisation, and only when it is a signing party (a supporter
never signs), and names or withdraws focal points and signatories only for their own party.
An administrator may act for any party; what they do for a party that is not their own
organisation is recorded `on_behalf_of` that party, and the history says so.

Each check returns `None` when the person may act, or a sentence that says why not; `require`
turns that sentence into `NotPermitted` (a 403).
"""

from __future__ import annotations

from typing import Any

from engine.context import Actor
from engine.errors import NotPermitted
from engine.models import Agreement, Party
from engine.statuses import PartyRole


def acts_for_anyone(actor: Actor) -> bool:
    return actor.is_admin or actor.is_scheduler


def party_of(agreement: Agreement, organisation_id: int | None) -> Party | None:
    return next((p for p in agreement.parties if p.organisation_id == organisation_id), None)


def _name(agreement: Agreement, organisation_id: int | None) -> str:
    party = party_of(agreement, organisation_id)
    return party.organisation.name if party is not None else f"organisation {organisation_id}"


def signing_refusal(actor: Actor, agreement: Agreement, organisation_id: int | None) -> str | None:
    """Why `actor` may not record the signature of `organisation_id` (default: their own), or None."""
    if acts_for_anyone(actor):
        return None
    own = _name(agreement, actor.organisation_id)
    if organisation_id is not None and organisation_id != actor.organisation_id:
        other = _name(agreement, organisation_id)
        return (f"You act for {own}, and you record a signature only for your own organisation: "
                f"{other}'s signature is recorded by its own staff or by an administrator.")
    party = party_of(agreement, actor.organisation_id)
    if party is not None and party.role != PartyRole.PARTY:
        signers = ", ".join(p.organisation.name for p in agreement.parties if p.role == PartyRole.PARTY)
        return (f"{own} supports this agreement and does not sign it; its signing parties "
                f"({signers}) sign.")
    return None


def contact_refusal(actor: Actor, agreement: Agreement, party: Party) -> str | None:
    """Why `actor` may not name or withdraw a focal point or signatory of `party`, or None."""
    if acts_for_anyone(actor) or party.organisation_id == actor.organisation_id:
        return None
    own = _name(agreement, actor.organisation_id)
    return (f"Only {party.organisation.name} names and withdraws its own focal points and "
            f"signatories (or an administrator does for it); you act for {own}, and only for "
            "your own organisation.")


def require(refusal: str | None) -> None:
    if refusal is not None:
        raise NotPermitted(refusal)


def parties_to_sign_for(actor: Actor, agreement: Agreement) -> list[Party]:
    """The signing parties that have not signed yet and whose signature `actor` may record."""
    signed = {s.party_id for s in agreement.signatures}
    return [p for p in agreement.parties
            if p.role == PartyRole.PARTY and p.id not in signed
            and signing_refusal(actor, agreement, p.organisation_id) is None]


def on_behalf_of(actor: Actor, party: Party) -> dict[str, Any] | None:
    """History data naming `party` when `actor` (an administrator) acted for it from elsewhere."""
    if actor.is_scheduler or actor.organisation_id == party.organisation_id:
        return None
    return {"organisation_id": party.organisation_id, "name": party.organisation.name}
