"""Every kind of mail Accord sends reads wholly in its French or Spanish reader's language: each
reminder of each shipped workflow file (as the staff and as a partner read it, and as an escalation
to someone else), a day's digest, an alert that a scheduled event could not run, and the sign-in
link. Sent by the real worker over a real SMTP server (aiosmtpd); each mail's subject, text and
HTML are checked against the English of the catalog (`english_sentences`, as the pages are in
tests/web/test_translated_pages.py) and against the short English words a mail is made of (a
reminder's title, a date's label), and say their language (`Content-Language`, `<html lang>`).
The calendar feeds: tests/test_feed_languages.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from email.message import EmailMessage

import httpx
import pytest
from babel.messages.pofile import read_po

from api.web import link_mail
from engine import i18n
from engine.clock import FixedClock
from engine.db import Database
from engine.schedule import Timer
from engine.statuses import Language
from engine.workflow.machine import catalog
from tests.notifications.conftest import MakeWorker, SmtpServer
from tests.notifications.helpers import address, at, notifications, subject, until
from tests.notifications.test_mail_languages import settings  # noqa: F401 (a fixture: mail to the test's SMTP)
from tests.support import World
from tests.web.helpers import csrf_of, text_of
from tests.web.test_translated_pages import english_sentences

# Metropolis reads French, UCLG ASPAC Spanish: their staff, their partners, their signatories.
READERS = {"metro_staff": Language.FR, "metro_partner": Language.FR, "metro_signatory": Language.FR,
           "aspac_staff": Language.ES, "aspac_partner": Language.ES, "aspac_signatory": Language.ES}
PARTNERS = ("metro_partner", "aspac_partner")
DIGEST = ("metro_signatory", "aspac_signatory")  # they asked for a daily digest
# The short English words of a mail, too short for `english_sentences` (fewer than three words).
MAIL_WORDS = ("Review date", "End date", "Notice deadline", "Due date", "Dear ", "Link:", "today", "tomorrow",
              "yesterday", " days ago", " day ago")


def part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body((subtype,))
    assert body is not None
    return str(body.get_content())


def words(message: EmailMessage) -> str:
    """Subject, text and HTML, as a reader sees them (tags dropped, whitespace squeezed)."""
    return " ".join([subject(message), " ".join(part(message, "plain").split()), text_of(part(message, "html"))])


def short_english(language: Language) -> set[str]:
    """`MAIL_WORDS`, and the reminders' titles of every shipped workflow file less what `language`'s
    catalog writes the same way."""
    with (i18n.LOCALES / f"{language}/LC_MESSAGES/messages.po").open("rb") as source:
        translations = read_po(source, locale=language)
    titles = {reminder.title for workflow in catalog().workflows.values() for reminder in workflow.spec.reminders}
    return set(MAIL_WORDS) | {title for title in titles
                              if title in translations and title not in str(translations[title].string or "")}


def assert_in_language(message: EmailMessage, language: Language, english: set[str]) -> None:
    to = address(message)
    assert message["Content-Language"] == language, to
    assert f'<html lang="{language}">' in part(message, "html"), to
    said = words(message)
    left = sorted(sentence for sentence in english if sentence in said)
    assert not left, f"a mail to {to} in {language} still says, in English: {left}\n{said}"


async def prepare(world: World, agreement_id: int, due_on: str, owners: tuple[str, ...]) -> None:
    """Each party's partner named a focal point, and a deliverable due on `due_on` for each owner."""
    for partner, staff in (("metro_partner", "metro_staff"), ("aspac_partner", "aspac_staff")):
        await world.ok(staff, "POST", f"/agreements/{agreement_id}/focal-points",
                       json={"person_id": world.people[partner].id, "kind": "focal_point"})
    agreement = await world.ok("admin", "GET", f"/agreements/{agreement_id}")
    area = agreement["areas"][0]["id"]
    for number, owner in enumerate(owners):
        staff = "metro_staff" if owner.startswith("metro") else "aspac_staff"
        await world.ok(staff, "POST", f"/agreements/{agreement_id}/areas/{area}/deliverables",
                       json={"title": f"Toolkit {number + 1}", "owner_id": world.people[owner].id,
                             "due_on": due_on})


async def prepare_more(world: World, agreement_id: int) -> None:
    """Each signatory named a focal point too, and owning two deliverables due the same day."""
    for owner in DIGEST:
        staff = "metro_staff" if owner.startswith("metro") else "aspac_staff"
        await world.ok(staff, "POST", f"/agreements/{agreement_id}/focal-points",
                       json={"person_id": world.people[owner].id, "kind": "focal_point"})
    agreement = await world.ok("admin", "GET", f"/agreements/{agreement_id}")
    area = agreement["areas"][0]["id"]
    for owner in DIGEST:
        staff = "metro_staff" if owner.startswith("metro") else "aspac_staff"
        for title in ("Baseline study", "Training plan"):
            await world.ok(staff, "POST", f"/agreements/{agreement_id}/areas/{area}/deliverables",
                           json={"title": title, "owner_id": world.people[owner].id, "due_on": "2027-04-01"})


async def signing(world: World, agreement_id: int, *, submit: bool = True) -> None:
    if submit:
        await world.ok("metro_staff", "POST", f"/agreements/{agreement_id}/events",
                       json={"event": "submit_for_signature"})
    for who in ("metro_staff", "aspac_staff"):
        await world.ok(who, "POST", f"/agreements/{agreement_id}/events", json={"event": "sign", "place": "Montevideo"})


async def test_every_mail_reads_in_its_readers_language(
        world: World, clock: FixedClock, database: Database, make_worker: MakeWorker, smtp: SmtpServer) -> None:
    for who, language in READERS.items():
        await world.ok("admin", "PATCH", f"/people/{world.people[who].id}", json={"language": language})
    for who in DIGEST:
        await world.ok(who, "PUT", "/notification-preferences", json={"daily_digest": True})

    # A collaboration agreement with an end, a notice period and deliverables for each reader;
    # each signatory owns two deliverables due the same day: their reminders come as one digest.
    collaboration = await world.ready(ends_on="2028-06-30", notice_period_days=90)
    await prepare(world, collaboration["id"], "2027-03-01", ("metro_staff", "metro_partner", "aspac_staff",
                                                              "aspac_partner"))
    await prepare_more(world, collaboration["id"])
    await signing(world, collaboration["id"])
    # A city-to-city cooperation (its own reminders' words), signed straight from its draft.
    city = await world.ready(workflow="city_to_city", title="Madrid – Jakarta city-to-city cooperation")
    await prepare(world, city["id"], "2027-05-03", ("metro_staff", "metro_partner", "aspac_staff", "aspac_partner"))
    await signing(world, city["id"], submit=False)
    # One left waiting for its signatures.
    waiting = await world.ready(title="Cooperation awaiting its signatures")
    await world.ok("metro_staff", "POST", f"/agreements/{waiting['id']}/events",
                   json={"event": "submit_for_signature"})

    worker = make_worker(smtp)
    clock.set(at("2026-12-01T01:00"))
    await worker.run_pass(clock.now())  # both take effect
    for agreement in (collaboration, city):
        current = await world.ok("admin", "GET", f"/agreements/{agreement['id']}")
        assert current["state"] == "active", current
    # A stale timer: 'activate' again, on an agreement already in effect; its focal points are told.
    async with database.transaction() as session:
        session.add(Timer(agreement_id=collaboration["id"], event="activate", due_on=date(2027, 1, 15),
                          created_at=clock.now(), updated_at=clock.now()))

    # A pass at noon UTC on each day a reminder (or the stale timer) falls due, in order, until the
    # collaboration agreement ends.
    done: set[date] = set()
    while True:
        pending = {n.send_at.date() for n in await notifications(database, status="pending")}
        ahead = sorted((pending | {date(2027, 1, 15)}) - done)
        if not ahead or ahead[0] > date(2028, 6, 30):
            break
        done.add(ahead[0])
        await worker.run_pass(datetime.combine(ahead[0], time(12), tzinfo=UTC))

    english = {language: english_sentences(language) | short_english(language) for language in set(READERS.values())}
    mails: dict[str, list[EmailMessage]] = {who: smtp.to(f"{who}@") for who in READERS}
    for who, language in READERS.items():
        assert mails[who], f"{who} got no mail"
        for message in mails[who]:
            assert_in_language(message, language, english[language])
            if not subject(message).startswith("Accord"):  # one reminder: its heading is the subject
                assert subject(message) in " ".join(part(message, "plain").split()), subject(message)
                assert subject(message) in text_of(part(message, "html")), subject(message)

    # Every kind of mail reached both languages: each reminder of each workflow file, as the staff
    # read it and as a partner does; an escalation; a digest; an alert.
    for language in set(READERS.values()):
        people = [who for who, said in READERS.items() if said == language]
        staff = " ".join(words(m) for who in people if who not in PARTNERS for m in mails[who])
        partners = " ".join(words(m) for who in people if who in PARTNERS for m in mails[who])
        with i18n.reading(language):
            for workflow in catalog().workflows.values():
                for reminder in workflow.spec.reminders:
                    said = " ".join(i18n.gettext(reminder.action).split())
                    assert i18n.gettext(reminder.title) in staff, (language, reminder.title)
                    assert said in staff, (language, workflow.spec.name, reminder.name, said)
                    if reminder.partner_action:
                        said = " ".join(i18n.gettext(reminder.partner_action).split())
                        assert said in partners, (language, workflow.spec.name, reminder.name, said)
            owner = world.metro_partner.name if language == Language.FR else world.aspac_partner.name
            escalated = i18n.gettext("You are receiving this because its owner, %(owner)s, has not acted on it "
                                     "yet.") % {"owner": owner}
            assert escalated in staff, (language, escalated)
            asked = i18n.gettext("Ask its owner, %(owner)s, to record its progress or mark it done in Accord: "
                                 "partners update only the deliverables they own.")
            assert asked.split("%(owner)s")[0] in partners
            # The alert: the event by its label, and why it could not run, in the reader's words.
            label = catalog().get("collaboration_agreement", 1).spec.label_of("activate", language)
            alert = i18n.gettext("Scheduled '%(event)s' could not run") % {"event": label}
            assert alert in staff, (language, alert)
            assert alert in partners, (language, alert)
            digest = i18n.ngettext("Accord: %(num)s reminder for %(day)s", "Accord: %(num)s reminders for %(day)s",
                                   2) % {"num": 2, "day": ""}
        assert any(subject(m).startswith(digest) for who in DIGEST for m in mails[who]), (language, digest)


@pytest.mark.parametrize("language", [Language.FR, Language.ES])
async def test_the_sign_in_link_mail_reads_in_the_persons_language(
        world: World, client: httpx.AsyncClient, smtp: SmtpServer, language: Language) -> None:
    await world.ok("admin", "PATCH", f"/people/{world.metro_staff.id}", json={"language": language})
    form = await client.get("/sign-in")
    await client.post("/sign-in/link", data={"email": "metro_staff@metropolis.example", "csrf": csrf_of(form.text)})
    await link_mail.settle()
    await until(lambda: len(smtp.messages) == 1)
    [mail] = smtp.messages
    assert_in_language(mail, language, english_sentences(language) | short_english(language))
