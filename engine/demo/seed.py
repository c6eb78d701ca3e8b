"""The demo data: the Metropolis – UCLG ASPAC collaboration agreement from the seed, and a small
city-to-city cooperation supported by the Asian Mayors Forum (marked as a demo in its title).

Everything is made through the engine's services — `create_agreement`, `name_contact`,
`add_area`, `add_deliverable`, `fire`, `update_deliverable` — on a clock set to the day each
thing happened, so the history reads as it would have been recorded. Loading is idempotent:
organisations are found by name, people by email, agreements by title; what exists is left as
it is. People have `.example` addresses; nobody is named who is not named in the seeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from engine import documents
from engine.agreements import actions
from engine.agreements.service import apply, fire
from engine.agreements.values import AgreementSnapshot
from engine.amendments import service as amendments
from engine.clock import Clock, FixedClock, When
from engine.context import Actor
from engine.db import Database
from engine.demo.signed_copy import signed_copy
from engine.directory.service import create_organisation, create_person
from engine.models import Agreement, Organisation, Person
from engine.schemas import (
    AgreementCreate,
    AgreementUpdate,
    AmendmentChanges,
    AmendmentCreate,
    AmendmentEventFire,
    AreaCreate,
    ContactAmendment,
    ContactCreate,
    DeliverableCreate,
    DeliverableUpdate,
    DocumentUpload,
    EventInput,
    OrganisationCreate,
    PartyInput,
    PersonCreate,
)
from engine.settings import Settings, get_settings
from engine.statuses import (
    AmendmentEvent,
    AmendmentKind,
    ContactKind,
    DeliverableStatus,
    DocumentKind,
    Language,
    PartyRole,
    Role,
)
from engine.workflow.rules import first_review_after

# Whoever loads the demo acts as an administrator with no person behind it.
LOADER = Actor(label="accord demo", role=Role.ADMIN)

METROPOLIS, ASPAC, UCLG, AMF = "Metropolis", "UCLG ASPAC", "UCLG", "Asian Mayors Forum"
TABRIZ, BISHKEK = "Tabriz Municipality", "Bishkek City Hall"
MONTEVIDEO_CITY = "Intendencia de Montevideo"

ORGANISATIONS = [
    OrganisationCreate(name=METROPOLIS, short_name="Metropolis", kind="network", city="Barcelona",
                       country="Spain", timezone="Europe/Madrid"),
    OrganisationCreate(name=ASPAC, short_name="UCLG ASPAC", kind="network", city="Jakarta",
                       country="Indonesia", timezone="Asia/Jakarta"),
    # The world organisation both networks are sections of; not a party to either agreement.
    OrganisationCreate(name=UCLG, short_name="UCLG", kind="network", city="Barcelona",
                       country="Spain", timezone="Europe/Madrid"),
    OrganisationCreate(name=AMF, short_name="AMF", kind="secretariat", city="Tehran",
                       country="Iran", timezone="Asia/Tehran"),
    OrganisationCreate(name=TABRIZ, short_name="Tabriz", kind="local_government", city="Tabriz",
                       country="Iran", timezone="Asia/Tehran"),
    OrganisationCreate(name=BISHKEK, short_name="Bishkek", kind="local_government",
                       city="Bishkek", country="Kyrgyzstan", timezone="Asia/Bishkek"),
    # A Metropolis member in Latin America whose people read Accord in Spanish (README, "Languages").
    OrganisationCreate(name=MONTEVIDEO_CITY, short_name="Montevideo", kind="local_government",
                       city="Montevideo", country="Uruguay", timezone="America/Montevideo",
                       language=Language.ES),
]


@dataclass(frozen=True)
class PersonSpec:
    organisation: str
    name: str
    email: str
    role: Role
    job_title: str
    timezone: str
    language: Language | None = None  # None: their organisation's


AGNES = "agnes.bickart@metropolis.example"
METROPOLIS_SG = "secretary.general@metropolis.example"
METROPOLIS_OFFICER = "policy.officer@metropolis.example"
ASPAC_FOCAL = "programme.manager@uclg-aspac.example"
ASPAC_SG = "secretary.general@uclg-aspac.example"
ASPAC_OFFICER = "programme.officer@uclg-aspac.example"
AMF_FOCAL = "c2c@amf.example"
AMF_OFFICER = "communications@amf.example"
TABRIZ_FOCAL = "international.relations@tabriz.example"
TABRIZ_MAYOR = "mayor@tabriz.example"
BISHKEK_FOCAL = "international.relations@bishkek.example"
BISHKEK_MAYOR = "mayor@bishkek.example"
MONTEVIDEO_FOCAL = "relaciones.internacionales@montevideo.example"

PEOPLE = [
    PersonSpec(METROPOLIS, "Agnès Bickart", AGNES, Role.STAFF,
               "Senior Manager for Institutional Relations & Asia", "Europe/Madrid"),
    PersonSpec(METROPOLIS, "Secretary General, Metropolis", METROPOLIS_SG, Role.STAFF,
               "Secretary General", "Europe/Madrid"),
    PersonSpec(METROPOLIS, "Policy Officer, Metropolis", METROPOLIS_OFFICER, Role.PARTNER,
               "Policy Officer", "Europe/Madrid"),
    PersonSpec(ASPAC, "Programme Manager, UCLG ASPAC", ASPAC_FOCAL, Role.STAFF,
               "Programme Manager", "Asia/Jakarta"),
    PersonSpec(ASPAC, "Secretary General, UCLG ASPAC", ASPAC_SG, Role.STAFF,
               "Secretary General", "Asia/Jakarta"),
    # A French-speaking partner: their reminders and pages are in French.
    PersonSpec(ASPAC, "Programme Officer, UCLG ASPAC", ASPAC_OFFICER, Role.PARTNER,
               "Programme Officer", "Asia/Jakarta", Language.FR),
    PersonSpec(AMF, "C2C Programme Officer, AMF Secretariat", AMF_FOCAL, Role.STAFF,
               "C2C Programme Officer", "Asia/Tehran"),
    PersonSpec(AMF, "Communications Officer, AMF Secretariat", AMF_OFFICER, Role.PARTNER,
               "Communications Officer", "Asia/Tehran"),
    PersonSpec(TABRIZ, "International Relations Director, Tabriz", TABRIZ_FOCAL, Role.STAFF,
               "International Relations Director", "Asia/Tehran"),
    PersonSpec(TABRIZ, "Mayor of Tabriz", TABRIZ_MAYOR, Role.STAFF, "Mayor", "Asia/Tehran"),
    PersonSpec(BISHKEK, "International Relations Officer, Bishkek", BISHKEK_FOCAL, Role.STAFF,
               "International Relations Officer", "Asia/Bishkek"),
    PersonSpec(BISHKEK, "Mayor of Bishkek", BISHKEK_MAYOR, Role.STAFF, "Mayor", "Asia/Bishkek"),
    PersonSpec(MONTEVIDEO_CITY, "Directora de Relaciones Internacionales, Montevideo", MONTEVIDEO_FOCAL,
               Role.STAFF, "Directora de Relaciones Internacionales", "America/Montevideo"),
]

# --- the Metropolis – UCLG ASPAC collaboration agreement (seed) --------------------------------

COLLABORATION_TITLE = "Collaboration agreement between Metropolis and UCLG ASPAC"
COLLABORATION_SIGNED_ON = date(2019, 4, 6)
COLLABORATION_PLACE = "Montevideo"
MONTEVIDEO = ZoneInfo("America/Montevideo")
BARCELONA = ZoneInfo("Europe/Madrid")

COLLABORATION_SUMMARY = (
    "A new framework of collaboration that strengthens the bonds between Metropolis and UCLG "
    "ASPAC and their joint members, and supports both parties to fulfil their roles as sections "
    "of UCLG, contributing to the World Organisation's mission: to be the united voice and world "
    "advocate of democratic local self-government. It clarifies the areas of collaboration that "
    "may directly benefit the joint members from the Asia-Pacific region."
)
COLLABORATION_BACKGROUND = (
    "Metropolis and UCLG ASPAC have been partners since 2007, when a system of joint membership "
    "was inaugurated: ASPAC members that are state capitals or urban agglomerations of at least "
    "one million inhabitants automatically join Metropolis, and Metropolis members from the "
    "Asia-Pacific region automatically join UCLG and UCLG ASPAC. When the agreement was signed, "
    "Metropolis counted 54 UCLG joint members from the Asia-Pacific region. The Secretaries-"
    "general of both networks signed it in Montevideo on 6 April 2019, on the day of the "
    "statutory meetings of Metropolis and fellow local government networks. At the Metropolis "
    "staff, the Senior Manager for Institutional Relations & Asia is the responsible focal point "
    "for observing the accomplishment of the agreement."
)
COLLABORATION_AREAS = [
    "Opportunities for shared members to mutually benefit from the programs led by the Metropolis "
    "and UCLG ASPAC which have common goals for both parties, namely through research work, "
    "projects and activities targeted on urban diplomacy and advocacy, capacity building and "
    "gender mainstreaming.",
    "Optimisation of resources towards the local implementation of the 2030 Agenda for "
    "Sustainable Development and the New Urban Agenda.",
    "The development of a metropolitan thinking across UCLG ASPAC",
    "The incorporation Asia Pacific perspectives in all relevant Metropolis work.",
]


@dataclass(frozen=True)
class Progress:
    """A deliverable's status as recorded on a day (after the agreement was signed)."""

    on: date
    status: DeliverableStatus
    note: str


@dataclass(frozen=True)
class DeliverableSpec:
    area: int  # index into the agreement's areas
    title: str
    owner: str  # email of a focal point
    due_on: date
    progress: tuple[Progress, ...] = ()


COLLABORATION_DELIVERABLES = [
    DeliverableSpec(0, "Joint capacity-building webinar series for shared members", AGNES,
                    date(2019, 12, 15), (Progress(date(2019, 12, 12), DeliverableStatus.DONE,
                                                  "Four webinars held with joint members."),)),
    DeliverableSpec(0, "Gender mainstreaming peer-learning session for joint members",
                    ASPAC_FOCAL, date(2026, 9, 30),
                    (Progress(date(2026, 5, 4), DeliverableStatus.IN_PROGRESS,
                              "Speakers confirmed; the session date is still open."),)),
    DeliverableSpec(0, "Urban diplomacy and advocacy brief for joint members", AGNES,
                    date(2027, 3, 31)),
    DeliverableSpec(1, "Shared calendar of 2030 Agenda and New Urban Agenda localisation "
                    "activities", ASPAC_OFFICER, date(2020, 6, 30),
                    (Progress(date(2020, 6, 22), DeliverableStatus.DONE, "Calendar published to joint members."),)),
    DeliverableSpec(1, "Joint report on Voluntary Local Reviews by Asia-Pacific metropolises",
                    ASPAC_FOCAL, date(2027, 6, 30),
                    (Progress(date(2026, 10, 1), DeliverableStatus.IN_PROGRESS,
                              "Outline agreed; eight metropolises contributing."),)),
    DeliverableSpec(2, "Metropolitan governance module in the UCLG ASPAC learning programme",
                    AGNES, date(2021, 11, 30),
                    (Progress(date(2021, 11, 24), DeliverableStatus.DONE, "Module delivered in the programme."),)),
    DeliverableSpec(2, "Metropolitan thinking session at a UCLG ASPAC statutory meeting",
                    ASPAC_FOCAL, date(2027, 2, 28)),
    DeliverableSpec(3, "Asia-Pacific case studies in the Metropolis observatory", AGNES,
                    date(2020, 10, 31),
                    (Progress(date(2020, 10, 20), DeliverableStatus.DONE, "Six case studies published."),)),
    DeliverableSpec(3, "Asia-Pacific perspectives in the review of the Metropolis action plan",
                    AGNES, date(2027, 1, 31),
                    (Progress(date(2026, 9, 14), DeliverableStatus.IN_PROGRESS,
                              "Consultation with Asia-Pacific members under way."),)),
]

# --- a city-to-city cooperation (invented for the demo, after the AMF seed) --------------------

C2C_TITLE = "Demo: Tabriz – Bishkek city-to-city cooperation on urban heritage and parks"
C2C_SIGNED_ON = date(2026, 2, 16)
C2C_EFFECTIVE_FROM = date(2026, 3, 1)
C2C_PLACE = "Tehran"
TEHRAN = ZoneInfo("Asia/Tehran")
C2C_SUMMARY = (
    "Demo data. A city-to-city (C2C) cooperation between two Asian municipalities over matters "
    "of mutual interest — the care of historic landmarks and of large public parks — with the "
    "Asian Mayors Forum as supporting third party."
)
C2C_BACKGROUND = (
    "The Secretariat of the Asian Mayors Forum, established in Tehran in 2008, prepares fertile "
    "grounds for discussing successful experiences and innovative ideas for cooperation among "
    "Asian cities. C2C cooperation may cover all possible forms of relationship between local "
    "authorities in two or more countries, with or without a third party's support."
)
C2C_AREAS = [
    "Conservation of historic urban landmarks (Blour tower, Roshdiye, Gari bridge, the "
    "municipality building)",
    "Large public parks and green spaces (Tabriz Grand Park)",
]
C2C_DELIVERABLES = [
    DeliverableSpec(0, "Study visit of Bishkek heritage staff to Tabriz", TABRIZ_FOCAL,
                    date(2026, 6, 30),
                    (Progress(date(2026, 6, 25), DeliverableStatus.DONE, "Visit held; report shared."),)),
    DeliverableSpec(0, "Joint guide on the restoration of historic municipal buildings",
                    BISHKEK_FOCAL, date(2027, 3, 31),
                    (Progress(date(2026, 10, 12), DeliverableStatus.IN_PROGRESS, "First chapters drafted."),)),
    DeliverableSpec(1, "Exchange of park management practices at an AMF workshop", AMF_FOCAL,
                    date(2027, 5, 31)),
]


@dataclass
class DemoReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created)

    def lines(self) -> list[str]:
        return ([f"created: {line}" for line in self.created]
                + [f"exists:  {line}" for line in self.existing])


async def load_demo(database: Database, clock: Clock, zone: ZoneInfo = ZoneInfo("UTC"),
                    settings: Settings | None = None) -> DemoReport:
    """Load the demo organisations, people and agreements that are not there yet (the signed
    copy into `settings`' documents folder)."""
    report = DemoReport()
    today = When.of(clock, zone)
    async with database.transaction() as session:
        await _ensure_directory(session, today, report)
    async with database.transaction() as session:
        await _ensure_collaboration_agreement(session, clock, zone, report, settings or get_settings())
    async with database.transaction() as session:
        await _ensure_city_to_city(session, clock, zone, report)
    return report


async def _ensure_directory(session: AsyncSession, when: When, report: DemoReport) -> None:
    organisations: dict[str, Organisation] = {}
    for spec in ORGANISATIONS:
        found = await session.scalar(
            select(Organisation).where(func.lower(col(Organisation.name)) == spec.name.lower()))
        if found is None:
            found = await create_organisation(session, spec, LOADER, when.now)
            report.created.append(f"organisation {spec.name}")
        else:
            report.existing.append(f"organisation {spec.name}")
        organisations[spec.name] = found
    for person in PEOPLE:
        if await session.scalar(select(col(Person.id)).where(col(Person.email) == person.email)) is None:
            organisation_id = organisations[person.organisation].id
            assert organisation_id is not None
            await create_person(session, PersonCreate(
                name=person.name, email=person.email, organisation_id=organisation_id,
                role=person.role, job_title=person.job_title, timezone=person.timezone,
                language=person.language,
            ), LOADER, when.now)
            report.created.append(f"person {person.name} <{person.email}>")
        else:
            report.existing.append(f"person {person.name} <{person.email}>")


class _Timeline:
    """A clock that moves forward a minute at each step, so history rows keep their order."""

    def __init__(self, start: datetime, zone: ZoneInfo) -> None:
        self.clock = FixedClock(start)
        self.zone = zone

    def step(self) -> When:
        self.clock.set(self.clock.now() + timedelta(minutes=1))
        return When.of(self.clock, self.zone)

    def at(self, day: date, local: ZoneInfo, hour: int = 10) -> When:
        self.clock.set(datetime.combine(day, time(hour), tzinfo=local).astimezone(UTC))
        return When.of(self.clock, self.zone)


async def _existing_agreement(session: AsyncSession, title: str, report: DemoReport) -> bool:
    found = (await session.execute(
        select(col(Agreement.id), col(Agreement.state), col(Agreement.next_review_on))
        .where(col(Agreement.title) == title))).first()
    if found is None:
        return False
    report.existing.append(f"agreement {found.id} {title!r}: {found.state}, next review "
                           f"{found.next_review_on}")
    return True


async def _people(session: AsyncSession) -> dict[str, Person]:
    emails = [p.email for p in PEOPLE]
    rows = await session.scalars(select(Person).where(col(Person.email).in_(emails)))
    return {person.email: person for person in rows}


async def _organisation_ids(session: AsyncSession) -> dict[str, int]:
    names = [o.name for o in ORGANISATIONS]
    rows = await session.execute(
        select(col(Organisation.name), col(Organisation.id))
        .where(col(Organisation.name).in_(names)))
    return {name: id_ for name, id_ in rows if id_ is not None}


def _id(person: Person) -> int:
    assert person.id is not None
    return person.id


async def _ensure_collaboration_agreement(session: AsyncSession, clock: Clock, zone: ZoneInfo,
                                          report: DemoReport, settings: Settings) -> None:
    if await _existing_agreement(session, COLLABORATION_TITLE, report):
        return
    people, orgs = await _people(session), await _organisation_ids(session)
    agnes, aspac_focal = Actor.of(people[AGNES]), Actor.of(people[ASPAC_FOCAL])
    timeline = _Timeline(datetime(2019, 4, 6, 9, 0, tzinfo=MONTEVIDEO), zone)

    agreement = await _create(session, AgreementCreate(
        title=COLLABORATION_TITLE, summary=COLLABORATION_SUMMARY,
        background=COLLABORATION_BACKGROUND, effective_from=COLLABORATION_SIGNED_ON,
        review_every_months=12,
        parties=[PartyInput(organisation_id=orgs[METROPOLIS]),
                 PartyInput(organisation_id=orgs[ASPAC])],
    ), agnes, timeline.step())
    assert agreement.id is not None
    agreement_id = agreement.id
    contacts: list[tuple[Actor, str, ContactKind, str]] = [
        (agnes, AGNES, ContactKind.FOCAL_POINT, "Senior Manager for Institutional Relations & Asia"),
        (agnes, METROPOLIS_SG, ContactKind.SIGNATORY, "Secretary General, Metropolis"),
        (aspac_focal, ASPAC_FOCAL, ContactKind.FOCAL_POINT, "Programme Manager, UCLG ASPAC"),
        (aspac_focal, ASPAC_OFFICER, ContactKind.FOCAL_POINT, "Programme Officer, UCLG ASPAC"),
        (aspac_focal, ASPAC_SG, ContactKind.SIGNATORY, "Secretary General, UCLG ASPAC"),
    ]
    named: dict[tuple[str, ContactKind], int] = {}
    for actor, email, kind, capacity in contacts:
        outcome = await apply(session, agreement_id, actor, timeline.step(), actions.NameContact(ContactCreate(
            person_id=_id(people[email]), kind=kind, capacity=capacity)))
        named[email, kind] = outcome.added().id
    area_ids = []
    for title in COLLABORATION_AREAS:
        added = await apply(session, agreement_id, agnes, timeline.step(), actions.AddArea(AreaCreate(title=title)))
        area_ids.append(added.added().id)
    deliverable_ids = await _add_deliverables(session, agreement_id, area_ids,
                                              COLLABORATION_DELIVERABLES, people, agnes, timeline)

    await fire(session, agreement_id, "submit_for_signature", agnes, timeline.step(),
               EventInput(comment="Ready for the Secretaries-general in Montevideo."))
    for organisation, signatory, hour in ((METROPOLIS, METROPOLIS_SG, 12), (ASPAC, ASPAC_SG, 13)):
        if organisation == ASPAC:  # the last signature completes the agreement: its signed copy first
            await _attach_signed_copy(session, agreement_id, agnes, timeline.step(), settings)
        await fire(session, agreement_id, "sign", Actor.of(people[signatory]),
                   timeline.at(COLLABORATION_SIGNED_ON, MONTEVIDEO, hour),
                   EventInput(organisation_id=orgs[organisation], signatory_id=_id(people[signatory]),
                              signed_on=COLLABORATION_SIGNED_ON, place=COLLABORATION_PLACE))
    await fire(session, agreement_id, "activate", Actor.scheduler(),
               timeline.at(COLLABORATION_SIGNED_ON, MONTEVIDEO, 18))

    await _record_progress(session, agreement_id, COLLABORATION_DELIVERABLES, deliverable_ids, people, timeline)
    await _amend_focal_point_title(session, agreement_id, named[AGNES, ContactKind.FOCAL_POINT], people, orgs,
                                   timeline)
    agreement = await _review_after_today(session, agreement_id, COLLABORATION_SIGNED_ON, agnes,
                                          clock, zone)
    report.created.append(f"agreement {agreement_id} {COLLABORATION_TITLE!r}: {agreement.state}, "
                          f"next review {agreement.next_review_on}")


async def _amend_focal_point_title(session: AsyncSession, agreement_id: int, contact_id: int,
                                   people: dict[str, Person], orgs: dict[str, int], timeline: _Timeline) -> None:
    """Amendment 1, administrative: the Metropolis focal point's title as the agreement names her,
    proposed by her and approved by both parties' focal points, which merges it (reference -A1)."""
    agnes, aspac_focal = Actor.of(people[AGNES]), Actor.of(people[ASPAC_FOCAL])
    day = date(2026, 10, 20)
    proposed = await amendments.propose(session, agreement_id, agnes, timeline.at(day, BARCELONA, 10), AmendmentCreate(
        kind=AmendmentKind.ADMINISTRATIVE, reason="The Metropolis focal point's title changed in the new structure.",
        changes=AmendmentChanges(contacts=[ContactAmendment(
            id=contact_id, capacity="Director of Institutional Relations & Asia")])))
    steps = ((agnes, AmendmentEvent.SUBMIT, None, 11), (agnes, AmendmentEvent.APPROVE, orgs[METROPOLIS], 12))
    for actor, event, organisation_id, hour in steps:
        await amendments.fire(session, agreement_id, proposed.number, actor, timeline.at(day, BARCELONA, hour),
                              AmendmentEventFire(event=event, organisation_id=organisation_id))
    await amendments.fire(session, agreement_id, proposed.number, aspac_focal,
                          timeline.at(day + timedelta(days=1), ZoneInfo("Asia/Jakarta"), 9),
                          AmendmentEventFire(event=AmendmentEvent.APPROVE, organisation_id=orgs[ASPAC]))


async def _attach_signed_copy(session: AsyncSession, agreement_id: int, actor: Actor, when: When,
                              settings: Settings) -> None:
    content = signed_copy(COLLABORATION_TITLE, [
        "Parties: Metropolis and UCLG ASPAC",
        f"Signed in {COLLABORATION_PLACE} on {COLLABORATION_SIGNED_ON.strftime('%-d %B %Y')} by the "
        "Secretaries-general of both networks.",
        "(Demo copy made by Accord: the original is kept by the parties.)"])
    remaining = [content]

    async def read(size: int) -> bytes:
        return remaining.pop() if remaining else b""

    filename = "metropolis-uclg-aspac-2019-signed.pdf"
    stored = await documents.store(read, filename, settings)
    await apply(session, agreement_id, actor, when, actions.AttachDocument(
        DocumentUpload(kind=DocumentKind.SIGNED_AGREEMENT, title="Signed agreement, Montevideo 2019"),
        filename, stored))


async def _ensure_city_to_city(session: AsyncSession, clock: Clock, zone: ZoneInfo,
                               report: DemoReport) -> None:
    if await _existing_agreement(session, C2C_TITLE, report):
        return
    people, orgs = await _people(session), await _organisation_ids(session)
    tabriz, bishkek, amf = (Actor.of(people[e]) for e in (TABRIZ_FOCAL, BISHKEK_FOCAL, AMF_FOCAL))
    timeline = _Timeline(datetime(2026, 1, 20, 9, 0, tzinfo=TEHRAN), zone)

    agreement = await _create(session, AgreementCreate(
        title=C2C_TITLE, workflow="city_to_city", summary=C2C_SUMMARY, background=C2C_BACKGROUND,
        effective_from=C2C_EFFECTIVE_FROM, review_every_months=12,
        parties=[PartyInput(organisation_id=orgs[TABRIZ]), PartyInput(organisation_id=orgs[BISHKEK]),
                 PartyInput(organisation_id=orgs[AMF], role=PartyRole.SUPPORTER)],
    ), tabriz, timeline.step())
    assert agreement.id is not None
    agreement_id = agreement.id
    contacts: list[tuple[Actor, str, ContactKind]] = [
        (tabriz, TABRIZ_FOCAL, ContactKind.FOCAL_POINT), (tabriz, TABRIZ_MAYOR, ContactKind.SIGNATORY),
        (bishkek, BISHKEK_FOCAL, ContactKind.FOCAL_POINT), (bishkek, BISHKEK_MAYOR, ContactKind.SIGNATORY),
        (amf, AMF_FOCAL, ContactKind.FOCAL_POINT),
    ]
    for actor, email, kind in contacts:
        await apply(session, agreement_id, actor, timeline.step(), actions.NameContact(ContactCreate(
            person_id=_id(people[email]), kind=kind, capacity=people[email].name)))
    area_ids = []
    for title in C2C_AREAS:
        added = await apply(session, agreement_id, tabriz, timeline.step(), actions.AddArea(AreaCreate(title=title)))
        area_ids.append(added.added().id)
    deliverable_ids = await _add_deliverables(session, agreement_id, area_ids, C2C_DELIVERABLES,
                                              people, tabriz, timeline)
    for organisation, mayor, hour in ((TABRIZ, TABRIZ_MAYOR, 11), (BISHKEK, BISHKEK_MAYOR, 12)):
        await fire(session, agreement_id, "sign", Actor.of(people[mayor]),
                   timeline.at(C2C_SIGNED_ON, TEHRAN, hour),
                   EventInput(organisation_id=orgs[organisation], signatory_id=_id(people[mayor]),
                              signed_on=C2C_SIGNED_ON, place=C2C_PLACE))
    await fire(session, agreement_id, "activate", Actor.scheduler(),
               timeline.at(C2C_EFFECTIVE_FROM, TEHRAN, 6))
    await _record_progress(session, agreement_id, C2C_DELIVERABLES, deliverable_ids, people, timeline)
    agreement = await _review_after_today(session, agreement_id, C2C_EFFECTIVE_FROM, tabriz,
                                          clock, zone)
    report.created.append(f"agreement {agreement_id} {C2C_TITLE!r}: {agreement.state}, "
                          f"next review {agreement.next_review_on}")


async def _add_deliverables(session: AsyncSession, agreement_id: int, area_ids: list[int],
                            specs: list[DeliverableSpec], people: dict[str, Person], actor: Actor,
                            timeline: _Timeline) -> list[int]:
    ids = []
    for spec in specs:
        added = await apply(session, agreement_id, actor, timeline.step(), actions.AddDeliverable(
            area_ids[spec.area],
            DeliverableCreate(title=spec.title, owner_id=_id(people[spec.owner]), due_on=spec.due_on)))
        ids.append(added.added().id)
    return ids


async def _record_progress(session: AsyncSession, agreement_id: int, specs: list[DeliverableSpec], ids: list[int],
                           people: dict[str, Person], timeline: _Timeline) -> None:
    """Each deliverable's progress, recorded by its owner, in the order it happened."""
    updates = sorted(((p, spec, deliverable_id) for spec, deliverable_id in zip(specs, ids, strict=True)
                      for p in spec.progress), key=lambda item: item[0].on)
    for progress, spec, deliverable_id in updates:
        owner = people[spec.owner]
        await apply(session, agreement_id, Actor.of(owner), timeline.at(progress.on, ZoneInfo(owner.timezone or "UTC")),
                    actions.UpdateDeliverable(deliverable_id, DeliverableUpdate(status=progress.status,
                                                                                progress_note=progress.note)))


async def _review_after_today(session: AsyncSession, agreement_id: int, start: date, actor: Actor,
                              clock: Clock, zone: ZoneInfo) -> AgreementSnapshot:
    """Move the next review to the first anniversary after today, as a focal point would."""
    now = When.of(clock, zone)
    next_review_on = first_review_after(start, 12, now.today)
    outcome = await apply(session, agreement_id, actor, now,
                          actions.Edit(AgreementUpdate(next_review_on=next_review_on)))
    return outcome.agreement


async def _create(session: AsyncSession, data: AgreementCreate, actor: Actor, when: When) -> AgreementSnapshot:
    return (await apply(session, None, actor, when, actions.Create(data))).agreement
