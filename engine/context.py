"""Who acts: a person, or the scheduler."""

from __future__ import annotations

from dataclasses import dataclass

from engine.models import Person
from engine.statuses import Role

SCHEDULER = Role.SCHEDULER


@dataclass(frozen=True)
class Actor:
    """Who fires an event or makes a change: a person, or the scheduler."""

    label: str
    role: str  # a Role: a person's, or the scheduler's
    person_id: int | None = None
    organisation_id: int | None = None
    # The language they read (engine/i18n.py): their own, else their organisation's; None: neither
    # chose one. Known where it is read (a page's session); None elsewhere.
    language: str | None = None

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
