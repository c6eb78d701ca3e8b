"""Organisations, people and their bearer tokens.

Who sees whom (`people_in_reach`): an administrator everyone; staff the people of their own
organisation and of every organisation they share an agreement with (as party or supporter);
a partner the people of their own organisation.

Who may add, change or issue what is `engine.directory.rules`, asked here before every write.
Who changes whom (`update_person`, `PATCH /people/{id}`):
    administrator  anyone: name, email, role (admin included), job title, timezone, language, active
    staff          people of their own organisation who are not administrators: name,
                   job title, timezone, language, active, and role between staff and partner (never admin);
                   their own email, but not a colleague's (that would let them sign in as the colleague)
    partner        no one
Everyone may change their own language (engine/i18n.py), and only that, whatever their role.
Nobody disables themself or changes their own role: another administrator does. A new time
zone, a person's own or their organisation's, moves their pending reminders at once.

Disabling a person (`active: false`) keeps their row, so history and agreements keep their
name, and at once: revokes every bearer token and calendar feed of theirs, ends their web
sessions, voids their unused sign-in links (and refuses new ones, as for an unknown address),
and cancels their pending mail. From then on no reminder is written for them
(`engine.schedule.recipients`) nor sent (`notifications.worker`). The answer warns of what they
leave undone: a party with no other active focal point or signatory (the agreement's unmet
conditions then show it too), open deliverables they own. Enabling them again restores
sign-in by link and their reminders, not their old tokens or feeds.

Refusals and warnings are written in the language being read (`engine.i18n.reading`: the page's,
or the API request's `Accept-Language`; English otherwise).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from engine import i18n, schedule, words
from engine.agreements import snapshot
from engine.clock import When
from engine.context import Actor
from engine.directory import rules
from engine.errors import Conflict, InvalidInput, NotFound
from engine.feed_models import CalendarFeed
from engine.models import Agreement, ApiToken, Contact, Deliverable, Organisation, Party, Person
from engine.schemas import OrganisationCreate, OrganisationUpdate, PersonCreate, PersonUpdate, PersonWarning
from engine.statuses import ContactKind, DeliverableStatus, DeliveryStatus, Role

TOKEN_PREFIX = "acc_"


async def create_organisation(
    session: AsyncSession, data: OrganisationCreate, actor: Actor, now: datetime
) -> Organisation:
    rules.require_admin(actor, i18n.N_("create organisations"))
    existing = await session.scalar(
        select(col(Organisation.id)).where(func.lower(col(Organisation.name)) == data.name.lower())
    )
    if existing is not None:
        raise Conflict(_named_already(data.name, existing))
    organisation = Organisation(**data.model_dump(), created_at=now)
    session.add(organisation)
    await _flush_unique(session, _named_already(data.name))
    return organisation


async def get_organisation(session: AsyncSession, organisation_id: int) -> Organisation:
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(_no_organisation(organisation_id))
    return organisation


def _no_organisation(organisation_id: int) -> str:
    return i18n.gettext("There is no organisation %(id)s.") % {"id": organisation_id}


def _named_already(name: str, taken: int | None = None) -> str:
    """An organisation is already called `name` (whose id is `taken`, when known)."""
    if taken is None:
        return i18n.gettext("An organisation named “%(name)s” already exists.") % {"name": name}
    return i18n.gettext("An organisation named “%(name)s” already exists (id %(id)s).") % {"name": name, "id": taken}


async def update_organisation(session: AsyncSession, organisation_id: int, data: OrganisationUpdate, actor: Actor,
                              when: When) -> Organisation:
    """Change the organisation as `data` says (who may: `rules.check_edit_organisation`). A new time
    zone moves the pending reminders of its people who have none of their own to 09:00 in it
    (`schedule.retime_reminders`); timers fall on days of Accord's calendar, which no
    organisation's zone moves."""
    query = select(Organisation).where(col(Organisation.id) == organisation_id)
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    organisation = await session.scalar(query)
    if organisation is None:
        raise NotFound(_no_organisation(organisation_id))
    rules.check_edit_organisation(actor, organisation)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name", organisation.name).lower() != organisation.name.lower():
        taken = await session.scalar(select(col(Organisation.id)).where(
            func.lower(col(Organisation.name)) == changes["name"].lower(), col(Organisation.id) != organisation_id))
        if taken is not None:
            raise Conflict(_named_already(changes["name"], taken))
    zone_was = organisation.timezone
    for name, value in changes.items():
        setattr(organisation, name, value)
    await _flush_unique(session, _named_already(organisation.name))
    if organisation.timezone != zone_was:
        without_own = await session.scalars(select(col(Person.id)).where(
            col(Person.organisation_id) == organisation_id, col(Person.timezone).is_(None)))
        await schedule.retime_reminders(session, {p for p in without_own if p is not None}, when)
    return organisation


async def list_organisations(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[list[Organisation], int]:
    total = await session.scalar(select(func.count()).select_from(Organisation)) or 0
    rows = await session.scalars(select(Organisation).order_by(col(Organisation.id)).limit(limit).offset(offset))
    return list(rows), total


async def create_person(session: AsyncSession, data: PersonCreate, actor: Actor, now: datetime) -> Person:
    """Add a person (who may, to which organisation, as what: `rules.check_add_person`)."""
    rules.check_add_people(actor)
    organisation = await session.get(Organisation, data.organisation_id)
    if organisation is None:
        raise InvalidInput(i18n.gettext("There is no organisation %(id)s; create it first.")
                           % {"id": data.organisation_id}, field="organisation_id")
    rules.check_add_person(actor, organisation, data.role)
    email = data.email.lower()
    exists = i18n.gettext("Someone with the email %(email)s already exists.") % {"email": email}
    if await session.scalar(select(col(Person.id)).where(col(Person.email) == email)) is not None:
        raise Conflict(exists)
    person = Person(**data.model_dump(exclude={"email"}), email=email, created_at=now)
    session.add(person)
    await _flush_unique(session, exists)
    await session.refresh(person, ["organisation"])
    return person


async def get_person(session: AsyncSession, person_id: int) -> Person:
    person = await session.get(Person, person_id)
    if person is None:
        raise NotFound(i18n.gettext("There is no person %(id)s.") % {"id": person_id})
    return person


def _out_of_sight(person_id: int) -> str:
    return i18n.gettext("There is no person %(id)s that you can see.") % {"id": person_id}


def people_in_reach(query: Select[Any], actor: Actor) -> Select[Any]:
    """`query` (over `Person`) narrowed to the people `actor` sees (see the module docstring)."""
    if actor.is_admin or actor.is_scheduler:
        return query
    own = col(Person.organisation_id) == actor.organisation_id
    if actor.role != Role.STAFF:
        return query.where(own)
    ours = select(col(Party.agreement_id)).where(col(Party.organisation_id) == actor.organisation_id)
    sharing = select(col(Party.organisation_id)).where(col(Party.agreement_id).in_(ours))
    return query.where(or_(own, col(Person.organisation_id).in_(sharing)))


async def find_person(session: AsyncSession, person_id: int, actor: Actor) -> Person:
    """The person, if `actor` sees them; someone out of sight is not found."""
    person: Person | None = await session.scalar(
        people_in_reach(select(Person).where(col(Person.id) == person_id), actor))
    if person is None:
        raise NotFound(_out_of_sight(person_id))
    return person


async def list_people(
    session: AsyncSession, actor: Actor, *, organisation_id: int | None, limit: int, offset: int
) -> tuple[list[Person], int]:
    query = people_in_reach(select(Person), actor)
    if organisation_id is not None:
        query = query.where(col(Person.organisation_id) == organisation_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(col(Person.id)).limit(limit).offset(offset))
    return list(rows), total


async def update_person(session: AsyncSession, person_id: int, data: PersonUpdate, actor: Actor,
                        when: When) -> tuple[Person, list[PersonWarning]]:
    """Change the person as `data` says; the warnings say what disabling them leaves undone."""
    query = people_in_reach(select(Person).where(col(Person.id) == person_id), actor)
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(of=Person)
    person = await session.scalar(query)
    if person is None:
        raise NotFound(_out_of_sight(person_id))
    changes = data.model_dump(exclude_unset=True)
    if "email" in changes:
        changes["email"] = str(changes["email"]).lower()
    rules.check_change(actor, person, changes)
    if changes.get("email", person.email) != person.email:
        taken = await session.scalar(select(col(Person.id)).where(col(Person.email) == changes["email"],
                                                                  col(Person.id) != person_id))
        if taken is not None:
            raise Conflict(_email_taken(changes["email"]))
    was_active, zone_was = person.active, person.timezone
    for name, value in changes.items():
        setattr(person, name, value)
    await _flush_unique(session, _email_taken(person.email))
    if person.timezone != zone_was:
        await schedule.retime_reminders(session, {person_id}, when)
    warnings: list[PersonWarning] = []
    if was_active and not person.active:
        await _cut_off(session, person_id, when.now)
        warnings = await _left_undone(session, person)
    elif person.active and not was_active:
        await _resume_reminders(session, person_id, when)
    await session.refresh(person, ["organisation"])
    return person, warnings


def _email_taken(email: str) -> str:
    return i18n.gettext("Someone else already has the email %(email)s.") % {"email": email}


async def _cut_off(session: AsyncSession, person_id: int, now: datetime) -> None:
    """Everything a disabled person could still do or receive stops now."""
    from engine.directory.signin import SignInLink, end_sessions_of
    from engine.schedule import Notification

    for model in (ApiToken, CalendarFeed):
        await session.execute(
            update(model).where(col(model.person_id) == person_id, col(model.revoked_at).is_(None))
            .values(revoked_at=now).execution_options(synchronize_session=False))
    await session.execute(
        update(SignInLink).where(col(SignInLink.person_id) == person_id, col(SignInLink.used_at).is_(None),
                                 col(SignInLink.expires_at) > now)
        .values(expires_at=now).execution_options(synchronize_session=False))
    await end_sessions_of(session, person_id, now)
    await session.execute(
        update(Notification).where(col(Notification.person_id) == person_id,
                                   col(Notification.status) == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED, note="the person is disabled", lease_owner=None,
                lease_expires_at=None, updated_at=now).execution_options(synchronize_session=False))


async def _open_agreements(session: AsyncSession, ids: set[int]) -> dict[int, Agreement]:
    from engine.workflow.machine import catalog

    if not ids:
        return {}
    rows = await session.scalars(select(Agreement).where(col(Agreement.id).in_(ids)))
    return {a.id: a for a in rows if a.id is not None
            and not catalog().get(a.workflow_name, a.workflow_version).is_final(a.state)}


async def _left_undone(session: AsyncSession, person: Person) -> list[PersonWarning]:
    """Parties left without an active focal point or (before signing) signatory; open deliverables owned.
    Their details in the language being read."""
    from engine.models import Signature

    named = list(await session.scalars(select(Contact).where(col(Contact.person_id) == person.id)))
    owned = list(await session.scalars(select(Deliverable).where(
        col(Deliverable.owner_id) == person.id, col(Deliverable.status).in_(sorted(DeliverableStatus.OPEN)))))
    agreements = await _open_agreements(session, {c.agreement_id for c in named} | {d.agreement_id for d in owned})
    others = {(party_id, kind) for party_id, kind in (await session.execute(
        select(col(Contact.party_id), col(Contact.kind)).join(Person, col(Person.id) == col(Contact.person_id))
        .where(col(Contact.party_id).in_({c.party_id for c in named}), col(Person.active).is_(True),
               col(Person.id) != person.id))).all()}
    signed = set(await session.scalars(select(col(Signature.party_id)).where(
        col(Signature.party_id).in_({c.party_id for c in named}))))
    parties = {p.id: p for p in await session.scalars(select(Party).where(
        col(Party.id).in_({c.party_id for c in named})))}
    warnings: list[PersonWarning] = []
    for contact in sorted(named, key=lambda c: (c.agreement_id, c.party_id, c.kind)):
        agreement = agreements.get(contact.agreement_id)
        if agreement is None or (contact.party_id, contact.kind) in others:
            continue
        if contact.kind == ContactKind.SIGNATORY and contact.party_id in signed:
            continue
        said = {"person": person.name, "organisation": parties[contact.party_id].organisation.name,
                "title": agreement.title, "id": agreement.id}
        focal_point = contact.kind == ContactKind.FOCAL_POINT
        warnings.append(PersonWarning(
            kind="only_focal_point" if focal_point else "only_signatory",
            agreement_id=contact.agreement_id, agreement_title=agreement.title,
            detail=(i18n.gettext("%(person)s was the only active focal point of %(organisation)s for “%(title)s” "
                                 "(agreement %(id)s); %(organisation)s should name another focal point.")
                    if focal_point else
                    i18n.gettext("%(person)s was the only active signatory of %(organisation)s for “%(title)s” "
                                 "(agreement %(id)s); %(organisation)s should name another signatory.")) % said))
    for deliverable in sorted(owned, key=lambda d: d.id or 0):
        agreement = agreements.get(deliverable.agreement_id)
        if agreement is None:
            continue
        warnings.append(PersonWarning(
            kind="owns_deliverable", agreement_id=deliverable.agreement_id, agreement_title=agreement.title,
            deliverable_id=deliverable.id,
            detail=i18n.gettext("%(person)s owns the deliverable “%(deliverable)s” (%(status)s) of “%(title)s” "
                                "(agreement %(id)s); give it another owner.") % {
                "person": person.name, "deliverable": deliverable.title, "title": agreement.title,
                "id": agreement.id, "status": i18n.gettext(words.DELIVERABLE_STATUS[deliverable.status])}))
    return warnings


async def _resume_reminders(session: AsyncSession, person_id: int, when: When) -> None:
    """A person enabled again: the reminders of their open agreements are derived afresh."""
    ids = set(await session.scalars(select(col(Contact.agreement_id)).where(col(Contact.person_id) == person_id)))
    await session.flush()  # the person's own change first: the snapshot reads it
    for agreement_id in sorted(await _open_agreements(session, ids)):
        agreement, rows = await snapshot.load_for_change(session, agreement_id, Actor.scheduler(), when)
        await schedule.reschedule(session, agreement, when, rows)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: its row's id (what revoking names) and the token, shown this once."""

    id: int
    token: str


async def issue_token(
    session: AsyncSession, person_id: int, actor: Actor, now: datetime, label: str | None = None
) -> IssuedToken:
    """A new bearer token for the person (who may: `rules.check_issue_token`; someone out of
    `actor`'s sight is not found); only its hash is stored, so it is returned once."""
    person = await find_person(session, person_id, actor)
    rules.check_issue_token(actor, person)
    if not person.active:
        raise Conflict(i18n.gettext('%(person)s is disabled; enable them first (PATCH /api/v1/people/%(id)s with '
                                    '{"active": true}).') % {"person": person.name, "id": person_id})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(person_id=person_id, token_hash=hash_token(token), label=label, created_at=now,
                   issued_by_id=actor.person_id)
    session.add(row)
    await session.flush()
    assert row.id is not None
    return IssuedToken(id=row.id, token=token)


_TOKEN: Table = ApiToken.__table__  # type: ignore[attr-defined]
_PERSON: Table = Person.__table__  # type: ignore[attr-defined]
_ORGANISATION: Table = Organisation.__table__  # type: ignore[attr-defined]
# Built once: every request runs it. The language the holder reads (theirs, else their
# organisation's) heads their CSV exports (api/routers/reports.py).
_ACTOR_BY_DIGEST = (
    select(_TOKEN.c.token_hash, _PERSON.c.id, _PERSON.c.name, _PERSON.c.role, _PERSON.c.organisation_id,
           func.coalesce(_PERSON.c.language, _ORGANISATION.c.language))
    .join(_PERSON, _PERSON.c.id == _TOKEN.c.person_id)
    .outerjoin(_ORGANISATION, _ORGANISATION.c.id == _PERSON.c.organisation_id)
    .where(_TOKEN.c.token_hash == bindparam("digest"), _TOKEN.c.revoked_at.is_(None),
           _PERSON.c.active.is_(True))
)


async def actor_for_digest(session: AsyncSession, digest: str) -> Actor | None:
    """Who holds the (unrevoked) token whose SHA-256 is `digest` (an active person), or None. Only the columns an
    `Actor` needs: this runs on every request."""
    connection = await session.connection()  # a Core statement on every request: no ORM work around it
    row = (await connection.execute(_ACTOR_BY_DIGEST, {"digest": digest})).first()
    if row is None or not hmac.compare_digest(row[0], digest):
        return None
    _, person_id, name, role, organisation_id, language = row
    return Actor(label=name, role=role, person_id=person_id, organisation_id=organisation_id, language=language)


async def actor_for_token(session: AsyncSession, token: str) -> Actor | None:
    """Who holds the bearer token, or None for an unknown or revoked one."""
    return await actor_for_digest(session, hash_token(token))


async def _flush_unique(session: AsyncSession, detail: str) -> None:
    try:
        await session.flush()
    except IntegrityError as error:
        raise Conflict(detail) from error
