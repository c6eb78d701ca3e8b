"""What guards, effects and conditions see when an event is fired."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlmodel import SQLModel

from engine.models import Agreement, Party, Person, Signature
from engine.schemas import EventInput
from engine.statuses import PartyRole, Role
from workflows.definition import StateSpec

SCHEDULER = Role.SCHEDULER


@dataclass(frozen=True)
class Actor:
    """Who fires an event or makes a change: a person, or the scheduler."""

    label: str
    role: str  # a Role: a person's, or the scheduler's
    person_id: int | None = None
    organisation_id: int | None = None

    @classmethod
    def of(cls, person: Person) -> Actor:
        return cls(label=person.name, role=person.role, person_id=person.id,
                   organisation_id=person.organisation_id)

    @classmethod
    def scheduler(cls) -> Actor:
        return cls(label=SCHEDULER, role=SCHEDULER)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_scheduler(self) -> bool:
        return self.role == SCHEDULER


@dataclass
class EventContext:
    """One firing of one event on one agreement, loaded with its parties, contacts and signatures."""

    agreement: Agreement
    event: str
    actor: Actor
    data: EventInput
    today: date
    now: datetime
    dest: str | None = None
    # The state the event leaves, as its workflow declares it (its flags); set by the machine's step.
    leaving: StateSpec | None = None
    # Accord's time zone, in which `today` is a day (and so are other instants, e.g. `created_at`).
    zone: tzinfo = UTC
    # Rows effects create; the service adds them to the session.
    added: list[SQLModel] = field(default_factory=list)
    # Facts effects record, kept in the history event's `data`.
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def signing_organisation_id(self) -> int | None:
        return self.data.organisation_id or self.actor.organisation_id

    @property
    def signing_party(self) -> Party | None:
        org = self.signing_organisation_id
        return next((p for p in self.agreement.parties if p.organisation_id == org), None)

    def day_of(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def signature_of(self, party: Party) -> Signature | None:
        return next((s for s in self.agreement.signatures if s.party_id == party.id), None)

    def signing_parties(self) -> list[Party]:
        return [p for p in self.agreement.parties if p.role == PartyRole.PARTY]
