"""An agreement and everything it owns, as plain immutable values.

What the one way in (`engine.agreements.service.apply`) reads, checks, changes and answers with:
not ORM instances, but frozen dataclasses read in one statement (`engine.agreements.snapshot`).
Each value has the columns of its table under the same names, plus the parts it is read with (a
party its organisation, a contact its person), so the workflow's guards, the schedule and the
pages read an `AgreementSnapshot` the way they would read the rows.

A value is changed only by making a new one (`dataclasses.replace`); a change to an agreement is
an `engine.agreements.changes.ChangeSet`, and `AgreementSnapshot.after` is the agreement it leaves.
A part not yet written has a negative id (`Ids.next`), which the write replaces by the row's.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class OrganisationValue:
    TABLE: ClassVar[str] = "organisation"

    id: int
    name: str
    short_name: str | None
    kind: str
    city: str | None
    country: str | None
    timezone: str
    language: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PersonValue:
    TABLE: ClassVar[str] = "person"

    id: int
    organisation_id: int
    name: str
    email: str
    role: str
    job_title: str | None
    timezone: str | None
    language: str | None
    active: bool
    created_at: datetime
    organisation: OrganisationValue


@dataclass(frozen=True, slots=True)
class PartyValue:
    TABLE: ClassVar[str] = "party"

    id: int
    agreement_id: int
    organisation_id: int
    role: str
    organisation: OrganisationValue


@dataclass(frozen=True, slots=True)
class ContactValue:
    TABLE: ClassVar[str] = "agreement_contact"

    id: int
    agreement_id: int
    party_id: int
    person_id: int
    kind: str
    capacity: str | None
    person: PersonValue


@dataclass(frozen=True, slots=True)
class SignatureValue:
    TABLE: ClassVar[str] = "signature"

    id: int
    agreement_id: int
    party_id: int
    signatory_id: int | None
    signed_on: date
    place: str | None
    recorded_by_id: int | None
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class AreaValue:
    TABLE: ClassVar[str] = "collaboration_area"

    id: int
    agreement_id: int
    title: str
    description: str | None
    position: int


@dataclass(frozen=True, slots=True)
class DeliverableValue:
    TABLE: ClassVar[str] = "deliverable"

    id: int
    agreement_id: int
    area_id: int
    title: str
    description: str | None
    owner_id: int | None
    due_on: date | None
    status: str
    progress_note: str | None
    evidence_url: str | None
    completed_on: date | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DocumentValue:
    """A document kept with the agreement (its bytes are in the documents folder, by sha256)."""

    TABLE: ClassVar[str] = "document"

    id: int
    agreement_id: int
    kind: str
    title: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by_id: int | None
    uploaded_at: datetime
    deliverable_id: int | None
    amendment_id: int | None
    withdrawn_at: datetime | None
    withdrawn_by_id: int | None
    withdrawn_reason: str | None


PartValue = PartyValue | ContactValue | SignatureValue | AreaValue | DeliverableValue | DocumentValue

# The collection of `AgreementSnapshot` that holds each kind of part, in the order parts are
# written (a contact names a party, a deliverable an area, a signature a party).
COLLECTIONS: dict[type[Any], str] = {
    PartyValue: "parties", AreaValue: "areas", ContactValue: "contacts",
    DeliverableValue: "deliverables", SignatureValue: "signatures", DocumentValue: "documents",
}
# The name of each kind of part in a change set, its diff and the history.
PART_NAMES: dict[type[Any], str] = {
    PartyValue: "party", AreaValue: "area", ContactValue: "contact",
    DeliverableValue: "deliverable", SignatureValue: "signature", DocumentValue: "document",
}
# Which other parts a part's columns name, by column: rewritten when a new part gets its row's id.
REFERENCES: dict[type[Any], dict[str, type[Any]]] = {
    ContactValue: {"party_id": PartyValue}, SignatureValue: {"party_id": PartyValue},
    DeliverableValue: {"area_id": AreaValue}, DocumentValue: {"deliverable_id": DeliverableValue},
}


@dataclass(frozen=True, slots=True)
class AmendmentRefValue:
    """An amendment as its agreement's read lists it (number, kind, state), and its row's id,
    which a document of the amendment names."""

    id: int
    number: int
    kind: str
    state: str


@dataclass(frozen=True, slots=True)
class AgreementSnapshot:
    TABLE: ClassVar[str] = "agreement"

    id: int
    title: str
    summary: str | None
    background: str | None
    workflow_name: str
    workflow_version: int
    state: str
    version: int
    effective_from: date | None
    ends_on: date | None
    term_starts_on: date | None
    review_every_months: int | None
    next_review_on: date | None
    notice_period_days: int | None
    signing_place: str | None
    signed_on: date | None
    submitted_on: date | None
    review_outcome: str | None
    review_summary: str | None
    predecessor_id: int | None
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    reference: str | None = None
    parties: tuple[PartyValue, ...] = ()
    contacts: tuple[ContactValue, ...] = ()
    signatures: tuple[SignatureValue, ...] = ()
    areas: tuple[AreaValue, ...] = ()
    deliverables: tuple[DeliverableValue, ...] = ()
    documents: tuple[DocumentValue, ...] = ()
    # Not columns, read with it: the newest agreement that names this one as its predecessor, and
    # its amendments (their own lifecycle and rows are engine/amendments').
    successor_id: int | None = None
    amendments: tuple[AmendmentRefValue, ...] = ()

    def columns(self) -> dict[str, Any]:
        """The agreement's own columns by name (not its parts)."""
        return {name: getattr(self, name) for name in AGREEMENT_COLUMNS}

    def party(self, party_id: int) -> PartyValue | None:
        return next((p for p in self.parties if p.id == party_id), None)

    def party_of(self, organisation_id: int | None) -> PartyValue | None:
        return next((p for p in self.parties if p.organisation_id == organisation_id), None)

    def contact(self, contact_id: int) -> ContactValue | None:
        return next((c for c in self.contacts if c.id == contact_id), None)

    def area(self, area_id: int) -> AreaValue | None:
        return next((a for a in self.areas if a.id == area_id), None)

    def deliverable(self, deliverable_id: int) -> DeliverableValue | None:
        return next((d for d in self.deliverables if d.id == deliverable_id), None)

    def signature_of(self, party_id: int | None) -> SignatureValue | None:
        return next((s for s in self.signatures if s.party_id == party_id), None)

    def document(self, document_id: int) -> DocumentValue | None:
        return next((d for d in self.documents if d.id == document_id), None)

    def kept_documents(self, kind: str) -> list[DocumentValue]:
        """The documents of `kind` that stand: not withdrawn."""
        return [d for d in self.documents if d.kind == kind and d.withdrawn_at is None]


PARTS = ("parties", "contacts", "signatures", "areas", "deliverables", "documents")
DERIVED = ("successor_id", "amendments")
AGREEMENT_COLUMNS = tuple(f.name for f in fields(AgreementSnapshot) if f.name not in PARTS + DERIVED)


def columns_of(value: PartValue) -> dict[str, Any]:
    """A part's own columns by name (a party without its organisation, a contact without its person)."""
    own = COLUMNS[type(value)]
    return {name: getattr(value, name) for name in own}


COLUMNS: dict[type[Any], tuple[str, ...]] = {
    kind: tuple(f.name for f in fields(kind) if f.name not in ("organisation", "person"))
    for kind in (OrganisationValue, PersonValue, PartyValue, ContactValue, SignatureValue,
                 AreaValue, DeliverableValue, DocumentValue)
}


class Ids:
    """Ids for parts not yet written: -1, -2, ... (a stored row's id is positive)."""

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> int:
        self.last -= 1
        return self.last

