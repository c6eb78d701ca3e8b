"""Real channels on loopback: an aiosmtpd SMTP server and a raw asyncio HTTP receiver."""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from standardwebhooks import Webhook, WebhookVerificationError

from engine.clock import Clock, SystemClock
from engine.db import Database
from engine.settings import Settings
from notifications.email import SmtpMailer
from notifications.worker import Worker, WorkerConfig
from tests.support import free_port

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP line


class SmtpServer:
    """aiosmtpd on 127.0.0.1, collecting every message; `stop()` makes the port refuse.

    It counts what a client did: `sessions` (EHLOs: one per SMTP session), `quits`, `resets`
    (RSETs), and `connected` — the TCP connections open right now. `envelopes` keeps each
    accepted mail as it came over the wire: (MAIL FROM, RCPT TOs, content bytes)."""

    def __init__(self, *, idle_timeout: float = 300) -> None:
        self.port = free_port()
        self.idle_timeout = idle_timeout  # the server closes a connection idle this long
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str], bytes]] = []
        self.sessions = 0
        self.quits = 0
        self.resets = 0
        self.connected = 0
        self._controller: Controller | None = None

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,  # noqa: N802
                          responses: list[str]) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.resets += 1
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.quits += 1
        return "221 Bye"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller = _CountingController(self, hostname="127.0.0.1", port=self.port,
                                               timeout=self.idle_timeout)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address_prefix: str) -> list[EmailMessage]:
        return [m for m in self.messages if str(m["To"]).split("<")[-1].startswith(address_prefix)]

    async def all_closed(self, seconds: float = 5.0) -> None:
        """Once every client connection is gone (the server sees the close a moment later)."""
        for _ in range(int(seconds / 0.01)):
            if self.connected == 0:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{self.connected} SMTP connection(s) still open")


class _CountingSession(SMTP):
    """aiosmtpd's protocol, one per connection, telling its server when it opens and closes."""

    def __init__(self, owner: SmtpServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner = owner

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None:  # not the TLS upgrade of a connection already counted
            self._owner.connected += 1
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._owner.connected -= 1
        super().connection_lost(error)


class _CountingController(Controller):
    def __init__(self, owner: SmtpServer, **kwargs: Any) -> None:
        super().__init__(owner, **kwargs)
        self._owner = owner

    def factory(self) -> SMTP:
        return _CountingSession(self._owner, self.handler, **self.SMTP_kwargs)


class HeldSmtpServer(SmtpServer):
    """Holds every message dated `held_date` (the Date header a worker writes from its pass's
    instant) until `release` is set, or lets one through per `let_one_through()`; the others
    are accepted at once."""

    def __init__(self) -> None:
        super().__init__()
        self.held_date = ""
        self.holding = 0
        self.release = threading.Event()
        self._one = threading.Semaphore(0)

    def let_one_through(self) -> None:
        """Exactly one held message is accepted: the next one is held, however fast it comes."""
        self._one.release()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if f"Date: {self.held_date}" in envelope.content.decode("ascii", "replace"):
            self.holding += 1
            for _ in range(1000):  # bounded: 10 s
                if self.release.is_set() or self._one.acquire(blocking=False):
                    break
                await asyncio.sleep(0.01)
            self.holding -= 1
        return await super().handle_DATA(server, session, envelope)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    refused: str | None = None  # why the receiver refused it (its Standard Webhooks verification)


@dataclass
class Receiver:
    """A tiny HTTP/1.1 server that records each request and answers `status`.

    With a `secret`, it verifies each request as a Standard Webhooks receiver does, with the
    `standardwebhooks` library's own `Webhook.verify` (signature, and a timestamp within five
    minutes of its clock), and answers 401 to a request that fails, noting why in `refused`.

    With `release`, the first request is held unanswered (`holding` is then 1) until `release`
    is set; the others are answered at once."""

    port: int = field(default_factory=free_port)
    status: int = 200
    answer: bytes = b""  # the body of each answer
    secret: str | None = None
    host: str = "127.0.0.1"  # the host its `url` names; it listens on 127.0.0.1 whatever it is
    tls: ssl.SSLContext | None = None  # serve HTTPS with this context
    requests: list[Received] = field(default_factory=list)
    release: asyncio.Event | None = None
    holding: int = 0
    _held: bool = False
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/hooks/accord"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, ssl=self.tls)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *lines = head.split("\r\n")
        headers = {}
        for line in lines:
            if ": " in line:
                name, value = line.split(": ", 1)
                headers[name.lower()] = value
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        if self.release is not None and not self._held:
            self._held = True
            self.holding += 1
            await self.release.wait()
            self.holding -= 1
        refused = None
        if self.secret is not None:
            try:
                # A Standard Webhooks secret as its libraries take it; any other as README says.
                key = self.secret if self.secret.startswith("whsec_") else self.secret.encode()
                Webhook(key).verify(body, headers)
            except WebhookVerificationError as error:
                refused = str(error)
        self.requests.append(Received(request_line.split(" ")[1], headers, body, refused))
        status = 401 if refused else self.status
        writer.write(f"HTTP/1.1 {status} Status\r\nContent-Length: {len(self.answer)}\r\n"
                     "Connection: close\r\n\r\n".encode() + self.answer)
        await writer.drain()
        writer.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down() -> Iterator[SmtpServer]:
    """An SMTP server that is not running yet: the test starts it."""
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def receiver_down() -> AsyncIterator[Receiver]:
    server = Receiver()
    yield server
    await server.stop()


@pytest.fixture
def allow_private() -> bool:
    """The receivers here listen on 127.0.0.1: these tests let webhooks reach private addresses
    (ACCORD_WEBHOOK_ALLOW_PRIVATE=true). A module that tests the refusal overrides this."""
    return True


@pytest.fixture
def settings(settings: Settings, allow_private: bool) -> Settings:
    return settings.model_copy(update={"webhook_allow_private": allow_private})


MakeWorker = Callable[..., Worker]


@pytest.fixture
async def make_worker(database_url: tuple[str, str | None], settings: Settings
                      ) -> AsyncIterator[MakeWorker]:
    """Workers as separate processes would be: each with its own engine and connections."""
    url, search_path = database_url
    databases: list[Database] = []

    def make(smtp: SmtpServer, *, owner: str = "worker-1", timeout: float = 5,
             clock: Clock | None = None, **config: Any) -> Worker:
        """A worker whose mailer keeps a wave's connections open, as `mailer_for` makes it."""
        database = Database(url, search_path=search_path)
        databases.append(database)
        worker_config = WorkerConfig(**config)
        return Worker(database, settings, owner=owner, config=worker_config,
                      mailer=SmtpMailer(smtp.url, timeout=timeout,
                                        keep_open=worker_config.send_concurrency),
                      clock=clock or SystemClock())

    yield make
    for database in databases:
        await database.dispose()
