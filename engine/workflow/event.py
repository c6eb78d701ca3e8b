"""What guards, effects and conditions see when an event is fired: `EventContext`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from engine.agreements.changes import Draft
from engine.agreements.values import AgreementSnapshot, PartyValue, SignatureValue
from engine.context import Actor
from engine.schemas import EventInput
from engine.statuses import PartyRole
from workflows.definition import StateSpec


@dataclass
class EventContext:
    """One firing of one event on one agreement (a snapshot). Guards read `agreement`; effects
    change it through `draft` (`set`, `add`, `remove`) and record `facts` for the history, and
    then read `agreement` as their changes left it."""

    snapshot: AgreementSnapshot
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
    # The event as a sentence names it: its workflow label in the language being read, lowercased
    # ("terminate", "résilier"); empty, its name spaced (`event_words`).
    named: str = ""
    draft: Draft = field(init=False)

    def __post_init__(self) -> None:
        self.draft = Draft(self.snapshot)

    @property
    def event_words(self) -> str:
        return self.named or self.event.replace("_", " ")

    @property
    def agreement(self) -> AgreementSnapshot:
        """The agreement as the effects run so far left it (before them: the snapshot)."""
        return self.snapshot if not (self.draft.fields or self.draft.parts) else self.draft.view

    @property
    def facts(self) -> dict[str, Any]:
        """Facts effects record, kept in the history event's `data`."""
        return self.draft.facts

    @property
    def signing_organisation_id(self) -> int | None:
        return self.data.organisation_id or self.actor.organisation_id

    @property
    def signing_party(self) -> PartyValue | None:
        return self.agreement.party_of(self.signing_organisation_id)

    def day_of(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def signature_of(self, party: PartyValue) -> SignatureValue | None:
        return self.agreement.signature_of(party.id)

    def signing_parties(self) -> list[PartyValue]:
        return [p for p in self.agreement.parties if p.role == PartyRole.PARTY]
