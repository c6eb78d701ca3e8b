"""Signing in with a one-time link sent by email: the mail, the link, and every way it must refuse.

Mail goes to the outbox folder (`ACCORD_OUTBOX_DIR`, no `ACCORD_SMTP_URL`), and in one test to a
real aiosmtpd server on loopback.
"""

from __future__ import annotations

import asyncio
import re
import threading
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
from api.web import link_mail
from engine.clock import FixedClock
from engine.db import Database
from engine.settings import Settings
from tests.support import World, free_port
from tests.web.helpers import csrf_of, sign_in, text_of

NEUTRAL = "If that address belongs to someone here, a link is on its way"
UNUSABLE = "This sign-in link cannot be used any more"
_LINK = re.compile(r"(https?://\S+/sign-in/link/\S+)")
_NEXT = re.compile(r'name="next" value="([^"]*)"')


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


async def ask_for_link(client: httpx.AsyncClient, email: str, *, csrf: str | None = None,
                       settle: bool = True) -> httpx.Response:
    """Ask on the sign-in page; with `settle`, also wait until the link (if any) has been mailed:
    that happens after the answer, off the request path."""
    form = await client.get("/sign-in")
    assert form.status_code == 200
    assert "Email me a sign-in link" in form.text
    answer = await client.post("/sign-in/link", data={"email": email, "csrf": csrf or csrf_of(form.text)})
    if settle:
        await link_mail.settle()
    return answer


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


async def test_a_link_asked_for_on_the_way_to_a_page_signs_in_back_to_that_page(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    # The page a reminder mail links to, opened without a session: it asks to sign in.
    agreement = await world.ready()
    page = f"/agreements/{agreement['id']}"
    opened = await client.get(page)
    assert opened.status_code == 303
    form = await client.get(opened.headers["location"])
    # Both ways of signing in (token, emailed link) carry the page along.
    assert _NEXT.findall(form.text) == [page, page]
    await client.post("/sign-in/link", data={"email": "metro_staff@metropolis.example", "next": page,
                                             "csrf": csrf_of(form.text)})
    await link_mail.settle()

    [mail] = outbox(settings)
    link = urlsplit(link_in(mail))
    assert link.query == f"next={page}"
    landing = await client.get(f"{link.path}?{link.query}")
    assert _NEXT.findall(landing.text) == [page]
    signed = await client.post(link.path, data={"csrf": csrf_of(landing.text), "next": page})
    assert signed.status_code == 303
    assert signed.headers["location"] == page
    shown = await client.get(page)
    assert shown.status_code == 200
    assert agreement["title"] in text_of(shown.text)


async def test_a_link_never_leads_off_the_site(client: httpx.AsyncClient, world: World,
                                               settings: Settings) -> None:
    form = await client.get("/sign-in")
    await client.post("/sign-in/link", data={"email": "metro_staff@metropolis.example",
                                             "next": "//evil.example/agreements", "csrf": csrf_of(form.text)})
    await link_mail.settle()
    [mail] = outbox(settings)
    link = urlsplit(link_in(mail))
    assert "evil" not in link.query
    landing = await client.get(f"{link.path}?next=https://evil.example/")
    signed = await client.post(link.path, data={"csrf": csrf_of(landing.text), "next": "https://evil.example/"})
    assert signed.headers["location"] == "/agreements"


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


class _HeldSmtp(_Smtp):
    """Accepts no mail until `release` is set: what arrives meanwhile waits in DATA."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.waiting = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.waiting += 1
        for _ in range(2000):  # bounded: 20 s
            if self.release.is_set():
                break
            await asyncio.sleep(0.01)
        self.waiting -= 1
        return await super().handle_DATA(server, session, envelope)


async def test_the_answer_comes_before_the_mail_and_is_the_same_for_every_address(
        database: Database, clock: FixedClock, tmp_path: Path, world: World) -> None:
    """The page does not wait for the mail (nor for looking the address up): it answers while
    the SMTP server still holds the mail, and answers a stranger's address with the same page."""
    smtp = _HeldSmtp()
    smtp.controller.start()
    try:
        settings = Settings(database_url=database.url, scheduler_enabled=False, outbox_dir=str(tmp_path / "unused"),
                            smtp_url=f"smtp://127.0.0.1:{smtp.port}")
        app = create_app(settings, clock=clock, database=database)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as web:
            known = await asyncio.wait_for(ask_for_link(web, "aspac_partner@aspac.example", settle=False), 5)
            unknown = await asyncio.wait_for(ask_for_link(web, "nobody@nowhere.example", settle=False), 5)
            assert (known.status_code, known.text) == (unknown.status_code, unknown.text)
            assert NEUTRAL in text_of(known.text)
            for _ in range(500):
                if smtp.waiting:
                    break
                await asyncio.sleep(0.01)
            assert smtp.waiting == 1  # the known address's mail is on its way, held by the server
            assert smtp.messages == []
            smtp.release.set()
            await link_mail.settle()
            [mail] = smtp.messages
            assert mail["To"].addresses[0].addr_spec == "aspac_partner@aspac.example"
            assert (await follow(web, link_in(mail))).status_code == 303
    finally:
        smtp.release.set()
        smtp.controller.stop()


async def test_one_client_may_ask_only_so_often_whatever_the_addresses(
        database: Database, clock: FixedClock, tmp_path: Path, world: World) -> None:
    settings = Settings(database_url=database.url, scheduler_enabled=False, outbox_dir=str(tmp_path / "outbox"),
                        sign_in_links_per_client_per_hour=3)
    app = create_app(settings, clock=clock, database=database)

    def browser(address: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                                 base_url="http://accord.test")

    start = clock.now()
    async with browser("203.0.113.7") as web, browser("198.51.100.2") as other:
        for n, email in enumerate(("nobody@nowhere.example", "amf_staff@amf.example", "someone@else.example")):
            clock.set(start + timedelta(minutes=n))
            assert (await ask_for_link(web, email)).status_code == 200
        clock.set(start + timedelta(minutes=10))
        for email in ("metro_partner@metropolis.example", "nobody@nowhere.example"):
            refused = await ask_for_link(web, email)
            assert refused.status_code == 429
            assert "Too many sign-in links" in text_of(refused.text)
            assert "Try again in 50 minutes" in text_of(refused.text)
            assert refused.headers["retry-after"] == "3000"
        assert [m["To"].addresses[0].addr_spec for m in outbox(settings)] == ["amf_staff@amf.example"]

        # Another client is not held back, and the first may ask again once its hour has passed.
        assert NEUTRAL in text_of((await ask_for_link(other, "metro_partner@metropolis.example")).text)
        clock.set(start + timedelta(hours=1, seconds=1))
        assert (await ask_for_link(web, "metro_staff@metropolis.example")).status_code == 200
        assert len(outbox(settings)) == 3


async def test_signing_out_ends_a_token_session_on_the_server(client: httpx.AsyncClient, world: World) -> None:
    """A session opened by pasting a token: after sign-out a copy of the cookie is refused,
    while the token itself keeps working for the API."""
    csrf = await sign_in(client, world.metro_staff.token)
    cookie = client.cookies.get("accord_session")
    assert cookie
    assert (await client.post("/sign-out", data={"csrf": csrf})).status_code == 303
    assert await signed_in_as(client) is None

    client.cookies.set("accord_session", cookie)  # replayed
    page = await client.get("/agreements")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/sign-in")
    assert (await world.call("metro_staff", "GET", "/agreements")).status_code == 200

    # Signing in again opens a new session.
    client.cookies.clear()
    await sign_in(client, world.metro_staff.token)
    assert await signed_in_as(client) is not None


async def test_each_browser_signs_out_alone(client: httpx.AsyncClient, world: World, app: Any) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as other:
        await sign_in(other, world.metro_staff.token)
        csrf = await sign_in(client, world.metro_staff.token)
        await client.post("/sign-out", data={"csrf": csrf})
        assert await signed_in_as(client) is None
        assert await signed_in_as(other) is not None
