"""Signing in with a one-time link sent by email: the mail, the link, and every way it must refuse.

Mail goes to the outbox folder (`ACCORD_OUTBOX_DIR`, no `ACCORD_SMTP_URL`), and in one test to a
real aiosmtpd server on loopback.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from aiosmtpd.controller import Controller

from api.app import create_app
from engine.clock import FixedClock
from engine.db import Database
from engine.settings import Settings
from tests.support import World, free_port
from tests.web.helpers import csrf_of, text_of

NEUTRAL = "If that address belongs to someone here, a link is on its way"
UNUSABLE = "This sign-in link cannot be used any more"
_LINK = re.compile(r"(https?://\S+/sign-in/link/\S+)")


def outbox(settings: Settings) -> list[EmailMessage]:
    folder = Path(settings.outbox_dir)
    mails = []
    for path in sorted(folder.glob("*.eml")) if folder.is_dir() else []:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        mails.append(message)
    return mails


def link_in(mail: EmailMessage) -> str:
    """The link path of the mail's plain text (the same link is in its HTML part)."""
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    found = _LINK.search(body.get_content())
    assert found, body.get_content()
    html = mail.get_body(preferencelist=("html",))
    assert html is not None
    assert found.group(1) in html.get_content()
    return found.group(1)


async def ask_for_link(client: httpx.AsyncClient, email: str, *, csrf: str | None = None) -> httpx.Response:
    form = await client.get("/sign-in")
    assert form.status_code == 200
    assert "Email me a sign-in link" in form.text
    return await client.post("/sign-in/link", data={"email": email, "csrf": csrf or csrf_of(form.text)})


async def follow(client: httpx.AsyncClient, link: str) -> httpx.Response:
    """Open the link, then press its "Sign in" button."""
    path = urlsplit(link).path
    page = await client.get(path)
    if page.status_code != 200:
        return page
    return await client.post(path, data={"csrf": csrf_of(page.text)})


async def signed_in_as(client: httpx.AsyncClient) -> str | None:
    page = await client.get("/agreements")
    return text_of(page.text) if page.status_code == 200 else None


async def test_the_mail_arrives_with_a_link_that_signs_in(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    answer = await ask_for_link(client, "Metro_Partner@Metropolis.example")  # case does not matter
    assert answer.status_code == 200
    assert NEUTRAL in text_of(answer.text)

    [mail] = outbox(settings)
    assert mail["To"].addresses[0].addr_spec == "metro_partner@metropolis.example"
    assert mail["Subject"] == "Your Accord sign-in link"
    link = link_in(mail)
    assert link.startswith(f"{settings.base_url}/sign-in/link/")
    assert "works once" in text_of(mail.get_body(preferencelist=("html",)).get_content())  # type: ignore[union-attr]

    page = await client.get(urlsplit(link).path)
    assert page.status_code == 200
    assert f"Sign in as {world.metro_partner.name}" in text_of(page.text)
    assert await signed_in_as(client) is None  # opening the link alone signs no one in

    signed = await client.post(urlsplit(link).path, data={"csrf": csrf_of(page.text)})
    assert signed.status_code == 303
    assert signed.headers["location"] == "/agreements"
    seen = await signed_in_as(client)
    assert seen is not None
    assert world.metro_partner.name in seen

    # The session is an ordinary token of the person's, so it shows among them and revocation works.
    tokens = await world.ok("admin", "GET", f"/people/{world.metro_partner.id}/tokens")
    labels = [t.get("label") for t in (tokens["items"] if isinstance(tokens, dict) else tokens)]
    assert "web sign-in link" in labels


async def test_a_link_works_only_once(client: httpx.AsyncClient, world: World, settings: Settings,
                                      app: Any) -> None:
    await ask_for_link(client, "metro_staff@metropolis.example")
    [mail] = outbox(settings)
    link = link_in(mail)
    first = await follow(client, link)
    assert first.status_code == 303

    again = await follow(client, link)
    assert again.status_code == 410
    assert UNUSABLE in text_of(again.text)
    assert "404" not in again.text
    assert "Not found" not in again.text
    assert "Email me a sign-in link" in again.text  # the way to ask for a new one is right there

    # Another browser pressing the button of a page it opened before the first use gets nothing.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as other:
        other.cookies.set("accord_csrf", "x" * 32)
        stale = await other.post(urlsplit(link).path, data={"csrf": "x" * 32})
        assert stale.status_code == 410
        assert await signed_in_as(other) is None


async def test_two_clicks_at_once_sign_in_only_one(client: httpx.AsyncClient, world: World,
                                                   settings: Settings, app: Any) -> None:
    await ask_for_link(client, "aspac_staff@aspac.example")
    path = urlsplit(link_in(outbox(settings)[0])).path
    transport = httpx.ASGITransport(app=app)
    browsers = [httpx.AsyncClient(transport=transport, base_url="http://accord.test") for _ in range(6)]
    try:
        pages = [await b.get(path) for b in browsers]
        answers = await asyncio.gather(*(b.post(path, data={"csrf": csrf_of(p.text)})
                                         for b, p in zip(browsers, pages, strict=True)))
        assert sorted(a.status_code for a in answers) == [303] + [410] * 5
        signed = [await signed_in_as(b) is not None for b in browsers]
        assert signed.count(True) == 1
    finally:
        for b in browsers:
            await b.aclose()


async def test_an_expired_link_fails_and_changes_nothing(
    client: httpx.AsyncClient, world: World, settings: Settings, clock: FixedClock
) -> None:
    await ask_for_link(client, "metro_partner@metropolis.example")
    link = link_in(outbox(settings)[0])
    clock.set(clock.now() + timedelta(minutes=15, seconds=1))

    page = await client.get(urlsplit(link).path)
    assert page.status_code == 410
    assert UNUSABLE in text_of(page.text)
    pressed = await client.post(urlsplit(link).path, data={"csrf": csrf_of(page.text)})
    assert pressed.status_code == 410
    assert await signed_in_as(client) is None
    tokens = await world.ok("admin", "GET", f"/people/{world.metro_partner.id}/tokens")
    labels = [t.get("label") for t in (tokens["items"] if isinstance(tokens, dict) else tokens)]
    assert "web sign-in link" not in labels


async def test_a_link_just_before_it_runs_out_still_works(
    client: httpx.AsyncClient, world: World, settings: Settings, clock: FixedClock
) -> None:
    await ask_for_link(client, "metro_partner@metropolis.example")
    link = link_in(outbox(settings)[0])
    clock.set(clock.now() + timedelta(minutes=14, seconds=59))
    assert (await follow(client, link)).status_code == 303


async def test_an_unknown_or_made_up_link_gets_the_same_friendly_page(client: httpx.AsyncClient,
                                                                      world: World) -> None:
    for path in ("/sign-in/link/link_nothing-like-this", "/sign-in/link/" + "a" * 500, "/sign-in/link/acc_test_admin"):
        page = await client.get(path)
        assert page.status_code == 410
        assert UNUSABLE in text_of(page.text)
    assert await signed_in_as(client) is None


async def test_an_unknown_email_gets_the_same_page_and_no_mail(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    unknown = await ask_for_link(client, "nobody@nowhere.example")
    assert unknown.status_code == 200
    assert outbox(settings) == []

    known = await ask_for_link(client, "amf_staff@amf.example")
    assert known.status_code == 200
    assert len(outbox(settings)) == 1
    assert text_of(unknown.text) == text_of(known.text)


async def test_the_form_without_csrf_is_refused(client: httpx.AsyncClient, world: World,
                                                settings: Settings) -> None:
    refused = await client.post("/sign-in/link", data={"email": "metro_partner@metropolis.example"})
    assert refused.status_code == 403
    assert "Form refused" in refused.text
    forged = await ask_for_link(client, "metro_partner@metropolis.example", csrf="forged-value-from-elsewhere")
    assert forged.status_code == 403
    assert outbox(settings) == []

    # Pressing a link's button without the page's CSRF value is refused too, and the link survives.
    await ask_for_link(client, "metro_partner@metropolis.example")
    path = urlsplit(link_in(outbox(settings)[0])).path
    assert (await client.post(path, data={})).status_code == 403
    assert await signed_in_as(client) is None
    assert (await follow(client, path)).status_code == 303


async def test_an_address_that_is_not_one_is_asked_again(client: httpx.AsyncClient, world: World,
                                                         settings: Settings) -> None:
    answer = await ask_for_link(client, "   ")
    assert answer.status_code == 422
    assert "Enter the email address" in text_of(answer.text)
    assert outbox(settings) == []


async def test_at_most_five_links_an_hour(
    client: httpx.AsyncClient, world: World, settings: Settings, clock: FixedClock
) -> None:
    start = clock.now()
    for minute in range(7):
        clock.set(start + timedelta(minutes=minute))
        answer = await ask_for_link(client, "metro_partner@metropolis.example")
        assert answer.status_code == 200
        assert NEUTRAL in text_of(answer.text)  # over the limit the page says exactly the same
    assert len(outbox(settings)) == 5

    # Someone else is not held back by it.
    await ask_for_link(client, "metro_staff@metropolis.example")
    assert len(outbox(settings)) == 6

    clock.set(start + timedelta(hours=1, seconds=1))  # the first request has left the hour
    await ask_for_link(client, "metro_partner@metropolis.example")
    assert len(outbox(settings)) == 7


async def test_signing_out_ends_a_link_session_for_good(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    await ask_for_link(client, "metro_partner@metropolis.example")
    assert (await follow(client, link_in(outbox(settings)[0]))).status_code == 303
    cookie = client.cookies.get("accord_session")
    assert cookie
    assert await signed_in_as(client) is not None
    page = await client.get("/agreements")
    assert (await client.post("/sign-out", data={"csrf": csrf_of(page.text)})).status_code == 303

    client.cookies.set("accord_session", cookie)  # a copy of the cookie kept from before
    assert await signed_in_as(client) is None
    # The person's own token is untouched.
    assert (await world.call("metro_partner", "GET", "/agreements")).status_code == 200


class _Smtp:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[_Smtp]:
    server = _Smtp()
    server.controller.start()
    yield server
    server.controller.stop()


async def test_the_link_goes_out_over_smtp(database: Database, clock: FixedClock, tmp_path: Path,
                                           smtp: _Smtp, world: World) -> None:
    settings = Settings(database_url=database.url, scheduler_enabled=False, outbox_dir=str(tmp_path / "unused"),
                        smtp_url=f"smtp://127.0.0.1:{smtp.port}", base_url="https://accord.example.org")
    app = create_app(settings, clock=clock, database=database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://accord.example.org") as web:
        answer = await ask_for_link(web, "aspac_partner@aspac.example")
        assert NEUTRAL in text_of(answer.text)
        [mail] = smtp.messages
        assert mail["To"].addresses[0].addr_spec == "aspac_partner@aspac.example"
        link = link_in(mail)
        assert link.startswith("https://accord.example.org/sign-in/link/")
        assert (await follow(web, link)).status_code == 303
        seen = await signed_in_as(web)
        assert seen is not None
        assert world.aspac_partner.name in seen
    assert not (tmp_path / "unused").exists()
