"""Claimed notifications made into letters: one mail per row, or per person and day for people
who asked for a daily digest.

A letter's key (`accord-<row ids>`) is its Message-ID, the same on every retry, so mail systems
can drop a copy sent again after a worker died between the send and the write of its outcome.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from engine.models import Agreement, Deliverable, Person
from engine.schedule import Notification, NotificationPreference
from engine.settings import Settings
from engine.statuses import NotificationKind
from engine.workflow.machine import catalog
from notifications.email import Mail, MailItem, when_phrase
from workflows.definition import ReminderSpec

_DATE_LABELS = {"next_review_on": "Review date", "ends_on": "End date", "notice_deadline": "Notice deadline",
                "due_on": "Due date", "submitted_on": "Submitted for signature on"}


@dataclass(frozen=True)
class Letter:
    mail: Mail
    notification_ids: tuple[int, ...]


async def compose(session: AsyncSession, claimed: list[Notification], settings: Settings,
                  now: datetime) -> list[Letter]:
    """The letters that carry `claimed`, grouped by person (and day, for a digest)."""
    # Only the columns a mail shows: these are read for every claimed batch.
    person_ids = {n.person_id for n in claimed}
    people = {p.id: p for p in await session.execute(
        select(col(Person.id), col(Person.name), col(Person.email)).where(col(Person.id).in_(person_ids)))}
    agreements = {a.id: a for a in await session.execute(
        select(col(Agreement.id), col(Agreement.title), col(Agreement.workflow_name),
               col(Agreement.workflow_version))
        .where(col(Agreement.id).in_({n.agreement_id for n in claimed})))}
    deliverable_ids = {n.subject_id for n in claimed if n.subject_type == "deliverable"}
    deliverables = {d.id: d.title for d in await session.execute(
        select(col(Deliverable.id), col(Deliverable.title))
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
    for (person_id, _), members in groups.items():
        person = people[person_id]
        items = tuple(_item(n, agreements[n.agreement_id],
                            deliverables.get(n.subject_id) if n.subject_type == "deliverable" else None,
                            settings, today, specs) for n in members)
        ids = tuple(n.id or 0 for n in members)
        if len(items) == 1:
            subject = f"{items[0].title}: {items[0].agreement_title}"
            if items[0].subject_title:
                subject += f" — {items[0].subject_title}"
        else:
            subject = f"Accord: {len(items)} reminders for {members[0].due_on.isoformat()}"
        key = "accord-" + "-".join(str(i) for i in ids[:20])
        letters.append(Letter(Mail(key=key, to_name=person.name, to_address=person.email,
                                   subject=subject, items=items), ids))
    return letters


def _item(n: Notification, agreement: Any, deliverable_title: str | None, settings: Settings,
          today: date, specs: dict[tuple[str, int, str], ReminderSpec | None]) -> MailItem:
    """One reminder or alert as a mail shows it. `agreement` has the agreement's id, title,
    workflow_name and workflow_version; `specs` caches the reminder rules looked up."""
    link = f"{settings.base_url.rstrip('/')}/api/v1/agreements/{agreement.id}"
    if n.kind == NotificationKind.ALERT:
        reason = (n.data or {}).get("reason", "")
        event = (n.data or {}).get("event", "")
        return MailItem(
            title=f"Scheduled '{event}' could not run", agreement_title=agreement.title,
            subject_title=None, date_label="Was due on", date=n.due_on,
            when_phrase=when_phrase(n.due_on, today),
            action=f"{reason} Correct the agreement, then fire '{event}' by hand.", link=link)
    rule = (agreement.workflow_name, agreement.workflow_version, n.rule)
    if rule not in specs:
        specs[rule] = next((r for r in catalog().get(agreement.workflow_name, agreement.workflow_version)
                            .spec.reminders if r.name == n.rule), None)
    spec = specs[rule]
    title = spec.title if spec else n.rule.replace("_", " ").capitalize()
    action = spec.action if spec else "Open the agreement in Accord."
    event_day: date = n.due_on - timedelta(days=n.offset_days)
    label = _DATE_LABELS.get(spec.date_name if spec else "", "Date")
    return MailItem(title=title, action=action, agreement_title=agreement.title,
                    subject_title=deliverable_title,
                    date_label=label, date=event_day, when_phrase=when_phrase(event_day, today),
                    link=link, escalated=bool((n.data or {}).get("escalated")))
