"""No value can break a mail header, whatever the database holds: titles and names with line
breaks, written straight into the database past the API, reach a real SMTP server as one-line
headers, to the intended recipients only."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy import text

from engine.clock import FixedClock
from engine.db import Database
from tests.notifications.conftest import MakeWorker, SmtpServer
from tests.notifications.helpers import at
from tests.support import World

INJECTED = ("Signed\r\nBcc: thief@evil.example\r\nReply-To: thief@evil.example\r\n"
            "Content-Type: text/html\r\n\r\n<h1>Pay this invoice</h1>")
EVIL_NAME = "Evil\r\nBcc: name-thief@evil.example\nCc: cc-thief@evil.example"
HEADERS = ["From", "To", "Subject", "Date", "Message-ID", "Content-Language", "Auto-Submitted", "MIME-Version",
           "Content-Type"]


async def _store(database: Database, statement: str, **values: object) -> None:
    async with database.transaction() as session:
        await session.execute(text(statement), values)


def _no_injection(message: EmailMessage, raw: bytes) -> None:
    """The header block as it crossed the wire holds exactly Accord's headers, each on its own
    (folded) line, and the HTML part shows the injected markup as text."""
    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    assert [line.split(b":", 1)[0].decode() for line in head.split(b"\r\n")] == HEADERS
    assert list(message.keys()) == HEADERS
    for name in ("Bcc", "Cc", "Reply-To"):
        assert message[name] is None, (name, message[name])
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(("html",))
    assert html is not None
    assert "<h1>" not in html.get_content()


async def test_a_title_and_a_name_with_line_breaks_in_the_database_cannot_forge_a_reminder(
        world: World, database: Database, make_worker: MakeWorker, smtp: SmtpServer, clock: FixedClock) -> None:
    agreement = await world.ready()
    await world.fire("metro_staff", agreement["id"], "submit_for_signature")
    # Past the API, as an older version or a hand-made row could have left them.
    await _store(database, "UPDATE agreement SET title = :title WHERE id = :id", title=INJECTED, id=agreement["id"])
    await _store(database, "UPDATE person SET name = :name WHERE id = :id", name=EVIL_NAME,
                 id=world.metro_signatory.id)

    report = await make_worker(smtp).run_pass(at("2026-11-30T10:00"))  # signature pending for 7 days
    assert report.notifications_sent == 2, report
    intended = {"metro_signatory@metropolis.example", "aspac_signatory@aspac.example"}
    assert sorted(rcpt for _, rcpts, _ in smtp.envelopes for rcpt in rcpts) == sorted(intended)
    assert all(len(rcpts) == 1 for _, rcpts, _ in smtp.envelopes)
    for (_, rcpts, raw), message in zip(smtp.envelopes, smtp.messages, strict=True):
        _no_injection(message, raw)
        assert [a.addr_spec for a in message["To"].addresses] == rcpts
        subject = str(message["Subject"])
        assert "\n" not in subject
        assert subject.startswith("Signature pending: Signed Bcc: thief@evil.example Reply-To:")
    evil = next(m for m in smtp.messages if "metro_signatory@" in str(m["To"]))
    [to] = evil["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Evil Bcc: name-thief@evil.example Cc: cc-thief@evil.example",
                                               "metro_signatory@metropolis.example")


async def test_an_address_with_a_line_break_in_the_database_fails_that_mail_alone(
        world: World, database: Database, make_worker: MakeWorker, smtp: SmtpServer) -> None:
    agreement = await world.ready()
    await world.fire("metro_staff", agreement["id"], "submit_for_signature")
    await _store(database, "UPDATE person SET email = :email WHERE id = :id",
                 email="metro_signatory@metropolis.example\r\nRCPT TO:<thief@evil.example>",
                 id=world.metro_signatory.id)
    report = await make_worker(smtp).run_pass(at("2026-11-30T10:00"))
    assert (report.notifications_sent, report.notifications_retrying) == (1, 1), report
    assert [rcpts for _, rcpts, _ in smtp.envelopes] == [["aspac_signatory@aspac.example"]]
    reminders = await world.ok("admin", "GET", "/notifications", params={"agreement_id": agreement["id"]})
    [failed] = [n for n in reminders["items"] if n["person_id"] == world.metro_signatory.id and n["attempts"]]
    assert failed["status"] == "pending"  # retried later: the address can be corrected meanwhile
    assert "CR or LF" in failed["last_error"]


def test_the_sign_in_link_mail_keeps_a_broken_name_on_one_line() -> None:
    """The sign-in link mail (api/web/link_mail.py) builds its headers the same way."""
    from datetime import UTC, datetime, timedelta

    from api.web.link_mail import compose
    from engine.directory.signin import IssuedLink
    from engine.settings import Settings

    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    link = IssuedLink(id=7, token="link_secret", person_id=3, email="agnes@metropolis.example", name=EVIL_NAME,
                      zone="Europe/Madrid", expires_at=now + timedelta(minutes=15))
    rendered = compose(link, Settings(database_url="sqlite+aiosqlite:///unused.db"), now)
    message = message_from_bytes(rendered.data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert rendered.recipient == "agnes@metropolis.example"
    for name in ("Bcc", "Cc", "Reply-To"):
        assert message[name] is None
    [to] = message["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Evil Bcc: name-thief@evil.example Cc: cc-thief@evil.example",
                                               "agnes@metropolis.example")
