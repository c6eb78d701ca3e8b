"""Real channels on loopback: an aiosmtpd SMTP server and a raw asyncio HTTP receiver."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from engine.db import Database
from engine.settings import Settings
from notifications.email import SmtpMailer
from notifications.worker import Worker, WorkerConfig
from tests.support import free_port

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP line



class SmtpServer:
    """aiosmtpd on 127.0.0.1, collecting every message; `stop()` makes the port refuse."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
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


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A tiny HTTP/1.1 server that records each request and answers `status`."""

    port: int = field(default_factory=free_port)
    status: int = 200
    requests: list[Received] = field(default_factory=list)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/accord"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

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
        self.requests.append(Received(request_line.split(" ")[1], headers, body))
        writer.write(f"HTTP/1.1 {self.status} Status\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n".encode())
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


MakeWorker = Callable[..., Worker]


@pytest.fixture
async def make_worker(database_url: tuple[str, str | None], settings: Settings
                      ) -> AsyncIterator[MakeWorker]:
    """Workers as separate processes would be: each with its own engine and connections."""
    url, search_path = database_url
    databases: list[Database] = []

    def make(smtp: SmtpServer, *, owner: str = "worker-1", **config: Any) -> Worker:
        database = Database(url, search_path=search_path)
        databases.append(database)
        return Worker(database, settings, owner=owner, config=WorkerConfig(**config),
                      mailer=SmtpMailer(smtp.url, timeout=5))

    yield make
    for database in databases:
        await database.dispose()
