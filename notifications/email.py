"""Mail: rendered from the Jinja2 templates in `templates/`, sent over SMTP or to a local outbox.

`mailer_for(settings)` gives an `SmtpMailer` when `ACCORD_SMTP_URL` is set
(`smtp://[user:password@]host:port`, `smtps://` for TLS from the start), else an
`OutboxMailer` that writes one readable `.eml` file per mail to `ACCORD_OUTBOX_DIR`.
"""

from __future__ import annotations

import quopri
from dataclasses import dataclass
from datetime import date, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from engine.settings import Settings

_templates = Environment(
    loader=PackageLoader("notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
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


def render(mail: Mail, settings: Settings, now: datetime) -> Rendered:
    """multipart/alternative, text and HTML, both quoted-printable UTF-8.

    Written out directly: the `email` package's generator costs several milliseconds a mail,
    which is most of a worker pass when a thousand reminders fall due.
    """
    context: dict[str, Any] = {"person_name": mail.to_name, "items": mail.items}
    # "=_" never occurs in quoted-printable output, so the boundary cannot clash with a body.
    boundary = f"=_accord_{mail.key}"
    subject = mail.subject if mail.subject.isascii() else Header(mail.subject, "utf-8").encode(linesep="\r\n")
    lines = [
        f"From: {formataddr(parseaddr(settings.mail_from))}",
        f"To: {formataddr((mail.to_name, mail.to_address))}",
        f"Subject: {subject}",
        f"Date: {format_datetime(now)}",
        f"Message-ID: <{mail.key}@accord>",
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
    ]
    for subtype, template in (("plain", "reminder.txt"), ("html", "reminder.html")):
        body = quopri.encodestring(_templates.get_template(template).render(context).encode()).decode("ascii")
        lines += [f"--{boundary}", f'Content-Type: text/{subtype}; charset="utf-8"',
                  "Content-Transfer-Encoding: quoted-printable", "", *body.splitlines()]
    lines += [f"--{boundary}--", ""]
    _, sender = parseaddr(settings.mail_from)
    return Rendered(key=mail.key, sender=sender or settings.mail_from, recipient=mail.to_address,
                    data="\r\n".join(lines).encode("ascii"))


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
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / f"{mail.key}.eml").write_bytes(mail.data)


def mailer_for(settings: Settings) -> Mailer:
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url)
    return OutboxMailer(settings.outbox_dir)
