"""Claimed notifications made into letters: one mail per row, or per person and day for people
who asked for a daily digest.

Each item is worded for its reader. Its link opens the agreement's page (`/agreements/<id>` on
`ACCORD_BASE_URL`; the page asks a reader without a session to sign in, then comes back to it).
An escalated reminder says so only to the people it was escalated to, never to the deliverable's
owner, whose copy reads as a plain reminder. A partner (who reads the agreement and updates only
the deliverables they own, engine/agreements/policy.py) reads the rule's `partner_action` where
it has one; about someone else's deliverable, a partner is asked to tell its owner; about an
alert, that the staff of the parties correct the agreement.

Each letter is in its reader's language (engine/i18n.py: theirs, else their organisation's, else
ACCORD_DEFAULT_LANGUAGE), so one reminder about one agreement may go out in three languages.

A letter's key (`accord-<row ids>`) is its Message-ID, the same on every retry, so mail systems
can drop a copy sent again after a worker died between the send and the write of its outcome.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Result, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from engine import i18n
from engine.i18n import N_, ngettext
from engine.i18n import gettext as _
from engine.models import Agreement, Deliverable, Organisation, Person
from engine.schedule import Notification, NotificationPreference
from engine.settings import Settings
from engine.statuses import NotificationKind, Role
from engine.workflow.machine import catalog
from notifications.email import Mail, MailItem, when_phrase
from workflows.definition import ReminderSpec

_DATE_LABELS = {"next_review_on": N_("Review date"), "ends_on": N_("End date"),
                "notice_deadline": N_("Notice deadline"), "due_on": N_("Due date"),
                "submitted_on": N_("Submitted for signature on")}


@dataclass(frozen=True)
class _Reader:
    """Whom an item is worded for: the recipient's id and role."""

    id: int
    role: str


@dataclass(frozen=True)
class _Subject:
    """A deliverable a reminder is about: its title, and its owner's id and name (if it has one)."""

    title: str
    owner_id: int | None
    owner_name: str | None


@dataclass(frozen=True)
class Letter:
    mail: Mail
    notification_ids: tuple[int, ...]


async def compose(session: AsyncSession, claimed: list[Notification], settings: Settings,
                  now: datetime) -> list[Letter]:
    """The letters that carry `claimed`, grouped by person (and day, for a digest)."""
    # Only the columns a mail shows: these are read for every claimed batch.
    person_ids = {n.person_id for n in claimed}
    readers: Result[Any] = await session.execute(
        select(col(Person.id), col(Person.name), col(Person.email), col(Person.role),
               col(Person.language), col(Organisation.language).label("organisation_language"))
        .join(Organisation, col(Organisation.id) == col(Person.organisation_id))
        .where(col(Person.id).in_(person_ids)))
    people: dict[int, Any] = {p.id: p for p in readers}
    agreements = {a.id: a for a in await session.execute(
        select(col(Agreement.id), col(Agreement.title), col(Agreement.workflow_name),
               col(Agreement.workflow_version))
        .where(col(Agreement.id).in_({n.agreement_id for n in claimed})))}
    deliverable_ids = {n.subject_id for n in claimed if n.subject_type == "deliverable"}
    owner = aliased(Person)
    deliverables = {d.id: _Subject(d.title, d.owner_id, d.name) for d in await session.execute(
        select(col(Deliverable.id), col(Deliverable.title), col(Deliverable.owner_id), col(owner.name))
        .outerjoin(owner, col(owner.id) == col(Deliverable.owner_id))
        .where(col(Deliverable.id).in_(deliverable_ids)))} if deliverable_ids else {}
    digest = set(await session.scalars(select(col(NotificationPreference.person_id)).where(
        col(NotificationPreference.person_id).in_(person_ids),
        col(NotificationPreference.daily_digest).is_(True))))

    groups: dict[tuple[int, str], list[Notification]] = defaultdict(list)
    for n in sorted(claimed, key=lambda n: (n.person_id, n.due_on, n.id or 0)):
        # due_on is the recipient's own day (a reminder is sent on it at their local morning).
        group = f"day:{n.due_on.isoformat()}" if n.person_id in digest else f"n:{n.id}"
        groups[(n.person_id, group)].append(n)
    letters: list[Letter] = []
    today = now.astimezone(settings.zone).date()
    specs: dict[tuple[str, int, str], ReminderSpec | None] = {}
    for (person_id, _group), members in groups.items():
        person = people[person_id]
        reader = _Reader(person_id, person.role)
        language = i18n.language_of(person.language, person.organisation_language, settings.default_language)
        with i18n.reading(language):
            items = tuple(_item(n, agreements[n.agreement_id],
                                deliverables.get(n.subject_id) if n.subject_type == "deliverable" else None,
                                reader, settings, today, specs) for n in members)
            if len(items) == 1:
                # "Review due: <agreement>", as the reader's language punctuates it ("… : …" in French).
                subject = _("%(reminder)s: %(agreement)s") % {"reminder": items[0].title,
                                                               "agreement": items[0].agreement_title}
                if items[0].subject_title:
                    subject += f" — {items[0].subject_title}"
            else:
                subject = ngettext("Accord: %(num)s reminder for %(day)s", "Accord: %(num)s reminders for %(day)s",
                                   len(items)) % {"num": len(items), "day": i18n.format_day(members[0].due_on)}
        ids = tuple(n.id or 0 for n in members)
        key = "accord-" + "-".join(str(i) for i in ids[:20])
        letters.append(Letter(Mail(key=key, to_name=person.name, to_address=person.email,
                                   subject=subject, items=items, language=language), ids))
    return letters


def _item(n: Notification, agreement: Any, deliverable: _Subject | None, reader: _Reader,
          settings: Settings, today: date, specs: dict[tuple[str, int, str], ReminderSpec | None]) -> MailItem:
    """One reminder or alert as a mail shows it to `reader`, in the language being read. `agreement`
    has the agreement's id, title, workflow_name and workflow_version; `specs` caches the reminder
    rules looked up."""
    link = agreement_page(settings, agreement.id)
    partner = reader.role == Role.PARTNER
    if n.kind == NotificationKind.ALERT:
        # Why, in the reader's language (notifications/worker/_timers.py keeps it in each); the
        # event by its workflow's label, as the pages name it.
        reasons = (n.data or {}).get("reasons") or {}
        reason = reasons.get(i18n.current()) or (n.data or {}).get("reason", "")
        event = _event_label(agreement, (n.data or {}).get("event", ""))
        then = (_("The staff of the parties correct the agreement, then fire '%(event)s' by hand.") if partner
                else _("Correct the agreement, then fire '%(event)s' by hand.")) % {"event": event}
        return MailItem(
            title=_("Scheduled '%(event)s' could not run") % {"event": event}, agreement_title=agreement.title,
            subject_title=None, date_label=_("Was due on"), date=n.due_on,
            when_phrase=when_phrase(n.due_on, today), action=f"{reason} {then}", link=link)
    rule = (agreement.workflow_name, agreement.workflow_version, n.rule)
    if rule not in specs:
        specs[rule] = next((r for r in catalog().get(agreement.workflow_name, agreement.workflow_version)
                            .spec.reminders if r.name == n.rule), None)
    spec = specs[rule]
    # The workflow file's words are in the catalogs too (engine/i18n.py, `extract_workflow`).
    title = _(spec.title) if spec else n.rule.replace("_", " ").capitalize()
    action = _(spec.action) if spec else _("Open the agreement in Accord.")
    if partner and spec and spec.partner_action:
        action = _(spec.partner_action)
    owns = deliverable is not None and deliverable.owner_id == reader.id
    if partner and deliverable is not None and not owns:
        action = _ask_the_owner(deliverable)
    escalation = None
    if (n.data or {}).get("escalated") and not owns:
        escalation = (_("You are receiving this because its owner, %(owner)s, has not acted on it yet.")
                      % {"owner": deliverable.owner_name} if deliverable and deliverable.owner_name
                      else _("You are receiving this because it has not been acted on yet."))
    event_day: date = n.due_on - timedelta(days=n.offset_days)
    label = _(_DATE_LABELS.get(spec.date_name if spec else "", N_("Date")))
    return MailItem(title=title, action=action, agreement_title=agreement.title,
                    subject_title=deliverable.title if deliverable else None,
                    date_label=label, date=event_day, when_phrase=when_phrase(event_day, today),
                    link=link, escalation=escalation)


def _event_label(agreement: Any, event: str) -> str:
    """The label of `event` in `agreement`'s workflow, in the language being read; its name if the
    workflow has no such event."""
    spec = catalog().get(agreement.workflow_name, agreement.workflow_version).spec
    return spec.label_of(event, i18n.current()) if event in spec.events else event


def agreement_page(settings: Settings, agreement_id: int) -> str:
    """The agreement's web page on `ACCORD_BASE_URL`: what every mail about it links to."""
    return f"{settings.base_url.rstrip('/')}/agreements/{agreement_id}"


def _ask_the_owner(deliverable: _Subject) -> str:
    """What a partner can do about a deliverable that is not theirs: partners update only their own."""
    if deliverable.owner_name:
        return _("Ask its owner, %(owner)s, to record its progress or mark it done in Accord: partners update "
                 "only the deliverables they own.") % {"owner": deliverable.owner_name}
    return _("Ask the staff of the parties to record its progress or mark it done in Accord: partners update "
             "only the deliverables they own.")
