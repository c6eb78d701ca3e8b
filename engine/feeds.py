"""Calendar feeds (iCalendar): a person's or an agreement's dates at an unguessable URL.

    create_feed   a new feed for the caller, or for one agreement the caller reaches; the token
                  is returned once and stored hashed (`engine.directory.service.hash_token`)
    list_feeds    the caller's feeds that are not revoked
    revoke_feed   the caller's feed stops answering (404) from now on
    render_feed   the `.ics` body a feed token serves

A person's feed holds, for the open agreements they are named on (focal point or signatory):
the next review (`next_review_on`), the expiry (`ends_on`), the last day to give notice
(`ends_on` - `notice_period_days`), and the open deliverables they own. An agreement's feed
holds its start, review, notice and expiry dates and all its deliverables that are not cancelled.
A date outside the range Accord accepts (`engine.days`; stored before the range existed, or by
hand) is left out rather than breaking the whole feed.

Every event is an all-day event (`VALUE=DATE`): agreement dates are days in Accord's
calendar, and an all-day event is the same day in every time zone, where a timed event would
slide to the day before or after for people far from it. `X-WR-TIMEZONE` names the feed
owner's zone (person, else organisation) for calendar apps that want one. UIDs are stable per
(agreement, kind, date) and per deliverable, and `DTSTAMP`/`SEQUENCE` follow the agreement's
last change, so two fetches of an unchanged feed are identical and calendar apps update events
rather than duplicate them.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from engine import words
from engine.access import in_reach, reachable, with_parts
from engine.agreements import snapshot
from engine.agreements.values import AgreementSnapshot, AreaValue, DeliverableValue
from engine.context import Actor
from engine.days import usable
from engine.directory.service import hash_token
from engine.errors import NotFound, NotPermitted
from engine.feed_models import CalendarFeed
from engine.i18n import N_, current, format_day, language_of, reading
from engine.i18n import gettext as _
from engine.models import Agreement, CollaborationArea, Contact, Deliverable, Person
from engine.statuses import DeliverableStatus, Language
from engine.workflow.machine import catalog
from engine.workflow.rules import notice_deadline

FEED_TOKEN_PREFIX = "feed_"
PRODID = "-//Accord//Agreement calendar//EN"
_UID_DOMAIN = "accord"


@dataclass(frozen=True)
class IssuedFeed:
    feed: CalendarFeed
    token: str


async def create_feed(session: AsyncSession, actor: Actor, agreement_id: int | None,
                      now: datetime) -> IssuedFeed:
    if actor.person_id is None:
        raise NotPermitted(_("A calendar feed belongs to a person; sign in as one to create it."))
    if agreement_id is not None:
        await reachable(session, agreement_id, actor)  # NotFound when out of reach
    token = FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)
    feed = CalendarFeed(person_id=actor.person_id, agreement_id=agreement_id,
                        token_hash=hash_token(token), created_at=now)
    session.add(feed)
    await session.flush()
    return IssuedFeed(feed=feed, token=token)


async def list_feeds(session: AsyncSession, actor: Actor, *, limit: int, offset: int
                     ) -> tuple[list[CalendarFeed], int]:
    """A page of the caller's feeds that are not revoked, oldest first, and how many there are."""
    query = select(CalendarFeed).where(col(CalendarFeed.person_id) == actor.person_id,
                                       col(CalendarFeed.revoked_at).is_(None))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(col(CalendarFeed.id)).limit(limit).offset(offset))
    return list(rows), total


async def revoke_feed(session: AsyncSession, actor: Actor, feed_id: int, now: datetime) -> None:
    feed = await session.get(CalendarFeed, feed_id)
    if feed is None or feed.person_id != actor.person_id or feed.revoked_at is not None:
        raise NotFound(_("You have no calendar feed %(id)s; GET /api/v1/feeds lists yours.") % {"id": feed_id})
    feed.revoked_at = now


# --- the .ics body -----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Entry:
    uid: str
    day: date
    summary: str
    description: str
    agreement: Agreement | AgreementSnapshot


async def render_feed(session: AsyncSession, token: str, base_url: str, default_zone: str,
                      default_language: Language = Language.EN) -> bytes:
    """The calendar a feed token serves; an unknown or revoked token is `NotFound`. Its entries are
    worded in the feed owner's language (theirs, else their organisation's, else `default_language`)."""
    missing = NotFound(_("There is no calendar feed at this address; it may have been revoked. Create a new one "
                         "with POST /api/v1/feeds."))
    if not token.startswith(FEED_TOKEN_PREFIX) or len(token) > 200:
        raise missing
    feed = await session.scalar(select(CalendarFeed).where(
        col(CalendarFeed.token_hash) == hash_token(token), col(CalendarFeed.revoked_at).is_(None)))
    if feed is None:
        raise missing
    person = await session.get(Person, feed.person_id)
    if person is None or not person.active:  # disabling revokes the feeds; this holds in any case
        raise missing
    actor = Actor.of(person)
    with reading(language_of(person.language, person.organisation.language, default_language)):
        name, entries = await _named_entries(session, feed, actor, person, base_url, missing)
    zone = person.timezone or person.organisation.timezone or default_zone
    body: bytes = _calendar(name, zone, entries, base_url).to_ical()
    return body


async def _named_entries(session: AsyncSession, feed: CalendarFeed, actor: Actor, person: Person, base_url: str,
                         missing: NotFound) -> tuple[str, list[_Entry]]:
    if feed.agreement_id is not None:
        try:
            agreement = await snapshot.load(session, feed.agreement_id, actor)
        except NotFound:
            raise missing from None  # the person no longer reaches it
        return _("Accord: %(name)s") % {"name": agreement.title}, _agreement_entries(agreement, base_url)
    return _("Accord: %(name)s") % {"name": person.name}, await _person_entries(session, actor, person, base_url)


async def _person_entries(session: AsyncSession, actor: Actor, person: Person,
                          base_url: str) -> list[_Entry]:
    named = select(col(Contact.agreement_id)).where(col(Contact.person_id) == person.id)
    owning = select(col(Deliverable.agreement_id)).where(col(Deliverable.owner_id) == person.id)
    query = in_reach(select(Agreement), actor).where(
        col(Agreement.id).in_(named) | col(Agreement.id).in_(owning))
    agreements = await session.scalars(query.options(*with_parts()).order_by(col(Agreement.id)))
    entries: list[_Entry] = []
    for agreement in agreements:
        if _is_final(agreement):
            continue
        if any(c.person_id == person.id for c in agreement.contacts):
            entries += [e for e in _date_entries(agreement, base_url) if not e.uid.startswith("start-")]
        entries += _deliverable_entries(
            agreement, [d for d in agreement.deliverables
                        if d.owner_id == person.id and d.status in DeliverableStatus.OPEN])
    return entries


def _agreement_entries(agreement: Agreement | AgreementSnapshot, base_url: str) -> list[_Entry]:
    deliverables = [d for d in agreement.deliverables if d.status != DeliverableStatus.CANCELLED]
    return _date_entries(agreement, base_url) + _deliverable_entries(agreement, deliverables)


def _is_final(agreement: Agreement | AgreementSnapshot) -> bool:
    return catalog().get(agreement.workflow_name, agreement.workflow_version).is_final(agreement.state)


def _date_entries(agreement: Agreement | AgreementSnapshot, base_url: str) -> list[_Entry]:
    title, link = agreement.title, _link(base_url, agreement)
    # The state as the pages say it, in the language being read ("active": "en vigueur").
    state = catalog().get(agreement.workflow_name, agreement.workflow_version).spec.label_of(
        agreement.state, current()).lower()
    entries: list[_Entry] = []

    def add(kind: str, day: date | None, summary: str, todo: str) -> None:
        if day is not None:
            entries.append(_Entry(uid=f"{kind}-{agreement.id}-{day.isoformat()}@{_UID_DOMAIN}", day=day,
                                  summary=_("%(reminder)s: %(agreement)s") % {"reminder": _(summary),
                                                                                "agreement": title},
                                  description=f"{_(todo)}\n\n"
                                  + _("Agreement: %(title)s (%(state)s)") % {"title": title, "state": state}
                                  + f"\n{link}",
                                  agreement=agreement))

    add("start", usable(agreement.effective_from), N_("Agreement takes effect"),
        N_("The agreement takes effect today."))
    add("review", usable(agreement.next_review_on), N_("Review due"),
        N_("The agreement is due for review today: meet the other parties' focal points, look at "
           "the deliverables and record the outcome (continue, renew or terminate) in Accord."))
    ends_on = usable(agreement.ends_on)
    if ends_on is not None:
        add("notice", notice_deadline(agreement), N_("Last day to give notice"),
            _("Today is the last day to give notice (%(days)s days before the agreement ends on %(day)s): "
              "decide whether to renew or let it end.") % {"days": agreement.notice_period_days,
                                                            "day": format_day(ends_on)})
    add("expiry", ends_on, N_("Agreement ends"),
        N_("The agreement ends today unless it has been renewed."))
    return entries


def _deliverable_entries(agreement: Agreement | AgreementSnapshot,
                         deliverables: Sequence[Deliverable | DeliverableValue]) -> list[_Entry]:
    areas: dict[int | None, CollaborationArea | AreaValue] = {a.id: a for a in agreement.areas}
    owners = {c.person_id: c.person for c in agreement.contacts}
    entries = []
    for deliverable in deliverables:
        due_on = usable(deliverable.due_on)
        if due_on is None:
            continue
        area = areas.get(deliverable.area_id)
        owner = owners.get(deliverable.owner_id) if deliverable.owner_id else None
        lines = [_("Deliver “%(title)s” (status: %(status)s); update its status and evidence in Accord.")
                 % {"title": deliverable.title,
                    "status": _(words.DELIVERABLE_STATUS.get(deliverable.status, deliverable.status))},
                 "",
                 _("Agreement: %(title)s") % {"title": agreement.title}]
        if area is not None:
            lines.append(_("Area: %(title)s") % {"title": area.title})
        if owner is not None:
            lines.append(_("Owner: %(name)s") % {"name": owner.name})
        entries.append(_Entry(uid=f"deliverable-{deliverable.id}@{_UID_DOMAIN}", day=due_on,
                              summary=_("Deliverable due: %(title)s (%(agreement)s)")
                              % {"title": deliverable.title, "agreement": agreement.title},
                              description="\n".join(lines),
                              agreement=agreement))
    return entries


# A deliverable's status as a calendar entry and a person's warnings say it (translated where used:


def _link(base_url: str, agreement: Agreement | AgreementSnapshot) -> str:
    return f"{base_url.rstrip('/')}/agreements/{agreement.id}"


def _calendar(name: str, zone: str, entries: list[_Entry], base_url: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone)
    for entry in sorted(entries, key=lambda e: (e.day, e.uid)):
        event = Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", entry.agreement.updated_at)
        event.add("sequence", entry.agreement.version)
        event.add("dtstart", entry.day)
        event.add("dtend", entry.day + timedelta(days=1))
        event.add("summary", entry.summary)
        event.add("description", entry.description)
        event.add("url", _link(base_url, entry.agreement))
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar
