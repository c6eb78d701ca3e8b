"""Every closed set of names the engine stores or compares: statuses, roles and kinds.

Each family is a `StrEnum`: a member is the string it stands for (`DeliverableStatus.DONE ==
"done"`, and it is written to the database, to JSON and into text as `done`), so the columns
stay plain strings and the API's JSON is what it was. The schemas' `Literal` types are made of
these members (`engine.schemas`), so the OpenAPI lists the same values. Sets the code asks about
more than once are members of their family too, as frozensets (`DeliverableStatus.OPEN`).

Workflow states are not here: they are the workflow file's own names (`workflows/*.yaml`), and
what the engine must know of a state it asks the workflow (`engine.workflow.machine.CompiledWorkflow`).

This module imports nothing of Accord's, so anything may import it.
"""

from __future__ import annotations

from enum import StrEnum, nonmember


class Choice(StrEnum):
    """A StrEnum that reads as its value everywhere, `repr` included: pydantic quotes the values
    a `Literal` allows with `repr`, so a refusal says 'planned', not <DeliverableStatus...>."""

    def __repr__(self) -> str:
        return repr(self.value)


class DeliverableStatus(Choice):
    """A deliverable's status; `overdue` is derived (open and past its due day), never stored."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"

    # Still to be delivered: its owner is reminded, it can be overdue.
    OPEN = nonmember(frozenset({PLANNED, IN_PROGRESS}))


class Role(Choice):
    """Who acts: a person's role, or the scheduler (timers fire as it; it is no person's role)."""

    ADMIN = "admin"
    STAFF = "staff"
    PARTNER = "partner"
    SCHEDULER = "scheduler"

    # The roles a person may have.
    PEOPLE = nonmember(frozenset({ADMIN, STAFF, PARTNER}))


class PartyRole(Choice):
    """An organisation's part in an agreement: a party signs; a supporter (a third party that
    supports a city-to-city cooperation) never does."""

    PARTY = "party"
    SUPPORTER = "supporter"


class ContactKind(Choice):
    """What a party names a person for an agreement as."""

    FOCAL_POINT = "focal_point"
    SIGNATORY = "signatory"


class HistoryKind(Choice):
    """What a history row records: the agreement's creation, a workflow event, an edit, its
    import from a file (engine/importing), or an amendment merged into it (engine/amendments)."""

    CREATED = "created"
    TRANSITION = "transition"
    EDITED = "edited"
    IMPORTED = "imported"
    AMENDED = "amended"


class TimerStatus(Choice):
    """A timer: waiting for its day, fired through the engine, failed (the event was refused;
    an alert went out), or cancelled (the agreement left the timer's states or its date moved)."""

    PENDING = "pending"
    FIRED = "fired"
    FAILED = "failed"
    CANCELLED = "cancelled"


class DeliveryStatus(Choice):
    """One mail (a notification) or one webhook delivery: waiting or being retried, sent,
    cancelled (moot, or the subscription was disabled), or dead (retries exhausted; an
    administrator may retry it)."""

    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"
    DEAD = "dead"


class NotificationKind(Choice):
    """A reminder the workflow schedules, or an alert about something that went wrong."""

    REMINDER = "reminder"
    ALERT = "alert"


class DocumentKind(Choice):
    """What an agreement's document is: its signed copy, the signed copy of an amendment, a
    letter that ends it, evidence of a deliverable's work, or anything else kept with it."""

    SIGNED_AGREEMENT = "signed_agreement"
    AMENDMENT = "amendment"
    TERMINATION_LETTER = "termination_letter"
    EVIDENCE = "evidence"
    OTHER = "other"


class Word(Choice):
    """A family whose values are also everyday words of the code (an amendment's kind `terms` or
    `parties`, its event `sign`): tests/test_statuses.py does not hunt for them spelled as strings,
    where it would find the agreement's terms, parties and the workflow's `sign`."""


class AmendmentKind(Word):
    """What an amendment changes (engine/amendments): `administrative` the title, the wording
    and the capacities contacts are named in; `terms` the dates, review and notice periods and
    the summary; `scope` the areas of collaboration and deliverables; `parties` who is party."""

    ADMINISTRATIVE = "administrative"
    TERMS = "terms"
    SCOPE = "scope"
    PARTIES = "parties"


class AmendmentState(Choice):
    """An amendment's lifecycle (engine/amendments/lifecycle.py): drafted, out for the parties'
    signatures, signed by all (merged in the same moment, or back to draft if the agreement
    changed underneath), merged into the agreement, or cancelled."""

    DRAFT = "draft"
    PENDING_SIGNATURE = "pending_signature"
    SIGNED = "signed"
    MERGED = "merged"
    CANCELLED = "cancelled"

    # Nothing leaves these.
    FINAL = nonmember(frozenset({MERGED, CANCELLED}))


class AmendmentEvent(Word):
    """What a person does to an amendment (`POST .../amendments/{number}/events`)."""

    SUBMIT = "submit"
    SIGN = "sign"
    APPROVE = "approve"
    WITHDRAW = "withdraw"
    CANCEL = "cancel"


class AmendmentAssent(Choice):
    """How a party agreed to an amendment: signed it, or (an administrative one) approved it
    through its focal point."""

    SIGNED = "signed"
    APPROVED = "approved"


class Language(Choice):
    """A language Accord speaks (engine/i18n.py): a person's and an organisation's `language`, the
    pages' language switch, mails. A fourth is a member here and a catalog (README, "Languages")."""

    EN = "en"
    FR = "fr"
    ES = "es"
