"""Mail: rendered from the Jinja2 templates in `templates/`, sent over SMTP or to a local outbox.

`mailer_for(settings)` gives an `SmtpMailer` when `ACCORD_SMTP_URL` is set
(`smtp://[user:password@]host:port`, `smtps://` for TLS from the start), else an
`OutboxMailer` that writes one readable `.eml` file per mail to `ACCORD_OUTBOX_DIR`.
"""

from __future__ import annotations

import os
from binascii import b2a_qp
from dataclasses import dataclass
from datetime import date, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from engine.settings import Settings

_templates = Environment(
    loader=PackageLoader("notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    auto_reload=False,  # templates ship with the code: no stat() of the file on every mail
)


@dataclass(frozen=True)
class MailItem:
    """One thing a mail tells a person about."""

    title: str
    action: str
    agreement_title: str
    subject_title: str | None
    date_label: str
    date: date
    when_phrase: str
    link: str
    escalated: bool = False


@dataclass(frozen=True)
class Mail:
    key: str  # stable across retries: the Message-ID and the outbox file name
    to_name: str
    to_address: str
    subject: str
    items: tuple[MailItem, ...]


def when_phrase(day: date, today: date) -> str:
    days = (day - today).days
    if days == 0:
        return "today"
    if days > 0:
        return "tomorrow" if days == 1 else f"in {days} days"
    return "yesterday" if days == -1 else f"{-days} days ago"


@dataclass(frozen=True)
class Rendered:
    """A mail ready for the wire: envelope and the RFC 5322 bytes (CRLF line ends)."""

    key: str
    sender: str
    recipient: str
    data: bytes


@lru_cache(maxsize=1)
def _bodies() -> tuple[tuple[str, Template], ...]:
    """The reminder's parts, compiled once: (MIME subtype, template)."""
    return (("plain", _templates.get_template("reminder.txt")),
            ("html", _templates.get_template("reminder.html")))


@lru_cache(maxsize=16)
def _sender(mail_from: str) -> tuple[str, str]:
    """The From header line and the envelope sender of the `mail_from` setting."""
    name, address = parseaddr(mail_from)
    return f"From: {formataddr((name, address))}", address or mail_from


@lru_cache(maxsize=1024)
def _to(name: str, address: str) -> str:
    return f"To: {formataddr((name, address))}"


def _quoted_printable(text: str) -> bytes:
    """The text's UTF-8 quoted-printable, CRLF line ends, no line end after the last line."""
    return b"\r\n".join(b2a_qp(text.encode()).splitlines())


def render(mail: Mail, settings: Settings, now: datetime) -> Rendered:
    """multipart/alternative, text and HTML, both quoted-printable UTF-8.

    Written out directly: the `email` package's generator costs several milliseconds a mail,
    which is most of a worker pass when a thousand reminders fall due. What is the same for
    every mail (the compiled templates, the From line) is made once.
    """
    context: dict[str, Any] = {"person_name": mail.to_name, "items": mail.items}
    # "=_" never occurs in quoted-printable output, so the boundary cannot clash with a body.
    boundary = f"=_accord_{mail.key}"
    subject = mail.subject if mail.subject.isascii() else Header(mail.subject, "utf-8").encode(linesep="\r\n")
    from_line, sender = _sender(settings.mail_from)
    head = "\r\n".join((
        from_line,
        _to(mail.to_name, mail.to_address),
        f"Subject: {subject}",
        f"Date: {format_datetime(now)}",
        f"Message-ID: <{mail.key}@accord>",
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
    )).encode("ascii")
    parts = [head]
    for subtype, template in _bodies():
        parts.append(f'--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
                     "Content-Transfer-Encoding: quoted-printable\r\n".encode("ascii"))
        parts.append(_quoted_printable(template.render(context)))
    parts.append(f"--{boundary}--\r\n".encode("ascii"))
    return Rendered(key=mail.key, sender=sender, recipient=mail.to_address, data=b"\r\n".join(parts))


class Mailer(Protocol):
    async def send(self, mail: Rendered) -> None: ...


class SmtpMailer:
    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"ACCORD_SMTP_URL must look like smtp://host:port, not {url!r}")
        self.hostname = parts.hostname
        self.use_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.use_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    async def send(self, mail: Rendered) -> None:
        await aiosmtplib.send(
            mail.data, sender=mail.sender, recipients=[mail.recipient], hostname=self.hostname,
            port=self.port, use_tls=self.use_tls, start_tls=False if self.use_tls else None,
            username=self.username, password=self.password, timeout=self.timeout,
        )


class OutboxMailer:
    """Mail as files: `make run` works offline and an operator can read what would have gone."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    async def send(self, mail: Rendered) -> None:
        """Written in place under the mail's key: a mail sent again (its outcome was never
        recorded) replaces its own file rather than adding a copy."""
        path = os.path.join(self.directory, f"{mail.key}.eml")
        try:
            descriptor = os.open(path, _CREATE, 0o666)
        except FileNotFoundError:  # the first mail, or the folder was removed meanwhile
            self.directory.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, _CREATE, 0o666)
        try:
            data = memoryview(mail.data)
            while data:
                data = data[os.write(descriptor, data):]
        finally:
            os.close(descriptor)


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


def mailer_for(settings: Settings) -> Mailer:
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url)
    return OutboxMailer(settings.outbox_dir)
