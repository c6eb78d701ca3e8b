"""The tables. Request and response shapes live in `engine.schemas`, not here.

Every change to an agreement or anything it owns (parties, focal points, areas,
deliverables, signatures) bumps `Agreement.version` by one and writes one
`HistoryEvent` with that version, so `version` always equals the number of
history rows and (agreement_id, version) is unique.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, true
from sqlmodel import Field, Relationship, SQLModel

from engine.statuses import DeliverableStatus, PartyRole
from engine.types import UTCDateTime


def instant(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def long_text(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(Text, nullable=nullable))


def children(order_by: str) -> Any:
    """A collection the agreement owns: loaded only when asked for, deleted with it."""
    return Relationship(sa_relationship_kwargs={"lazy": "raise", "order_by": order_by,
                                                "cascade": "all, delete-orphan"})


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    short_name: str | None = Field(default=None, max_length=40)
    kind: str = Field(default="network", max_length=40)
    city: str | None = Field(default=None, max_length=120)
    country: str | None = Field(default=None, max_length=120)
    timezone: str = Field(default="UTC", max_length=64)
    # A Language its people read in when they have chosen none; None: ACCORD_DEFAULT_LANGUAGE.
    language: str | None = Field(default=None, max_length=8)
    created_at: datetime = instant()


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320, unique=True)
    role: str = Field(max_length=16)  # a Role (of Role.PEOPLE)
    job_title: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    # A Language (engine/i18n.py) for pages and mail; None: their organisation's.
    language: str | None = Field(default=None, max_length=8)
    # False: disabled (engine.directory.service.update_person). The row stays, so history keeps the name.
    active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    created_at: datetime = instant()

    organisation: Organisation = Relationship(sa_relationship_kwargs={"lazy": "joined"})


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    label: str | None = Field(default=None, max_length=100)
    created_at: datetime = instant()
    revoked_at: datetime | None = instant(nullable=True)
    # Who issued it, when not its holder (staff for a colleague, an administrator); None from the CLI.
    issued_by_id: int | None = Field(default=None, foreign_key="person.id")


class Agreement(SQLModel, table=True):
    __table_args__ = (Index("ix_agreement_state_next_review", "state", "next_review_on"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=300)
    summary: str | None = long_text()
    background: str | None = long_text()
    workflow_name: str = Field(max_length=64)
    workflow_version: int
    state: str = Field(max_length=32, index=True)
    version: int = Field(default=1)
    effective_from: date | None = None
    ends_on: date | None = None
    term_starts_on: date | None = None
    review_every_months: int | None = None
    next_review_on: date | None = Field(default=None, index=True)
    notice_period_days: int | None = None
    signing_place: str | None = Field(default=None, max_length=200)
    signed_on: date | None = None
    submitted_on: date | None = None
    review_outcome: str | None = Field(default=None, max_length=32)
    review_summary: str | None = long_text()
    # Indexed: an agreement's successor is the newest agreement naming it (engine/agreements/snapshot.py).
    predecessor_id: int | None = Field(default=None, foreign_key="agreement.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = instant()
    updated_at: datetime = instant()
    # The instrument's reference as the parties cite it; a merged amendment adds `-A<number>`.
    reference: str | None = Field(default=None, max_length=120)

    parties: list["Party"] = Relationship(
        back_populates="agreement",
        sa_relationship_kwargs={"lazy": "raise", "order_by": "Party.id", "cascade": "all, delete-orphan"},
    )
    contacts: list["Contact"] = children("Contact.id")
    signatures: list["Signature"] = children("Signature.id")
    areas: list["CollaborationArea"] = children("CollaborationArea.position")
    deliverables: list["Deliverable"] = children("Deliverable.id")
    documents: list["Document"] = children("Document.id")


class Party(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("agreement_id", "organisation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int | None = Field(default=None, foreign_key="agreement.id", index=True, nullable=False)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    role: str = Field(default=PartyRole.PARTY, max_length=16)  # a PartyRole: a supporter never signs

    agreement: Agreement = Relationship(back_populates="parties", sa_relationship_kwargs={"lazy": "raise"})
    organisation: Organisation = Relationship(sa_relationship_kwargs={"lazy": "joined"})


class Contact(SQLModel, table=True):
    """A person a party names for an agreement, as focal point or as signatory."""

    __tablename__ = "agreement_contact"
    __table_args__ = (UniqueConstraint("party_id", "person_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    party_id: int = Field(foreign_key="party.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    kind: str = Field(max_length=16)  # a ContactKind
    capacity: str | None = Field(default=None, max_length=200)

    person: Person = Relationship(sa_relationship_kwargs={"lazy": "joined"})


class Signature(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("agreement_id", "party_id"),)

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int | None = Field(default=None, foreign_key="agreement.id", index=True, nullable=False)
    party_id: int = Field(foreign_key="party.id")
    signatory_id: int | None = Field(default=None, foreign_key="person.id")
    signed_on: date
    place: str | None = Field(default=None, max_length=200)
    recorded_by_id: int | None = Field(default=None, foreign_key="person.id")
    recorded_at: datetime = instant()


class CollaborationArea(SQLModel, table=True):
    __tablename__ = "collaboration_area"
    __table_args__ = (UniqueConstraint("agreement_id", "title"),)

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int | None = Field(default=None, foreign_key="agreement.id", index=True, nullable=False)
    title: str = Field(max_length=300)
    description: str | None = long_text()
    position: int = 0


class Deliverable(SQLModel, table=True):
    __table_args__ = (Index("ix_deliverable_status_due", "status", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    area_id: int = Field(foreign_key="collaboration_area.id", index=True)
    title: str = Field(max_length=300)
    description: str | None = long_text()
    owner_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    due_on: date | None = None
    status: str = Field(default=DeliverableStatus.PLANNED, max_length=16)
    progress_note: str | None = long_text()
    evidence_url: str | None = Field(default=None, max_length=2000)
    completed_on: date | None = None
    created_at: datetime = instant()
    updated_at: datetime = instant()


class Document(SQLModel, table=True):
    """A file kept with an agreement: its bytes are stored once per content, by sha256, in the
    documents folder (engine/documents.py); this row says what it is, whose, and whether it was
    withdrawn (never deleted: a withdrawn document keeps its content and its place in history)."""

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    kind: str = Field(max_length=32)  # a DocumentKind
    title: str = Field(max_length=300)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=128)
    size: int
    sha256: str = Field(max_length=64, index=True)
    uploaded_by_id: int | None = Field(default=None, foreign_key="person.id")
    uploaded_at: datetime = instant()
    deliverable_id: int | None = Field(default=None, foreign_key="deliverable.id")
    # The amendment it is the signed copy of (no foreign key yet: amendments come in their own change).
    amendment_id: int | None = None
    withdrawn_at: datetime | None = instant(nullable=True)
    withdrawn_by_id: int | None = Field(default=None, foreign_key="person.id")
    withdrawn_reason: str | None = long_text()


class HistoryEvent(SQLModel, table=True):
    """Append-only audit history: one row per change of an agreement, numbered by its version."""

    __tablename__ = "agreement_event"
    __table_args__ = (UniqueConstraint("agreement_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    version: int
    at: datetime = instant()
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    actor: str = Field(max_length=200)
    kind: str = Field(max_length=16)  # a HistoryKind
    event: str = Field(max_length=64)
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str | None = Field(default=None, max_length=32)
    comment: str | None = long_text()
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The change's field-level diff (engine/agreements/changes.py, `ChangeSet.diff`); None before 0005.
    diff: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Amendment(SQLModel, table=True):
    """A proposed change to a signed agreement, numbered 1, 2, ... per agreement, with its own
    lifecycle (engine/amendments). `changes` is what it sets (`engine.schemas.AmendmentChanges`),
    `diff` what that does to the agreement (`[{path, from, to}]`): as drafted on `base_version`,
    refreshed when it goes back to draft, and as merged. `version` is its own compare-and-set."""

    __table_args__ = (UniqueConstraint("agreement_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    number: int
    kind: str = Field(max_length=16)  # an AmendmentKind
    reason: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(max_length=32)  # an AmendmentState
    workflow_version: int = 1
    version: int = 1
    base_version: int
    changes: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    diff: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    created_by_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = instant()
    updated_at: datetime = instant()
    merged_at: datetime | None = instant(nullable=True)
    merged_version: int | None = None  # the agreement's version its merge wrote


class AmendmentSignature(SQLModel, table=True):
    """One party's assent to an amendment: signed, or approved by its focal point (an
    administrative amendment). Cleared when the amendment goes back to draft."""

    __tablename__ = "amendment_signature"
    __table_args__ = (UniqueConstraint("amendment_id", "party_id"),)

    id: int | None = Field(default=None, primary_key=True)
    amendment_id: int = Field(foreign_key="amendment.id", index=True)
    party_id: int  # no foreign key: a party that leaves by this very amendment signed it
    organisation_id: int = Field(foreign_key="organisation.id")
    assent: str = Field(max_length=16)  # an AmendmentAssent
    person_id: int | None = Field(default=None, foreign_key="person.id")
    actor: str = Field(max_length=200)
    at: datetime = instant()


from engine.directory.signin import SignInLink  # noqa: E402,F401
from engine.feed_models import CalendarFeed  # noqa: E402,F401
